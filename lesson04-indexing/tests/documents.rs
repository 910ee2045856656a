//! The document store on disk: a command is one batch, so a crash in the
//! middle of it leaves a document and its index entries all present or all
//! absent; its answers agree with a plain list of documents filtered in
//! memory; and an index never changes an answer, only its cost.

use std::path::Path;

use lesson03_persistence::fs::{Faults, FaultyFs, FileSystem, RealFs};
use lesson04_indexing::btree::{self, BTree, FileStore};
use lesson04_indexing::document::{DocStore, Filter, IndexKind, Sort};
use proptest::prelude::*;
use serde_json::{Value, json};

fn options() -> btree::Options {
    btree::Options { page_size: 256, cache_pages: 0 }
}

fn open<F: FileSystem>(fs: F, dir: &Path) -> lesson04_indexing::Result<DocStore<FileStore<F>>> {
    BTree::open_with(fs, dir, options()).and_then(|(tree, _)| DocStore::open(tree))
}

fn all(store: &mut DocStore<FileStore<RealFs>>) -> Vec<Value> {
    store.find("users", &json!({}), None, None).unwrap()
}

/// Ten users, then the command under test: an update of several documents
/// and an insert with a generated `_id`, each one batch.
fn setup(dir: &Path) {
    let mut store = open(RealFs, dir).unwrap();
    store.create_index("users", "age", IndexKind::BTree).unwrap();
    store.create_index("users", "name", IndexKind::Hash).unwrap();
    for i in 0..10 {
        store.insert("users", json!({"name": format!("user{i}"), "age": 20 + i % 3})).unwrap();
    }
}

fn command<F: FileSystem>(store: &mut DocStore<FileStore<F>>) -> bool {
    let updated =
        store.update("users", &json!({"age": 21}), &json!({"$set": {"age": 99, "note": "x"}}));
    updated.is_ok() && store.insert("users", json!({"name": "new"})).is_ok()
}

