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

// hashbrown's default hasher (foldhash) is several times faster than
// std's SipHash on integer keys, and a page number needs no DoS defence.
use hashbrown::HashMap;

use super::{Access, PageId, Policy};

#[derive(Debug, Clone, Copy)]
struct Entry {
    /// Reads since admission or the last pass of the eviction hand, at
    /// most 3.
    freq: u8,
}

// ANCHOR: s3fifo
/// Evicts with three FIFO queues: small, main and ghost.
#[derive(Debug, Clone)]
pub struct S3Fifo {
    capacity: usize,
    /// The small queue's share of the capacity.
    small_target: usize,
    small: VecDeque<PageId>,
    main: VecDeque<PageId>,
    entries: HashMap<PageId, Entry>,
    /// Pages recently evicted from the small queue, with the sequence
    /// number they were remembered at (a page may be forgotten and
    /// remembered again).
    ghost: VecDeque<(PageId, u64)>,
    ghost_index: HashMap<PageId, u64>,
    remembered: u64,
}
// ANCHOR_END: s3fifo

impl S3Fifo {
    /// An S3-FIFO cache of `capacity` pages (at least 1), a tenth of them
    /// for the small queue.
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            capacity,
            small_target: (capacity / 10).max(1),
            small: VecDeque::new(),
            main: VecDeque::new(),
            entries: HashMap::with_capacity(capacity),
            ghost: VecDeque::new(),
            ghost_index: HashMap::new(),
            remembered: 0,
        }
    }

    /// Remembers an evicted page's number; the ghost holds as many as the
    /// main queue does pages.
    fn remember(&mut self, page: PageId) {
        self.remembered += 1;
        self.ghost.push_back((page, self.remembered));
        self.ghost_index.insert(page, self.remembered);
        while self.ghost.len() > self.capacity {
            let (old, when) = self.ghost.pop_front().expect("longer than the capacity");
            if self.ghost_index.get(&old) == Some(&when) {
                self.ghost_index.remove(&old);
            }
        }
    }

    // ANCHOR: evict
    /// Makes room for one page; returns the page that left.
    fn evict(&mut self) -> PageId {
        loop {
            if self.small.len() >= self.small_target || self.main.is_empty() {
                let page = self.small.pop_front().expect("a full cache has pages");
                let entry = self.entries.get_mut(&page).expect("queued pages have entries");
                if entry.freq > 0 {
                    // Read again while in the small queue: it earns a place
                    // in the main queue.
                    entry.freq = 0;
                    self.main.push_back(page);
                    continue;
                }
                self.entries.remove(&page);
                self.remember(page);
                return page;
            }
            let page = self.main.pop_front().expect("checked above");
            let entry = self.entries.get_mut(&page).expect("queued pages have entries");
            if entry.freq > 0 {
                // Read since the hand last passed: once more round.
                entry.freq -= 1;
                self.main.push_back(page);
                continue;
            }
            self.entries.remove(&page);
            return page;
        }
    }
    // ANCHOR_END: evict
}

impl Policy for S3Fifo {
    fn name(&self) -> &'static str {
        "S3-FIFO"
    }

    fn contains(&self, page: PageId) -> bool {
        self.entries.contains_key(&page)
    }

    fn access(&mut self, page: PageId) -> Access {
        if let Some(entry) = self.entries.get_mut(&page) {
            // A hit moves nothing: only a counter changes. This is why
            // FIFO policies take no lock on a hit in a concurrent cache.
            entry.freq = (entry.freq + 1).min(3);
            return Access::Hit;
        }
        let evicted = (self.entries.len() >= self.capacity).then(|| self.evict());
        if self.ghost_index.remove(&page).is_some() {
            // Evicted from the small queue, and wanted again soon after:
            // it was not a one-hit wonder after all.
            self.main.push_back(page);
        } else {
            self.small.push_back(page);
        }
        self.entries.insert(page, Entry { freq: 0 });
        Access::Miss { evicted }
    }

    fn len(&self) -> usize {
        self.entries.len()
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

    #[test]
    fn a_page_read_once_leaves_before_a_page_read_twice() {
        let mut cache = S3Fifo::new(10); // a small queue of 1
        cache.access(1);
        cache.access(1); // read again while small: goes to main when pushed out
        cache.access(2); // pushes 1 to main
        assert!(cache.contains(1) && cache.contains(2));
        for page in 3..=11 {
            cache.access(page);
        }
        // 2..=10 came and went through the small queue; 1 is in main.
        assert!(cache.contains(1), "the page read twice stays");
        assert_eq!(cache.len(), 10);
    }

    #[test]
    fn a_page_missed_while_in_the_ghost_goes_straight_to_main() {
        let mut cache = S3Fifo::new(10);
        cache.access(1);
        cache.access(2); // 1 leaves the small queue unread: to the ghost
        assert!(!cache.contains(1) || cache.len() <= 10);
        for page in 3..=12 {
            cache.access(page);
        }
        assert!(!cache.contains(1));
        cache.access(1);
        assert_eq!(cache.main.back(), Some(&1));
    }

    proptest::proptest! {
        /// Whatever the trace: never more pages than the capacity; the
        /// queues and the entries agree; an evicted page is gone.
        #[test]
        fn the_queues_stay_consistent(
            capacity in 1usize..20,
            trace in proptest::collection::vec(0u64..40, 0..400),
        ) {
            let mut cache = S3Fifo::new(capacity);
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
