//! Hashes: `HSET`, `HGET`, `HDEL`, `HGETALL`, `HLEN`, `HEXISTS`, `HINCRBY`.
//!
//! A hash is a small map inside a key: a user's fields, say, under
//! `user:1`. It is an `IndexMap` ([`crate::value`]): fields come back in
//! the order they were first set, and `HDEL` moves the last field into the
//! hole it leaves (O(1), where keeping the order exactly would cost O(n)).

use crate::Change;
use crate::clock::Clock;
use crate::command::{int, pairs};
use crate::error::{Error, Result};
use crate::integer;
use crate::reply::Reply;
use crate::store::Store;
use crate::value::{Collection, Hash, Kind};

/// A hash command, parsed.
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HashCommand {
    /// `HSET key field value [field value ...]`
    Set { key: Vec<u8>, pairs: Vec<(Vec<u8>, Vec<u8>)> },
    /// `HGET key field`
    Get { key: Vec<u8>, field: Vec<u8> },
    /// `HDEL key field [field ...]`
    Del { key: Vec<u8>, fields: Vec<Vec<u8>> },
    /// `HGETALL key`
    GetAll { key: Vec<u8> },
    /// `HLEN key`
    Len { key: Vec<u8> },
    /// `HEXISTS key field`
    Exists { key: Vec<u8>, field: Vec<u8> },
    /// `HINCRBY key field increment`
    IncrBy { key: Vec<u8>, field: Vec<u8>, delta: i64 },
}

impl HashCommand {
    /// Whether it may change the store.
    pub fn is_write(&self) -> bool {
        matches!(
            self,
            HashCommand::Set { .. } | HashCommand::Del { .. } | HashCommand::IncrBy { .. }
        )
    }
}

/// Parses a hash command; the arity is checked.
pub(crate) fn parse(name: &str, args: Vec<Vec<u8>>) -> Result<HashCommand> {
    let mut args = args.into_iter();
    let key = args.next().expect("arity checked");
    let mut next = || args.next().expect("arity checked");
    Ok(match name {
        "HSET" => HashCommand::Set { key, pairs: pairs("hset", args.collect())? },
        "HGET" => HashCommand::Get { key, field: next() },
        "HDEL" => HashCommand::Del { key, fields: args.collect() },
        "HGETALL" => HashCommand::GetAll { key },
        "HLEN" => HashCommand::Len { key },
        "HEXISTS" => HashCommand::Exists { key, field: next() },
        _ => {
            let field = next();
            HashCommand::IncrBy { key, field, delta: int(&next())? }
        }
    })
}

/// Picks a hash out of a collection.
fn as_hash(c: &mut Collection) -> Option<&mut Hash> {
    match c {
        Collection::Hash(hash) => Some(hash),
        _ => None,
    }
}

impl<C: Clock> Store<C> {
    /// The hash at `key`: `None` if missing, `WRONGTYPE` if not a hash.
    fn hash(&mut self, key: &[u8]) -> Result<Option<&mut Hash>> {
        self.typed_mut(key, as_hash)
    }

    /// `HSET`: sets the fields; returns how many were new.
    pub fn hash_set(&mut self, key: &[u8], pairs: Vec<(Vec<u8>, Vec<u8>)>) -> Result<usize> {
        let hash = self.typed_or_new(key, Kind::Hash, as_hash)?;
        let new = pairs.iter().filter(|(f, v)| hash.insert(f.clone(), v.clone()).is_none()).count();
        self.record(|_| Change::HashPut { key: key.to_vec(), pairs });
        Ok(new)
    }

    /// `HGET key field`.
    pub fn hash_get(&mut self, key: &[u8], field: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.hash(key)?.and_then(|hash| hash.get(field).cloned()))
    }

    /// `HDEL`: removes the fields; returns how many there were.
    pub fn hash_delete(&mut self, key: &[u8], fields: Vec<Vec<u8>>) -> Result<usize> {
        let Some(hash) = self.hash(key)? else { return Ok(0) };
        let removed: Vec<Vec<u8>> =
            fields.into_iter().filter(|f| hash.swap_remove(f).is_some()).collect();
        let count = removed.len();
        if count > 0 {
            self.record(|_| Change::HashDelete { key: key.to_vec(), fields: removed });
        }
        self.drop_if_empty(key);
        Ok(count)
    }

    /// `HGETALL key`: every field and value, in insertion order.
    pub fn hash_all(&mut self, key: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        Ok(self
            .hash(key)?
            .map(|hash| hash.iter().map(|(f, v)| (f.clone(), v.clone())).collect())
            .unwrap_or_default())
    }

    /// `HLEN key`.
    pub fn hash_len(&mut self, key: &[u8]) -> Result<usize> {
        Ok(self.hash(key)?.map_or(0, |hash| hash.len()))
    }

    /// `HINCRBY`: adds `delta` to the integer in `field` (missing counts as
    /// 0); returns the new value. A failure changes nothing.
    pub fn hash_incr_by(&mut self, key: &[u8], field: &[u8], delta: i64) -> Result<i64> {
        let current = match self.hash(key)?.and_then(|hash| hash.get(field)) {
            Some(bytes) => {
                integer::parse(bytes).ok_or(Error::Other("hash value is not an integer"))?
            }
            None => 0,
        };
        let next = current.checked_add(delta).ok_or(Error::Overflow)?;
        let value = next.to_string().into_bytes();
        self.typed_or_new(key, Kind::Hash, as_hash)?.insert(field.to_vec(), value.clone());
        self.record(|_| Change::HashPut {
            key: key.to_vec(),
            pairs: vec![(field.to_vec(), value)],
        });
        Ok(next)
    }
}

/// Runs a hash command.
pub(crate) fn execute<C: Clock>(store: &mut Store<C>, command: HashCommand) -> Result<Reply> {
    Ok(match command {
        HashCommand::Set { key, pairs } => Reply::Integer(store.hash_set(&key, pairs)? as i64),
        HashCommand::Get { key, field } => {
            store.hash_get(&key, &field)?.map_or(Reply::Nil, Reply::Bulk)
        }
        HashCommand::Del { key, fields } => Reply::Integer(store.hash_delete(&key, fields)? as i64),
        HashCommand::GetAll { key } => Reply::Map(
            store
                .hash_all(&key)?
                .into_iter()
                .map(|(f, v)| (Reply::Bulk(f), Reply::Bulk(v)))
                .collect(),
        ),
        HashCommand::Len { key } => Reply::Integer(store.hash_len(&key)? as i64),
        HashCommand::Exists { key, field } => {
            Reply::Integer(store.hash_get(&key, &field)?.is_some().into())
        }
        HashCommand::IncrBy { key, field, delta } => {
            Reply::Integer(store.hash_incr_by(&key, &field, delta)?)
        }
    })
}
