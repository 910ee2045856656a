//! The B+tree against `BTreeMap`, with tiny pages so that a few keys make a
//! tall tree: random sets, deletes, batches, range scans both ways, big
//! values in overflow pages, and reopens; after every step the invariant
//! checker runs and the two must agree.

use std::collections::BTreeMap;
use std::ops::Bound;

use lesson01_intro::KeyRange;
use lesson04_indexing::Error;
use lesson04_indexing::btree::{BTree, Batch, MemStore};
use proptest::prelude::*;
use proptest::test_runner::Config;

const PAGE: usize = 128;

#[derive(Debug, Clone)]
enum Op {
    Put(Vec<u8>, Vec<u8>),
    Delete(Vec<u8>),
    /// Several writes, committed together; with `poison`, one key is too
    /// long, so the whole batch must be refused.
    Batch(Vec<(Vec<u8>, Option<Vec<u8>>)>, bool),
    /// A batch that writes a big value (overflow pages) and deletes it
    /// again, so its pages are allocated and freed inside one commit; then
    /// a reopen.
    Transient(Vec<u8>, usize),
    Scan(Bound<Vec<u8>>, Bound<Vec<u8>>),
    ScanRev(Bound<Vec<u8>>, Bound<Vec<u8>>),
    Reopen,
}

fn key() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(prop::sample::select(vec![b'a', b'b', b'c', 0x00, 0xff]), 0..4)
}

fn value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        8 => proptest::collection::vec(any::<u8>(), 0..16),
        1 => proptest::collection::vec(any::<u8>(), 16..400), // overflow pages
    ]
}

fn bound() -> impl Strategy<Value = Bound<Vec<u8>>> {
    prop_oneof![
        key().prop_map(Bound::Included),
        key().prop_map(Bound::Excluded),
        Just(Bound::Unbounded)
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        10 => (key(), value()).prop_map(|(k, v)| Op::Put(k, v)),
        6 => key().prop_map(Op::Delete),
        2 => (
            proptest::collection::vec((key(), proptest::option::of(value())), 1..12),
            prop::bool::weighted(0.2)
        )
            .prop_map(|(writes, poison)| Op::Batch(writes, poison)),
        1 => (key(), 100usize..600).prop_map(|(k, len)| Op::Transient(k, len)),
        2 => (bound(), bound()).prop_map(|(s, e)| Op::Scan(s, e)),
        2 => (bound(), bound()).prop_map(|(s, e)| Op::ScanRev(s, e)),
        1 => Just(Op::Reopen),
    ]
}

fn model_scan(model: &BTreeMap<Vec<u8>, Vec<u8>>, range: &KeyRange) -> Vec<(Vec<u8>, Vec<u8>)> {
    model.iter().filter(|(k, _)| range.contains(k)).map(|(k, v)| (k.clone(), v.clone())).collect()
}

fn run(ops: &[Op]) -> Result<(), TestCaseError> {
    let mut tree = BTree::in_memory(PAGE);
    let mut model = BTreeMap::new();
    for (step, op) in ops.iter().enumerate() {
        match op {
            Op::Put(k, v) => {
                tree.write(Batch::new().put(k.clone(), v.clone())).unwrap();
                model.insert(k.clone(), v.clone());
            }
            Op::Delete(k) => {
                let found = lesson01_intro::KvStore::delete(&mut tree, k).unwrap();
                prop_assert_eq!(found, model.remove(k).is_some(), "step {}", step);
            }
            Op::Batch(writes, poison) => {
                let mut batch = Batch::new();
                for (k, v) in writes {
                    match v {
                        Some(v) => batch.put(k.clone(), v.clone()),
                        None => batch.delete(k.clone()),
                    };
                }
                if *poison {
                    batch.put(vec![b'k'; PAGE], b"too long a key".to_vec());
                    let result = tree.write(&batch);
                    prop_assert!(matches!(result, Err(Error::TooLarge { .. })), "step {}", step);
                } else {
                    tree.write(&batch).unwrap();
                    for (k, v) in writes {
                        match v {
                            Some(v) => model.insert(k.clone(), v.clone()),
                            None => model.remove(k),
                        };
                    }
                }
            }
            Op::Transient(k, len) => {
                tree.write(Batch::new().put(k.clone(), vec![7; *len]).delete(k.clone())).unwrap();
                model.remove(k);
                let store: MemStore = tree.into_store();
                tree = BTree::from_store(store, PAGE).unwrap().0;
            }
            Op::Scan(start, end) => {
                let range = KeyRange { start: start.clone(), end: end.clone() };
                prop_assert_eq!(
                    tree.scan(&range).unwrap(),
                    model_scan(&model, &range),
                    "step {}",
                    step
                );
            }
            Op::ScanRev(start, end) => {
                let range = KeyRange { start: start.clone(), end: end.clone() };
                let mut want = model_scan(&model, &range);
                want.reverse();
                prop_assert_eq!(tree.scan_rev(&range).unwrap(), want, "step {}", step);
            }
            Op::Reopen => {
                let store: MemStore = tree.into_store();
                tree = BTree::from_store(store, PAGE).unwrap().0;
            }
        }
        let stats =
            tree.check().map_err(|e| TestCaseError::fail(format!("step {step} ({op:?}): {e}")))?;
        prop_assert_eq!(stats.keys as usize, model.len(), "step {}", step);
    }
    // Everything, both ways, at the end.
    let all: Vec<_> = model.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    prop_assert_eq!(&tree.scan(&KeyRange::all()).unwrap(), &all);
    for (k, v) in &model {
        prop_assert_eq!(tree.get(k).unwrap(), Some(v.clone()));
    }
    Ok(())
}

