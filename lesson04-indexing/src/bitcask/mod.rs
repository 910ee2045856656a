//! Bitcask: a hash index in memory over a log on disk.
//!
//! This follows *Bitcask: A Log-Structured Hash Table for Fast Key/Value
//! Data* (Sheehy and Smith, Basho, 2010), the storage engine Riak shipped
//! with. Lesson 3 logged every change but kept every value in memory too;
//! Bitcask keeps the values only in the log, and in memory only where each
//! key's latest value is:
//!
//! ```text
//!          memory                                disk (the data directory)
//!   ┌────────────────────────────┐
//!   │ keydir                     │     0000000001.data  sealed, written by a merge
//!   │  "apple" → seg 1, @0,   30 │───► [apple=red][pear=green]    + 0000000001.hint
//!   │  "pear"  → seg 2, @29,  30 │─┐
//!   │  "plum"  → seg 2, @59,  30 │┐└─► 0000000002.data  active
//!   └────────────────────────────┘└──► [kiwi=⌫][pear=ripe][plum=blue]  ◄── appends
//! ```
//!
//! - **set** appends a lesson 3 record (`Put`) to the active segment,
//!   fsyncs it (with [`BitcaskOptions::sync_every_write`]) and points the
//!   key at it. **delete** appends a `Delete` record, a *tombstone*, so
//!   that a reopened store knows the older value is gone.
//! - **get** looks the key up in the keydir and reads its record with one
//!   positioned read: the disk does one seek per get, however big the data.
//!   The record's checksum and key are checked on every read.
//! - **scan** must sort: a hash table has no key order ([`KeyDir::sorted_keys`]),
//!   then it is one read per key. The B+tree ([`crate::btree`]) has no such cost.
//! - The active segment is sealed at [`BitcaskOptions::max_segment_bytes`]
//!   and a new one started; old values and tombstones pile up in sealed
//!   segments until a **merge** ([`merge`]) rewrites only the live records
//!   and writes a **hint file** ([`hint`]) next to each new segment.
//! - **open** ([`recovery`]) rebuilds the keydir: from the hint file where
//!   there is a valid one, else by reading the segment through lesson 3's
//!   [`scan`](lesson03_persistence::log::scan) and its torn-tail rule.
//!
//! The price is memory: every key lives in the keydir, with about 60 bytes
//! of overhead (86 bytes for a 24-byte key, measured: see [`keydir`]). The reward is one disk read per
//! get and writes that are pure appends.
//!
//! NB: Riak's Bitcask merges in the background while writes go on, and lets
//! many readers share the files; ours merges with `&mut self`, which keeps
//! the crash reasoning in one place (see [`merge`]).

pub mod hint;
pub mod keydir;
pub mod merge;
pub mod recovery;
pub mod segment;

use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};

use lesson01_intro::{KeyRange, KeyValue, KvStore};
use lesson03_persistence::fs::{FileSystem, RealFs};
use lesson03_persistence::record::{self, LogRecord};

pub use keydir::{KeyDir, Location};
pub use merge::MergeReport;
pub use recovery::OpenReport;
pub use segment::Segment;

use crate::error::{Error, Result};
use crate::session::Engine;

/// The largest key, in bytes. Keys live in memory, in the keydir and in
/// hint files, so they are kept far smaller than values.
pub const MAX_KEY_BYTES: usize = 64 << 10;

/// The largest key and value together, in bytes: what fits in one lesson 3
/// record, less room for the record's own fields.
pub const MAX_ENTRY_BYTES: usize = record::MAX_PAYLOAD as usize - 64;

/// How a [`Bitcask`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BitcaskOptions {
    /// The active segment is sealed, and a new one started, before a write
    /// that would take it past this many bytes (a record bigger than this
    /// gets a segment of its own).
    pub max_segment_bytes: u64,
    /// fsync every set and delete before it returns: an acknowledged write
    /// survives a power cut. Without it, writes are durable from the next
    /// [`KvStore::flush`] or segment rollover on.
    pub sync_every_write: bool,
}

impl Default for BitcaskOptions {
    fn default() -> Self {
        Self { max_segment_bytes: 64 << 20, sync_every_write: true }
    }
}

