//! MVCC against a model of its specification, garbage collection bounded,
//! and commits atomic through a crash at every write.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;
use std::path::Path;

use lesson01_intro::KeyRange;
use lesson03_persistence::fs::{Faults, FaultyFs, FileSystem, RealFs};
use lesson04_indexing::btree::{self, BTree, FileStore, MemStore, TREE_FILE};
use lesson06_advanced::mvcc::{Db, Error, Isolation, Transaction};
use proptest::prelude::*;

type State = BTreeMap<Vec<u8>, Vec<u8>>;

/// One step of up to three interleaved transactions, by slot.
#[derive(Debug, Clone)]
enum Op {
    Begin(usize, bool),
    Get(usize, u8),
    Set(usize, u8, u8),
    Delete(usize, u8),
    Scan(usize, u8, u8),
    Commit(usize),
    Rollback(usize),
}

fn op() -> impl Strategy<Value = Op> {
    let slot = 0..3usize;
    prop_oneof![
        2 => (slot.clone(), any::<bool>()).prop_map(|(s, x)| Op::Begin(s, x)),
        3 => (slot.clone(), 0..5u8).prop_map(|(s, k)| Op::Get(s, k)),
        3 => (slot.clone(), 0..5u8, any::<u8>()).prop_map(|(s, k, v)| Op::Set(s, k, v)),
        1 => (slot.clone(), 0..5u8).prop_map(|(s, k)| Op::Delete(s, k)),
        2 => (slot.clone(), 0..5u8, 1..6u8).prop_map(|(s, a, n)| Op::Scan(s, a, a + n)),
        2 => slot.clone().prop_map(Op::Commit),
        1 => slot.prop_map(Op::Rollback),
    ]
}

/// Keys with the awkward bytes the encoding escapes.
fn key(k: u8) -> Vec<u8> {
    [&b"k"[..], &[0, 0xff, 1, 0, 2][..k as usize]].concat()
}

/// The specification's view of a transaction.
struct Model {
    snapshot: usize,
    serializable: bool,
    writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    reads: Vec<KeyRange>,
}

