//! Sets: `SADD`, `SREM`, `SMEMBERS`, `SISMEMBER`, `SCARD`, `SPOP`,
//! `SINTER`, `SUNION`.
//!
//! A set is an `IndexSet` ([`crate::value`]): members in insertion order,
//! and any member reachable by position, so `SPOP` picks a random one in
//! O(1) with the store's seeded generator. (Redis picks from its hash
//! table's buckets at random; a random *position* is the same idea on a
//! dense array.)

use crate::Change;
use crate::clock::Clock;
use crate::error::Result;
use crate::list::positive_count;
use crate::reply::Reply;
use crate::store::Store;
use crate::value::{Collection, Kind, Set, Value};

/// A set command, parsed.
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetCommand {
    /// `SADD key member [member ...]`
    Add { key: Vec<u8>, members: Vec<Vec<u8>> },
    /// `SREM key member [member ...]`
    Rem { key: Vec<u8>, members: Vec<Vec<u8>> },
    /// `SMEMBERS key`
    Members { key: Vec<u8> },
    /// `SISMEMBER key member`
    IsMember { key: Vec<u8>, member: Vec<u8> },
    /// `SCARD key`
    Card { key: Vec<u8> },
    /// `SPOP key [count]`
    Pop { key: Vec<u8>, count: Option<usize> },
    /// `SINTER key [key ...]`
    Inter { keys: Vec<Vec<u8>> },
    /// `SUNION key [key ...]`
    Union { keys: Vec<Vec<u8>> },
}

impl SetCommand {
    /// Whether it may change the store.
    pub fn is_write(&self) -> bool {
        matches!(self, SetCommand::Add { .. } | SetCommand::Rem { .. } | SetCommand::Pop { .. })
    }
}

/// Parses a set command; the arity is checked.
pub(crate) fn parse(name: &str, mut args: Vec<Vec<u8>>) -> Result<SetCommand> {
    match name {
        "SINTER" => return Ok(SetCommand::Inter { keys: args }),
        "SUNION" => return Ok(SetCommand::Union { keys: args }),
        _ => {}
    }
    let key = args.remove(0);
    Ok(match name {
        "SADD" => SetCommand::Add { key, members: args },
        "SREM" => SetCommand::Rem { key, members: args },
        "SMEMBERS" => SetCommand::Members { key },
        "SISMEMBER" => SetCommand::IsMember { key, member: args.remove(0) },
        "SCARD" => SetCommand::Card { key },
        _ => SetCommand::Pop { key, count: args.first().map(|c| positive_count(c)).transpose()? },
    })
}

/// Picks a set out of a collection.
fn as_set(c: &mut Collection) -> Option<&mut Set> {
    match c {
        Collection::Set(set) => Some(set),
        _ => None,
    }
}

impl<C: Clock> Store<C> {
    /// The set at `key`: `None` if missing, `WRONGTYPE` if not a set.
    fn set_at(&mut self, key: &[u8]) -> Result<Option<&mut Set>> {
        self.typed_mut(key, as_set)
    }

    /// `SADD`: adds the members; returns how many were new.
    pub fn set_add(&mut self, key: &[u8], members: Vec<Vec<u8>>) -> Result<usize> {
        let set = self.typed_or_new(key, Kind::Set, as_set)?;
        let added: Vec<Vec<u8>> = members.into_iter().filter(|m| set.insert(m.clone())).collect();
        let count = added.len();
        if count > 0 {
            self.record(|_| Change::SetAdd { key: key.to_vec(), members: added });
        }
        Ok(count)
    }

    /// `SREM`: removes the members; returns how many were there.
    pub fn set_remove(&mut self, key: &[u8], members: Vec<Vec<u8>>) -> Result<usize> {
        let Some(set) = self.set_at(key)? else { return Ok(0) };
        let removed: Vec<Vec<u8>> = members.into_iter().filter(|m| set.swap_remove(m)).collect();
        let count = removed.len();
        if count > 0 {
            self.record(|_| Change::SetRemove { key: key.to_vec(), members: removed });
        }
        self.drop_if_empty(key);
        Ok(count)
    }

    /// `SMEMBERS key`, in insertion order (as moved by removals).
    pub fn set_members(&mut self, key: &[u8]) -> Result<Vec<Vec<u8>>> {
        Ok(self.set_at(key)?.map(|set| set.iter().cloned().collect()).unwrap_or_default())
    }

    /// `SISMEMBER key member`.
    pub fn set_contains(&mut self, key: &[u8], member: &[u8]) -> Result<bool> {
        Ok(self.set_at(key)?.is_some_and(|set| set.contains(member)))
    }

    /// `SCARD key`.
    pub fn set_len(&mut self, key: &[u8]) -> Result<usize> {
        Ok(self.set_at(key)?.map_or(0, |set| set.len()))
    }