/// Bitcask: the keydir in memory, the segments on disk.
pub struct Bitcask<F: FileSystem = RealFs> {
    dir: PathBuf,
    fs: F,
    options: BitcaskOptions,
    keydir: KeyDir,
    /// Every segment but the active one, by id.
    sealed: BTreeMap<u32, Segment<F>>,
    /// The segment appends go to: the one with the highest id.
    active: Segment<F>,
    /// Why writes are refused, after a failed write, fsync or merge.
    poisoned: Option<String>,
    /// The directory lock, held as long as the store is open.
    _lock: File,
}

impl Bitcask<RealFs> {
    /// Opens (or creates) the store in `dir` on the real file system.
    pub fn open(dir: impl AsRef<Path>, options: BitcaskOptions) -> Result<(Self, OpenReport)> {
        Self::open_with(dir, options, RealFs)
    }
}

impl<F: FileSystem> Bitcask<F> {
    /// Opens (or creates) the store in `dir` through `fs`: lock the
    /// directory, finish or discard an interrupted merge, rebuild the keydir
    /// from hint files and segments. See [`recovery`].
    pub fn open_with(
        dir: impl AsRef<Path>,
        options: BitcaskOptions,
        fs: F,
    ) -> Result<(Self, OpenReport)> {
        recovery::open(dir.as_ref(), options, fs)
    }

    // ANCHOR: get
    /// Returns the value of `key`: one keydir lookup, one positioned read.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let Some(location) = self.keydir.get(key) else { return Ok(None) };
        self.segment(location.segment).read_value(key, location).map(Some)
    }
    // ANCHOR_END: get

    /// Stores `value` under `key`.
    pub fn set(&mut self, key: Vec<u8>, value: Vec<u8>) -> Result<()> {
        check_size(&key, &value)?;
        // The keydir gets a copy of the key: one small allocation, next to
        // an fsync, and of exactly the key's size (the caller's vector may
        // have spare capacity, which would stay in memory with the key).
        let copy = key.clone();
        let location = self.append(&LogRecord::Put { key, value, expires_at: None })?;
        self.keydir.insert(copy, location);
        Ok(())
    }

    /// Removes `key`, by appending a tombstone. Returns whether it was there;
    /// deleting a missing key writes nothing.
    pub fn delete(&mut self, key: &[u8]) -> Result<bool> {
        if self.keydir.get(key).is_none() {
            return Ok(false);
        }
        self.append(&LogRecord::Delete { key: key.to_vec() })?;
        self.keydir.remove(key);
        Ok(true)
    }

    /// Every pair whose key is in `range`, in key order: collect the
    /// matching keys, sort them, read each value.
    pub fn scan(&self, range: &KeyRange) -> Result<Vec<KeyValue>> {
        let keys = self.keydir.sorted_keys(|key| range.contains(key));
        let mut pairs = Vec::with_capacity(keys.len());
        for key in keys {
            let location = self.keydir.get(&key).expect("the key was just listed");
            let value = self.segment(location.segment).read_value(&key, location)?;
            pairs.push((key, value));
        }
        Ok(pairs)
    }

    /// Makes every write so far durable.
    pub fn sync(&mut self) -> Result<()> {
        self.active.sync().inspect_err(|e| self.poison(format!("fsync failed: {e}")))
    }

    // ANCHOR: append
    /// Appends one record to the active segment, sealing it first if the
    /// record would take it past the size limit; fsyncs if the options say
    /// so. Any failure poisons the store: a write that failed part-way may
    /// have left a torn record, and one whose fsync failed may or may not be
    /// on disk (the kernel may have dropped the dirty pages), so nothing more
    /// may be appended after it. Reopening cuts the torn tail.
    fn append(&mut self, record: &LogRecord) -> Result<Location> {
        self.check_writable()?;
        let mut framed = Vec::new();
        record::encode(record, &mut framed);
        let result = self.append_framed(&framed);
        result.inspect_err(|e| self.poison(format!("a write failed: {e}")))
    }

    fn append_framed(&mut self, framed: &[u8]) -> Result<Location> {
        let len = self.active.len;
        if len > 0 && len + framed.len() as u64 > self.options.max_segment_bytes {
            self.roll_over()?;
        }
        let location = self.active.append(framed)?;
        if self.options.sync_every_write {
            self.active.sync()?;
        }
        Ok(location)
    }
    // ANCHOR_END: append

    /// Seals the active segment (fsynced: a sealed segment is complete on
    /// disk) and starts the next one, making its name durable too.
    fn roll_over(&mut self) -> Result<()> {
        self.active.sync()?;
        let next = Segment::create(&self.fs, &self.dir, self.active.id + 1)?;
        let sealed = std::mem::replace(&mut self.active, next);
        self.sealed.insert(sealed.id, sealed);
        Ok(())
    }

    /// The open segment with this id. The keydir points only at open
    /// segments, so a missing one is a bug, not a disk error.
    fn segment(&self, id: u32) -> &Segment<F> {
        if id == self.active.id {
            return &self.active;
        }
        self.sealed.get(&id).expect("the keydir points only at open segments")
    }

    fn check_writable(&self) -> Result<()> {
        match &self.poisoned {
            Some(why) => Err(Error::Poisoned(why.clone())),
            None => Ok(()),
        }
    }

    fn poison(&mut self, why: String) {
        self.poisoned.get_or_insert(why);
    }

    /// Why writes are refused, if they are.
    pub fn poisoned(&self) -> Option<&str> {
        self.poisoned.as_deref()
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The options the store was opened with.
    pub fn options(&self) -> BitcaskOptions {
        self.options
    }

    /// The keydir, for inspection.
    pub fn keydir(&self) -> &KeyDir {
        &self.keydir
    }

    /// The ids of the segments, oldest first (the last is the active one).
    pub fn segment_ids(&self) -> Vec<u32> {
        self.sealed.keys().copied().chain([self.active.id]).collect()
    }

    /// `DEBUG KEYDIR`: every key in order, with its segment, offset and
    /// record length.
    pub fn keydir_view(&self) -> String {
        self.keydir.view()
    }

    /// Numbers for `INFO`.
    pub fn stats(&self) -> Stats {
        let total: u64 = self.sealed.values().map(|s| s.len).sum::<u64>() + self.active.len;
        let live = self.keydir.live_bytes();
        Stats {
            segments: self.sealed.len() + 1,
            keys: self.keydir.len(),
            live_bytes: live,
            stale_bytes: total - live,
            keydir_bytes: self.keydir.estimated_bytes(),
        }
    }
}

