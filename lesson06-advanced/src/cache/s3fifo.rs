//! S3-FIFO (Juncheng Yang et al., "FIFO queues are all you need for cache
//! eviction", SOSP 2023): three FIFO queues and a two-bit counter per
//! page.
//!
//! ```text
//!   new page ──► small (10%) ──read again?──► main (90%) ──read since last pass?──┐
//!                    │ no                        ▲    │ no                       │ yes:
//!                    ▼                           │    ▼                          │ back in,
//!               ghost (page numbers only) ───────┘  evicted                      │ counter - 1
//!               a page missed while remembered here goes straight to main ◄──────┘
//! ```
//!
//! Most pages are read once and never again ("one-hit wonders"); the small
//! queue lets them go quickly without disturbing the main queue. That is
//! also what makes it resist scans: a scan is a stream of one-hit wonders.
//! Why this policy rather than 2Q or CLOCK-Pro: it is as scan-resistant as
//! they are, matches or beats them on the paper's traces, and is the
//! simplest of them to write and to explain: three queues, no lists to
//! splice, no adaptive tuning.

use std::collections::VecDeque;

// For the ghost: hashbrown's default hasher (foldhash) is several times
// faster than std's SipHash on integer keys, and a page number needs no
// defence against collision attacks.
use hashbrown::HashMap;

use super::table::PageTable;
use super::{PageId, Policy};

/// A cached page: its number, its counter, its value.
#[derive(Debug, Clone)]
struct Slot<V> {
    page: PageId,
    /// Reads since admission or the last pass of the eviction hand, at
    /// most 3.
    freq: u8,
    value: V,
}

// ANCHOR: s3fifo
/// Evicts with three FIFO queues: small, main and ghost.
#[derive(Debug, Clone)]
pub struct S3Fifo<V> {
    capacity: usize,
    /// The small queue's share of the capacity.
    small_target: usize,
    /// The queues hold slots; each cached page is in exactly one.
    small: VecDeque<usize>,
    main: VecDeque<usize>,
    slots: Vec<Slot<V>>,
    index: PageTable,
    /// Pages recently evicted from the small queue, with the sequence
    /// number they were remembered at (a page may be forgotten and
    /// remembered again).
    ghost: VecDeque<(PageId, u64)>,
    ghost_index: HashMap<PageId, u64>,
    remembered: u64,
}
// ANCHOR_END: s3fifo

impl<V> S3Fifo<V> {
    /// An S3-FIFO cache of `capacity` pages (at least 1), a tenth of them
    /// for the small queue.
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            capacity,
            small_target: (capacity / 10).max(1),
            small: VecDeque::new(),
            main: VecDeque::new(),
            slots: Vec::with_capacity(capacity),
            index: PageTable::default(),
            ghost: VecDeque::new(),
            ghost_index: HashMap::new(),
            remembered: 0,
        }
    }

    /// Remembers an evicted page's number. The ghost holds as many as the
    /// main queue holds pages, as in the paper. A page that comes back
    /// leaves the index at once and its queue entry later, when trimming
    /// reaches it: the index is what counts.
    fn remember(&mut self, page: PageId) {
        self.remembered += 1;
        self.ghost.push_back((page, self.remembered));
        self.ghost_index.insert(page, self.remembered);
        let limit = self.capacity - self.small_target.min(self.capacity - 1);
        while self.ghost_index.len() > limit || self.ghost.len() > 2 * limit {
            let (old, when) = self.ghost.pop_front().expect("longer than the limit");
            if self.ghost_index.get(&old) == Some(&when) {
                self.ghost_index.remove(&old);
            }
        }
    }

    // ANCHOR: evict
    /// Makes room for one page; returns the slot it freed.
    fn evict(&mut self) -> usize {
        loop {
            if self.small.len() >= self.small_target || self.main.is_empty() {
                let slot = self.small.pop_front().expect("a full cache has pages");
                if self.slots[slot].freq > 0 {
                    // Read again while in the small queue: it earns a place
                    // in the main queue.
                    self.slots[slot].freq = 0;
                    self.main.push_back(slot);
                    continue;
                }
                let page = self.slots[slot].page;
                self.index.remove(page);
                self.remember(page);
                return slot;
            }
            let slot = self.main.pop_front().expect("checked above");
            if self.slots[slot].freq > 0 {
                // Read since the hand last passed: once more round.
                self.slots[slot].freq -= 1;
                self.main.push_back(slot);
                continue;
            }
            self.index.remove(self.slots[slot].page);
            return slot;
        }
    }
    // ANCHOR_END: evict
}

