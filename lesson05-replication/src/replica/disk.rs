//! A replica's durable state on disk: its journal, appended and fsynced
//! before the messages that depend on it are sent.
//!
//! One file, `replica.log`, of framed records as in lesson 3 (length,
//! CRC-32, payload), each a [`Persist`] change. Recovery replays them in
//! order; a torn last record, left by a crash in the middle of an append,
//! was never fsynced and so never acted on, and is cut off. When a
//! snapshot replaces part of the log, the file is rewritten (to a
//! temporary file, fsynced, renamed over the old one) to the snapshot and
//! the entries after it.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use super::log::{Durable, Persist};

const FILE: &str = "replica.log";
const HEADER: usize = 8;
const MAX_RECORD: usize = 1 << 30;

/// The open journal file.
pub struct DiskLog {
    path: PathBuf,
    file: File,
}

/// What recovery found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovered {
    /// The records replayed.
    pub records: usize,
    /// Bytes of a torn last record, cut off.
    pub torn_bytes: u64,
}

impl std::fmt::Display for Recovered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "replayed {} journal records", self.records)?;
        if self.torn_bytes > 0 {
            write!(f, ", cut a torn tail of {} bytes", self.torn_bytes)?;
        }
        Ok(())
    }
}

fn config() -> bincode::config::Configuration {
    bincode::config::standard()
}

fn frame(change: &Persist, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&[0; HEADER]);
    bincode::serde::encode_into_std_write(change, out, config()).expect("a Vec takes any write");
    let payload = &out[start + HEADER..];
    let len = u32::try_from(payload.len()).expect("a record fits in 4 GiB");
    let crc = crc32fast::hash(payload);
    out[start..start + 4].copy_from_slice(&len.to_le_bytes());
    out[start + 4..start + HEADER].copy_from_slice(&crc.to_le_bytes());
}

/// The record at the start of `bytes` and its length, or `None` if what is
/// there is not a whole, intact record.
fn unframe(bytes: &[u8]) -> Option<(Persist, usize)> {
    let header = bytes.get(..HEADER)?;
    let len = u32::from_le_bytes(header[..4].try_into().ok()?) as usize;
    let crc = u32::from_le_bytes(header[4..].try_into().ok()?);
    if len > MAX_RECORD {
        return None;
    }
    let payload = bytes.get(HEADER..HEADER + len)?;
    if crc32fast::hash(payload) != crc {
        return None;
    }
    let (change, used) = bincode::serde::decode_from_slice(payload, config()).ok()?;
    (used == len).then_some((change, HEADER + len))
}

