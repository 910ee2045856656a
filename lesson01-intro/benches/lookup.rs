//! Lookups in a linear scan, a `HashMap` and a `BTreeMap`, at three sizes.
//!
//! Run with `cargo bench -p lesson01-intro`, or `cargo x measure --lesson 1`,
//! which renders the book's "Measure it" table and plot from the results.

// criterion's macros generate functions that cannot carry doc comments.
#![allow(missing_docs)]

use std::collections::{BTreeMap, HashMap};
use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use lesson01_intro::timing::{key, probes};
use lesson01_intro::{KvStore, LinearStore};

fn lookups(c: &mut Criterion) {
    let mut group = c.benchmark_group("lookup");
    for n in [10, 1_000, 100_000] {
        let keys: Vec<Vec<u8>> = (0..n).map(key).collect();
        // 64 probes per iteration, spread over the whole key space, so that
        // one iteration is not always the best or the worst case.
        let probes: Vec<Vec<u8>> = probes(n, 64).into_iter().map(key).collect();
        // Declared, so that criterion's files (and the book) give the time per lookup.
        group.throughput(Throughput::Elements(probes.len() as u64));

        let mut linear = LinearStore::new();
        let mut hash = HashMap::new();
        let mut btree = BTreeMap::new();
        for k in &keys {
            linear.set(k.clone(), k.clone()).expect("infallible");
            hash.insert(k.clone(), k.clone());
            btree.insert(k.clone(), k.clone());
        }

        group.bench_with_input(BenchmarkId::new("linear_scan", n), &probes, |b, probes| {
            b.iter(|| {
                for p in probes {
                    black_box(linear.get(black_box(p)).expect("infallible"));
                }
            });
        });
        group.bench_with_input(BenchmarkId::new("hash_map", n), &probes, |b, probes| {
            b.iter(|| {
                for p in probes {
                    black_box(hash.get(black_box(p.as_slice())).cloned());
                }
            });
        });
        group.bench_with_input(BenchmarkId::new("btree_map", n), &probes, |b, probes| {
            b.iter(|| {
                for p in probes {
                    black_box(btree.get(black_box(p.as_slice())).cloned());
                }
            });
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    // Short runs: the differences are orders of magnitude, not percent.
    config = Criterion::default().warm_up_time(std::time::Duration::from_secs(1))
        .measurement_time(std::time::Duration::from_secs(3));
    targets = lookups
}
criterion_main!(benches);
