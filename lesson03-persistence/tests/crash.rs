//! Crash recovery, proven byte by byte.
//!
//! - A crash can stop a log at any byte: for every prefix of a real log,
//!   the store opens and holds exactly the changes whose records are whole.
//! - Under `fsync always`, a write that was acknowledged survives a crash at
//!   any byte.
//! - Any single damaged byte is either a torn tail (in the last record: cut)
//!   or corruption (earlier: refused, naming the offset). Never a wrong value.
//! - A crash at any step of COMPACT leaves the state intact.

use std::path::Path;

use lesson02_kv::tokenizer::tokenize;
use lesson02_kv::{Change, ManualClock, Reply};
use lesson03_persistence::durable::LOG_FILE;
use lesson03_persistence::fs::{Faults, FaultyFs, FileSystem, RealFs};
use lesson03_persistence::{DurableStore, Error, FsyncPolicy, Options};

/// Writes that each leave exactly one record, on every type: strings
/// (with binary bytes and TTLs), lists, hashes, sets and sorted sets. The
/// pops and `INCR`s are records that must be replayed exactly once.
fn script(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| match i % 12 {
            _ if i == 11 => "FLUSHALL".to_string(),
            0 => format!("SET key{i} value-{i}"),
            1 => format!("LPUSH list a{i} \"b\\x00{i}\""),
            2 => format!("HSET hash f{i} v{i}"),
            3 => format!("SADD set m{i} n{i}"),
            4 => format!("ZADD zs {i}.5 m{i}"),
            5 if i % 24 == 17 => "ZPOPMIN zs".to_string(),
            5 => "RPOP list".to_string(),
            6 if i % 24 == 18 => "INCR counter".to_string(),
            6 => "HINCRBY hash count 1".to_string(),
            7 => "ZINCRBY zs 2 m4".to_string(),
            8 if i % 24 == 20 => format!("SREM set m{}", i - 5),
            8 => "SPOP set".to_string(),
            9 => "EXPIRE hash 500".to_string(),
            10 => format!("RENAME list \"queue\\xff{i}\""),
            _ => format!("DEL key{}", i - 11),
        })
        .collect()
}

fn options(fsync: FsyncPolicy) -> Options {
    Options { fsync, auto_compact_min_bytes: u64::MAX, ..Options::default() }
}

fn open<F: FileSystem>(
    dir: &Path,
    fs: F,
    fsync: FsyncPolicy,
) -> lesson03_persistence::Result<DurableStore<F, ManualClock>> {
    DurableStore::open_with(dir, options(fsync), fs, ManualClock::new(1_000_000))
        .map(|(store, _)| store)
}

fn run<F: FileSystem>(store: &mut DurableStore<F, ManualClock>, line: &str) -> Reply {
    let command = lesson02_kv::command::parse(tokenize(line.as_bytes()).unwrap()).unwrap();
    store.execute(command)
}

/// The state as a sorted list, comparable between stores.
fn state<F: FileSystem>(store: &mut DurableStore<F, ManualClock>) -> Vec<String> {
    let mut puts: Vec<String> = store.store().dump().iter().map(|c| format!("{c:?}")).collect();
    puts.sort();
    puts
}

/// Runs `script` on a fresh store; returns, after each line, the log's
/// length and the state. Index 0 is the empty store.
fn history(dir: &Path, script: &[String]) -> Vec<(u64, Vec<String>)> {
    let mut store = open(dir, RealFs, FsyncPolicy::Never).unwrap();
    // Index 0: the new log holds only its `Start` record.
    let start = std::fs::metadata(dir.join(LOG_FILE)).unwrap().len();
    let mut out = vec![(start, state(&mut store))];
    for line in script {
        let reply = run(&mut store, line);
        assert!(!matches!(reply, Reply::Error(_)), "{line}: {reply:?}");
        let len = std::fs::metadata(dir.join(LOG_FILE)).unwrap().len();
        out.push((len, state(&mut store)));
    }
    for pair in out.windows(2) {
        assert!(pair[1].0 > pair[0].0, "every line of the script writes a record");
    }
    out
}

