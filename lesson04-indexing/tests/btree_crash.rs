//! The B+tree survives crashes and refuses damage, proven write by write
//! and byte by byte.
//!
//! - A crash before any operation of a commit, or after any byte written
//!   (a torn page), then a power cut: reopening gives exactly the last
//!   acknowledged commit, and every invariant holds (no page leaks).
//! - Without the power cut (the unsynced writes happen to reach the disk),
//!   reopening gives the last acknowledged commit or the one in flight.
//! - Any single damaged byte of the file is reported as corruption, or is
//!   harmless (a free page, the older meta slot), or (the newest meta page)
//!   falls back to the previous commit, whole. Never a wrong value.

use std::collections::BTreeMap;
use std::path::Path;

use lesson01_intro::KeyRange;
use lesson03_persistence::fs::{Faults, FaultyFs, FileSystem, RealFs};
use lesson04_indexing::Error;
use lesson04_indexing::btree::{BTree, Batch, FileStore, Options, TREE_FILE};

const PAGE: usize = 128;

type State = Vec<(Vec<u8>, Vec<u8>)>;

fn options() -> Options {
    Options { page_size: PAGE, cache_pages: 0 }
}

/// Commits that grow a tree of a few levels, then change it: overwrites,
/// deletes that merge nodes, and a value big enough for overflow pages.
fn batches() -> Vec<Batch> {
    let mut out = Vec::new();
    for round in 0..6u32 {
        let mut batch = Batch::new();
        for i in 0..8u32 {
            batch.put(format!("key{:02}", (i * 5 + round * 3) % 40), format!("r{round}v{i}"));
        }
        out.push(batch);
    }
    let mut batch = Batch::new();
    batch.put("big", vec![b'x'; 300]).delete("key03").delete("key06").delete("key09");
    out.push(batch);
    let mut batch = Batch::new();
    for i in (0..40u32).step_by(2) {
        batch.delete(format!("key{i:02}"));
    }
    out.push(batch);
    let mut batch = Batch::new();
    batch.put("big", b"small now".to_vec()).put("key01", "one");
    out.push(batch);
    out
}

fn open<F: FileSystem>(fs: F, dir: &Path) -> Result<BTree<FileStore<F>>, Error> {
    BTree::open_with(fs, dir, options()).map(|(tree, _)| tree)
}

fn state<F: FileSystem>(tree: &mut BTree<FileStore<F>>) -> Result<State, Error> {
    tree.scan(&KeyRange::all())
}

/// The state after each commit; index 0 is the empty tree.
fn history(batches: &[Batch]) -> Vec<State> {
    let mut model = BTreeMap::new();
    let mut out = vec![Vec::new()];
    for batch in batches {
        for write in &batch.writes {
            match write {
                lesson04_indexing::btree::Write::Put(k, v) => model.insert(k.clone(), v.clone()),
                lesson04_indexing::btree::Write::Delete(k) => model.remove(k),
            };
        }
        out.push(model.iter().map(|(k, v)| (k.clone(), v.clone())).collect());
    }
    out
}

/// Runs the batches from `first` on, through `fs`, until one fails; returns
/// how many were acknowledged.
fn run_until_crash<F: FileSystem>(fs: F, dir: &Path, batches: &[Batch]) -> usize {
    let Ok(mut tree) = open(fs, dir) else { return 0 };
    batches.iter().take_while(|batch| tree.write(batch).is_ok()).count()
}

/// A directory holding the tree after the first `n` batches, on the real disk.
fn prepared(root: &Path, name: &str, batches: &[Batch], n: usize) -> std::path::PathBuf {
    let dir = root.join(name);
    let mut tree = open(RealFs, &dir).unwrap();
    for batch in &batches[..n] {
        tree.write(batch).unwrap();
    }
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    std::fs::copy(from.join(TREE_FILE), to.join(TREE_FILE)).unwrap();
}

/// Reopens on the real disk; checks the invariants; returns the state.
fn reopen_and_check(dir: &Path, what: &str) -> State {
    let mut tree = open(RealFs, dir).unwrap_or_else(|e| panic!("{what}: does not reopen: {e}"));
    tree.check().unwrap_or_else(|e| panic!("{what}: {e}"));
    state(&mut tree).unwrap_or_else(|e| panic!("{what}: {e}"))
}

