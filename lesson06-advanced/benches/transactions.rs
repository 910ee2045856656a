//! Transfers between accounts by concurrent threads, under MVCC and under
//! the alternative a user would reach for first: one big lock held for the
//! whole transaction (serial execution, which never aborts).
//!
//! Two workloads: **uniform**, transfers between any two of 10,000
//! accounts (conflicts are rare), and **hot**, between 4 accounts (nearly
//! every pair of concurrent transfers conflicts). Each round is 4 threads ×
//! 100 transfers on a store in memory, so that the disk does not hide the
//! concurrency control's own cost; the bench prints the abort rate, aborts
//! per committed transfer, beside the times.
//!
//! ```console
//! $ cargo bench -p lesson06-advanced --bench transactions
//! ```

// criterion's macros generate functions that cannot carry doc comments.
#![allow(missing_docs)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use lesson04_indexing::btree::{BTree, MemStore};
use lesson05_replication::rng::Rng;
use lesson06_advanced::mvcc::{Db, Error, Isolation};

const THREADS: u64 = 4;
const TRANSFERS: u64 = 100;

fn store(accounts: u64) -> Db<MemStore> {
    let db = Db::open(BTree::in_memory(4096)).unwrap();
    let mut t = db.begin(Isolation::Snapshot);
    for a in 0..accounts {
        t.set(format!("acct{a}").into_bytes(), b"1000".to_vec());
    }
    t.commit().unwrap();
    db
}

fn number(value: Option<Vec<u8>>) -> i64 {
    std::str::from_utf8(&value.unwrap()).unwrap().parse().unwrap()
}

/// One transfer, retried until it commits; returns the failed tries. With
/// `big_lock`, the whole transaction holds it: serial, never aborted.
fn transfer(db: &Db<MemStore>, big_lock: Option<&Mutex<()>>, from: u64, to: u64) -> u64 {
    let (from, to) = (format!("acct{from}").into_bytes(), format!("acct{to}").into_bytes());
    for failed in 0.. {
        let _held = big_lock.map(|lock| lock.lock().unwrap());
        let mut t = db.begin(Isolation::Snapshot);
        let (a, b) = (number(t.get(&from).unwrap()), number(t.get(&to).unwrap()));
        t.set(from.clone(), (a - 1).to_string().into_bytes());
        t.set(to.clone(), (b + 1).to_string().into_bytes());
        match t.commit() {
            Ok(_) => return failed,
            Err(Error::Serialization) => continue,
            Err(e) => panic!("{e}"),
        }
    }
    unreachable!()
}

/// One round: every thread's transfers. Returns the time and the aborts.
fn round(db: &Db<MemStore>, accounts: u64, big_lock: bool, seed: u64) -> (Duration, u64) {
    let lock = Arc::new(Mutex::new(()));
    let start = Instant::now();
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let (db, lock) = (db.clone(), lock.clone());
            std::thread::spawn(move || {
                let mut rng = Rng::new(seed * 100 + t);
                let mut aborts = 0;
                for _ in 0..TRANSFERS {
                    let from = rng.below(accounts);
                    let to = (from + 1 + rng.below(accounts - 1)) % accounts;
                    aborts += transfer(&db, big_lock.then_some(&*lock), from, to);
                }
                aborts
            })
        })
        .collect();
    let aborts = threads.into_iter().map(|t| t.join().unwrap()).sum();
    (start.elapsed(), aborts)
}

fn transfers(c: &mut Criterion) {
    let mut group = c.benchmark_group("transfer");
    group.sample_size(20).measurement_time(Duration::from_secs(5));
    for (workload, accounts) in [("uniform", 10_000), ("hot", 4)] {
        for (control, big_lock) in [("mvcc", false), ("big-lock", true)] {
            let db = store(accounts);
            let (mut committed, mut aborted) = (0u64, 0u64);
            group.bench_function(format!("{workload}/{control}"), |b| {
                b.iter_custom(|rounds| {
                    let mut total = Duration::ZERO;
                    for r in 0..rounds {
                        let (time, aborts) = round(&db, accounts, big_lock, r);
                        total += time;
                        aborted += aborts;
                        committed += THREADS * TRANSFERS;
                    }
                    total
                });
            });
            // Read by `cargo x measure` into the book's table.
            println!(
                "measure: transfer/{workload}/{control}/aborts per committed transfer = {:.3}",
                aborted as f64 / committed.max(1) as f64,
            );
            println!(
                "transfer/{workload}/{control}: {} versions kept for {accounts} accounts",
                db.versions().unwrap().0,
            );
        }
    }
    group.finish();
}

criterion_group!(benches, transfers);
criterion_main!(benches);
