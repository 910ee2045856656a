//! A page cache (a *buffer pool*, in a database's words): the pages read
//! most recently or most often, kept in memory so that the next read of
//! them costs no I/O.
//!
//! The cache holds the pages; an eviction [`Policy`] decides which page
//! goes when a new one needs room. Two are written here, from scratch:
//!
//! - [`Lru`]: evict the least recently used page. O(1) per access, simple,
//!   and good when recent means likely; but one pass over a big table
//!   (a sequential scan) fills it with pages read once, and flushes out
//!   every page that was hot.
//! - [`S3Fifo`]: three FIFO queues (Yang et al., SOSP 2023). New pages go
//!   to a small queue; only those read again while there move on to the
//!   main queue. A scan's pages are read once, so they pass through the
//!   small queue and out, and the hot pages in the main queue stay.

pub mod lru;
pub mod s3fifo;
pub mod store;
mod table;

pub use lru::Lru;
pub use s3fifo::S3Fifo;
pub use store::{CachedStore, Counters};

/// A page's number in its file.
pub type PageId = u64;

/// What an access found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// The page was in the cache.
    Hit,
    /// It was not; it is now, and `evicted` made room for it.
    Miss {
        /// The page that left, if the cache was full.
        evicted: Option<PageId>,
    },
}

// ANCHOR: policy
/// An eviction policy, holding the cached values in its own slots, so that
/// a hit costs one hash lookup: the page's slot, then the value by index.
/// It decides which page leaves when a new one needs room.
pub trait Policy<V> {
    /// Its name, for tables.
    fn name(&self) -> &'static str;
    /// Whether `page` is cached, without counting as a read.
    fn contains(&self, page: PageId) -> bool;
    /// A read of `page`: its slot if it is cached (the read counts, as the
    /// policy counts reads), `None` if not.
    fn lookup(&mut self, page: PageId) -> Option<usize>;
    /// `page`'s slot if it is cached, without counting as a read.
    fn slot(&self, page: PageId) -> Option<usize>;
    /// The value in `slot`, as `lookup` or `insert` returned it.
    fn value(&self, slot: usize) -> &V;
    /// Replaces the value in `slot`: the page was written.
    fn replace(&mut self, slot: usize, value: V);
    /// Caches `value` as `page`, which is not cached; returns its slot,
    /// and the page evicted to make room, if the cache was full.
    fn insert(&mut self, page: PageId, value: V) -> (usize, Option<PageId>);
    /// Pages cached now.
    fn len(&self) -> usize;
    /// Whether none are.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Pages it may hold.
    fn capacity(&self) -> usize;
    /// Forgets every page.
    fn clear(&mut self);

    /// A read that admits the page on a miss: for traces, where no value
    /// is loaded.
    fn access(&mut self, page: PageId) -> Access
    where
        V: Default,
    {
        if self.lookup(page).is_some() {
            return Access::Hit;
        }
        let (_, evicted) = self.insert(page, V::default());
        Access::Miss { evicted }
    }
}
// ANCHOR_END: policy

/// Hits, misses and evictions, for `INFO` and the measurements.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Reads served from memory.
    pub hits: u64,
    /// Reads that had to load the page.
    pub misses: u64,
    /// Pages evicted to make room.
    pub evictions: u64,
}

impl CacheStats {
    /// Hits over all reads (0 before the first).
    pub fn hit_ratio(&self) -> f64 {
        let reads = self.hits + self.misses;
        if reads == 0 { 0.0 } else { self.hits as f64 / reads as f64 }
    }
}

// ANCHOR: page_cache
/// Pages in memory, under an eviction policy that holds them. `V` is how
/// a page is held: bytes, or lesson 4's shared page buffers.
pub struct PageCache<V, P: Policy<V>> {
    policy: P,
    stats: CacheStats,
    _values: std::marker::PhantomData<V>,
}

impl<V, P: Policy<V>> PageCache<V, P> {
    /// An empty cache under `policy`.
    pub fn new(policy: P) -> Self {
        Self { policy, stats: CacheStats::default(), _values: std::marker::PhantomData }
    }

