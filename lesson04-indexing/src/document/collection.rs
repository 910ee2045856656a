//! Collections of JSON documents, stored in the B+tree.
//!
//! Every document is one entry of the tree. Its key puts the collection's
//! name and the document's `_id` in order-preserving form (see
//! [`keycode`](super::keycode)), so that a collection is one contiguous
//! range of keys, in `_id` order; its value is the document as JSON text.
//!
//! ```text
//!   key:   "d" │ collection name, as a keycode string │ _id, keycode-encoded
//!   value: {"_id":1,"name":"ada","age":36}
//!
//!   "s" │ collection name  →  the last _id generated, for documents inserted without one
//! ```
//!
//! Every command is one [`Batch`]: a document and everything that changes
//! with it commit together, or not at all. A query with no index (this
//! chapter has none yet) reads the collection's whole range: a *collection
//! scan*, which is what the next chapter's indexes avoid.

use serde_json::{Map, Value};

use crate::btree::{BTree, Batch, PageStore};
use crate::document::filter::{Filter, lookup};
use crate::document::keycode::{self, compare, encode_string};
use crate::error::{Error, Result};
use lesson01_intro::KeyRange;

/// What went wrong with a document command: bad input, or the engine.
#[derive(Debug, thiserror::Error)]
pub enum DocError {
    /// Bad JSON, an unknown operator, a type mismatch, a duplicate `_id`.
    #[error("{0}")]
    Invalid(String),
    /// The B+tree failed.
    #[error(transparent)]
    Engine(#[from] Error),
}

/// Result of a document command.
pub type DocResult<T> = std::result::Result<T, DocError>;

fn invalid<T>(why: impl Into<String>) -> DocResult<T> {
    Err(DocError::Invalid(why.into()))
}

/// Sorting of a query's results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sort {
    /// The dotted path of the field to sort by.
    pub field: String,
    /// Largest first.
    pub descending: bool,
}

/// The documents of every collection, in one B+tree.
pub struct DocStore<S: PageStore> {
    tree: BTree<S>,
}

/// The key prefix of a collection's documents.
fn documents_prefix(collection: &str) -> Vec<u8> {
    let mut key = b"d".to_vec();
    encode_string(collection.as_bytes(), &mut key);
    key
}

/// The key of a document.
fn document_key(collection: &str, id: &Value) -> Vec<u8> {
    let mut key = documents_prefix(collection);
    keycode::encode(id, &mut key);
    key
}

/// The key of a collection's `_id` sequence.
fn sequence_key(collection: &str) -> Vec<u8> {
    let mut key = b"s".to_vec();
    encode_string(collection.as_bytes(), &mut key);
    key
}

impl<S: PageStore> DocStore<S> {
    /// Documents in `tree`.
    pub fn new(tree: BTree<S>) -> Self {
        Self { tree }
    }

    /// The tree, for its statistics and checks.
    pub fn tree(&mut self) -> &mut BTree<S> {
        &mut self.tree
    }

    /// Closes the store and returns its tree.
    pub fn into_tree(self) -> BTree<S> {
        self.tree
    }

    // ANCHOR: insert
    /// Inserts `document` (a JSON object) into `collection`; returns its
    /// `_id`: the one it has, or the next number of the collection's sequence.
    pub fn insert(&mut self, collection: &str, document: Value) -> DocResult<Value> {
        let Value::Object(mut fields) = document else {
            return invalid(format!("a document must be a JSON object, not {document}"));
        };
        let mut batch = Batch::new();
        let id = match fields.get("_id") {
            Some(Value::Array(_)) => return invalid("_id cannot be an array"),
            Some(id) => id.clone(),
            None => {
                let next = self.last_generated_id(collection)? + 1;
                batch.put(sequence_key(collection), next.to_string());
                Value::from(next)
            }
        };
        let key = document_key(collection, &id);
        if self.tree.get(&key)?.is_some() {
            return invalid(format!("duplicate key: {collection} already has _id {id}"));
        }
        fields.insert("_id".into(), id.clone());
        batch.put(key, serde_json::to_vec(&Value::Object(fields)).expect("JSON values serialize"));
        self.tree.write(&batch)?;
        Ok(id)
    }
    // ANCHOR_END: insert

