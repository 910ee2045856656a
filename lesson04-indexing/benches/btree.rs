//! The B+tree against what a user would reach for instead, in the same run.
//!
//! - `memory`: the tree on the in-memory pager against `std`'s `BTreeMap`:
//!   random gets, an ordered scan of 10,000 keys, and inserts (in one batch).
//! - `disk` (with `--features compare`): the tree in a file against redb,
//!   the pure-Rust copy-on-write B-tree: a bulk load in one commit, random
//!   gets with a warm cache, a range scan of 10,000 keys, and 1,000
//!   one-key commits, each durable (fsync).
//!
//! Keys and values are shaped like redb's own benchmark: 24 random bytes
//! and 150 random bytes. `BENCH_KEYS` sets how many keys the `disk` group
//! loads (default 1,000,000; the memory group uses 100,000).
//!
//! ```console
//! $ cargo bench -p lesson04-indexing --bench btree
//! $ cargo bench -p lesson04-indexing --bench btree --features compare
//! ```

// criterion's macros generate functions that cannot carry doc comments.
#![allow(missing_docs)]

use std::collections::BTreeMap;
use std::hint::black_box;
use std::ops::Bound;
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use lesson01_intro::KeyRange;
use lesson04_indexing::btree::{BTree, Batch, PageStore};

/// A small seeded generator (xorshift64*), so that every run measures the
/// same keys.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

fn pairs(n: usize, seed: u64) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut rng = Rng(seed);
    (0..n).map(|_| (rng.bytes(24), rng.bytes(150))).collect()
}

/// The 10,000 pairs from `start` on, copied out, through a cursor.
fn scan_10k<S: PageStore>(tree: &mut BTree<S>, start: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut cursor = tree.cursor();
    cursor.seek(start).unwrap();
    let mut out = Vec::with_capacity(10_000);
    while out.len() < 10_000 {
        let Some(key) = cursor.key() else { break };
        let key = key.to_vec();
        out.push((key, cursor.value().unwrap()));
        cursor.next_entry().unwrap();
    }
    out
}

fn range_from(start: &[u8]) -> KeyRange {
    KeyRange { start: Bound::Included(start.to_vec()), end: Bound::Unbounded }
}

fn memory(c: &mut Criterion) {
    let n = 100_000;
    let data = pairs(n, 1);
    let mut tree = BTree::in_memory(4096);
    let mut batch = Batch::new();
    for (k, v) in &data {
        batch.put(k.clone(), v.clone());
    }
    tree.write(&batch).unwrap();
    let map: BTreeMap<Vec<u8>, Vec<u8>> = data.iter().cloned().collect();
    let probes: Vec<&[u8]> = (0..1000).map(|i| data[(i * 7919) % n].0.as_slice()).collect();

    let mut group = c.benchmark_group("memory");
    group.sample_size(20).measurement_time(Duration::from_secs(3));
    group.bench_function("get 1,000/btree", |b| {
        b.iter(|| {
            probes.iter().map(|k| tree.get(k).unwrap().map_or(0, |v| v.len())).sum::<usize>()
        });
    });
    group.bench_function("get 1,000/BTreeMap", |b| {
        b.iter(|| probes.iter().map(|k| map.get(*k).map_or(0, Vec::len)).sum::<usize>());
    });
    // The KvStore API's scan: the pairs of a range, copied out, in order.
    group.bench_function("scan 10,000/btree", |b| b.iter(|| scan_10k(&mut tree, probes[3])));
    group.bench_function("scan 10,000/BTreeMap", |b| {
        b.iter(|| {
            let out: Vec<(Vec<u8>, Vec<u8>)> = map
                .range::<[u8], _>(range_from(probes[3]))
                .take(10_000)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            black_box(out)
        });
    });
    // Inserts into an empty tree, in one batch (one commit at the end).
    let fresh = pairs(10_000, 2);
    group.bench_function("insert 10,000/btree", |b| {
        b.iter_batched(
            || BTree::in_memory(4096),
            |mut tree| {
                let mut batch = Batch::new();
                for (k, v) in &fresh {
                    batch.put(k.clone(), v.clone());
                }
                tree.write(&batch).unwrap();
                tree
            },
            BatchSize::LargeInput,
        );
    });
    group.bench_function("insert 10,000/BTreeMap", |b| {
        b.iter_batched(
            BTreeMap::new,
            |mut map| {
                for (k, v) in &fresh {
                    map.insert(k.clone(), v.clone());
                }
                map
            },
            BatchSize::LargeInput,
        );
    });
    group.finish();
}

