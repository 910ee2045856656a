//! The real binary, driven through a pipe as a script would drive it.

use std::io::Write;
use std::process::{Command, Stdio};

/// Runs the binary with `input` on stdin; returns stdout, after checking
/// that it exited with 0 and printed nothing on stderr.
fn run(input: &[u8]) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lesson02-kv"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary starts");
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "exit status {}", out.status);
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_readme_example() {
    let out = run(b"SET a 1\nINCR a\nGET a\n");
    assert_eq!(out, "OK\n(integer) 2\n\"2\"\n");
    // The book shows this output from the snapshot file.
    insta::assert_snapshot!("readme_example", out);
}

#[test]
fn errors_print_a_line_and_the_session_goes_on() {
    let out = run(b"FOO\nGET\nSET n abc\nINCR n\nGET n\n");
    let lines: Vec<_> = out.lines().collect();
    assert_eq!(
        lines,
        [
            "(error) ERR unknown command 'FOO'",
            "(error) ERR wrong number of arguments for 'get' command",
            "OK",
            "(error) ERR value is not an integer or out of range",
            "\"abc\"",
        ]
    );
}

#[test]
fn quit_ends_the_process_with_success() {
    assert_eq!(run(b"PING\nQUIT\nPING\n"), "PONG\nOK\n");
}

#[test]
fn empty_input_is_a_successful_empty_session() {
    assert_eq!(run(b""), "");
}

#[test]
fn replies_arrive_before_input_ends() {
    // Each reply is flushed as soon as it is ready: read the first reply
    // while stdin is still open.
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(env!("CARGO_BIN_EXE_lesson02-kv"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("binary starts");
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    stdin.write_all(b"PING\n").unwrap();
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(line, "PONG\n");
    drop(stdin);
    assert!(child.wait().unwrap().success());
}

#[test]
fn help_flag() {
    let out = Command::new(env!("CARGO_BIN_EXE_lesson02-kv")).arg("--help").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("pipe"));
}
