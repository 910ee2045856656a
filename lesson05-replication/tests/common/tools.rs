//! Running the real Redis tools from tests: find them or skip, run them
//! with a time limit.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

/// Where `.ci/install-clients` puts redis-py.
pub fn venv_python() -> PathBuf {
    let venv = std::env::var_os("REDIS_VENV").map(PathBuf::from).unwrap_or_else(|| {
        let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
        home.join(".cache/workbook/redis-venv")
    });
    venv.join("bin/python")
}

/// The tool's path if it runs; otherwise skips (prints why and returns
/// `None`), or fails when the tools are required.
pub fn tool(program: &str, probe: &[&str]) -> Option<String> {
    let found = Command::new(program)
        .args(probe)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if found {
        return Some(program.to_string());
    }
    let why = format!("{program} is not installed (run .ci/install-clients)");
    assert!(
        std::env::var("WORKBOOK_REAL_CLIENTS").as_deref() != Ok("required"),
        "WORKBOOK_REAL_CLIENTS=required, but {why}"
    );
    eprintln!("SKIPPED: {why}");
    None
}

/// Runs `program` with `args` and `stdin`, off the runtime's threads, and
/// kills it after a minute (coreutils' `timeout`): a client that hangs
/// fails the test instead of hanging it.
pub async fn run(program: &str, args: Vec<String>, stdin: &str) -> Output {
    let (program, stdin) = (program.to_string(), stdin.to_string());
    tokio::task::spawn_blocking(move || {
        let mut child = Command::new("timeout")
            .arg("60")
            .arg(&program)
            .args(&args)
            // A terminal linenoise does not drive with escape codes: no
            // cursor-position query that only a real terminal would answer.
            .env("TERM", "dumb")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{program}: {e}"));
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{program} {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        output
    })
    .await
    .unwrap()
}