#[cfg(feature = "compare")]
mod disk {
    use super::*;
    use lesson04_indexing::btree::Options;
    use redb::{Database, Durability, ReadableDatabase, TableDefinition};

    const TABLE: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("bench");

    fn keys_to_load() -> usize {
        std::env::var("BENCH_KEYS").ok().and_then(|n| n.parse().ok()).unwrap_or(1_000_000)
    }

    fn load_ours(dir: &std::path::Path, data: &[(Vec<u8>, Vec<u8>)]) -> BTree {
        let _ = std::fs::remove_dir_all(dir);
        let mut tree = BTree::open(dir, Options::default()).unwrap().0;
        let mut batch = Batch::new();
        for (k, v) in data {
            batch.put(k.clone(), v.clone());
        }
        tree.write(&batch).unwrap();
        tree
    }

    fn load_redb(path: &std::path::Path, data: &[(Vec<u8>, Vec<u8>)]) -> Database {
        let _ = std::fs::remove_file(path);
        let db = Database::create(path).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut table = txn.open_table(TABLE).unwrap();
            for (k, v) in data {
                table.insert(k.as_slice(), v.as_slice()).unwrap();
            }
        }
        txn.commit().unwrap();
        db
    }

    pub(crate) fn disk(c: &mut Criterion) {
        let n = keys_to_load();
        let data = pairs(n, 3);
        let tmp = tempfile::tempdir().unwrap();
        let ours_dir = tmp.path().join("ours");
        let redb_path = tmp.path().join("redb.db");

        let mut group = c.benchmark_group("disk");
        group.sample_size(10).measurement_time(Duration::from_secs(10));
        group.bench_function(format!("bulk load {n}/btree"), |b| {
            b.iter(|| drop(load_ours(&ours_dir, &data)));
        });
        group.bench_function(format!("bulk load {n}/redb"), |b| {
            b.iter(|| drop(load_redb(&redb_path, &data)));
        });

        let mut tree = load_ours(&ours_dir, &data);
        let db = load_redb(&redb_path, &data);
        let probes: Vec<&[u8]> = (0..1000).map(|i| data[(i * 7919) % n].0.as_slice()).collect();
        // Warm both caches.
        for (k, _) in &data {
            black_box(tree.get(k).unwrap());
        }
        group.sample_size(20).measurement_time(Duration::from_secs(3));
        group.bench_function("get 1,000/btree", |b| {
            b.iter(|| {
                probes.iter().map(|k| tree.get(k).unwrap().map_or(0, |v| v.len())).sum::<usize>()
            });
        });
        group.bench_function("get 1,000/redb", |b| {
            b.iter(|| {
                let txn = db.begin_read().unwrap();
                let table = txn.open_table(TABLE).unwrap();
                probes
                    .iter()
                    .map(|k| table.get(*k).unwrap().map_or(0, |v| v.value().len()))
                    .sum::<usize>()
            });
        });
        group.bench_function("scan 10,000/btree", |b| b.iter(|| scan_10k(&mut tree, probes[3])));
        group.bench_function("scan 10,000/redb", |b| {
            b.iter(|| {
                let txn = db.begin_read().unwrap();
                let table = txn.open_table(TABLE).unwrap();
                let out: Vec<(Vec<u8>, Vec<u8>)> = table
                    .range::<&[u8]>(probes[3]..)
                    .unwrap()
                    .take(10_000)
                    .map(|entry| {
                        let (k, v) = entry.unwrap();
                        (k.value().to_vec(), v.value().to_vec())
                    })
                    .collect();
                black_box(out)
            });
        });

        // 1,000 commits of one key each, every one durable before the next.
        let small = pairs(1000, 4);
        group.sample_size(10).measurement_time(Duration::from_secs(5));
        group.bench_function("1,000 durable commits/btree", |b| {
            b.iter(|| {
                for (k, v) in &small {
                    tree.write(Batch::new().put(k.clone(), v.clone())).unwrap();
                }
            });
        });
        group.bench_function("1,000 durable commits/redb", |b| {
            b.iter(|| {
                for (k, v) in &small {
                    let mut txn = db.begin_write().unwrap();
                    txn.set_durability(Durability::Immediate).unwrap();
                    {
                        let mut table = txn.open_table(TABLE).unwrap();
                        table.insert(k.as_slice(), v.as_slice()).unwrap();
                    }
                    txn.commit().unwrap();
                }
            });
        });
        group.finish();
    }
}

#[cfg(feature = "compare")]
criterion_group!(benches, memory, disk::disk);
#[cfg(not(feature = "compare"))]
criterion_group!(benches, memory);
criterion_main!(benches);