/// Runs `ops` against the store and against the specification: reads see
/// the state after the snapshot's commit with their own writes over it;
/// a commit fails exactly when a key it wrote (or, serializable, read) was
/// written by a commit after its snapshot.
fn check(ops: &[Op], db: &Db<MemStore>) {
    let mut history: Vec<State> = vec![State::new()];
    let mut written: Vec<BTreeSet<Vec<u8>>> = vec![BTreeSet::new()];
    let mut slots: [Option<(Transaction<MemStore>, Model)>; 3] = [None, None, None];
    for op in ops {
        match *op {
            Op::Begin(s, serializable) if slots[s].is_none() => {
                let level =
                    if serializable { Isolation::Serializable } else { Isolation::Snapshot };
                let model = Model {
                    snapshot: history.len() - 1,
                    serializable,
                    writes: BTreeMap::new(),
                    reads: vec![],
                };
                slots[s] = Some((db.begin(level), model));
            }
            Op::Get(s, k) | Op::Delete(s, k) => {
                let Some((txn, model)) = &mut slots[s] else { continue };
                let key = key(k);
                let expected = match model.writes.get(&key) {
                    Some(write) => write.clone(),
                    None => {
                        model.reads.push(KeyRange::new(key.clone()..=key.clone()));
                        history[model.snapshot].get(&key).cloned()
                    }
                };
                if matches!(op, Op::Get(..)) {
                    assert_eq!(txn.get(&key).unwrap(), expected, "{op:?}");
                } else {
                    assert_eq!(txn.delete(&key).unwrap(), expected.is_some(), "{op:?}");
                    // Deleting a key that is not there writes nothing.
                    if expected.is_some() {
                        model.writes.insert(key, None);
                    }
                }
            }
            Op::Set(s, k, v) => {
                let Some((txn, model)) = &mut slots[s] else { continue };
                txn.set(key(k), vec![v]);
                model.writes.insert(key(k), Some(vec![v]));
            }
            Op::Scan(s, a, b) => {
                let Some((txn, model)) = &mut slots[s] else { continue };
                // Ends past the last key are unbounded.
                let end = if b < 5 { Bound::Excluded(key(b)) } else { Bound::Unbounded };
                let range = KeyRange { start: Bound::Included(key(a)), end };
                let mut expected: State = history[model.snapshot]
                    .iter()
                    .filter(|(k, _)| range.contains(k))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                for (k, w) in model.writes.iter().filter(|(k, _)| range.contains(k)) {
                    match w {
                        Some(v) => expected.insert(k.clone(), v.clone()),
                        None => expected.remove(k),
                    };
                }
                let got = txn.scan(range.clone()).unwrap();
                assert_eq!(got, expected.into_iter().collect::<Vec<_>>(), "{op:?}");
                model.reads.push(range);
            }
            Op::Commit(s) => {
                let Some((txn, model)) = slots[s].take() else { continue };
                let since = &written[model.snapshot + 1..];
                let write_conflict =
                    since.iter().any(|keys| model.writes.keys().any(|k| keys.contains(k)));
                let read_conflict = model.serializable
                    && !model.writes.is_empty()
                    && since.iter().flatten().any(|k| model.reads.iter().any(|r| r.contains(k)));
                match txn.commit() {
                    Err(Error::Serialization) => {
                        assert!(write_conflict || read_conflict, "{op:?}: a false conflict");
                    }
                    Err(e) => panic!("{op:?}: {e}"),
                    Ok(ts) => {
                        assert!(!write_conflict && !read_conflict, "{op:?}: a missed conflict");
                        if model.writes.is_empty() {
                            assert_eq!(ts, None);
                            continue;
                        }
                        assert_eq!(ts, Some(history.len() as u64));
                        let mut state = history.last().unwrap().clone();
                        for (k, w) in &model.writes {
                            match w {
                                Some(v) => state.insert(k.clone(), v.clone()),
                                None => state.remove(k),
                            };
                        }
                        history.push(state);
                        written.push(model.writes.keys().cloned().collect());
                    }
                }
            }
            Op::Rollback(s) => drop(slots[s].take()),
            Op::Begin(..) => {}
        }
    }
    drop(slots);
    // With nothing running, a vacuum leaves exactly one version per live key.
    db.vacuum().unwrap();
    let live = history.last().unwrap().len();
    assert_eq!(db.versions().unwrap(), (live, live));
    assert_eq!(db.running(), 0);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn transactions_behave_as_the_specification_says(ops in prop::collection::vec(op(), 1..80)) {
        check(&ops, &Db::open(BTree::in_memory(256)).unwrap());
    }

    #[test]
    fn without_garbage_collection_too(ops in prop::collection::vec(op(), 1..40)) {
        check(&ops, &Db::open_without_gc(BTree::in_memory(256)).unwrap());
    }
}

// ANCHOR: gc_bounded
#[test]
fn garbage_collection_keeps_the_versions_bounded_under_updates() {
    const KEYS: u64 = 20;
    const UPDATES: u64 = 2_000;
    const READER_LIFETIME: u64 = 50; // commits a long reader stays open for
    let run = |db: Db<MemStore>| {
        let mut reader = db.begin(Isolation::Snapshot);
        let mut most = 0;
        for i in 0..UPDATES {
            if i % READER_LIFETIME == 0 {
                reader = db.begin(Isolation::Snapshot); // the old one rolls back
            }
            let mut t = db.begin(Isolation::Snapshot);
            let key = format!("key{}", i * 7 % KEYS).into_bytes();
            t.set(key, i.to_string().into_bytes());
            t.commit().unwrap();
            // The reader still sees its snapshot, however old.
            let seen = reader.scan(KeyRange::all()).unwrap().len() as u64;
            assert_eq!(seen, KEYS.min(reader.snapshot()));
            most = most.max(db.versions().unwrap().0 as u64);
        }
        most
    };
    let with_gc = run(Db::open(BTree::in_memory(512)).unwrap());
    let without = run(Db::open_without_gc(BTree::in_memory(512)).unwrap());
    // One version per key, plus those committed while the oldest reader ran.
    assert!(with_gc <= KEYS + READER_LIFETIME + 1, "{with_gc} versions retained");
    assert_eq!(without, UPDATES, "without GC every version stays");
}
// ANCHOR_END: gc_bounded