impl<V> Policy<V> for S3Fifo<V> {
    fn name(&self) -> &'static str {
        "S3-FIFO"
    }

    fn contains(&self, page: PageId) -> bool {
        self.index.contains(page)
    }

    fn lookup(&mut self, page: PageId) -> Option<usize> {
        // A hit moves nothing: only a counter changes. This is why FIFO
        // policies take no lock on a hit in a concurrent cache.
        let slot = self.index.get(page)?;
        let freq = &mut self.slots[slot].freq;
        *freq = (*freq + 1).min(3);
        Some(slot)
    }

    // ANCHOR: insert
    fn insert(&mut self, page: PageId, value: V) -> (usize, Option<PageId>) {
        let (slot, evicted) = if self.slots.len() >= self.capacity {
            let slot = self.evict();
            let old = std::mem::replace(&mut self.slots[slot], Slot { page, freq: 0, value });
            (slot, Some(old.page))
        } else {
            self.slots.push(Slot { page, freq: 0, value });
            (self.slots.len() - 1, None)
        };
        if self.ghost_index.remove(&page).is_some() {
            // Evicted from the small queue, and wanted again soon after:
            // it was not a one-hit wonder after all.
            self.main.push_back(slot);
        } else {
            self.small.push_back(slot);
        }
        self.index.insert(page, slot);
        (slot, evicted)
    }
    // ANCHOR_END: insert

    fn slot(&self, page: PageId) -> Option<usize> {
        self.index.get(page)
    }

    fn value(&self, slot: usize) -> &V {
        &self.slots[slot].value
    }

    fn replace(&mut self, slot: usize, value: V) {
        self.slots[slot].value = value;
    }

    fn len(&self) -> usize {
        self.slots.len()
    }

    fn capacity(&self) -> usize {
        self.capacity
    }

    fn clear(&mut self) {
        *self = Self::new(self.capacity);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::Access;

    #[test]
    fn a_page_read_once_leaves_before_a_page_read_twice() {
        let mut cache: S3Fifo<()> = S3Fifo::new(10); // a small queue of 1
        cache.access(1);
        cache.access(1); // read again while in the small queue
        for page in 2..=11 {
            cache.access(page);
        }
        // Page 11 needed room: 1, the oldest, was read twice and moved to
        // main; 2, read once, left.
        assert!(cache.contains(1), "the page read twice stays");
        assert!(!cache.contains(2), "the page read once leaves");
        assert_eq!(cache.len(), 10);
    }

    #[test]
    fn a_page_missed_while_in_the_ghost_goes_straight_to_main() {
        let mut cache: S3Fifo<()> = S3Fifo::new(10);
        for page in 1..=11 {
            cache.access(page);
        }
        // Page 1 left the small queue unread, into the ghost.
        assert!(!cache.contains(1));
        cache.access(1);
        assert_eq!(cache.main.back().map(|&slot| cache.slots[slot].page), Some(1));
        assert_ne!(cache.small.back().map(|&slot| cache.slots[slot].page), Some(1));
    }

    proptest::proptest! {
        /// Whatever the trace: never more pages than the capacity; the
        /// queues and the entries agree; an evicted page is gone.
        #[test]
        fn the_queues_stay_consistent(
            capacity in 1usize..20,
            trace in proptest::collection::vec(0u64..40, 0..400),
        ) {
            let mut cache: S3Fifo<()> = S3Fifo::new(capacity);
            for page in trace {
                let before = cache.contains(page);
                match cache.access(page) {
                    Access::Hit => proptest::prop_assert!(before),
                    Access::Miss { evicted } => {
                        proptest::prop_assert!(!before);
                        if let Some(old) = evicted {
                            proptest::prop_assert!(!cache.contains(old) && old != page);
                        }
                    }
                }
                proptest::prop_assert!(cache.contains(page));
                proptest::prop_assert!(cache.len() <= capacity);
                proptest::prop_assert_eq!(cache.small.len() + cache.main.len(), cache.len());
            }
        }
    }
}
