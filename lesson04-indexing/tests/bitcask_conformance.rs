//! Lesson 1's conformance suite, run on Bitcask three ways: with reopens
//! and 256-byte segments (so rollovers happen every few writes); with a
//! merge before every reopen (so the model test also reads merged segments
//! and opens them from hint files); and with an fsync on every write.

use lesson01_intro::testkit::Suite;
use lesson01_intro::{KeyRange, KeyValue, KvStore};
use lesson04_indexing::bitcask::{Bitcask, BitcaskOptions};
use tempfile::TempDir;

/// A store and the temporary directory it lives in, which must outlive it.
struct InTempDir {
    store: Bitcask,
    dir: TempDir,
}

fn options(sync_every_write: bool) -> BitcaskOptions {
    BitcaskOptions { max_segment_bytes: 256, sync_every_write }
}

fn fresh(sync_every_write: bool) -> InTempDir {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (store, _) = Bitcask::open(dir.path(), options(sync_every_write)).expect("open");
    InTempDir { store, dir }
}

fn reopen(s: InTempDir, merge_first: bool) -> InTempDir {
    let InTempDir { mut store, dir } = s;
    let options = store.options();
    if merge_first {
        let report = store.merge().expect("merge");
        assert_eq!(report.after.stale_bytes, 0, "a merge leaves no stale bytes: {report}");
    }
    drop(store);
    let (store, report) = Bitcask::open(dir.path(), options).expect("reopen");
    if merge_first {
        assert_eq!(report.scanned, 1, "only the new active segment is scanned: {report}");
        assert_eq!(report.from_hints + 1, report.segments, "{report}");
    }
    InTempDir { store, dir }
}

impl KvStore for InTempDir {
    type Error = lesson04_indexing::Error;

    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, Self::Error> {
        self.store.get(key)
    }
    fn set(&mut self, key: Vec<u8>, value: Vec<u8>) -> Result<(), Self::Error> {
        self.store.set(key, value)
    }
    fn delete(&mut self, key: &[u8]) -> Result<bool, Self::Error> {
        self.store.delete(key)
    }
    fn scan(&mut self, range: KeyRange) -> Result<Vec<KeyValue>, Self::Error> {
        self.store.scan(&range)
    }
    fn len(&mut self) -> Result<usize, Self::Error> {
        KvStore::len(&mut self.store)
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        self.store.sync()
    }
}

mod bitcask_reopen {
    use super::*;
    lesson01_intro::conformance_tests!(
        Suite::new(|| fresh(false)).with_reopen(|s| reopen(s, false))
    );
}

mod bitcask_merge_and_reopen {
    use super::*;
    lesson01_intro::conformance_tests!(
        Suite::new(|| fresh(false)).with_reopen(|s| reopen(s, true))
    );
}

mod bitcask_sync_every_write {
    use super::*;
    lesson01_intro::conformance_tests!(
        Suite::new(|| fresh(true)).with_reopen(|s| reopen(s, true)).with_cases(32)
    );
}
