//! The keydir: the only index Bitcask keeps, and all of it in memory.
//!
//! Every live key maps to where its latest record sits on disk: which
//! segment, at which byte, how long. Nothing else: the value stays on disk,
//! and a get reads it with one positioned read.
//!
//! ```text
//!   keydir (a hash table in memory)            segments on disk
//!   ┌─────────┬─────────────────────────┐
//!   │ "apple" │ segment 3, @0,   30 B   │──►  0000000003.data  [apple=red][pear=…
//!   │ "pear"  │ segment 3, @30,  29 B   │──┘
//!   │ "plum"  │ segment 4, @112, 31 B   │──►  0000000004.data  …[plum=ripe]
//!   └─────────┴─────────────────────────┘
//! ```
//!
//! That is Bitcask's strength (one seek per get, whatever the data size)
//! and its known limit: **every key lives in memory**, with a fixed cost per
//! key on top of its bytes. [`KeyDir::bytes_per_key`] estimates that cost
//! from the table's layout; [`KeyDir::allocated_bytes`] measures what the
//! table and the keys have actually asked the allocator for, and a test
//! checks both against the growth of the process's resident memory: 86
//! bytes for a 24-byte key (the `bitcask_memory` test). A billion such keys
//! need 86 GB of RAM, whatever the size of the values: that is why Riak's
//! Bitcask documentation has a capacity calculator, and why LSM trees keep
//! only a sparse index in memory.

use std::fmt::Write as _;
use std::mem::size_of;

use hashbrown::HashMap;

// ANCHOR: keydir
/// Where a record is: the segment, the byte it starts at, and the length
/// of the whole framed record (header included), so a get reads it in one go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    /// The segment's id (its file is `{id:010}.data`).
    pub segment: u32,
    /// The length of the framed record, in bytes.
    pub len: u32,
    /// The byte where the framed record starts.
    pub offset: u64,
}

/// The in-memory index: each live key → the [`Location`] of its latest record.
#[derive(Debug, Default)]
pub struct KeyDir {
    map: HashMap<Vec<u8>, Location>,
    /// Bytes of the records the keydir points at (the rest of the segments
    /// is stale: overwritten values and tombstones, for a merge to drop).
    live_bytes: u64,
}
// ANCHOR_END: keydir

impl KeyDir {
    /// An empty keydir.
    pub fn new() -> Self {
        Self::default()
    }

    /// Where `key`'s latest record is, if the key is live.
    pub fn get(&self, key: &[u8]) -> Option<Location> {
        self.map.get(key).copied()
    }

    /// Points `key` at `location`; returns where it pointed before.
    pub fn insert(&mut self, key: Vec<u8>, location: Location) -> Option<Location> {
        self.live_bytes += u64::from(location.len);
        let old = self.map.insert(key, location);
        if let Some(old) = old {
            self.live_bytes -= u64::from(old.len);
        }
        old
    }

    /// Forgets `key`; returns where it pointed.
    pub fn remove(&mut self, key: &[u8]) -> Option<Location> {
        let old = self.map.remove(key);
        if let Some(old) = old {
            self.live_bytes -= u64::from(old.len);
        }
        old
    }

    /// Forgets every key.
    pub fn clear(&mut self) {
        self.map.clear();
        self.live_bytes = 0;
    }

    /// Makes room for `additional` more keys without growing the table.
    pub fn reserve(&mut self, additional: usize) {
        self.map.reserve(additional);
    }

    /// The number of live keys.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether no key is live.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Bytes of live records on disk.
    pub fn live_bytes(&self) -> u64 {
        self.live_bytes
    }

    /// Every key and location, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&Vec<u8>, &Location)> {
        self.map.iter()
    }

    /// Every location, for a merge to rewrite them.
    pub(crate) fn locations_mut(&mut self) -> impl Iterator<Item = &mut Location> {
        self.map.values_mut()
    }

    /// Keys that `keep` accepts, sorted: a hash table has no order, so a
    /// range scan must collect and sort (O(n log n) over the matching keys).
    pub fn sorted_keys(&self, keep: impl Fn(&[u8]) -> bool) -> Vec<Vec<u8>> {
        let mut keys: Vec<Vec<u8>> = self.map.keys().filter(|k| keep(k)).cloned().collect();
        keys.sort_unstable();
        keys
    }

    /// The keydir as text, one key per line in key order: the key (escaped),
    /// its segment, offset and length. For `DEBUG KEYDIR`, and the book.
    pub fn view(&self) -> String {
        let mut entries: Vec<_> = self.map.iter().collect();
        entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let mut out = String::new();
        for (key, loc) in entries {
            let key: String =
                key.iter().flat_map(|&b| std::ascii::escape_default(b)).map(char::from).collect();
            let _ = writeln!(
                out,
                "{:<24} segment {:>3}  offset {:>6}  length {:>5}",
                format!("\"{key}\""),
                loc.segment,
                loc.offset,
                loc.len
            );
        }
        out
    }
}

