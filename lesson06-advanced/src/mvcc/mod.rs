//! Multi-version concurrency control over lesson 4's B+tree.
//!
//! ```text
//!   Db           ─ the shared store: begin, the horizon, vacuum, statistics
//!     transaction ─ a snapshot, buffered writes, reads remembered; commit
//!     conflict    ─ first-committer-wins, and read validation (serializable)
//!     gc          ─ versions no snapshot can see, deleted
//!     key         ─ a key and a timestamp in one B+tree key, newest first
//! ```
//!
//! Every committed write is a **version**: the key, the commit's timestamp
//! and the value (or a tombstone for a delete), stored side by side in the
//! B+tree. A transaction reads a **snapshot**: the newest version of each
//! key committed at or before the timestamp it began at. Writers add
//! versions and never change one, so readers never wait for writers, and a
//! long report sees one consistent state while updates go on.
//!
//! ## The design, and where it comes from
//!
//! - **Timestamps are given at commit**, from a counter stored in the tree
//!   (`last_commit`). A transaction's snapshot is the counter when it began.
//!   A version is visible to a snapshot if its timestamp is no later.
//! - **Writes wait in the transaction** until commit, then go into the tree
//!   as one [`Batch`](lesson04_indexing::btree::Batch), with the new
//!   `last_commit`: lesson 4's atomic commit makes the transaction durable
//!   and visible all at once, or not at all. Nothing uncommitted is ever
//!   in the tree, so there is nothing to undo after a crash.
//! - **The later committer aborts** when two concurrent transactions write
//!   the same key (first-committer-wins): at commit, a newer version of a
//!   key it writes than its snapshot means someone else committed it first.
//! - **Serializable** adds read validation: at commit, a transaction fails
//!   if anything it read (a key, or a scanned range) has a version newer
//!   than its snapshot. Its reads are then still true at its commit, so it
//!   could have run, all at once, at that instant: the commits' order is a
//!   serial order.
//!
//! This is optimistic concurrency control with multiversion reads: what
//! FoundationDB's resolver and Badger's oracle do. PostgreSQL instead
//! writes uncommitted row versions into the table, with the writer's
//! transaction id, and a snapshot lists the transactions running when it
//! was taken; toydb does the same over a key-value store. Ours needs no
//! list, at the cost of holding a transaction's writes in memory.
//!
//! The store is shared behind one mutex, taken for each read and for the
//! whole of a commit: commits are serial, so validation and the write it
//! allows cannot interleave with another commit.

pub mod conflict;
pub mod gc;
pub mod key;
pub mod transaction;

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use lesson01_intro::{KeyRange, KeyValue};
use lesson04_indexing::btree::{BTree, PageStore};

pub use transaction::{Read, Transaction};

/// How much a transaction is protected from the others running with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Isolation {
    /// Reads see the snapshot; concurrent writes to the same key abort the
    /// later committer. Write skew is possible.
    #[default]
    Snapshot,
    /// Snapshot isolation, plus: a transaction whose reads changed before
    /// it commits aborts. Equivalent to some serial order.
    Serializable,
}

/// Why a transaction could not commit.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Another transaction committed a conflicting change first: run the
    /// transaction again (PostgreSQL's SQLSTATE 40001).
    #[error("serialization failure, retry")]
    Serialization,
    /// The store failed: I/O, corruption, a key too large.
    #[error(transparent)]
    Storage(#[from] lesson04_indexing::Error),
}

/// A transaction's result type.
pub type Result<T> = std::result::Result<T, Error>;

/// Counters for `INFO`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Transactions that committed writes.
    pub commits: u64,
    /// Transactions that ended without writing anything, committed or
    /// not.
    pub read_only: u64,
    /// Transactions aborted by a conflict.
    pub conflicts: u64,
    /// Transactions with writes that were rolled back (or dropped).
    pub rollbacks: u64,
    /// Versions deleted by garbage collection.
    pub collected: u64,
}

/// The store behind the lock.
pub(crate) struct Inner<S: PageStore> {
    pub(crate) tree: BTree<S>,
    /// The newest commit's timestamp: the snapshot a transaction beginning
    /// now reads.
    pub(crate) last_commit: u64,
    /// Each running transaction's snapshot, by transaction id (or the
    /// oldest commit it watches since, if older).
    pub(crate) active: BTreeMap<u64, u64>,
    next_id: u64,
    /// The keys each commit wrote, oldest first: once no snapshot is older
    /// than a commit, the versions its writes replaced are garbage.
    pub(crate) garbage: VecDeque<(u64, Vec<Vec<u8>>)>,
    /// Whether commits collect garbage (off only to measure what it saves).
    pub(crate) collect_garbage: bool,
    pub(crate) stats: Stats,
}

/// A multiversion store over a B+tree, shared by the transactions that
/// use it: clone it freely.
pub struct Db<S: PageStore> {
    inner: Arc<Mutex<Inner<S>>>,
}

impl<S: PageStore> Clone for Db<S> {
    fn clone(&self) -> Self {
        Self { inner: self.inner.clone() }
    }
}

