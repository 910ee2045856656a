//! The binary: a piped script through the REPL, and what survives a restart.

use std::io::Write;
use std::process::{Command, Stdio};

fn run(dir: &std::path::Path, script: &str) -> (String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lesson06-advanced"))
        .args(["--kv", "--data-dir", dir.to_str().unwrap(), "--cache-pages", "64"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(script.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let text = |bytes: Vec<u8>| String::from_utf8(bytes).unwrap();
    (text(output.stdout), text(output.stderr))
}

#[test]
fn a_piped_script_commits_and_rolls_back_and_the_commits_survive() {
    let dir = tempfile::tempdir().unwrap();
    let (out, err) = run(
        dir.path(),
        "SET a 1\nBEGIN\nSET a 2\nSET b 2\nROLLBACK\nBEGIN ISOLATION serializable\nINCR a\nCOMMIT\n",
    );
    assert_eq!(out, "OK\nBEGIN\nOK\nOK\nOK\nBEGIN\n(integer) 2\nOK\n");
    assert!(err.contains("new file"), "{err}");
    // An open transaction at the end of the input is rolled back.
    let (out, err) = run(dir.path(), "GET a\nGET b\nBEGIN\nSET b 9\n");
    assert_eq!(out, "\"2\"\n(nil)\nBEGIN\nOK\n");
    assert!(err.contains("last commit 2"), "{err}");
    let (out, _) = run(dir.path(), "GET b\n");
    assert_eq!(out, "(nil)\n");
}
