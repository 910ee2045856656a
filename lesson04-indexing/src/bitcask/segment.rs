//! Segments: the append-only files that hold the records, and their names.
//!
//! A segment is a run of lesson 3's framed records, nothing more: no header,
//! no footer, no index. The newest segment is the *active* one, the only one
//! written to; when it reaches `max_segment_bytes` it is sealed (fsynced,
//! never written again) and a new one starts. Ids only grow, so a higher id
//! always holds newer records.
//!
//! ```text
//!   0000000001.data  0000000002.data  0000000003.data  0000000004.data
//!   ┌──────────────┐ ┌──────────────┐ ┌──────────────┐ ┌─────────┐
//!   │ sealed       │ │ sealed       │ │ sealed,      │ │ active  │◄─ appends
//!   │              │ │              │ │ from a merge │ │         │
//!   └──────────────┘ └──────────────┘ └──────────────┘ └─────────┘
//!                                     0000000003.hint
//!   older ─────────────────────────────────────────────────────► newer
//! ```

use std::path::{Path, PathBuf};

use lesson03_persistence::fs::{FileSystem, OpenFile, read_exact_at, write_all};
use lesson03_persistence::record::{self, LogRecord};

use super::keydir::Location;
use crate::error::{Error, Result};

/// The file name of segment `id`'s records.
pub fn data_name(id: u32) -> String {
    format!("{id:010}.data")
}

/// The file name of segment `id`'s hint file.
pub fn hint_name(id: u32) -> String {
    format!("{id:010}.hint")
}

/// The segment id in a file name ending in `suffix` (`"0000000007.data"`
/// with `".data"` is 7), or `None` for any other name.
pub fn parse_id(name: &str, suffix: &str) -> Option<u32> {
    let digits = name.strip_suffix(suffix)?;
    if digits.len() != 10 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// One open segment file.
pub struct Segment<F: FileSystem> {
    /// Its id: higher is newer.
    pub id: u32,
    /// Its path, for error messages.
    pub path: PathBuf,
    /// The open file: appended to if this is the active segment, read at
    /// offsets in every case.
    pub file: F::File,
    /// Its length in bytes: where the next record goes.
    pub len: u64,
}

impl<F: FileSystem> Segment<F> {
    /// Opens segment `id` in `dir` (creating it if missing), for appends and
    /// positioned reads; `len` is its length, as recovery found it.
    pub fn open(fs: &F, dir: &Path, id: u32, len: u64) -> Result<Self> {
        let path = dir.join(data_name(id));
        let file = fs.open_append(&path).map_err(|e| Error::io("open", &path, e))?;
        Ok(Self { id, path, file, len })
    }

    /// Creates segment `id`, new and empty, and fsyncs the directory so
    /// that the new file's name survives a power cut.
    pub fn create(fs: &F, dir: &Path, id: u32) -> Result<Self> {
        let path = dir.join(data_name(id));
        let file = fs.create(&path).map_err(|e| Error::io("create", &path, e))?;
        fs.sync_dir(dir).map_err(|e| Error::io("fsync", dir, e))?;
        Ok(Self { id, path, file, len: 0 })
    }

    /// Appends a framed record; returns where it went. Not yet durable.
    pub fn append(&mut self, framed: &[u8]) -> Result<Location> {
        let location = Location {
            segment: self.id,
            offset: self.len,
            len: u32::try_from(framed.len()).expect("records are under MAX_PAYLOAD"),
        };
        let result = write_all(&mut self.file, framed);
        // A failed write may have left part of the record: count nothing,
        // the store is poisoned and recovery will cut the torn tail.
        result.map_err(|e| Error::io("write", &self.path, e))?;
        self.len += framed.len() as u64;
        Ok(location)
    }

    /// Makes every append so far durable.
    pub fn sync(&mut self) -> Result<()> {
        self.file.sync().map_err(|e| Error::io("fsync", &self.path, e))
    }

    // ANCHOR: read
    /// Reads the record at `location` with one positioned read, and checks
    /// it: its checksum (in `decode`), its length, and that it is a value of
    /// `key`. Anything else is corruption, named by file and offset: a bad
    /// byte on disk must never come back as a wrong value.
    pub fn read_value(&self, key: &[u8], location: Location) -> Result<Vec<u8>> {
        let mut framed = vec![0; location.len as usize];
        read_exact_at(&self.file, &mut framed, location.offset)
            .map_err(|e| Error::io("read", &self.path, e))?;
        let corrupt = |why: String| Error::corrupt(&self.path, location.offset, why);
        match record::decode(&framed) {
            Ok((LogRecord::Put { key: found, value, .. }, used)) if used == framed.len() => {
                if found != key {
                    return Err(corrupt(format!(
                        "a record of another key ({} bytes)",
                        found.len()
                    )));
                }
                Ok(value)
            }
            Ok((other, _)) => Err(corrupt(format!("not the value the keydir expects: {other:?}"))),
            Err(why) => Err(corrupt(why.to_string())),
        }
    }
    // ANCHOR_END: read
}

/// Checks that `framed` is exactly one intact `Put` of `key`.
pub fn check_framed(framed: &[u8], key: &[u8]) -> std::result::Result<(), String> {
    match record::decode(framed) {
        Ok((LogRecord::Put { key: found, .. }, used)) if used == framed.len() && found == key => {
            Ok(())
        }
        Ok(_) => Err("not the record the keydir expects".into()),
        Err(why) => Err(why.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_strangers_are_ignored() {
        assert_eq!(data_name(7), "0000000007.data");
        assert_eq!(parse_id(&data_name(7), ".data"), Some(7));
        assert_eq!(parse_id(&hint_name(4_000_000_000), ".hint"), Some(4_000_000_000));
        assert_eq!(parse_id("LOCK", ".data"), None);
        assert_eq!(parse_id("7.data", ".data"), None);
        assert_eq!(parse_id("000000000x.data", ".data"), None);
        assert_eq!(parse_id("0000000007.data.merging", ".data"), None);
    }
}
