//! Documents, the MongoDB way: collections of JSON documents in the
//! B+tree, and secondary indexes over their fields.
//!
//! Being built in slices (see the book's Lesson 4, second half). This slice
//! is the foundation every index needs: [`keycode`], an encoding of JSON
//! values whose byte order is their value order, so that the B+tree's
//! ordered keys can be an index's ordered values.

pub mod keycode;
