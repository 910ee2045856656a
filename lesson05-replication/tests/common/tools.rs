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

/// A real `redis-server` on a free loopback port, with no persistence, in
/// a temporary directory; killed when dropped.
pub struct RedisServer {
    /// Its port.
    pub port: u16,
    child: std::process::Child,
    _dir: tempfile::TempDir,
}

impl RedisServer {
    /// Starts one, with `extra` arguments; `None` (or a failure, when the
    /// tools are required) if redis-server is not installed. Returns once
    /// the port accepts connections.
    pub fn start(extra: &[&str]) -> Option<Self> {
        let program = tool("redis-server", &["--version"])?;
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(program)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", ""])
            .args(["--appendonly", "no", "--dir"])
            .arg(dir.path())
            .args(extra)
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let server = RedisServer { port, child, _dir: dir };
        // Bounded: 200 tries, 25 ms apart.
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(server);
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        panic!("redis-server on port {port} never accepted a connection");
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
