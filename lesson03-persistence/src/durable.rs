//! The durable store: lesson 2's store, with every change written to an
//! append-only log, snapshots, and recovery at start-up.
//!
//! ```text
//!   DIR/LOCK            locked while a process has the store open
//!   DIR/snapshot.db     the whole state at some moment (SAVE, COMPACT)
//!   DIR/appendonly.log  every change since, as framed records
//! ```
//!
//! A write command runs in three steps:
//!
//! ```text
//!   execute on the in-memory store ──► append its changes to the log ──► fsync (policy)
//!                                      (write to the OS)                  then reply
//! ```
//!
//! Opening runs them backwards: load the snapshot, replay the log on top.
//!
//! ## Exactly once
//!
//! A snapshot and the log can overlap: COMPACT writes a snapshot, then
//! swaps in a new log, and a crash between the two leaves a snapshot
//! *and* the old log of everything it holds. Replaying a `Put` of a whole
//! value that the snapshot already holds changes nothing; replaying
//! `LPUSH q a` pushes a second `a`. Lists can't be logged as results
//! without copying the whole list per push ([`lesson02_kv::change`]), so
//! recovery must apply each record exactly once.
//!
//! So every log file starts with a `Start { log_id }` record, ids counting
//! up, and a snapshot records what it *covers*: the log's id, and how many
//! of its records it holds. Recovery replays a log whose id the snapshot
//! names from the first record it does not cover; any other log (one
//! created after the snapshot) from its start. Redis's multi-part AOF does
//! the same with a manifest that names a base file and the increments
//! written after it.

use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use lesson01_intro::{KeyRange, KeyValue, KvStore};
use lesson02_kv::execute::execute;
use lesson02_kv::store::SetTtl;
use lesson02_kv::{Change, Clock, Command, Reply, Store, SystemClock};

use crate::error::{Error, Result};
use crate::fs::{FileSystem, OpenFile, RealFs};
use crate::log::{self, LogWriter};
use crate::record::{self, LogRecord};
use crate::snapshot::{self, Covers};

/// The log file's name in the data directory.
pub const LOG_FILE: &str = "appendonly.log";
/// The snapshot file's name in the data directory.
pub const SNAPSHOT_FILE: &str = "snapshot.db";
/// The lock file's name in the data directory.
pub const LOCK_FILE: &str = "LOCK";

// ANCHOR: policy
/// When the log is fsynced, as Redis's `appendfsync` setting. It is also
/// the `--fsync` flag's value, in this lesson's binary and in lesson 5's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FsyncPolicy {
    /// Before every reply to a write: an acknowledged write survives a
    /// power cut. The slowest; group commit (see [`crate::shared`]) shares
    /// one fsync among concurrent writers.
    #[value(help = "Before every reply to a write.")]
    Always,
    /// Once a second, in a background thread: a power cut loses the last
    /// second or two of acknowledged writes (more if the disk stalls: the
    /// bound is not enforced, see the book).
    #[value(name = "everysec", help = "Once a second, in the background.")]
    EverySec,
    /// Never: the operating system writes the data back when it likes
    /// (Linux: within about 30 s). A crash of this process loses nothing; a
    /// crash of the machine loses whatever was not written back yet.
    #[value(help = "Never; the operating system writes back when it likes.")]
    Never,
}
// ANCHOR_END: policy

impl fmt::Display for FsyncPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FsyncPolicy::Always => "always",
            FsyncPolicy::EverySec => "everysec",
            FsyncPolicy::Never => "never",
        })
    }
}

/// How to open a durable store.
#[derive(Debug, Clone)]
pub struct Options {
    /// When to fsync the log.
    pub fsync: FsyncPolicy,
    /// Cut the log at the first damaged record instead of refusing to open
    /// (like `redis-check-aof --fix`). Loses the records after the damage.
    pub repair: bool,
    /// Compact automatically once the log is at least this many bytes…
    pub auto_compact_min_bytes: u64,
    /// …and at least this many times the size of the last snapshot.
    pub auto_compact_ratio: u64,
    /// How often the `EverySec` background flush runs.
    pub everysec_interval: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            fsync: FsyncPolicy::EverySec,
            repair: false,
            auto_compact_min_bytes: 64 << 20,
            auto_compact_ratio: 2,
            everysec_interval: Duration::from_secs(1),
        }
    }
}