impl<S: PageStore> Db<S> {
    /// Opens the store kept in `tree`, and collects the garbage a previous
    /// run left (its queue of commits to collect lived in memory).
    pub fn open(tree: BTree<S>) -> Result<Self> {
        let db = Self::open_without_gc(tree)?;
        db.lock().collect_garbage = true;
        db.vacuum()?;
        Ok(db)
    }

    /// Opens the store in `tree`, never collecting garbage: every version
    /// stays, as in toydb. To measure what garbage collection saves.
    pub fn open_without_gc(mut tree: BTree<S>) -> Result<Self> {
        let last_commit = match tree.get(key::LAST_COMMIT)? {
            None => 0,
            Some(bytes) => u64::from_be_bytes(bytes.as_slice().try_into().map_err(|_| {
                lesson04_indexing::Error::corrupt(
                    tree.store_path(),
                    0,
                    format!("last_commit is {} bytes, not 8", bytes.len()),
                )
            })?),
        };
        let inner = Inner {
            tree,
            last_commit,
            active: BTreeMap::new(),
            next_id: 1,
            garbage: VecDeque::new(),
            collect_garbage: false,
            stats: Stats::default(),
        };
        Ok(Self { inner: Arc::new(Mutex::new(inner)) })
    }

    /// Begins a transaction: its snapshot is every commit so far.
    pub fn begin(&self, isolation: Isolation) -> Transaction<S> {
        let mut inner = self.lock();
        let (id, snapshot) = (inner.next_id, inner.last_commit);
        inner.next_id += 1;
        inner.active.insert(id, snapshot);
        Transaction::new(self.clone(), id, snapshot, isolation)
    }

    /// The newest commit's timestamp.
    pub fn last_commit(&self) -> u64 {
        self.lock().last_commit
    }

    /// The oldest snapshot any running transaction reads: versions
    /// replaced at or before it are invisible to everyone.
    pub fn horizon(&self) -> u64 {
        self.lock().horizon()
    }

    /// Deletes every version no running transaction can see, in the whole
    /// store (PostgreSQL's `VACUUM`); returns how many. Commits collect
    /// their own garbage as they go: this is for after a restart, or to
    /// see the store's size after a long transaction ended.
    pub fn vacuum(&self) -> Result<usize> {
        let mut inner = self.lock();
        let horizon = inner.horizon();
        let collected = gc::vacuum(&mut inner.tree, horizon)?;
        inner.garbage.retain(|(ts, _)| *ts > horizon);
        inner.stats.collected += collected as u64;
        Ok(collected)
    }

    /// How many versions the tree holds (tombstones included), and of how
    /// many keys: the garbage is the difference.
    pub fn versions(&self) -> Result<(usize, usize)> {
        let mut inner = self.lock();
        let all = inner.tree.scan(&key::versions_of(&KeyRange::all()))?;
        let mut keys = 0;
        let mut last: Option<Vec<u8>> = None;
        for (encoded, _) in &all {
            let (user_key, _) = decode_or_corrupt(&inner.tree, encoded)?;
            if last.as_ref() != Some(&user_key) {
                keys += 1;
                last = Some(user_key);
            }
        }
        Ok((all.len(), keys))
    }

    /// The counters.
    pub fn stats(&self) -> Stats {
        self.lock().stats
    }

    /// The number of running transactions.
    pub fn running(&self) -> usize {
        self.lock().active.len()
    }

