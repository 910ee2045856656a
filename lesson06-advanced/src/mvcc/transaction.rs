//! A transaction: a snapshot to read, writes held until commit, and a note
//! of what it read for serializable validation.

use std::collections::BTreeMap;
use std::ops::Bound;

use lesson01_intro::{KeyRange, KeyValue, KvStore};
use lesson04_indexing::btree::{Batch, Limits, PageStore};

use super::{Db, Error, Isolation, Result, gc, key};

// ANCHOR: read_set
/// Something a transaction read, to check at commit that it has not
/// changed since.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Read {
    /// One key (found or not).
    Key(Vec<u8>),
    /// Every key of a range, present or absent: a new key in it is a change
    /// too (a phantom).
    Range(KeyRange),
}
// ANCHOR_END: read_set

/// A transaction. Dropping it without [`commit`](Transaction::commit)
/// rolls it back.
pub struct Transaction<S: PageStore> {
    db: Db<S>,
    id: u64,
    snapshot: u64,
    isolation: Isolation,
    /// The writes, newest per key: a value, or `None` for a delete.
    writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    /// What it read, kept only under [`Isolation::Serializable`].
    reads: Vec<Read>,
    /// Keys that must not have changed since a timestamp, whatever the
    /// isolation: Redis's `WATCH`.
    watches: Vec<(Vec<u8>, u64)>,
    /// Ranges that must not have changed since a timestamp, whatever the
    /// isolation (SQL's `CREATE INDEX` reads a whole table).
    range_watches: Vec<(KeyRange, u64)>,
    ended: bool,
}

impl<S: PageStore> Transaction<S> {
    pub(crate) fn new(db: Db<S>, id: u64, snapshot: u64, isolation: Isolation) -> Self {
        Self {
            db,
            id,
            snapshot,
            isolation,
            writes: BTreeMap::new(),
            reads: Vec::new(),
            watches: Vec::new(),
            range_watches: Vec::new(),
            ended: false,
        }
    }

    /// The store it runs on.
    pub fn db(&self) -> &Db<S> {
        &self.db
    }

    /// The timestamp of the snapshot it reads.
    pub fn snapshot(&self) -> u64 {
        self.snapshot
    }

    /// Its isolation level.
    pub fn isolation(&self) -> Isolation {
        self.isolation
    }

    // ANCHOR: get
    /// The value of `key`: its own write if it made one, else the snapshot's.
    pub fn get(&mut self, key: &[u8]) -> lesson04_indexing::Result<Option<Vec<u8>>> {
        if let Some(write) = self.writes.get(key) {
            return Ok(write.clone());
        }
        self.remember(Read::Key(key.to_vec()));
        match self.db.lock().read(key, self.snapshot) {
            Ok(value) => Ok(value),
            Err(Error::Storage(e)) => Err(e),
            Err(Error::Serialization) => unreachable!("reads do not validate"),
        }
    }
    // ANCHOR_END: get

    /// The pairs in `range`, in key order: the snapshot's, with its own
    /// writes laid over them.
    pub fn scan(&mut self, range: KeyRange) -> lesson04_indexing::Result<Vec<KeyValue>> {
        let snapshot = match self.db.lock().scan(&range, self.snapshot) {
            Ok(pairs) => pairs,
            Err(Error::Storage(e)) => return Err(e),
            Err(Error::Serialization) => unreachable!("scans do not validate"),
        };
        let mut merged: BTreeMap<Vec<u8>, Vec<u8>> = snapshot.into_iter().collect();
        for (key, write) in self.writes.iter().filter(|(key, _)| range.contains(key)) {
            match write {
                Some(value) => merged.insert(key.clone(), value.clone()),
                None => merged.remove(key),
            };
        }
        self.remember(Read::Range(range));
        Ok(merged.into_iter().collect())
    }

    /// Sets `key` to `value` when the transaction commits.
    pub fn set(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.writes.insert(key, Some(value));
    }

    /// Deletes `key` when the transaction commits; says whether it is there
    /// now (which reads it). Deleting a key that is not there writes
    /// nothing: a tombstone would be a change for nothing, failing other
    /// transactions' commits and watches.
    pub fn delete(&mut self, key: &[u8]) -> lesson04_indexing::Result<bool> {
        let found = self.get(key)?.is_some();
        if found {
            self.writes.insert(key.to_vec(), None);
        }
        Ok(found)
    }

    /// Makes the commit fail unless `key` is unchanged since timestamp
    /// `since` (Redis's `WATCH`, which holds at every isolation level).
    /// Until the transaction ends, garbage collection stays at or before
    /// `since`: a deletion of the key since then stays in the tree to be
    /// seen.
    pub fn watch(&mut self, key: Vec<u8>, since: u64) {
        if let Some(floor) = self.db.lock().active.get_mut(&self.id) {
            *floor = (*floor).min(since);
        }
        self.watches.push((key, since));
    }

