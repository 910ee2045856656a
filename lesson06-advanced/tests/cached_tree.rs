//! Lesson 4's B+tree over the page cache: still a correct store (lesson
//! 1's conformance suite, in a file, with reopens), and what a scan does
//! to each policy, through the real tree.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use lesson01_intro::KeyRange;
use lesson01_intro::testkit::Suite;
use lesson03_persistence::fs::RealFs;
use lesson04_indexing::btree::store::PageBuf;
use lesson04_indexing::btree::{BTree, Batch, FileStore, PageStore};
use lesson06_advanced::cache::{CachedStore, Lru, Policy, S3Fifo};
use lesson06_advanced::trace;

type Tree<P> = BTree<CachedStore<FileStore, P>>;

/// A tree in `path`, its file store's own cache off, ours in front.
fn open<P: Policy<PageBuf>>(path: &std::path::Path, policy: P) -> Tree<P> {
    let file = FileStore::open(&RealFs, path, 4096, 0).expect("the file opens");
    BTree::from_store(CachedStore::new(file, policy), 4096).expect("the tree opens").0
}

mod conformance {
    use super::*;

    fn suite() -> Suite<Tree<S3Fifo<PageBuf>>> {
        let root = Arc::new(tempfile::tempdir().expect("temp dir"));
        let next = AtomicUsize::new(0);
        Suite::new(move || {
            let path = root.path().join(format!("{}.db", next.fetch_add(1, Ordering::Relaxed)));
            // Eight pages: reads go to the file often.
            open(&path, S3Fifo::new(8))
        })
        .with_reopen(|tree| {
            let path = tree.store_path().to_path_buf();
            drop(tree);
            open(&path, S3Fifo::new(8))
        })
        .with_cases(64)
    }

    lesson01_intro::conformance_tests!(suite());
}

/// What a full scan of 20,000 keys does to a warm cache: the share of the
/// pages cached before it that are still cached after it, and the page
/// hit ratio of the 100 lookups just before it and just after it.
fn around_a_scan<P: Policy<PageBuf>>(policy: P) -> (f64, f64, f64) {
    let dir = tempfile::tempdir().unwrap();
    let mut tree = open(&dir.path().join("tree.db"), policy);
    let key = |i: u64| format!("key:{i:08}").into_bytes();
    // In batches: one commit (one fsync) per thousand keys.
    for chunk in (0..20_000u64).collect::<Vec<_>>().chunks(1000) {
        let mut batch = Batch::new();
        for &i in chunk {
            batch.put(key(i), vec![b'v'; 100]);
        }
        tree.write(&batch).unwrap();
    }
    // The popular keys are neighbours (ranked, not shuffled), so the
    // popular leaves are few, as with the newest rows of a table.
    let lookups = trace::zipfian_ranked(20_000, 0.99, 30_200, 11);
    let (warm, rest) = lookups.split_at(30_000);
    let (before, after) = rest.split_at(100);
    let window = |tree: &mut Tree<P>, keys: &[u64]| {
        let start = tree.store().stats();
        for &i in keys {
            assert!(tree.get(&key(i)).unwrap().is_some());
        }
        let end = tree.store().stats();
        let hits = (end.hits - start.hits) as f64;
        hits / (end.hits + end.misses - start.hits - start.misses) as f64
    };
    window(&mut tree, warm);
    let before = window(&mut tree, before);
    let pages = tree.store().page_count().unwrap();
    let hot: Vec<u32> = (2..pages).filter(|&p| tree.store().cached(p)).collect();
    assert_eq!(tree.scan(&KeyRange::all()).unwrap().len(), 20_000);
    let kept = hot.iter().filter(|&&p| tree.store().cached(p)).count();
    let kept = kept as f64 / hot.len() as f64;
    (kept, before, window(&mut tree, after))
}

#[test]
fn a_scan_through_the_tree_flushes_lru_and_not_s3_fifo() {
    // 20,000 keys with 100-byte values fill 1,176 leaves and 13 inner
    // pages; the cache holds 60 pages, 5% of them. The run is seeded and the tree
    // deterministic: the same numbers every time.
    let (lru_kept, lru_before, lru_after) = around_a_scan(Lru::new(60));
    let (s3_kept, s3_before, s3_after) = around_a_scan(S3Fifo::new(60));
    let pct = |x: f64| format!("{:.0}%", x * 100.0);
    let table = format!(
        "B+tree of 20,000 keys, cache of 60 pages   LRU   S3-FIFO\n\
         pages cached before a scan, still after     {:>4}   {:>6}\n\
         page hit ratio, 100 lookups before it       {:>4}   {:>6}\n\
         page hit ratio, 100 lookups after it        {:>4}   {:>6}\n",
        pct(lru_kept),
        pct(s3_kept),
        pct(lru_before),
        pct(s3_before),
        pct(lru_after),
        pct(s3_after),
    );
    println!("{table}");
    insta::assert_snapshot!(table);
    assert!(lru_kept < 0.2, "the scan pushed LRU's pages out");
    // All but some of the small queue's pages, which a scan rightly
    // pushes on, and a few from main that the scan's remembered pages
    // (straight from the ghost to main) pushed out.
    assert!(s3_kept > 0.7, "S3-FIFO kept its main queue's pages");
    assert!(s3_after >= lru_after);
}