/// The versions kept as updates go on, with and without garbage
/// collection: 100 keys, updated at random, while a reader holds a snapshot
/// for 200 commits at a time. For the book's "Measure it".
#[test]
fn versions_retained_table() {
    let run = |db: Db<MemStore>| {
        let mut rng = lesson05_replication::rng::Rng::new(7);
        let mut reader = db.begin(Isolation::Snapshot);
        let mut rows = Vec::new();
        let mut most = 0;
        for i in 1..=5_000u64 {
            if i % 200 == 0 {
                reader = db.begin(Isolation::Snapshot);
            }
            let mut t = db.begin(Isolation::Snapshot);
            t.set(format!("key{}", rng.below(100)).into_bytes(), i.to_string().into_bytes());
            t.commit().unwrap();
            if i % 10 == 0 {
                most = most.max(db.versions().unwrap().0);
            }
            if i % 1_000 == 0 {
                rows.push((i, (std::mem::take(&mut most), db.versions().unwrap().1)));
            }
        }
        drop(reader);
        rows
    };
    let with_gc = run(Db::open(BTree::in_memory(512)).unwrap());
    let without = run(Db::open_without_gc(BTree::in_memory(512)).unwrap());
    let mut table = String::from(
        "| commits | live keys | versions with GC (most, sampled every 10 commits) | without GC |\n",
    );
    table.push_str("|---:|---:|---:|---:|\n");
    for ((commits, (gc, keys)), (_, (no_gc, _))) in with_gc.iter().zip(&without) {
        table.push_str(&format!("| {commits} | {keys} | {gc} | {no_gc} |\n"));
        assert!(*gc <= keys + 200, "{gc} versions for {keys} keys");
        assert_eq!(*no_gc as u64, *commits, "one version per commit, all kept");
    }
    insta::assert_snapshot!(table);
}

#[test]
fn a_long_transaction_holds_the_horizon_back_until_it_ends() {
    let db = Db::open(BTree::in_memory(256)).unwrap();
    let mut t = db.begin(Isolation::Snapshot);
    t.set(b"x".to_vec(), b"0".to_vec());
    t.commit().unwrap();
    let mut old = db.begin(Isolation::Snapshot);
    assert_eq!(db.horizon(), 1);
    for i in 1..=10 {
        let mut t = db.begin(Isolation::Snapshot);
        t.set(b"x".to_vec(), i.to_string().into_bytes());
        t.commit().unwrap();
    }
    assert_eq!(db.versions().unwrap(), (11, 1), "all kept while the old reader runs");
    assert_eq!(old.get(b"x").unwrap(), Some(b"0".to_vec()));
    old.rollback();
    assert_eq!(db.horizon(), 11);
    let mut t = db.begin(Isolation::Snapshot);
    t.set(b"y".to_vec(), b"1".to_vec());
    t.commit().unwrap(); // collects x's garbage on its way
    assert_eq!(db.versions().unwrap(), (2, 2));
    assert_eq!(db.stats().collected, 10);
    // A deleted key's tombstone goes once nobody can see the key.
    let mut t = db.begin(Isolation::Snapshot);
    t.delete(b"x").unwrap();
    t.commit().unwrap();
    assert_eq!(db.vacuum().unwrap(), 2, "x's last value and its tombstone");
    assert_eq!(db.versions().unwrap(), (1, 1));
}

#[test]
fn watch_fails_a_commit_whatever_the_isolation() {
    for level in [Isolation::Snapshot, Isolation::Serializable] {
        let db = Db::open(BTree::in_memory(256)).unwrap();
        let since = db.last_commit();
        let mut other = db.begin(level);
        other.set(b"watched".to_vec(), b"changed".to_vec());
        other.commit().unwrap();
        // Even a transaction that writes nothing fails on its watch.
        let mut t = db.begin(level);
        t.watch(b"watched".to_vec(), since);
        assert!(matches!(t.commit(), Err(Error::Serialization)), "{level:?}");
        let mut t = db.begin(level);
        t.watch(b"watched".to_vec(), since);
        t.set(b"elsewhere".to_vec(), b"1".to_vec());
        assert!(matches!(t.commit(), Err(Error::Serialization)), "{level:?}");
        let mut t = db.begin(level);
        t.watch(b"watched".to_vec(), db.last_commit());
        t.set(b"elsewhere".to_vec(), b"1".to_vec());
        assert_eq!(t.commit().unwrap(), Some(2), "{level:?}");
    }
}

// Crash at every write of a commit.

const PAGE: usize = 256;

fn open<F: FileSystem>(fs: F, dir: &Path) -> Result<Db<FileStore<F>>, Error> {
    let options = btree::Options { page_size: PAGE, cache_pages: 0 };
    let (tree, _) = BTree::open_with(fs, dir, options)?;
    Db::open(tree)
}

