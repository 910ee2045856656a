//! Opening a store: rebuild the keydir from what is on disk.
//!
//! ```text
//!   lock the directory (a second process gets Locked)
//!     │
//!   MERGE present? ── yes ─► roll the merge forward (see merge)
//!     │ no
//!   leftovers of an unfinished merge? ── yes ─► delete them
//!     │
//!   for each segment, oldest first:
//!     ├─ valid hint file  ─► keydir entries from the hint: no value is read
//!     └─ otherwise        ─► read the segment with lesson 3's scan:
//!                              intact                       → replay it
//!                              torn tail, active segment    → cut it, report it
//!                              torn tail, sealed segment    → Corrupt
//!                              damage, then valid records   → Corrupt
//!     │
//!   the newest segment without a hint goes on as the active one;
//!   after a merge, a new active segment is started
//! ```
//!
//! Records are replayed oldest first, so a later `Put` of a key replaces an
//! earlier one and a `Delete` removes it. Only the active segment can have
//! a torn tail: a sealed segment was fsynced whole before the next one was
//! created, and a merged one before the merge committed, so a bad tail
//! there is damage, not a crash.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use lesson03_persistence::durable::lock_dir;
use lesson03_persistence::fs::{FileSystem, OpenFile};
use lesson03_persistence::log;
use lesson03_persistence::record::{HEADER_LEN, LogRecord};

use super::keydir::{KeyDir, Location};
use super::segment::{self, Segment};
use super::{Bitcask, BitcaskOptions, hint, merge};
use crate::error::{Error, Result};

/// What opening found: shown at start-up, like lesson 3's recovery report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenReport {
    /// Segment files, the active one included.
    pub segments: usize,
    /// Live keys.
    pub keys: usize,
    /// Segments whose keydir entries came from a hint file.
    pub from_hints: usize,
    /// Segments read record by record.
    pub scanned: usize,
    /// Hint files that were there but not trusted, and why.
    pub hints_rejected: Vec<String>,
    /// Bytes cut from the end of the active segment.
    pub torn_bytes: u64,
    /// Why they were cut.
    pub torn_because: Option<String>,
    /// What was done about an interrupted merge, if there was one.
    pub merge: Option<String>,
}

impl fmt::Display for OpenReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = |n: usize| if n == 1 { "" } else { "s" };
        write!(
            f,
            "bitcask: {} segment{} ({} from hint files, {} scanned), {} key{}",
            self.segments,
            s(self.segments),
            self.from_hints,
            self.scanned,
            self.keys,
            s(self.keys)
        )?;
        for why in &self.hints_rejected {
            write!(f, "; {why}")?;
        }
        if let Some(why) = &self.torn_because {
            write!(f, "; {} bytes cut from the active segment's tail ({why})", self.torn_bytes)?;
        }
        if let Some(merge) = &self.merge {
            write!(f, "; {merge}")?;
        }
        Ok(())
    }
}

/// Opens the store in `dir`: see the module docs.
pub(super) fn open<F: FileSystem>(
    dir: &Path,
    options: BitcaskOptions,
    fs: F,
) -> Result<(Bitcask<F>, OpenReport)> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
    let lock = lock_dir(dir)?;
    let mut report = OpenReport { merge: merge::recover(&fs, dir)?, ..OpenReport::default() };

    let names = fs.list(dir).map_err(|e| Error::io("list", dir, e))?;
    let ids: Vec<u32> = names.iter().filter_map(|n| segment::parse_id(n, ".data")).collect();
    let hinted: Vec<u32> = names.iter().filter_map(|n| segment::parse_id(n, ".hint")).collect();

    let mut keydir = KeyDir::new();
    let mut segments = BTreeMap::new();
    for (i, &id) in ids.iter().enumerate() {
        let has_hint = hinted.contains(&id);
        // Only the newest segment, and only if no merge wrote it, is active.
        let active = i + 1 == ids.len() && !has_hint;
        let mut segment = Segment::open(&fs, dir, id, 0)?;
        segment.len = segment.file.size().map_err(|e| Error::io("stat", &segment.path, e))?;
        // ANCHOR: open_segment
        let mut from_hint = false;
        if has_hint {
            let path = dir.join(segment::hint_name(id));
            let bytes = fs.read(&path).map_err(|e| Error::io("read", &path, e))?;
            match load_hint(&mut keydir, id, segment.len, &bytes.unwrap_or_default()) {
                Ok(_) => from_hint = true,
                Err(why) => report
                    .hints_rejected
                    .push(format!("{} rejected ({why}), segment scanned", path.display())),
            }
        }
        if from_hint {
            report.from_hints += 1;
        } else {
            let bytes = fs.read(&segment.path).map_err(|e| Error::io("read", &segment.path, e))?;
            let replay = replay_segment(&mut keydir, &segment, &bytes.unwrap_or_default(), active)?;
            if replay.truncated_bytes > 0 {
                fs.truncate(&segment.path, replay.valid_bytes)
                    .map_err(|e| Error::io("truncate", &segment.path, e))?;
                segment.len = replay.valid_bytes;
                report.torn_bytes = replay.truncated_bytes;
                report.torn_because = replay.truncated_because;
            }
            report.scanned += 1;
        }
        // ANCHOR_END: open_segment
        segments.insert(id, segment);
    }

    // The newest segment goes on as the active one, unless a merge wrote it
    // (its hint describes it as it is): then appends go to a new segment.
    let active = match segments.last_key_value() {
        Some((&id, _)) if !hinted.contains(&id) => segments.remove(&id).expect("it is the last"),
        last => Segment::create(&fs, dir, last.map_or(1, |(&id, _)| id + 1))?,
    };
    report.segments = segments.len() + 1;
    report.keys = keydir.len();
    let store = Bitcask {
        dir: dir.to_path_buf(),
        fs,
        options,
        keydir,
        sealed: segments,
        active,
        poisoned: None,
        _lock: lock,
    };
    Ok((store, report))
}

