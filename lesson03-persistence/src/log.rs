//! The append-only log: recovery when it is opened, appends while it is open.
//!
//! Recovery reads the records from the start. It can meet three things at
//! the end of the valid records, and it must tell them apart:
//!
//! | what it finds after the last valid record        | what it does                          |
//! |--------------------------------------------------|---------------------------------------|
//! | nothing: the file ends                           | done                                  |
//! | an invalid record, and no valid record after it  | a **torn tail**: cut it off, report it|
//! | an invalid record, and a valid record after it   | **corruption**: refuse to open        |
//!
//! A crash during an append leaves the last record incomplete: that is a
//! torn tail. Under `fsync always` its write was never acknowledged (that
//! happens only after the append and its fsync), so cutting it loses nothing
//! that was promised; under the other policies, losing it is the bounded
//! loss they accept. Damage *followed by* valid records is something else: the
//! records after it were acknowledged writes, and skipping the damaged one
//! would silently serve wrong data. So the store refuses to open and names
//! the file and the offset, and only an explicit repair cuts the log there.
//!
//! "Is there a valid record after it?" is answered by trying every later
//! offset: a random run of bytes passes a CRC-32 check with odds of one in
//! four billion. NB: user values are not random, and one that contains a
//! valid frame can make a torn tail look like corruption; numbering the
//! records would close that gap.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::fs::{FileSystem, OpenFile};
use crate::record::{self, Invalid, LogRecord};

/// What recovery found in the log.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Replay {
    /// The valid records, in order.
    pub records: Vec<LogRecord>,
    /// Bytes of valid records.
    pub valid_bytes: u64,
    /// Bytes cut from the end: a torn tail, or damage cut by a repair.
    pub truncated_bytes: u64,
    /// Why the cut bytes were invalid, if any were cut.
    pub truncated_because: Option<String>,
}

// ANCHOR: scan
/// Reads every valid record of a log's bytes. Stops at the first invalid
/// one; returns `Err((offset, why, next_valid))` if a valid record follows
/// it (corruption), `Ok` with the torn tail's size otherwise.
pub fn scan(bytes: &[u8]) -> std::result::Result<Replay, (u64, Invalid, u64)> {
    // exercise 3.2: begin
    let mut replay = Replay::default();
    let mut offset = 0;
    while offset < bytes.len() {
        match record::decode(&bytes[offset..]) {
            Ok((record, len)) => {
                replay.records.push(record);
                offset += len;
            }
            Err(why) => {
                if let Some(next) = next_valid(bytes, offset + 1) {
                    return Err((offset as u64, why, next as u64));
                }
                replay.truncated_bytes = (bytes.len() - offset) as u64;
                replay.truncated_because = Some(why.to_string());
                break;
            }
        }
    }
    replay.valid_bytes = offset as u64;
    Ok(replay)
    // exercise 3.2: end
}

/// The first offset at or after `from` where a valid record starts.
fn next_valid(bytes: &[u8], from: usize) -> Option<usize> {
    // exercise 3.2: begin
    (from..bytes.len()).find(|&at| record::decode(&bytes[at..]).is_ok())
    // exercise 3.2: end
}
// ANCHOR_END: scan

/// Opens the log at `path` for recovery: reads it, cuts a torn tail (or,
/// with `repair`, everything from the first invalid record), and returns
/// the valid records.
pub fn recover<F: FileSystem>(fs: &F, path: &Path, repair: bool) -> Result<Replay> {
    let bytes = fs.read(path).map_err(|e| Error::io("read", path, e))?.unwrap_or_default();
    let replay = match scan(&bytes) {
        Ok(replay) => replay,
        Err((offset, why, next_valid)) if !repair => {
            return Err(Error::CorruptLog {
                path: path.into(),
                offset,
                reason: why.to_string(),
                next_valid,
            });
        }
        Err((offset, why, _)) => {
            // Repair: keep what is before the damage, as redis-check-aof --fix does.
            let mut replay =
                scan(&bytes[..offset as usize]).expect("the bytes before offset are valid records");
            replay.truncated_bytes = bytes.len() as u64 - offset;
            replay.truncated_because = Some(format!("repair: {why} at byte {offset}"));
            replay
        }
    };
    if replay.truncated_bytes > 0 {
        fs.truncate(path, replay.valid_bytes).map_err(|e| Error::io("truncate", path, e))?;
    }
    Ok(replay)
}

// ANCHOR: writer
/// The open end of the log: records are encoded into a buffer, written to
/// the file by [`LogWriter::flush`], and made durable by [`LogWriter::sync`].
pub struct LogWriter<F: FileSystem> {
    path: PathBuf,
    file: F::File,
    /// Encoded records not yet handed to the operating system.
    buffer: Vec<u8>,
    /// Bytes in the file, including the buffer once flushed.
    len: u64,
    /// Records in the log.
    records: u64,
    /// Log sequence number: bytes ever appended, never reset, not even when
    /// compaction replaces the file. Writers wait for fsyncs by it.
    lsn: u64,
}

