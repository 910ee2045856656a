//! Secondary indexes: a field's values, in order, each pointing at the
//! documents that hold it.
//!
//! A **btree** index is entries of the B+tree, next to the documents, so it
//! is persisted and committed with them in the same batch:
//!
//! ```text
//!   key:   "i" │ collection │ field │ 00 whole / 01 element │ value (keycode) │ _id (keycode)
//!   value: _id (keycode), to find the document
//!
//!   "x" │ collection │ field  →  {"collection", "field", "kind"}: the catalog
//! ```
//!
//! Its entries sort by value, then by `_id`: an equality is a prefix scan,
//! a range is a range scan, and walking it in order gives the documents
//! sorted by the field. A **hash** index is a map in memory from a value's
//! encoding to the `_id`s: it answers equality only, is not persisted
//! (only its catalog entry is), and is rebuilt from the documents at open.
//!
//! Which values does a document put in an index on `field`? As MongoDB:
//! a missing field as `null`; a value as itself; an array as itself
//! (*whole*) and as each of its elements, so that `{"tags": "db"}` can find
//! `{"tags": ["db", "rust"]}` through the index. Only *whole* entries are
//! walked for a sort, so that a document comes once, in the order an
//! in-memory sort would give it.

use std::collections::HashMap;

use serde_json::Value;

use crate::document::filter::lookup;
use crate::document::keycode::{self, encode_string};

/// Where an index lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexKind {
    /// Entries of the B+tree: persisted; equality, ranges and sort order.
    BTree,
    /// A hash map in memory, rebuilt at open: equality only.
    Hash,
}

impl IndexKind {
    /// Its name in commands and in the catalog.
    pub fn name(self) -> &'static str {
        match self {
            IndexKind::BTree => "btree",
            IndexKind::Hash => "hash",
        }
    }

    /// The kind a name names.
    pub fn from_name(name: &str) -> Option<IndexKind> {
        match name.to_ascii_lowercase().as_str() {
            "btree" => Some(IndexKind::BTree),
            "hash" => Some(IndexKind::Hash),
            _ => None,
        }
    }
}

/// One index of a collection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    /// The indexed field's dotted path, as written.
    pub field: String,
    /// The path, split.
    pub path: Vec<String>,
    /// Where it lives.
    pub kind: IndexKind,
    /// For a hash index: value encoding → the `_id` encodings that hold it.
    pub map: HashMap<Vec<u8>, Vec<Vec<u8>>>,
}

/// The flag before the value in an entry's key: the whole field, or one
/// element of an array field.
pub const WHOLE: u8 = 0x00;
/// See [`WHOLE`].
pub const ELEMENT: u8 = 0x01;

// ANCHOR: index_values
/// The values `document` puts in an index on `path`, each with its flag.
pub fn index_values(document: &Value, path: &[String]) -> Vec<(Value, u8)> {
    match lookup(document, path) {
        None => vec![(Value::Null, WHOLE)],
        Some(Value::Array(items)) => {
            let mut out = vec![(Value::Array(items.clone()), WHOLE)];
            for item in items {
                if !out.iter().any(|(v, flag)| *flag == ELEMENT && v == item) {
                    out.push((item.clone(), ELEMENT));
                }
            }
            out
        }
        Some(value) => vec![(value.clone(), WHOLE)],
    }
}
// ANCHOR_END: index_values

/// The key prefix of every entry of the index on `field`.
pub fn entries_prefix(collection: &str, field: &str) -> Vec<u8> {
    let mut key = b"i".to_vec();
    encode_string(collection.as_bytes(), &mut key);
    encode_string(field.as_bytes(), &mut key);
    key
}

/// The key prefix of an index's whole or element entries: sorted by value.
pub fn flag_prefix(collection: &str, field: &str, flag: u8) -> Vec<u8> {
    let mut key = entries_prefix(collection, field);
    key.push(flag);
    key
}

/// The key of one entry.
pub fn entry_key(collection: &str, field: &str, value: &Value, flag: u8, id: &[u8]) -> Vec<u8> {
    let mut key = flag_prefix(collection, field, flag);
    keycode::encode(value, &mut key);
    key.extend_from_slice(id);
    key
}

/// The catalog key of the index on `field`.
pub fn catalog_key(collection: &str, field: &str) -> Vec<u8> {
    let mut key = catalog_prefix(collection);
    encode_string(field.as_bytes(), &mut key);
    key
}

/// The key prefix of a collection's catalog entries.
pub fn catalog_prefix(collection: &str) -> Vec<u8> {
    let mut key = b"x".to_vec();
    encode_string(collection.as_bytes(), &mut key);
    key
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn path(p: &str) -> Vec<String> {
        p.split('.').map(str::to_string).collect()
    }

    #[test]
    fn missing_fields_are_null_and_arrays_add_their_elements_once() {
        assert_eq!(index_values(&json!({}), &path("a")), [(json!(null), WHOLE)]);
        assert_eq!(index_values(&json!({"a": {"b": 2}}), &path("a.b")), [(json!(2), WHOLE)]);
        assert_eq!(
            index_values(&json!({"a": [1, 2, 1]}), &path("a")),
            [(json!([1, 2, 1]), WHOLE), (json!(1), ELEMENT), (json!(2), ELEMENT)]
        );
    }

    #[test]
    fn entries_sort_by_value_then_id() {
        let id = |n: i64| keycode::encoded(&json!(n));
        let a = entry_key("c", "age", &json!(9), WHOLE, &id(5));
        let b = entry_key("c", "age", &json!(10), WHOLE, &id(1));
        let c = entry_key("c", "age", &json!(10), WHOLE, &id(2));
        assert!(a < b && b < c);
        assert!(a.starts_with(&flag_prefix("c", "age", WHOLE)));
        assert!(!a.starts_with(&entries_prefix("c", "ag")), "field names are terminated");
    }
}