/// Refuses keys and values over the limits, before anything is written.
fn check_size(key: &[u8], value: &[u8]) -> Result<()> {
    if key.len() > MAX_KEY_BYTES {
        return Err(Error::TooLarge { what: "a key", size: key.len(), limit: MAX_KEY_BYTES });
    }
    let size = key.len() + value.len();
    if size > MAX_ENTRY_BYTES {
        return Err(Error::TooLarge { what: "a key and value", size, limit: MAX_ENTRY_BYTES });
    }
    Ok(())
}

/// The store's numbers, as `INFO` shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    /// Segment files, the active one included.
    pub segments: usize,
    /// Live keys.
    pub keys: usize,
    /// Bytes of the records the keydir points at.
    pub live_bytes: u64,
    /// Bytes of everything else in the segments: overwritten values and
    /// tombstones, which a merge reclaims.
    pub stale_bytes: u64,
    /// The keydir's estimated memory (see [`KeyDir::bytes_per_key`]).
    pub keydir_bytes: u64,
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "segments:{}", self.segments)?;
        writeln!(f, "keys:{}", self.keys)?;
        writeln!(f, "live_bytes:{}", self.live_bytes)?;
        writeln!(f, "stale_bytes:{}", self.stale_bytes)?;
        write!(f, "keydir_bytes:{}", self.keydir_bytes)
    }
}

impl<F: FileSystem> Engine for Bitcask<F> {
    fn name(&self) -> &'static str {
        "bitcask"
    }

    fn info(&mut self) -> Result<Vec<(String, String)>> {
        let stats = self.stats();
        let per_key = if stats.keys == 0 { 0 } else { stats.keydir_bytes / stats.keys as u64 };
        Ok(vec![
            (
                "segments".into(),
                format!("{} ({} sealed, 1 active)", stats.segments, stats.segments - 1),
            ),
            ("max_segment_bytes".into(), self.options.max_segment_bytes.to_string()),
            ("keys".into(), stats.keys.to_string()),
            ("live_bytes".into(), stats.live_bytes.to_string()),
            ("stale_bytes".into(), stats.stale_bytes.to_string()),
            ("keydir_bytes".into(), format!("{} (about {per_key} per key)", stats.keydir_bytes)),
        ])
    }

    fn debug_view(&mut self, view: &[u8]) -> Option<Result<String>> {
        (view == b"KEYDIR").then(|| Ok(self.keydir_view()))
    }

    fn merge(&mut self) -> Option<Result<String>> {
        Some(Bitcask::merge(self).map(|report| report.to_string()))
    }
}