    fn last_generated_id(&mut self, collection: &str) -> Result<u64> {
        let last = self.tree.get(&sequence_key(collection))?;
        Ok(last.and_then(|bytes| std::str::from_utf8(&bytes).ok()?.parse().ok()).unwrap_or(0))
    }

    // ANCHOR: scan
    /// Every document of `collection` that matches `filter`, in `_id`
    /// order, with its key: a collection scan.
    fn matching(&mut self, collection: &str, filter: &Filter) -> Result<Vec<(Vec<u8>, Value)>> {
        let mut out = Vec::new();
        for (key, bytes) in self.tree.scan(&KeyRange::prefix(&documents_prefix(collection)))? {
            let document: Value = serde_json::from_slice(&bytes).map_err(|e| {
                let why = format!("a stored document is not JSON: {e}");
                Error::corrupt(self.tree.store_path(), 0, why)
            })?;
            if filter.matches(&document) {
                out.push((key, document));
            }
        }
        Ok(out)
    }
    // ANCHOR_END: scan

    /// The documents of `collection` that match `filter`, sorted if asked
    /// (else in `_id` order), at most `limit` of them.
    pub fn find(
        &mut self,
        collection: &str,
        filter: &Value,
        sort: Option<&Sort>,
        limit: Option<usize>,
    ) -> DocResult<Vec<Value>> {
        let filter = Filter::parse(filter).map_err(DocError::Invalid)?;
        let mut documents: Vec<Value> =
            self.matching(collection, &filter)?.into_iter().map(|(_, d)| d).collect();
        if let Some(sort) = sort {
            let path: Vec<String> = sort.field.split('.').map(str::to_string).collect();
            let null = Value::Null;
            // A stable sort: equal values stay in _id order.
            documents.sort_by(|a, b| {
                let order =
                    compare(lookup(a, &path).unwrap_or(&null), lookup(b, &path).unwrap_or(&null));
                if sort.descending { order.reverse() } else { order }
            });
        }
        documents.truncate(limit.unwrap_or(usize::MAX));
        Ok(documents)
    }

    /// How many documents of `collection` match `filter`.
    pub fn count(&mut self, collection: &str, filter: &Value) -> DocResult<usize> {
        let filter = Filter::parse(filter).map_err(DocError::Invalid)?;
        Ok(self.matching(collection, &filter)?.len())
    }

    // ANCHOR: update
    /// Applies `update` (`{"$set": {path: value, …}}`) to every document of
    /// `collection` that matches `filter`, in one batch; returns how many
    /// changed.
    pub fn update(&mut self, collection: &str, filter: &Value, update: &Value) -> DocResult<usize> {
        let filter = Filter::parse(filter).map_err(DocError::Invalid)?;
        let sets = parse_update(update)?;
        let mut batch = Batch::new();
        let mut changed = 0;
        for (key, mut document) in self.matching(collection, &filter)? {
            let before = document.clone();
            for (path, value) in &sets {
                set_path(&mut document, path, value.clone())?;
            }
            if document != before {
                batch.put(key, serde_json::to_vec(&document).expect("JSON values serialize"));
                changed += 1;
            }
        }
        self.tree.write(&batch)?;
        Ok(changed)
    }
    // ANCHOR_END: update

    /// Deletes every document of `collection` that matches `filter`, in one
    /// batch; returns how many.
    pub fn delete(&mut self, collection: &str, filter: &Value) -> DocResult<usize> {
        let filter = Filter::parse(filter).map_err(DocError::Invalid)?;
        let mut batch = Batch::new();
        let matching = self.matching(collection, &filter)?;
        for (key, _) in &matching {
            batch.delete(key.clone());
        }
        self.tree.write(&batch)?;
        Ok(matching.len())
    }
}

/// The `$set` of an update, as (path, value) pairs; anything else is refused.
fn parse_update(update: &Value) -> DocResult<Vec<(Vec<String>, Value)>> {
    let Some(Value::Object(sets)) =
        update.as_object().and_then(|u| (u.len() == 1).then(|| u.get("$set")).flatten())
    else {
        return invalid(format!("an update must be {{\"$set\": {{…}}}}, not {update}"));
    };
    let mut out = Vec::new();
    for (path, value) in sets {
        let path: Vec<String> = path.split('.').map(str::to_string).collect();
        if path.first().is_some_and(|p| p == "_id") {
            return invalid("_id cannot be changed");
        }
        if path.iter().any(String::is_empty) {
            return invalid(format!("bad field path {:?}", path.join(".")));
        }
        out.push((path, value.clone()));
    }
    Ok(out)
}

