//! The store: a hash map from keys to values, each value with an optional
//! deadline.
//!
//! ```text
//!   map: hashbrown::HashMap<Vec<u8>, Entry>
//!   ┌────────────┬──────────────────────────────────────────┐
//!   │ b"user:1"  │ Entry { value: "ada",    ttl_slot: None }  │
//!   │ b"session" │ Entry { value: "f00d",   ttl_slot: Some(0) }─┐
//!   │ b"queue"   │ Entry { value: [list],   ttl_slot: None }  │ │
//!   └────────────┴──────────────────────────────────────────┘ │
//!   expiring: [ Expiring { key: b"session", at_ms } ]  ◄───────┘ slot 0
//! ```
//!
//! Keys with a deadline are listed in `expiring`, with the deadline, so that
//! the active expiry cycle ([`crate::expiry`]) can pick random keys *that
//! have a TTL* in O(1) instead of searching the whole map for them. Redis
//! does the same with its second hash table, `expires`. Each entry with a
//! deadline remembers its slot in `expiring`, so removing a key from the list
//! is a `swap_remove`, O(1).
//!
//! Why the deadline lives in `expiring` and not in the entry: most keys have
//! no TTL, and every byte of `Entry` is paid by every key. An entry is a
//! [`Value`] (16 bytes: a boxed string, or a boxed collection in the same
//! space, see [`crate::value`]) and an `Option<u32>` slot (8 bytes): 24
//! bytes, the size of the bare `Vec<u8>` a plain map would hold. With the deadline
//! inline it was 48, and the benchmark showed it: at a million keys, lookups
//! and overwrites were 10–30% slower than the bare hash map, from the bigger
//! table alone.
//!
//! Why hashbrown: it is the hash table inside `std::collections::HashMap`,
//! with a faster default hasher (foldhash instead of SipHash). SipHash resists
//! attackers who choose keys to collide; NB: a server facing untrusted
//! clients needs a keyed hasher, which foldhash's random per-process seed
//! gives us.

use hashbrown::HashMap;
use lesson01_intro::{KeyRange, KeyValue, KvStore};

use crate::change::Change;
use crate::clock::{Clock, SystemClock};
use crate::error::{Error, Result};
use crate::integer;
use crate::value::{Collection, Kind, Value};

// ANCHOR: entry
/// A value and, if it has a time to live, where its deadline is listed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    /// The value. A string is a boxed slice, not a `Vec`: a string never
    /// grows in place (a new value replaces it), so it needs no capacity
    /// field, and the 8 bytes saved pay for `ttl_slot`.
    pub(crate) value: Value,
    /// Index of the key in `Store::expiring`, if the key has a deadline.
    pub(crate) ttl_slot: Option<u32>,
}

/// A key that has a deadline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Expiring {
    pub(crate) key: Vec<u8>,
    /// Milliseconds since the Unix epoch; the key is gone from this instant on.
    pub(crate) at_ms: u64,
}

/// An in-memory key-value store with expiry, like a single Redis database.
pub struct Store<C: Clock = SystemClock> {
    /// Every key, live or expired-but-not-yet-removed.
    pub(crate) map: HashMap<Vec<u8>, Entry>,
    /// The keys that have a deadline, in no particular order.
    pub(crate) expiring: Vec<Expiring>,
    /// Where "now" comes from.
    pub(crate) clock: C,
    /// State of the random generator that samples `expiring`.
    pub(crate) rng: u64,
    /// When the periodic expiry cycle last ran.
    pub(crate) last_cycle_ms: u64,
    /// Counters for INFO-style reporting and for tests.
    pub(crate) stats: ExpiryStats,
    /// Changes made since the caller last took them, when recording is on
    /// ([`crate::change`]).
    pub(crate) changes: Option<Vec<Change>>,
}
// ANCHOR_END: entry

/// How many keys expired, and how.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ExpiryStats {
    /// Keys removed because a read found them expired.
    pub lazy: u64,
    /// Keys removed by the active expiry cycle.
    pub active: u64,
    /// Times the active expiry cycle ran.
    pub cycles: u64,
}

/// What `SET` should do when the key exists or not (`NX` / `XX`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetCondition {
    /// `NX`: only set a key that does not exist.
    IfAbsent,
    /// `XX`: only set a key that already exists.
    IfPresent,
}

