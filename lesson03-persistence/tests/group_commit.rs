//! Many writers under `fsync always`: every acknowledged write is durable,
//! and the writers share fsyncs instead of queueing one each.

use std::sync::Barrier;
use std::time::Duration;

use lesson02_kv::tokenizer::tokenize;
use lesson02_kv::{ManualClock, Reply};
use lesson03_persistence::fs::{Faults, FaultyFs, RealFs};
use lesson03_persistence::shared::SharedStore;
use lesson03_persistence::{DurableStore, FsyncPolicy, Options};

fn command(line: &str) -> lesson02_kv::Command {
    lesson02_kv::command::parse(tokenize(line.as_bytes()).unwrap()).unwrap()
}

#[test]
fn concurrent_writers_share_fsyncs_and_lose_nothing() {
    const WRITERS: usize = 8;
    const WRITES: usize = 10;
    let tmp = tempfile::tempdir().unwrap();
    // A slow disk: each fsync takes 20 ms, so while one runs, the other
    // writers have time to append and queue behind it.
    let fs =
        FaultyFs::new(Faults { sync_delay: Some(Duration::from_millis(20)), ..Faults::default() });
    let options = Options { fsync: FsyncPolicy::Always, ..Options::default() };
    let (store, _) =
        DurableStore::open_with(tmp.path(), options, fs.clone(), ManualClock::new(0)).unwrap();
    let opened = fs.faults().syncs; // creating the log fsyncs it
    let shared = SharedStore::new(store);
    let start = Barrier::new(WRITERS);
    std::thread::scope(|s| {
        for w in 0..WRITERS {
            let (shared, start) = (shared.clone(), &start);
            s.spawn(move || {
                start.wait();
                for i in 0..WRITES {
                    assert_eq!(shared.execute(command(&format!("SET w{w}:{i} v"))), Reply::ok());
                }
            });
        }
    });
    let writes = (WRITERS * WRITES) as u64;
    let fsyncs = shared.fsyncs();
    assert_eq!(fs.faults().syncs - opened, fsyncs);
    assert!(
        fsyncs * 2 <= writes,
        "{fsyncs} fsyncs for {writes} writes: writers did not share them"
    );
    fs.power_cut(); // only what was fsynced survives
    drop(shared);

    let (mut reopened, _) =
        DurableStore::open_with(tmp.path(), Options::default(), RealFs, ManualClock::new(0))
            .unwrap();
    assert_eq!(reopened.store().len(), WRITERS * WRITES, "every acknowledged write is on disk");
}

#[test]
fn a_failed_shared_fsync_fails_its_writers_and_stops_writes() {
    let tmp = tempfile::tempdir().unwrap();
    let fs = FaultyFs::default();
    let (store, _) =
        DurableStore::open_with(tmp.path(), Options::default(), fs.clone(), ManualClock::new(0))
            .unwrap();
    let shared = SharedStore::new(store);
    assert_eq!(shared.execute(command("SET a 1")), Reply::ok());
    fs.set(|f| f.fail_sync = true);
    assert!(
        matches!(shared.execute(command("SET b 2")), Reply::Error(e) if e.contains("not durable"))
    );
    fs.set(|f| f.fail_sync = false);
    assert!(matches!(shared.execute(command("SET c 3")), Reply::Error(_)), "writes stay refused");
    assert_eq!(shared.execute(command("GET a")), Reply::Bulk(b"1".to_vec()));
}
