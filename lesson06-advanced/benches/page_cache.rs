//! What a cache hit costs, against two uncached reads of the same page:
//!
//! - from lesson 4's file store with its cache off, the file in the OS's
//!   page cache (no disk I/O): a `pread` of 4 KiB into a new buffer and a
//!   CRC-32 check, what a cache hit saves;
//! - from lesson 4's in-memory store: a bounds check and a reference-count
//!   increment, the floor no cache can go below.
//!
//! The issue's goal: a hit at most 1.2× an uncached in-memory read.
//!
//! ```console
//! $ cargo bench -p lesson06-advanced --bench page_cache
//! ```

// criterion's macros generate functions that cannot carry doc comments.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use lesson03_persistence::fs::RealFs;
use lesson04_indexing::btree::store::PageBuf;
use lesson04_indexing::btree::{BTree, Batch, FileStore, MemStore, Options, PageStore};
use lesson06_advanced::cache::{CachedStore, Lru, Policy, S3Fifo};

/// A real tree's file: 20,000 keys with 150-byte values, about 1,000
/// pages, every one a valid page (lesson 4's file store checks each read).
fn tree_file(dir: &std::path::Path) -> (std::path::PathBuf, u32) {
    let (mut tree, _) = BTree::open(dir, Options { page_size: 4096, cache_pages: 0 }).unwrap();
    let mut batch = Batch::new();
    for i in 0..20_000u32 {
        batch.put(format!("key:{i:08}").into_bytes(), vec![b'v'; 150]);
    }
    tree.write(&batch).unwrap();
    let path = tree.store_path().to_path_buf();
    let pages = tree.into_store().page_count().unwrap();
    (path, pages)
}

/// The same pages in memory.
fn in_memory(file: &mut FileStore) -> MemStore {
    let mut store = MemStore::new();
    for id in 2..file.page_count().unwrap() {
        store.write(id, file.read(id).unwrap()).unwrap();
    }
    store
}

/// Reads pages 2.. in a fixed shuffled order: every read a hit once warm.
fn order(pages: u32) -> Vec<u32> {
    let mut rng = lesson05_replication::rng::Rng::new(1);
    let mut ids: Vec<u32> = (2..pages).collect();
    for i in (1..ids.len()).rev() {
        ids.swap(i, rng.below(i as u64 + 1) as usize);
    }
    ids
}

fn read_all(store: &mut impl PageStore, ids: &[u32]) {
    for &id in ids {
        black_box(store.read(black_box(id)).unwrap());
    }
}

fn cached<P: Policy<PageBuf>>(store: MemStore, policy: P, ids: &[u32]) -> CachedStore<MemStore, P> {
    let mut store = CachedStore::new(store, policy);
    read_all(&mut store, ids);
    store
}

fn hit_cost(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let (path, pages) = tree_file(dir.path());
    let ids = order(pages);
    let mut group = c.benchmark_group("page_read");
    group.measurement_time(Duration::from_secs(3));
    let mut file = FileStore::open(&RealFs, &path, 4096, 0).unwrap();
    read_all(&mut file, &ids); // into the OS's page cache
    group.bench_function("uncached, from the file (OS cache)", |b| {
        b.iter(|| read_all(&mut file, &ids));
    });
    let mut plain = in_memory(&mut file);
    group.bench_function("uncached, in memory (MemStore)", |b| {
        b.iter(|| read_all(&mut plain, &ids));
    });
    let mut lru = cached(in_memory(&mut file), Lru::new(pages as usize), &ids);
    group.bench_function("cache hit, LRU", |b| b.iter(|| read_all(&mut lru, &ids)));
    let mut s3 = cached(in_memory(&mut file), S3Fifo::new(pages as usize), &ids);
    group.bench_function("cache hit, S3-FIFO", |b| b.iter(|| read_all(&mut s3, &ids)));
    assert_eq!(lru.stats().misses, u64::from(pages - 2), "every timed read was a hit");
    group.finish();
}

criterion_group!(benches, hit_cost);
criterion_main!(benches);
