//! # Lesson 6 — PostgreSQL in miniature
//!
//! Part 1 so far: [`cache`], a page cache (buffer pool) with two eviction
//! policies, LRU and S3-FIFO, that fits between lesson 4's B+tree and its
//! file ([`cache::CachedStore`]); and [`trace`], the seeded access patterns
//! they are measured on.

pub mod cache;
pub mod commands;
pub mod mvcc;
pub mod pgwire;
pub mod server;
pub mod session;
pub mod sql;
pub mod trace;
