//! The anomalies of concurrent transactions, one test each, at each
//! isolation level: what the SQL standard and Berenson et al.'s "A Critique
//! of ANSI SQL Isolation Levels" name, played out step by step.
//!
//! Every test interleaves two transactions, T1 and T2, in one thread: the
//! order of the steps is the point, so the test fixes it.

use lesson01_intro::KeyRange;
use lesson04_indexing::btree::{BTree, MemStore};
use lesson06_advanced::mvcc::{Db, Error, Isolation};

const LEVELS: [Isolation; 2] = [Isolation::Snapshot, Isolation::Serializable];

/// A store holding `pairs`, committed.
fn db(pairs: &[(&str, &str)]) -> Db<MemStore> {
    let db = Db::open(BTree::in_memory(256)).unwrap();
    let mut setup = db.begin(Isolation::Snapshot);
    for (key, value) in pairs {
        setup.set(key.as_bytes().to_vec(), value.as_bytes().to_vec());
    }
    setup.commit().unwrap();
    db
}

fn text(value: Option<Vec<u8>>) -> Option<String> {
    value.map(|v| String::from_utf8(v).unwrap())
}

fn keys(pairs: Vec<(Vec<u8>, Vec<u8>)>) -> Vec<String> {
    pairs.into_iter().map(|(k, _)| String::from_utf8(k).unwrap()).collect()
}

// ANCHOR: dirty_read
#[test]
fn dirty_read_is_prevented_at_every_level() {
    for level in LEVELS {
        let db = db(&[("x", "1")]);
        let mut t1 = db.begin(level);
        let mut t2 = db.begin(level);
        t1.set(b"x".to_vec(), b"2".to_vec()); // 1. T1 writes x = 2, uncommitted
        assert_eq!(text(t2.get(b"x").unwrap()), Some("1".into()), "{level:?}: 2. T2 reads x");
        t1.rollback(); // 3. T1 aborts: the 2 never existed
        assert_eq!(text(t2.get(b"x").unwrap()), Some("1".into()), "{level:?}: 4. T2 reads x");
        t2.commit().unwrap();
    }
}
// ANCHOR_END: dirty_read

#[test]
fn non_repeatable_read_is_prevented_at_every_level() {
    for level in LEVELS {
        let db = db(&[("x", "1")]);
        let mut t1 = db.begin(level);
        assert_eq!(text(t1.get(b"x").unwrap()), Some("1".into())); // 1. T1 reads x = 1
        let mut t2 = db.begin(level);
        t2.set(b"x".to_vec(), b"2".to_vec()); // 2. T2 writes x = 2
        t2.commit().unwrap(); // 3. T2 commits
        // 4. T1 reads x again: the same 1, from its snapshot.
        assert_eq!(text(t1.get(b"x").unwrap()), Some("1".into()), "{level:?}");
        t1.commit().unwrap(); // read-only: nothing to validate
        assert_eq!(text(db.begin(level).get(b"x").unwrap()), Some("2".into()));
    }
}

// ANCHOR: phantom
#[test]
fn phantom_is_prevented_at_every_level() {
    for level in LEVELS {
        let db = db(&[("order:1", "10"), ("order:2", "20"), ("total", "30")]);
        let orders = || KeyRange::prefix(b"order:");
        let mut t1 = db.begin(level);
        // 1. T1 scans the orders: two.
        assert_eq!(keys(t1.scan(orders()).unwrap()), ["order:1", "order:2"]);
        let mut t2 = db.begin(level);
        t2.set(b"order:3".to_vec(), b"5".to_vec()); // 2. T2 inserts a third order
        t2.commit().unwrap(); // 3. and commits
        // 4. T1 scans again: still two, no phantom.
        assert_eq!(keys(t1.scan(orders()).unwrap()), ["order:1", "order:2"], "{level:?}");
        // 5. T1 writes the total it summed from its scan.
        t1.set(b"total".to_vec(), b"30".to_vec());
        let committed = t1.commit();
        match level {
            // The snapshot was consistent, but the total misses order 3.
            Isolation::Snapshot => assert!(committed.is_ok()),
            // Its scan's range changed since the snapshot: no serial order
            // gives this result, so T1 aborts.
            Isolation::Serializable => assert!(matches!(committed, Err(Error::Serialization))),
        }
    }
}
// ANCHOR_END: phantom

