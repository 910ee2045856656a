//! Collections of JSON documents, stored in the B+tree.
//!
//! Every document is one entry of the tree. Its key puts the collection's
//! name and the document's `_id` in order-preserving form (see
//! [`keycode`](super::keycode)), so that a collection is one contiguous
//! range of keys, in `_id` order; its value is the document as JSON text.
//!
//! ```text
//!   key:   "d" │ collection name, as a keycode string │ _id, keycode-encoded
//!   value: {"_id":1,"age":36,"name":"ada"}
//!
//!   "s" │ collection name  →  the last _id generated, for documents inserted without one
//! ```
//!
//! Every command is one [`Batch`]: a document and everything that changes
//! with it (its [`index`](super::index) entries, the `_id` sequence) commit
//! together, or not at all. A query reads what [`plan::choose`] picks: an
//! index, or the collection's whole range (a *collection scan*).

use std::collections::{HashMap, HashSet};
use std::ops::Bound;

use serde_json::{Map, Value, json};

use crate::btree::{BTree, Batch, PageStore};
use crate::document::filter::{Filter, lookup};
use crate::document::index::{self, ELEMENT, Index, IndexKind, WHOLE, index_values};
use crate::document::keycode::{self, compare, encode_string};
use crate::document::plan::{self, Access};
use crate::document::search::{Query, SearchIndex};
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

/// A document with its key in the tree.
type Keyed = (Vec<u8>, Value);

/// Sorting of a query's results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sort {
    /// The dotted path of the field to sort by.
    pub field: String,
    /// Largest first.
    pub descending: bool,
}

/// What a query did, as MongoDB's `explain("executionStats")` counts it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Explain {
    /// The access path.
    pub plan: String,
    /// Index entries read.
    pub keys_examined: usize,
    /// Documents read and tested against the filter.
    pub documents_examined: usize,
    /// Documents returned.
    pub returned: usize,
    /// How the results were ordered.
    pub sort: &'static str,
}

