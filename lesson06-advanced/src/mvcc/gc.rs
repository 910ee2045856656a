//! Garbage collection: deleting the versions no snapshot can see.
//!
//! A version is garbage once a newer version of its key was committed at
//! or before the **horizon**, the oldest snapshot a running transaction
//! reads: every snapshot, present or future, sees that newer version (or
//! one newer still) instead. The newest version at or before the horizon is
//! kept, unless it is a tombstone: then nobody sees the key at all, and the
//! tombstone goes too.
//!
//! ```text
//!   key "x":   v9 (ts 9)   v7 (ts 7)   v4 (ts 4)   v2 (ts 2)
//!   horizon 5:   kept         kept        kept       garbage
//!                (newer than the horizon) (seen at 5)
//! ```
//!
//! Each commit queues the keys it wrote. Once the horizon reaches the
//! commit, those keys may have garbage; the next commit deletes it in its
//! own batch, so collecting costs no extra fsync. PostgreSQL's `VACUUM`
//! does this job for tables, and must, since its updates leave dead row
//! versions in the table's pages; toydb keeps every version forever.

use lesson01_intro::KeyRange;
use lesson04_indexing::btree::{BTree, Batch, PageStore};

use super::{Inner, Result, decode_or_corrupt, key};

/// What a commit collected.
pub(crate) struct Due {
    /// Queued commits now handled (the first this many in the queue).
    pub commits: usize,
    /// Versions deleted.
    pub versions: usize,
}

// ANCHOR: collect
/// Adds to `batch` the deletes of `key`'s garbage under `horizon`; returns
/// how many.
fn collect<S: PageStore>(
    tree: &mut BTree<S>,
    key: &[u8],
    horizon: u64,
    batch: &mut Batch,
) -> Result<usize> {
    let versions = tree.scan(&KeyRange::prefix(&key::prefix(key)))?;
    Ok(garbage(tree, &versions, horizon, batch)?)
}

/// Adds the deletes of the garbage among one key's `versions` (newest first).
fn garbage<S: PageStore>(
    tree: &BTree<S>,
    versions: &[(Vec<u8>, Vec<u8>)],
    horizon: u64,
    batch: &mut Batch,
) -> lesson04_indexing::Result<usize> {
    // exercise 6.4: begin
    let mut seen = None; // the version the horizon sees, once found
    let mut deleted = 0;
    for (encoded, value) in versions {
        let (_, ts) = decode_or_corrupt(tree, encoded)?;
        if ts > horizon {
            continue;
        }
        let tombstone = value.first() == Some(&0);
        if seen.is_some() || tombstone {
            batch.delete(encoded.clone());
            deleted += 1;
        }
        seen.get_or_insert(ts);
    }
    Ok(deleted)
    // exercise 6.4: end
}
// ANCHOR_END: collect

/// Adds to `batch` the garbage of every queued commit at or before the
/// horizon.
pub(crate) fn due<S: PageStore>(inner: &mut Inner<S>, batch: &mut Batch) -> Result<Due> {
    let horizon = inner.horizon();
    let mut due = Due { commits: 0, versions: 0 };
    if !inner.collect_garbage {
        return Ok(due);
    }
    let mut keys = std::collections::BTreeSet::new();
    for (ts, written) in &inner.garbage {
        if *ts > horizon {
            break;
        }
        keys.extend(written.iter().cloned());
        due.commits += 1;
    }
    for key in keys {
        due.versions += collect(&mut inner.tree, &key, horizon, batch)?;
    }
    Ok(due)
}

/// Collects the garbage of the whole tree under `horizon`, in one batch.
pub(crate) fn vacuum<S: PageStore>(tree: &mut BTree<S>, horizon: u64) -> Result<usize> {
    let all = tree.scan(&key::versions_of(&KeyRange::all()))?;
    let mut batch = Batch::new();
    let mut deleted = 0;
    let mut start = 0;
    while start < all.len() {
        let (user_key, _) = decode_or_corrupt(tree, &all[start].0)?;
        let prefix = key::prefix(&user_key);
        let end = start + all[start..].iter().take_while(|(k, _)| k.starts_with(&prefix)).count();
        deleted += garbage(tree, &all[start..end], horizon, &mut batch)?;
        start = end;
    }
    if deleted > 0 {
        tree.write(&batch)?;
    }
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use lesson04_indexing::btree::Write;

    use super::super::testing::{VERSIONS, Version, model, store};
    use super::*;

    #[test]
    fn garbage_is_exactly_what_no_snapshot_from_the_horizon_on_can_see() {
        for user_key in [&b"a"[..], b"a\0", b"a\xff", b"b"] {
            for horizon in 0..=10 {
                let db = store(VERSIONS);
                let mut batch = Batch::new();
                let count = collect(&mut db.lock().tree, user_key, horizon, &mut batch).unwrap();
                let deleted: BTreeSet<(Vec<u8>, u64)> = batch
                    .writes
                    .iter()
                    .map(|write| match write {
                        Write::Delete(encoded) => key::decode(encoded).unwrap(),
                        Write::Put(..) => panic!("garbage collection only deletes"),
                    })
                    .collect();
                assert_eq!(count, deleted.len());
                assert!(deleted.iter().all(|(k, _)| k == user_key), "only this key's versions");
                let kept: Vec<Version> = VERSIONS
                    .iter()
                    .filter(|v| !deleted.contains(&(v.0.to_vec(), v.1)))
                    .copied()
                    .collect();
                let what = format!("{user_key:?} under horizon {horizon}");
                // No snapshot from the horizon on sees anything different.
                for snapshot in horizon..=10 {
                    assert_eq!(model(&kept, snapshot), model(VERSIONS, snapshot), "{what}");
                }
                // And the garbage is gone: at or before the horizon, at most
                // one version stays, and not a tombstone.
                let old: Vec<_> =
                    kept.iter().filter(|v| v.0 == user_key && v.1 <= horizon).collect();
                assert!(old.len() <= 1 && old.iter().all(|v| v.2.is_some()), "{what}: {old:?}");
            }
        }
    }
}
