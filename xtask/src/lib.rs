//! Course tooling behind `cargo x`. The binary (`main.rs`) parses the
//! command line; the work is here, so that it can be tested.
//!
//! - [`book_check`] — the drift check: the book still matches the code.
//! - [`exercises`] — the starter generator, the exercise checker, and CI's
//!   proof that every exercise's tests really check it.
//! - [`measure`] — `cargo x measure`: runs the benchmarks, writes their
//!   data files, renders the book's tables and plots from them.
//! - [`mdbook`] — installs the pinned mdBook, builds and serves the book.
//! - [`step`] — runs one named step of a pipeline (a command, or a check),
//!   times it, and stops the pipeline with a clear message when it fails.

pub mod book_check;
pub mod exercises;
pub mod mdbook;
pub mod measure;
pub mod step;
