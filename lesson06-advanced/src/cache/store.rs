//! The page cache between lesson 4's B+tree and its file: a `PageStore`
//! that wraps another (a `FileStore` with its own cache turned off) and
//! keeps pages under an eviction policy.

use std::path::Path;

use lesson03_persistence::fs::FileSystem;
use lesson04_indexing::btree::store::PageBuf;
use lesson04_indexing::btree::{FileStore, MemStore, PageStore};
use lesson04_indexing::error::Result;

use super::{CacheStats, PageCache, PageId, Policy};

// ANCHOR: cached_store
/// Lesson 4's page store, with a page cache in front. Reads go through the
/// cache; writes go through to the store and leave their page cached (the
/// B+tree writes a page just before it reads it again). The meta pages, 0
/// and 1, bypass the cache, as they do in lesson 4.
pub struct CachedStore<S: PageStore, P: Policy<PageBuf>> {
    inner: S,
    cache: PageCache<PageBuf, P>,
}
// ANCHOR_END: cached_store

impl<S: PageStore, P: Policy<PageBuf>> CachedStore<S, P> {
    /// `inner`, cached under `policy`.
    pub fn new(inner: S, policy: P) -> Self {
        Self { inner, cache: PageCache::new(policy) }
    }

    /// Hits, misses and evictions so far.
    pub fn stats(&self) -> CacheStats {
        self.cache.stats()
    }

    /// Whether page `id` is in the cache now.
    pub fn cached(&self, id: u32) -> bool {
        self.cache.contains(PageId::from(id))
    }

    /// The policy's name.
    pub fn policy_name(&self) -> &'static str {
        self.cache.policy_name()
    }
}

/// What a page store has to say in `INFO`: a cache's counters, or nothing.
pub trait Counters {
    /// Named values.
    fn counters(&self) -> Vec<(String, String)> {
        Vec::new()
    }
}

impl Counters for MemStore {}

impl<F: FileSystem> Counters for FileStore<F> {}

impl<S: PageStore, P: Policy<PageBuf>> Counters for CachedStore<S, P> {
    fn counters(&self) -> Vec<(String, String)> {
        let stats = self.stats();
        let (pages, capacity) = self.cache.occupancy();
        [
            ("cache_policy", self.policy_name().to_string()),
            ("cache_pages", pages.to_string()),
            ("cache_capacity", capacity.to_string()),
            ("cache_hits", stats.hits.to_string()),
            ("cache_misses", stats.misses.to_string()),
            ("cache_evictions", stats.evictions.to_string()),
            ("cache_hit_ratio", format!("{:.3}", stats.hit_ratio())),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_string(), value))
        .collect()
    }
}

impl<S: PageStore, P: Policy<PageBuf>> PageStore for CachedStore<S, P> {
    fn path(&self) -> &Path {
        self.inner.path()
    }

    fn page_count(&self) -> Result<u32> {
        self.inner.page_count()
    }

    fn read_meta(&mut self, id: u32) -> Result<Option<Vec<u8>>> {
        self.inner.read_meta(id)
    }

    fn read(&mut self, id: u32) -> Result<PageBuf> {
        let inner = &mut self.inner;
        self.cache.get(PageId::from(id), |_| inner.read(id)).cloned()
    }

    fn write(&mut self, id: u32, page: PageBuf) -> Result<()> {
        if let Err(e) = self.inner.write(id, page.clone()) {
            // The file may now hold half of the new page: no cached copy
            // of it may be trusted. Rare enough to forget them all.
            self.cache.clear();
            return Err(e);
        }
        if id > 1 {
            self.cache.put(PageId::from(id), page);
        }
        Ok(())
    }

    fn sync(&mut self) -> Result<()> {
        self.inner.sync()
    }

    fn truncate(&mut self, pages: u32) -> Result<()> {
        // Rare (the file shrinks when its tail pages are free): forgetting
        // the whole cache is simpler than finding the pages past the end.
        self.cache.clear();
        self.inner.truncate(pages)
    }
}
