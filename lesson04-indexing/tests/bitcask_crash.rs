//! Bitcask's crash safety, proven one operation and one byte at a time.
//!
//! - A crash at any file operation of a merge, or after any byte it
//!   writes, leaves the old set of segments or the new one, each complete,
//!   and the same logical state: a merge never changes what the store holds.
//! - Under `sync_every_write`, an acknowledged write survives a power cut
//!   after any byte; the first failed write may or may not; nothing else.
//! - Any damaged byte, in a segment or a hint file, is reported as corrupt
//!   (at open, or at the get that reads it), cut as a torn tail of the active
//!   segment, or makes open distrust the hint: never a wrong value.

use std::collections::BTreeMap;
use std::path::Path;

use lesson01_intro::KeyRange;
use lesson03_persistence::fs::{Faults, FaultyFs, FileSystem, RealFs};
use lesson03_persistence::record;
use lesson04_indexing::Error;
use lesson04_indexing::bitcask::segment::{data_name, hint_name};
use lesson04_indexing::bitcask::{Bitcask, BitcaskOptions};

type State = BTreeMap<Vec<u8>, Vec<u8>>;

fn options(sync_every_write: bool) -> BitcaskOptions {
    BitcaskOptions { max_segment_bytes: 128, sync_every_write }
}

/// A write of the test scripts.
#[derive(Debug, Clone)]
enum Write {
    Set(Vec<u8>, Vec<u8>),
    Delete(Vec<u8>),
}

/// Sets, overwrites and deletes over a few keys: every write leaves a
/// record, and several segments fill up.
fn script(n: usize) -> Vec<Write> {
    (0..n)
        .map(|i| match i % 5 {
            3 => Write::Delete(format!("key{}", (i * 7) % 10).into_bytes()),
            _ => {
                Write::Set(format!("key{}", i % 10).into_bytes(), format!("value-{i}").into_bytes())
            }
        })
        .collect()
}

/// Applies `write` to the store and the model; `false` if the store refused.
fn apply<F: FileSystem>(store: &mut Bitcask<F>, model: &mut State, write: &Write) -> bool {
    match write {
        Write::Set(k, v) => {
            let ok = store.set(k.clone(), v.clone()).is_ok();
            if ok {
                model.insert(k.clone(), v.clone());
            }
            ok
        }
        Write::Delete(k) => {
            let ok = store.delete(k).is_ok();
            if ok {
                model.remove(k);
            }
            ok
        }
    }
}

fn state<F: FileSystem>(store: &Bitcask<F>) -> State {
    store.scan(&KeyRange::all()).expect("scan").into_iter().collect()
}

/// The store's files, without the lock.
fn files(dir: &Path) -> Vec<String> {
    RealFs.list(dir).unwrap().into_iter().filter(|n| n != "LOCK").collect()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for name in files(from) {
        std::fs::copy(from.join(&name), to.join(&name)).unwrap();
    }
}

/// A closed store with several segments, overwrites and deletes; its state.
fn build(dir: &Path, writes: usize) -> State {
    let (mut store, _) = Bitcask::open(dir, options(false)).unwrap();
    let mut model = State::new();
    for write in script(writes) {
        assert!(apply(&mut store, &mut model, &write));
    }
    assert!(store.stats().segments >= 4, "{}", store.stats());
    assert_eq!(state(&store), model);
    model
}

/// Runs a merge of a copy of `template` with `faults` set once the store is
/// open (`at` maps the counters to the faults); power cut; reopens. Returns
/// whether the merge succeeded, and the state and files after the reopen.
fn crash_a_merge(
    template: &Path,
    dir: &Path,
    fault: impl FnOnce(&mut Faults),
) -> (bool, State, Vec<String>, Option<String>) {
    copy_dir(template, dir);
    let fs = FaultyFs::default();
    let (mut store, _) = Bitcask::open_with(dir, options(false), fs.clone()).unwrap();
    fs.set(fault);
    let merged = store.merge().is_ok();
    fs.power_cut();
    drop(store);
    let (store, report) = Bitcask::open(dir, options(false))
        .unwrap_or_else(|e| panic!("reopen after a crashed merge: {e}"));
    (merged, state(&store), files(dir), report.merge)
}