proptest! {
    #![proptest_config(Config { cases: 96, failure_persistence: None, ..Config::default() })]

    #[test]
    fn the_tree_matches_a_btreemap_and_keeps_its_invariants(
        ops in proptest::collection::vec(op(), 1..160)
    ) {
        run(&ops)?;
    }
}

/// Grows a tree to several levels, then deletes every key in a shuffled
/// order: splits all the way up, then merges and borrows all the way down,
/// and the tree is empty again (the file keeps its pages, all free).
#[test]
fn growing_then_emptying_keeps_every_invariant() {
    let mut tree = BTree::in_memory(PAGE);
    let keys: Vec<Vec<u8>> =
        (0..400u32).map(|i| format!("{:05}", i * 7919 % 400).into_bytes()).collect();
    for (i, k) in keys.iter().enumerate() {
        tree.write(Batch::new().put(k.clone(), vec![b'v'; i % 11])).unwrap();
        tree.check().unwrap();
    }
    let stats = tree.check().unwrap();
    assert_eq!(stats.keys, 400);
    assert!(stats.height >= 4, "400 keys in 128-byte pages make a tall tree: {stats:?}");
    for (i, k) in keys.iter().enumerate().rev() {
        if i % 3 == 0 {
            assert!(lesson01_intro::KvStore::delete(&mut tree, k).unwrap());
            tree.check().unwrap_or_else(|e| panic!("after deleting {i}: {e}"));
        }
    }
    for (i, k) in keys.iter().enumerate() {
        if i % 3 != 0 {
            assert!(lesson01_intro::KvStore::delete(&mut tree, k).unwrap());
            tree.check().unwrap_or_else(|e| panic!("after deleting {i}: {e}"));
        }
    }
    let stats = tree.check().unwrap();
    assert_eq!((stats.keys, stats.height, stats.leaves), (0, 0, 0));
}

/// Updates reuse freed pages: a thousand overwrites of the same few keys
/// do not grow the file without bound.
#[test]
fn freed_pages_are_reused() {
    let mut tree = BTree::in_memory(PAGE);
    for i in 0..50u32 {
        tree.write(Batch::new().put(format!("{i:03}"), b"first".to_vec())).unwrap();
    }
    let after_load = tree.check().unwrap().pages;
    for round in 0..20u32 {
        for i in 0..50u32 {
            tree.write(Batch::new().put(format!("{i:03}"), format!("round {round}"))).unwrap();
        }
    }
    let stats = tree.check().unwrap();
    assert!(
        stats.pages <= after_load + 12,
        "1,000 overwrites grew the file from {after_load} to {} pages",
        stats.pages
    );
}

/// Found by a reviewer: a batch that allocates pages past the end of the
/// file and frees them again (a big value written, then deleted) must
/// still leave a file as long as its meta page says.
#[test]
fn pages_allocated_and_freed_in_one_batch_still_count_in_the_file() {
    let mut tree = BTree::in_memory(PAGE);
    tree.write(Batch::new().put("a", "1")).unwrap();
    tree.write(Batch::new().put("b", "2").put("k", vec![b'v'; 300]).delete("k")).unwrap();
    tree.check().unwrap();
    let mut reopened = BTree::from_store(tree.into_store(), PAGE).unwrap().0;
    reopened.check().unwrap();
    assert_eq!(reopened.get(b"b").unwrap(), Some(b"2".to_vec()));
}