// ANCHOR: every_op
#[test]
fn a_crash_before_any_operation_loses_only_the_unacknowledged_commit() {
    let tmp = tempfile::tempdir().unwrap();
    let batches = batches();
    let history = history(&batches);
    let done = 4; // commits made before the crashing run
    let base = prepared(tmp.path(), "base", &batches, done);
    for crash_before in 0.. {
        for power_cut in [true, false] {
            let dir = tmp.path().join(format!("op{crash_before}-{power_cut}"));
            copy_dir(&base, &dir);
            let fs =
                FaultyFs::new(Faults { crash_before_op: Some(crash_before), ..Faults::default() });
            let acked = done + run_until_crash(fs.clone(), &dir, &batches[done..]);
            if power_cut {
                fs.power_cut();
            }
            let what = format!("crash before op {crash_before}, power cut {power_cut}");
            let got = reopen_and_check(&dir, &what);
            if power_cut || acked == batches.len() {
                assert_eq!(got, history[acked], "{what}");
            } else {
                // The meta page may have reached the disk before the fsync
                // that would have acknowledged it.
                assert!(got == history[acked] || got == history[acked + 1], "{what}");
            }
            std::fs::remove_dir_all(&dir).unwrap();
        }
        // Stop once a run gets through every batch without crashing.
        let dir = tmp.path().join("probe");
        copy_dir(&base, &dir);
        let fs = FaultyFs::new(Faults { crash_before_op: Some(crash_before), ..Faults::default() });
        let finished = run_until_crash(fs.clone(), &dir, &batches[done..]) == batches.len() - done;
        std::fs::remove_dir_all(&dir).unwrap();
        if finished && !fs.faults().crashed {
            break;
        }
        assert!(crash_before < 1000, "the batches never ran out of operations");
    }
}
// ANCHOR_END: every_op