/// Transactions of several writes each, some overwriting and deleting.
fn transactions() -> Vec<Vec<(String, Option<String>)>> {
    (0..6u32)
        .map(|t| {
            (0..5u32)
                .map(|i| {
                    let key = format!("key{:02}", (t * 3 + i * 5) % 17);
                    let value =
                        (i != 4 || t % 2 == 0).then(|| format!("t{t}-{i}-{}", "x".repeat(20)));
                    (key, value)
                })
                .collect()
        })
        .collect()
}

fn history(txns: &[Vec<(String, Option<String>)>]) -> Vec<State> {
    let mut state = State::new();
    let mut out = vec![state.clone()];
    for txn in txns {
        for (k, v) in txn {
            match v {
                Some(v) => state.insert(k.clone().into_bytes(), v.clone().into_bytes()),
                None => state.remove(k.as_bytes()),
            };
        }
        out.push(state.clone());
    }
    out
}

fn run_until_crash<F: FileSystem>(
    fs: F,
    dir: &Path,
    txns: &[Vec<(String, Option<String>)>],
) -> usize {
    let Ok(db) = open(fs, dir) else { return 0 };
    txns.iter()
        .take_while(|writes| {
            let mut t = db.begin(Isolation::Serializable);
            for (k, v) in writes.iter() {
                match v {
                    Some(v) => t.set(k.clone().into_bytes(), v.clone().into_bytes()),
                    None => drop(t.delete(k.as_bytes())),
                }
            }
            t.commit().is_ok()
        })
        .count()
}

fn state_of(dir: &Path, what: &str) -> State {
    let db = open(RealFs, dir).unwrap_or_else(|e| panic!("{what}: does not reopen: {e}"));
    db.with_tree(BTree::check).unwrap_or_else(|e| panic!("{what}: {e}"));
    let mut t = db.begin(Isolation::Snapshot);
    t.scan(KeyRange::all()).unwrap().into_iter().collect()
}

// ANCHOR: crash
#[test]
fn a_crash_at_any_write_of_a_commit_leaves_it_wholly_present_or_wholly_absent() {
    let tmp = tempfile::tempdir().unwrap();
    let txns = transactions();
    let history = history(&txns);
    let done = 3;
    let base = tmp.path().join("base");
    assert_eq!(run_until_crash(RealFs, &base, &txns[..done]), done);
    let mut crashes = 0;
    for crash_before in 0.. {
        let mut finished = false;
        for power_cut in [true, false] {
            let dir = tmp.path().join(format!("op{crash_before}-{power_cut}"));
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::copy(base.join(TREE_FILE), dir.join(TREE_FILE)).unwrap();
            let fs =
                FaultyFs::new(Faults { crash_before_op: Some(crash_before), ..Faults::default() });
            let acked = done + run_until_crash(fs.clone(), &dir, &txns[done..]);
            finished = !fs.faults().crashed;
            if power_cut {
                fs.power_cut();
            }
            let what = format!("crash before op {crash_before}, power cut {power_cut}");
            let got = state_of(&dir, &what);
            if power_cut || finished {
                assert_eq!(got, history[acked], "{what}");
            } else {
                // The commit in flight may have reached the disk before the
                // fsync that would have acknowledged it: then all of it.
                assert!(got == history[acked] || got == history[acked + 1], "{what}");
            }
            std::fs::remove_dir_all(&dir).unwrap();
        }
        if finished {
            break;
        }
        crashes += 1;
        assert!(crash_before < 2000, "the transactions never ran out of operations");
    }
    eprintln!("{crashes} crash points");
    assert!(crashes > 20, "only {crashes} crash points: the commits wrote too little");
}
// ANCHOR_END: crash

#[test]
fn a_key_too_long_once_versioned_is_refused_in_the_users_terms() {
    // A version's key is the user's key plus 11 bytes (tag, end, timestamp).
    let limit = btree::Limits::for_page_size(512).max_key - 11;
    let db = Db::open(BTree::in_memory(512)).unwrap();
    let mut t = db.begin(Isolation::Snapshot);
    t.set(vec![b'k'; limit + 1], b"v".to_vec());
    t.set(b"fits".to_vec(), b"v".to_vec());
    let err = t.commit().unwrap_err();
    let expected = format!("a key of {} bytes is over the limit of {limit} bytes", limit + 1);
    assert_eq!(err.to_string(), expected);
    let mut t = db.begin(Isolation::Snapshot);
    assert_eq!(t.get(b"fits").unwrap(), None, "nothing of the transaction was written");
    t.set(vec![b'k'; limit], b"v".to_vec());
    t.commit().unwrap();
}
