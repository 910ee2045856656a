//! Sorted sets, as Redis builds them: a [`SkipList`] of (score, member)
//! in order, for ranks and ranges, and a hash map from member to score,
//! for `ZSCORE` in O(1) and to find a member's place in the list.
//!
//! Redis stores each member once and points at it from both; here the map
//! and the list each own a copy of the member's bytes, which costs memory
//! and keeps the code safe and plain.

pub mod commands;
pub mod skiplist;

use std::ops::Bound;

use hashbrown::HashMap;
use hashbrown::hash_map::EntryRef;

pub use skiplist::SkipList;

/// A sorted set: members with scores, ordered by score, then member.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SortedSet {
    scores: HashMap<Vec<u8>, f64>,
    list: SkipList,
}

impl SortedSet {
    /// An empty set whose skip list draws its levels from `seed`.
    pub fn new(seed: u64) -> Self {
        Self { scores: HashMap::new(), list: SkipList::new(seed) }
    }

    /// How many members it has.
    pub fn len(&self) -> usize {
        self.scores.len()
    }

    /// Whether it has none.
    pub fn is_empty(&self) -> bool {
        self.scores.is_empty()
    }

    /// Sets `member`'s score (not NaN); its old score, if it had one. An
    /// equal score changes nothing (as in Redis: `-0` does not replace `0`,
    /// so the map and the list always hold the same score).
    pub fn insert(&mut self, member: &[u8], score: f64) -> Option<f64> {
        assert!(!score.is_nan(), "a score is a number");
        // One lookup, whether the member is new or not.
        match self.scores.entry_ref(member) {
            EntryRef::Occupied(old) if *old.get() == score => Some(*old.get()),
            EntryRef::Occupied(mut old) => {
                let previous = old.insert(score);
                self.list.remove(previous, member);
                self.list.insert(score, member.to_vec());
                Some(previous)
            }
            EntryRef::Vacant(new) => {
                new.insert(score);
                self.list.insert(score, member.to_vec());
                None
            }
        }
    }

    /// Removes `member`; whether it was there.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match self.scores.remove(member) {
            Some(score) => self.list.remove(score, member),
            None => false,
        }
    }

    /// `member`'s score.
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        self.scores.get(member).copied()
    }

    /// `member`'s rank, from 0, lowest score first (or highest, if
    /// `reverse`).
    pub fn rank(&self, member: &[u8], reverse: bool) -> Option<usize> {
        let rank = self.list.rank(self.score(member)?, member)?;
        Some(if reverse { self.len() - 1 - rank } else { rank })
    }

    /// The members of ranks `start` to `stop`, both included, as `ZRANGE`
    /// takes them: a negative index counts from the end (-1 is the last),
    /// and a range past either end is cut to the set
    /// ([`crate::range::rank_range`]).
    pub fn range_by_rank(&self, start: i64, stop: i64, reverse: bool) -> Vec<(&[u8], f64)> {
        let Some((start, stop)) = crate::range::rank_range(start, stop, self.len()) else {
            return Vec::new();
        };
        if reverse {
            // Ranks counted from the highest score.
            let last = self.len() - 1;
            self.list.range_by_rank(last - stop, last - start, true)
        } else {
            self.list.range_by_rank(start, stop, false)
        }
    }

    /// The members with scores between `min` and `max`, lowest first (or
    /// highest, if `reverse`), skipping `offset`, at most `count`.
    pub fn range_by_score(
        &self,
        min: Bound<f64>,
        max: Bound<f64>,
        reverse: bool,
        offset: usize,
        count: usize,
    ) -> Vec<(&[u8], f64)> {
        self.list.range_by_score(min, max, reverse, offset, count)
    }

    /// Removes and returns the `count` members with the lowest scores.
    pub fn pop_min(&mut self, count: usize) -> Vec<(Vec<u8>, f64)> {
        if count == 0 {
            return Vec::new();
        }
        let popped: Vec<(Vec<u8>, f64)> = self
            .list
            .range_by_rank(0, count.saturating_sub(1), false)
            .into_iter()
            .map(|(m, s)| (m.to_vec(), s))
            .collect();
        for (member, _) in &popped {
            self.remove(member);
        }
        popped
    }

    /// Every member with its score, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], f64)> {
        self.list.iter()
    }

    /// The skip list, for its drawing and its invariant checker.
    pub fn list(&self) -> &SkipList {
        &self.list
    }
}
