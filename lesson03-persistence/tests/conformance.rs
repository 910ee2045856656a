//! Lesson 1's conformance suite on the durable store, with "close and
//! reopen" among the random operations: after every reopen, the store read
//! back from disk must equal the model.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use lesson01_intro::testkit::Suite;
use lesson02_kv::ManualClock;
use lesson03_persistence::fs::RealFs;
use lesson03_persistence::{DurableStore, FsyncPolicy, Options};

type Store = DurableStore<RealFs, ManualClock>;

/// Never fsync: these tests check what a store reads back after a clean
/// close, which fsync does not change (the crash tests check what it does).
fn options() -> Options {
    Options { fsync: FsyncPolicy::Never, auto_compact_min_bytes: 4096, ..Options::default() }
}

fn open(dir: &std::path::Path) -> Store {
    DurableStore::open_with(dir, options(), RealFs, ManualClock::default()).expect("store opens").0
}

// ANCHOR: suite
/// Each store gets a fresh directory under one temporary directory, which
/// lives as long as the suite's closures.
fn suite() -> Suite<Store> {
    let root = Arc::new(tempfile::tempdir().expect("temp dir"));
    let next = AtomicUsize::new(0);
    Suite::new(move || open(&root.path().join(next.fetch_add(1, Ordering::Relaxed).to_string())))
        .with_reopen(|store| {
            let dir = store.dir().to_path_buf();
            drop(store); // close: releases the lock, flushes the log
            open(&dir)
        })
        .with_cases(128)
}

lesson01_intro::conformance_tests!(suite());
// ANCHOR_END: suite