/// What opening the store found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Keys loaded from the snapshot, if there was one.
    pub snapshot_keys: Option<usize>,
    /// Log records replayed.
    pub records_replayed: usize,
    /// Log records skipped because the snapshot already holds them.
    pub records_covered: usize,
    /// Bytes cut from the end of the log.
    pub truncated_bytes: u64,
    /// Why they were cut.
    pub truncated_because: Option<String>,
}

impl fmt::Display for RecoveryReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.snapshot_keys {
            Some(n) => write!(f, "recovery: snapshot with {n} keys, ")?,
            None => write!(f, "recovery: no snapshot, ")?,
        }
        let s = if self.records_replayed == 1 { "" } else { "s" };
        write!(f, "{} log record{s} replayed", self.records_replayed)?;
        if self.records_covered > 0 {
            write!(f, " ({} already in the snapshot)", self.records_covered)?;
        }
        if let Some(why) = &self.truncated_because {
            write!(f, ", {} bytes cut from the log tail ({why})", self.truncated_bytes)?;
        }
        Ok(())
    }
}

/// State shared with the `EverySec` background thread.
#[derive(Debug, Default)]
struct Shared {
    /// Why writes are refused, once a write or fsync failed.
    poisoned: Option<String>,
    /// Background fsyncs done.
    background_syncs: u64,
}

/// Fsyncs a store's log through a file handle of its own: see
/// [`DurableStore::log_syncer`].
#[derive(Debug, Clone)]
pub struct LogSyncer<F: FileSystem> {
    fs: F,
    path: PathBuf,
}

impl<F: FileSystem> LogSyncer<F> {
    /// Makes everything written to the log so far durable.
    pub fn sync(&self) -> std::io::Result<()> {
        use crate::fs::OpenFile;
        self.fs.open_append(&self.path)?.sync()
    }

    /// The log's path, for messages.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The background thread of `EverySec`.
struct Flusher {
    stop: mpsc::Sender<()>,
    thread: Option<JoinHandle<()>>,
}

/// A key-value store whose state survives restarts and crashes.
pub struct DurableStore<F: FileSystem = RealFs, C: Clock = SystemClock> {
    store: Store<C>,
    fs: F,
    dir: PathBuf,
    log: LogWriter<F>,
    options: Options,
    shared: Arc<(Mutex<Shared>, Condvar)>,
    flusher: Option<Flusher>,
    /// The id in the current log's `Start` record.
    log_id: u64,
    snapshot_bytes: u64,
    last_snapshot_ms: Option<u64>,
    auto_compactions: u64,
    /// Why the last automatic compaction failed, if it did.
    compaction_error: Option<String>,
    /// After a failed automatic compaction, the log length to wait for.
    compact_retry_at: u64,
    /// Held (locked) for as long as the store is open.
    _lock: File,
}

impl DurableStore<RealFs, SystemClock> {
    /// Opens (or creates) the store in `dir` on the real file system.
    pub fn open(dir: impl AsRef<Path>, options: Options) -> Result<(Self, RecoveryReport)> {
        Self::open_with(dir, options, RealFs, SystemClock)
    }
}

impl<F: FileSystem, C: Clock> DurableStore<F, C> {
    // ANCHOR: open
    /// Opens (or creates) the store in `dir`, through `fs`, on `clock`:
    /// lock the directory, load the snapshot, replay the log.
    pub fn open_with(
        dir: impl AsRef<Path>,
        options: Options,
        fs: F,
        clock: C,
    ) -> Result<(Self, RecoveryReport)> {
        let dir = dir.as_ref().to_path_buf();
        std::fs::create_dir_all(&dir).map_err(|e| Error::io("create", &dir, e))?;
        let lock = lock_dir(&dir)?;

        let mut store = Store::with_clock(clock);
        let mut report = RecoveryReport::default();
        let snapshot_path = dir.join(SNAPSHOT_FILE);
        let mut snapshot_bytes = 0;
        let mut covers = Covers::default();
        if let Some(snapshot) = snapshot::load(&fs, &snapshot_path)? {
            snapshot_bytes = snapshot.bytes;
            covers = snapshot.covers;
            let keys = snapshot.state.iter().filter(|c| !matches!(c, Change::Expire { .. }));
            report.snapshot_keys = Some(keys.count());
            store.reserve(snapshot.state.len());
            for change in snapshot.state {
                store.apply(change);
            }
        }
        let log_path = dir.join(LOG_FILE);
        let replay = log::recover(&fs, &log_path, options.repair)?;
        report.truncated_bytes = replay.truncated_bytes;
        report.truncated_because = replay.truncated_because;
        let (log_id, records) =
            replay_log(&mut store, &mut report, replay.records, covers, &log_path)?;
        store.shrink_to_fit(); // many records may have been for the same keys
        store.record_changes();
        let log = match log_id {
            Some(_) => {
                LogWriter::open(&fs, &log_path, replay.valid_bytes, records, replay.valid_bytes)?
            }
            // No log, or one the snapshot is ahead of: the snapshot holds
            // everything, and a fresh log starts after it.
            None => new_log(&fs, &log_path, covers.log_id + 1, 0)?,
        };
        let log_id = log_id.unwrap_or(covers.log_id + 1);
        // The log file may have just been created: make its name durable,
        // and the data directory's too, or a power cut could undo them.
        fs.sync_dir(&dir).map_err(|e| Error::io("fsync", &dir, e))?;
        // A relative name like `data` has the parent "", which means ".".
        let parent =
            dir.parent().map(|p| if p.as_os_str().is_empty() { Path::new(".") } else { p });
        if let Some(parent) = parent {
            fs.sync_dir(parent).map_err(|e| Error::io("fsync", parent, e))?;
        }

        let shared = Arc::new((Mutex::new(Shared::default()), Condvar::new()));
        let flusher = (options.fsync == FsyncPolicy::EverySec).then(|| {
            start_flusher(fs.clone(), log_path, options.everysec_interval, shared.clone())
        });
        let store = Self {
            store,
            fs,
            dir,
            log,
            options,
            shared,
            flusher,
            log_id,
            snapshot_bytes,
            last_snapshot_ms: None,
            auto_compactions: 0,
            compaction_error: None,
            compact_retry_at: 0,
            _lock: lock,
        };
        Ok((store, report))
    }
    // ANCHOR_END: open

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The in-memory store, for reading.
    pub fn store(&mut self) -> &mut Store<C> {
        &mut self.store
    }

