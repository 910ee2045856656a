//! What the network must not change: an acknowledged write is durable,
//! under every engine, through group commit, failed fsyncs and shutdown.

mod common;

use std::time::Duration;

use common::{config, faulty_engine, load, reopen, start_config, start_engine};
use lesson03_persistence::FsyncPolicy;
use lesson03_persistence::fs::{Faults, FaultyFs};
use lesson05_replication::{EngineKind, Frame};
use tokio::net::TcpStream;

fn ok() -> Frame {
    Frame::Simple("OK".into())
}

// ANCHOR: group_commit
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_clients_share_fsyncs_and_lose_nothing_on_power_cut() {
    // A slow disk: every fsync takes 2 ms.
    let fs =
        FaultyFs::new(Faults { sync_delay: Some(Duration::from_millis(2)), ..Faults::default() });
    let (config, dir) = config(FsyncPolicy::Always);
    let engine = faulty_engine(&dir, &fs, FsyncPolicy::Always);
    let server = start_engine(engine, config, dir).await;
    let syncs_before = fs.faults().syncs;

    let (clients, writes) = (16, 25);
    let mut tasks = Vec::new();
    for c in 0..clients {
        let addr = server.addr;
        tasks.push(tokio::spawn(async move {
            let mut client = lesson05_replication::client::Client::connect(addr).await.unwrap();
            for w in 0..writes {
                let key = format!("c{c}:w{w}");
                assert_eq!(client.call(&["SET", &key, "v"]).await.unwrap(), ok());
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let fsyncs = fs.faults().syncs - syncs_before;
    let acknowledged = clients * writes;
    assert!(
        fsyncs * 4 <= acknowledged,
        "{acknowledged} writes took {fsyncs} fsyncs: writers should share them"
    );

    // Pull the plug: whatever was not fsynced is gone.
    fs.power_cut();
    let dir = server.stop_after_crash().await;
    let server = reopen(dir, FsyncPolicy::Always).await;
    let mut client = server.client().await;
    assert_eq!(client.call(&["DBSIZE"]).await.unwrap(), Frame::Integer(acknowledged as i64));
}
// ANCHOR_END: group_commit

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_fsync_fails_the_write_and_refuses_the_next() {
    let fs = FaultyFs::default();
    let (config, dir) = config(FsyncPolicy::Always);
    let engine = faulty_engine(&dir, &fs, FsyncPolicy::Always);
    let server = start_engine(engine, config, dir).await;
    let mut client = server.client().await;
    assert_eq!(client.call(&["SET", "before", "1"]).await.unwrap(), ok());
    fs.set(|f| f.fail_sync = true);
    let Frame::Error(e) = client.call(&["SET", "lost", "1"]).await.unwrap() else { panic!() };
    assert!(e.starts_with("ERR write not durable"), "{e}");
    let Frame::Error(e) = client.call(&["SET", "later", "1"]).await.unwrap() else { panic!() };
    assert!(e.starts_with("ERR"), "{e}");
    // Reads go on.
    assert_eq!(client.call(&["GET", "before"]).await.unwrap(), Frame::Bulk(b"1".to_vec()));
}

// ANCHOR: shutdown
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_answers_commands_in_flight_and_keeps_them() {
    // Fsyncs take 200 ms, so the SET below is still waiting for its fsync
    // when the shutdown begins.
    let fs =
        FaultyFs::new(Faults { sync_delay: Some(Duration::from_millis(200)), ..Faults::default() });
    let (config, dir) = config(FsyncPolicy::Always);
    let engine = faulty_engine(&dir, &fs, FsyncPolicy::Always);
    let mut server = start_engine(engine, config, dir).await;
    let mut client = server.client().await;
    client.send(&[b"SET", b"in-flight", b"1"]).await.unwrap();
    server.until(|s| load(&s.commands) == 1).await;
    let syncs = fs.faults().syncs;
    server.begin_stop();

    // The command in flight is answered, then the connection closes.
    assert_eq!(client.read().await.unwrap(), Some(ok()));
    assert_eq!(client.read().await.unwrap(), None);
    let addr = server.addr;
    let dir = server.stop().await;
    assert!(fs.faults().syncs > syncs, "the SET's fsync ran before the server stopped");
    assert!(TcpStream::connect(addr).await.is_err(), "no longer listening");

    // And it is on disk, even if the power goes now.
    fs.power_cut();
    let server = reopen(dir, FsyncPolicy::Always).await;
    let mut client = server.client().await;
    assert_eq!(client.call(&["GET", "in-flight"]).await.unwrap(), Frame::Bulk(b"1".to_vec()));
}
// ANCHOR_END: shutdown

#[tokio::test]
async fn shutdown_makes_an_everysec_log_durable() {
    let fs = FaultyFs::default();
    let (config, dir) = config(FsyncPolicy::EverySec);
    let engine = faulty_engine(&dir, &fs, FsyncPolicy::EverySec);
    let server = start_engine(engine, config, dir).await;
    let mut client = server.client().await;
    for i in 0..100 {
        assert_eq!(client.call(&["SET", &format!("k{i}"), "v"]).await.unwrap(), ok());
    }
    drop(client);
    let dir = server.stop().await;
    fs.power_cut();
    let server = reopen(dir, FsyncPolicy::EverySec).await;
    let mut client = server.client().await;
    assert_eq!(client.call(&["DBSIZE"]).await.unwrap(), Frame::Integer(100));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lesson_four_engines_serve_their_commands_and_keep_them() {
    for kind in [EngineKind::Btree, EngineKind::Bitcask] {
        let (mut config, dir) = config(FsyncPolicy::Always);
        config.engine.kind = kind;
        let server = start_config(config.clone(), dir).await;
        let mut client = server.client().await;
        assert_eq!(client.call(&["SET", "b", "2"]).await.unwrap(), ok());
        assert_eq!(client.call(&["SET", "a", "1"]).await.unwrap(), ok());
        assert_eq!(client.call(&["INCR", "a"]).await.unwrap(), Frame::Integer(2));
        let Frame::Error(e) = client.call(&["EXPIRE", "a", "10"]).await.unwrap() else { panic!() };
        assert!(e.contains("does not support EXPIRE"), "{e}");
        // Lesson 4's own commands come along.
        let scan = client.call(&["SCAN", "a", ""]).await.unwrap();
        let pairs: Vec<Frame> =
            ["a", "2", "b", "2"].iter().map(|s| Frame::Bulk(s.as_bytes().to_vec())).collect();
        assert_eq!(scan, Frame::Array(pairs), "{kind:?}");
        drop(client);
        let dir = server.stop().await;

        config.engine.data_dir = dir.path().to_path_buf();
        let server = start_config(config, dir).await;
        let mut client = server.client().await;
        assert_eq!(client.call(&["GET", "a"]).await.unwrap(), Frame::Bulk(b"2".to_vec()));
        assert_eq!(client.call(&["DBSIZE"]).await.unwrap(), Frame::Integer(2));
    }
}
