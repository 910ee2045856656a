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

/// `cluster`: prints the layout with every shard's leader, serves, and
/// stops every node on SIGTERM; started again on the same data (with
/// `--port 0`, on other ports), it still has the writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cluster_launcher_prints_the_layout_and_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    for round in 0..2 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_lesson05-replication"))
            .args(["cluster", "--shards", "2", "--replicas", "1", "--port", "0"])
            .arg("--data-dir")
            .arg(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let layout: Vec<String> = stdout.lines().take(5).map(Result::unwrap).collect();
        assert_eq!(
            layout[0].split_whitespace().collect::<Vec<_>>(),
            ["shard", "slots", "node", "client", "role"]
        );
        assert!(layout[1].starts_with("0      0-8191"), "{layout:?}");
        assert_eq!(layout.iter().filter(|l| l.ends_with("leader")).count(), 2, "{layout:?}");
        // `{a}` is in slot 15495, shard 1: nodes 2 and 3.
        let leader = layout.iter().skip(3).find(|l| l.ends_with("leader")).unwrap();
        let address = leader.split_whitespace().rev().nth(1).unwrap().to_string();
        let mut client = Client::connect(&address).await.unwrap();
        if round == 0 {
            assert_eq!(
                client.call(&["SET", "{a}", "kept"]).await.unwrap(),
                Frame::Simple("OK".into())
            );
        } else {
            assert_eq!(client.call(&["GET", "{a}"]).await.unwrap(), Frame::Bulk(b"kept".to_vec()));
        }
        signal(&child, "TERM");
        let status = tokio::task::spawn_blocking(move || child.wait()).await.unwrap().unwrap();
        assert!(status.success(), "{status}");
    }
}