/// The documents of every collection, and their indexes, in one B+tree.
pub struct DocStore<S: PageStore> {
    tree: BTree<S>,
    /// Each collection's indexes (hash indexes with their maps).
    indexes: HashMap<String, Vec<Index>>,
    /// Each collection's full-text index, if it has one (in memory).
    search: HashMap<String, SearchIndex>,
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
    // ANCHOR: open
    /// The documents in `tree`: reads the catalog of indexes, and rebuilds
    /// every hash index from its collection's documents.
    pub fn open(tree: BTree<S>) -> Result<Self> {
        let mut store = Self { tree, indexes: HashMap::new(), search: HashMap::new() };
        for (_, entry) in store.tree.scan(&KeyRange::prefix(b"x"))? {
            let corrupt =
                || Error::corrupt(store.tree.store_path(), 0, "a bad index catalog entry");
            let entry: Value = serde_json::from_slice(&entry).map_err(|_| corrupt())?;
            let (Some(collection), Some(field)) =
                (entry["collection"].as_str(), entry["field"].as_str())
            else {
                return Err(corrupt());
            };
            if entry["kind"] == "search" {
                let mut index = SearchIndex::new(field);
                for (key, document) in store.documents(collection)? {
                    index.add(&key[documents_prefix(collection).len()..], &document);
                }
                store.search.insert(collection.to_string(), index);
                continue;
            }
            let Some(kind) = entry["kind"].as_str().and_then(IndexKind::from_name) else {
                return Err(corrupt());
            };
            let mut index = new_index(field, kind);
            if kind == IndexKind::Hash {
                for (key, document) in store.documents(collection)? {
                    let id = key[documents_prefix(collection).len()..].to_vec();
                    add_to_hash(&mut index, &document, &id);
                }
            }
            store.indexes.entry(collection.to_string()).or_default().push(index);
        }
        Ok(store)
    }
    // ANCHOR_END: open

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
        let document = Value::Object(fields);
        let id_key = keycode::encoded(&id);
        self.index_entries(collection, &document, &id_key, |k, v| {
            batch.put(k, v);
        });
        batch.put(key, serde_json::to_vec(&document).expect("JSON values serialize"));
        self.tree.write(&batch)?;
        for index in self.indexes.get_mut(collection).into_iter().flatten() {
            add_to_hash(index, &document, &id_key);
        }
        if let Some(search) = self.search.get_mut(collection) {
            search.add(&id_key, &document);
        }
        Ok(id)
    }
    // ANCHOR_END: insert

    fn last_generated_id(&mut self, collection: &str) -> Result<u64> {
        let last = self.tree.get(&sequence_key(collection))?;
        Ok(last.and_then(|bytes| std::str::from_utf8(&bytes).ok()?.parse().ok()).unwrap_or(0))
    }

    // ANCHOR: scan
    /// Every document of `collection`, in `_id` order, with its key: a
    /// collection scan.
    fn documents(&mut self, collection: &str) -> Result<Vec<Keyed>> {
        let mut out = Vec::new();
        for (key, bytes) in self.tree.scan(&KeyRange::prefix(&documents_prefix(collection)))? {
            let document: Value = serde_json::from_slice(&bytes).map_err(|e| {
                let why = format!("a stored document is not JSON: {e}");
                Error::corrupt(self.tree.store_path(), 0, why)
            })?;
            out.push((key, document));
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
        let (documents, _) = self.select(collection, &filter, sort, limit)?;
        Ok(documents.into_iter().map(|(_, d)| d).collect())
    }

    /// What [`DocStore::find`] would do: the access path and the counts.
    pub fn explain(
        &mut self,
        collection: &str,
        filter: &Value,
        sort: Option<&Sort>,
        limit: Option<usize>,
    ) -> DocResult<Explain> {
        let filter = Filter::parse(filter).map_err(DocError::Invalid)?;
        Ok(self.select(collection, &filter, sort, limit)?.1)
    }

    /// How many documents of `collection` match `filter`.
    pub fn count(&mut self, collection: &str, filter: &Value) -> DocResult<usize> {
        let filter = Filter::parse(filter).map_err(DocError::Invalid)?;
        Ok(self.select(collection, &filter, None, None)?.0.len())
    }

    // ANCHOR: select
    /// The documents (with their keys) that match, through the access path
    /// the planner picks, and what it cost.
    fn select(
        &mut self,
        collection: &str,
        filter: &Filter,
        sort: Option<&Sort>,
        limit: Option<usize>,
    ) -> Result<(Vec<Keyed>, Explain)> {
        let indexes = self.indexes.get(collection).map_or(&[][..], Vec::as_slice);
        let access = plan::choose(filter, sort, indexes);
        let mut stats = Explain { plan: access.to_string(), ..Explain::default() };
        let limit = limit.unwrap_or(usize::MAX);
        let mut found = match &access {
            Access::CollectionScan => {
                let all = self.documents(collection)?;
                stats.documents_examined = all.len();
                all.into_iter().filter(|(_, d)| filter.matches(d)).collect()
            }
            Access::Lookup { field, kind: IndexKind::Hash, values } => {
                let index = self.index(collection, field);
                let ids: Vec<Vec<u8>> = values
                    .iter()
                    .flat_map(|v| index.map.get(&keycode::encoded(v)).cloned().unwrap_or_default())
                    .collect();
                stats.keys_examined = ids.len();
                self.fetch(collection, ids, filter, &mut stats)?
            }
            Access::Lookup { field, values, .. } => {
                let mut ids = Vec::new();
                for value in values {
                    for flag in [WHOLE, ELEMENT] {
                        let mut prefix = index::flag_prefix(collection, field, flag);
                        keycode::encode(value, &mut prefix);
                        ids.extend(
                            self.tree
                                .scan(&KeyRange::prefix(&prefix))?
                                .into_iter()
                                .map(|(_, id)| id),
                        );
                    }
                }
                stats.keys_examined = ids.len();
                self.fetch(collection, ids, filter, &mut stats)?
            }
            Access::Range { field, low, high } => {
                let mut ids = Vec::new();
                for flag in [WHOLE, ELEMENT] {
                    let range = key_range(&index::flag_prefix(collection, field, flag), low, high);
                    ids.extend(self.tree.scan(&range)?.into_iter().map(|(_, id)| id));
                }
                stats.keys_examined = ids.len();
                self.fetch(collection, ids, filter, &mut stats)?
            }
            Access::IndexOrder { field, descending } => {
                // Every document has exactly one whole entry: walk them in
                // order, and stop at the limit. No sort step.
                let range = KeyRange::prefix(&index::flag_prefix(collection, field, WHOLE));
                let entries = if *descending {
                    self.tree.scan_rev(&range)?
                } else {
                    self.tree.scan(&range)?
                };
                let mut out = Vec::new();
                for (_, id) in entries {
                    if out.len() == limit {
                        break;
                    }
                    stats.keys_examined += 1;
                    if let Some(found) = self.fetch_one(collection, &id, filter, &mut stats)? {
                        out.push(found);
                    }
                }
                out
            }
        };
        stats.sort = match (sort, &access) {
            (None, _) => "none (_id order)",
            (Some(_), Access::IndexOrder { .. }) => "by the index (no sort step)",
            (Some(sort), _) => {
                let path: Vec<String> = sort.field.split('.').map(str::to_string).collect();
                let null = Value::Null;
                // Stable: equal values stay in _id order (descending: the reverse).
                found.sort_by(|(_, a), (_, b)| {
                    compare(lookup(a, &path).unwrap_or(&null), lookup(b, &path).unwrap_or(&null))
                });
                if sort.descending {
                    found.reverse();
                }
                "in memory"
            }
        };
        found.truncate(limit);
        stats.returned = found.len();
        Ok((found, stats))
    }
    // ANCHOR_END: select

    /// The documents whose `_id` encodings are `ids` (repeats removed), in
    /// `_id` order, that match `filter`.
    fn fetch(
        &mut self,
        collection: &str,
        mut ids: Vec<Vec<u8>>,
        filter: &Filter,
        stats: &mut Explain,
    ) -> Result<Vec<Keyed>> {
        ids.sort_unstable();
        ids.dedup();
        let mut out = Vec::new();
        for id in ids {
            if let Some(found) = self.fetch_one(collection, &id, filter, stats)? {
                out.push(found);
            }
        }
        Ok(out)
    }

    /// One document by its `_id` encoding, if it matches `filter`.
    fn fetch_one(
        &mut self,
        collection: &str,
        id: &[u8],
        filter: &Filter,
        stats: &mut Explain,
    ) -> Result<Option<Keyed>> {
        let mut key = documents_prefix(collection);
        key.extend_from_slice(id);
        let Some(bytes) = self.tree.get(&key)? else {
            let why = "an index entry points at a document that is not there";
            return Err(Error::corrupt(self.tree.store_path(), 0, why));
        };
        stats.documents_examined += 1;
        let document: Value = serde_json::from_slice(&bytes).map_err(|_| {
            Error::corrupt(self.tree.store_path(), 0, "a stored document is not JSON")
        })?;
        Ok(filter.matches(&document).then_some((key, document)))
    }

    fn index(&self, collection: &str, field: &str) -> &Index {
        self.indexes[collection].iter().find(|i| i.field == field).expect("the planner chose it")
    }

    /// Calls `write` with every btree index entry of `document` (key and
    /// value), for the batch to put or delete.
    fn index_entries(
        &self,
        collection: &str,
        document: &Value,
        id: &[u8],
        mut write: impl FnMut(Vec<u8>, Vec<u8>),
    ) {
        for index in self.indexes.get(collection).into_iter().flatten() {
            if index.kind == IndexKind::BTree {
                for (value, flag) in index_values(document, &index.path) {
                    write(
                        index::entry_key(collection, &index.field, &value, flag, id),
                        id.to_vec(),
                    );
                }
            }
        }
    }

    // ANCHOR: update
    /// Applies `update` (`{"$set": {path: value, …}}`) to every document of
    /// `collection` that matches `filter`, in one batch; returns how many
    /// changed.
    pub fn update(&mut self, collection: &str, filter: &Value, update: &Value) -> DocResult<usize> {
        let filter = Filter::parse(filter).map_err(DocError::Invalid)?;
        let sets = parse_update(update)?;
        let mut batch = Batch::new();
        let mut changes = Vec::new();
        for (key, mut document) in self.select(collection, &filter, None, None)?.0 {
            let before = document.clone();
            for (path, value) in &sets {
                set_path(&mut document, path, value.clone())?;
            }
            if document != before {
                let id = key[documents_prefix(collection).len()..].to_vec();
                self.index_entries(collection, &before, &id, |k, _| {
                    batch.delete(k);
                });
                self.index_entries(collection, &document, &id, |k, v| {
                    batch.put(k, v);
                });
                batch.put(key, serde_json::to_vec(&document).expect("JSON values serialize"));
                changes.push((id, before, document));
            }
        }
        self.tree.write(&batch)?;
        for index in self.indexes.get_mut(collection).into_iter().flatten() {
            for (id, before, after) in &changes {
                remove_from_hash(index, before, id);
                add_to_hash(index, after, id);
            }
        }
        if let Some(search) = self.search.get_mut(collection) {
            for (id, before, after) in &changes {
                search.remove(id, before);
                search.add(id, after);
            }
        }
        Ok(changes.len())
    }
    // ANCHOR_END: update

    /// Deletes every document of `collection` that matches `filter`, in one
    /// batch; returns how many.
    pub fn delete(&mut self, collection: &str, filter: &Value) -> DocResult<usize> {
        let filter = Filter::parse(filter).map_err(DocError::Invalid)?;
        let mut batch = Batch::new();
        let matching = self.select(collection, &filter, None, None)?.0;
        let mut ids = Vec::new();
        for (key, document) in &matching {
            let id = key[documents_prefix(collection).len()..].to_vec();
            self.index_entries(collection, document, &id, |k, _| {
                batch.delete(k);
            });
            batch.delete(key.clone());
            ids.push(id);
        }
        self.tree.write(&batch)?;
        for index in self.indexes.get_mut(collection).into_iter().flatten() {
            for ((_, document), id) in matching.iter().zip(&ids) {
                remove_from_hash(index, document, id);
            }
        }
        if let Some(search) = self.search.get_mut(collection) {
            for ((_, document), id) in matching.iter().zip(&ids) {
                search.remove(id, document);
            }
        }
        Ok(matching.len())
    }

    // ANCHOR: create_index
    /// Creates an index on `field` of `collection`, built from the documents
    /// already there; a btree index's entries commit with its catalog entry.
    /// Returns how many documents it covers.
    pub fn create_index(
        &mut self,
        collection: &str,
        field: &str,
        kind: IndexKind,
    ) -> DocResult<usize> {
        if field.split('.').any(str::is_empty) {
            return invalid(format!("bad field path {field:?}"));
        }
        if self.indexes.get(collection).is_some_and(|ixs| ixs.iter().any(|i| i.field == field)) {
            return invalid(format!("{collection} already has an index on {field}"));
        }
        let mut index = new_index(field, kind);
        let documents = self.documents(collection)?;
        let mut batch = Batch::new();
        let catalog = json!({"collection": collection, "field": field, "kind": kind.name()});
        batch.put(index::catalog_key(collection, field), catalog.to_string());
        for (key, document) in &documents {
            let id = &key[documents_prefix(collection).len()..];
            match kind {
                IndexKind::BTree => {
                    for (value, flag) in index_values(document, &index.path) {
                        batch.put(
                            index::entry_key(collection, field, &value, flag, id),
                            id.to_vec(),
                        );
                    }
                }
                IndexKind::Hash => add_to_hash(&mut index, document, id),
            }
        }
        self.tree.write(&batch)?;
        self.indexes.entry(collection.to_string()).or_default().push(index);
        Ok(documents.len())
    }
    // ANCHOR_END: create_index

    /// Drops the index on `field` of `collection`, and its entries.
    pub fn drop_index(&mut self, collection: &str, field: &str) -> DocResult<()> {
        let Some(at) =
            self.indexes.get(collection).and_then(|ixs| ixs.iter().position(|i| i.field == field))
        else {
            return invalid(format!("{collection} has no index on {field}"));
        };
        let mut batch = Batch::new();
        batch.delete(index::catalog_key(collection, field));
        for (key, _) in
            self.tree.scan(&KeyRange::prefix(&index::entries_prefix(collection, field)))?
        {
            batch.delete(key);
        }
        self.tree.write(&batch)?;
        self.indexes.get_mut(collection).expect("found above").remove(at);
        Ok(())
    }

    /// Checks that every index holds exactly the entries its collection's
    /// documents give it: nothing missing, nothing left over.
    pub fn verify_indexes(&mut self) -> std::result::Result<(), String> {
        let collections: Vec<String> = self.indexes.keys().cloned().collect();
        for collection in collections {
            let documents = self.documents(&collection).map_err(|e| e.to_string())?;
            let prefix_len = documents_prefix(&collection).len();
            for index in &self.indexes[&collection] {
                let mut want: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
                for (key, document) in &documents {
                    let id = &key[prefix_len..];
                    for (value, flag) in index_values(document, &index.path) {
                        match index.kind {
                            IndexKind::BTree => want.push((
                                index::entry_key(&collection, &index.field, &value, flag, id),
                                id.to_vec(),
                            )),
                            IndexKind::Hash => want.push((keycode::encoded(&value), id.to_vec())),
                        }
                    }
                }
                want.sort();
                want.dedup();
                let mut have: Vec<(Vec<u8>, Vec<u8>)> = match index.kind {
                    IndexKind::BTree => self
                        .tree
                        .scan(&KeyRange::prefix(&index::entries_prefix(&collection, &index.field)))
                        .map_err(|e| e.to_string())?,
                    IndexKind::Hash => index
                        .map
                        .iter()
                        .flat_map(|(value, ids)| ids.iter().map(|id| (value.clone(), id.clone())))
                        .collect(),
                };
                have.sort();
                if have != want {
                    return Err(format!(
                        "the {} index on {collection}.{} holds {} entries, its documents give {}",
                        index.kind.name(),
                        index.field,
                        have.len(),
                        want.len()
                    ));
                }
            }
        }
        Ok(())
    }

    // ANCHOR: create_search_index
    /// Creates `collection`'s full-text index on the text field `field`
    /// (one per collection), built from the documents already there. Only
    /// its catalog entry is written: the postings live in memory, and are
    /// rebuilt when the store opens.
    pub fn create_search_index(&mut self, collection: &str, field: &str) -> DocResult<usize> {
        if let Some(existing) = self.search.get(collection) {
            return invalid(format!(
                "{collection} already has a search index, on {}",
                existing.field
            ));
        }
        let mut index = SearchIndex::new(field);
        for (key, document) in self.documents(collection)? {
            index.add(&key[documents_prefix(collection).len()..], &document);
        }
        let catalog = json!({"collection": collection, "field": field, "kind": "search"});
        let mut batch = Batch::new();
        batch.put(index::catalog_key(collection, &format!("$search.{field}")), catalog.to_string());
        self.tree.write(&batch)?;
        let covered = index.len();
        self.search.insert(collection.to_string(), index);
        Ok(covered)
    }
    // ANCHOR_END: create_search_index

    /// The best `limit` documents of `collection` for the full-text query
    /// `text`, best first, with their scores.
    pub fn search(
        &mut self,
        collection: &str,
        text: &str,
        limit: usize,
    ) -> DocResult<Vec<(Value, f64)>> {
        let Some(index) = self.search.get(collection) else {
            return invalid(format!(
                "{collection} has no search index: CREATE SEARCH INDEX {collection} field"
            ));
        };
        let query = Query::parse(text).map_err(DocError::Invalid)?;
        let hits = index.search(&query, limit);
        let mut out = Vec::new();
        for hit in hits {
            let (_, document) = self
                .fetch_one(collection, &hit.document, &Filter::default(), &mut Explain::default())?
                .expect("an empty filter matches every document");
            out.push((document, hit.score));
        }
        Ok(out)
    }

    /// The indexes of `collection`: field and kind.
    pub fn indexes(&self, collection: &str) -> Vec<(String, &'static str)> {
        let indexes = self.indexes.get(collection).map_or(&[][..], Vec::as_slice);
        indexes
            .iter()
            .map(|i| (i.field.clone(), i.kind.name()))
            .chain(self.search.get(collection).map(|s| (s.field.clone(), "search")))
            .collect()
    }
}