    /// Why the store refuses writes, if it does.
    pub fn poisoned(&self) -> Option<String> {
        self.shared.0.lock().expect("shared lock").poisoned.clone()
    }

    fn poison(&self, why: String) {
        let mut shared = self.shared.0.lock().expect("shared lock");
        shared.poisoned.get_or_insert(why);
    }

    // ANCHOR: execute
    /// Executes a lesson-2 command durably: the reply to a write comes only
    /// once its changes are in the log (and fsynced, under `Always`).
    pub fn execute(&mut self, command: Command) -> Reply {
        if let Some(refused) = self.refuse(&command) {
            return refused;
        }
        let reply = execute(&mut self.store, command);
        if let Err(e) = self.persist() {
            // Memory now holds a change the disk may not: accept no more.
            self.poison(e.to_string());
            return Reply::Error(format!("ERR write not durable: {e}"));
        }
        // The write is durable whatever happens to the compaction: its reply
        // stands. A compaction that failed after the log swap has poisoned
        // the store, so the *next* write says so.
        self.maybe_compact();
        reply
    }

    /// Appends the changes of the last command to the log, and flushes or
    /// syncs it as the policy says.
    fn persist(&mut self) -> Result<()> {
        let changes = self.store.take_changes();
        if changes.is_empty() {
            return Ok(());
        }
        for change in changes {
            self.log.append(&LogRecord::from(change))?;
        }
        match self.options.fsync {
            FsyncPolicy::Always => self.log.sync(),
            FsyncPolicy::EverySec | FsyncPolicy::Never => self.log.flush(),
        }
    }
    // ANCHOR_END: execute

    /// The error reply for a command the store must not run: any write once
    /// the store is poisoned, and a SET too big for one log record (checked
    /// before it reaches memory, so that it costs nothing but its reply).
    fn refuse(&self, command: &Command) -> Option<Reply> {
        if command.is_write()
            && let Some(why) = self.poisoned()
        {
            return Some(Reply::Error(format!("ERR {}", Error::Poisoned(why))));
        }
        if let Command::Set { key, value, .. } = command {
            let bytes = (key.len() + value.len()) as u64;
            if bytes + 64 > u64::from(crate::record::MAX_PAYLOAD) {
                return Some(Reply::Error(format!("ERR {}", Error::TooLarge { bytes })));
            }
        }
        None
    }

    /// Runs the periodic active-expiry cycle (see lesson 2).
    pub fn tick(&mut self) {
        self.store.tick();
    }

