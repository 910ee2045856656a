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

#[cfg(test)]
mod tests {
    use std::ops::Bound;

    use super::super::testing::{VERSIONS, store};
    use super::*;

    /// `validate` on the versions of `testing`, whose newest commit is 9.
    fn check(snapshot: u64, writes: &[&[u8]], reads: &[Read], watches: &[(&[u8], u64)]) -> bool {
        let writes = writes.iter().map(|k| (k.to_vec(), Some(b"v".to_vec()))).collect();
        let watches: Vec<_> = watches.iter().map(|(k, since)| (k.to_vec(), *since)).collect();
        let db = store(VERSIONS);
        match db.lock().validate(snapshot, &writes, reads, &watches) {
            Ok(()) => true,
            Err(Error::Serialization) => false,
            Err(e) => panic!("{e}"),
        }
    }

    fn range(start: &[u8], end: Bound<&[u8]>) -> Read {
        Read::Range(KeyRange {
            start: Bound::Included(start.to_vec()),
            end: end.map(<[u8]>::to_vec),
        })
    }

    #[test]
    fn a_written_key_must_have_no_version_newer_than_the_snapshot() {
        assert!(!check(8, &[b"b"], &[], &[]), "b was committed at 9");
        assert!(check(9, &[b"b"], &[], &[]));
        assert!(!check(4, &[b"a\0"], &[], &[]), "a tombstone at 5 is a change too");
        assert!(check(5, &[b"a\0"], &[], &[]));
        assert!(check(0, &[b"new"], &[], &[]), "a key never written");
        assert!(!check(8, &[b"new", b"a\xff", b"b"], &[], &[]), "one conflict among several");
        assert!(check(9, &[b"new", b"a", b"b"], &[], &[]));
    }

    #[test]
    fn a_read_key_or_range_must_be_unchanged_since_the_snapshot() {
        let key = |k: &[u8]| Read::Key(k.to_vec());
        assert!(!check(8, &[b"z"], &[key(b"b")], &[]));
        assert!(check(9, &[b"z"], &[key(b"b")], &[]));
        assert!(check(0, &[b"z"], &[key(b"c")], &[]), "a key never written");
        let a_keys = range(b"a", Bound::Included(b"a\xff"));
        assert!(!check(7, &[b"z"], std::slice::from_ref(&a_keys), &[]), "a was committed at 8");
        assert!(check(8, &[b"z"], &[a_keys], &[]));
        assert!(!check(8, &[b"z"], &[range(b"a\x01", Bound::Unbounded)], &[]), "b at 9");
        assert!(check(0, &[b"z"], &[range(b"c", Bound::Unbounded)], &[]));
        // Between "a\0" and "a\x01" lies no key at all.
        assert!(check(0, &[b"z"], &[range(b"a\0\0", Bound::Excluded(b"a\x01"))], &[]));
        // A range whose start is after its end is empty.
        assert!(check(0, &[b"z"], &[range(b"b", Bound::Excluded(b"a"))], &[]));
    }

    #[test]
    fn a_watched_key_must_be_unchanged_since_it_was_watched() {
        assert!(
            !check(9, &[b"z"], &[], &[(b"b", 8)]),
            "changed after the watch, before the snapshot"
        );
        assert!(check(9, &[b"z"], &[], &[(b"b", 9)]));
        assert!(!check(9, &[], &[], &[(b"a\0", 4)]), "deleted since; nothing written");
        assert!(check(0, &[], &[], &[(b"nobody", 0)]));
    }
}
