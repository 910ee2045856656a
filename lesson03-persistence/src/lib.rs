//! # Lesson 3 — Adding persistence
//!
//! Lesson 2's store forgets everything when the process ends. This crate
//! makes it durable the two ways Redis does: a **snapshot** of the whole
//! state (like RDB) and an **append-only log** of every change (like AOF),
//! with crash recovery, fsync policies, group commit and compaction.
//!
//! Read it top-down:
//!
//! ```text
//!   session ─ the REPL's line handler, with SAVE, COMPACT, INFO   (commands)
//!   durable ─ DurableStore: lesson 2's Store + log + snapshot; open = recover
//!   shared  ─ many writers, fsync always, group commit
//!   log     ─ recovery rules (torn tail vs corruption), the log writer
//!   record  ─ one change, framed: length, CRC-32, bincode payload
//!   snapshot─ the whole state in one file, written atomically
//!   fs      ─ the file layer, real or fault-injecting
//! ```
//!
//! - [`fs`] — [`FileSystem`](fs::FileSystem): [`RealFs`](fs::RealFs) and [`FaultyFs`](fs::FaultyFs).
//! - [`record`] — [`LogRecord`](record::LogRecord) and its framing.
//! - [`log`] — recovery and the [`LogWriter`](log::LogWriter).
//! - [`snapshot`] — writing and loading snapshots.
//! - [`durable`] — [`DurableStore`], [`FsyncPolicy`], [`Options`].
//! - [`shared`] — [`SharedStore`](shared::SharedStore): group commit.
//! - [`commands`], [`session`] — the command language and the session.
//! - [`error`] — what can go wrong, and where.

pub mod commands;
pub mod durable;
pub mod error;
pub mod fs;
pub mod log;
pub mod record;
pub mod session;
pub mod shared;
pub mod snapshot;

pub use durable::{DurableStore, FsyncPolicy, Options, RecoveryReport};
pub use error::{Error, Result};
pub use session::Session;