    /// Executes `command` and buffers its changes without writing them;
    /// returns the log sequence number they end at, or `None` if it changed
    /// nothing. The reply must not be sent before the log is durable up to
    /// that number: see [`Self::flush_for_sync`] and [`Self::log_syncer`].
    /// For [`crate::shared::SharedStore`] and lesson 5's server, which sync
    /// outside the store's lock so that writers can share an fsync.
    pub fn execute_unsynced(&mut self, command: Command) -> (Reply, Option<u64>) {
        if let Some(refused) = self.refuse(&command) {
            return (refused, None);
        }
        let reply = execute(&mut self.store, command);
        let changes = self.store.take_changes();
        if changes.is_empty() {
            return (reply, None);
        }
        for change in changes {
            if let Err(e) = self.log.append(&LogRecord::from(change)) {
                self.poison(e.to_string());
                return (Reply::Error(format!("ERR write not durable: {e}")), None);
            }
        }
        // Not flushed here: the next syncer writes everything buffered in one
        // `write`, for all the writers it covers. A compaction now is safe:
        // its snapshot holds these changes, and is fsynced before the swap.
        self.maybe_compact();
        (reply, Some(self.log.lsn()))
    }

    /// Writes the buffered records to the OS; returns the log sequence
    /// number they end at. Poisons the store if the write fails.
    pub fn flush_for_sync(&mut self) -> Result<u64> {
        self.log.flush().inspect_err(|e| self.poison(e.to_string()))?;
        Ok(self.log.lsn())
    }

    /// Marks the store as refusing writes (a shared fsync failed).
    pub fn refuse_writes(&self, why: String) {
        self.poison(why);
    }

    /// A handle that fsyncs the log without this store's lock, so that
    /// writers can go on appending while the disk works.
    pub fn log_syncer(&self) -> LogSyncer<F> {
        LogSyncer { fs: self.fs.clone(), path: self.log.path().to_path_buf() }
    }

    /// The fsync policy the store was opened with.
    pub fn fsync_policy(&self) -> FsyncPolicy {
        self.options.fsync
    }

    // ANCHOR: compact
    /// `SAVE`: writes a snapshot of the whole state. The log stays.
    pub fn save(&mut self) -> Result<()> {
        // After a failed write or fsync, memory may hold changes the log
        // does not: a snapshot would make them durable behind its back.
        self.writable()?;
        // The snapshot will say it holds the log's records so far. Flushed,
        // not fsynced: after a power cut the log may be shorter than the
        // snapshot says, and recovery then starts a new log (see
        // `replay_log`).
        self.log.flush()?;
        let state = self.store.dump();
        let path = self.dir.join(SNAPSHOT_FILE);
        let covers = Covers { log_id: self.log_id, records: self.log.records() };
        self.snapshot_bytes = snapshot::write(&self.fs, &path, &state, covers)?;
        self.last_snapshot_ms = Some(self.store.clock().now_ms());
        Ok(())
    }

    /// `COMPACT`: writes a snapshot, then swaps in a new log, whose only
    /// record is its `Start`. A crash at any point leaves the old snapshot
    /// and log, the new snapshot and the old log (whose records it covers),
    /// or the new pair.
    pub fn compact(&mut self) -> Result<()> {
        self.save()?; // refuses, like every write, once the store is poisoned
        let path = self.dir.join(LOG_FILE);
        let log = new_log(&self.fs, &path, self.log_id + 1, self.log.lsn());
        // From the rename on, the old log is gone from the directory. If
        // anything failed after it, new records could go to the wrong file,
        // or vanish with an undone rename: refuse writes from now on.
        match log {
            Ok(log) => {
                self.log = log;
                self.log_id += 1;
                Ok(())
            }
            Err(e) => {
                self.poison(format!("compaction failed after the log swap: {e}"));
                Err(e)
            }
        }
    }
    // ANCHOR_END: compact

    /// Compacts when the log has grown past the thresholds of [`Options`]:
    /// replaying it would cost more than loading the state it describes.
    /// A failure is kept for INFO; see [`DurableStore::compact`] for why a
    /// late one also poisons the store.
    fn maybe_compact(&mut self) {
        let len = self.log.len();
        if len >= self.options.auto_compact_min_bytes
            && len >= self.snapshot_bytes.saturating_mul(self.options.auto_compact_ratio)
            && len >= self.compact_retry_at
            && self.poisoned().is_none()
        {
            match self.compact() {
                Ok(()) => {
                    self.auto_compactions += 1;
                    self.compact_retry_at = 0;
                }
                Err(e) => {
                    self.compaction_error = Some(e.to_string());
                    // Not again on every command (a full disk stays full):
                    // wait until the log has doubled.
                    self.compact_retry_at = len.saturating_mul(2);
                }
            }
        }
    }

