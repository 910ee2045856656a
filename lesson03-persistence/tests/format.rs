//! The on-disk format, pinned: hex dumps of a tiny log and a tiny snapshot.
//! A change to the format changes these snapshots, on purpose or not; the
//! book's byte-layout section shows them.

use std::fmt::Write;

use lesson02_kv::ManualClock;
use lesson02_kv::tokenizer::tokenize;
use lesson03_persistence::durable::{LOG_FILE, SNAPSHOT_FILE};
use lesson03_persistence::fs::RealFs;
use lesson03_persistence::record;
use lesson03_persistence::{DurableStore, FsyncPolicy, Options};

/// `offset  hex bytes  |ascii|`, 16 bytes a line, offsets from `base`.
fn hexdump_at(base: usize, bytes: &[u8]) -> String {
    let mut out = String::new();
    for (i, chunk) in bytes.chunks(16).enumerate() {
        let hex: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
        let ascii: String = chunk
            .iter()
            .map(|&b| if b.is_ascii_graphic() || b == b' ' { b as char } else { '.' })
            .collect();
        writeln!(out, "{:08x}  {:<47}  |{ascii}|", base + i * 16, hex.join(" ")).unwrap();
    }
    out
}

fn hexdump(bytes: &[u8]) -> String {
    hexdump_at(0, bytes)
}

fn store(dir: &std::path::Path) -> DurableStore<RealFs, ManualClock> {
    let options = Options { fsync: FsyncPolicy::Always, ..Options::default() };
    DurableStore::open_with(dir, options, RealFs, ManualClock::new(1_700_000_000_000)).unwrap().0
}

fn run(store: &mut DurableStore<RealFs, ManualClock>, line: &str) {
    store.execute(lesson02_kv::command::parse(tokenize(line.as_bytes()).unwrap()).unwrap());
}

#[test]
fn log_format() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = store(tmp.path());
    let commands = ["SET a 1", "SET greeting hi PX 5000", "LPUSH queue job", "DEL a"];
    for line in commands {
        run(&mut s, line);
    }
    drop(s);
    let log = std::fs::read(tmp.path().join(LOG_FILE)).unwrap();
    let mut out = String::new();
    let mut at = 0;
    // The first record is written when the log is created, not by a command.
    for line in std::iter::once("(a new log)").chain(commands) {
        let (rec, len) = record::decode(&log[at..]).unwrap();
        writeln!(out, "{line}  →  {rec:?}").unwrap();
        let crc = u32::from_le_bytes(log[at + 4..at + 8].try_into().unwrap());
        writeln!(
            out,
            "  bytes {at}..{}: header (length = {}, crc32 = {crc:08x}), then the payload",
            at + len,
            len - 8
        )
        .unwrap();
        out.push_str(&hexdump_at(at, &log[at..at + len]));
        at += len;
    }
    assert_eq!(at, log.len(), "the log holds exactly these records");
    insta::assert_snapshot!("log", out);
}

#[test]
fn snapshot_format() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = store(tmp.path());
    run(&mut s, "SET a 1");
    s.save().unwrap();
    drop(s);
    let snapshot = std::fs::read(tmp.path().join(SNAPSHOT_FILE)).unwrap();
    insta::assert_snapshot!("snapshot", hexdump(&snapshot));
}
