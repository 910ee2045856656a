//! The errors of the lesson's engines: what went wrong, and where.

use std::path::PathBuf;

// ANCHOR: error
/// An error of Bitcask or the B+tree.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An I/O operation failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What we were doing: "read", "write", "fsync", "rename", …
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// Bytes on disk are not what was written: a checksum mismatch, an
    /// impossible length, a page of the wrong kind. Never read as data.
    #[error("{path} is corrupt at byte {offset}: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Where the damaged record or page starts.
        offset: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// A key or value over the engine's size limit.
    #[error("{what} of {size} bytes is over the limit of {limit} bytes")]
    TooLarge {
        /// "a key", "a key and value", …
        what: &'static str,
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// An error of lesson 3's file helpers (the directory lock, mostly).
    #[error(transparent)]
    Durable(#[from] lesson03_persistence::Error),
    /// An earlier write or fsync failed part-way, so the engine refuses
    /// writes until it is reopened (which recovers from what is on disk).
    #[error("the store refuses writes since {0}; reopen it to recover")]
    Poisoned(String),
}
// ANCHOR_END: error

/// The result type of the lesson's engines.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An I/O error with its context.
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { op, path: path.into(), source }
    }

    /// A corruption error.
    pub fn corrupt(path: impl Into<PathBuf>, offset: u64, reason: impl Into<String>) -> Self {
        Error::Corrupt { path: path.into(), offset, reason: reason.into() }
    }
}
