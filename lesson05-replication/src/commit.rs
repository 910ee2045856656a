//! Group commit for tasks: lesson 3's idea, with futures instead of parked
//! threads.
//!
//! Lesson 3's [`SharedStore`](lesson03_persistence::shared::SharedStore)
//! lets many *threads* share an fsync: each waits on a condition variable.
//! A tokio task must not wait that way, since it would hold one of the
//! runtime's few worker threads for the whole fsync. So here one thread of
//! its own, the *syncer*, does every fsync, and a task that needs its write
//! durable awaits a [`watch`] channel that says how far the log is synced:
//!
//! ```text
//!   task A ─ append ─ yield ─ request(300) ─ await synced ≥ 300 ───────────── reply
//!   task B ── append ─ yield ─ request(340) ─ await synced ≥ 340 ──────────── reply
//!   syncer                 ─ wakes: write out to 340 ─ fsync ─ synced = 340 ─┘
//! ```
//!
//! A task yields once before it asks, so that every connection ready to run
//! appends its record first. While the syncer's fsync runs, more tasks
//! append and request; the next fsync covers them all. Under load a group
//! holds as many writes as arrived during one fsync: the slower the disk,
//! the bigger the groups.

use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

use tokio::sync::watch;

/// How far the log is durable, as the syncer publishes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Synced {
    /// The log is durable up to this log sequence number.
    pub upto: u64,
    /// Set when an fsync failed: no later write can be acknowledged.
    pub failed: Option<String>,
    /// Fsyncs done.
    pub fsyncs: u64,
}

/// What the syncer thread is asked to do.
#[derive(Debug, Default)]
struct Requests {
    /// The highest log sequence number some task waits for.
    wanted: u64,
    /// Set on shutdown: sync what is wanted, then stop.
    stop: bool,
}

/// The syncer's two halves of work, given by the engine: write the buffered
/// records out (returns how far the log then reaches) and fsync the file.
pub trait SyncTarget: Send + 'static {
    /// Writes buffered records to the OS; returns the log's end.
    fn write_out(&mut self) -> Result<u64, String>;
    /// Makes everything written so far durable.
    fn sync(&mut self) -> Result<(), String>;
    /// Called after a failed fsync: the store must refuse further writes.
    fn failed(&mut self, why: &str);
}

// ANCHOR: group_commit
/// Shares fsyncs among every connection's writes.
pub struct GroupCommit {
    requests: Arc<(Mutex<Requests>, Condvar)>,
    synced: watch::Receiver<Synced>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl GroupCommit {
    /// Starts the syncer thread on `target`.
    pub fn start(mut target: impl SyncTarget) -> Self {
        let requests = Arc::new((Mutex::new(Requests::default()), Condvar::new()));
        let (publish, synced) = watch::channel(Synced::default());
        let shared = requests.clone();
        let thread = std::thread::Builder::new()
            .name("syncer".into())
            .spawn(move || {
                let (lock, cvar) = &*shared;
                loop {
                    let mut requests = lock.lock().expect("requests lock");
                    while requests.wanted <= publish.borrow().upto && !requests.stop {
                        requests = cvar.wait(requests).expect("requests lock");
                    }
                    let stop = requests.stop;
                    drop(requests);
                    // One write and one fsync for everything appended until
                    // now, whoever appended it.
                    let result = target.write_out().and_then(|end| target.sync().map(|()| end));
                    publish.send_modify(|synced| match result {
                        Ok(end) => {
                            synced.upto = synced.upto.max(end);
                            synced.fsyncs += 1;
                        }
                        Err(why) => {
                            target.failed(&why);
                            synced.failed.get_or_insert(why);
                        }
                    });
                    if stop || publish.borrow().failed.is_some() {
                        return;
                    }
                }
            })
            .expect("spawn the syncer thread");
        Self { requests, synced, thread: Mutex::new(Some(thread)) }
    }

    /// Waits until the log is durable up to `lsn`; an error if an fsync
    /// failed first.
    pub async fn durable(&self, lsn: u64) -> Result<(), String> {
        // exercise 5.4: begin
        let mut synced = self.synced.clone();
        // Let every other connection that is ready run its command first:
        // their records then ride on the same fsync. (Lesson 3's syncer
        // yields its thread for the same reason.)
        tokio::task::yield_now().await;
        if synced.borrow().upto >= lsn {
            return Ok(());
        }
        {
            let (lock, cvar) = &*self.requests;
            let mut requests = lock.lock().expect("requests lock");
            if lsn > requests.wanted {
                requests.wanted = lsn;
                cvar.notify_one();
            }
        }
        let state = synced
            .wait_for(|s| s.upto >= lsn || s.failed.is_some())
            .await
            .map_err(|_| "the syncer stopped".to_string())?;
        match &state.failed {
            Some(why) if state.upto < lsn => Err(why.clone()),
            _ => Ok(()),
        }
        // exercise 5.4: end
    }
    // ANCHOR_END: group_commit

    /// How far the log is synced, and how many fsyncs that took.
    pub fn synced(&self) -> Synced {
        self.synced.borrow().clone()
    }

    /// Syncs whatever is buffered one last time and stops the thread.
    pub fn stop(&self) {
        {
            let (lock, cvar) = &*self.requests;
            lock.lock().expect("requests lock").stop = true;
            cvar.notify_one();
        }
        if let Some(thread) = self.thread.lock().expect("thread lock").take() {
            let _ = thread.join();
        }
    }
}

impl Drop for GroupCommit {
    fn drop(&mut self) {
        self.stop();
    }
}
