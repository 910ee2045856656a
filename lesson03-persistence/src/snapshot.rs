//! Snapshots: the whole state in one file, like Redis's RDB.
//!
//! ```text
//!   ┌──────────┬─────────┬─────────┬─────────┬─────────┬──────────┬─────────┬──────────────┐
//!   │ magic    │ version │ entries │ log id  │ records │ body len │ crc32   │ body         │
//!   │ 8 bytes  │ u32     │ u64     │ u64     │ u64     │ u64      │ of body │ bincode of   │
//!   │ L3SNAP01 │ = 2     │         │ covers: the log and how     │ of the  │ the entries  │
//!   │          │         │         │ many of its records         │ fields  │ (LogRecords) │
//!   │          │         │         │                   │         │ and body│              │
//!   └──────────┴─────────┴─────────┴─────────┴─────────┴──────────┴─────────┴──────────────┘
//!   0          8         12        20        28        36         44        48
//! ```
//!
//! The entries are the records of [`lesson02_kv::Store::dump`]: a `Put`
//! per string, one record per list, hash, set or sorted set, an `Expire`
//! per collection with a deadline. *Covers* says which log records the
//! state already includes, so that recovery replays only the later ones
//! (see [`crate::durable`] for why that must be exact).
//!
//! Writing one safely takes four steps, because a crash can stop us between
//! any two of them:
//!
//! ```text
//!   1. write snapshot.tmp           crash here: snapshot.db is untouched
//!   2. fsync snapshot.tmp           the bytes are on disk
//!   3. rename over snapshot.db      atomic: readers see the old file or the new one
//!   4. fsync the directory          the rename itself is on disk
//! ```
//!
//! Without step 2, a crash after the rename can leave a `snapshot.db` that
//! names the new file whose bytes never reached the disk; without step 4, it
//! can leave the old name pointing at the old file, after the caller was told
//! the snapshot was saved.

use std::path::Path;

use lesson02_kv::Change;

use crate::error::{Error, Result};
use crate::fs::{FileSystem, OpenFile, write_all};
use crate::record::LogRecord;

/// The first bytes of every snapshot file.
pub const MAGIC: &[u8; 8] = b"L3SNAP01";
/// The format version this code writes and reads.
pub const VERSION: u32 = 2;
/// Bytes before the body.
pub const HEADER_LEN: usize = 48;

/// The log records a snapshot already holds: the first `records` records
/// (its `Start` record included) of the log whose id is `log_id`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Covers {
    /// The id in the log's `Start` record.
    pub log_id: u64,
    /// How many of its records, from the first.
    pub records: u64,
}

/// A snapshot, as loaded.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// The changes that rebuild its state.
    pub state: Vec<Change>,
    /// The log records it holds.
    pub covers: Covers,
    /// Its size in bytes.
    pub bytes: u64,
}

