//! The server: accept connections within the limits, run one task per
//! client, and shut down without losing an acknowledged write.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use lesson03_persistence::{DurableStore, FsyncPolicy, Options};
use lesson04_indexing::bitcask::{Bitcask, BitcaskOptions};
use lesson04_indexing::btree::{self, BTree};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio::task::JoinHandle;

use crate::connection::Connection;
use crate::engine::{Backend, Durability, Durable, Engine, Indexed};
use crate::frame::{Frame, Limits};
use crate::session::Session;

/// Which store the server serves; also the binary's `--engine` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum EngineKind {
    /// Lesson 3's durable store: every command, TTLs, fsync policies.
    #[default]
    Durable,
    /// Lesson 4's Bitcask.
    Bitcask,
    /// Lesson 4's B+tree.
    Btree,
}

/// Where and how the engine keeps its data.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Which store.
    pub kind: EngineKind,
    /// Its data directory.
    pub data_dir: PathBuf,
    /// The durable store's fsync policy.
    pub fsync: FsyncPolicy,
}

impl EngineConfig {
    /// Opens the engine; the message says what was recovered.
    pub fn open(&self) -> Result<(Arc<Engine>, String), String> {
        let dir = &self.data_dir;
        let (backend, report): (Box<dyn Backend>, String) = match self.kind {
            EngineKind::Durable => {
                let options = Options { fsync: self.fsync, ..Options::default() };
                let (store, report) =
                    DurableStore::open(dir, options).map_err(|e| e.to_string())?;
                (Box::new(Durable::new(store)), report.to_string())
            }
            EngineKind::Bitcask => {
                let (store, report) =
                    Bitcask::open(dir, BitcaskOptions::default()).map_err(|e| e.to_string())?;
                (Box::new(Indexed::new(store)), report.to_string())
            }
            EngineKind::Btree => {
                let (tree, report) =
                    BTree::open(dir, btree::Options::default()).map_err(|e| e.to_string())?;
                (Box::new(Indexed::new(tree)), report.to_string())
            }
        };
        Ok((Engine::new(backend), report))
    }
}

// ANCHOR: config
/// The server's settings. Each limit bounds what one client can make the
/// server spend; the defaults are Redis's where Redis has one.
#[derive(Debug, Clone)]
pub struct Config {
    /// The store.
    pub engine: EngineConfig,
    /// Connections served at once; the next one gets
    /// `-ERR max number of clients reached` (Redis: `maxclients`, 10000).
    pub max_clients: usize,
    /// Bulk length, array length and inline line limits.
    pub limits: Limits,
    /// Bytes read but not yet parsed, at most (Redis:
    /// `client-query-buffer-limit`, 1 GB).
    pub query_buffer_limit: usize,
    /// Once this many bytes of replies wait, stop executing and write them.
    /// One read brings at most a few hundred commands, but each may have a
    /// big reply (`GET` of a large value): this bounds what waits at once.
    pub output_buffer: usize,
    /// A client whose socket takes none of its replies for this long is
    /// disconnected: it sends and never reads. (One that reads slowly but
    /// steadily is not.)
    pub output_timeout: Duration,
    /// A client that sends nothing for this long is disconnected (Redis:
    /// `timeout`, off by default).
    pub idle_timeout: Option<Duration>,
    /// `AUTH` with this password before any other command (Redis:
    /// `requirepass`).
    pub requirepass: Option<Vec<u8>>,
}
// ANCHOR_END: config

impl Config {
    /// Default limits for `engine`.
    pub fn new(engine: EngineConfig) -> Self {
        Self {
            engine,
            max_clients: 10_000,
            limits: Limits::default(),
            query_buffer_limit: 1 << 30,
            output_buffer: 64 << 10,
            output_timeout: Duration::from_secs(30),
            idle_timeout: None,
            requirepass: None,
        }
    }
}

