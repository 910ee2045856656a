//! The document store on disk: a command is one batch, so a crash in the
//! middle of it leaves all of it or none of it; and its answers agree with a
//! plain list of documents filtered in memory.

use std::path::Path;

use lesson03_persistence::fs::{Faults, FaultyFs, FileSystem, RealFs};
use lesson04_indexing::btree::{self, BTree, FileStore};
use lesson04_indexing::document::{DocStore, Filter};
use proptest::prelude::*;
use serde_json::{Value, json};

fn options() -> btree::Options {
    btree::Options { page_size: 256, cache_pages: 0 }
}

fn open<F: FileSystem>(fs: F, dir: &Path) -> lesson04_indexing::Result<DocStore<FileStore<F>>> {
    BTree::open_with(fs, dir, options()).map(|(tree, _)| DocStore::new(tree))
}

fn all(store: &mut DocStore<FileStore<RealFs>>) -> Vec<Value> {
    store.find("users", &json!({}), None, None).unwrap()
}

/// Ten users, then the command under test: an update of several documents
/// and an insert with a generated `_id`, each one batch.
fn setup(dir: &Path) {
    let mut store = open(RealFs, dir).unwrap();
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

fn filter() -> impl Strategy<Value = Value> {
    let condition = prop_oneof![
        (0i64..5).prop_map(|n| json!(n)),
        (prop::sample::select(vec!["$gt", "$gte", "$lt", "$lte", "$ne", "$eq"]), 0i64..5)
            .prop_map(|(op, n)| json!({op: n})),
        prop::collection::vec(0i64..5, 0..3).prop_map(|ns| json!({"$in": ns})),
        Just(json!(null)),
    ];
    prop::collection::vec(
        (prop::sample::select(vec!["age", "tags", "name", "missing"]), condition),
        0..3,
    )
    .prop_map(|conditions| {
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
        let mut store = DocStore::new(BTree::in_memory(256));
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