// ANCHOR: write
/// Writes `state` (the changes of [`lesson02_kv::Store::dump`]), which
/// holds the log records `covers` says, as the snapshot at `path`,
/// atomically and durably. Returns its size in bytes.
pub fn write<F: FileSystem>(fs: &F, path: &Path, state: &[Change], covers: Covers) -> Result<u64> {
    // exercise 3.3: begin
    let entries: Vec<LogRecord> = state.iter().cloned().map(LogRecord::from).collect();
    let body = bincode::serde::encode_to_vec(&entries, bincode::config::standard())
        .expect("encoding to memory");
    let mut bytes = Vec::with_capacity(HEADER_LEN + body.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&VERSION.to_le_bytes());
    bytes.extend_from_slice(&(entries.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&covers.log_id.to_le_bytes());
    bytes.extend_from_slice(&covers.records.to_le_bytes());
    bytes.extend_from_slice(&(body.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&checksum(&bytes[8..44], &body).to_le_bytes());
    bytes.extend_from_slice(&body);

    let tmp = path.with_extension("tmp");
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut file = fs.create(&tmp).map_err(|e| Error::io("create", &tmp, e))?;
    write_all(&mut file, &bytes).map_err(|e| Error::io("write", &tmp, e))?;
    file.sync().map_err(|e| Error::io("fsync", &tmp, e))?;
    drop(file);
    fs.rename(&tmp, path).map_err(|e| Error::io("rename", &tmp, e))?;
    fs.sync_dir(dir).map_err(|e| Error::io("fsync", dir, e))?;
    Ok(bytes.len() as u64)
    // exercise 3.3: end
}
// ANCHOR_END: write

/// The CRC-32 of the header's fields and the body: a damaged `covers`
/// would make recovery skip the wrong records, so it is checked too.
fn checksum(fields: &[u8], body: &[u8]) -> u32 {
    let mut crc = crc32fast::Hasher::new();
    crc.update(fields);
    crc.update(body);
    crc.finalize()
}

// ANCHOR: load
/// Reads the snapshot at `path`: `None` if there is none, the snapshot if
/// it is valid, and an error naming what is wrong otherwise.
pub fn load<F: FileSystem>(fs: &F, path: &Path) -> Result<Option<Snapshot>> {
    let Some(bytes) = fs.read(path).map_err(|e| Error::io("read", path, e))? else {
        return Ok(None);
    };
    let corrupt = |reason: String| Error::CorruptSnapshot { path: path.into(), reason };
    if bytes.len() < HEADER_LEN {
        return Err(corrupt(format!(
            "{} bytes is shorter than the {HEADER_LEN}-byte header",
            bytes.len()
        )));
    }
    if &bytes[..8] != MAGIC {
        return Err(corrupt("it does not start with the snapshot magic bytes".into()));
    }
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
    let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
    let (version, count) = (u32_at(8), u64_at(12));
    let covers = Covers { log_id: u64_at(20), records: u64_at(28) };
    let (body_len, crc) = (u64_at(36), u32_at(44));
    if version != VERSION {
        return Err(corrupt(format!(
            "format version {version}, but this program reads version {VERSION}"
        )));
    }
    let body = &bytes[HEADER_LEN..];
    if body.len() as u64 != body_len {
        return Err(corrupt(format!(
            "the header promises {body_len} bytes of entries, the file has {}",
            body.len()
        )));
    }
    if checksum(&bytes[8..44], body) != crc {
        return Err(corrupt("checksum mismatch: the header or the entries are damaged".into()));
    }
    let entries: Vec<LogRecord> =
        match bincode::serde::decode_from_slice(body, bincode::config::standard()) {
            Ok((entries, used)) if used == body.len() => entries,
            _ => return Err(corrupt("the entries do not decode".into())),
        };
    if entries.len() as u64 != count {
        return Err(corrupt(format!(
            "the header promises {count} entries, the body has {}",
            entries.len()
        )));
    }
    let state = entries.into_iter().filter_map(LogRecord::into_change).collect();
    Ok(Some(Snapshot { state, covers, bytes: bytes.len() as u64 }))
}
// ANCHOR_END: load

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::{Faults, FaultyFs, RealFs};

    fn state() -> Vec<Change> {
        vec![
            Change::Put { key: b"a".to_vec(), value: b"1".to_vec(), expires_at: None },
            Change::Put { key: b"b".to_vec(), value: vec![0, 255], expires_at: Some(99) },
            Change::ListPush { key: b"l".to_vec(), front: false, values: vec![b"x".to_vec()] },
            Change::SortedPut { key: b"z".to_vec(), pairs: vec![(1.5, b"m".to_vec())] },
            Change::Expire { key: b"l".to_vec(), at_ms: Some(5) },
        ]
    }

    #[test]
    fn round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("snapshot.db");
        assert_eq!(load(&RealFs, &path).unwrap(), None);
        let covers = Covers { log_id: 7, records: 3 };
        write(&RealFs, &path, &state(), covers).unwrap();
        let size = std::fs::metadata(&path).unwrap().len();
        assert_eq!(
            load(&RealFs, &path).unwrap(),
            Some(Snapshot { state: state(), covers, bytes: size })
        );
        assert!(!path.with_extension("tmp").exists());
    }

    #[test]
    fn every_damaged_byte_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("snapshot.db");
        write(&RealFs, &path, &state(), Covers::default()).unwrap();
        let good = std::fs::read(&path).unwrap();
        for at in 0..good.len() {
            let mut bad = good.clone();
            bad[at] ^= 0x10;
            std::fs::write(&path, &bad).unwrap();
            assert!(load(&RealFs, &path).is_err(), "a flip at byte {at} went unnoticed");
        }
        std::fs::write(&path, &good[..good.len() - 1]).unwrap();
        let err = load(&RealFs, &path).unwrap_err().to_string();
        assert!(err.contains("promises"), "{err}");
    }

    #[test]
    fn a_crash_at_any_step_leaves_the_old_snapshot_or_the_new_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("snapshot.db");
        let old =
            vec![Change::Put { key: b"old".to_vec(), value: b"x".to_vec(), expires_at: None }];
        for crash_at in 0..6 {
            write(&RealFs, &path, &old, Covers::default()).unwrap();
            let fs = FaultyFs::new(Faults { crash_before_op: Some(crash_at), ..Faults::default() });
            let result = write(&fs, &path, &state(), Covers::default());
            let loaded = load(&RealFs, &path).unwrap().unwrap().state;
            if result.is_ok() {
                assert_eq!(loaded, state());
            } else {
                assert!(
                    loaded == old || loaded == state(),
                    "crash before op {crash_at}: {loaded:?}"
                );
            }
        }
    }
}