    /// `INFO`: what the store knows about its files, one `name: value` per line.
    pub fn info(&mut self) -> Vec<(String, String)> {
        let keys = self.store.len();
        // Live bytes: how big a log holding only the current state would be.
        let mut scratch = Vec::new();
        for put in self.store.dump() {
            record::encode(&LogRecord::from(put), &mut scratch);
        }
        let live = scratch.len() as u64;
        let log = self.log.len();
        let stale = if log == 0 { 0.0 } else { 1.0 - (live.min(log) as f64 / log as f64) };
        let background_syncs = self.shared.0.lock().expect("shared lock").background_syncs;
        let last_snapshot = self
            .last_snapshot_ms
            .map_or("none this session".into(), |ms| format!("{ms} (ms since epoch)"));
        vec![
            ("fsync".into(), self.options.fsync.to_string()),
            ("keys".into(), keys.to_string()),
            ("log_records".into(), self.log.records().to_string()),
            ("log_bytes".into(), log.to_string()),
            ("live_bytes".into(), live.to_string()),
            ("stale_ratio".into(), format!("{stale:.2}")),
            ("snapshot_bytes".into(), self.snapshot_bytes.to_string()),
            ("last_snapshot".into(), last_snapshot),
            ("auto_compactions".into(), self.auto_compactions.to_string()),
            (
                "last_compaction_error".into(),
                self.compaction_error.clone().unwrap_or_else(|| "none".into()),
            ),
            ("background_syncs".into(), background_syncs.to_string()),
            (
                "writes".into(),
                self.poisoned().map_or("accepted".into(), |why| format!("refused: {why}")),
            ),
        ]
    }

