//! The engine served over RESP: lesson 5's server, with this lesson's
//! transactions behind it.
//!
//! Lesson 5's server keeps one engine behind one lock and knows nothing of
//! transactions; it tells the [`Backend`] which client sent each command,
//! and when a client goes. That is all a transaction needs: each client
//! gets a [`Session`], kept here by client id, and a client that
//! disconnects mid-transaction has it rolled back.

use std::collections::HashMap;
use std::path::PathBuf;

use lesson01_intro::KeyRange;
use lesson02_kv::Reply;
use lesson02_kv::command::CommandSpec;
use lesson03_persistence::durable::lock_dir;
use lesson03_persistence::fs::RealFs;
use lesson04_indexing::btree::store::PageBuf;
use lesson04_indexing::btree::{BTree, FileStore, PageStore, TREE_FILE};
use lesson05_replication::engine::{Backend, Durability};

use crate::cache::{CachedStore, Counters, S3Fifo};
use crate::commands;
use crate::mvcc::{Db, Isolation};
use crate::session::{self, Session};

/// The store on disk: the B+tree's file behind the S3-FIFO page cache.
pub type Store = CachedStore<FileStore<RealFs>, S3Fifo<PageBuf>>;

/// How to open the engine.
#[derive(Debug, Clone)]
pub struct Options {
    /// The data directory.
    pub data_dir: PathBuf,
    /// Bytes per page.
    pub page_size: usize,
    /// Pages the cache holds.
    pub cache_pages: usize,
}

/// An open engine: the store, and the data directory's lock, held while it
/// is open.
pub struct Opened {
    /// The store.
    pub db: Db<Store>,
    /// What opening found.
    pub report: String,
    _lock: std::fs::File,
}

/// Opens (or creates) the engine in `options.data_dir`.
pub fn open(options: &Options) -> Result<Opened, String> {
    let dir = &options.data_dir;
    std::fs::create_dir_all(dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
    let lock = lock_dir(dir).map_err(|e| e.to_string())?;
    let path = dir.join(TREE_FILE);
    // The cache is ours: the file store's own is off.
    let file = FileStore::open(&RealFs, &path, options.page_size, 0).map_err(|e| e.to_string())?;
    let store = CachedStore::new(file, S3Fifo::new(options.cache_pages));
    let (tree, report) = BTree::from_store(store, options.page_size).map_err(|e| e.to_string())?;
    let db = Db::open(tree).map_err(|e| e.to_string())?;
    let report = format!("{report}; last commit {}", db.last_commit());
    Ok(Opened { db, report, _lock: lock })
}

// ANCHOR: backend
/// The transactional store as lesson 5's server sees it: a session per
/// client.
pub struct Transactional<S: PageStore + Counters + Send + 'static> {
    db: Db<S>,
    sessions: HashMap<u64, Session<S>>,
}

impl<S: PageStore + Counters + Send + 'static> Transactional<S> {
    /// Serves `db`.
    pub fn new(db: Db<S>) -> Self {
        Self { db, sessions: HashMap::new() }
    }
}

impl<S: PageStore + Counters + Send + 'static> Backend for Transactional<S> {
    fn name(&self) -> &'static str {
        "mvcc"
    }

    fn specs(&self) -> Vec<&'static CommandSpec> {
        commands::all_specs().collect()
    }

    fn execute(&mut self, args: Vec<Vec<u8>>) -> (Reply, Durability) {
        self.execute_for(0, args)
    }

    fn execute_for(&mut self, client: u64, args: Vec<Vec<u8>>) -> (Reply, Durability) {
        let db = &self.db;
        let session = self.sessions.entry(client).or_insert_with(|| Session::new(db.clone()));
        // Every commit is durable before it returns: nothing to wait for.
        (session.execute(args), Durability::Done)
    }

    fn disconnected(&mut self, client: u64) {
        // Dropping the session drops its transaction: a rollback.
        self.sessions.remove(&client);
    }

    fn info(&mut self) -> Vec<(String, String)> {
        session::info(&self.db)
    }

    fn keys(&mut self) -> (usize, usize) {
        let mut snapshot = self.db.begin(Isolation::Snapshot);
        (snapshot.scan(KeyRange::all()).map_or(0, |pairs| pairs.len()), 0)
    }

    fn blocks(&self) -> bool {
        true // a commit fsyncs
    }
}
// ANCHOR_END: backend
