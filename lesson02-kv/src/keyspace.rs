//! Commands on keys of any type: `TYPE`, `RENAME`, and `SCAN`, the
//! cursor that walks the keyspace a little at a time.
//!
//! ## How SCAN's cursor survives inserts and rehashing
//!
//! `KEYS *` answers every key at once, which blocks a server with millions
//! of keys. `SCAN cursor` answers a few and a cursor to continue from, and
//! promises what Redis promises: a key that exists from the first call to
//! the last is returned (at least once), whatever is inserted, deleted, or
//! rehashed in between.
//!
//! A cursor cannot be a position in the hash table: a table that grows
//! moves its keys around, so a position seen before the growth means
//! nothing after it. Redis's cursor is a bucket number counted in a clever
//! order (bits reversed), which stays meaningful as its table doubles or
//! halves; that works because Redis owns its table and knows which bucket
//! a key is in. hashbrown does not tell us.
//!
//! So ours is a position in an order that no table change can disturb: the
//! order of a fixed 64-bit hash of the key (FNV-1a). Each call returns the
//! keys whose hash falls in the next slice of the 2^64 hash space, sized to
//! hold about COUNT keys, and the cursor is where the slice ends. A key's
//! hash never changes, so a key present all along falls in exactly one
//! slice, and is returned exactly once. The price: finding a slice's keys
//! means looking at every key, O(n) per call where Redis's is O(COUNT).
//! The cursor is stateless, as in Redis: the server keeps nothing between
//! calls, and any client can continue any cursor.

use crate::Change;
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::glob;
use crate::reply::Reply;
use crate::store::Store;
use crate::value::Kind;

/// A keyspace command, parsed.
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyCommand {
    /// `TYPE key`
    Type { key: Vec<u8> },
    /// `RENAME key newkey`
    Rename { key: Vec<u8>, new_key: Vec<u8> },
    /// `SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]`
    Scan { cursor: u64, pattern: Option<Vec<u8>>, count: usize, kind: Option<Vec<u8>> },
}

impl KeyCommand {
    /// Whether it may change the store.
    pub fn is_write(&self) -> bool {
        matches!(self, KeyCommand::Rename { .. })
    }
}

/// Parses a keyspace command; the arity is checked.
pub(crate) fn parse(name: &str, mut args: Vec<Vec<u8>>) -> Result<KeyCommand> {
    Ok(match name {
        "TYPE" => KeyCommand::Type { key: args.remove(0) },
        "RENAME" => {
            let key = args.remove(0);
            KeyCommand::Rename { key, new_key: args.remove(0) }
        }
        _ => {
            let cursor = std::str::from_utf8(&args[0])
                .ok()
                .and_then(|c| c.parse().ok())
                .ok_or(Error::Other("invalid cursor"))?;
            let (mut pattern, mut count, mut kind) = (None, 10, None);
            let mut options = args[1..].chunks(2);
            for option in options.by_ref() {
                let [name, value] = option else { return Err(Error::Syntax) };
                match name.to_ascii_uppercase().as_slice() {
                    b"MATCH" => pattern = Some(value.clone()),
                    b"COUNT" => {
                        count = crate::command::int(value)?;
                        if count < 1 {
                            return Err(Error::Syntax);
                        }
                    }
                    b"TYPE" => kind = Some(value.to_ascii_lowercase()),
                    _ => return Err(Error::Syntax),
                }
            }
            KeyCommand::Scan { cursor, pattern, count: count as usize, kind }
        }
    })
}

// ANCHOR: scan_hash
/// The key's place in SCAN's order: 64-bit FNV-1a, the same on every run
/// and every machine, and never changed by the table it is in. FNV's high
/// bits barely depend on a short key's last bytes (`k1`, `k2`, … land
/// together), and the slices are cut from the high bits, so a finaliser
/// (MurmurHash3's) mixes every bit into every other first.
fn scan_hash(key: &[u8]) -> u64 {
    let mut h = key
        .iter()
        .fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}
// ANCHOR_END: scan_hash

impl<C: Clock> Store<C> {
    /// `RENAME key new_key`: moves the value and its TTL; an error if `key`
    /// is missing.
    pub fn rename(&mut self, key: &[u8], new_key: Vec<u8>) -> Result<()> {
        if !self.contains(key) {
            return Err(Error::Other("no such key"));
        }
        if key != new_key.as_slice() {
            self.record(|_| Change::Rename { from: key.to_vec(), to: new_key.clone() });
            self.rename_entry(key, new_key);
        }
        Ok(())
    }