// ANCHOR: load_hint
/// Rebuilds segment `id`'s keydir entries from its hint file's `bytes`,
/// without reading a single value. Returns how many keys it loaded, or why
/// the hint cannot be trusted, having changed nothing: a hint that fails its
/// checksum, describes a segment of another length, or points past the
/// segment's end is rejected, and the caller scans the segment instead.
pub fn load_hint(
    keydir: &mut KeyDir,
    id: u32,
    segment_len: u64,
    bytes: &[u8],
) -> std::result::Result<usize, String> {
    // exercise 4.3: begin
    let hint = hint::parse(bytes)?;
    if hint.segment_len != segment_len {
        return Err(format!(
            "it describes a segment of {} bytes, this one has {segment_len}",
            hint.segment_len
        ));
    }
    let past_the_end = |e: &hint::HintRef<'_>| {
        e.offset.checked_add(u64::from(e.len)).is_none_or(|end| end > segment_len)
    };
    if let Some(entry) = hint.entries().find(past_the_end) {
        return Err(format!("an entry at byte {} is past the segment's end", entry.offset));
    }
    keydir.reserve(hint.count as usize);
    for entry in hint.entries() {
        let location = Location { segment: id, offset: entry.offset, len: entry.len };
        keydir.insert(entry.key.to_vec(), location);
    }
    Ok(hint.count as usize)
    // exercise 4.3: end
}
// ANCHOR_END: load_hint

/// Replays one segment's records into the keydir, with lesson 3's rules
/// for what is a torn tail and what is corruption. A torn tail is only
/// allowed in the `active` segment; the caller cuts it.
fn replay_segment<F: FileSystem>(
    keydir: &mut KeyDir,
    segment: &Segment<F>,
    bytes: &[u8],
    active: bool,
) -> Result<log::Replay> {
    let mut replay = log::scan(bytes).map_err(|(offset, why, next)| {
        let why = format!("{why}, and a valid record follows at byte {next}: not a torn tail");
        Error::corrupt(&segment.path, offset, why)
    })?;
    if let Some(why) = &replay.truncated_because
        && !active
    {
        let why = format!("{why} at the end of a sealed segment");
        return Err(Error::corrupt(&segment.path, replay.valid_bytes, why));
    }
    // scan checked every record's frame, so the length fields before
    // `valid_bytes` are trustworthy: they give each record's offset.
    let mut offset = 0u64;
    for record in replay.records.drain(..) {
        let at = offset as usize;
        let payload = u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
        let len = HEADER_LEN as u32 + payload;
        let location = Location { segment: segment.id, offset, len };
        match record {
            LogRecord::Put { key, .. } => {
                keydir.insert(key, location);
            }
            LogRecord::Delete { key } => {
                keydir.remove(&key);
            }
            LogRecord::Clear => keydir.clear(),
            // A valid frame holding a record Bitcask never writes: not a
            // segment of this store.
            other => {
                let why = format!("a {other:?} record, which a Bitcask segment never holds");
                return Err(Error::corrupt(&segment.path, offset, why));
            }
        }
        offset += u64::from(len);
    }
    debug_assert_eq!(offset, replay.valid_bytes);
    Ok(replay)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bitcask::hint::{Hint, HintEntry};

    fn hint_of(segment_len: u64, entries: &[(&str, u64, u32)]) -> Vec<u8> {
        let entries = entries
            .iter()
            .map(|&(k, offset, len)| HintEntry { key: k.into(), offset, len })
            .collect();
        hint::encode(&Hint { segment_len, entries })
    }

    #[test]
    fn load_hint_fills_the_keydir_without_reading_values() {
        let mut keydir = KeyDir::new();
        let bytes = hint_of(100, &[("a", 0, 40), ("b", 40, 60)]);
        assert_eq!(load_hint(&mut keydir, 3, 100, &bytes), Ok(2));
        assert_eq!(keydir.get(b"a"), Some(Location { segment: 3, offset: 0, len: 40 }));
        assert_eq!(keydir.get(b"b"), Some(Location { segment: 3, offset: 40, len: 60 }));
        assert_eq!(keydir.live_bytes(), 100);
    }

    #[test]
    fn load_hint_rejects_a_stale_or_lying_hint_and_changes_nothing() {
        let mut keydir = KeyDir::new();
        let bytes = hint_of(100, &[("a", 0, 40), ("b", 40, 61)]);
        let past = load_hint(&mut keydir, 3, 100, &bytes).unwrap_err();
        assert!(past.contains("past the segment's end"), "{past}");
        let stale = load_hint(&mut keydir, 3, 99, &hint_of(100, &[])).unwrap_err();
        assert!(stale.contains("100 bytes"), "{stale}");
        let mut flipped = hint_of(100, &[("a", 0, 40)]);
        flipped[30] ^= 1;
        assert!(load_hint(&mut keydir, 3, 100, &flipped).is_err());
        assert!(keydir.is_empty(), "a rejected hint loads nothing");
    }
}
