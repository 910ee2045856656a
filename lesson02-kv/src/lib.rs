//! # Lesson 2 — A basic key-value store
//!
//! An in-memory key-value store in the manner of Redis: a hash map of
//! binary-safe keys and values, integer commands, keys that expire, glob
//! patterns, and a small command language with a REPL. It implements
//! lesson 1's [`KvStore`](lesson01_intro::KvStore) and passes its
//! conformance suite.
//!
//! Read it top-down, in the order a command travels:
//!
//! ```text
//!   "SET k v EX 10"
//!        │ tokenizer  ─ split into arguments: quotes, escapes
//!        │ command    ─ parse into a Command: name, arity, options, integers
//!        │ execute    ─ run it on the Store
//!        │   store    ─ the hash map, SET/GET/DEL, integers   (integer, glob)
//!        │   expiry   ─ TTLs, lazy and active expiry           (clock)
//!        │ reply      ─ the answer, rendered like redis-cli
//!        ▼ session / repl ─ one line in, one reply out; interactive or piped
//!   OK
//! ```
//!
//! - [`change`] — what a write did, as data: lesson 3 logs these.
//! - [`clock`] — where "now" comes from; a manual clock for tests.
//! - [`store`] — the [`Store`]: hashbrown map, SET with options, INCRBY.
//! - [`expiry`] — EXPIRE/TTL/PERSIST; lazy expiry and the active cycle.
//! - [`integer`] — strict decimal integers in values.
//! - [`glob`] — KEYS patterns.
//! - [`tokenizer`], [`command`], [`execute`], [`reply`], [`error`] — the
//!   command language.
//! - [`session`], [`repl`] — the loop around it.
//! - [`value`] — typed values: a string, or a list, hash, set or sorted
//!   set; `WRONGTYPE` and emptied collections in one place.
//! - [`strings`], [`keyspace`], [`list`], [`hash`], [`set`] — the commands
//!   of each type (and [`range`], the index arithmetic they share).
//! - [`zset`] — sorted sets: a skip list with spans, a member map, and
//!   their commands.

pub mod change;
pub mod clock;
pub mod command;
pub mod error;
pub mod execute;
pub mod expiry;
pub mod glob;
pub mod hash;
pub mod integer;
pub mod keyspace;
pub mod list;
pub mod range;
pub mod repl;
pub mod reply;
pub mod session;
pub mod set;
pub mod store;
pub mod strings;
pub mod tokenizer;
pub mod value;
pub mod zset;

pub use change::Change;
pub use clock::{Clock, ManualClock, SystemClock};
pub use command::Command;
pub use error::Error;
pub use reply::Reply;
pub use session::Session;
pub use store::Store;
