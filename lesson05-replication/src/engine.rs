//! The engine: the store every connection shares, behind one lock.
//!
//! Three stores can stand behind the server, all from earlier lessons:
//! lesson 3's durable store (the default: every lesson-2 command, TTLs, the
//! fsync policies), and lesson 4's Bitcask and B+tree. Each speaks its own
//! lesson's command language; the [`Backend`] trait is the little the server
//! needs of them.
//!
//! ## Why one lock
//!
//! A command runs for a microsecond or two: a hash-map lookup, maybe an
//! append to an in-memory buffer. Everything around it, reading the socket,
//! parsing RESP, encoding and writing the reply, costs ten times more and
//! needs no lock. So connections run as tasks, on one runtime thread or
//! several (`--threads`), and take a [`std::sync::Mutex`] only around the
//! command itself, never across an `.await`; a std mutex is the right one
//! for that (tokio's docs say so too), since it is cheaper and nobody waits
//! long. The lock is also what lets the syncer thread write the log out.
//! Redis runs every command on one thread, and gets the same effect: no two
//! commands ever run at once, so each is atomic.
//!
//! The slow part is the disk. Under `--fsync always` a write's reply waits
//! for an fsync, but not under the lock: the command appends its record and
//! the connection then awaits [`GroupCommit`], whose one fsync acknowledges
//! every connection's writes appended before it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use lesson02_kv::command::CommandSpec;
use lesson02_kv::{Clock, Reply};
use lesson03_persistence::durable::LogSyncer;
use lesson03_persistence::fs::FileSystem;
use lesson03_persistence::{DurableStore, FsyncPolicy};
use lesson04_indexing::commands as indexing;

use crate::commit::{GroupCommit, SyncTarget, Synced};

// ANCHOR: durability
/// What happened to a command, for its reply to wait on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Nothing to wait for: a read, an error, or an engine that was durable
    /// before it returned.
    Done,
    /// The log must be written out to the OS (`everysec`, `never`) up to
    /// this log sequence number before the reply: then a crash of the
    /// process loses nothing acknowledged.
    Flush(u64),
    /// The log must be durable up to this log sequence number (`always`).
    Sync(u64),
}
// ANCHOR_END: durability

// ANCHOR: backend
/// A store the server can serve.
pub trait Backend: Send + 'static {
    /// `durable`, `bitcask` or `btree`.
    fn name(&self) -> &'static str;
    /// The commands it knows, with their syntax.
    fn specs(&self) -> Vec<&'static CommandSpec>;
    /// Parses and executes one command; says what its reply must wait for.
    fn execute(&mut self, args: Vec<Vec<u8>>) -> (Reply, Durability);
    /// Executes one command for the client with id `client`: a backend
    /// whose commands have per-client state (lesson 6's transactions)
    /// keeps it by this id. The others need not know who asks.
    fn execute_for(&mut self, client: u64, args: Vec<Vec<u8>>) -> (Reply, Durability) {
        let _ = client;
        self.execute(args)
    }
    /// The client with id `client` is gone: drop what was kept for it.
    fn disconnected(&mut self, _client: u64) {}
    /// Writes buffered log records out to the OS; returns how far the log
    /// reaches.
    fn write_out(&mut self) -> Result<u64, String> {
        Ok(0)
    }
    /// Refuses every later write: an fsync failed.
    fn refuse_writes(&mut self, _why: &str) {}
    /// Runs periodic work, such as the active-expiry cycle.
    fn tick(&mut self) {}
    /// Statistics for `INFO`.
    fn info(&mut self) -> Vec<(String, String)>;
    /// The number of keys, and of keys with a time to live, for `INFO
    /// keyspace`.
    fn keys(&mut self) -> (usize, usize);
    /// A function that fsyncs the log without the lock, if writes wait for
    /// one ([`Durability::Sync`]).
    fn log_syncer(&self) -> Option<Box<dyn FnMut() -> Result<(), String> + Send>> {
        None
    }
    /// Makes everything written durable, whatever the fsync policy: the
    /// last step of a graceful shutdown.
    fn close(&mut self) -> Result<(), String> {
        Ok(())
    }
    /// Whether `execute` itself waits for the disk (lesson 4's engines fsync
    /// every write): the server then runs it on a thread meant for blocking.
    fn blocks(&self) -> bool {
        false
    }
}
// ANCHOR_END: backend

/// Lesson 3's durable store, through its session so that `SAVE`, `COMPACT`
/// and `INFO` work too.
pub struct Durable<F: FileSystem, C: Clock> {
    session: lesson03_persistence::Session<F, C>,
    policy: FsyncPolicy,
    syncer: LogSyncer<F>,
}

