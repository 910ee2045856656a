//! The core trait of the course: what every key-value engine promises.
//!
//! A datastore is an API plus guarantees. [`KvStore`] is the API. The
//! guarantees are written as tests, in the conformance suite of
//! [`crate::testkit`], and every engine in the course must pass them:
//!
//! ```text
//!   lesson 1   LinearStore     a Vec of pairs: O(n) per lookup, the baseline
//!   lesson 2   Store           a hash map with expiry and a command language
//!   lesson 3   the store, made durable by a snapshot and an append-only log
//!   lesson 4   Bitcask and a B+tree: values on disk, indexes in memory
//!   lesson 5   the store behind a network server, sharded and replicated
//!   lesson 6   transactions, a cache and a query planner on top
//! ```
//!
//! Four decisions shape the trait, because five later lessons implement it:
//!
//! - **Keys and values are bytes** (`Vec<u8>`), not strings. Redis, Bitcask
//!   and every storage engine are binary-safe; text is one encoding among many.
//! - **Every method can fail** with the engine's own error type. An in-memory
//!   engine says `type Error = Infallible` and can never fail; the disk
//!   engines of lessons 3 and 4 return I/O and corruption errors.
//! - **Every method takes `&mut self`**, even `get`: a store with expiry
//!   deletes an expired key when it reads it, a cache updates its recency, a
//!   disk engine moves a file cursor. Sharing between threads is the job of a
//!   lock around the store (lesson 5), not of the trait.
//! - **`scan` returns the pairs of a key range in key order**, as a `Vec`. A
//!   hash engine must sort to do that, a B+tree need not: lesson 4 measures
//!   the difference. NB: a real engine streams a scan through an iterator so
//!   that a huge range does not have to fit in memory; we return a `Vec` to
//!   keep lifetimes out of the trait.

use std::ops::{Bound, RangeBounds};

// ANCHOR: trait
/// A key and its value, as a scan returns them.
pub type KeyValue = (Vec<u8>, Vec<u8>);

/// A key-value store: the API every engine in the course implements.
///
/// Keys and values are arbitrary bytes, including empty ones.
pub trait KvStore {
    /// What can go wrong: `std::convert::Infallible` for in-memory engines,
    /// an I/O or corruption error for engines that keep data on disk.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Returns the value stored under `key`, or `None` if there is none.
    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, Self::Error>;

    /// Stores `value` under `key`, replacing any previous value.
    fn set(&mut self, key: Vec<u8>, value: Vec<u8>) -> Result<(), Self::Error>;

    /// Removes `key`. Returns whether it was there.
    fn delete(&mut self, key: &[u8]) -> Result<bool, Self::Error>;

    /// Returns every pair whose key lies in `range`, in ascending key order.
    fn scan(&mut self, range: KeyRange) -> Result<Vec<KeyValue>, Self::Error>;

    /// Returns the number of keys in the store.
    fn len(&mut self) -> Result<usize, Self::Error>;

    /// Returns whether the store holds no keys.
    fn is_empty(&mut self) -> Result<bool, Self::Error> {
        Ok(self.len()? == 0)
    }

    /// Makes every write so far durable. Engines without a disk have nothing
    /// to do, which is why this has a default.
    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}
// ANCHOR_END: trait

// ANCHOR: key_range
/// A range of keys in byte order, as given to [`KvStore::scan`].
///
/// Byte order is the order of `[u8]`'s `Ord`: byte by byte, and a key sorts
/// before every longer key it is a prefix of (`"ab" < "abc" < "b"`). A range
/// whose start lies after its end is empty: scanning it is not an error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRange {
    /// Where the range starts.
    pub start: Bound<Vec<u8>>,
    /// Where the range ends.
    pub end: Bound<Vec<u8>>,
}

impl KeyRange {
    /// Every key.
    pub fn all() -> Self {
        Self { start: Bound::Unbounded, end: Bound::Unbounded }
    }

    /// The keys between two bounds, from any Rust range of `Vec<u8>`:
    /// `KeyRange::new(b"a".to_vec()..b"c".to_vec())`.
    pub fn new(range: impl RangeBounds<Vec<u8>>) -> Self {
        Self { start: range.start_bound().cloned(), end: range.end_bound().cloned() }
    }

    /// Every key that starts with `prefix`.
    ///
    /// A prefix scan is a range scan: keys starting with `"ab"` are exactly
    /// the keys `>= "ab"` and `< "ac"`. The end is the prefix with its last
    /// byte incremented; trailing `0xff` bytes cannot be incremented, so they
    /// are dropped first, and a prefix of only `0xff`s has no end at all.
    pub fn prefix(prefix: &[u8]) -> Self {
        // exercise 1.2: begin
        let mut end = prefix.to_vec();
        while end.last() == Some(&0xff) {
            end.pop();
        }
        let end = match end.last_mut() {
            Some(last) => {
                *last += 1;
                Bound::Excluded(end)
            }
            None => Bound::Unbounded,
        };
        Self { start: Bound::Included(prefix.to_vec()), end }
        // exercise 1.2: end
    }

    /// Returns whether `key` lies in the range.
    pub fn contains(&self, key: &[u8]) -> bool {
        <Self as RangeBounds<[u8]>>::contains(self, key)
    }
}

/// Lets a `BTreeMap<Vec<u8>, _>` answer a scan with `map.range::<[u8], _>(range)`
/// (which panics on a start after the end: check that first).
impl RangeBounds<[u8]> for KeyRange {
    fn start_bound(&self) -> Bound<&[u8]> {
        as_slice_bound(&self.start)
    }

    fn end_bound(&self) -> Bound<&[u8]> {
        as_slice_bound(&self.end)
    }
}
// ANCHOR_END: key_range

fn as_slice_bound(bound: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match bound {
        Bound::Included(key) => Bound::Included(key.as_slice()),
        Bound::Excluded(key) => Bound::Excluded(key.as_slice()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_range_holds_exactly_the_keys_with_that_prefix() {
        let range = KeyRange::prefix(b"ab");
        assert!(range.contains(b"ab"));
        assert!(range.contains(b"abz"));
        assert!(range.contains(b"ab\xff\xff"));
        assert!(!range.contains(b"a"));
        assert!(!range.contains(b"ac"));
        assert!(!range.contains(b"b"));
    }

    #[test]
    fn prefix_ending_in_0xff_carries_into_the_previous_byte() {
        let range = KeyRange::prefix(b"a\xff");
        assert_eq!(range.end, Bound::Excluded(b"b".to_vec()));
        assert!(range.contains(b"a\xff\x00"));
        assert!(!range.contains(b"b"));
    }

    #[test]
    fn prefix_of_only_0xff_or_nothing_is_unbounded_above() {
        assert_eq!(KeyRange::prefix(b"\xff\xff").end, Bound::Unbounded);
        assert_eq!(KeyRange::prefix(b""), KeyRange::new(Vec::new()..));
        assert!(KeyRange::prefix(b"").contains(b"anything"));
    }

    #[test]
    fn new_keeps_the_bounds_of_a_rust_range() {
        let range = KeyRange::new(b"b".to_vec()..=b"d".to_vec());
        assert!(!range.contains(b"a"));
        assert!(range.contains(b"b"));
        assert!(range.contains(b"d"));
        assert!(!range.contains(b"da"));
        assert!(KeyRange::all().contains(b""));
    }
}