// ANCHOR: lost_update
#[test]
fn lost_update_is_prevented_at_every_level() {
    for level in LEVELS {
        let db = db(&[("counter", "10")]);
        let mut t1 = db.begin(level);
        let mut t2 = db.begin(level);
        assert_eq!(text(t1.get(b"counter").unwrap()), Some("10".into())); // 1. T1 reads 10
        assert_eq!(text(t2.get(b"counter").unwrap()), Some("10".into())); // 2. T2 reads 10
        t1.set(b"counter".to_vec(), b"11".to_vec()); // 3. T1 writes 11
        t1.commit().unwrap(); // 4. T1 commits first: it wins
        t2.set(b"counter".to_vec(), b"11".to_vec()); // 5. T2 writes 11 too
        // 6. T2's commit would lose T1's increment: the later committer aborts.
        let err = t2.commit().unwrap_err();
        assert!(matches!(err, Error::Serialization), "{level:?}: {err}");
        assert_eq!(err.to_string(), "serialization failure, retry");
        // Retried, T2 reads 11 and writes 12: no update lost.
        let mut retry = db.begin(level);
        let n: u32 = text(retry.get(b"counter").unwrap()).unwrap().parse().unwrap();
        retry.set(b"counter".to_vec(), (n + 1).to_string().into_bytes());
        retry.commit().unwrap();
        assert_eq!(text(db.begin(level).get(b"counter").unwrap()), Some("12".into()));
    }
}
// ANCHOR_END: lost_update

// ANCHOR: write_skew
#[test]
fn write_skew_is_allowed_by_snapshot_isolation_and_prevented_by_serializable() {
    for level in LEVELS {
        // Two doctors on call; the rule: at least one stays on call.
        let db = db(&[("alice", "on"), ("bob", "on")]);
        let on_call = |t: &mut lesson06_advanced::mvcc::Transaction<MemStore>| {
            t.scan(KeyRange::all()).unwrap().iter().filter(|(_, v)| v == b"on").count()
        };
        let mut t1 = db.begin(level);
        let mut t2 = db.begin(level);
        assert_eq!(on_call(&mut t1), 2); // 1. T1 sees two on call
        assert_eq!(on_call(&mut t2), 2); // 2. T2 sees two on call
        t1.set(b"alice".to_vec(), b"off".to_vec()); // 3. so Alice goes off call
        t2.set(b"bob".to_vec(), b"off".to_vec()); // 4. and so does Bob
        t1.commit().unwrap(); // 5. T1 commits
        let second = t2.commit(); // 6. T2 commits: different keys, no write conflict
        let now = on_call(&mut db.begin(level));
        match level {
            Isolation::Snapshot => {
                assert!(second.is_ok());
                assert_eq!(now, 0, "write skew: nobody is on call");
            }
            Isolation::Serializable => {
                assert!(matches!(second, Err(Error::Serialization)));
                assert_eq!(now, 1, "T2 read Alice as on call; she no longer was");
            }
        }
    }
}
// ANCHOR_END: write_skew

#[test]
fn a_read_only_transaction_is_never_aborted() {
    // Its snapshot is the state after a prefix of the commits: a serial
    // point already, so even serializable needs no validation.
    let db = db(&[("x", "1")]);
    let mut reader = db.begin(Isolation::Serializable);
    assert_eq!(text(reader.get(b"x").unwrap()), Some("1".into()));
    let mut writer = db.begin(Isolation::Serializable);
    writer.set(b"x".to_vec(), b"2".to_vec());
    writer.commit().unwrap();
    assert_eq!(reader.commit().unwrap(), None);
}
