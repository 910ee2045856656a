//! The real binary, killed with SIGKILL while a script writes: every write
//! it acknowledged is there when it starts again, on both engines. And a
//! flipped byte in a data file gives a clear error, never a wrong value.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use lesson04_indexing::btree::pager::choose_meta;

const BIN: &str = env!("CARGO_BIN_EXE_lesson04-indexing");

struct Running {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

fn start(dir: &Path, engine: &str) -> Running {
    let mut child = Command::new(BIN)
        .args(["--engine", engine, "--data-dir"])
        .arg(dir)
        .args(["--page-size", "256", "--segment-bytes", "512"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let stdin = child.stdin.take().unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    Running { child, stdin, stdout }
}

impl Running {
    fn send(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").unwrap();
        self.stdin.flush().unwrap();
    }

    fn reply(&mut self) -> String {
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        line.trim_end().to_string()
    }
}

/// Runs `lines` through a fresh process and returns one reply line each
/// (the commands used answer on one line).
fn run(dir: &Path, engine: &str, lines: &[String]) -> Vec<String> {
    let mut process = start(dir, engine);
    let replies = lines
        .iter()
        .map(|line| {
            process.send(line);
            process.reply()
        })
        .collect();
    drop(process.stdin);
    process.child.wait().unwrap();
    replies
}

fn kill_while_writing(engine: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let mut process = start(&dir, engine);
    // Acknowledged: a reply was read. Each key is written twice, so that
    // overwrites (and, for Bitcask, several segments) are involved.
    let mut acknowledged = Vec::new();
    for i in 0..40 {
        let (key, value) = (format!("key{:02}", i % 25), format!("value-{i}"));
        process.send(&format!("SET {key} {value}"));
        assert_eq!(process.reply(), "OK");
        acknowledged.push((key, value));
    }
    // In flight: sent, never answered. They may or may not survive.
    for i in 0..20 {
        process.send(&format!("SET late{i} x"));
    }
    process.child.kill().unwrap(); // SIGKILL: no destructor, no flush
    process.child.wait().unwrap();

    let mut latest = std::collections::BTreeMap::new();
    for (key, value) in acknowledged {
        latest.insert(key, value);
    }
    let gets: Vec<String> = latest.keys().map(|k| format!("GET {k}")).collect();
    let replies = run(&dir, engine, &gets);
    for ((key, value), reply) in latest.iter().zip(&replies) {
        assert_eq!(reply, &format!("\"{value}\""), "{engine}: {key} after kill -9");
    }
}

#[test]
fn btree_loses_no_acknowledged_write_to_sigkill() {
    kill_while_writing("btree");
}

#[test]
fn bitcask_loses_no_acknowledged_write_to_sigkill() {
    kill_while_writing("bitcask");
}

/// Writes a few keys, flips one byte of the engine's data (`at` picks it),
/// and reads everything back through a new process.
fn flipped_byte_is_an_error(engine: &str, file: &str, at: fn(&[u8]) -> usize) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let sets: Vec<String> = (0..10).map(|i| format!("SET key{i} value-{i}")).collect();
    run(&dir, engine, &sets);
    let path = dir.join(file);
    let mut bytes = std::fs::read(&path).unwrap();
    let at = at(&bytes);
    bytes[at] ^= 0x20;
    std::fs::write(&path, bytes).unwrap();

    let gets: Vec<String> = (0..10).map(|i| format!("GET key{i}")).collect();
    let output = Command::new(BIN)
        .args(["--engine", engine, "--data-dir"])
        .arg(&dir)
        .args(["--page-size", "256", "--segment-bytes", "512"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            // A process that refuses to start closes its stdin early: ignore that.
            let _ = child.stdin.take().unwrap().write_all(gets.join("\n").as_bytes());
            child.wait_with_output()
        })
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let mut errors = 0;
    for (i, reply) in stdout.lines().enumerate() {
        if reply.starts_with("(error) ERR") {
            assert!(reply.contains("corrupt"), "{engine}: an unclear error: {reply}");
            errors += 1;
        } else {
            assert_eq!(reply, format!("\"value-{i}\""), "{engine}: a wrong value for key{i}");
        }
    }
    let refused_to_start = !output.status.success() && stderr.contains("corrupt");
    assert!(
        errors > 0 || refused_to_start,
        "{engine}: the flipped byte went unnoticed\nstdout: {stdout}\nstderr: {stderr}"
    );
}

#[test]
fn btree_reports_a_flipped_byte() {
    // A byte in the middle of the root page, which every read goes through.
    flipped_byte_is_an_error("btree", "tree.db", |file| {
        let slots = choose_meta([Some(file[..256].to_vec()), Some(file[256..512].to_vec())]);
        let meta = slots.slots[slots.newest.unwrap()].clone().unwrap();
        meta.root.unwrap() as usize * 256 + 128
    });
}

#[test]
fn bitcask_reports_a_flipped_byte() {
    // A byte in the middle of the first segment: inside some record.
    flipped_byte_is_an_error("bitcask", "0000000001.data", |file| file.len() / 2);
}