    /// Waits (up to `timeout`) until the background flusher has done more
    /// than `seen` fsyncs, or failed; returns how many it has done. For tests.
    pub fn wait_for_background_syncs(&self, seen: u64, timeout: Duration) -> u64 {
        let (lock, cvar) = &*self.shared;
        let guard = lock.lock().expect("shared lock");
        let (guard, _) = cvar
            .wait_timeout_while(guard, timeout, |s| {
                s.background_syncs <= seen && s.poisoned.is_none()
            })
            .expect("shared lock");
        guard.background_syncs
    }
}

impl<F: FileSystem, C: Clock> Drop for DurableStore<F, C> {
    fn drop(&mut self) {
        if let Some(mut flusher) = self.flusher.take() {
            let _ = flusher.stop.send(());
            if let Some(thread) = flusher.thread.take() {
                let _ = thread.join();
            }
        }
        // Hand buffered records to the OS; a clean close loses nothing.
        let _ = self.log.flush();
    }
}

// ANCHOR: lock
/// Locks the data directory, so that a second process gets a clear error
/// instead of interleaving its records with ours. The lock is the kernel's
/// (`flock`), so it vanishes with the process, even after a crash.
pub fn lock_dir(dir: &Path) -> Result<File> {
    let path = dir.join(LOCK_FILE);
    let file = File::create(&path).map_err(|e| Error::io("create", &path, e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::Locked { dir: dir.to_path_buf() }),
        Err(std::fs::TryLockError::Error(e)) => Err(Error::io("lock", &path, e)),
    }
}
// ANCHOR_END: lock

// ANCHOR: flusher
/// The `EverySec` thread: once per `interval`, fsync the log. A failure
/// poisons the store: the next write is refused, and says why.
fn start_flusher<F: FileSystem>(
    fs: F,
    log_path: PathBuf,
    interval: Duration,
    shared: Arc<(Mutex<Shared>, Condvar)>,
) -> Flusher {
    let (stop, stopped) = mpsc::channel::<()>();
    let thread = std::thread::spawn(move || {
        while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(interval) {
            // fsync through a handle of our own: it syncs the file, whoever
            // wrote to it. Opened anew each time, as COMPACT replaces the file.
            let result = fs.open_append(&log_path).and_then(|mut file| file.sync());
            let (lock, cvar) = &*shared;
            let mut state = lock.lock().expect("shared lock");
            match result {
                Ok(()) => state.background_syncs += 1,
                Err(e) => {
                    state
                        .poisoned
                        .get_or_insert(format!("fsync {} failed: {e}", log_path.display()));
                }
            }
            cvar.notify_all();
        }
    });
    Flusher { stop, thread: Some(thread) }
}
// ANCHOR_END: flusher

// ANCHOR: replay
/// Replays the log's records that the snapshot does not cover. Returns the
/// log's id (`None` if there is no log to go on with: none, or one the
/// snapshot is ahead of) and its number of records.
fn replay_log<C: Clock>(
    store: &mut Store<C>,
    report: &mut RecoveryReport,
    records: Vec<LogRecord>,
    covers: Covers,
    path: &Path,
) -> Result<(Option<u64>, u64)> {
    let log_id = match records.first() {
        None => return Ok((None, 0)),
        Some(LogRecord::Start { log_id }) => *log_id,
        Some(_) => {
            return Err(Error::NotALog(path.into()));
        }
    };
    let covered = if log_id == covers.log_id { covers.records as usize } else { 0 };
    let total = records.len() as u64;
    report.records_covered = covered.min(records.len()).saturating_sub(1);
    store.reserve(records.len().saturating_sub(covered)); // at most one new key per record
    for change in records.into_iter().skip(covered).filter_map(LogRecord::into_change) {
        store.apply(change);
        report.records_replayed += 1;
    }
    // A log shorter than the snapshot says (cut by a repair): all of it is
    // in the snapshot, and appending to it would put new records where the
    // next recovery skips them. Start a new log instead.
    let behind = covered as u64 > total;
    Ok((if behind { None } else { Some(log_id) }, total))
}
// ANCHOR_END: replay

/// Creates a log whose only record is `Start { log_id }`, durably, and
/// renames it over `path`: a crash leaves the old log or the new one.
fn new_log<F: FileSystem>(fs: &F, path: &Path, log_id: u64, lsn: u64) -> Result<LogWriter<F>> {
    let tmp = path.with_extension("log.tmp");
    let mut start = Vec::new();
    record::encode(&LogRecord::Start { log_id }, &mut start);
    let mut file = fs.create(&tmp).map_err(|e| Error::io("create", &tmp, e))?;
    crate::fs::write_all(&mut file, &start).map_err(|e| Error::io("write", &tmp, e))?;
    file.sync().map_err(|e| Error::io("fsync", &tmp, e))?;
    drop(file);
    fs.rename(&tmp, path).map_err(|e| Error::io("rename", &tmp, e))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    fs.sync_dir(dir).map_err(|e| Error::io("fsync", dir, e))?;
    LogWriter::open(fs, path, start.len() as u64, 1, lsn + start.len() as u64)
}

/// The durable store is a lesson-1 engine: it passes the conformance suite,
/// including "close and reopen".
impl<F: FileSystem, C: Clock> KvStore for DurableStore<F, C> {
    type Error = Error;

    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.store.get(key)?)
    }

    fn set(&mut self, key: Vec<u8>, value: Vec<u8>) -> Result<()> {
        self.writable()?;
        // Refuse before changing memory what the log could not hold.
        let bytes = (key.len() + value.len()) as u64;
        if bytes + 64 > u64::from(crate::record::MAX_PAYLOAD) {
            return Err(Error::TooLarge { bytes });
        }
        self.store.set(key, value, None, SetTtl::Clear);
        self.persist_or_poison()?;
        self.maybe_compact();
        Ok(())
    }

    fn delete(&mut self, key: &[u8]) -> Result<bool> {
        self.writable()?;
        let existed = self.store.remove(key);
        self.persist_or_poison()?;
        self.maybe_compact();
        Ok(existed)
    }

    fn scan(&mut self, range: KeyRange) -> Result<Vec<KeyValue>> {
        Ok(KvStore::scan(&mut self.store, range)?)
    }

    fn len(&mut self) -> Result<usize> {
        Ok(self.store.len())
    }

    fn flush(&mut self) -> Result<()> {
        self.writable()?;
        // A failed fsync cannot be retried (see the book): poison.
        self.log.sync().inspect_err(|e| self.poison(e.to_string()))
    }
}

impl<F: FileSystem, C: Clock> DurableStore<F, C> {
    fn writable(&self) -> Result<()> {
        self.poisoned().map_or(Ok(()), |why| Err(Error::Poisoned(why)))
    }

    fn persist_or_poison(&mut self) -> Result<()> {
        self.persist().inspect_err(|e| self.poison(e.to_string()))
    }
}