// ANCHOR: memory
impl KeyDir {
    /// The estimated memory of one key of `key_len` bytes, in a table whose
    /// load factor is `load` (hashbrown runs between 7/16 and 7/8 full):
    ///
    /// ```text
    ///   key bytes      key_len, rounded up to the allocator's 16-byte unit (glibc)
    ///   + allocator    8 bytes of malloc header per key allocation (glibc)
    ///   + slot         size_of::<(Vec<u8>, Location)>() = 24 + 16 = 40 bytes
    ///   + control      1 byte per slot (hashbrown's SIMD tag)
    ///   ÷ load         slots per key: a table 7/8 full has 8/7 slots per key
    /// ```
    ///
    /// NB: the malloc header and rounding are glibc's; other allocators
    /// differ by a few bytes. [`KeyDir::allocated_bytes`] measures the rest.
    pub fn bytes_per_key(key_len: usize, load: f64) -> f64 {
        let key_heap = if key_len == 0 { 0 } else { (key_len + 8).div_ceil(16) * 16 };
        let slot = (size_of::<(Vec<u8>, Location)>() + 1) as f64 / load;
        key_heap as f64 + slot
    }

    /// The keydir's estimated memory: [`KeyDir::bytes_per_key`] for each
    /// key, at the table's current load factor.
    pub fn estimated_bytes(&self) -> u64 {
        // hashbrown's tables have a power-of-two number of slots, 7/8 of
        // which it fills before growing (all but one, under 8 slots).
        let capacity = self.map.capacity();
        let buckets =
            if capacity < 7 { capacity + usize::from(capacity > 0) } else { capacity / 7 * 8 };
        let load = if buckets == 0 { 1.0 } else { self.map.len() as f64 / buckets as f64 };
        let keys: f64 = self.map.keys().map(|k| Self::bytes_per_key(k.len(), load)).sum();
        keys as u64
    }

    /// What the keydir has asked the allocator for, measured: the table's
    /// allocation (hashbrown reports it) plus each key's heap capacity.
    /// Without the allocator's own headers and rounding, which only the
    /// process's resident memory shows (the `bitcask_memory` test reads it).
    pub fn allocated_bytes(&self) -> u64 {
        let keys: usize = self.map.keys().map(Vec::capacity).sum();
        (self.map.allocation_size() + keys) as u64
    }
}
// ANCHOR_END: memory

#[cfg(test)]
mod tests {
    use super::*;

    fn at(segment: u32, offset: u64, len: u32) -> Location {
        Location { segment, offset, len }
    }

    #[test]
    fn live_bytes_follow_inserts_overwrites_and_removes() {
        let mut keydir = KeyDir::new();
        assert_eq!(keydir.insert(b"a".to_vec(), at(1, 0, 30)), None);
        keydir.insert(b"b".to_vec(), at(1, 30, 20));
        assert_eq!(keydir.live_bytes(), 50);
        assert_eq!(keydir.insert(b"a".to_vec(), at(2, 0, 10)), Some(at(1, 0, 30)));
        assert_eq!(keydir.live_bytes(), 30);
        assert_eq!(keydir.remove(b"b"), Some(at(1, 30, 20)));
        assert_eq!(keydir.remove(b"b"), None);
        assert_eq!(keydir.live_bytes(), 10);
        assert_eq!(keydir.len(), 1);
    }

    #[test]
    fn the_view_is_sorted_and_escapes_bytes() {
        let mut keydir = KeyDir::new();
        keydir.insert(b"b".to_vec(), at(2, 7, 30));
        keydir.insert(b"a\xff".to_vec(), at(1, 0, 31));
        let view = keydir.view();
        let lines: Vec<&str> = view.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with("\"a\\xff\"") && lines[0].contains("segment   1"), "{view}");
        assert!(lines[1].starts_with("\"b\"") && lines[1].contains("offset      7"), "{view}");
    }

    #[test]
    fn the_estimate_matches_the_table_arithmetic() {
        // 40-byte slots plus a control byte, 7/8 full: 46.9 bytes a key;
        // a 24-byte key is one 32-byte malloc chunk (24 + 8 header).
        let per_key = KeyDir::bytes_per_key(24, 7.0 / 8.0);
        assert!((per_key - (32.0 + 41.0 * 8.0 / 7.0)).abs() < 1e-9, "{per_key}");
        let mut keydir = KeyDir::new();
        for i in 0..10_000u32 {
            keydir.insert(format!("{i:024}").as_bytes().to_vec(), at(1, u64::from(i), 40));
        }
        // The measured part: table allocation plus key capacity, within the
        // estimate (which adds malloc headers and rounding).
        let measured = keydir.allocated_bytes();
        let estimated = keydir.estimated_bytes();
        assert!(measured <= estimated, "measured {measured} > estimated {estimated}");
        assert!(estimated - measured <= 10_000 * 8 + 64, "{estimated} vs {measured}");
    }
}