/// Counters for `INFO` and tests.
#[derive(Debug, Default)]
pub struct Stats {
    /// Connections served, ever (not counting the rejected ones).
    pub connections: AtomicU64,
    /// Connections open now.
    pub connected: AtomicU64,
    /// Connections turned away at `max_clients`.
    pub rejected: AtomicU64,
    /// Commands received.
    pub commands: AtomicU64,
    /// Connections closed for a protocol error.
    pub protocol_errors: AtomicU64,
    /// Connections closed by a limit: query buffer, output timeout, idle.
    pub closed_for_limits: AtomicU64,
}

/// What every connection's task shares.
pub struct Shared {
    /// The store.
    pub engine: Arc<Engine>,
    /// The settings.
    pub config: Config,
    /// The counters.
    pub stats: Arc<Stats>,
    /// When the server started, for `INFO`.
    pub started: Instant,
    /// The port it listens on, for `INFO`.
    pub port: u16,
    /// The cluster node this server is, if it is one (part 2).
    pub cluster: Option<Arc<crate::cluster::Member>>,
}

/// Opens the engine `config` names and serves it on `listener` until
/// `shutdown` completes; then drains the connections, makes the log
/// durable and returns.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()>,
) -> Result<(), String> {
    let (engine, report) = config.engine.open()?;
    eprintln!("{report}");
    Server::new(engine, config).serve(listener, shutdown).await
}

/// A server for one engine.
pub struct Server {
    engine: Arc<Engine>,
    config: Config,
    stats: Arc<Stats>,
    cluster: Option<Arc<crate::cluster::Member>>,
}

impl Server {
    /// A server for `engine`.
    pub fn new(engine: Arc<Engine>, config: Config) -> Self {
        Self { engine, config, stats: Arc::default(), cluster: None }
    }

    /// A server that is a node of a cluster: its engine is `member`'s
    /// replica, and commands are routed by slot.
    pub fn clustered(member: Arc<crate::cluster::Member>, config: Config) -> Self {
        let engine = Engine::new(Box::new(crate::cluster::MemberBackend(member.clone())));
        Self { engine, config, stats: Arc::default(), cluster: Some(member) }
    }

    /// Its counters, shared.
    pub fn stats(&self) -> Arc<Stats> {
        self.stats.clone()
    }

    // ANCHOR: serve
    /// Serves until `shutdown` completes, then shuts down gracefully: stop
    /// accepting, let every connection finish the commands it has read and
    /// send their replies, make the log durable.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), String> {
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let slots = Arc::new(Semaphore::new(self.config.max_clients));
        let shared = Arc::new(Shared {
            engine: self.engine.clone(),
            config: self.config,
            stats: self.stats,
            started: Instant::now(),
            port,
            cluster: self.cluster,
        });
        // Tells every connection to stop; each holds a clone of `done`, so
        // `done_rx` yields `None` once the last one has finished.
        let (stop, stopping) = watch::channel(false);
        let (done, done_rx) = mpsc::channel::<()>(1);
        let ticker = tokio::spawn(tick(shared.engine.clone(), stopping.clone()));
        let next_id = AtomicU64::new(1);

        tokio::pin!(shutdown);
        while let Some(stream) = accept(&listener, &mut shutdown).await {
            let Some(slot) = take_slot(&slots, &stream, &shared.stats) else { continue };
            shared.stats.connections.fetch_add(1, Ordering::Relaxed);
            let id = next_id.fetch_add(1, Ordering::Relaxed);
            let (shared, stopping, done) = (shared.clone(), stopping.clone(), done.clone());
            tokio::spawn(async move {
                shared.stats.connected.fetch_add(1, Ordering::Relaxed);
                serve_client(stream, id, &shared, stopping).await;
                shared.engine.disconnected(id).await;
                shared.stats.connected.fetch_sub(1, Ordering::Relaxed);
                drop((slot, done));
            });
        }

        drop(listener);
        drain(stop, done, done_rx, ticker, &shared.engine).await
    }
    // ANCHOR_END: serve
}

