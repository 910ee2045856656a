//! # Lesson 4 — Indexes on disk
//!
//! Lessons 2 and 3 keep every value in a hash map in memory. This crate
//! moves the data to disk and keeps only an *index* in memory, two ways:
//!
//! - **Bitcask** ([`bitcask`]): values in append-only segment files framed
//!   with lesson 3's records; memory holds the *keydir*, key → where its
//!   latest value is. One disk read per get; merges drop stale records;
//!   hint files make start-up fast.
//! - **A B+tree** ([`btree`]): every key and value in fixed-size pages on
//!   disk, ordered, searched in place; crash-safe by copy-on-write and two
//!   alternating meta pages, as LMDB and redb are.
//!
//! Read it top-down:
//!
//! ```text
//!   session ─ the REPL's line handler: lesson 2's commands on either engine,
//!             plus SCAN, MERGE, INFO, DEBUG KEYDIR, DEBUG TREE    (engine)
//!   document ─ keycode: JSON values as order-preserving keys (the start
//!             of the document store and its indexes)
//!   bitcask ─ segments, the keydir, merge, hint files
//!   btree   ─ page (the byte layout), overflow (big values), store
//!             (memory or file), pager (meta pages, free list, commit),
//!             tree (insert, delete, split, merge), cursor, check (the
//!             invariants, and the tree drawn as text)
//!   error   ─ what can go wrong, and where
//! ```
//!
//! Both engines implement lesson 1's [`KvStore`](lesson01_intro::KvStore)
//! and do their I/O through lesson 3's [`FileSystem`](lesson03_persistence::fs::FileSystem),
//! so the same fault injection proves them crash-safe.

pub mod bitcask;
pub mod btree;
pub mod commands;
pub mod document;
pub mod error;
pub mod session;

pub use error::{Error, Result};
pub use session::{Engine, Session};