/// What `SET` does with the key's time to live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetTtl {
    /// No option: the key's old TTL, if any, is cleared.
    Clear,
    /// `KEEPTTL`: keep the old TTL.
    Keep,
    /// `EX` / `PX`: expire this many milliseconds from now.
    ExpireInMs(u64),
}

impl Store<SystemClock> {
    /// An empty store on the system clock.
    pub fn new() -> Self {
        Self::with_clock(SystemClock)
    }
}

impl Default for Store<SystemClock> {
    fn default() -> Self {
        Self::new()
    }
}

impl<C: Clock> Store<C> {
    /// An empty store that reads the time from `clock`.
    pub fn with_clock(clock: C) -> Self {
        let now = clock.now_ms();
        Self {
            map: HashMap::new(),
            expiring: Vec::new(),
            clock,
            rng: 0x2545_F491_4F6C_DD1D,
            last_cycle_ms: now,
            stats: ExpiryStats::default(),
            changes: None,
        }
    }

    /// The clock the store reads.
    pub fn clock(&self) -> &C {
        &self.clock
    }

    /// The expiry counters.
    pub fn expiry_stats(&self) -> ExpiryStats {
        self.stats
    }

    /// How many keys have a deadline (for `INFO`'s `expires=`); some may
    /// have expired already and wait for lazy or active expiry.
    pub fn expiring_len(&self) -> usize {
        self.expiring.len()
    }