// ANCHOR: take_slot
/// Takes one of the `max_clients` slots for a new connection, before
/// anything is spawned for it. At the limit, says why and closes: the
/// client sees Redis's error, not a hang. The slot frees itself when the
/// connection's task drops it.
fn take_slot(
    slots: &Arc<Semaphore>,
    stream: &TcpStream,
    stats: &Stats,
) -> Option<OwnedSemaphorePermit> {
    // exercise 5.3: begin
    match slots.clone().try_acquire_owned() {
        Ok(slot) => Some(slot),
        Err(_) => {
            stats.rejected.fetch_add(1, Ordering::Relaxed);
            // A fresh socket's send buffer is empty: this never blocks.
            let _ = stream.try_write(b"-ERR max number of clients reached\r\n");
            None
        }
    }
    // exercise 5.3: end
}
// ANCHOR_END: take_slot

// ANCHOR: drain
/// The graceful part of shutdown, once the listener is closed: tell every
/// connection to stop (each finishes the commands it has read and sends
/// their replies), wait until the last one is gone, then make the log
/// durable.
async fn drain(
    stop: watch::Sender<bool>,
    done: mpsc::Sender<()>,
    mut done_rx: mpsc::Receiver<()>,
    ticker: JoinHandle<()>,
    engine: &Arc<Engine>,
) -> Result<(), String> {
    // exercise 5.5: begin
    let _ = stop.send(true);
    // Every connection's task holds a clone of `done`: once ours is dropped
    // too, `recv` returns `None` exactly when the last task has finished.
    drop(done);
    let _ = done_rx.recv().await;
    let _ = ticker.await;
    // Closing fsyncs: a blocking call, so off the runtime's threads.
    let engine = engine.clone();
    tokio::task::spawn_blocking(move || engine.close()).await.map_err(|e| e.to_string())?
    // exercise 5.5: end
}
// ANCHOR_END: drain

/// The engine's periodic work (active expiry), ten times a second.
async fn tick(engine: Arc<Engine>, mut stopping: watch::Receiver<bool>) {
    let mut interval = tokio::time::interval(Duration::from_millis(100));
    loop {
        tokio::select! {
            _ = interval.tick() => engine.tick(),
            _ = stopping.changed() => return,
        }
    }
}

