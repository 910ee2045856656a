//! The real binary, twice on one data directory, and a second process
//! locked out while the first is running.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn start(dir: &std::path::Path, fsync: &str) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_lesson03-persistence"))
        .args(["--data-dir", dir.to_str().unwrap(), "--fsync", fsync])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary starts")
}

fn run(dir: &std::path::Path, fsync: &str, input: &str) -> Output {
    let mut child = start(dir, fsync);
    // A process that refused to start may be gone before we write: ignore
    // a broken pipe, and judge by its exit status and output.
    let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn data_survives_a_restart_and_the_report_goes_to_stderr() {
    let tmp = tempfile::tempdir().unwrap();
    let first = run(tmp.path(), "always", "SET a 1\nINCR a\n");
    assert!(first.status.success());
    assert_eq!(text(&first.stdout), "OK\n(integer) 2\n", "stdout holds exactly the replies");
    assert_eq!(text(&first.stderr), "recovery: no snapshot, 0 log records replayed\n");

    let second = run(tmp.path(), "never", "GET a\n");
    assert_eq!(text(&second.stdout), "\"2\"\n");
    assert_eq!(text(&second.stderr), "recovery: no snapshot, 2 log records replayed\n");
}

#[test]
fn a_second_process_is_locked_out() {
    let tmp = tempfile::tempdir().unwrap();
    let mut first = start(tmp.path(), "everysec");
    let mut stdin = first.stdin.take().unwrap();
    // Wait until the first process is up: its reply proves it holds the lock.
    stdin.write_all(b"PING\n").unwrap();
    let mut stdout = std::io::BufReader::new(first.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
    assert_eq!(line, "PONG\n");

    let second = run(tmp.path(), "everysec", "PING\n");
    assert!(!second.status.success());
    assert!(
        text(&second.stderr).contains("is in use by another process"),
        "{}",
        text(&second.stderr)
    );
    drop(stdin);
    assert!(first.wait().unwrap().success());
}

#[test]
fn a_bad_fsync_policy_is_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    let out = run(tmp.path(), "sometimes", "");
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("invalid value 'sometimes'"), "{}", text(&out.stderr));
}