    // ANCHOR: get
    /// The string value of `key`, unless it is missing or expired; an error
    /// if the key holds a collection.
    ///
    /// This is **lazy expiry**: a read that finds an expired key removes it
    /// and answers as if it was never there. So an expired key is never
    /// returned, whether or not the active cycle has run. The clock is read
    /// only for keys that have a deadline, so plain keys cost one lookup.
    pub fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        match self.map.get(key) {
            None => return Ok(None),
            Some(entry) => match entry.ttl_slot {
                Some(slot) if self.expiring[slot as usize].at_ms <= self.clock.now_ms() => {}
                _ => {
                    return entry
                        .value
                        .as_bytes()
                        .map(|b| Some(b.to_vec()))
                        .ok_or(Error::WrongType);
                }
            },
        }
        self.remove_entry(key);
        self.stats.lazy += 1;
        Ok(None)
    }
    // ANCHOR_END: get

    /// Whether `key` exists (and has not expired).
    pub fn contains(&mut self, key: &[u8]) -> bool {
        !self.expire_if_due(key) && self.map.contains_key(key)
    }

    // ANCHOR: set
    /// `SET key value [NX|XX] [EX s|PX ms|KEEPTTL]`. Returns whether the
    /// value was stored: `NX` on an existing key, or `XX` on a missing one,
    /// stores nothing.
    pub fn set(
        &mut self,
        key: Vec<u8>,
        value: Vec<u8>,
        condition: Option<SetCondition>,
        ttl: SetTtl,
    ) -> bool {
        // The common case, a plain SET, is one hash-table operation: the old
        // entry is replaced whatever it was, expired or not.
        if condition.is_none() && ttl == SetTtl::Clear {
            self.record(|_| Change::Put {
                key: key.clone(),
                value: value.clone(),
                expires_at: None,
            });
            if let Some(Entry { ttl_slot: Some(slot), .. }) =
                self.map.insert(key, Entry { value: Value::string(value), ttl_slot: None })
            {
                self.unlist(slot);
            }
            return true;
        }
        let exists = self.contains(&key); // removes the key if it has expired
        match condition {
            Some(SetCondition::IfAbsent) if exists => return false,
            Some(SetCondition::IfPresent) if !exists => return false,
            _ => {}
        }
        let old_slot = self.map.get(&key).and_then(|e| e.ttl_slot);
        let ttl_slot = match ttl {
            SetTtl::Keep => old_slot,
            SetTtl::Clear => {
                if let Some(slot) = old_slot {
                    self.unlist(slot);
                }
                None
            }
            SetTtl::ExpireInMs(ms) => {
                let at_ms = self.clock.now_ms().saturating_add(ms);
                Some(self.list_or_update(&key, old_slot, at_ms))
            }
        };
        self.map.insert(key.clone(), Entry { value: Value::string(value), ttl_slot });
        self.record_key(&key);
        true
    }
    // ANCHOR_END: set

    /// Removes `key`. Returns whether it existed: an expired key did not,
    /// though it is removed all the same.
    pub fn remove(&mut self, key: &[u8]) -> bool {
        let Some(entry) = self.map.remove(key) else { return false };
        let Some(slot) = entry.ttl_slot else {
            self.record(|_| Change::Delete { key: key.to_vec() });
            return true;
        };
        let expired = self.expiring[slot as usize].at_ms <= self.clock.now_ms();
        self.unlist(slot);
        if expired {
            self.stats.lazy += 1;
        } else {
            self.record(|_| Change::Delete { key: key.to_vec() });
        }
        !expired
    }

    // ANCHOR: incr
    /// `INCRBY key delta`: adds `delta` to the integer stored at `key` (a
    /// missing key counts as 0) and returns the new value. Keeps the TTL.
    pub fn incr_by(&mut self, key: &[u8], delta: i64) -> Result<i64> {
        let current = match self.get(key)? {
            Some(bytes) => integer::parse(&bytes).ok_or(Error::NotAnInteger)?,
            None => 0,
        };
        let next = current.checked_add(delta).ok_or(Error::Overflow)?;
        let value = Value::string(next.to_string().into_bytes());
        match self.map.get_mut(key) {
            Some(entry) => entry.value = value,
            None => {
                self.map.insert(key.to_vec(), Entry { value, ttl_slot: None });
            }
        }
        self.record_key(key);
        Ok(next)
    }
    // ANCHOR_END: incr

    /// The live keys, in no particular order. Removes the expired ones it meets.
    pub fn keys(&mut self) -> Vec<Vec<u8>> {
        self.purge_expired();
        self.map.keys().cloned().collect()
    }

    /// The number of live keys. Removes expired keys first, so the count is
    /// exact. NB: Redis's DBSIZE is O(1) and may count keys that have
    /// expired but that nobody has removed yet; ours costs O(keys with a TTL).
    pub fn len(&mut self) -> usize {
        self.purge_expired();
        self.map.len()
    }

    /// Whether the store holds no live keys.
    pub fn is_empty(&mut self) -> bool {
        self.len() == 0
    }

    /// Removes every key.
    pub fn clear(&mut self) {
        self.map.clear();
        self.expiring.clear();
        self.record(|_| Change::Clear);
    }

    /// Removes `key` and unlists its deadline. Returns the entry.
    pub(crate) fn remove_entry(&mut self, key: &[u8]) -> Option<Entry> {
        let entry = self.map.remove(key)?;
        if let Some(slot) = entry.ttl_slot {
            self.unlist(slot);
        }
        Some(entry)
    }

    /// The value of `key`, unless it is missing or expired (then removed).
    pub(crate) fn value_mut(&mut self, key: &[u8]) -> Option<&mut Value> {
        if self.expire_if_due(key) {
            return None;
        }
        self.map.get_mut(key).map(|entry| &mut entry.value)
    }

    /// The type of the value at `key`, if there is one.
    pub fn kind(&mut self, key: &[u8]) -> Option<Kind> {
        self.value_mut(key).map(|value| value.kind())
    }

    // ANCHOR: typed
    /// The collection at `key` as the type `pick` accepts: `None` if the key
    /// is missing, `WRONGTYPE` if it holds anything else. Every command on a
    /// collection starts here, so the type check is in one place.
    pub(crate) fn typed_mut<T>(
        &mut self,
        key: &[u8],
        pick: impl FnOnce(&mut Collection) -> Option<&mut T>,
    ) -> Result<Option<&mut T>> {
        // exercise 2.7: begin
        match self.value_mut(key) {
            None => Ok(None),
            Some(Value::Collection(collection)) => {
                pick(collection).map(Some).ok_or(Error::WrongType)
            }
            Some(Value::String(_)) => Err(Error::WrongType),
        }
        // exercise 2.7: end
    }

    /// As [`Store::typed_mut`], but a missing key gets an empty collection
    /// of `kind` first. The caller adds to it, and calls
    /// [`Store::drop_if_empty`] in case it added nothing.
    pub(crate) fn typed_or_new<T>(
        &mut self,
        key: &[u8],
        kind: Kind,
        pick: impl FnOnce(&mut Collection) -> Option<&mut T>,
    ) -> Result<&mut T> {
        if self.value_mut(key).is_none() {
            let seed = self.random_u64();
            let value = Value::Collection(Box::new(Collection::empty(kind, seed)));
            self.map.insert(key.to_vec(), Entry { value, ttl_slot: None });
        }
        Ok(self.typed_mut(key, pick)?.expect("the key was just created"))
    }
    // ANCHOR_END: typed

    /// Removes `key` if it holds an empty collection: a collection that
    /// loses its last element loses its key, as in Redis. Returns whether
    /// it did.
    pub(crate) fn drop_if_empty(&mut self, key: &[u8]) -> bool {
        let empty = matches!(
            self.map.get(key),
            Some(Entry { value: Value::Collection(c), .. }) if c.is_empty()
        );
        if empty {
            self.remove_entry(key);
        }
        empty
    }

    /// The deadline of `key`, if it has one (expired or not).
    pub(crate) fn deadline(&self, key: &[u8]) -> Option<u64> {
        let slot = self.map.get(key)?.ttl_slot?;
        Some(self.expiring[slot as usize].at_ms)
    }

    /// Sets the deadline of `key` (which is in the map, or about to be):
    /// updates its listing in `expiring` if it has one, else lists it.
    /// Returns its slot.
    pub(crate) fn list_or_update(&mut self, key: &[u8], slot: Option<u32>, at_ms: u64) -> u32 {
        match slot {
            Some(slot) => {
                self.expiring[slot as usize].at_ms = at_ms;
                slot
            }
            None => {
                self.expiring.push(Expiring { key: key.to_vec(), at_ms });
                u32::try_from(self.expiring.len() - 1).expect("fewer than 2^32 keys with a TTL")
            }
        }
    }

    /// Removes slot `slot` from `expiring` by moving the last key into it,
    /// and tells that key's entry about its new slot.
    pub(crate) fn unlist(&mut self, slot: u32) {
        self.expiring.swap_remove(slot as usize);
        if let Some(moved) = self.expiring.get(slot as usize) {
            let entry = self.map.get_mut(&moved.key).expect("every listed key is in the map");
            entry.ttl_slot = Some(slot);
        }
    }
}