impl<F: FileSystem, C: Clock + Send + 'static> Durable<F, C> {
    /// Serves `store`.
    pub fn new(store: DurableStore<F, C>) -> Self {
        let policy = store.fsync_policy();
        let syncer = store.log_syncer();
        Self { session: lesson03_persistence::Session::new(store), policy, syncer }
    }
}

impl<F: FileSystem, C: Clock + Send + 'static> Backend for Durable<F, C> {
    fn name(&self) -> &'static str {
        "durable"
    }

    fn specs(&self) -> Vec<&'static CommandSpec> {
        lesson03_persistence::commands::all_specs().collect()
    }

    fn execute(&mut self, args: Vec<Vec<u8>>) -> (Reply, Durability) {
        let command = match lesson03_persistence::commands::parse(args) {
            Ok(command) => command,
            Err(e) => return (Reply::error(&e), Durability::Done),
        };
        let (reply, lsn) = self.session.execute_unsynced(command);
        let wait = match (lsn, self.policy) {
            (None, _) => Durability::Done,
            (Some(lsn), FsyncPolicy::Always) => Durability::Sync(lsn),
            (Some(lsn), _) => Durability::Flush(lsn),
        };
        (reply, wait)
    }

    fn write_out(&mut self) -> Result<u64, String> {
        self.session.store().flush_for_sync().map_err(|e| e.to_string())
    }

    fn refuse_writes(&mut self, why: &str) {
        self.session.store().refuse_writes(why.to_string());
    }

    fn tick(&mut self) {
        self.session.store().tick();
    }

    fn info(&mut self) -> Vec<(String, String)> {
        self.session.store().info()
    }

    fn keys(&mut self) -> (usize, usize) {
        let store = self.session.store().store();
        (store.len(), store.expiring_len())
    }

    fn log_syncer(&self) -> Option<Box<dyn FnMut() -> Result<(), String> + Send>> {
        (self.policy == FsyncPolicy::Always).then(|| {
            let syncer = self.syncer.clone();
            Box::new(move || sync_log(&syncer)) as Box<dyn FnMut() -> Result<(), String> + Send>
        })
    }

    fn close(&mut self) -> Result<(), String> {
        self.write_out()?;
        sync_log(&self.syncer)
    }
}

fn sync_log<F: FileSystem>(syncer: &LogSyncer<F>) -> Result<(), String> {
    syncer.sync().map_err(|e| format!("fsync {} failed: {e}", syncer.path().display()))
}

/// One of lesson 4's engines, through its session: Bitcask or the B+tree.
/// Both are durable when `execute` returns (they fsync every write), so a
/// reply waits for nothing more.
pub struct Indexed<E: lesson04_indexing::Engine + Send + 'static> {
    session: lesson04_indexing::Session<E>,
    name: &'static str,
}

impl<E: lesson04_indexing::Engine + Send + 'static> Indexed<E> {
    /// Serves `engine`.
    pub fn new(engine: E) -> Self {
        let name = engine.name();
        Self { session: lesson04_indexing::Session::new(engine), name }
    }
}

impl<E: lesson04_indexing::Engine + Send + 'static> Backend for Indexed<E> {
    fn name(&self) -> &'static str {
        self.name
    }

    fn specs(&self) -> Vec<&'static CommandSpec> {
        indexing::all_specs().collect()
    }

    fn execute(&mut self, args: Vec<Vec<u8>>) -> (Reply, Durability) {
        let reply = match indexing::parse(args) {
            Ok(command) => self.session.execute(command),
            Err(e) => Reply::error(&e),
        };
        (reply, Durability::Done)
    }

    fn info(&mut self) -> Vec<(String, String)> {
        self.session.engine().info().unwrap_or_else(|e| vec![("error".into(), e.to_string())])
    }

    fn keys(&mut self) -> (usize, usize) {
        (self.session.engine().len().unwrap_or(0), 0)
    }

    fn blocks(&self) -> bool {
        true
    }
}

// ANCHOR: engine
/// The shared engine: a backend behind a lock, and group commit if its
/// writes wait for fsyncs.
pub struct Engine {
    backend: Arc<Mutex<Box<dyn Backend>>>,
    commit: Option<GroupCommit>,
    specs: Vec<&'static CommandSpec>,
    name: &'static str,
    blocks: bool,
    /// How far the log has been written out to the OS.
    written: AtomicU64,
}

