//! Bitcask against what a user would pick instead, in the same run:
//!
//! - `get`: random gets at 100k keys (24-byte random keys, 150-byte values)
//!   vs a `HashMap` holding the same values in memory (one positioned read
//!   from the page cache, plus the checksum, against a memory lookup), and
//!   vs the B+tree and (with `--features compare`) redb on the same keys.
//! - `open`: start-up at N keys from hint files vs scanning the segments
//!   (`BITCASK_BENCH_KEYS`, default 200 000; the goal is 5× at 1M).
//! - `merge`: merge throughput vs writing the same bytes with `std::fs`
//!   and one fsync: the floor for any merge.
//!
//! Run with `cargo bench -p lesson04-indexing --bench bitcask`. Every file
//! is in the page cache when it is read (the store was just written): these
//! are CPU and system-call costs, not disk seeks.

// criterion's macros generate functions that cannot carry doc comments.
#![allow(missing_docs)]

use std::collections::HashMap;
use std::hint::black_box;
use std::io::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use lesson04_indexing::bitcask::{Bitcask, BitcaskOptions};
use lesson04_indexing::btree::{self, BTree, Batch};

mod common;
use common::Rng;

const KEY_BYTES: usize = 24;
const VALUE_BYTES: usize = 150;

fn pairs(n: usize, seed: u64) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut rng = Rng(seed);
    (0..n).map(|_| (rng.bytes(KEY_BYTES), rng.bytes(VALUE_BYTES))).collect()
}

fn options() -> BitcaskOptions {
    BitcaskOptions { sync_every_write: false, ..BitcaskOptions::default() }
}

/// Writes `pairs` into a store in `dir`, `rounds` times (each round after
/// the first overwrites every key: stale bytes for a merge).
fn fill(dir: &Path, pairs: &[(Vec<u8>, Vec<u8>)], rounds: usize) {
    let (mut store, _) = Bitcask::open(dir, options()).expect("open");
    for _ in 0..rounds {
        for (k, v) in pairs {
            store.set(k.clone(), v.clone()).expect("set");
        }
    }
    store.sync().expect("sync");
}

fn copy_dir(from: &Path, to: &Path, with_hints: bool) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let path = entry.expect("entry").path();
        let hint = path.extension().is_some_and(|e| e == "hint");
        if path.is_file() && (with_hints || !hint) {
            std::fs::copy(&path, to.join(path.file_name().expect("a name"))).expect("copy");
        }
    }
}

fn gets(c: &mut Criterion) {
    let n = 100_000;
    let tmp = tempfile::tempdir().expect("tempdir");
    let pairs = pairs(n, 1);
    fill(tmp.path(), &pairs, 1);
    let (store, _) = Bitcask::open(tmp.path(), options()).expect("open");
    let map: HashMap<Vec<u8>, Vec<u8>> = pairs.iter().cloned().collect();
    let mut rng = Rng(2);
    let probes: Vec<&[u8]> = (0..64).map(|_| pairs[rng.next() as usize % n].0.as_slice()).collect();

    let mut group = c.benchmark_group("bitcask_get");
    group.throughput(Throughput::Elements(probes.len() as u64));
    group.bench_function(BenchmarkId::new("bitcask", n), |b| {
        b.iter(|| {
            for p in &probes {
                black_box(store.get(black_box(p)).expect("get"));
            }
        });
    });
    group.bench_function(BenchmarkId::new("hash_map", n), |b| {
        b.iter(|| {
            for p in &probes {
                // Cloned, as Bitcask returns an owned value.
                black_box(map.get(black_box(*p)).cloned());
            }
        });
    });
    // The ordered engines on the same keys, in files, caches warm.
    let tree_dir = tmp.path().join("tree");
    let mut tree = BTree::open(&tree_dir, btree::Options::default()).expect("open").0;
    let mut batch = Batch::new();
    for (k, v) in &pairs {
        batch.put(k.clone(), v.clone());
    }
    tree.write(&batch).expect("load");
    group.bench_function(BenchmarkId::new("btree", n), |b| {
        b.iter(|| {
            for p in &probes {
                black_box(tree.get(black_box(p)).expect("get"));
            }
        });
    });
    #[cfg(feature = "compare")]
    {
        use redb::{Database, ReadableDatabase, TableDefinition};
        const TABLE: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("bench");
        let db = Database::create(tmp.path().join("redb.db")).expect("create");
        let txn = db.begin_write().expect("begin");
        {
            let mut table = txn.open_table(TABLE).expect("table");
            for (k, v) in &pairs {
                table.insert(k.as_slice(), v.as_slice()).expect("insert");
            }
        }
        txn.commit().expect("commit");
        group.bench_function(BenchmarkId::new("redb", n), |b| {
            b.iter(|| {
                let txn = db.begin_read().expect("begin");
                let table = txn.open_table(TABLE).expect("table");
                for p in &probes {
                    black_box(table.get(black_box(*p)).expect("get").map(|v| v.value().to_vec()));
                }
            });
        });
    }
    group.finish();
}