// ANCHOR: kvstore
impl<F: FileSystem> KvStore for Bitcask<F> {
    type Error = Error;

    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Bitcask::get(self, key)
    }

    fn set(&mut self, key: Vec<u8>, value: Vec<u8>) -> Result<()> {
        Bitcask::set(self, key, value)
    }

    fn delete(&mut self, key: &[u8]) -> Result<bool> {
        Bitcask::delete(self, key)
    }

    fn scan(&mut self, range: KeyRange) -> Result<Vec<KeyValue>> {
        Bitcask::scan(self, &range)
    }

    fn len(&mut self) -> Result<usize> {
        Ok(self.keydir.len())
    }

    fn flush(&mut self) -> Result<()> {
        self.sync()
    }
}
// ANCHOR_END: kvstore

#[cfg(test)]
mod tests {
    use super::*;
    use lesson03_persistence::fs::FaultyFs;

    fn options(max_segment_bytes: u64) -> BitcaskOptions {
        BitcaskOptions { max_segment_bytes, sync_every_write: false }
    }

    fn framed_len(key: &[u8], value: &[u8]) -> u64 {
        let mut out = Vec::new();
        record::encode(
            &LogRecord::Put { key: key.into(), value: value.into(), expires_at: None },
            &mut out,
        );
        out.len() as u64
    }

    #[test]
    fn the_active_segment_rolls_over_at_the_size_limit() {
        let tmp = tempfile::tempdir().unwrap();
        let one = framed_len(b"k0", b"value");
        // Room for exactly three records per segment.
        let (mut store, _) = Bitcask::open(tmp.path(), options(3 * one)).unwrap();
        for i in 0..3 {
            store.set(format!("k{i}").into_bytes(), b"value".to_vec()).unwrap();
        }
        assert_eq!(store.segment_ids(), [1], "three records fit");
        store.set(b"k3".to_vec(), b"value".to_vec()).unwrap();
        assert_eq!(store.segment_ids(), [1, 2], "the fourth starts segment 2");
        assert_eq!(
            store.keydir().get(b"k3"),
            Some(Location { segment: 2, offset: 0, len: one as u32 })
        );
        // A record bigger than the limit gets a segment of its own.
        store.set(b"big".to_vec(), vec![7; 4 * one as usize]).unwrap();
        store.set(b"after".to_vec(), b"v".to_vec()).unwrap();
        assert_eq!(store.segment_ids(), [1, 2, 3, 4]);
        assert_eq!(store.get(b"big").unwrap(), Some(vec![7; 4 * one as usize]));
        assert_eq!(
            std::fs::metadata(tmp.path().join(segment::data_name(1))).unwrap().len(),
            3 * one
        );
    }