/// The files of the template once merged: the new set.
fn merged_files(template: &Path, dir: &Path) -> (Vec<String>, u64, u64) {
    copy_dir(template, dir);
    let fs = FaultyFs::default();
    let (mut store, _) = Bitcask::open_with(dir, options(false), fs.clone()).unwrap();
    let (ops, bytes) = (fs.faults().ops, fs.faults().bytes_written);
    store.merge().unwrap();
    let counts = (fs.faults().ops - ops, fs.faults().bytes_written - bytes);
    drop(store);
    drop(Bitcask::open(dir, options(false)).unwrap());
    (files(dir), counts.0, counts.1)
}

#[test]
fn bitcask_merge_crash_before_any_operation_leaves_the_old_or_the_new_segments() {
    let tmp = tempfile::tempdir().unwrap();
    let template = tmp.path().join("template");
    let want = build(&template, 40);
    let old = files(&template);
    let (new, ops, _) = merged_files(&template, &tmp.path().join("merged"));
    let hints = new.iter().filter(|n| n.ends_with(".hint")).count();
    assert!(hints >= 2 && old != new, "the merge writes several segments: {old:?} {new:?}");
    assert!(ops >= 10, "a merge is at least 10 operations, counted {ops}");

    let mut committed = false;
    for n in 0..=ops {
        let dir = tmp.path().join(format!("op{n}"));
        let (merged, got, after, rolled) =
            crash_a_merge(&template, &dir, |f| f.crash_before_op = Some(f.ops + n));
        assert_eq!(merged, n == ops, "crash before operation {n} of {ops}");
        assert_eq!(got, want, "crash before operation {n}: the state changed");
        if after == new {
            committed = true;
        } else {
            assert_eq!(after, old, "crash before operation {n}: neither the old nor the new set");
            assert!(!committed, "crash before operation {n}: old files after a committed merge");
        }
        if rolled.is_some_and(|r| r.contains("rolled forward")) {
            assert_eq!(after, new, "a roll-forward gives the new set");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
    assert!(committed);
}

#[test]
fn bitcask_merge_crash_after_any_byte_leaves_the_old_or_the_new_segments() {
    let tmp = tempfile::tempdir().unwrap();
    let template = tmp.path().join("template");
    let want = build(&template, 25);
    let old = files(&template);
    let (new, _, bytes) = merged_files(&template, &tmp.path().join("merged"));
    assert!(bytes > 100, "the merge wrote {bytes} bytes");
    for b in 0..=bytes {
        let dir = tmp.path().join(format!("byte{b}"));
        let (merged, got, after, _) =
            crash_a_merge(&template, &dir, |f| f.crash_after_bytes = Some(f.bytes_written + b));
        assert_eq!(merged, b == bytes, "crash after byte {b} of {bytes}");
        assert_eq!(got, want, "crash after byte {b}: the state changed");
        // Every byte is written before the commit, so only a merge that wrote
        // them all can have committed.
        let expected = if merged { &new } else { &old };
        assert_eq!(&after, expected, "crash after byte {b} of {bytes}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn bitcask_sync_every_write_keeps_every_acknowledged_write_through_a_power_cut() {
    let tmp = tempfile::tempdir().unwrap();
    let script = script(16);
    // The states after each write, and how many bytes the script writes.
    let mut history = vec![State::new()];
    let fs = FaultyFs::default();
    let (mut store, _) =
        Bitcask::open_with(tmp.path().join("count"), options(true), fs.clone()).expect("open");
    let mut model = State::new();
    for write in &script {
        assert!(apply(&mut store, &mut model, write));
        history.push(model.clone());
    }
    let total = fs.faults().bytes_written;
    assert!(store.stats().segments >= 3, "rollovers happen: {}", store.stats());
    drop(store);

    for b in 0..=total {
        let dir = tmp.path().join(format!("crash{b}"));
        let fs = FaultyFs::new(Faults { crash_after_bytes: Some(b), ..Faults::default() });
        let (mut store, _) = Bitcask::open_with(&dir, options(true), fs.clone()).unwrap();
        let mut model = State::new();
        let acknowledged = script.iter().take_while(|w| apply(&mut store, &mut model, w)).count();
        assert_eq!(acknowledged == script.len(), b == total, "crash after byte {b}");
        fs.power_cut();
        drop(store);
        let (store, _) = Bitcask::open(&dir, options(true)).unwrap();
        let got = state(&store);
        let with_the_failed_one = history.get(acknowledged + 1);
        assert!(
            got == history[acknowledged] || Some(&got) == with_the_failed_one,
            "crash after byte {b}: {acknowledged} writes acknowledged, state {got:?}"
        );
        drop(store);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn bitcask_without_sync_a_power_cut_loses_acknowledged_writes() {
    // The test above can fail: without fsyncs, acknowledged writes vanish.
    let tmp = tempfile::tempdir().unwrap();
    let fs = FaultyFs::default();
    let (mut store, _) = Bitcask::open_with(tmp.path(), options(false), fs.clone()).unwrap();
    let mut model = State::new();
    for write in script(3) {
        assert!(apply(&mut store, &mut model, &write));
    }
    fs.power_cut();
    drop(store);
    let (store, _) = Bitcask::open(tmp.path(), options(false)).unwrap();
    assert_eq!(state(&store), State::new(), "3 unsynced writes, all lost");
}

/// Where each record of a segment file starts, and where the last one ends.
fn record_starts(bytes: &[u8]) -> Vec<usize> {
    let mut starts = vec![0];
    while let Ok((_, len)) = record::decode(&bytes[*starts.last().unwrap()..]) {
        starts.push(starts.last().unwrap() + len);
    }
    assert_eq!(*starts.last().unwrap(), bytes.len(), "a clean segment");
    starts
}

/// The record that byte `at` belongs to: its start.
fn record_of(starts: &[usize], at: usize) -> usize {
    starts[starts.iter().rposition(|&s| s <= at).unwrap()]
}

/// A store with merged, hinted segments, then sealed segments written since,
/// then the active one; the state, and the state before the last write.
fn layered(dir: &Path) -> (State, State, Vec<u32>) {
    let (mut store, _) = Bitcask::open(dir, options(false)).unwrap();
    let mut model = State::new();
    for write in script(20) {
        assert!(apply(&mut store, &mut model, &write));
    }
    store.merge().unwrap();
    let mut before_last = model.clone();
    for (i, write) in script(12).iter().enumerate() {
        before_last = model.clone();
        // Other keys than before, so that every merged record stays live.
        let write = match write {
            Write::Set(k, v) => Write::Set([b"new", &k[..]].concat(), v.clone()),
            Write::Delete(k) => Write::Delete([b"new", &k[..]].concat()),
        };
        assert!(apply(&mut store, &mut model, &write), "write {i}");
    }
    let ids = store.segment_ids();
    (model, before_last, ids)
}

const FLIPS: [u8; 2] = [0x01, 0x80];

#[test]
fn bitcask_any_damaged_byte_is_reported_cut_or_distrusted_never_a_wrong_value() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (want, before_last, ids) = layered(dir);
    let hinted: Vec<u32> =
        ids.iter().copied().filter(|&id| dir.join(hint_name(id)).exists()).collect();
    let (&active, sealed) = ids.split_last().unwrap();
    let scanned =
        *sealed.iter().rfind(|id| !hinted.contains(id)).expect("a sealed, unhinted segment");
    let merged = hinted[0];
    assert!(!hinted.is_empty() && !hinted.contains(&active), "{ids:?}, hinted {hinted:?}");

    // 1. A value in a merged segment: its hint is valid, so open does not
    //    read it; the get that reads it must say Corrupt, the others answer.
    let path = dir.join(data_name(merged));
    let original = std::fs::read(&path).unwrap();
    let starts = record_starts(&original);
    for (at, flip) in (0..original.len()).flat_map(|at| FLIPS.map(|f| (at, f))) {
        let mut damaged = original.clone();
        damaged[at] ^= flip;
        std::fs::write(&path, &damaged).unwrap();
        let (store, report) = Bitcask::open(dir, options(false)).unwrap();
        assert_eq!(report.from_hints, hinted.len(), "the hint is trusted, not the values");
        let damaged_record = record_of(&starts, at) as u64;
        let mut corrupt = 0;
        for (key, value) in &want {
            match store.get(key) {
                Ok(got) => assert_eq!(got.as_ref(), Some(value), "flip {flip:#x} at byte {at}"),
                Err(Error::Corrupt { path: p, offset, .. }) => {
                    assert_eq!((p, offset), (path.clone(), damaged_record), "byte {at}");
                    corrupt += 1;
                }
                Err(e) => panic!("flip {flip:#x} at byte {at}: {e}"),
            }
        }
        assert_eq!(corrupt, 1, "flip {flip:#x} at byte {at} of a live record went unnoticed");
    }
    std::fs::write(&path, &original).unwrap();

    // 2. A sealed segment without a hint: open reads it, and any damage in
    //    it is corruption, named by file and record.
    let path = dir.join(data_name(scanned));
    let original = std::fs::read(&path).unwrap();
    let starts = record_starts(&original);
    for (at, flip) in (0..original.len()).flat_map(|at| FLIPS.map(|f| (at, f))) {
        let mut damaged = original.clone();
        damaged[at] ^= flip;
        std::fs::write(&path, &damaged).unwrap();
        match Bitcask::open(dir, options(false)) {
            Err(Error::Corrupt { path: p, offset, .. }) => {
                assert_eq!((p, offset), (path.clone(), record_of(&starts, at) as u64), "byte {at}");
            }
            Err(e) => panic!("flip {flip:#x} at byte {at}: {e}"),
            Ok(_) => panic!("flip {flip:#x} at byte {at} of a sealed segment was accepted"),
        }
    }
    std::fs::write(&path, &original).unwrap();

    // 3. The active segment: damage in its last record is a torn tail (cut,
    //    and the state is the one before the last write); earlier, corruption.
    let path = dir.join(data_name(active));
    let original = std::fs::read(&path).unwrap();
    let starts = record_starts(&original);
    let last = starts[starts.len() - 2];
    for (at, flip) in (0..original.len()).flat_map(|at| FLIPS.map(|f| (at, f))) {
        let mut damaged = original.clone();
        damaged[at] ^= flip;
        std::fs::write(&path, &damaged).unwrap();
        match Bitcask::open(dir, options(false)) {
            Ok((store, report)) => {
                assert!(at >= last, "flip {flip:#x} at byte {at}, before the last record");
                assert_eq!(report.torn_bytes, (original.len() - last) as u64);
                assert_eq!(state(&store), before_last, "flip {flip:#x} at byte {at}");
            }
            Err(Error::Corrupt { path: p, offset, .. }) => {
                assert!(at < last, "flip {flip:#x} at byte {at} of the last record is torn");
                assert_eq!((p, offset), (path.clone(), record_of(&starts, at) as u64));
            }
            Err(e) => panic!("flip {flip:#x} at byte {at}: {e}"),
        }
        std::fs::write(&path, &original).unwrap();
    }

    // 4. A hint file: rejected, its segment scanned instead, same state.
    let path = dir.join(hint_name(merged));
    let original = std::fs::read(&path).unwrap();
    for (at, flip) in (0..original.len()).flat_map(|at| FLIPS.map(|f| (at, f))) {
        let mut damaged = original.clone();
        damaged[at] ^= flip;
        std::fs::write(&path, &damaged).unwrap();
        let (store, report) = Bitcask::open(dir, options(false))
            .unwrap_or_else(|e| panic!("flip {flip:#x} at byte {at} of a hint: {e}"));
        assert_eq!(report.hints_rejected.len(), 1, "flip {flip:#x} at byte {at}: {report}");
        assert_eq!(report.from_hints, hinted.len() - 1);
        assert_eq!(state(&store), want, "flip {flip:#x} at byte {at} of a hint");
    }
    std::fs::write(&path, &original).unwrap();
    let (store, _) = Bitcask::open(dir, options(false)).unwrap();
    assert_eq!(state(&store), want, "the undamaged files still open");
}