impl DiskLog {
    /// Opens (or creates) the journal in `dir` and replays it.
    pub fn open(dir: &Path) -> io::Result<(Self, Durable, Recovered)> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(FILE);
        let mut file =
            OpenOptions::new().create(true).truncate(false).read(true).write(true).open(&path)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        let mut durable = Durable::default();
        let (mut at, mut records) = (0, 0);
        while let Some((change, used)) = unframe(&bytes[at..]) {
            durable.apply(change);
            at += used;
            records += 1;
        }
        let torn_bytes = (bytes.len() - at) as u64;
        if torn_bytes > 0 {
            file.set_len(at as u64)?;
            file.sync_all()?;
        }
        let file = OpenOptions::new().append(true).open(&path)?;
        Ok((Self { path, file }, durable, Recovered { records, torn_bytes }))
    }

    /// Makes `changes` durable. `state` is the durable state after them,
    /// needed when a snapshot is among them: the file is then rewritten to
    /// it.
    pub fn write(&mut self, changes: &[Persist], state: Option<&Durable>) -> io::Result<()> {
        if changes.is_empty() {
            return Ok(());
        }
        if changes.iter().any(|c| matches!(c, Persist::Snapshot(_))) {
            let state = state.ok_or_else(|| io::Error::other("a snapshot needs the state"))?;
            return self.rewrite(state);
        }
        let mut out = Vec::new();
        for change in changes {
            frame(change, &mut out);
        }
        self.file.write_all(&out)?;
        self.file.sync_data()
    }

    fn rewrite(&mut self, durable: &Durable) -> io::Result<()> {
        let mut out = Vec::new();
        frame(&Persist::Vote { term: durable.term, vote: durable.vote }, &mut out);
        frame(&Persist::Snapshot(durable.log.snapshot().clone()), &mut out);
        let first = durable.log.snapshot().last_index + 1;
        for entry in durable.log.range(first, durable.log.last_index()) {
            frame(&Persist::Append(entry.clone()), &mut out);
        }
        let tmp = self.path.with_extension("tmp");
        let mut file = File::create(&tmp)?;
        file.write_all(&out)?;
        file.sync_all()?;
        std::fs::rename(&tmp, &self.path)?;
        if let Some(dir) = self.path.parent() {
            File::open(dir)?.sync_all()?;
        }
        self.file = OpenOptions::new().append(true).open(&self.path)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replica::{Entry, Snapshot};
    use lesson03_persistence::record::LogRecord;

    fn entry(index: u64, term: u64) -> Entry {
        let put = LogRecord::Put {
            key: vec![b'k'],
            value: index.to_be_bytes().to_vec(),
            expires_at: None,
        };
        Entry { term, index, records: vec![put] }
    }

    /// Applies `changes` to `state` and writes them.
    fn write(disk: &mut DiskLog, state: &mut Durable, changes: Vec<Persist>) {
        for c in changes.clone() {
            state.apply(c);
        }
        disk.write(&changes, Some(state)).unwrap();
    }

    #[test]
    fn the_journal_replays_to_the_same_state_across_truncations_and_snapshots() {
        let dir = tempfile::tempdir().unwrap();
        let (mut disk, mut state, _) = DiskLog::open(dir.path()).unwrap();
        write(&mut disk, &mut state, vec![Persist::Vote { term: 1, vote: Some(0) }]);
        write(&mut disk, &mut state, (1..=5).map(|i| Persist::Append(entry(i, 1))).collect());
        write(&mut disk, &mut state, vec![Persist::TruncateFrom(4), Persist::Append(entry(4, 2))]);
        let (_, reopened, recovered) = DiskLog::open(dir.path()).unwrap();
        assert_eq!(reopened, state);
        assert_eq!(recovered.records, 8, "a vote, five entries, a truncation, an entry");
        assert_eq!(state.log.last_index(), 4);

        let snapshot = Snapshot { last_index: 3, last_term: 1, state: vec![] };
        write(&mut disk, &mut state, vec![Persist::Snapshot(snapshot)]);
        write(&mut disk, &mut state, vec![Persist::Append(entry(5, 2))]);
        let (_, reopened, recovered) = DiskLog::open(dir.path()).unwrap();
        assert_eq!(reopened, state);
        assert_eq!(recovered.records, 4, "vote, snapshot, entries 4 and 5");
        assert_eq!(reopened.log.len(), 2);
    }

    #[test]
    fn a_torn_last_record_is_cut_off_and_nothing_before_it_is_lost() {
        let dir = tempfile::tempdir().unwrap();
        let (mut disk, mut state, _) = DiskLog::open(dir.path()).unwrap();
        write(&mut disk, &mut state, (1..=3).map(|i| Persist::Append(entry(i, 1))).collect());
        let path = dir.path().join(FILE);
        let whole = std::fs::read(&path).unwrap();
        for cut in 1..whole.len() {
            std::fs::write(&path, &whole[..cut]).unwrap();
            let (_, reopened, recovered) = DiskLog::open(dir.path()).unwrap();
            let complete = reopened.log.last_index();
            assert!(complete < 3, "cut at {cut}");
            assert_eq!(
                reopened.log.entries_from(1, 10),
                state.log.entries_from(1, complete as usize)
            );
            assert_eq!(std::fs::metadata(&path).unwrap().len(), cut as u64 - recovered.torn_bytes);
        }
        // A flipped bit in the last record is a torn tail too.
        let mut flipped = whole.clone();
        *flipped.last_mut().unwrap() ^= 1;
        std::fs::write(&path, &flipped).unwrap();
        let (_, reopened, recovered) = DiskLog::open(dir.path()).unwrap();
        assert_eq!(reopened.log.last_index(), 2);
        assert!(recovered.torn_bytes > 0);
    }
}