#[test]
fn a_crash_in_a_multi_document_update_or_an_insert_leaves_all_or_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().join("base");
    setup(&base);
    let before = all(&mut open(RealFs, &base).unwrap());
    let after = {
        let dir = tmp.path().join("after");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(base.join(btree::TREE_FILE), dir.join(btree::TREE_FILE)).unwrap();
        let mut store = open(RealFs, &dir).unwrap();
        assert!(command(&mut store));
        all(&mut store)
    };
    let updated: Vec<Value> = after.iter().filter(|d| d["age"] == 99).cloned().collect();
    assert_eq!(updated.len(), 3, "the update touches three documents");
    for crash_before in 0..200 {
        let dir = tmp.path().join(format!("crash{crash_before}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(base.join(btree::TREE_FILE), dir.join(btree::TREE_FILE)).unwrap();
        let fs = FaultyFs::new(Faults { crash_before_op: Some(crash_before), ..Faults::default() });
        let finished = open(fs.clone(), &dir).is_ok_and(|mut store| command(&mut store));
        fs.power_cut();
        let mut reopened = open(RealFs, &dir).unwrap();
        reopened.tree().check().unwrap();
        reopened.verify_indexes().unwrap_or_else(|e| panic!("crash before op {crash_before}: {e}"));
        let got = all(&mut reopened);
        // Either nothing, the update alone (the insert crashed), or both.
        let update_only: Vec<Value> =
            after.iter().filter(|d| d["name"] != "new").cloned().collect();
        assert!(
            got == before || got == update_only || got == after,
            "crash before op {crash_before}: a partial command survived"
        );
        if finished {
            assert_eq!(got, after);
            // The sequence survived with the document: the next _id is new.
            assert_eq!(reopened.insert("users", json!({})).unwrap(), json!(12));
            return;
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
    panic!("the command never finished in 200 operations");
}

fn document() -> impl Strategy<Value = Value> {
    (
        proptest::option::of(0i64..5),
        proptest::option::of(prop::sample::select(vec!["a", "b", "c"])),
        proptest::option::of(prop::collection::vec(0i64..3, 0..3)),
    )
        .prop_map(|(age, name, tags)| {
            let mut doc = serde_json::Map::new();
            if let Some(age) = age {
                doc.insert("age".into(), json!(age));
            }
            if let Some(name) = name {
                doc.insert("name".into(), json!(name));
            }
            if let Some(tags) = tags {
                doc.insert("tags".into(), json!(tags));
            }
            Value::Object(doc)
        })
}

/// A condition on one field, with operands of the field's usual type (and
/// now and then another, or null).
fn condition(operand: BoxedStrategy<Value>) -> impl Strategy<Value = Value> {
    let other = prop_oneof![Just(json!(null)), Just(json!("b")), Just(json!(2))];
    let operand = prop_oneof![6 => operand, 1 => other];
    prop_oneof![
        3 => operand.clone(),
        3 => (prop::sample::select(vec!["$gt", "$gte", "$lt", "$lte", "$ne", "$eq"]), operand.clone())
            .prop_map(|(op, v)| json!({op: v})),
        2 => (prop::sample::select(vec!["$gt", "$gte"]), operand.clone(), prop::sample::select(vec!["$lt", "$lte"]), operand.clone())
            .prop_map(|(a, x, b, y)| json!({a: x, b: y})),
        1 => prop::collection::vec(operand, 0..3).prop_map(|vs| json!({"$in": vs})),
    ]
}

fn filter() -> impl Strategy<Value = Value> {
    let number = (0i64..5).prop_map(|n| json!(n)).boxed();
    let name = prop::sample::select(vec!["a", "b", "c"]).prop_map(|s| json!(s)).boxed();
    let field = prop_oneof![
        4 => condition(number.clone()).prop_map(|c| ("age", c)),
        2 => condition(number.clone()).prop_map(|c| ("tags", c)),
        2 => condition(name).prop_map(|c| ("name", c)),
        1 => condition(number).prop_map(|c| ("missing", c)),
    ];
    prop::collection::vec(field, 1..3).prop_map(|conditions| {
        Value::Object(conditions.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn find_count_and_delete_agree_with_filtering_a_list(
        documents in prop::collection::vec(document(), 0..20),
        filter in filter(),
    ) {
        let mut store = DocStore::open(BTree::in_memory(256)).unwrap();
        let mut stored = Vec::new();
        for document in documents {
            let id = store.insert("c", document.clone()).unwrap();
            let mut document = document;
            document["_id"] = id;
            stored.push(document);
        }
        let parsed = Filter::parse(&filter).unwrap();
        let want: Vec<Value> = stored.iter().filter(|d| parsed.matches(d)).cloned().collect();
        prop_assert_eq!(store.find("c", &filter, None, None).unwrap(), want.clone());
        prop_assert_eq!(store.count("c", &filter).unwrap(), want.len());
        prop_assert_eq!(store.delete("c", &filter).unwrap(), want.len());
        prop_assert_eq!(store.count("c", &json!({})).unwrap(), stored.len() - want.len());
        store.tree().check().map_err(TestCaseError::fail)?;
    }
}

fn sort() -> impl Strategy<Value = Option<Sort>> {
    proptest::option::of((prop::sample::select(vec!["age", "name", "tags"]), any::<bool>()))
        .prop_map(|s| s.map(|(field, descending)| Sort { field: field.into(), descending }))
}

/// Every way to index the fields the filters use.
fn index_configuration() -> impl Strategy<Value = Vec<(&'static str, IndexKind)>> {
    let kind = prop::sample::select(vec![IndexKind::BTree, IndexKind::Hash]);
    prop::collection::vec(
        (prop::sample::select(vec!["age", "name", "tags", "missing"]), kind),
        0..4,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    // ANCHOR: indexed_equals_scan
    #[test]
    fn an_index_never_changes_an_answer(
        documents in prop::collection::vec(document(), 0..24),
        filter in filter(),
        sort in sort(),
        limit in proptest::option::of(0usize..6),
        indexes in index_configuration(),
        update in (0i64..5, 0i64..5),
    ) {
        // 1 KiB pages: an index key holds a whole array value.
        let mut plain = DocStore::open(BTree::in_memory(1024)).unwrap();
        let mut indexed = DocStore::open(BTree::in_memory(1024)).unwrap();
        // Half the indexes before the documents, half after: built from
        // writes, and built from the collection.
        let (before, after) = indexes.split_at(indexes.len() / 2);
        for (field, kind) in before {
            let _ = indexed.create_index("c", field, *kind);
        }
        for document in &documents {
            prop_assert_eq!(plain.insert("c", document.clone()).unwrap(), indexed.insert("c", document.clone()).unwrap());
        }
        for (field, kind) in after {
            let _ = indexed.create_index("c", field, *kind);
        }
        // An update and a delete, to move and remove index entries.
        let (from, to) = update;
        let set = json!({"$set": {"age": to}});
        prop_assert_eq!(plain.update("c", &json!({"age": from}), &set).unwrap(), indexed.update("c", &json!({"age": from}), &set).unwrap());
        prop_assert_eq!(plain.delete("c", &json!({"age": 4})).unwrap(), indexed.delete("c", &json!({"age": 4})).unwrap());
        indexed.verify_indexes().map_err(TestCaseError::fail)?;

        let want = plain.find("c", &filter, sort.as_ref(), limit).unwrap();
        let got = indexed.find("c", &filter, sort.as_ref(), limit).unwrap();
        let plan = indexed.explain("c", &filter, sort.as_ref(), limit).unwrap().plan;
        prop_assert_eq!(got, want, "plan: {}", plan);
        prop_assert_eq!(plain.count("c", &filter).unwrap(), indexed.count("c", &filter).unwrap());

        // And after a reopen, which rebuilds the hash indexes.
        let mut reopened = DocStore::open(BTree::from_store(indexed.into_tree().into_store(), 1024).unwrap().0).unwrap();
        reopened.verify_indexes().map_err(TestCaseError::fail)?;
        prop_assert_eq!(reopened.find("c", &filter, sort.as_ref(), limit).unwrap(), plain.find("c", &filter, sort.as_ref(), limit).unwrap());
    }
    // ANCHOR_END: indexed_equals_scan
}
