//! Merge: rewrite the live records, drop the stale ones, atomically.
//!
//! Segments only grow: every overwrite leaves the old value behind, every
//! delete leaves the value and a tombstone. A merge copies the records the
//! keydir points at into new segments, writes a hint file for each, and
//! swaps the new set of segments in for the old one.
//!
//! We first **seal the active segment** and merge *every* segment. A merge
//! here runs with `&mut self`, so no write can arrive meanwhile, and
//! merging everything buys two simplifications: the new segments can take
//! the next ids (a higher id still means newer records), and every tombstone
//! can be dropped, since every older value it hides is in the merged set
//! too. Riak's Bitcask merges sealed segments while writes go on, and so
//! must keep tombstones whose older values may live in unmerged files.
//!
//! The swap must survive a crash at any point: afterwards the directory
//! holds the old set of segments or the new one, each complete, never a mix
//! and never neither. The new files are written under temporary names, and
//! the commit is one `rename` of a small manifest, `MERGE`:
//!
//! ```text
//!   old set: 1.data 2.data 3.data(active)        new set: 4.data+4.hint 5.data+5.hint
//!
//!   time ──────────────────────────────────────────────────────────────────────►
//!   fsync 3.data   write 4.data.merging, 4.hint.merging, …   write MERGE.tmp    rename
//!   (sealed)       fsync each                                fsync it           MERGE.tmp
//!                                                                               → MERGE
//!   ├──────────── crash here: open deletes the *.merging ──────────────────┤  ▲ commit
//!                 and MERGE.tmp leftovers; the old set stands                 │
//!                                                                             │
//!   fsync dir   rename *.merging → final   delete 1,2,3   delete MERGE   create 6.data
//!   ├──── crash here: open finds MERGE and rolls forward, again if need be ───┤
//! ```
//!
//! `MERGE` names the first and the number of the new segments; every
//! segment with a smaller id is old. Rolling forward renames the temporary
//! files that are still there, deletes the old segments and their hints,
//! then deletes `MERGE`: each step can be done twice without harm, so a
//! crash during the roll-forward at open is rolled forward at the next open.
//!
//! NB: the commit relies on `rename` being atomic and on fsync of the
//! directory making it durable, as POSIX file systems promise; lesson 3's
//! snapshot relies on the same. Whether a real disk keeps that promise is
//! what tools like ALICE test (see the book).

use std::fmt;
use std::path::{Path, PathBuf};

use lesson03_persistence::fs::{FileSystem, OpenFile, write_all};

use super::hint::{self, Hint, HintEntry};
use super::keydir::Location;
use super::segment::{self, Segment, check_framed};
use super::{Bitcask, Stats};
use crate::error::{Error, Result};

/// The commit marker: present (and valid) means the merge it names happened.
pub const MANIFEST: &str = "MERGE";
/// Where the marker is written before the rename that commits it.
pub const MANIFEST_TMP: &str = "MERGE.tmp";
/// The suffix of a merge's files until it commits.
pub const MERGING: &str = ".merging";

const MANIFEST_MAGIC: &[u8; 8] = b"BCMERGE1";

/// What a merge did, for `MERGE`'s reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeReport {
    /// The numbers before.
    pub before: Stats,
    /// The numbers after.
    pub after: Stats,
    /// The ids of the segments written, each with a hint file.
    pub written: Vec<u32>,
}

impl fmt::Display for MergeReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (b, a) = (&self.before, &self.after);
        write!(
            f,
            "merge: {} segments, {} bytes -> {} segments, {} bytes ({} stale bytes reclaimed), {} keys",
            b.segments,
            b.live_bytes + b.stale_bytes,
            a.segments,
            a.live_bytes + a.stale_bytes,
            b.stale_bytes - a.stale_bytes,
            a.keys
        )
    }
}

/// The manifest: the new segments are `first .. first + count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Manifest {
    first: u32,
    count: u32,
}

