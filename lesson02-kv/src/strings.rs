//! More string commands: `MSET`, `MGET`, `APPEND`, `STRLEN`, `GETDEL`,
//! `SETNX`, `GETRANGE`. Each is a few lines on top of the store's `get` and
//! `set`, and each refuses a key that holds a collection, except `MSET`,
//! which replaces whatever was there (as `SET` does) and `MGET`, which
//! answers nil for it.

use crate::clock::Clock;
use crate::command::{int, pairs};
use crate::error::Result;
use crate::reply::Reply;
use crate::store::{SetCondition, SetTtl, Store};
use crate::value::Value;

/// A string command, parsed.
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StringCommand {
    /// `MSET key value [key value ...]`
    MSet { pairs: Vec<(Vec<u8>, Vec<u8>)> },
    /// `MGET key [key ...]`
    MGet { keys: Vec<Vec<u8>> },
    /// `APPEND key value`
    Append { key: Vec<u8>, value: Vec<u8> },
    /// `STRLEN key`
    StrLen { key: Vec<u8> },
    /// `GETDEL key`
    GetDel { key: Vec<u8> },
    /// `SETNX key value`
    SetNx { key: Vec<u8>, value: Vec<u8> },
    /// `GETRANGE key start end`
    GetRange { key: Vec<u8>, start: i64, end: i64 },
}

impl StringCommand {
    /// Whether it may change the store.
    pub fn is_write(&self) -> bool {
        !matches!(
            self,
            StringCommand::MGet { .. }
                | StringCommand::StrLen { .. }
                | StringCommand::GetRange { .. }
        )
    }
}

/// Parses a string command; the arity is checked.
pub(crate) fn parse(name: &str, args: Vec<Vec<u8>>) -> Result<StringCommand> {
    let mut args = args.into_iter();
    let mut next = || args.next().expect("arity checked");
    Ok(match name {
        "MSET" => StringCommand::MSet { pairs: pairs("mset", args.collect())? },
        "MGET" => StringCommand::MGet { keys: args.collect() },
        "APPEND" => StringCommand::Append { key: next(), value: next() },
        "STRLEN" => StringCommand::StrLen { key: next() },
        "GETDEL" => StringCommand::GetDel { key: next() },
        "SETNX" => StringCommand::SetNx { key: next(), value: next() },
        _ => StringCommand::GetRange { key: next(), start: int(&next())?, end: int(&next())? },
    })
}

/// `GETRANGE`'s byte range of a string of `len` bytes. Not quite
/// [`crate::range::rank_range`]: a stop that is still negative after
/// counting from the end becomes 0, so `GETRANGE s 0 -100` is the first
/// byte, where `LRANGE l 0 -100` is empty (Redis's `getrangeCommand`).
fn byte_range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    if (start < 0 && end < 0 && start > end) || len == 0 {
        return None;
    }
    let start = if start < 0 { (len + start).max(0) } else { start };
    let end = if end < 0 { (len + end).max(0) } else { end.min(len - 1) };
    (start <= end).then_some((start as usize, end as usize))
}

impl<C: Clock> Store<C> {
    /// `APPEND`: appends `value` to the string (or to nothing); returns the
    /// new length. Keeps the key's TTL.
    pub fn append(&mut self, key: &[u8], value: &[u8]) -> Result<usize> {
        let mut bytes = self.get(key)?.unwrap_or_default();
        bytes.extend_from_slice(value);
        let len = bytes.len();
        self.set(key.to_vec(), bytes, None, SetTtl::Keep);
        Ok(len)
    }

    /// `GETDEL`: the string, and the key removed.
    pub fn get_del(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let value = self.get(key)?;
        if value.is_some() {
            self.remove(key);
        }
        Ok(value)
    }
}

/// Runs a string command.
pub(crate) fn execute<C: Clock>(store: &mut Store<C>, command: StringCommand) -> Result<Reply> {
    Ok(match command {
        StringCommand::MSet { pairs } => {
            for (key, value) in pairs {
                store.set(key, value, None, SetTtl::Clear);
            }
            Reply::ok()
        }
        StringCommand::MGet { keys } => Reply::Array(
            keys.iter()
                .map(|key| match store.value_mut(key) {
                    Some(Value::String(bytes)) => Reply::Bulk(bytes.to_vec()),
                    _ => Reply::Nil,
                })
                .collect(),
        ),
        StringCommand::Append { key, value } => Reply::Integer(store.append(&key, &value)? as i64),
        StringCommand::StrLen { key } => {
            Reply::Integer(store.get(&key)?.map_or(0, |v| v.len()) as i64)
        }
        StringCommand::GetDel { key } => store.get_del(&key)?.map_or(Reply::Nil, Reply::Bulk),
        StringCommand::SetNx { key, value } => Reply::Integer(
            store.set(key, value, Some(SetCondition::IfAbsent), SetTtl::Clear).into(),
        ),
        StringCommand::GetRange { key, start, end } => {
            let value = store.get(&key)?.unwrap_or_default();
            Reply::Bulk(match byte_range(start, end, value.len()) {
                Some((start, end)) => value[start..=end].to_vec(),
                None => Vec::new(),
            })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::byte_range;

    #[test]
    fn getrange_keeps_redis_quirks() {
        // "hello": Redis's documented examples and its odd corners.
        assert_eq!(byte_range(0, 3, 5), Some((0, 3)));
        assert_eq!(byte_range(-3, -1, 5), Some((2, 4)));
        assert_eq!(byte_range(0, -1, 5), Some((0, 4)));
        assert_eq!(byte_range(10, 100, 5), None);
        assert_eq!(byte_range(0, -100, 5), Some((0, 0)), "a stop before the start becomes 0");
        assert_eq!(byte_range(-1, -5, 5), None);
        assert_eq!(byte_range(0, 0, 0), None);
    }
}