impl Engine {
    /// Shares `backend`; starts the syncer thread if it needs one.
    pub fn new(backend: Box<dyn Backend>) -> Arc<Self> {
        let specs = backend.specs();
        let name = backend.name();
        let blocks = backend.blocks();
        let syncer = backend.log_syncer();
        let backend = Arc::new(Mutex::new(backend));
        let commit =
            syncer.map(|sync| GroupCommit::start(Syncing { backend: backend.clone(), sync }));
        Arc::new(Self { backend, commit, specs, name, blocks, written: AtomicU64::new(0) })
    }

    /// Executes one command under the lock. Cheap except for a backend that
    /// [`blocks`](Backend::blocks): call [`Engine::execute_async`] then.
    pub fn execute(&self, args: Vec<Vec<u8>>) -> (Reply, Durability) {
        self.lock().execute(args)
    }

    /// Executes one command for client `client` from a task, off the
    /// runtime's worker threads when the backend waits for the disk inside
    /// `execute`.
    pub async fn execute_async(
        self: &Arc<Self>,
        client: u64,
        args: Vec<Vec<u8>>,
    ) -> (Reply, Durability) {
        if !self.blocks {
            return self.lock().execute_for(client, args);
        }
        let engine = self.clone();
        tokio::task::spawn_blocking(move || engine.lock().execute_for(client, args))
            .await
            .unwrap_or_else(|e| {
                (Reply::Error(format!("ERR the engine failed: {e}")), Durability::Done)
            })
    }

    /// Tells the backend that client `client` disconnected.
    pub async fn disconnected(self: &Arc<Self>, client: u64) {
        if !self.blocks {
            return self.lock().disconnected(client);
        }
        let engine = self.clone();
        let _ = tokio::task::spawn_blocking(move || engine.lock().disconnected(client)).await;
    }

    /// Waits until replies to commands that asked for `wait` may be sent.
    /// `Sync(lsn)` waits for group commit; `Flush(lsn)` writes the log out,
    /// unless another connection's write already took it that far.
    pub async fn settle(&self, wait: Durability) -> Result<(), String> {
        match (wait, &self.commit) {
            (Durability::Done, _) => Ok(()),
            (Durability::Sync(lsn), Some(commit)) => commit.durable(lsn).await,
            (Durability::Sync(lsn) | Durability::Flush(lsn), _) => {
                if self.written.load(Ordering::Acquire) >= lsn {
                    return Ok(());
                }
                // Let the other connections that are ready run their
                // commands first: one `write` then covers them all. The
                // same trick as lesson 3's syncer, for the OS's buffers
                // instead of the disk.
                tokio::task::yield_now().await;
                if self.written.load(Ordering::Acquire) >= lsn {
                    return Ok(());
                }
                let end = self.lock().write_out()?;
                self.written.fetch_max(end, Ordering::AcqRel);
                Ok(())
            }
        }
    }
    // ANCHOR_END: engine

    fn lock(&self) -> MutexGuard<'_, Box<dyn Backend>> {
        // A panic inside a command poisons the lock; the store itself is
        // consistent between commands, so serving on is right.
        self.backend.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The backend's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The backend's commands.
    pub fn specs(&self) -> &[&'static CommandSpec] {
        &self.specs
    }

    /// Runs the backend's periodic work. Lesson 4's engines have none, and
    /// their lock may be held across an fsync: a worker thread must not
    /// wait for it.
    pub fn tick(&self) {
        if !self.blocks {
            self.lock().tick();
        }
    }

    /// The backend's statistics, its number of keys and of keys with a
    /// time to live.
    pub fn info(&self) -> (Vec<(String, String)>, (usize, usize)) {
        let mut backend = self.lock();
        (backend.info(), backend.keys())
    }

    /// Group commit's progress, if this engine uses it.
    pub fn synced(&self) -> Option<Synced> {
        self.commit.as_ref().map(GroupCommit::synced)
    }

    /// Makes everything written durable and stops the syncer: the last step
    /// of a graceful shutdown.
    pub fn close(&self) -> Result<(), String> {
        if let Some(commit) = &self.commit {
            commit.stop();
        }
        self.lock().close()
    }
}

/// The syncer thread's view of the engine.
struct Syncing {
    backend: Arc<Mutex<Box<dyn Backend>>>,
    sync: Box<dyn FnMut() -> Result<(), String> + Send>,
}

impl SyncTarget for Syncing {
    fn write_out(&mut self) -> Result<u64, String> {
        self.backend.lock().unwrap_or_else(std::sync::PoisonError::into_inner).write_out()
    }

    fn sync(&mut self) -> Result<(), String> {
        (self.sync)()
    }

    fn failed(&mut self, why: &str) {
        self.backend.lock().unwrap_or_else(std::sync::PoisonError::into_inner).refuse_writes(why);
    }
}
