//! Changes: what a write did to the store, as data.
//!
//! Lesson 3 makes the store durable by writing every change to a log on
//! disk and replaying the log at start-up. For that, the store can *record*
//! its changes: every write command leaves one or more [`Change`]s behind,
//! which the caller takes with [`Store::take_changes`].
//!
//! A change states the *result* of a write where it can, not the command:
//! `INCR n` on `"41"` records `Put { key: n, value: "42" }`, `EXPIRE k 10`
//! records `Expire` with an absolute deadline, `HINCRBY` the field's new
//! value, `ZINCRBY` the member's new score, `SPOP` the members it took.
//! Such results give the same state whenever they are replayed; a command
//! such as `INCR`, a relative TTL or a random pick would not. Redis's
//! append-only file makes the same choice for `EXPIRE`, which it logs as
//! `PEXPIREAT`.
//!
//! Lists are the exception: `LPUSH q a` adds one more `a` each time it is
//! applied, and no per-element record can say "the list now is ..." without
//! copying the whole list. So a replay must apply each change exactly once,
//! in order; lesson 3 makes sure of that.
//!
//! Keys that expire are not recorded as deleted: their deadline is
//! recorded, so after a replay they are just as expired.

use crate::clock::Clock;
use crate::store::{Entry, Store};
use crate::value::{Collection, Kind, Value};

// ANCHOR: change
/// What a write did. The fields are named after what they hold; `key` is
/// always the key written.
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// `key` now holds the string `value`, until `expires_at` (milliseconds
    /// since the Unix epoch) if set.
    Put { key: Vec<u8>, value: Vec<u8>, expires_at: Option<u64> },
    /// `key` no longer exists.
    Delete { key: Vec<u8> },
    /// No key exists.
    Clear,
    /// `key` now expires at `at_ms`, or never.
    Expire { key: Vec<u8>, at_ms: Option<u64> },
    /// `from` was renamed `to` (replacing `to`), with its deadline.
    Rename { from: Vec<u8>, to: Vec<u8> },
    /// `values` were pushed, one by one, at the list's head (`front`) or
    /// tail. Not a result: applied twice, it pushes twice.
    ListPush { key: Vec<u8>, front: bool, values: Vec<Vec<u8>> },
    /// `count` elements were popped from the list's head or tail. Not a
    /// result either.
    ListPop { key: Vec<u8>, front: bool, count: u64 },
    /// These fields of the hash now hold these values.
    HashPut { key: Vec<u8>, pairs: Vec<(Vec<u8>, Vec<u8>)> },
    /// These fields of the hash are gone.
    HashDelete { key: Vec<u8>, fields: Vec<Vec<u8>> },
    /// These members are in the set.
    SetAdd { key: Vec<u8>, members: Vec<Vec<u8>> },
    /// These members are not in the set.
    SetRemove { key: Vec<u8>, members: Vec<Vec<u8>> },
    /// These members of the sorted set now have these scores.
    SortedPut { key: Vec<u8>, pairs: Vec<(f64, Vec<u8>)> },
    /// These members are not in the sorted set.
    SortedRemove { key: Vec<u8>, members: Vec<Vec<u8>> },
}
// ANCHOR_END: change

impl Change {
    /// The key the change is about, if one (`Clear` is about all; `Rename`
    /// about two, and this is the source).
    pub fn key(&self) -> Option<&[u8]> {
        match self {
            Change::Clear => None,
            Change::Rename { from, .. } => Some(from),
            Change::Put { key, .. }
            | Change::Delete { key }
            | Change::Expire { key, .. }
            | Change::ListPush { key, .. }
            | Change::ListPop { key, .. }
            | Change::HashPut { key, .. }
            | Change::HashDelete { key, .. }
            | Change::SetAdd { key, .. }
            | Change::SetRemove { key, .. }
            | Change::SortedPut { key, .. }
            | Change::SortedRemove { key, .. } => Some(key),
        }
    }
}

