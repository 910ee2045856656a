//! What an index buys a query, and what it costs a write, in the same run:
//!
//! - `query`: at 100,000 documents, an equality and a range on `age`,
//!   through a btree index against a collection scan.
//! - `insert`: 1,000 inserts into a collection with 0, 1 and 3 indexes.
//! - `open`: reopening 100,000 documents with a hash index (rebuilt from
//!   the documents) against with a btree index (nothing to rebuild).
//!
//! The stores are on the in-memory pager, so that the numbers are the
//! engine's work, not fsyncs (each insert is a commit: on disk, two fsyncs).
//!
//! ```console
//! $ cargo bench -p lesson04-indexing --bench documents
//! ```

// criterion's macros generate functions that cannot carry doc comments.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use lesson04_indexing::btree::{BTree, MemStore};
use lesson04_indexing::document::{DocStore, IndexKind};
use serde_json::{Value, json};

const DOCUMENTS: usize = 100_000;

fn document(i: usize) -> Value {
    let cities = ["London", "Paris", "Lagos", "Lima", "Osaka"];
    json!({
        "name": format!("user{i}"),
        "age": (i * 7919) % 100,
        "city": cities[i % cities.len()],
        "tags": [format!("t{}", i % 13), format!("t{}", i % 7)],
    })
}

fn store(n: usize, indexes: &[(&str, IndexKind)]) -> DocStore<MemStore> {
    let mut store = DocStore::open(BTree::in_memory(4096)).unwrap();
    for (field, kind) in indexes {
        store.create_index("users", field, *kind).unwrap();
    }
    for i in 0..n {
        store.insert("users", document(i)).unwrap();
    }
    store
}

fn queries(c: &mut Criterion) {
    let mut plain = store(DOCUMENTS, &[]);
    let mut indexed = store(DOCUMENTS, &[("age", IndexKind::BTree)]);
    let equal = json!({"age": 42});
    let range = json!({"age": {"$gte": 40, "$lt": 45}});
    assert_eq!(indexed.find("users", &equal, None, None).unwrap().len(), 1000);
    assert!(indexed.explain("users", &equal, None, None).unwrap().plan.contains("IXSCAN"));

    let mut group = c.benchmark_group("query");
    group.sample_size(10).measurement_time(Duration::from_secs(5));
    group.bench_function("equality 1%/btree index", |b| {
        b.iter(|| black_box(indexed.find("users", &equal, None, None).unwrap()));
    });
    group.bench_function("equality 1%/collection scan", |b| {
        b.iter(|| black_box(plain.find("users", &equal, None, None).unwrap()));
    });
    group.bench_function("range 5%/btree index", |b| {
        b.iter(|| black_box(indexed.find("users", &range, None, None).unwrap()));
    });
    group.bench_function("range 5%/collection scan", |b| {
        b.iter(|| black_box(plain.find("users", &range, None, None).unwrap()));
    });
    group.finish();
}

fn inserts(c: &mut Criterion) {
    let mut group = c.benchmark_group("insert");
    group.sample_size(10).measurement_time(Duration::from_secs(5));
    let configurations: [(&str, &[(&str, IndexKind)]); 3] = [
        ("0 indexes", &[]),
        ("1 index", &[("age", IndexKind::BTree)]),
        (
            "3 indexes",
            &[("age", IndexKind::BTree), ("city", IndexKind::BTree), ("tags", IndexKind::BTree)],
        ),
    ];
    for (name, indexes) in configurations {
        group.bench_function(format!("1,000 documents/{name}"), |b| {
            b.iter_batched(
                || store(10_000, indexes),
                |mut store| {
                    for i in 10_000..11_000 {
                        store.insert("users", document(i)).unwrap();
                    }
                    store
                },
                BatchSize::LargeInput,
            );
        });
    }
    group.finish();
}

fn opens(c: &mut Criterion) {
    let mut group = c.benchmark_group("open");
    group.sample_size(10).measurement_time(Duration::from_secs(5));
    for kind in [IndexKind::Hash, IndexKind::BTree] {
        let tree = store(DOCUMENTS, &[("age", kind)]).into_tree();
        let mut slot = Some(tree.into_store());
        group.bench_function(format!("100,000 documents/{} index", kind.name()), |b| {
            b.iter(|| {
                let pages = slot.take().expect("the store");
                let store = DocStore::open(BTree::from_store(pages, 4096).unwrap().0).unwrap();
                slot = Some(store.into_tree().into_store());
            });
        });
    }
    group.finish();
}

criterion_group!(benches, queries, inserts, opens);
criterion_main!(benches);