#[test]
fn a_torn_page_write_at_any_byte_loses_only_the_unacknowledged_commit() {
    let tmp = tempfile::tempdir().unwrap();
    let batches = batches();
    let history = history(&batches);
    let done = 6;
    let crashing = &batches[done..done + 1];
    let base = prepared(tmp.path(), "base", &batches, done);
    // How many bytes the commit writes in all.
    let fs = FaultyFs::default();
    copy_dir(&base, &tmp.path().join("measure"));
    assert_eq!(run_until_crash(fs.clone(), &tmp.path().join("measure"), crashing), 1);
    let total = fs.faults().bytes_written;
    assert!(total >= 4 * PAGE as u64, "the commit writes pages: {total} bytes");
    for crash_after in 0..total {
        let dir = tmp.path().join(format!("byte{crash_after}"));
        copy_dir(&base, &dir);
        let fs =
            FaultyFs::new(Faults { crash_after_bytes: Some(crash_after), ..Faults::default() });
        let acked = done + run_until_crash(fs.clone(), &dir, crashing);
        assert!(fs.faults().crashed, "crash after {crash_after} bytes did not happen");
        fs.power_cut();
        let got = reopen_and_check(&dir, &format!("crash after byte {crash_after}"));
        assert_eq!(got, history[acked], "crash after byte {crash_after}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn without_fsync_ordering_a_power_cut_would_lose_commits() {
    // The test above is worth something only if a power cut can hurt: here
    // every commit's writes are dropped, so only the base state survives.
    let tmp = tempfile::tempdir().unwrap();
    let batches = batches();
    let history = history(&batches);
    let base = prepared(tmp.path(), "base", &batches, 3);
    let fs = FaultyFs::new(Faults { fail_sync: true, ..Faults::default() });
    let acked = run_until_crash(fs.clone(), &base, &batches[3..]);
    assert_eq!(acked, 0, "a commit whose fsync fails is not acknowledged");
    fs.power_cut();
    assert_eq!(reopen_and_check(&base, "after failed fsyncs"), history[3]);
}

#[test]
fn after_a_failed_commit_the_tree_refuses_writes_until_reopened() {
    let tmp = tempfile::tempdir().unwrap();
    let fs = FaultyFs::default();
    let mut tree = open(fs.clone(), &tmp.path().join("t")).unwrap();
    tree.write(Batch::new().put("a", "1")).unwrap();
    fs.set(|f| f.fail_sync = true);
    assert!(matches!(tree.write(Batch::new().put("b", "2")), Err(Error::Io { .. })));
    fs.set(|f| f.fail_sync = false);
    assert!(matches!(tree.write(Batch::new().put("c", "3")), Err(Error::Poisoned(_))));
    assert_eq!(tree.get(b"a").unwrap(), Some(b"1".to_vec()), "reads still work");
}

// ANCHOR: every_flip
#[test]
fn any_damaged_byte_is_reported_or_harmless_never_a_wrong_value() {
    let tmp = tempfile::tempdir().unwrap();
    let batches = batches();
    let history = history(&batches);
    let base = prepared(tmp.path(), "base", &batches, batches.len());
    let file = std::fs::read(base.join(TREE_FILE)).unwrap();
    let (newest_slot, page_use) = {
        let mut tree = open(RealFs, &base).unwrap();
        ((tree.meta().seq % 2) as usize, tree.check().unwrap().page_use)
    };
    let (mut reported, mut harmless, mut fell_back) = (0, 0, 0);
    let dir = tmp.path().join("flipped");
    std::fs::create_dir_all(&dir).unwrap();
    for at in 0..file.len() {
        // One flip per byte; which bit varies along the file.
        let flip = [0x01u8, 0x80, 0x10][at % 3];
        let mut damaged = file.clone();
        damaged[at] ^= flip;
        std::fs::write(dir.join(TREE_FILE), &damaged).unwrap();
        let result = open(RealFs, &dir).and_then(|mut tree| {
            let all = state(&mut tree)?;
            for (k, v) in &all {
                assert_eq!(
                    tree.get(k)?.as_ref(),
                    Some(v),
                    "flip at byte {at}: get disagrees with scan"
                );
            }
            Ok(all)
        });
        match result {
            Err(Error::Corrupt { .. }) => reported += 1,
            Err(other) => panic!("flip at byte {at}: unexpected error {other}"),
            Ok(got) if got == history[batches.len()] => {
                // Only bytes that nothing reads may change unnoticed.
                let page = at / PAGE;
                let unread = page_use[page] == "free" || page == 1 - newest_slot;
                assert!(unread, "flip at byte {at} of a {} page went unnoticed", page_use[page]);
                harmless += 1;
            }
            Ok(got) => {
                // Only damage to the newest meta page may cost the last
                // commit, and then exactly the last commit.
                assert_eq!(at / PAGE, newest_slot, "flip at byte {at} changed the data");
                assert_eq!(got, history[batches.len() - 1], "flip at byte {at}");
                fell_back += 1;
            }
        }
    }
    let newest_meta_flips = PAGE;
    assert_eq!(fell_back, newest_meta_flips, "every flip in the newest meta page falls back");
    assert!(reported > 0 && harmless > 0, "{reported} reported, {harmless} harmless");
}
// ANCHOR_END: every_flip

#[test]
fn a_file_opened_with_another_page_size_is_refused_and_left_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("t");
    let small = Options { page_size: 64, cache_pages: 0 };
    let mut tree = BTree::open(&dir, small).unwrap().0;
    tree.write(Batch::new().put("ant", "1").put("bee", "2")).unwrap();
    drop(tree);
    let before = std::fs::read(dir.join(TREE_FILE)).unwrap();
    // The whole file is smaller than one 4 KiB page: it must not look new.
    assert!(before.len() < 4096);
    for page_size in [4096, 128] {
        let Err(e) = BTree::open(&dir, Options { page_size, cache_pages: 0 }) else {
            panic!("a 64-byte-page file opened with {page_size}-byte pages");
        };
        assert!(e.to_string().contains("--page-size 64"), "{e}");
        assert_eq!(std::fs::read(dir.join(TREE_FILE)).unwrap(), before, "the file was changed");
    }
    let mut tree = BTree::open(&dir, small).unwrap().0;
    assert_eq!(tree.get(b"bee").unwrap(), Some(b"2".to_vec()));
}

// Found by a code review: crashes while the file is created, and pages
// whose checksum is right but whose place in the tree is not.

#[test]
fn a_crash_while_the_file_is_created_leaves_a_file_that_opens() {
    for crash_before in 0..8 {
        for crash_after_bytes in [None, Some(PAGE as u64 + 10)] {
            let tmp = tempfile::tempdir().unwrap();
            let dir = tmp.path().join("t");
            let faults = Faults {
                crash_before_op: Some(crash_before),
                crash_after_bytes,
                ..Faults::default()
            };
            let _ = open(FaultyFs::new(faults), &dir);
            // No power cut: whatever was written reached the disk.
            let mut tree = open(RealFs, &dir).unwrap_or_else(|e| {
                panic!("crash before op {crash_before}, after {crash_after_bytes:?} bytes: {e}")
            });
            tree.check().unwrap();
            assert_eq!(state(&mut tree).unwrap(), Vec::new());
        }
    }
}

#[test]
fn a_damaged_page_size_in_the_older_meta_slot_is_harmless() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("t");
    let mut tree = open(RealFs, &dir).unwrap();
    tree.write(Batch::new().put("a", "1")).unwrap(); // commit 1, in slot 1
    drop(tree);
    let mut file = std::fs::read(dir.join(TREE_FILE)).unwrap();
    file[8] ^= 0x01; // slot 0's page size field: slot 0 holds commit 0, the older
    std::fs::write(dir.join(TREE_FILE), &file).unwrap();
    let mut tree = open(RealFs, &dir).unwrap();
    assert_eq!(tree.get(b"a").unwrap(), Some(b"1".to_vec()));
}