impl Manifest {
    fn encode(&self) -> Vec<u8> {
        let mut out = MANIFEST_MAGIC.to_vec();
        out.extend_from_slice(&self.first.to_le_bytes());
        out.extend_from_slice(&self.count.to_le_bytes());
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    fn decode(bytes: &[u8]) -> std::result::Result<Self, String> {
        if bytes.len() != 20 || &bytes[..8] != MANIFEST_MAGIC {
            return Err(format!("not a merge manifest ({} bytes)", bytes.len()));
        }
        let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
        if crc32fast::hash(&bytes[..16]) != u32_at(16) {
            return Err("a checksum mismatch".into());
        }
        Ok(Self { first: u32_at(8), count: u32_at(12) })
    }

    fn new_ids(&self) -> impl Iterator<Item = u32> {
        self.first..self.first + self.count
    }
}

impl<F: FileSystem> Bitcask<F> {
    /// Rewrites the live records of every segment into new segments with
    /// hint files, and swaps them in atomically (see the module docs). The
    /// logical state does not change. A failure poisons the store: the
    /// next open rolls the merge forward or discards it.
    pub fn merge(&mut self) -> Result<MergeReport> {
        self.check_writable()?;
        let before = self.stats();
        let result = self.merge_segments();
        let written = result.inspect_err(|e| self.poison(format!("a merge failed: {e}")))?;
        Ok(MergeReport { before, after: self.stats(), written })
    }

    fn merge_segments(&mut self) -> Result<Vec<u32>> {
        self.active.sync()?; // seal: every segment is now old
        let first = self.active.id + 1;

        // The live records in disk order, so each old segment is read once.
        let mut live: Vec<(Location, &[u8])> =
            self.keydir.iter().map(|(key, &location)| (location, key.as_slice())).collect();
        live.sort_unstable_by_key(|(location, _)| (location.segment, location.offset));

        let mut output = Output::new(&self.fs, &self.dir, first, self.options.max_segment_bytes);
        let mut moves = Vec::with_capacity(live.len());
        let mut current: Option<(u32, Vec<u8>)> = None;
        for (location, key) in live {
            let segment = self.segment(location.segment);
            if current.as_ref().is_none_or(|(id, _)| *id != location.segment) {
                let bytes =
                    self.fs.read(&segment.path).map_err(|e| io("read", &segment.path, e))?;
                current = Some((location.segment, bytes.unwrap_or_default()));
            }
            let (_, bytes) = current.as_ref().expect("just read");
            let range =
                location.offset as usize..(location.offset + u64::from(location.len)) as usize;
            let framed = bytes.get(range).ok_or_else(|| {
                Error::corrupt(&segment.path, location.offset, "a record past the end of the file")
            })?;
            check_framed(framed, key)
                .map_err(|why| Error::corrupt(&segment.path, location.offset, why))?;
            moves.push(((location.segment, location.offset), output.append(key, framed)?));
        }
        let written = output.finish()?;

        // ANCHOR: commit
        // The new files' names must be durable before the commit points at them.
        self.fs.sync_dir(&self.dir).map_err(|e| io("fsync", &self.dir, e))?;
        // Commit: the merge has happened once MERGE exists.
        let manifest = Manifest { first, count: written.len() as u32 };
        let tmp = self.dir.join(MANIFEST_TMP);
        let mut file = self.fs.create(&tmp).map_err(|e| io("create", &tmp, e))?;
        write_all(&mut file, &manifest.encode()).map_err(|e| io("write", &tmp, e))?;
        file.sync().map_err(|e| io("fsync", &tmp, e))?;
        let path = self.dir.join(MANIFEST);
        self.fs.rename(&tmp, &path).map_err(|e| io("rename", &tmp, e))?;
        self.fs.sync_dir(&self.dir).map_err(|e| io("fsync", &self.dir, e))?;
        // ANCHOR_END: commit
        roll_forward(&self.fs, &self.dir, manifest)?;

        // The new segments replace the old ones in memory too: open them
        // first, so that a failure leaves the keydir on the old (still open)
        // files, then switch, which cannot fail.
        let mut sealed = std::collections::BTreeMap::new();
        for &(id, len) in &written {
            sealed.insert(id, Segment::open(&self.fs, &self.dir, id, len)?);
        }
        self.active = Segment::create(&self.fs, &self.dir, first + manifest.count)?;
        self.sealed = sealed;
        for location in self.keydir.locations_mut() {
            let at = moves
                .binary_search_by_key(&(location.segment, location.offset), |(old, _)| *old)
                .expect("every live record was moved");
            *location = moves[at].1;
        }
        Ok(written.iter().map(|&(id, _)| id).collect())
    }
}

/// The merge's new segments, being written under temporary names: records
/// are buffered and written in large pieces, and each segment gets its hint.
struct Output<'a, F: FileSystem> {
    fs: &'a F,
    dir: &'a Path,
    max_segment_bytes: u64,
    next_id: u32,
    /// The segment being written: its file, length and hint so far.
    current: Option<(PathBuf, F::File, Hint)>,
    buffer: Vec<u8>,
    /// Segments done: id and length.
    written: Vec<(u32, u64)>,
}