/// Why a connection ended early.
enum Closed {
    /// A limit the client should hear about: it is sending too much.
    Limit(&'static str),
    /// A limit Redis enforces without a word: the idle timeout, and a client
    /// that does not read (it would not read the message either).
    Dropped,
    Protocol(String),
    Gone,
}

async fn serve_client(
    stream: TcpStream,
    id: u64,
    shared: &Shared,
    stopping: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let mut conn = Connection::new(stream, shared.config.limits);
    let mut session = Session::new(id, shared.config.requirepass.is_some());
    match client_loop(&mut conn, &mut session, shared, stopping).await {
        Ok(()) | Err(Closed::Gone) => {}
        Err(Closed::Protocol(e)) => {
            shared.stats.protocol_errors.fetch_add(1, Ordering::Relaxed);
            conn.push(&Frame::Error(e), session.protocol);
            let _ = conn.write_out(Duration::from_secs(1)).await;
        }
        Err(Closed::Limit(why)) => {
            shared.stats.closed_for_limits.fetch_add(1, Ordering::Relaxed);
            conn.try_write_now(format!("-ERR {why}\r\n").as_bytes());
        }
        Err(Closed::Dropped) => {
            shared.stats.closed_for_limits.fetch_add(1, Ordering::Relaxed);
        }
    }
}

// ANCHOR: client_loop
/// One client, until it leaves, breaks a limit, or the server stops.
async fn client_loop(
    conn: &mut Connection,
    session: &mut Session,
    shared: &Shared,
    mut stopping: watch::Receiver<bool>,
) -> Result<(), Closed> {
    let config = &shared.config;
    let mut replies: Vec<(Frame, Durability, crate::frame::Protocol)> = Vec::new();
    loop {
        // Execute every command already read, until enough replies wait.
        let mut pending = 0;
        let mut broken = None;
        while pending < config.output_buffer && !session.closing {
            let args = match conn.next_request() {
                Ok(Some(args)) => args,
                Ok(None) => break,
                Err(e) => {
                    // The commands before the bad bytes still get their
                    // replies, as in Redis; then the error, and goodbye.
                    broken = Some(Closed::Protocol(e.to_string()));
                    break;
                }
            };
            let (frame, wait) = session.handle(args, shared).await;
            pending += approximate_size(&frame);
            replies.push((frame, wait, session.protocol));
        }
        if !replies.is_empty() {
            send_replies(conn, &mut replies, shared).await?;
        }
        if let Some(broken) = broken {
            return Err(broken);
        }
        if session.closing {
            return Ok(());
        }
        if pending > 0 {
            continue;
        }
        if conn.buffered_input() > config.query_buffer_limit {
            return Err(Closed::Limit("query buffer limit exceeded"));
        }
        // Nothing left to do: read more, unless the server is stopping.
        let idle = config.idle_timeout.unwrap_or(Duration::MAX);
        tokio::select! {
            // Stopping wins over new input: a client that keeps sending
            // must not hold the shutdown up.
            biased;
            _ = stopping.changed() => return Ok(()),
            read = tokio::time::timeout(idle, conn.read_more()) => match read {
                Ok(Ok(true)) => {}
                Ok(Ok(false) | Err(_)) => return Err(Closed::Gone),
                Err(_) => return Err(Closed::Dropped),
            },
        }
    }
}

/// Waits until the replies may go (their writes are durable), then writes
/// them in one go; drops a client whose socket takes nothing for the output
/// timeout.
async fn send_replies(
    conn: &mut Connection,
    replies: &mut Vec<(Frame, Durability, crate::frame::Protocol)>,
    shared: &Shared,
) -> Result<(), Closed> {
    // One wait covers the batch: the furthest log position any reply needs.
    let wait =
        replies.iter().fold(Durability::Done, |furthest, (_, wait, _)| match (furthest, wait) {
            (Durability::Sync(a), Durability::Sync(b)) => Durability::Sync(a.max(*b)),
            (Durability::Flush(a), Durability::Flush(b)) => Durability::Flush(a.max(*b)),
            (Durability::Done, other) => *other,
            (furthest, _) => furthest,
        });
    let failed = shared.engine.settle(wait).await.err();
    for (frame, wait, protocol) in replies.drain(..) {
        match (&failed, wait) {
            (Some(why), Durability::Sync(_) | Durability::Flush(_)) => {
                conn.push(&Frame::Error(format!("ERR write not durable: {why}")), protocol);
            }
            _ => conn.push(&frame, protocol),
        }
    }
    match conn.write_out(shared.config.output_timeout).await {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::TimedOut => Err(Closed::Dropped),
        Err(_) => Err(Closed::Gone),
    }
}
// ANCHOR_END: client_loop

/// About how many bytes `frame` encodes to, without encoding it.
fn approximate_size(frame: &Frame) -> usize {
    match frame {
        Frame::Bulk(b) | Frame::Verbatim(b) => b.len() + 16,
        Frame::Simple(s) | Frame::Error(s) => s.len() + 3,
        Frame::Array(items) | Frame::Set(items) => {
            items.iter().map(approximate_size).sum::<usize>() + 16
        }
        Frame::Map(pairs) | Frame::Pairs(pairs) => {
            pairs.iter().map(|(k, v)| approximate_size(k) + approximate_size(v)).sum::<usize>() + 16
        }
        _ => 24,
    }
}

// ANCHOR: accept
/// The next connection on `listener`, or `None` once `shutdown` has come.
/// A failed accept (out of file descriptors, or the client left already)
/// is no reason to stop serving the others: it pauses a moment, or a full
/// descriptor table would make the loop spin, and tries again.
pub async fn accept(
    listener: &TcpListener,
    shutdown: &mut (impl Future<Output = ()> + Unpin),
) -> Option<TcpStream> {
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => return Some(stream),
                Err(e) => {
                    eprintln!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            () = &mut *shutdown => return None,
        }
    }
}
// ANCHOR_END: accept

// ANCHOR: shutdown_signal
/// Completes on Ctrl-C (SIGINT) or SIGTERM, what `kill` and service
/// managers send.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut term) = signal(SignalKind::terminate()) else {
            let _ = ctrl_c.await;
            return;
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
// ANCHOR_END: shutdown_signal