/// A tree of a few levels with an overflow chain, and its file and root.
fn hostile_base(dir: &Path) -> (Vec<u8>, u32) {
    let mut tree = open(RealFs, dir).unwrap();
    let mut batch = Batch::new();
    for i in 0..40u32 {
        batch.put(format!("k{i:02}"), format!("v{i}"));
    }
    batch.put("big", vec![b'x'; 300]);
    tree.write(&batch).unwrap();
    tree.write(Batch::new().put("k05", "again")).unwrap();
    let root = tree.meta().root.unwrap();
    drop(tree);
    (std::fs::read(dir.join(TREE_FILE)).unwrap(), root)
}

/// Points the root's first child at `target`, with a valid checksum.
fn repoint(file: &mut [u8], root: u32, target: u32) {
    let page = &mut file[root as usize * PAGE..(root as usize + 1) * PAGE];
    assert_eq!(page[0], 2, "the root is an internal node");
    let at = u16::from_le_bytes([page[8], page[9]]) as usize;
    let klen = u16::from_le_bytes([page[at], page[at + 1]]) as usize;
    page[at + 4 + klen..at + 8 + klen].copy_from_slice(&target.to_le_bytes());
    lesson04_indexing::btree::store::seal(page);
}

#[test]
fn a_child_pointer_to_a_page_that_is_no_node_is_reported_not_followed() {
    let tmp = tempfile::tempdir().unwrap();
    let (file, root) = hostile_base(&tmp.path().join("base"));
    let first_of_kind =
        |kind: u8| (2..file.len() / PAGE).find(|&i| file[i * PAGE] == kind).unwrap() as u32;
    // An overflow page, a free-list page, a meta page, and the root itself.
    for (what, target) in [
        ("an overflow page", first_of_kind(4)),
        ("a free-list page", first_of_kind(3)),
        ("a meta page", 0),
        ("its own parent", root),
    ] {
        let dir = tmp.path().join(what.replace(' ', "-"));
        std::fs::create_dir_all(&dir).unwrap();
        let mut damaged = file.clone();
        repoint(&mut damaged, root, target);
        std::fs::write(dir.join(TREE_FILE), &damaged).unwrap();
        let mut tree = open(RealFs, &dir).unwrap();
        assert!(matches!(tree.get(b"k00"), Err(Error::Corrupt { .. })), "get through {what}");
        assert!(matches!(state(&mut tree), Err(Error::Corrupt { .. })), "scan through {what}");
        assert!(tree.check().is_err(), "the checker misses {what}");
    }
}