// ANCHOR: every_byte
#[test]
fn a_crash_at_any_byte_recovers_exactly_the_whole_records() {
    let tmp = tempfile::tempdir().unwrap();
    let history = history(&tmp.path().join("original"), &script(50));
    let log = std::fs::read(tmp.path().join("original").join(LOG_FILE)).unwrap();
    for cut in 0..=log.len() {
        let dir = tmp.path().join(format!("cut{cut}"));
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join(LOG_FILE), &log[..cut]).unwrap();
        let mut store = open(&dir, RealFs, FsyncPolicy::Never)
            .unwrap_or_else(|e| panic!("a log cut at byte {cut} does not open: {e}"));
        // The last record that fits whole in `cut` bytes (none: not even
        // the `Start` record, and the store is empty all the same).
        let whole = history.iter().rposition(|(end, _)| *end <= cut as u64).unwrap_or(0);
        assert_eq!(state(&mut store), history[whole].1, "log cut at byte {cut}");
        drop(store);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
// ANCHOR_END: every_byte

#[test]
fn under_fsync_always_no_acknowledged_write_is_lost() {
    let tmp = tempfile::tempdir().unwrap();
    let script = script(12);
    let history = history(&tmp.path().join("original"), &script);
    let total = history.last().unwrap().0;
    for crash_after in 0..=total {
        let dir = tmp.path().join(format!("crash{crash_after}"));
        let fs =
            FaultyFs::new(Faults { crash_after_bytes: Some(crash_after), ..Faults::default() });
        let Ok(mut store) = open(&dir, fs.clone(), FsyncPolicy::Always) else {
            // The crash came while the new log was being created.
            fs.power_cut();
            let mut reopened = open(&dir, RealFs, FsyncPolicy::Never).unwrap();
            assert_eq!(state(&mut reopened), history[0].1, "crash after {crash_after} bytes");
            continue;
        };
        let mut acknowledged = 0;
        for line in &script {
            match run(&mut store, line) {
                Reply::Error(_) => break,
                _ => acknowledged += 1,
            }
        }
        // The machine dies: whatever was not fsynced is gone.
        fs.power_cut();
        drop(store);
        let mut reopened = open(&dir, RealFs, FsyncPolicy::Never).unwrap();
        assert_eq!(
            state(&mut reopened),
            history[acknowledged].1,
            "crash after {crash_after} bytes"
        );
    }
}

#[test]
fn under_fsync_never_a_power_cut_loses_acknowledged_writes() {
    // The test above is only worth something if it can fail: the same
    // writes, acknowledged without fsync, do not survive a power cut.
    let tmp = tempfile::tempdir().unwrap();
    let fs = FaultyFs::default();
    let mut store = open(tmp.path(), fs.clone(), FsyncPolicy::Never).unwrap();
    for line in script(12) {
        assert!(!matches!(run(&mut store, &line), Reply::Error(_)));
    }
    fs.power_cut();
    drop(store);
    let mut reopened = open(tmp.path(), RealFs, FsyncPolicy::Never).unwrap();
    assert_eq!(
        state(&mut reopened),
        Vec::<String>::new(),
        "12 acknowledged writes, none fsynced, all lost"
    );
}

// ANCHOR: every_flip
#[test]
fn any_damaged_byte_is_a_torn_tail_or_reported_corruption_never_a_wrong_value() {
    let tmp = tempfile::tempdir().unwrap();
    let history = history(&tmp.path().join("original"), &script(12));
    let log = std::fs::read(tmp.path().join("original").join(LOG_FILE)).unwrap();
    let last_record_start = history[history.len() - 2].0 as usize;
    for (at, flip) in (0..log.len()).flat_map(|at| [0x01, 0x10, 0x80, 0xff].map(|flip| (at, flip)))
    {
        let dir = tmp.path().join(format!("flip{at}-{flip}"));
        std::fs::create_dir(&dir).unwrap();
        let mut damaged = log.clone();
        damaged[at] ^= flip;
        std::fs::write(dir.join(LOG_FILE), &damaged).unwrap();
        // The record the damaged byte belongs to, and where it starts (the
        // `Start` record, before history's first entry, starts at 0).
        let record = history.iter().position(|(end, _)| *end as usize > at).unwrap();
        let start = if record == 0 { 0 } else { history[record - 1].0 };
        let record = record.saturating_sub(1);
        match open(&dir, RealFs, FsyncPolicy::Never) {
            Ok(mut store) => {
                assert!(
                    at >= last_record_start,
                    "damage at byte {at}, before the last record, was accepted"
                );
                assert_eq!(state(&mut store), history[record].1, "damage at byte {at}");
            }
            Err(Error::CorruptLog { offset, .. }) => {
                assert!(
                    at < last_record_start,
                    "damage at byte {at} in the last record is a torn tail"
                );
                assert_eq!(offset, start, "damage at byte {at} reported at the wrong offset");
            }
            Err(other) => panic!("damage at byte {at}: unexpected error {other}"),
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
// ANCHOR_END: every_flip

#[test]
fn repair_cuts_at_the_damage_and_keeps_the_records_before_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("original");
    let history = history(&dir, &script(12));
    let mut log = std::fs::read(dir.join(LOG_FILE)).unwrap();
    let third = history[3].0 as usize;
    log[third + 9] ^= 0x80; // inside the fourth record's payload
    std::fs::write(dir.join(LOG_FILE), &log).unwrap();
    assert!(matches!(open(&dir, RealFs, FsyncPolicy::Never), Err(Error::CorruptLog { .. })));
    let (mut store, report) = DurableStore::open_with(
        &dir,
        Options { repair: true, ..options(FsyncPolicy::Never) },
        RealFs,
        ManualClock::new(1_000_000),
    )
    .unwrap();
    assert_eq!(state(&mut store), history[3].1);
    assert_eq!(report.records_replayed, 3);
    assert_eq!(report.truncated_bytes, (log.len() - third) as u64);
}

#[test]
fn a_crash_at_any_step_of_compaction_leaves_the_state_intact() {
    let tmp = tempfile::tempdir().unwrap();
    // Twenty writes with no FLUSHALL among them: one would wipe the state
    // and hide a record applied twice (a list push, an INCR) before it.
    let script = script(32).split_off(12);
    let history = history(&tmp.path().join("count"), &script);
    let want = history.last().unwrap().1.clone();

    // How many file operations does a compaction take?
    let counting = FaultyFs::default();
    let mut store = open(&tmp.path().join("count"), counting.clone(), FsyncPolicy::Never).unwrap();
    let before = counting.faults().ops;
    store.compact().unwrap();
    let ops = counting.faults().ops - before;
    drop(store);
    assert!(ops >= 8, "a compaction is at least 8 operations, counted {ops}");

    for crash_before in 0..=ops {
        let dir = tmp.path().join(format!("compact{crash_before}"));
        let mut store = open(&dir, RealFs, FsyncPolicy::Never).unwrap();
        for line in &script[..10] {
            run(&mut store, line);
        }
        store.save().unwrap(); // an old snapshot, for the crash to leave in place
        for line in &script[10..] {
            run(&mut store, line);
        }
        drop(store);
        let fs = FaultyFs::default();
        let mut store = open(&dir, fs.clone(), FsyncPolicy::Never).unwrap();
        fs.set(|f| f.crash_before_op = Some(f.ops + crash_before));
        let result = store.compact();
        assert_eq!(
            result.is_ok(),
            crash_before == ops,
            "crash before operation {crash_before} of {ops}"
        );
        fs.power_cut();
        drop(store);
        let mut reopened = open(&dir, RealFs, FsyncPolicy::Never).unwrap();
        assert_eq!(
            state(&mut reopened),
            want,
            "crash before operation {crash_before} of compaction"
        );
    }
}

#[test]
fn a_failed_fsync_stops_writes_and_says_why() {
    let tmp = tempfile::tempdir().unwrap();
    let fs = FaultyFs::default();
    let mut store = open(tmp.path(), fs.clone(), FsyncPolicy::Always).unwrap();
    assert_eq!(run(&mut store, "SET a 1"), Reply::ok());
    fs.set(|f| f.fail_sync = true);
    let Reply::Error(first) = run(&mut store, "SET b 2") else {
        panic!("a write whose fsync failed was acknowledged")
    };
    assert!(first.contains("not durable") && first.contains("fsync"), "{first}");
    fs.set(|f| f.fail_sync = false);
    let Reply::Error(next) = run(&mut store, "SET c 3") else {
        panic!("a write was accepted after a failed fsync")
    };
    assert!(next.contains("refuses writes"), "{next}");
    assert_eq!(run(&mut store, "GET a"), Reply::Bulk(b"1".to_vec()), "reads still work");
    drop(store);
    let mut reopened = open(tmp.path(), RealFs, FsyncPolicy::Never).unwrap();
    assert!(
        state(&mut reopened).iter().any(|s| s.contains("[97]")),
        "the acknowledged write survived"
    );
}

#[test]
fn everysec_syncs_in_the_background_and_a_failure_stops_writes() {
    let tmp = tempfile::tempdir().unwrap();
    let fs = FaultyFs::default();
    let options = Options {
        everysec_interval: std::time::Duration::from_millis(5),
        ..options(FsyncPolicy::EverySec)
    };
    let (mut store, _) =
        DurableStore::open_with(tmp.path(), options, fs.clone(), ManualClock::new(0)).unwrap();
    let opened = fs.faults().syncs; // creating the log fsyncs it
    assert_eq!(run(&mut store, "SET a 1"), Reply::ok());
    assert_eq!(fs.faults().syncs, opened, "the write itself did not fsync");
    let done = store.wait_for_background_syncs(0, std::time::Duration::from_secs(30));
    assert!(done >= 1 && fs.faults().syncs > opened, "no background fsync happened");

    fs.set(|f| f.fail_sync = true);
    store.wait_for_background_syncs(u64::MAX - 1, std::time::Duration::from_secs(30));
    let why = store.poisoned().expect("a failed background fsync poisons the store");
    assert!(why.contains("fsync"), "{why}");
    assert!(matches!(run(&mut store, "SET b 2"), Reply::Error(e) if e.contains("refuses writes")));
}

#[test]
fn a_second_process_cannot_open_the_same_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let first = open(tmp.path(), RealFs, FsyncPolicy::Never).unwrap();
    let second = open(tmp.path(), RealFs, FsyncPolicy::Never);
    assert!(
        matches!(&second, Err(Error::Locked { .. })),
        "{:?}",
        second.err().map(|e| e.to_string())
    );
    drop(first);
    open(tmp.path(), RealFs, FsyncPolicy::Never).expect("the lock goes with the store");
}

#[test]
fn a_damaged_snapshot_is_refused_with_its_name() {
    let tmp = tempfile::tempdir().unwrap();
    let mut store = open(tmp.path(), RealFs, FsyncPolicy::Never).unwrap();
    run(&mut store, "SET a 1");
    store.compact().unwrap();
    drop(store);
    let path = tmp.path().join(lesson03_persistence::durable::SNAPSHOT_FILE);
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&path, bytes).unwrap();
    let err = open(tmp.path(), RealFs, FsyncPolicy::Never)
        .err()
        .expect("a damaged snapshot must not load");
    assert!(
        err.to_string().contains("snapshot.db is not a valid snapshot: checksum mismatch"),
        "{err}"
    );
}

#[test]
fn replaying_a_log_over_a_snapshot_that_contains_it_changes_nothing() {
    // COMPACT crashing between the snapshot and the log swap leaves both.
    let tmp = tempfile::tempdir().unwrap();
    let mut store = open(tmp.path(), RealFs, FsyncPolicy::Never).unwrap();
    for line in script(30) {
        run(&mut store, &line);
    }
    let want = state(&mut store);
    store.save().unwrap();
    drop(store);
    let mut reopened = open(tmp.path(), RealFs, FsyncPolicy::Never).unwrap();
    assert_eq!(state(&mut reopened), want);
}

#[test]
fn short_writes_lose_nothing() {
    // A file that accepts at most 3 bytes per write call: the log must loop
    // until everything is written, not assume one call writes it all.
    let tmp = tempfile::tempdir().unwrap();
    let want = history(&tmp.path().join("reference"), &script(20)).last().unwrap().1.clone();
    let dir = tmp.path().join("short");
    let fs = FaultyFs::new(Faults { max_write: Some(3), ..Faults::default() });
    let mut store = open(&dir, fs, FsyncPolicy::Always).unwrap();
    for line in script(20) {
        assert!(!matches!(run(&mut store, &line), Reply::Error(_)), "{line}");
    }
    store.compact().unwrap(); // the snapshot goes through the same short writes
    run(&mut store, "SET after compaction");
    drop(store);
    let mut reopened = open(&dir, RealFs, FsyncPolicy::Never).unwrap();
    let mut want = want;
    want.push(format!(
        "{:?}",
        Change::Put { key: b"after".to_vec(), value: b"compaction".to_vec(), expires_at: None }
    ));
    want.sort();
    assert_eq!(state(&mut reopened), want);
}

#[test]
fn a_set_too_big_for_one_record_is_refused_without_harm() {
    let tmp = tempfile::tempdir().unwrap();
    let mut store = open(tmp.path(), RealFs, FsyncPolicy::Always).unwrap();
    let big = lesson02_kv::Command::Set {
        key: b"big".to_vec(),
        value: vec![0; 65 << 20],
        condition: None,
        ttl: lesson02_kv::store::SetTtl::Clear,
    };
    let Reply::Error(why) = store.execute(big) else { panic!("a 65 MiB value was accepted") };
    assert!(why.contains("too big"), "{why}");
    assert_eq!(store.poisoned(), None, "refusing one SET must not stop the store");
    assert_eq!(run(&mut store, "EXISTS big"), Reply::Integer(0), "nothing reached memory");
    assert_eq!(run(&mut store, "SET small ok"), Reply::ok());
}

#[test]
fn a_failed_automatic_compaction_is_reported_and_not_retried_on_every_write() {
    let tmp = tempfile::tempdir().unwrap();
    let fs = FaultyFs::default();
    let options = Options { auto_compact_min_bytes: 300, ..options(FsyncPolicy::Never) };
    let (mut store, _) =
        DurableStore::open_with(tmp.path(), options, fs.clone(), ManualClock::new(0)).unwrap();
    fs.set(|f| f.fail_sync = true); // the snapshot's fsync will fail; plain writes do not fsync
    let mut i = 0;
    while !store.info().iter().any(|(k, v)| k == "last_compaction_error" && v != "none") {
        assert_eq!(run(&mut store, &format!("SET key{i} some-value")), Reply::ok(), "writes go on");
        i += 1;
        assert!(i < 100, "no compaction was attempted");
    }
    assert_eq!(store.poisoned(), None, "a compaction that failed before the swap loses nothing");
    // The next write is one operation (its write), not another compaction.
    let before = fs.faults().ops;
    assert_eq!(run(&mut store, "SET one more"), Reply::ok());
    assert_eq!(fs.faults().ops - before, 1);
}
