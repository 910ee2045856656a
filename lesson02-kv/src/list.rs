//! Lists: `LPUSH`, `RPUSH`, `LPOP`, `RPOP`, `LRANGE`, `LLEN`, `LINDEX`.
//!
//! A list is a `VecDeque`: a ring buffer, so pushes and pops at both ends
//! are O(1) and reading by position is O(1) too. Redis's list is a
//! *quicklist*, a linked list of small packed arrays, which saves memory on
//! long lists of small elements and makes inserts in the middle cheaper;
//! the commands here only touch the ends, where a ring buffer is the
//! simplest thing that is fast.

use crate::Change;
use crate::clock::Clock;
use crate::command::int;
use crate::error::{Error, Result};
use crate::range::{position, rank_range};
use crate::reply::Reply;
use crate::store::Store;
use crate::value::{Collection, Kind, List};

/// A list command, parsed.
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListCommand {
    /// `LPUSH key element [element ...]` (`front`), `RPUSH …`
    Push { key: Vec<u8>, front: bool, values: Vec<Vec<u8>> },
    /// `LPOP key [count]` (`front`), `RPOP key [count]`
    Pop { key: Vec<u8>, front: bool, count: Option<usize> },
    /// `LRANGE key start stop`
    Range { key: Vec<u8>, start: i64, stop: i64 },
    /// `LLEN key`
    Len { key: Vec<u8> },
    /// `LINDEX key index`
    Index { key: Vec<u8>, index: i64 },
}

impl ListCommand {
    /// Whether it may change the store.
    pub fn is_write(&self) -> bool {
        matches!(self, ListCommand::Push { .. } | ListCommand::Pop { .. })
    }
}

/// Parses a list command; `name` is its upper-case name from
/// [`crate::command::TYPE_COMMANDS`], which checked the arity.
pub(crate) fn parse(name: &str, mut args: Vec<Vec<u8>>) -> Result<ListCommand> {
    let key = args.remove(0);
    Ok(match name {
        "LPUSH" | "RPUSH" => ListCommand::Push { key, front: name == "LPUSH", values: args },
        "LPOP" | "RPOP" => {
            let count = args.first().map(|c| positive_count(c)).transpose()?;
            ListCommand::Pop { key, front: name == "LPOP", count }
        }
        "LRANGE" => ListCommand::Range { key, start: int(&args[0])?, stop: int(&args[1])? },
        "LLEN" => ListCommand::Len { key },
        _ => ListCommand::Index { key, index: int(&args[0])? },
    })
}

/// A count that must not be negative (`LPOP key count`, `SPOP key count`).
pub(crate) fn positive_count(arg: &[u8]) -> Result<usize> {
    usize::try_from(int(arg)?).map_err(|_| Error::Other("value is out of range, must be positive"))
}

/// Picks a list out of a collection.
fn as_list(c: &mut Collection) -> Option<&mut List> {
    match c {
        Collection::List(list) => Some(list),
        _ => None,
    }
}

impl<C: Clock> Store<C> {
    /// The list at `key`: `None` if missing, `WRONGTYPE` if not a list.
    fn list(&mut self, key: &[u8]) -> Result<Option<&mut List>> {
        self.typed_mut(key, as_list)
    }

    /// `LPUSH`/`RPUSH`: pushes `values` one by one at the head (`front`) or
    /// tail, so `LPUSH k a b` leaves `b a`. Returns the new length.
    pub fn push(&mut self, key: &[u8], front: bool, values: Vec<Vec<u8>>) -> Result<usize> {
        let list = self.typed_or_new(key, Kind::List, as_list)?;
        for value in &values {
            if front { list.push_front(value.clone()) } else { list.push_back(value.clone()) }
        }
        let len = list.len();
        self.record(|_| Change::ListPush { key: key.to_vec(), front, values });
        Ok(len)
    }

    /// `LPOP`/`RPOP`: removes up to `count` elements from the head or tail
    /// and returns them in the order popped; `None` if the key is missing.
    pub fn pop(&mut self, key: &[u8], front: bool, count: usize) -> Result<Option<Vec<Vec<u8>>>> {
        let Some(list) = self.list(key)? else { return Ok(None) };
        let count = count.min(list.len());
        let popped: Vec<Vec<u8>> = if front {
            list.drain(..count).collect()
        } else {
            list.drain(list.len() - count..).rev().collect()
        };
        if !popped.is_empty() {
            self.record(|_| Change::ListPop { key: key.to_vec(), front, count: count as u64 });
        }
        self.drop_if_empty(key);
        Ok(Some(popped))
    }

    /// `LRANGE key start stop`: the elements from `start` to `stop`,
    /// included, indexes counting from the end when negative.
    pub fn list_range(&mut self, key: &[u8], start: i64, stop: i64) -> Result<Vec<Vec<u8>>> {
        let Some(list) = self.list(key)? else { return Ok(Vec::new()) };
        Ok(match rank_range(start, stop, list.len()) {
            Some((start, stop)) => list.range(start..=stop).cloned().collect(),
            None => Vec::new(),
        })
    }

    /// `LLEN key`.
    pub fn list_len(&mut self, key: &[u8]) -> Result<usize> {
        Ok(self.list(key)?.map_or(0, |list| list.len()))
    }

    /// `LINDEX key index`.
    pub fn list_index(&mut self, key: &[u8], index: i64) -> Result<Option<Vec<u8>>> {
        let Some(list) = self.list(key)? else { return Ok(None) };
        Ok(position(index, list.len()).map(|at| list[at].clone()))
    }
}

/// Runs a list command.
pub(crate) fn execute<C: Clock>(store: &mut Store<C>, command: ListCommand) -> Result<Reply> {
    Ok(match command {
        ListCommand::Push { key, front, values } => {
            Reply::Integer(store.push(&key, front, values)? as i64)
        }
        // Without a count: one element or nil. With one: an array, or a
        // null array for a missing key.
        ListCommand::Pop { key, front, count: None } => match store.pop(&key, front, 1)? {
            Some(mut popped) if !popped.is_empty() => Reply::Bulk(popped.remove(0)),
            _ => Reply::Nil,
        },
        ListCommand::Pop { key, front, count: Some(count) } => {
            match store.pop(&key, front, count)? {
                Some(popped) => Reply::Array(popped.into_iter().map(Reply::Bulk).collect()),
                None => Reply::NullArray,
            }
        }
        ListCommand::Range { key, start, stop } => Reply::Array(
            store.list_range(&key, start, stop)?.into_iter().map(Reply::Bulk).collect(),
        ),
        ListCommand::Len { key } => Reply::Integer(store.list_len(&key)? as i64),
        ListCommand::Index { key, index } => {
            store.list_index(&key, index)?.map_or(Reply::Nil, Reply::Bulk)
        }
    })
}
