//! # Lesson 1 — Introduction to datastores
//!
//! A datastore is an API plus guarantees. This crate gives the course both:
//! the API every engine implements, and the tests that hold every engine to
//! its guarantees. Around them, two small programs to think with.
//!
//! Read it top-down:
//!
//! - [`kv`] — the core trait, [`KvStore`], and [`KeyRange`] for scans.
//! - [`linear`] — [`LinearStore`], a `Vec` of pairs: the O(n) baseline.
//! - [`testkit`] (feature `testkit`) — the conformance suite every later
//!   lesson runs on its own engine with one line.
//! - [`zoo`] — one bookshop stored four ways (relational, document,
//!   key-value, search), each answering the same question.
//! - [`tour`] and [`timing`] — what the binary prints: the tour of the zoo,
//!   and a lookup timing table (linear scan vs hash map vs B-tree map).

pub mod kv;
pub mod linear;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod timing;
pub mod tour;
pub mod zoo;

pub use kv::{KeyRange, KeyValue, KvStore};
pub use linear::LinearStore;