const BUFFER_BYTES: usize = 256 << 10;

impl<'a, F: FileSystem> Output<'a, F> {
    fn new(fs: &'a F, dir: &'a Path, first: u32, max_segment_bytes: u64) -> Self {
        Self {
            fs,
            dir,
            max_segment_bytes,
            next_id: first,
            current: None,
            buffer: Vec::new(),
            written: Vec::new(),
        }
    }

    /// Appends a checked record; returns where it will be once committed.
    fn append(&mut self, key: &[u8], framed: &[u8]) -> Result<Location> {
        if let Some((_, _, hint)) = &self.current
            && hint.segment_len > 0
            && hint.segment_len + framed.len() as u64 > self.max_segment_bytes
        {
            self.finish_segment()?;
        }
        if self.current.is_none() {
            let path = temporary(self.dir, &segment::data_name(self.next_id));
            let file = self.fs.create(&path).map_err(|e| io("create", &path, e))?;
            self.current = Some((path, file, Hint::default()));
        }
        let (path, file, hint) = self.current.as_mut().expect("just made");
        let len = framed.len() as u32;
        let offset = hint.segment_len;
        hint.entries.push(HintEntry { key: key.to_vec(), offset, len });
        hint.segment_len += u64::from(len);
        self.buffer.extend_from_slice(framed);
        if self.buffer.len() >= BUFFER_BYTES {
            write_all(file, &self.buffer).map_err(|e| io("write", path, e))?;
            self.buffer.clear();
        }
        Ok(Location { segment: self.next_id, offset, len })
    }

    /// Writes and fsyncs the current segment, then its hint file.
    fn finish_segment(&mut self) -> Result<()> {
        let Some((path, mut file, hint)) = self.current.take() else { return Ok(()) };
        write_all(&mut file, &self.buffer).map_err(|e| io("write", &path, e))?;
        self.buffer.clear();
        file.sync().map_err(|e| io("fsync", &path, e))?;
        let hint_path = temporary(self.dir, &segment::hint_name(self.next_id));
        let mut hint_file = self.fs.create(&hint_path).map_err(|e| io("create", &hint_path, e))?;
        write_all(&mut hint_file, &hint::encode(&hint)).map_err(|e| io("write", &hint_path, e))?;
        hint_file.sync().map_err(|e| io("fsync", &hint_path, e))?;
        self.written.push((self.next_id, hint.segment_len));
        self.next_id += 1;
        Ok(())
    }

    /// Finishes the last segment; returns every segment written.
    fn finish(mut self) -> Result<Vec<(u32, u64)>> {
        self.finish_segment()?;
        Ok(self.written)
    }
}

fn temporary(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}{MERGING}"))
}

fn io(op: &'static str, path: &Path, e: std::io::Error) -> Error {
    Error::io(op, path, e)
}

