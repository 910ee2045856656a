//! Three measurements, each against what a user would reach for instead,
//! in the same run (`cargo bench -p lesson03-persistence`):
//!
//! - `append`: 1,000 records (100-byte and 1,000-byte values) into the log
//!   without fsync, against a raw `BufWriter` writing the same framed bytes.
//! - `durable_writes`: writes under `fsync always`, one writer against 50
//!   concurrent writers sharing fsyncs (group commit). Throughput in writes/s.
//! - `recovery`: opening a log of 10,000, 100,000 and 1,000,000 records
//!   (read, check, decode, apply), and only scanning it (read, check,
//!   decode), against reading the same file with `std::fs::read`.
//!   Throughput in bytes/s.

// criterion's macros generate functions that cannot carry doc comments.
#![allow(missing_docs)]

use std::io::{BufWriter, Write};
use std::time::{Duration, Instant};

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use lesson02_kv::tokenizer::tokenize;
use lesson02_kv::{ManualClock, SystemClock};
use lesson03_persistence::durable::LOG_FILE;
use lesson03_persistence::fs::RealFs;
use lesson03_persistence::log::{LogWriter, scan};
use lesson03_persistence::record::{self, LogRecord};
use lesson03_persistence::shared::SharedStore;
use lesson03_persistence::{DurableStore, FsyncPolicy, Options};

fn record(i: usize, value_len: usize) -> LogRecord {
    LogRecord::Put {
        key: format!("key:{i:012}").into_bytes(),
        value: vec![b'v'; value_len],
        expires_at: None,
    }
}

fn append(c: &mut Criterion) {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("bench.log");
    let mut group = c.benchmark_group("append");
    // Small records show the cost of framing; bigger ones dilute it.
    for value_len in [100, 1000] {
        let records: Vec<LogRecord> = (0..1000).map(|i| record(i, value_len)).collect();
        let mut framed = Vec::new();
        for r in &records {
            record::encode(r, &mut framed);
        }
        group.throughput(Throughput::Elements(records.len() as u64));
        group.bench_function(format!("log_writer/{value_len}B"), |b| {
            b.iter_batched(
                || {
                    let _ = std::fs::remove_file(&path);
                    LogWriter::open(&RealFs, &path, 0, 0, 0).unwrap()
                },
                |mut log| {
                    for r in &records {
                        log.append(r).unwrap();
                    }
                    log.flush().unwrap();
                },
                BatchSize::PerIteration,
            );
        });
        group.bench_function(format!("bufwriter_same_bytes/{value_len}B"), |b| {
            b.iter_batched(
                || {
                    let _ = std::fs::remove_file(&path);
                    BufWriter::new(std::fs::File::create(&path).unwrap())
                },
                |mut file| {
                    // The same framed bytes, record by record, as a log would write them.
                    let mut at = 0;
                    while at < framed.len() {
                        let len =
                            8 + u32::from_le_bytes(framed[at..at + 4].try_into().unwrap()) as usize;
                        file.write_all(&framed[at..at + len]).unwrap();
                        at += len;
                    }
                    file.flush().unwrap();
                },
                BatchSize::PerIteration,
            );
        });
    }
    group.finish();
}

fn set(i: u64) -> lesson02_kv::Command {
    lesson02_kv::command::parse(tokenize(format!("SET key:{i} value-{i}").as_bytes()).unwrap())
        .unwrap()
}

fn durable_writes(c: &mut Criterion) {
    let mut group = c.benchmark_group("durable_writes");
    group.throughput(Throughput::Elements(1));
    group.sample_size(10).measurement_time(Duration::from_secs(5));
    let options = Options { fsync: FsyncPolicy::Always, ..Options::default() };

    let tmp = tempfile::tempdir().unwrap();
    let (mut store, _) = DurableStore::open(tmp.path().join("one"), options.clone()).unwrap();
    let mut n = 0;
    group.bench_function("always_1_writer", |b| {
        b.iter(|| {
            n += 1;
            store.execute(set(n))
        });
    });
    drop(store);

    let (store, _) = DurableStore::open(tmp.path().join("fifty"), options).unwrap();
    let shared: SharedStore<RealFs, SystemClock> = SharedStore::new(store);
    group.bench_function("always_50_writers", |b| {
        b.iter_custom(|iters| {
            let per_writer = iters.div_ceil(50);
            let start = Instant::now();
            std::thread::scope(|s| {
                for w in 0..50 {
                    let shared = shared.clone();
                    s.spawn(move || {
                        for i in 0..per_writer {
                            shared.execute(set(w * 1_000_000_000 + i));
                        }
                    });
                }
            });
            // Scale to the iterations asked for: 50 × per_writer may be a few more.
            start.elapsed().mul_f64(iters as f64 / (per_writer * 50) as f64)
        });
    });
    group.finish();
}

fn recovery(c: &mut Criterion) {
    let mut group = c.benchmark_group("recovery");
    group.sample_size(10).measurement_time(Duration::from_secs(10));
    // Three sizes, for the book's plot of recovery time against the log's
    // length: every step should grow in proportion.
    for records in [10_000usize, 100_000, 1_000_000] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("recovery");
        std::fs::create_dir_all(&dir).unwrap();
        // A log begins with its `Start` record; recovery refuses a file without one.
        let mut bytes = Vec::new();
        record::encode(&LogRecord::Start { log_id: 1 }, &mut bytes);
        for i in 0..records {
            let r = LogRecord::Put {
                key: format!("key:{i:012}").into_bytes(),
                value: format!("value-{i}").into_bytes(),
                expires_at: None,
            };
            record::encode(&r, &mut bytes);
        }
        let path = dir.join(LOG_FILE);
        std::fs::write(&path, &bytes).unwrap();

        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function(BenchmarkId::new("read_file", records), |b| {
            b.iter(|| std::fs::read(&path).unwrap().len());
        });
        group.bench_function(BenchmarkId::new("read_and_scan", records), |b| {
            b.iter(|| scan(&std::fs::read(&path).unwrap()).unwrap().records.len());
        });
        let options = Options { fsync: FsyncPolicy::Never, ..Options::default() };
        group.bench_function(BenchmarkId::new("open_store", records), |b| {
            b.iter(|| {
                let (mut store, report) =
                    DurableStore::open_with(&dir, options.clone(), RealFs, ManualClock::new(0))
                        .unwrap();
                assert_eq!(report.records_replayed, records);
                store.store().len()
            });
        });
    }
    group.finish();
}

criterion_group! {
    name = log;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = append, durable_writes, recovery
}
criterion_main!(log);
