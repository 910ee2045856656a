//! The binary: a piped script through the REPL, and what survives a
//! restart; the sample loaded with one command, then served to psql.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

#[path = "../../lesson05-replication/tests/common/tools.rs"]
pub mod tools;

fn run(dir: &std::path::Path, script: &str) -> (String, String) {
    run_with(&["--kv"], dir, script)
}

/// Runs the binary with `flags` on `dir`, `script` as its input.
fn run_with(flags: &[&str], dir: &std::path::Path, script: &str) -> (String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lesson06-advanced"))
        .args(flags)
        .args(["--data-dir", dir.to_str().unwrap(), "--cache-pages", "64"])
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

// ANCHOR: sample_then_psql
#[test]
fn the_sample_loads_with_one_command_and_psql_gets_the_same_plan() {
    let dir = tempfile::tempdir().unwrap();
    let query = "SELECT title FROM books WHERE genre = 'poetry'";
    let script = format!("\\bookshop 1\nEXPLAIN {query};\n{query};\n");
    let (out, _) = run_with(&[], dir.path(), &script);
    insta::assert_snapshot!(format!("{script}---\n{out}"));
    let (out, _) = run_with(&[], dir.path(), &format!("EXPLAIN ANALYZE {query};\n"));
    assert!(out.contains("Index Scan using books_genre on books"), "{out}");
    assert!(out.contains("(actual time="), "{out}");
    // The same data, served: psql sees the same plan.
    let Some(psql) = tools::tool("psql", &["--version"]) else { return };
    let mut server = Command::new(env!("CARGO_BIN_EXE_lesson06-advanced"))
        .args(["--serve", "--pg-port", "0", "--resp-port", "0"])
        .args(["--data-dir", dir.path().to_str().unwrap()])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Its address, from the line that says it is ready (or the end of its
    // output, if it fails to start).
    let mut lines = BufReader::new(server.stderr.take().unwrap()).lines();
    let ready = lines
        .by_ref()
        .map(Result::unwrap)
        .find(|line| line.starts_with("ready:"))
        .expect("the server starts");
    let port = ready.split("PostgreSQL clients on 127.0.0.1:").nth(1).unwrap();
    let port = port.split(';').next().unwrap();
    let output = Command::new("timeout")
        .args(["60", &psql, "-X", "-h", "127.0.0.1", "-p", port, "-U", "student", "-d", "shop"])
        .args(["-c", &format!("EXPLAIN {query}"), "-c", "SELECT count(*) FROM books"])
        .output()
        .unwrap();
    server.kill().unwrap();
    server.wait().unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{text}{}", String::from_utf8_lossy(&output.stderr));
    assert!(text.contains("Index Scan using books_genre on books"), "{text}");
    assert!(text.contains(" 2000\n"), "{text}");
}
// ANCHOR_END: sample_then_psql