fn bench_keys() -> usize {
    std::env::var("BITCASK_BENCH_KEYS").ok().and_then(|s| s.parse().ok()).unwrap_or(200_000)
}

fn open(c: &mut Criterion) {
    let n = bench_keys();
    let tmp = tempfile::tempdir().expect("tempdir");
    let hinted = tmp.path().join("hinted");
    fill(&hinted, &pairs(n, 3), 1);
    let (mut store, _) = Bitcask::open(&hinted, options()).expect("open");
    store.merge().expect("merge");
    drop(store);
    let scanned = tmp.path().join("scanned");
    copy_dir(&hinted, &scanned, false);

    let mut group = c.benchmark_group("bitcask_open");
    group.throughput(Throughput::Elements(n as u64));
    for (name, dir) in [("hint_files", &hinted), ("scan", &scanned)] {
        group.bench_function(BenchmarkId::new(name, n), |b| {
            // Dropping the store (freeing every key) is not part of opening,
            // and each store is dropped before the next open: the directory
            // is locked while a store has it open.
            b.iter_custom(|iters| {
                let mut opening = Duration::ZERO;
                for _ in 0..iters {
                    let start = Instant::now();
                    let (store, report) = Bitcask::open(dir, options()).expect("open");
                    opening += start.elapsed();
                    assert_eq!(report.keys, n);
                    drop(black_box(store));
                }
                opening
            });
        });
    }
    group.finish();
}

fn merge(c: &mut Criterion) {
    let n = 100_000;
    let tmp = tempfile::tempdir().expect("tempdir");
    let template = tmp.path().join("template");
    fill(&template, &pairs(n, 4), 2); // half the bytes are stale
    let (store, _) = Bitcask::open(&template, options()).expect("open");
    let live = store.stats().live_bytes;
    drop(store);
    let payload = vec![0xa5u8; live as usize];

    let mut group = c.benchmark_group("bitcask_merge");
    group.throughput(Throughput::Bytes(live));
    let mut round = 0;
    group.bench_function(BenchmarkId::new("merge", n), |b| {
        b.iter_batched(
            || {
                round += 1;
                let dir = tmp.path().join(format!("merge{round}"));
                copy_dir(&template, &dir, true);
                Bitcask::open(&dir, options()).expect("open").0
            },
            |mut store| black_box(store.merge().expect("merge")),
            BatchSize::PerIteration,
        );
    });
    group.bench_function(BenchmarkId::new("std_fs_write", n), |b| {
        let path = tmp.path().join("raw");
        b.iter(|| {
            let mut file = std::fs::File::create(&path).expect("create");
            file.write_all(&payload).expect("write");
            file.sync_data().expect("fsync");
        });
    });
    group.finish();
}

criterion_group! {
    name = benches;
    // Short runs: the ratios matter, not the last percent.
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = gets, open, merge
}
criterion_main!(benches);