    /// `SPOP`: removes up to `count` members picked at random, and returns
    /// them. The change records *which* members, so a replay takes the same.
    pub fn set_pop(&mut self, key: &[u8], count: usize) -> Result<Vec<Vec<u8>>> {
        let len = self.set_len(key)?;
        let mut popped = Vec::with_capacity(count.min(len));
        for left in (len.saturating_sub(count)..len).rev() {
            let at = self.random_below(left + 1);
            let set = self.set_at(key)?.expect("the set has members left");
            popped.push(set.swap_remove_index(at).expect("a position below the length"));
        }
        if !popped.is_empty() {
            self.record(|_| Change::SetRemove { key: key.to_vec(), members: popped.clone() });
        }
        self.drop_if_empty(key);
        Ok(popped)
    }

    /// The sets at `keys`, in order, borrowed; `None` for a missing key.
    /// Any key of another type is an error, as in Redis, even after a
    /// missing one.
    fn sets(&mut self, keys: &[Vec<u8>]) -> Result<Vec<Option<&Set>>> {
        // First, with `&mut self`: expire what is due, and check the types.
        for key in keys {
            self.set_at(key)?;
        }
        // Then borrow them all at once: no copies.
        Ok(keys
            .iter()
            .map(|key| match self.map.get(key).map(|entry| &entry.value) {
                Some(Value::Collection(c)) => match &**c {
                    Collection::Set(set) => Some(set),
                    _ => unreachable!("the types were checked above"),
                },
                _ => None,
            })
            .collect())
    }

    /// `SINTER`: the members in every set. It walks the smallest set and
    /// looks each member up in the others, as Redis does: O(smallest ×
    /// sets), whatever the size of the big ones.
    pub fn set_inter(&mut self, keys: &[Vec<u8>]) -> Result<Vec<Vec<u8>>> {
        let Some(mut sets) = self.sets(keys)?.into_iter().collect::<Option<Vec<&Set>>>() else {
            return Ok(Vec::new()); // a missing key is an empty set
        };
        sets.sort_by_key(|set| set.len());
        let (smallest, rest) = sets.split_first().expect("arity checked: one key at least");
        Ok(smallest.iter().filter(|m| rest.iter().all(|s| s.contains(*m))).cloned().collect())
    }

    /// `SUNION`: every member of any set, first seen first.
    pub fn set_union(&mut self, keys: &[Vec<u8>]) -> Result<Vec<Vec<u8>>> {
        let mut union = Set::default();
        for set in self.sets(keys)?.into_iter().flatten() {
            union.extend(set.iter().cloned());
        }
        Ok(union.into_iter().collect())
    }
}

/// Runs a set command.
pub(crate) fn execute<C: Clock>(store: &mut Store<C>, command: SetCommand) -> Result<Reply> {
    let members =
        |members: Vec<Vec<u8>>| Reply::Set(members.into_iter().map(Reply::Bulk).collect());
    Ok(match command {
        SetCommand::Add { key, members } => Reply::Integer(store.set_add(&key, members)? as i64),
        SetCommand::Rem { key, members } => Reply::Integer(store.set_remove(&key, members)? as i64),
        SetCommand::Members { key } => members(store.set_members(&key)?),
        SetCommand::IsMember { key, member } => {
            Reply::Integer(store.set_contains(&key, &member)?.into())
        }
        SetCommand::Card { key } => Reply::Integer(store.set_len(&key)? as i64),
        SetCommand::Pop { key, count: None } => {
            store.set_pop(&key, 1)?.pop().map_or(Reply::Nil, Reply::Bulk)
        }
        SetCommand::Pop { key, count: Some(count) } => members(store.set_pop(&key, count)?),
        SetCommand::Inter { keys } => members(store.set_inter(&keys)?),
        SetCommand::Union { keys } => members(store.set_union(&keys)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::error::Error;
    use crate::store::SetTtl;

    #[test]
    fn sinter_walks_the_smallest_and_checks_every_type() {
        let mut s = Store::with_clock(ManualClock::default());
        s.set_add(b"big", (0..100u8).map(|i| vec![i]).collect()).unwrap();
        s.set_add(b"small", vec![vec![200], vec![5]]).unwrap();
        let keys = |names: &[&[u8]]| names.iter().map(|n| n.to_vec()).collect::<Vec<_>>();
        assert_eq!(s.set_inter(&keys(&[b"big", b"small"])).unwrap(), [vec![5]]);
        s.set(b"text".to_vec(), b"x".to_vec(), None, SetTtl::Clear);
        // A missing key makes the answer empty, but a key of another type
        // after it is still an error, as in Redis.
        assert_eq!(s.set_inter(&keys(&[b"nobody", b"text"])), Err(Error::WrongType));
        assert_eq!(s.set_inter(&keys(&[b"nobody", b"big"])).unwrap(), Vec::<Vec<u8>>::new());
        assert_eq!(s.set_union(&keys(&[b"nobody", b"small"])).unwrap(), [vec![200], vec![5]]);
    }
}