    #[test]
    fn a_merge_reclaims_stale_bytes_and_keeps_the_state() {
        let tmp = tempfile::tempdir().unwrap();
        let (mut store, _) = Bitcask::open(tmp.path(), options(200)).unwrap();
        for round in 0..5 {
            for i in 0..10 {
                store
                    .set(format!("key{i}").into_bytes(), format!("round {round}").into_bytes())
                    .unwrap();
            }
        }
        for i in 0..5 {
            store.delete(format!("key{i}").as_bytes()).unwrap();
        }
        let want = store.scan(&KeyRange::all()).unwrap();
        let before = store.stats();
        assert_eq!(before.keys, 5);
        assert!(before.stale_bytes > 4 * before.live_bytes, "{before}");
        let report = store.merge().unwrap();
        assert_eq!(report.before, before);
        assert_eq!(report.after.stale_bytes, 0, "tombstones and old values are gone: {report}");
        assert_eq!(report.after.live_bytes, before.live_bytes);
        assert!(report.after.segments < before.segments, "{report}");
        assert_eq!(store.scan(&KeyRange::all()).unwrap(), want);
        let on_disk: u64 = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "data"))
            .map(|p| std::fs::metadata(p).unwrap().len())
            .sum();
        assert_eq!(on_disk, before.live_bytes, "the files hold only the live records");
        // And the store goes on: writes after a merge, and a reopen.
        store.set(b"key0".to_vec(), b"back".to_vec()).unwrap();
        drop(store);
        let (store, report) = Bitcask::open(tmp.path(), options(200)).unwrap();
        assert_eq!(store.get(b"key0").unwrap(), Some(b"back".to_vec()), "{report}");
        assert_eq!(store.keydir().len(), 6);
    }

    #[test]
    fn oversized_keys_and_values_are_refused_before_anything_is_written() {
        let tmp = tempfile::tempdir().unwrap();
        let (mut store, _) = Bitcask::open(tmp.path(), options(1 << 20)).unwrap();
        let err = store.set(vec![0; MAX_KEY_BYTES + 1], Vec::new()).unwrap_err();
        assert!(matches!(err, Error::TooLarge { what: "a key", .. }), "{err}");
        let err = store.set(b"k".to_vec(), vec![0; MAX_ENTRY_BYTES]).unwrap_err();
        assert!(matches!(err, Error::TooLarge { what: "a key and value", .. }), "{err}");
        assert_eq!(store.stats().live_bytes + store.stats().stale_bytes, 0, "nothing written");
        assert_eq!(store.poisoned(), None, "a refused write does not stop the store");
        store.set(b"k".to_vec(), b"fine".to_vec()).unwrap();
    }

    #[test]
    fn a_failed_fsync_poisons_the_store_until_it_is_reopened() {
        let tmp = tempfile::tempdir().unwrap();
        let fs = FaultyFs::default();
        let sync = BitcaskOptions { max_segment_bytes: 1 << 20, sync_every_write: true };
        let (mut store, _) = Bitcask::open_with(tmp.path(), sync, fs.clone()).unwrap();
        store.set(b"a".to_vec(), b"1".to_vec()).unwrap();
        fs.set(|f| f.fail_sync = true);
        assert!(matches!(
            store.set(b"b".to_vec(), b"2".to_vec()),
            Err(Error::Io { op: "fsync", .. })
        ));
        fs.set(|f| f.fail_sync = false);
        let err = store.delete(b"a").unwrap_err();
        assert!(matches!(&err, Error::Poisoned(why) if why.contains("fsync")), "{err}");
        assert!(matches!(store.merge(), Err(Error::Poisoned(_))));
        assert_eq!(store.get(b"a").unwrap(), Some(b"1".to_vec()), "reads still work");
        drop(store);
        let (mut store, _) = Bitcask::open(tmp.path(), sync).unwrap();
        store.set(b"c".to_vec(), b"3".to_vec()).expect("a reopened store takes writes");
    }

    #[test]
    fn a_second_open_of_the_directory_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let (_store, _) = Bitcask::open(tmp.path(), options(1024)).unwrap();
        let second = Bitcask::open(tmp.path(), options(1024));
        assert!(matches!(second, Err(Error::Durable(lesson03_persistence::Error::Locked { .. }))));
    }

    #[test]
    fn the_keydir_view_and_stats_show_where_each_key_lives() {
        let tmp = tempfile::tempdir().unwrap();
        let (mut store, _) = Bitcask::open(tmp.path(), options(64)).unwrap();
        store.set(b"pear".to_vec(), b"green".to_vec()).unwrap();
        store.set(b"apple".to_vec(), b"red".to_vec()).unwrap();
        store.set(b"pear".to_vec(), b"ripe".to_vec()).unwrap();
        store.set(b"plum".to_vec(), b"blue".to_vec()).unwrap();
        store.delete(b"apple").unwrap();
        let view = store.keydir_view();
        let keys: Vec<&str> = view.lines().map(|l| l.split_whitespace().next().unwrap()).collect();
        assert_eq!(keys, ["\"pear\"", "\"plum\""], "{view}");
        let pear = store.keydir().get(b"pear").unwrap();
        assert!(view.lines().next().unwrap().contains(&format!("offset {:>6}", pear.offset)));
        let stats = store.stats();
        assert_eq!((stats.keys, stats.segments), (2, store.segment_ids().len()));
        assert_eq!(stats.live_bytes, framed_len(b"pear", b"ripe") + framed_len(b"plum", b"blue"));
        assert!(stats.to_string().contains("keys:2\n"), "{stats}");
    }
}
