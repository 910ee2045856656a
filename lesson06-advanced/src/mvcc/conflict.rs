//! Conflicts, found at commit: first-committer-wins for writes, and read
//! validation for serializable transactions.
//!
//! Both ask one question of the tree: has anything been committed here
//! since my snapshot? A key's versions are stored newest first, so for one
//! key that is one seek; for a scanned range, a walk over its versions.

use std::collections::BTreeMap;

use lesson01_intro::KeyRange;
use lesson04_indexing::btree::PageStore;

use super::transaction::Read;
use super::{Error, Inner, Result, decode_or_corrupt, key};

impl<S: PageStore> Inner<S> {
    /// The timestamp of `key`'s newest version (a tombstone counts), or
    /// `None` if it has none.
    pub(crate) fn newest(&mut self, key: &[u8]) -> Result<Option<u64>> {
        let prefix = key::prefix(key);
        let mut cursor = self.tree.cursor();
        cursor.seek(&prefix)?;
        let found = cursor.key().filter(|found| found.starts_with(&prefix)).map(<[u8]>::to_vec);
        match found {
            Some(found) => Ok(Some(decode_or_corrupt(&self.tree, &found)?.1)),
            None => Ok(None),
        }
    }

    // ANCHOR: changed_since
    /// Whether any key in `range` has a version committed after `since`:
    /// a change, an insert or a delete.
    pub(crate) fn changed_since(&mut self, range: &KeyRange, since: u64) -> Result<bool> {
        for (encoded, _) in self.tree.scan(&key::versions_of(range))? {
            if decode_or_corrupt(&self.tree, &encoded)?.1 > since {
                return Ok(true);
            }
        }
        Ok(false)
    }
    // ANCHOR_END: changed_since

    // ANCHOR: validate
    /// Checks a transaction that read the snapshot `snapshot` before it
    /// commits: every key it writes, every read it remembered, and every
    /// watched key must be unchanged since.
    pub(crate) fn validate(
        &mut self,
        snapshot: u64,
        writes: &BTreeMap<Vec<u8>, Option<Vec<u8>>>,
        reads: &[Read],
        watches: &[(Vec<u8>, u64)],
    ) -> Result<()> {
        // exercise 6.3: begin
        for key in writes.keys() {
            // First-committer-wins: a version newer than our snapshot was
            // committed by a transaction that ran alongside ours.
            if self.newest(key)?.is_some_and(|ts| ts > snapshot) {
                return Err(Error::Serialization);
            }
        }
        for read in reads {
            let changed = match read {
                Read::Key(key) => self.newest(key)?.is_some_and(|ts| ts > snapshot),
                Read::Range(range) => self.changed_since(range, snapshot)?,
            };
            if changed {
                return Err(Error::Serialization);
            }
        }
        for (key, since) in watches {
            if self.newest(key)?.is_some_and(|ts| ts > *since) {
                return Err(Error::Serialization);
            }
        }
        Ok(())
        // exercise 6.3: end
    }
    // ANCHOR_END: validate
}