    // ANCHOR: scan
    /// `SCAN`: the keys whose [`scan_hash`] is in the slice of hash space
    /// that starts at `cursor` and should hold about `count` keys, and the
    /// cursor of the next slice (0 when the walk is done).
    pub fn scan_keys(&mut self, cursor: u64, count: usize) -> (u64, Vec<Vec<u8>>) {
        self.purge_expired();
        let len = self.map.len().max(1) as u128;
        // A slice holds `count` keys of `len` on average: 2^64 * count / len.
        let width = ((1u128 << 64) * count as u128 / len).max(1);
        let end = cursor as u128 + width;
        let mut keys: Vec<Vec<u8>> = self
            .map
            .keys()
            .filter(|key| (cursor as u128..end).contains(&(scan_hash(key) as u128)))
            .cloned()
            .collect();
        keys.sort_unstable_by_key(|key| scan_hash(key));
        // Past the end of hash space: the walk is over, and 0 says so.
        let next = if end >= 1u128 << 64 { 0 } else { end as u64 };
        (next, keys)
    }
    // ANCHOR_END: scan
}

/// Runs a keyspace command.
pub(crate) fn execute<C: Clock>(store: &mut Store<C>, command: KeyCommand) -> Result<Reply> {
    Ok(match command {
        KeyCommand::Type { key } => {
            Reply::Simple(store.kind(&key).map_or("none", Kind::name).to_string())
        }
        KeyCommand::Rename { key, new_key } => {
            store.rename(&key, new_key)?;
            Reply::ok()
        }
        KeyCommand::Scan { cursor, pattern, count, kind } => {
            let (next, keys) = store.scan_keys(cursor, count);
            // MATCH and TYPE filter what the slice found, as in Redis: a
            // call may answer no keys and a cursor to go on with.
            let keys = keys
                .into_iter()
                .filter(|key| pattern.as_ref().is_none_or(|p| glob::matches(p, key)))
                .filter(|key| {
                    kind.as_ref()
                        .is_none_or(|k| store.kind(key).is_some_and(|t| t.name().as_bytes() == k))
                })
                .map(Reply::Bulk)
                .collect();
            Reply::Array(vec![Reply::Bulk(next.to_string().into_bytes()), Reply::Array(keys)])
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::store::SetTtl;
    use std::collections::BTreeSet;

    #[test]
    fn a_full_scan_returns_every_key_once_despite_inserts_and_rehashing() {
        let mut s = Store::with_clock(ManualClock::default());
        for i in 0..100 {
            s.set(format!("old:{i}").into_bytes(), b"v".to_vec(), None, SetTtl::Clear);
        }
        let (mut cursor, mut seen, mut calls) = (0, Vec::new(), 0);
        loop {
            let (next, keys) = s.scan_keys(cursor, 10);
            seen.extend(keys);
            // Between calls, the table grows several times over (rehashing).
            for j in 0..20 {
                s.set(format!("new:{calls}:{j}").into_bytes(), b"v".to_vec(), None, SetTtl::Clear);
            }
            calls += 1;
            cursor = next;
            if cursor == 0 {
                break;
            }
            assert!(calls < 10_000, "the walk ends");
        }
        assert!(s.len() > 4 * 100, "the table grew past two doublings");
        let old: Vec<_> = seen.iter().filter(|k| k.starts_with(b"old:")).collect();
        let unique: BTreeSet<_> = old.iter().collect();
        assert_eq!(unique.len(), 100, "every key present throughout is returned");
        assert_eq!(old.len(), 100, "and only once");
    }

    #[test]
    fn count_sizes_the_slices() {
        let mut s = Store::with_clock(ManualClock::default());
        for i in 0..1000 {
            s.set(format!("k{i}").into_bytes(), b"v".to_vec(), None, SetTtl::Clear);
        }
        let (next, keys) = s.scan_keys(0, 100);
        assert!(next != 0);
        assert!((50..200).contains(&keys.len()), "about 100 keys: {}", keys.len());
        let (next, keys) = s.scan_keys(0, 100_000);
        assert_eq!((next, keys.len()), (0, 1000), "a big COUNT takes all in one call");
    }
}