    /// Page `page`: from memory if cached, else from `load`, which is
    /// then cached. A failed load changes nothing.
    pub fn get<E>(
        &mut self,
        page: PageId,
        load: impl FnOnce(PageId) -> Result<V, E>,
    ) -> Result<&V, E> {
        if let Some(slot) = self.policy.lookup(page) {
            self.stats.hits += 1;
            return Ok(self.policy.value(slot));
        }
        let value = load(page)?;
        self.stats.misses += 1;
        let slot = self.admit(page, value);
        Ok(self.policy.value(slot))
    }

    /// Caches `value` as page `page`'s new contents: a write, which the
    /// next read should find in memory. A write is not a read: it does not
    /// make a page look popular to the policy.
    pub fn put(&mut self, page: PageId, value: V) {
        match self.policy.slot(page) {
            Some(slot) => self.policy.replace(slot, value),
            None => {
                self.admit(page, value);
            }
        }
    }

    fn admit(&mut self, page: PageId, value: V) -> usize {
        let (slot, evicted) = self.policy.insert(page, value);
        if evicted.is_some() {
            self.stats.evictions += 1;
        }
        slot
    }

    /// Forgets every page (the counters stay).
    pub fn clear(&mut self) {
        self.policy.clear();
    }

    /// Whether `page` is in memory.
    pub fn contains(&self, page: PageId) -> bool {
        self.policy.contains(page)
    }

    /// The counters.
    pub fn stats(&self) -> CacheStats {
        self.stats
    }

    /// The policy's name.
    pub fn policy_name(&self) -> &'static str {
        self.policy.name()
    }

    /// Pages cached now, and at most.
    pub fn occupancy(&self) -> (usize, usize) {
        (self.policy.len(), self.policy.capacity())
    }
}
// ANCHOR_END: page_cache

/// Runs `trace` through `policy`; returns the hit ratio.
pub fn hit_ratio<P: Policy<()> + ?Sized>(policy: &mut P, trace: &[PageId]) -> f64 {
    let hits = trace.iter().filter(|&&page| policy.access(page) == Access::Hit).count();
    hits as f64 / trace.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_loaded_once_then_served_from_memory() {
        let mut cache = PageCache::new(Lru::new(2));
        let mut loads = Vec::new();
        let mut read = |cache: &mut PageCache<Vec<u8>, Lru<Vec<u8>>>, page: PageId| -> Vec<u8> {
            cache
                .get(page, |p| {
                    loads.push(p);
                    Ok::<_, ()>(vec![p as u8; 4])
                })
                .unwrap()
                .clone()
        };
        assert_eq!(read(&mut cache, 1), [1; 4]);
        assert_eq!(read(&mut cache, 1), [1; 4]);
        read(&mut cache, 2);
        read(&mut cache, 3); // evicts 1
        assert_eq!(read(&mut cache, 1), [1; 4]);
        assert_eq!(loads, [1, 2, 3, 1]);
        let stats = cache.stats();
        assert_eq!((stats.hits, stats.misses, stats.evictions), (1, 4, 2));
        assert!((stats.hit_ratio() - 0.2).abs() < 1e-9);
    }

    #[test]
    fn hit_ratio_counts_the_reads_served_from_memory() {
        // LRU of 2: 1 2 miss, 1 hit, 3 miss (evicts 2), 2 miss, 3 hit.
        let ratio = hit_ratio(&mut Lru::new(2), &[1, 2, 1, 3, 2, 3]);
        assert!((ratio - 2.0 / 6.0).abs() < 1e-9, "{ratio}");
    }

    #[test]
    fn a_failed_load_changes_nothing() {
        let mut cache: PageCache<Vec<u8>, S3Fifo<Vec<u8>>> = PageCache::new(S3Fifo::new(4));
        assert_eq!(cache.get(7, |_| Err("disk on fire")), Err("disk on fire"));
        assert!(!cache.contains(7));
        assert_eq!(cache.stats(), CacheStats::default());
        assert_eq!(cache.get(7, |_| Ok::<_, &str>(vec![7])).cloned(), Ok(vec![7]));
        // A write replaces the cached copy; clearing forgets it.
        cache.put(7, vec![8]);
        assert_eq!(cache.get(7, |_| Err("not read again")).cloned(), Ok(vec![8]));
        cache.clear();
        assert!(!cache.contains(7));
    }
}
