//! The errors of the durable store: what went wrong, and where.

use std::path::PathBuf;

/// An error of the durable store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An I/O operation failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What we were doing: "write", "fsync", "rename", …
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A log record in the middle of the log is damaged: valid records
    /// follow it, so cutting the log here would lose acknowledged writes.
    #[error(
        "{path} is corrupt at byte {offset}: {reason}; valid records follow at byte {next_valid}, \
         so it is not a torn tail. Restore a backup, or open with repair to cut the log at byte {offset}"
    )]
    CorruptLog {
        /// The log file.
        path: PathBuf,
        /// Where the bad record starts.
        offset: u64,
        /// What is wrong with it.
        reason: String,
        /// Where the next valid record starts.
        next_valid: u64,
    },
    /// The snapshot file is damaged or not a snapshot.
    #[error("{path} is not a valid snapshot: {reason}")]
    CorruptSnapshot {
        /// The snapshot file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Another process has the data directory open.
    #[error("{dir} is in use by another process (its LOCK file is locked)")]
    Locked {
        /// The data directory.
        dir: PathBuf,
    },
    /// A record too big for the log's framing.
    #[error("a change of {bytes} bytes is too big for one log record (the limit is 64 MiB)")]
    TooLarge {
        /// The encoded record's size.
        bytes: u64,
    },
    /// A log whose first record is not its `Start` record: not a log this
    /// program wrote.
    #[error("{0} does not begin with its Start record: it is not a log this program wrote")]
    NotALog(PathBuf),
    /// A key of the wrong type, through the lesson-1 interface.
    #[error(transparent)]
    Command(#[from] lesson02_kv::Error),
    /// An earlier write or fsync failed, so the store refuses writes.
    #[error("the store refuses writes since {0}; restart it to recover from the log")]
    Poisoned(String),
}

/// The result type of the durable store.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An I/O error with its context.
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { op, path: path.into(), source }
    }
}