    /// Runs `f` on the B+tree under the lock: for `DEBUG TREE`, `INFO`,
    /// and the tests.
    pub fn with_tree<T>(&self, f: impl FnOnce(&mut BTree<S>) -> T) -> T {
        f(&mut self.lock().tree)
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner<S>> {
        // A panic under the lock leaves the tree as its last commit left it
        // (lesson 4 rolls a failed batch back), so going on is safe.
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl<S: PageStore> Inner<S> {
    // ANCHOR: horizon
    /// The oldest snapshot still being read: the GC horizon. With no
    /// transaction running, the newest commit.
    pub(crate) fn horizon(&self) -> u64 {
        self.active.values().copied().min().unwrap_or(self.last_commit)
    }
    // ANCHOR_END: horizon

    // ANCHOR: read
    /// The value of `key` in the snapshot taken at `snapshot`: the first
    /// version at or after `(key, snapshot)` in the tree, if it is `key`'s.
    pub(crate) fn read(&mut self, key: &[u8], snapshot: u64) -> Result<Option<Vec<u8>>> {
        let prefix = key::prefix(key);
        let mut cursor = self.tree.cursor();
        cursor.seek(&key::encode(key, snapshot))?;
        match cursor.key() {
            Some(found) if found.starts_with(&prefix) => {
                let value = cursor.value()?;
                let path = self.tree.store_path();
                Ok(key::decode_value(&value).map_err(|e| corrupt(path, e))?.map(<[u8]>::to_vec))
            }
            _ => Ok(None),
        }
    }
    // ANCHOR_END: read

    // ANCHOR: scan
    /// The pairs of `range` in the snapshot taken at `snapshot`, in key
    /// order: for each key, its newest version no later than the snapshot,
    /// unless that is a tombstone.
    pub(crate) fn scan(&mut self, range: &KeyRange, snapshot: u64) -> Result<Vec<KeyValue>> {
        let mut out = Vec::new();
        let mut decided: Option<Vec<u8>> = None;
        // Versions come in key order, each key's newest first.
        for (encoded, value) in self.tree.scan(&key::versions_of(range))? {
            // exercise 6.2: begin
            let (user_key, ts) = decode_or_corrupt(&self.tree, &encoded)?;
            if ts > snapshot || decided.as_ref() == Some(&user_key) {
                continue; // too new for the snapshot, or older than the one it sees
            }
            let path = self.tree.store_path();
            if let Some(value) = key::decode_value(&value).map_err(|e| corrupt(path, e))? {
                out.push((user_key.clone(), value.to_vec()));
            }
            decided = Some(user_key);
            // exercise 6.2: end
        }
        Ok(out)
    }
    // ANCHOR_END: scan
}

/// Decodes a version's B+tree key, or reports the tree as corrupt.
pub(crate) fn decode_or_corrupt<S: PageStore>(
    tree: &BTree<S>,
    encoded: &[u8],
) -> lesson04_indexing::Result<(Vec<u8>, u64)> {
    key::decode(encoded)
        .ok_or_else(|| corrupt(tree.store_path(), "a version's key does not decode"))
}

fn corrupt(path: &std::path::Path, why: impl Into<String>) -> lesson04_indexing::Error {
    lesson04_indexing::Error::corrupt(path, 0, why)
}

/// Stores built version by version, for the unit tests: no commit, no
/// validation, no garbage collection involved.
#[cfg(test)]
pub(crate) mod testing {
    use lesson04_indexing::btree::{Batch, MemStore};

    use super::*;

    /// A version: the key, its commit's timestamp, the value or `None` for
    /// a tombstone.
    pub(crate) type Version = (&'static [u8], u64, Option<&'static [u8]>);

    /// The versions, and keys full of the bytes the encoding escapes.
    pub(crate) const VERSIONS: &[Version] = &[
        (b"a", 1, Some(b"a1")),
        (b"a", 4, Some(b"a4")),
        (b"a", 6, None),
        (b"a", 8, Some(b"a8")),
        (b"a\0", 2, Some(b"nul2")),
        (b"a\0", 5, None),
        (b"a\xff", 3, Some(b"ff3")),
        (b"b", 7, Some(b"b7")),
        (b"b", 9, Some(b"b9")),
    ];

    /// A store holding exactly `versions`, its last commit the newest.
    pub(crate) fn store(versions: &[Version]) -> Db<MemStore> {
        let mut tree = BTree::in_memory(512);
        let mut batch = Batch::new();
        for (user_key, ts, value) in versions {
            batch.put(key::encode(user_key, *ts), key::encode_value(*value));
        }
        let last = versions.iter().map(|v| v.1).max().unwrap_or(0);
        batch.put(key::LAST_COMMIT, last.to_be_bytes());
        tree.write(&batch).unwrap();
        Db::open_without_gc(tree).unwrap()
    }

    /// What the snapshot at `snapshot` holds, by the definition: each key's
    /// newest version no later than it, unless a tombstone.
    pub(crate) fn model(versions: &[Version], snapshot: u64) -> Vec<KeyValue> {
        let mut newest: BTreeMap<&[u8], (u64, Option<&[u8]>)> = BTreeMap::new();
        for (user_key, ts, value) in versions.iter().filter(|v| v.1 <= snapshot) {
            let entry = newest.entry(user_key).or_insert((*ts, *value));
            if *ts >= entry.0 {
                *entry = (*ts, *value);
            }
        }
        newest.into_iter().filter_map(|(k, (_, v))| Some((k.to_vec(), v?.to_vec()))).collect()
    }
}

#[cfg(test)]
mod tests {
    use std::ops::Bound;

    use super::testing::{VERSIONS, model, store};
    use super::*;

    #[test]
    fn a_scan_sees_each_keys_newest_version_no_later_than_the_snapshot() {
        let db = store(VERSIONS);
        for snapshot in 0..=10 {
            let got = db.lock().scan(&KeyRange::all(), snapshot).unwrap();
            assert_eq!(got, model(VERSIONS, snapshot), "snapshot {snapshot}");
        }
    }

    #[test]
    fn a_scan_of_part_of_the_keys_and_reads_agree_with_it() {
        let db = store(VERSIONS);
        let range = KeyRange { start: Bound::Excluded(b"a".to_vec()), end: Bound::Unbounded };
        for snapshot in 0..=10 {
            let got = db.lock().scan(&range, snapshot).unwrap();
            let expected: Vec<_> =
                model(VERSIONS, snapshot).into_iter().filter(|(k, _)| k != b"a").collect();
            assert_eq!(got, expected, "snapshot {snapshot}");
            for user_key in [&b"a"[..], b"a\0", b"a\xff", b"b", b"c"] {
                let scanned = model(VERSIONS, snapshot)
                    .into_iter()
                    .find(|(k, _)| k == user_key)
                    .map(|(_, v)| v);
                assert_eq!(db.lock().read(user_key, snapshot).unwrap(), scanned);
            }
        }
    }
}
