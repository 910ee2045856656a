//! Scripted sessions across restarts, snapshotted for the book. Each
//! session runs through `Session` (the binary's line handler) on a store in
//! a temporary directory, with a manual clock.
//!
//! Script lines: a command (printed after `kv> `, then its reply);
//! `# comment`; `@start [never]` (open the store, with `fsync always` or
//! `never`, and print the recovery report the binary prints); `@stop` (close it); `@tear N` (cut the last N bytes off
//! the log, as a crash in the middle of a write would).

use std::path::Path;

use lesson02_kv::ManualClock;
use lesson02_kv::repl::transcript_line;
use lesson03_persistence::durable::LOG_FILE;
use lesson03_persistence::fs::RealFs;
use lesson03_persistence::{DurableStore, FsyncPolicy, Options, Session};

fn transcript(dir: &Path, script: &str) -> String {
    let clock = ManualClock::default();
    let mut session: Option<Session<RealFs, ManualClock>> = None;
    let mut out = String::new();
    for line in script.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if line.starts_with('#') {
            out.push_str(line);
        } else if let Some(policy) = line.strip_prefix("@start") {
            let (fsync, name) = match policy.trim() {
                "never" => (FsyncPolicy::Never, "never"),
                _ => (FsyncPolicy::Always, "always"),
            };
            let options = Options { fsync, ..Options::default() };
            let (store, report) =
                DurableStore::open_with(dir, options, RealFs, clock.clone()).unwrap();
            out.push_str(&format!(
                "$ lesson03-persistence --data-dir data --fsync {name}\n{report}"
            ));
            session = Some(Session::new(store));
        } else if line == "@stop" {
            session = None;
            out.push_str("-- the process exits --");
        } else if let Some(n) = line.strip_prefix("@tear ") {
            let n: u64 = n.parse().unwrap();
            let log = dir.join(LOG_FILE);
            let len = std::fs::metadata(&log).unwrap().len();
            std::fs::OpenOptions::new().write(true).open(&log).unwrap().set_len(len - n).unwrap();
            out.push_str(&format!(
                "-- crash: the last {n} bytes of the log never reached the disk --"
            ));
        } else {
            let session = session.as_mut().expect("@start first");
            out.push_str(&transcript_line(session, line));
        }
        out.push('\n');
    }
    out
}

#[test]
fn restart() {
    let tmp = tempfile::tempdir().unwrap();
    let script = r#"
        @start
        SET user:1 ada
        INCR visits
        INCR visits
        SET session:ada token EX 3600
        INFO
        QUIT
        @stop
        # A new process, the same directory:
        @start
        GET user:1
        GET visits
        TTL session:ada
        COMPACT
        INFO
        @stop
        @start
        GET visits
    "#;
    insta::assert_snapshot!("restart", transcript(tmp.path(), script));
}

#[test]
fn torn_tail() {
    let tmp = tempfile::tempdir().unwrap();
    let script = r#"
        # With fsync never, OK means "handed to the OS", not "on disk".
        @start never
        SET a "first write"
        SET b "second write"
        @stop
        @tear 5
        @start never
        # The half-written record of SET b was cut off; SET a is intact.
        GET a
        GET b
    "#;
    insta::assert_snapshot!("torn_tail", transcript(tmp.path(), script));
}

#[test]
fn help() {
    let tmp = tempfile::tempdir().unwrap();
    insta::assert_snapshot!(
        "help",
        transcript(tmp.path(), "@start\nHELP SAVE\nHELP COMPACT\nHELP INFO\nSAVE now")
    );
}