impl<C: Clock> Store<C> {
    /// Starts recording changes (off by default, so lesson 2 pays nothing).
    pub fn record_changes(&mut self) {
        self.changes.get_or_insert_with(Vec::new);
    }

    /// The changes recorded since the last call, oldest first.
    pub fn take_changes(&mut self) -> Vec<Change> {
        self.changes.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// Records a change, if recording is on. `change` is only called then,
    /// so the copies it makes cost nothing otherwise.
    pub(crate) fn record(&mut self, change: impl FnOnce(&Self) -> Change) {
        if self.changes.is_none() {
            return;
        }
        let change = change(self);
        if let Some(changes) = &mut self.changes {
            changes.push(change);
        }
    }

    /// Records the current state of the string at `key` as a `Put` (or a
    /// `Delete` if it is gone).
    pub(crate) fn record_key(&mut self, key: &[u8]) {
        self.record(|s| match s.map.get(key) {
            Some(Entry { value: Value::String(bytes), .. }) => Change::Put {
                key: key.to_vec(),
                value: bytes.to_vec(),
                expires_at: s.deadline(key),
            },
            Some(_) => unreachable!("record_key records strings"),
            None => Change::Delete { key: key.to_vec() },
        });
    }

    /// Records the deadline of `key` (or its deletion, if it is gone).
    pub(crate) fn record_deadline(&mut self, key: &[u8]) {
        self.record(|s| match s.map.contains_key(key) {
            true => Change::Expire { key: key.to_vec(), at_ms: s.deadline(key) },
            false => Change::Delete { key: key.to_vec() },
        });
    }

    // ANCHOR: apply
    /// Applies a change, as a replay does. A `Put` whose deadline has passed
    /// is stored all the same, and is expired the moment anything looks.
    /// Applying does not record.
    ///
    /// A change to a collection finds the key holding that type, or missing,
    /// in an exact replay. It never panics on anything else: a key of the
    /// wrong type is replaced by a new collection.
    pub fn apply(&mut self, change: Change) {
        match change {
            Change::Put { key, value, expires_at } => {
                let old_slot = self.map.get(&key).and_then(|e| e.ttl_slot);
                let ttl_slot = match expires_at {
                    Some(at_ms) => Some(self.list_or_update(&key, old_slot, at_ms)),
                    None => {
                        if let Some(slot) = old_slot {
                            self.unlist(slot);
                        }
                        None
                    }
                };
                self.map.insert(key, Entry { value: Value::string(value), ttl_slot });
            }
            Change::Delete { key } => {
                self.remove_entry(&key);
            }
            Change::Clear => {
                self.map.clear();
                self.expiring.clear();
            }
            Change::Expire { key, at_ms } => self.set_deadline(&key, at_ms),
            Change::Rename { from, to } => {
                self.rename_entry(&from, to);
            }
            other => self.apply_to_collection(other),
        }
    }
    // ANCHOR_END: apply

    /// Applies a change to a list, hash, set or sorted set.
    fn apply_to_collection(&mut self, change: Change) {
        let kind = match &change {
            Change::ListPush { .. } | Change::ListPop { .. } => Kind::List,
            Change::HashPut { .. } | Change::HashDelete { .. } => Kind::Hash,
            Change::SetAdd { .. } | Change::SetRemove { .. } => Kind::Set,
            Change::SortedPut { .. } | Change::SortedRemove { .. } => Kind::SortedSet,
            _ => unreachable!("apply handles the others"),
        };
        let key = change.key().expect("a collection change has a key").to_vec();
        if self.map.get(&key).is_some_and(|e| e.value.kind() != kind) {
            self.remove_entry(&key);
        }
        let seed = self.random_u64();
        let entry = self.map.entry(key.clone()).or_insert_with(|| Entry {
            value: Value::Collection(Box::new(Collection::empty(kind, seed))),
            ttl_slot: None,
        });
        let Value::Collection(collection) = &mut entry.value else {
            unreachable!("a key of another type was removed above")
        };
        match (change, &mut **collection) {
            (Change::ListPush { front, values, .. }, Collection::List(list)) => {
                for value in values {
                    if front { list.push_front(value) } else { list.push_back(value) }
                }
            }
            (Change::ListPop { front, count, .. }, Collection::List(list)) => {
                let count = (count as usize).min(list.len());
                if front {
                    list.drain(..count)
                } else {
                    list.drain(list.len() - count..)
                };
            }
            (Change::HashPut { pairs, .. }, Collection::Hash(hash)) => hash.extend(pairs),
            (Change::HashDelete { fields, .. }, Collection::Hash(hash)) => {
                for field in &fields {
                    hash.swap_remove(field);
                }
            }
            (Change::SetAdd { members, .. }, Collection::Set(set)) => set.extend(members),
            (Change::SetRemove { members, .. }, Collection::Set(set)) => {
                for member in &members {
                    set.swap_remove(member);
                }
            }
            (Change::SortedPut { pairs, .. }, Collection::SortedSet(zset)) => {
                for (score, member) in pairs {
                    zset.insert(&member, score);
                }
            }
            (Change::SortedRemove { members, .. }, Collection::SortedSet(zset)) => {
                for member in &members {
                    zset.remove(member);
                }
            }
            _ => unreachable!("the collection has the change's kind"),
        }
        self.drop_if_empty(&key);
    }

    /// Sets or clears the deadline of `key`, if it exists.
    pub(crate) fn set_deadline(&mut self, key: &[u8], at_ms: Option<u64>) {
        let Some(old_slot) = self.map.get(key).map(|e| e.ttl_slot) else { return };
        let ttl_slot = match at_ms {
            Some(at_ms) => Some(self.list_or_update(key, old_slot, at_ms)),
            None => {
                if let Some(slot) = old_slot {
                    self.unlist(slot);
                }
                None
            }
        };
        self.map.get_mut(key).expect("checked above").ttl_slot = ttl_slot;
    }

    /// Moves the value and deadline of `from` to `to`, replacing whatever
    /// `to` held. Returns whether `from` existed.
    pub(crate) fn rename_entry(&mut self, from: &[u8], to: Vec<u8>) -> bool {
        let deadline = self.deadline(from);
        let Some(entry) = self.remove_entry(from) else { return false };
        self.remove_entry(&to);
        self.map.insert(to.clone(), Entry { value: entry.value, ttl_slot: None });
        self.set_deadline(&to, deadline);
        true
    }

    /// Makes room for `additional` more keys, so that a replay of known
    /// size does not grow (and rehash) the table twenty times on the way.
    pub fn reserve(&mut self, additional: usize) {
        self.map.reserve(additional);
    }

    /// Gives back room that a generous [`Store::reserve`] did not use.
    pub fn shrink_to_fit(&mut self) {
        self.map.shrink_to_fit();
    }

    // ANCHOR: dump
    /// The changes that rebuild the current state from an empty store, in
    /// no particular order of keys: a `Put` per string, one change per
    /// collection holding all of it (a list's elements pushed at the tail,
    /// in order), and an `Expire` after a collection that has a deadline.
    /// A snapshot is this list.
    pub fn dump(&mut self) -> Vec<Change> {
        self.purge_expired();
        let mut changes = Vec::with_capacity(self.map.len());
        for (key, entry) in &self.map {
            let key = key.clone();
            let expires_at = entry.ttl_slot.map(|slot| self.expiring[slot as usize].at_ms);
            let collection = match &entry.value {
                Value::String(bytes) => {
                    changes.push(Change::Put { key, value: bytes.to_vec(), expires_at });
                    continue;
                }
                Value::Collection(collection) => collection,
            };
            changes.push(match &**collection {
                Collection::List(list) => Change::ListPush {
                    key: key.clone(),
                    front: false,
                    values: list.iter().cloned().collect(),
                },
                Collection::Hash(hash) => Change::HashPut {
                    key: key.clone(),
                    pairs: hash.iter().map(|(f, v)| (f.clone(), v.clone())).collect(),
                },
                Collection::Set(set) => {
                    Change::SetAdd { key: key.clone(), members: set.iter().cloned().collect() }
                }
                Collection::SortedSet(zset) => Change::SortedPut {
                    key: key.clone(),
                    pairs: zset.iter().map(|(m, score)| (score, m.to_vec())).collect(),
                },
            });
            if expires_at.is_some() {
                changes.push(Change::Expire { key, at_ms: expires_at });
            }
        }
        changes
    }
    // ANCHOR_END: dump
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::command::parse;
    use crate::execute::execute;
    use crate::tokenizer::tokenize;

    fn run(s: &mut Store<ManualClock>, line: &str) {
        execute(s, parse(tokenize(line.as_bytes()).unwrap()).unwrap());
    }

    fn put(key: &str, value: &str, expires_at: Option<u64>) -> Change {
        Change::Put { key: key.into(), value: value.into(), expires_at }
    }

    #[test]
    fn writes_record_their_results_and_reads_record_nothing() {
        let clock = ManualClock::new(1000);
        let mut s = Store::with_clock(clock.clone());
        s.record_changes();
        run(&mut s, "SET n 41");
        run(&mut s, "INCR n");
        run(&mut s, "GET n");
        run(&mut s, "EXPIRE n 10");
        run(&mut s, "PERSIST n");
        run(&mut s, "DEL n nothing");
        run(&mut s, "SET k v NX PX 500");
        run(&mut s, "FLUSHALL");
        assert_eq!(
            s.take_changes(),
            [
                put("n", "41", None),
                put("n", "42", None),
                Change::Expire { key: b"n".to_vec(), at_ms: Some(11_000) },
                Change::Expire { key: b"n".to_vec(), at_ms: None },
                Change::Delete { key: b"n".to_vec() },
                put("k", "v", Some(1500)),
                Change::Clear,
            ]
        );
        assert_eq!(s.take_changes(), []);
    }

    #[test]
    fn failed_and_conditional_writes_that_do_nothing_record_nothing() {
        let mut s = Store::with_clock(ManualClock::default());
        s.record_changes();
        run(&mut s, "SET k text");
        s.take_changes();
        run(&mut s, "INCR k");
        run(&mut s, "SET k other NX");
        run(&mut s, "SET missing v XX");
        run(&mut s, "EXPIRE missing 10");
        run(&mut s, "PERSIST k");
        assert_eq!(s.take_changes(), []);
    }

    #[test]
    fn replaying_the_changes_rebuilds_the_state() {
        let clock = ManualClock::new(1000);
        let mut s = Store::with_clock(clock.clone());
        s.record_changes();
        for line in [
            "SET a 1",
            "SET b 2 PX 100",
            "INCR a",
            "SET c 3",
            "DEL c",
            "EXPIRE a 5",
            "SET d 4 PX 10",
        ] {
            run(&mut s, line);
        }
        let mut copy = Store::with_clock(clock.clone());
        for change in s.take_changes() {
            copy.apply(change);
        }
        let sorted = |mut v: Vec<Change>| {
            v.sort_by(|x, y| format!("{x:?}").cmp(&format!("{y:?}")));
            v
        };
        assert_eq!(sorted(copy.dump()), sorted(s.dump()));
        clock.advance(100);
        assert_eq!(copy.get(b"b").unwrap(), None, "the replayed deadline is absolute");
        assert_eq!(copy.get(b"a").unwrap(), Some(b"2".to_vec()));
    }

    #[test]
    fn applying_a_put_over_a_key_with_a_ttl_keeps_the_list_consistent() {
        let mut s = Store::with_clock(ManualClock::new(0));
        s.apply(put("a", "1", Some(50)));
        s.apply(put("b", "1", Some(60)));
        s.apply(put("a", "2", None));
        s.apply(put("b", "2", Some(70)));
        assert_eq!(s.expiring.len(), 1);
        assert_eq!(s.deadline(b"b"), Some(70));
        assert_eq!(s.deadline(b"a"), None);
        s.apply(Change::Clear);
        assert!(s.dump().is_empty());
    }
}