    /// Makes the commit fail if any key in `range` changes after timestamp
    /// `since`, whatever the isolation: for a transaction whose writes were
    /// computed from the whole range.
    pub fn watch_range(&mut self, range: KeyRange, since: u64) {
        self.range_watches.push((range, since));
    }

    fn remember(&mut self, read: Read) {
        if self.isolation == Isolation::Serializable {
            self.reads.push(read);
        }
    }

    // ANCHOR: commit
    /// Commits: checks for conflicts, then writes every version and the
    /// new `last_commit` in one atomic batch, with whatever garbage is due.
    /// Returns the commit's timestamp, or `None` for a transaction that
    /// wrote nothing. On [`Error::Serialization`] nothing was written.
    pub fn commit(mut self) -> Result<Option<u64>> {
        self.ended = true;
        let mut inner = self.db.lock();
        inner.active.remove(&self.id);
        key_sizes(&self.writes, inner.tree.meta().page_size as usize)?;
        let validated = inner.validate(
            self.snapshot,
            &self.writes,
            if self.writes.is_empty() { &[] } else { &self.reads },
            &self.watches,
        );
        let validated = validated.and_then(|()| {
            for (range, since) in &self.range_watches {
                if inner.changed_since(range, *since)? {
                    return Err(Error::Serialization);
                }
            }
            Ok(())
        });
        if let Err(e) = validated {
            inner.stats.conflicts += u64::from(matches!(e, Error::Serialization));
            return Err(e);
        }
        if self.writes.is_empty() {
            inner.stats.read_only += 1;
            return Ok(None);
        }
        let ts = inner.last_commit + 1;
        let mut batch = Batch::new();
        for (key, value) in &self.writes {
            batch.put(key::encode(key, ts), key::encode_value(value.as_deref()));
        }
        batch.put(key::LAST_COMMIT, ts.to_be_bytes());
        let due = gc::due(&mut inner, &mut batch)?;
        inner.tree.write(&batch)?;
        inner.last_commit = ts;
        inner.garbage.drain(..due.commits);
        if inner.collect_garbage {
            inner.garbage.push_back((ts, self.writes.keys().cloned().collect()));
        }
        inner.stats.commits += 1;
        inner.stats.collected += due.versions as u64;
        Ok(Some(ts))
    }
    // ANCHOR_END: commit

    /// Rolls back: nothing it wrote was ever in the store, so this only
    /// forgets it.
    pub fn rollback(mut self) {
        self.end();
    }

    fn end(&mut self) {
        if !self.ended {
            self.ended = true;
            let mut inner = self.db.lock();
            inner.active.remove(&self.id);
            if self.writes.is_empty() {
                inner.stats.read_only += 1;
            } else {
                inner.stats.rollbacks += 1;
            }
        }
    }
}

/// Refuses a key too long for the tree once versioned, with the limit in
/// the user's terms: the tree's own error would count the version's bytes.
fn key_sizes(writes: &BTreeMap<Vec<u8>, Option<Vec<u8>>>, page_size: usize) -> Result<()> {
    let max = Limits::for_page_size(page_size).max_key;
    for user_key in writes.keys() {
        let overhead = key::encode(user_key, 0).len() - user_key.len();
        if user_key.len() + overhead > max {
            let limit = max.saturating_sub(overhead);
            let size = user_key.len();
            return Err(lesson04_indexing::Error::TooLarge { what: "a key", size, limit }.into());
        }
    }
    Ok(())
}

impl<S: PageStore> Drop for Transaction<S> {
    fn drop(&mut self) {
        self.end();
    }
}

/// A transaction is a key-value store: lesson 4's session runs lesson 2's
/// commands on it unchanged.
impl<S: PageStore> KvStore for Transaction<S> {
    type Error = lesson04_indexing::Error;

    fn get(&mut self, key: &[u8]) -> lesson04_indexing::Result<Option<Vec<u8>>> {
        Transaction::get(self, key)
    }

    fn set(&mut self, key: Vec<u8>, value: Vec<u8>) -> lesson04_indexing::Result<()> {
        Transaction::set(self, key, value);
        Ok(())
    }

    fn delete(&mut self, key: &[u8]) -> lesson04_indexing::Result<bool> {
        Transaction::delete(self, key)
    }

    fn scan(&mut self, range: KeyRange) -> lesson04_indexing::Result<Vec<KeyValue>> {
        Transaction::scan(self, range)
    }

    fn len(&mut self) -> lesson04_indexing::Result<usize> {
        Ok(Transaction::scan(self, KeyRange { start: Bound::Unbounded, end: Bound::Unbounded })?
            .len())
    }
}
