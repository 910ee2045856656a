//! The simplest honest key-value store: a `Vec` of pairs, searched front to
//! back.
//!
//! ```text
//!   pairs: [ ("apple", "red") | ("kiwi", "green") | ("plum", "purple") | … ]
//!            ^ get("plum") compares with every key until it matches: O(n)
//! ```
//!
//! Every operation walks the vector, so a lookup costs time proportional to
//! the number of keys. That is the baseline the rest of the course beats: the
//! lesson-1 binary times it against a hash map and a B-tree, and lesson 2
//! replaces it with a hash map. It passes the same conformance suite as every
//! later engine, which shows that the suite checks behaviour, not speed.

use std::convert::Infallible;

use crate::kv::{KeyRange, KeyValue, KvStore};

// ANCHOR: struct
/// A key-value store that keeps its pairs in a `Vec`, in insertion order.
#[derive(Debug, Default, Clone)]
pub struct LinearStore {
    /// The pairs. No key appears twice.
    pairs: Vec<(Vec<u8>, Vec<u8>)>,
}
// ANCHOR_END: struct

impl LinearStore {
    /// Creates an empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Returns the index of `key` in `pairs`, by comparing with every key.
    fn position(&self, key: &[u8]) -> Option<usize> {
        // exercise 1.1: begin
        self.pairs.iter().position(|(k, _)| k.as_slice() == key)
        // exercise 1.1: end
    }
}

// ANCHOR: impl
impl KvStore for LinearStore {
    /// Nothing in memory can fail.
    type Error = Infallible;

    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, Infallible> {
        Ok(self.position(key).map(|i| self.pairs[i].1.clone()))
    }

    fn set(&mut self, key: Vec<u8>, value: Vec<u8>) -> Result<(), Infallible> {
        // exercise 1.1: begin
        match self.position(&key) {
            Some(i) => self.pairs[i].1 = value,
            None => self.pairs.push((key, value)),
        }
        Ok(())
        // exercise 1.1: end
    }

    fn delete(&mut self, key: &[u8]) -> Result<bool, Infallible> {
        // exercise 1.1: begin
        // Order does not matter, so fill the hole with the last pair: O(1)
        // after the O(n) search, instead of shifting everything after it.
        Ok(self.position(key).map(|i| self.pairs.swap_remove(i)).is_some())
        // exercise 1.1: end
    }

    fn scan(&mut self, range: KeyRange) -> Result<Vec<KeyValue>, Infallible> {
        let mut found: Vec<_> =
            self.pairs.iter().filter(|(k, _)| range.contains(k)).cloned().collect();
        found.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        Ok(found)
    }

    fn len(&mut self) -> Result<usize, Infallible> {
        Ok(self.pairs.len())
    }
}
// ANCHOR_END: impl