impl<F: FileSystem> LogWriter<F> {
    /// Opens `path` for appending; `len` and `records` are what recovery
    /// found; `lsn` is where the sequence numbers continue from.
    pub fn open(fs: &F, path: &Path, len: u64, records: u64, lsn: u64) -> Result<Self> {
        let file = fs.open_append(path).map_err(|e| Error::io("open", path, e))?;
        // Room for a typical batch, so that appending rarely reallocates.
        let buffer = Vec::with_capacity(256 << 10);
        Ok(Self { path: path.into(), file, buffer, len, records, lsn })
    }

    /// Encodes `record` into the buffer. Nothing is written yet. A record
    /// too big for the log's framing is refused, since no reader would
    /// accept it back.
    pub fn append(&mut self, record: &LogRecord) -> Result<()> {
        let before = self.buffer.len();
        record::encode(record, &mut self.buffer);
        let added = (self.buffer.len() - before) as u64;
        if added - record::HEADER_LEN as u64 > u64::from(record::MAX_PAYLOAD) {
            self.buffer.truncate(before);
            return Err(Error::TooLarge { bytes: added });
        }
        self.len += added;
        self.lsn += added;
        self.records += 1;
        Ok(())
    }

    /// Hands the buffered records to the operating system (`write`). They
    /// survive a crash of this process, but not yet of the machine.
    ///
    /// A write may stop halfway (a full disk): what was written leaves the
    /// buffer, so that a later flush continues where this one stopped
    /// instead of writing those bytes twice.
    pub fn flush(&mut self) -> Result<()> {
        let mut written = 0;
        let result = loop {
            if written == self.buffer.len() {
                break Ok(());
            }
            match self.file.write(&self.buffer[written..]) {
                Ok(0) => {
                    break Err(std::io::Error::new(
                        std::io::ErrorKind::WriteZero,
                        "the file accepted no bytes",
                    ));
                }
                Ok(n) => written += n,
                Err(e) => break Err(e),
            }
        };
        self.buffer.drain(..written);
        result.map_err(|e| Error::io("write", &self.path, e))
    }

    /// Flushes, then makes everything durable (`fsync`): it survives a
    /// power cut once this returns.
    pub fn sync(&mut self) -> Result<()> {
        self.flush()?;
        self.file.sync().map_err(|e| Error::io("fsync", &self.path, e))
    }
}
// ANCHOR_END: writer

impl<F: FileSystem> LogWriter<F> {
    /// Bytes in the log, counting records still in the buffer.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the log holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The log sequence number: bytes ever appended (see the field).
    pub fn lsn(&self) -> u64 {
        self.lsn
    }

    /// Records in the log.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// The log's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log_of(records: &[LogRecord]) -> Vec<u8> {
        let mut bytes = Vec::new();
        for r in records {
            record::encode(r, &mut bytes);
        }
        bytes
    }

    fn put(k: &str) -> LogRecord {
        LogRecord::Put { key: k.into(), value: b"v".to_vec(), expires_at: None }
    }

    #[test]
    fn a_clean_log_replays_every_record() {
        let bytes = log_of(&[put("a"), put("b"), LogRecord::Clear]);
        let replay = scan(&bytes).unwrap();
        assert_eq!(replay.records, [put("a"), put("b"), LogRecord::Clear]);
        assert_eq!(replay.valid_bytes, bytes.len() as u64);
        assert_eq!(replay.truncated_bytes, 0);
    }

    #[test]
    fn an_incomplete_last_record_is_a_torn_tail() {
        let bytes = log_of(&[put("a"), put("b")]);
        let replay = scan(&bytes[..bytes.len() - 3]).unwrap();
        assert_eq!(replay.records, [put("a")]);
        assert_eq!(replay.truncated_bytes + replay.valid_bytes, bytes.len() as u64 - 3);
        assert!(replay.truncated_because.unwrap().contains("incomplete"));
    }

    #[test]
    fn damage_followed_by_valid_records_is_corruption() {
        let mut bytes = log_of(&[put("a"), put("b"), put("c")]);
        let second = log_of(&[put("a")]).len();
        bytes[second + HEADER_OFFSET_OF_PAYLOAD] ^= 0x40;
        let (offset, why, next) = scan(&bytes).unwrap_err();
        assert_eq!(offset, second as u64);
        assert_eq!(why, Invalid::BadChecksum);
        assert_eq!(next, 2 * second as u64);
    }

    const HEADER_OFFSET_OF_PAYLOAD: usize = record::HEADER_LEN + 1;

    #[test]
    fn recover_cuts_a_torn_tail_on_disk_and_refuses_corruption_unless_repairing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let fs = crate::fs::RealFs;
        let whole = log_of(&[put("a"), put("b"), put("c")]);
        std::fs::write(&path, &whole[..whole.len() - 1]).unwrap();
        let replay = recover(&fs, &path, false).unwrap();
        assert_eq!(replay.records.len(), 2);
        assert_eq!(std::fs::read(&path).unwrap().len() as u64, replay.valid_bytes);

        let mut damaged = whole.clone();
        damaged[HEADER_OFFSET_OF_PAYLOAD] ^= 1;
        std::fs::write(&path, &damaged).unwrap();
        let err = recover(&fs, &path, false).unwrap_err();
        assert!(err.to_string().contains("corrupt at byte 0"), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), damaged, "a refused log is left as it was");
        let repaired = recover(&fs, &path, true).unwrap();
        assert_eq!(repaired.records, []);
        assert_eq!(repaired.truncated_bytes, whole.len() as u64);
    }
}