// ANCHOR: kvstore
/// The store is a lesson-1 engine: it passes the conformance suite.
/// The trait knows nothing of TTLs, so `set` here is a plain SET, which
/// clears any TTL the key had. It knows only strings, too: `get` on a
/// collection is a `WRONGTYPE` error, and `scan` lists string keys only.
impl<C: Clock> KvStore for Store<C> {
    type Error = Error;

    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Store::get(self, key)
    }

    fn set(&mut self, key: Vec<u8>, value: Vec<u8>) -> Result<()> {
        Store::set(self, key, value, None, SetTtl::Clear);
        Ok(())
    }

    fn delete(&mut self, key: &[u8]) -> Result<bool> {
        Ok(self.remove(key))
    }

    fn scan(&mut self, range: KeyRange) -> Result<Vec<KeyValue>> {
        self.purge_expired();
        let mut pairs: Vec<KeyValue> = self
            .map
            .iter()
            .filter(|(k, _)| range.contains(k))
            .filter_map(|(k, e)| Some((k.clone(), e.value.as_bytes()?.to_vec())))
            .collect();
        // A hash map has no order: sorting is the price of a scan.
        pairs.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        Ok(pairs)
    }

    fn len(&mut self) -> Result<usize> {
        Ok(Store::len(self))
    }
}
// ANCHOR_END: kvstore

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn store() -> (Store<ManualClock>, ManualClock) {
        let clock = ManualClock::default();
        (Store::with_clock(clock.clone()), clock)
    }

    #[test]
    fn an_entry_is_as_small_as_a_bare_vec() {
        // The measurement that shaped `Entry`: see the module docs.
        assert_eq!(std::mem::size_of::<Entry>(), std::mem::size_of::<Vec<u8>>());
    }

    #[test]
    fn set_conditions_nx_and_xx() {
        let (mut s, _) = store();
        assert!(!s.set(b"k".to_vec(), b"1".to_vec(), Some(SetCondition::IfPresent), SetTtl::Clear));
        assert_eq!(s.get(b"k").unwrap(), None);
        assert!(s.set(b"k".to_vec(), b"1".to_vec(), Some(SetCondition::IfAbsent), SetTtl::Clear));
        assert!(!s.set(b"k".to_vec(), b"2".to_vec(), Some(SetCondition::IfAbsent), SetTtl::Clear));
        assert_eq!(s.get(b"k").unwrap(), Some(b"1".to_vec()));
        assert!(s.set(b"k".to_vec(), b"3".to_vec(), Some(SetCondition::IfPresent), SetTtl::Clear));
        assert_eq!(s.get(b"k").unwrap(), Some(b"3".to_vec()));
    }

    #[test]
    fn plain_set_clears_the_ttl_and_keepttl_keeps_it() {
        let (mut s, clock) = store();
        s.set(b"k".to_vec(), b"1".to_vec(), None, SetTtl::ExpireInMs(1000));
        s.set(b"k".to_vec(), b"2".to_vec(), None, SetTtl::Keep);
        clock.advance(1000);
        assert_eq!(s.get(b"k").unwrap(), None, "KEEPTTL kept the deadline");
        s.set(b"k".to_vec(), b"1".to_vec(), None, SetTtl::ExpireInMs(1000));
        s.set(b"k".to_vec(), b"2".to_vec(), None, SetTtl::Clear);
        clock.advance(5000);
        assert_eq!(s.get(b"k").unwrap(), Some(b"2".to_vec()));
        assert!(s.expiring.is_empty());
    }

    #[test]
    fn nx_treats_an_expired_key_as_absent() {
        let (mut s, clock) = store();
        s.set(b"k".to_vec(), b"old".to_vec(), None, SetTtl::ExpireInMs(10));
        clock.advance(10);
        assert!(s.set(b"k".to_vec(), b"new".to_vec(), Some(SetCondition::IfAbsent), SetTtl::Clear));
        assert_eq!(s.get(b"k").unwrap(), Some(b"new".to_vec()));
    }

    #[test]
    fn incr_by_counts_from_zero_and_rejects_non_integers() {
        let (mut s, _) = store();
        assert_eq!(s.incr_by(b"n", 5), Ok(5));
        assert_eq!(s.incr_by(b"n", -7), Ok(-2));
        assert_eq!(s.get(b"n").unwrap(), Some(b"-2".to_vec()));
        s.set(b"t".to_vec(), b"ten".to_vec(), None, SetTtl::Clear);
        assert_eq!(s.incr_by(b"t", 1), Err(Error::NotAnInteger));
        assert_eq!(s.get(b"t").unwrap(), Some(b"ten".to_vec()), "a failed INCR changes nothing");
    }

    #[test]
    fn incr_by_detects_overflow_and_keeps_the_value() {
        let (mut s, _) = store();
        s.set(b"n".to_vec(), i64::MAX.to_string().into_bytes(), None, SetTtl::Clear);
        assert_eq!(s.incr_by(b"n", 1), Err(Error::Overflow));
        assert_eq!(s.get(b"n").unwrap(), Some(i64::MAX.to_string().into_bytes()));
        s.set(b"m".to_vec(), i64::MIN.to_string().into_bytes(), None, SetTtl::Clear);
        assert_eq!(s.incr_by(b"m", -1), Err(Error::Overflow));
    }

    #[test]
    fn incr_keeps_the_ttl() {
        let (mut s, clock) = store();
        s.set(b"n".to_vec(), b"1".to_vec(), None, SetTtl::ExpireInMs(100));
        assert_eq!(s.incr_by(b"n", 1), Ok(2));
        clock.advance(100);
        assert_eq!(s.get(b"n").unwrap(), None);
    }

    #[test]
    fn slots_stay_consistent_through_removals() {
        let (mut s, _) = store();
        for i in 0..10u8 {
            s.set(vec![i], vec![i], None, SetTtl::ExpireInMs(1000 + u64::from(i)));
        }
        for i in [0u8, 5, 9, 3] {
            assert!(s.remove(&[i]));
        }
        s.set(vec![7], b"x".to_vec(), None, SetTtl::Clear);
        assert_eq!(s.expiring.len(), 5);
        for (slot, listed) in s.expiring.iter().enumerate() {
            assert_eq!(s.map[&listed.key].ttl_slot, Some(slot as u32), "key {:?}", listed.key);
        }
    }
}