// ANCHOR: roll_forward
/// Finishes a committed merge: renames its new files to their final names,
/// deletes the old segments and hints, then the manifest. Every step can be
/// repeated, so a crash part-way is finished by the next open.
fn roll_forward<F: FileSystem>(fs: &F, dir: &Path, manifest: Manifest) -> Result<()> {
    let names = fs.list(dir).map_err(|e| io("list", dir, e))?;
    for id in manifest.new_ids() {
        for name in [segment::data_name(id), segment::hint_name(id)] {
            let from = temporary(dir, &name);
            if names.iter().any(|n| dir.join(n) == from) {
                fs.rename(&from, &dir.join(&name)).map_err(|e| io("rename", &from, e))?;
            } else if !names.contains(&name) {
                // Neither name: deleting the old segments would lose data.
                let why = format!("the committed merge's file {name} is missing");
                return Err(Error::corrupt(dir.join(MANIFEST), 0, why));
            }
        }
    }
    for name in &names {
        let id = segment::parse_id(name, ".data").or_else(|| segment::parse_id(name, ".hint"));
        if id.is_some_and(|id| id < manifest.first) {
            let path = dir.join(name);
            fs.remove(&path).map_err(|e| io("remove", &path, e))?;
        }
    }
    fs.sync_dir(dir).map_err(|e| io("fsync", dir, e))?;
    let path = dir.join(MANIFEST);
    fs.remove(&path).map_err(|e| io("remove", &path, e))?;
    fs.sync_dir(dir).map_err(|e| io("fsync", dir, e))
}
// ANCHOR_END: roll_forward

/// At open, before the segments are read: rolls a committed merge forward,
/// or deletes what an unfinished one left. Returns what it did, if anything.
pub(super) fn recover<F: FileSystem>(fs: &F, dir: &Path) -> Result<Option<String>> {
    let path = dir.join(MANIFEST);
    if let Some(bytes) = fs.read(&path).map_err(|e| io("read", &path, e))? {
        // MERGE appears only by a rename after its fsync: it is whole, or
        // it has been damaged since.
        let manifest = Manifest::decode(&bytes).map_err(|why| Error::corrupt(&path, 0, why))?;
        roll_forward(fs, dir, manifest)?;
        return Ok(Some(format!(
            "an interrupted merge was rolled forward ({} new segments)",
            manifest.count
        )));
    }
    let names = fs.list(dir).map_err(|e| io("list", dir, e))?;
    let leftovers: Vec<&String> =
        names.iter().filter(|n| n.ends_with(MERGING) || *n == MANIFEST_TMP).collect();
    if leftovers.is_empty() {
        return Ok(None);
    }
    for name in &leftovers {
        let path = dir.join(name);
        fs.remove(&path).map_err(|e| io("remove", &path, e))?;
    }
    fs.sync_dir(dir).map_err(|e| io("fsync", dir, e))?;
    Ok(Some(format!("{} files of an unfinished merge were deleted", leftovers.len())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manifest_round_trips_and_damage_is_refused() {
        let manifest = Manifest { first: 7, count: 3 };
        let bytes = manifest.encode();
        assert_eq!(Manifest::decode(&bytes), Ok(manifest));
        assert_eq!(manifest.new_ids().collect::<Vec<_>>(), [7, 8, 9]);
        for at in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[at] ^= 0x04;
            assert!(Manifest::decode(&damaged).is_err(), "a flip at byte {at} was accepted");
        }
        assert!(Manifest::decode(&bytes[..19]).is_err());
    }

    #[test]
    fn a_committed_merge_whose_files_are_missing_deletes_nothing() {
        use lesson03_persistence::fs::RealFs;
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join(segment::data_name(1));
        std::fs::write(&old, b"old records").unwrap();
        // The manifest says segments 2 and 3 replace everything older, but
        // only segment 2 made it to the disk.
        std::fs::write(temporary(dir.path(), &segment::data_name(2)), b"new").unwrap();
        std::fs::write(temporary(dir.path(), &segment::hint_name(2)), b"hint").unwrap();
        let result = roll_forward(&RealFs, dir.path(), Manifest { first: 2, count: 2 });
        assert!(matches!(result, Err(Error::Corrupt { .. })), "{result:?}");
        assert!(old.exists(), "the old segment must survive");
    }
}