/// Sets the field at `path`, creating the objects on the way.
fn set_path(document: &mut Value, path: &[String], value: Value) -> DocResult<()> {
    let (last, parents) = path.split_last().expect("paths are not empty");
    let mut at = document;
    for step in parents {
        let Value::Object(fields) = at else {
            return invalid(format!(
                "cannot set {}: {step} is inside a non-object",
                path.join(".")
            ));
        };
        at = fields.entry(step.clone()).or_insert_with(|| Value::Object(Map::new()));
    }
    match at {
        Value::Object(fields) => {
            fields.insert(last.clone(), value);
            Ok(())
        }
        _ => invalid(format!("cannot set {}: its parent is not an object", path.join("."))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn store() -> DocStore<crate::btree::MemStore> {
        DocStore::new(BTree::in_memory(512))
    }

    #[test]
    fn insert_assigns_ids_and_refuses_duplicates() {
        let mut s = store();
        assert_eq!(s.insert("users", json!({"name": "ada"})).unwrap(), json!(1));
        assert_eq!(s.insert("users", json!({"name": "bob"})).unwrap(), json!(2));
        assert_eq!(s.insert("users", json!({"_id": "x", "name": "eve"})).unwrap(), json!("x"));
        assert_eq!(s.insert("other", json!({})).unwrap(), json!(1), "a sequence per collection");
        let dup = s.insert("users", json!({"_id": 1})).unwrap_err();
        assert!(dup.to_string().contains("duplicate key"), "{dup}");
        assert!(s.insert("users", json!([1])).is_err());
        assert!(s.insert("users", json!({"_id": [1]})).is_err());
        assert_eq!(s.count("users", &json!({})).unwrap(), 3);
        assert_eq!(s.count("other", &json!({})).unwrap(), 1);
    }

    #[test]
    fn find_filters_sorts_and_limits() {
        let mut s = store();
        for (name, age) in [("ada", 36), ("bob", 25), ("cy", 41), ("di", 25)] {
            s.insert("users", json!({"name": name, "age": age})).unwrap();
        }
        let names = |docs: Vec<Value>| -> Vec<String> {
            docs.iter().map(|d| d["name"].as_str().unwrap().to_string()).collect()
        };
        let sort = Sort { field: "age".into(), descending: false };
        assert_eq!(
            names(s.find("users", &json!({}), Some(&sort), None).unwrap()),
            ["bob", "di", "ada", "cy"]
        );
        let desc = Sort { field: "age".into(), descending: true };
        assert_eq!(
            names(s.find("users", &json!({"age": {"$lt": 40}}), Some(&desc), Some(2)).unwrap()),
            ["ada", "bob"]
        );
        assert!(s.find("users", &json!({"age": {"$bad": 1}}), None, None).is_err());
    }

    #[test]
    fn update_sets_paths_and_delete_removes_in_one_batch() {
        let mut s = store();
        s.insert("users", json!({"name": "ada"})).unwrap();
        s.insert("users", json!({"name": "bob"})).unwrap();
        let changed = s
            .update("users", &json!({"name": "ada"}), &json!({"$set": {"address.city": "London"}}))
            .unwrap();
        assert_eq!(changed, 1);
        assert_eq!(
            s.find("users", &json!({"address.city": "London"}), None, None).unwrap().len(),
            1
        );
        assert!(s.update("users", &json!({}), &json!({"$inc": {"a": 1}})).is_err());
        assert!(s.update("users", &json!({}), &json!({"$set": {"_id": 5}})).is_err());
        assert!(s.update("users", &json!({}), &json!({"$set": {"name.first": "x"}})).is_err());
        assert_eq!(
            s.find("users", &json!({"name": "bob"}), None, None).unwrap().len(),
            1,
            "a failed update writes nothing"
        );
        assert_eq!(s.delete("users", &json!({})).unwrap(), 2);
        assert_eq!(s.count("users", &json!({})).unwrap(), 0);
        s.tree().check().unwrap();
    }
}
