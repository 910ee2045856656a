//! The store against the maps a user would pick instead, in one run:
//! `hashbrown::HashMap` (the table inside the store) and
//! `std::collections::HashMap` (same table, SipHash instead of foldhash).
//!
//! `cargo bench -p lesson02-kv`. For each size (10k and 1M keys):
//!
//! - `get`: 64 lookups of present keys per iteration, taken in turn from a
//!   pool of 4,096 spread-out keys, each returning an owned copy of the value
//!   (as `KvStore::get` must).
//! - `set_overwrite`: 64 SETs of present keys (from the same pool).
//! - `set_new`: SETs of absent keys; after every 1000 the keys are removed
//!   again, untimed, so the map stays at its size.
//! - `delete`: DELs of present keys; after every 1000 they are put back,
//!   untimed.
//!
//! Every variant does the same work: the key and value are cloned into each
//! call, as a command's owned arguments would be.

// criterion's macros generate functions that cannot carry doc comments.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use lesson01_intro::timing::probes;
use lesson02_kv::Store;
use lesson02_kv::store::SetTtl;

/// The three contenders, behind one interface so each benchmark is written once.
trait Map {
    fn get(&mut self, key: &[u8]) -> Option<Vec<u8>>;
    fn set(&mut self, key: Vec<u8>, value: Vec<u8>);
    fn del(&mut self, key: &[u8]) -> bool;
}

impl Map for Store {
    fn get(&mut self, key: &[u8]) -> Option<Vec<u8>> {
        Store::get(self, key).expect("the benchmark stores strings only")
    }
    fn set(&mut self, key: Vec<u8>, value: Vec<u8>) {
        Store::set(self, key, value, None, SetTtl::Clear);
    }
    fn del(&mut self, key: &[u8]) -> bool {
        self.remove(key)
    }
}

impl Map for hashbrown::HashMap<Vec<u8>, Vec<u8>> {
    fn get(&mut self, key: &[u8]) -> Option<Vec<u8>> {
        hashbrown::HashMap::get(self, key).cloned()
    }
    fn set(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.insert(key, value);
    }
    fn del(&mut self, key: &[u8]) -> bool {
        self.remove(key).is_some()
    }
}

impl Map for std::collections::HashMap<Vec<u8>, Vec<u8>> {
    fn get(&mut self, key: &[u8]) -> Option<Vec<u8>> {
        std::collections::HashMap::get(self, key).cloned()
    }
    fn set(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.insert(key, value);
    }
    fn del(&mut self, key: &[u8]) -> bool {
        self.remove(key).is_some()
    }
}

fn key(i: usize) -> Vec<u8> {
    format!("key:{i:012}").into_bytes()
}

const VALUE: &[u8] = b"value-0123456789";

fn filled<M: Map>(mut map: M, n: usize) -> M {
    for i in 0..n {
        map.set(key(i), VALUE.to_vec());
    }
    map
}

fn bench_map<M: Map>(c: &mut Criterion, name: &str, n: usize, mut map: M) {
    // A pool of 4,096 spread-out probes, 64 taken per iteration: lookups
    // touch keys all over the table, not the same 64 hot entries. The pool
    // is small enough to stay in the CPU caches, so the numbers measure the
    // map's work rather than DRAM latency, which on a shared VM varied 3×
    // from run to run at a million keys and drowned the comparison.
    let pool: Vec<Vec<u8>> = probes(n, 4096).into_iter().map(key).collect();
    let mut windows = pool.chunks(64).cycle();

    c.benchmark_group(format!("get/{n}")).throughput(Throughput::Elements(64)).bench_function(
        BenchmarkId::from_parameter(name),
        |b| {
            b.iter(|| {
                for k in windows.next().expect("cycle never ends") {
                    black_box(map.get(black_box(k)));
                }
            });
        },
    );

    c.benchmark_group(format!("set_overwrite/{n}"))
        .throughput(Throughput::Elements(64))
        .bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter(|| {
                for k in windows.next().expect("cycle never ends") {
                    map.set(black_box(k.clone()), black_box(VALUE.to_vec()));
                }
            });
        });

    // Fresh keys above n; inserted in chunks of 1000 and removed after each.
    let fresh: Vec<Vec<u8>> = (n..n + 1000).map(key).collect();
    c.benchmark_group(format!("set_new/{n}")).throughput(Throughput::Elements(1)).bench_function(
        BenchmarkId::from_parameter(name),
        |b| {
            b.iter_custom(|iters| {
                chunked(
                    iters,
                    &fresh,
                    &mut map,
                    |m, k| m.set(k.clone(), VALUE.to_vec()),
                    |m, k| {
                        m.del(k);
                    },
                )
            });
        },
    );

    let existing: Vec<Vec<u8>> = probes(n, 1000)
        .into_iter()
        .map(key)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    c.benchmark_group(format!("delete/{n}")).throughput(Throughput::Elements(1)).bench_function(
        BenchmarkId::from_parameter(name),
        |b| {
            b.iter_custom(|iters| {
                chunked(
                    iters,
                    &existing,
                    &mut map,
                    |m, k| {
                        black_box(m.del(k));
                    },
                    |m, k| m.set(k.clone(), VALUE.to_vec()),
                )
            });
        },
    );
}

/// Runs `timed` on `iters` keys, cycling through `keys`; after each pass
/// over `keys`, runs `undo` on them untimed, so the map's size stays put.
fn chunked<M: Map>(
    iters: u64,
    keys: &[Vec<u8>],
    map: &mut M,
    mut timed: impl FnMut(&mut M, &Vec<u8>),
    mut undo: impl FnMut(&mut M, &Vec<u8>),
) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = iters as usize;
    while left > 0 {
        let chunk = &keys[..left.min(keys.len())];
        let start = Instant::now();
        for k in chunk {
            timed(map, k);
        }
        total += start.elapsed();
        for k in chunk {
            undo(map, k);
        }
        left -= chunk.len();
    }
    total
}

fn benches(c: &mut Criterion) {
    for n in [10_000, 1_000_000] {
        bench_map(c, "store", n, filled(Store::new(), n));
        bench_map(c, "hashbrown", n, filled(hashbrown::HashMap::new(), n));
        bench_map(c, "std", n, filled(std::collections::HashMap::new(), n));
    }
}

criterion_group! {
    name = store;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(2));
    targets = benches
}
criterion_main!(store);
