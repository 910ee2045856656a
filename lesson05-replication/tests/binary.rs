//! The real binary: it starts, serves, and on SIGTERM or Ctrl-C (SIGINT)
//! drains, makes its log durable, and exits 0.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use lesson05_replication::Frame;
use lesson05_replication::client::Client;

/// Starts the server on a free port; returns it and the address it printed.
/// The caller waits for the child.
#[allow(clippy::zombie_processes)]
fn start(dir: &std::path::Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lesson05-replication"))
        .args(["server", "--port", "0", "--fsync", "always", "--data-dir"])
        .arg(dir)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        if stderr.read_line(&mut line).unwrap() == 0 {
            let status = child.wait();
            panic!("the server exited before it was ready: {status:?}");
        }
        if let Some(rest) = line.strip_prefix("ready: listening on ") {
            let address = rest.split(';').next().unwrap().to_string();
            // Keep draining stderr, so that the server never blocks on it.
            std::thread::spawn(move || for _ in stderr.lines() {});
            return (child, address);
        }
    }
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill").args(["-s", name, &child.id().to_string()]).status();
    assert!(status.is_ok_and(|s| s.success()), "kill -s {name}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_and_ctrl_c_stop_it_cleanly_and_keep_every_write() {
    let dir = tempfile::tempdir().unwrap();
    for (round, sig) in ["TERM", "INT"].iter().enumerate() {
        let (mut child, address) = start(dir.path());
        let mut client = Client::connect(&address).await.unwrap();
        if round > 0 {
            let kept = client.call(&["GET", "round0"]).await.unwrap();
            assert_eq!(kept, Frame::Bulk(b"kept".to_vec()), "written before the last stop");
        }
        let key = format!("round{round}");
        assert_eq!(client.call(&["SET", &key, "kept"]).await.unwrap(), Frame::Simple("OK".into()));
        signal(&child, sig);
        // The connection is closed by the server as it drains.
        assert_eq!(client.read().await.unwrap(), None);
        let status = tokio::task::spawn_blocking(move || child.wait()).await.unwrap().unwrap();
        assert!(status.success(), "SIG{sig}: {status}");
    }
}
