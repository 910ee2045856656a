//! A real server on 127.0.0.1:0 inside the test process.
#![allow(dead_code, unreachable_pub)]

pub mod tools;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use lesson02_kv::SystemClock;
use lesson03_persistence::fs::FaultyFs;
use lesson03_persistence::{DurableStore, FsyncPolicy, Options};
use lesson05_replication::client::Client;
use lesson05_replication::engine::{Durable, Engine};
use lesson05_replication::server::Stats;
use lesson05_replication::{Config, EngineConfig, EngineKind, Server};
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub struct TestServer {
    pub addr: SocketAddr,
    pub stats: Arc<Stats>,
    pub dir: TempDir,
    stop: Option<oneshot::Sender<()>>,
    handle: JoinHandle<Result<(), String>>,
}

/// Settings for a durable store in a fresh temporary directory.
pub fn config(fsync: FsyncPolicy) -> (Config, TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let engine =
        EngineConfig { kind: EngineKind::Durable, data_dir: dir.path().to_path_buf(), fsync };
    (Config::new(engine), dir)
}

/// A server on lesson 3's durable store (`fsync never`), with `change`
/// applied to the default settings.
pub async fn start(change: impl FnOnce(&mut Config)) -> TestServer {
    let (mut config, dir) = config(FsyncPolicy::Never);
    change(&mut config);
    start_config(config, dir).await
}

/// A server on the engine `config` names, with its data in `dir`.
pub async fn start_config(config: Config, dir: TempDir) -> TestServer {
    let (engine, _) = config.engine.open().unwrap();
    start_engine(engine, config, dir).await
}

/// A server on the durable store already in `dir` (after a stop, or a
/// power cut), on the real file system.
pub async fn reopen(dir: TempDir, fsync: FsyncPolicy) -> TestServer {
    let (mut config, _unused) = config(fsync);
    config.engine.data_dir = dir.path().to_path_buf();
    start_config(config, dir).await
}

/// A server on the durable store in `dir`, through a faulty file system.
pub fn faulty_engine(dir: &TempDir, fs: &FaultyFs, fsync: FsyncPolicy) -> Arc<Engine> {
    let options = Options { fsync, ..Options::default() };
    let (store, _) = DurableStore::open_with(dir.path(), options, fs.clone(), SystemClock).unwrap();
    Engine::new(Box::new(Durable::new(store)))
}

pub async fn start_engine(engine: Arc<Engine>, config: Config, dir: TempDir) -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = Server::new(engine, config);
    let stats = server.stats();
    let (stop, stopped) = oneshot::channel::<()>();
    let handle = tokio::spawn(server.serve(listener, async {
        let _ = stopped.await;
    }));
    TestServer { addr, stats, dir, stop: Some(stop), handle }
}

impl TestServer {
    pub async fn client(&self) -> Client {
        Client::connect(self.addr).await.unwrap()
    }

    /// Starts the graceful shutdown.
    pub fn begin_stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Shuts down and waits for the server to finish; returns its data dir.
    pub async fn stop(mut self) -> TempDir {
        self.begin_stop();
        self.handle.await.unwrap().unwrap();
        self.dir
    }

    /// Shuts down a server whose file system has crashed (a power cut):
    /// its last fsync fails, as it should. Returns the data dir.
    pub async fn stop_after_crash(mut self) -> TempDir {
        self.begin_stop();
        let result = self.handle.await.unwrap();
        assert!(result.as_ref().is_err_and(|e| e.contains("injected crash")), "{result:?}");
        self.dir
    }

    /// Waits until the server's counters satisfy `what`, checking every
    /// millisecond (of paused time, in tests that pause it). The
    /// ten-second bound, in real time, only turns a hang into a failure.
    pub async fn until(&self, what: impl Fn(&Stats) -> bool) {
        let start = std::time::Instant::now();
        while !what(&self.stats) {
            assert!(
                start.elapsed() < std::time::Duration::from_secs(10),
                "the server never reached the expected state: {:?}",
                self.stats
            );
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
    }
}

pub fn load(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}