fn new_index(field: &str, kind: IndexKind) -> Index {
    let path = field.split('.').map(str::to_string).collect();
    Index { field: field.to_string(), path, kind, map: HashMap::new() }
}

fn add_to_hash(index: &mut Index, document: &Value, id: &[u8]) {
    if index.kind == IndexKind::Hash {
        let values: HashSet<Vec<u8>> =
            index_values(document, &index.path).iter().map(|(v, _)| keycode::encoded(v)).collect();
        for value in values {
            index.map.entry(value).or_default().push(id.to_vec());
        }
    }
}

fn remove_from_hash(index: &mut Index, document: &Value, id: &[u8]) {
    if index.kind == IndexKind::Hash {
        for (value, _) in index_values(document, &index.path) {
            if let Some(ids) = index.map.get_mut(&keycode::encoded(&value)) {
                ids.retain(|i| i != id);
            }
        }
    }
}

/// The keys under `prefix` whose value lies between `low` and `high`,
/// within the type of the bounds' values (keycode starts with the type).
fn key_range(prefix: &[u8], low: &Bound<Value>, high: &Bound<Value>) -> KeyRange {
    let with = |value: &Value, after: bool| {
        let mut key = prefix.to_vec();
        keycode::encode(value, &mut key);
        if after {
            // Past every entry with exactly this value: the _id that
            // follows starts with a tag, always below 0xff.
            key.push(0xff);
        }
        key
    };
    let typed = match (low, high) {
        (Bound::Included(v) | Bound::Excluded(v), _)
        | (_, Bound::Included(v) | Bound::Excluded(v)) => v,
        (Bound::Unbounded, Bound::Unbounded) => return KeyRange::prefix(prefix),
    };
    let tag = keycode::encoded(typed)[0];
    let start = match low {
        Bound::Included(v) => with(v, false),
        Bound::Excluded(v) => with(v, true),
        Bound::Unbounded => [prefix, &[tag]].concat(),
    };
    let end = match high {
        Bound::Included(v) => with(v, true),
        Bound::Excluded(v) => with(v, false),
        Bound::Unbounded => [prefix, &[tag + 1]].concat(),
    };
    KeyRange { start: Bound::Included(start), end: Bound::Excluded(end) }
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
        DocStore::open(BTree::in_memory(512)).unwrap()
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
            names(s.find("users", &json!({"age": {"$lt": 40}}), Some(&desc), Some(3)).unwrap()),
            ["ada", "di", "bob"],
            "descending is ascending reversed: ties in reverse _id order, as an index walked backwards"
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
