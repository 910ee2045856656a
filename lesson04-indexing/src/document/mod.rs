//! Documents, the MongoDB way: collections of JSON documents in the
//! B+tree, and secondary indexes over their fields.
//!
//! ```text
//!   session    ─ INSERT, FIND, UPDATE, DELETE, COUNT: MongoDB's syntax in a REPL
//!   collection ─ DocStore: documents as B+tree entries, one batch per command
//!   plan       ─ which index a query reads, if any; EXPLAIN
//!   index      ─ secondary indexes: btree entries in the tree, or a hash map
//!   search     ─ full-text: tokenizer, inverted index, BM25, phrases
//!   filter     ─ {"age": {"$gte": 18}}: parse, and match a document
//!   keycode    ─ JSON values as keys whose byte order is their value order
//! ```
//!
//! Being built in slices (see the book's Lesson 4, second half): documents,
//! filters, secondary indexes and EXPLAIN, full-text search.

pub mod collection;
pub mod filter;
pub mod index;
pub mod keycode;
pub mod plan;
pub mod search;
pub mod session;

pub use collection::{DocError, DocStore, Explain, Sort};
pub use filter::Filter;
pub use index::IndexKind;
pub use session::DocSession;
