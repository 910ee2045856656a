//! Lesson 1's conformance suite on the B+tree, in a file with close and
//! reopen among the random operations, and in memory.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use lesson01_intro::testkit::Suite;
use lesson04_indexing::btree::{BTree, FileStore, Options};

mod on_disk {
    use super::*;

    type Tree = BTree<FileStore>;

    /// 4 KiB pages: the suite's 256-byte keys need them (a key may take an
    /// eighth of a page). A small cache, so that reads go to the file.
    fn options() -> Options {
        Options { page_size: 4096, cache_pages: 8 }
    }

    // ANCHOR: suite
    fn suite() -> Suite<Tree> {
        let root = Arc::new(tempfile::tempdir().expect("temp dir"));
        let next = AtomicUsize::new(0);
        Suite::new(move || {
            let dir = root.path().join(next.fetch_add(1, Ordering::Relaxed).to_string());
            BTree::open(dir, options()).expect("tree opens").0
        })
        .with_reopen(|tree| {
            let dir = tree.path().parent().expect("a data directory").to_path_buf();
            drop(tree); // close: releases the lock; every commit is already durable
            BTree::open(dir, options()).expect("tree reopens").0
        })
        .with_cases(64)
    }

    lesson01_intro::conformance_tests!(suite());
    // ANCHOR_END: suite
}

mod in_memory {
    use super::*;
    use lesson04_indexing::btree::MemStore;

    fn suite() -> Suite<BTree<MemStore>> {
        Suite::new(|| BTree::in_memory(4096))
            .with_reopen(|tree| BTree::from_store(tree.into_store(), 4096).expect("reopens").0)
            .with_cases(128)
    }

    lesson01_intro::conformance_tests!(suite());
}
