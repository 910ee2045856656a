//! A B+tree of fixed-size pages, copy-on-write, as LMDB and redb build them.
//!
//! ```text
//!   BTree ─ batches and commits, the KvStore API, scans
//!     tree   ─ search, insert with splits, delete with borrow and merge
//!     cursor ─ ordered iteration, forward and backward
//!     check  ─ the invariants, and the tree drawn as text
//!     pager  ─ allocation, the free list, meta pages, atomic commit
//!     page   ─ a node's bytes: header, offsets, entries; read in place
//!     overflow ─ values too big for a leaf, in chains of pages
//!     store  ─ pages in memory, or in a file with checksums
//! ```
//!
//! Every key and value lives in a page; memory holds nothing but a cache.
//! A [`Batch`] of sets and deletes commits atomically: all of it survives a
//! crash, or none of it does. [`KvStore::set`] and [`KvStore::delete`] are
//! batches of one.

pub mod check;
pub mod cursor;
pub mod overflow;
pub mod page;
pub mod pager;
pub mod store;
pub mod tree;

use std::fs::File;
use std::ops::Bound;
use std::path::Path;

use lesson01_intro::{KeyRange, KeyValue, KvStore};
use lesson03_persistence::durable::lock_dir;
use lesson03_persistence::fs::{FileSystem, RealFs};

pub use check::TreeStats;
pub use cursor::Cursor;
pub use pager::{Meta, OpenReport, Pager};
pub use store::{FileStore, MemStore, PageStore};
pub use tree::{Limits, Tree};

use crate::error::{Error, Result};
use crate::session::Engine;

/// A page's number: page `n` starts at byte `n × page_size` of the file.
pub type PageId = u32;

/// The B+tree's file in a data directory.
pub const TREE_FILE: &str = "tree.db";

/// How to open a tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Bytes per page: a power of two from 64 to 32768. 4 KiB, the size of
    /// an operating-system page, by default; tests use tiny pages so that
    /// a few keys make a tall tree.
    pub page_size: usize,
    /// Pages the file store keeps in memory.
    pub cache_pages: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self { page_size: 4096, cache_pages: 65536 }
    }
}

/// A set or a delete, in a [`Batch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    /// Set the key to the value.
    Put(Vec<u8>, Vec<u8>),
    /// Delete the key.
    Delete(Vec<u8>),
}

/// Writes that commit together, or not at all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Batch {
    /// The writes, applied in order.
    pub writes: Vec<Write>,
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a set.
    pub fn put(&mut self, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) -> &mut Self {
        self.writes.push(Write::Put(key.into(), value.into()));
        self
    }

    /// Adds a delete.
    pub fn delete(&mut self, key: impl Into<Vec<u8>>) -> &mut Self {
        self.writes.push(Write::Delete(key.into()));
        self
    }
}

/// A B+tree in memory ([`MemStore`]) or in a file ([`FileStore`]).
pub struct BTree<S: PageStore = FileStore<RealFs>> {
    tree: Tree<S>,
    /// The data directory's lock, held while the tree is open.
    _lock: Option<File>,
}

impl BTree<MemStore> {
    /// An empty tree in memory, with `page_size`-byte pages.
    pub fn in_memory(page_size: usize) -> Self {
        Self::from_store(MemStore::new(), page_size).expect("a new memory store opens").0
    }
}

impl BTree<FileStore<RealFs>> {
    /// Opens (or creates) the tree in directory `dir` on the real file system.
    pub fn open(dir: impl AsRef<Path>, options: Options) -> Result<(Self, OpenReport)> {
        Self::open_with(RealFs, dir, options)
    }
}

impl<F: FileSystem> BTree<FileStore<F>> {
    /// Opens (or creates) the tree in `dir`, through `fs`: locks the
    /// directory, reads the newest valid meta page and the free list.
    pub fn open_with(fs: F, dir: impl AsRef<Path>, options: Options) -> Result<(Self, OpenReport)> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
        let lock = lock_dir(dir)?;
        let path = dir.join(TREE_FILE);
        let new = fs.read(&path).map_err(|e| Error::io("read", &path, e))?.is_none();
        let store = FileStore::open(&fs, &path, options.page_size, options.cache_pages)?;
        if new {
            fs.sync_dir(dir).map_err(|e| Error::io("fsync", dir, e))?;
        }
        let (mut tree, report) = Self::from_store(store, options.page_size)?;
        tree._lock = Some(lock);
        Ok((tree, report))
    }

    /// The tree's file.
    pub fn path(&self) -> &Path {
        self.tree.pager.store().path()
    }
}

impl<S: PageStore> BTree<S> {
    /// Opens a tree over `store`.
    pub fn from_store(store: S, page_size: usize) -> Result<(Self, OpenReport)> {
        let (pager, report) = Pager::open(store, page_size)?;
        Ok((Self { tree: Tree::new(pager), _lock: None }, report))
    }

    /// The value of `key`.
    pub fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.tree.get(key)
    }

    // ANCHOR: write
    /// Applies `batch` and commits it: atomically, and durably once this
    /// returns. On an error nothing of the batch is applied.
    pub fn write(&mut self, batch: &Batch) -> Result<()> {
        for write in &batch.writes {
            if let Write::Put(key, value) = write {
                self.tree.check_size(key, value)?;
            }
        }
        let result = batch.writes.iter().try_for_each(|write| match write {
            Write::Put(key, value) => self.tree.insert(key, value).map(drop),
            Write::Delete(key) => self.tree.delete(key).map(drop),
        });
        match result.and_then(|()| self.tree.pager.commit()) {
            Ok(()) => Ok(()),
            Err(e) => {
                self.tree.pager.rollback();
                Err(e)
            }
        }
    }
    // ANCHOR_END: write

    /// A cursor over the tree, positioned nowhere: seek first.
    pub fn cursor(&mut self) -> Cursor<'_, S> {
        Cursor::new(&mut self.tree.pager)
    }

    // ANCHOR: scan
    /// The pairs in `range`, in ascending key order, through a cursor.
    pub fn scan(&mut self, range: &KeyRange) -> Result<Vec<KeyValue>> {
        let mut cursor = self.cursor();
        match &range.start {
            Bound::Included(key) | Bound::Excluded(key) => cursor.seek(key)?,
            Bound::Unbounded => cursor.seek_first()?,
        }
        if let (Bound::Excluded(start), Some(key)) = (&range.start, cursor.key())
            && key == start.as_slice()
        {
            cursor.next_entry()?;
        }
        let mut out = Vec::new();
        while let Some(key) = cursor.key() {
            if !range.contains(key) {
                break; // past the end of the range (or an empty range)
            }
            out.push((key.to_vec(), cursor.value()?));
            cursor.next_entry()?;
        }
        Ok(out)
    }
    // ANCHOR_END: scan

    /// The pairs in `range`, in descending key order: the cursor backwards.
    pub fn scan_rev(&mut self, range: &KeyRange) -> Result<Vec<KeyValue>> {
        let mut cursor = self.cursor();
        match &range.end {
            Bound::Included(key) => cursor.seek_back(key, true)?,
            Bound::Excluded(key) => cursor.seek_back(key, false)?,
            Bound::Unbounded => cursor.seek_last()?,
        }
        let mut out = Vec::new();
        while let Some(key) = cursor.key() {
            if !range.contains(key) {
                break;
            }
            out.push((key.to_vec(), cursor.value()?));
            cursor.prev_entry()?;
        }
        Ok(out)
    }

    /// Checks every invariant; returns the tree's statistics, or the first
    /// broken invariant.
    pub fn check(&mut self) -> std::result::Result<TreeStats, String> {
        check::check(&mut self.tree)
    }

    /// The tree drawn as text.
    pub fn dump(&mut self) -> Result<String> {
        check::dump(&mut self.tree)
    }

    /// Where the pages live: the file, or `(memory)`.
    pub fn store_path(&self) -> &Path {
        self.tree.pager.store().path()
    }

    /// The last commit's meta page.
    pub fn meta(&self) -> Meta {
        self.tree.pager.committed()
    }

    /// Closes the tree and returns its store, to open it again (a reopen
    /// without a disk, for the in-memory tests).
    pub fn into_store(self) -> S {
        self.tree.pager.into_store()
    }

    /// The page store, to read what it counts (lesson 6's page cache).
    pub fn store(&self) -> &S {
        self.tree.pager.store()
    }
}

// ANCHOR: engine
impl<S: PageStore> Engine for BTree<S> {
    fn name(&self) -> &'static str {
        "btree"
    }

    fn info(&mut self) -> Result<Vec<(String, String)>> {
        let meta = self.meta();
        let stats =
            self.check().map_err(|why| Error::corrupt(self.tree.pager.store().path(), 0, why))?;
        Ok(vec![
            ("file".into(), file_name(self.tree.pager.store().path())),
            ("page_size".into(), self.tree.pager.page_size().to_string()),
            ("commit".into(), format!("{} (meta slot {})", meta.seq, meta.seq % 2)),
            ("keys".into(), stats.keys.to_string()),
            ("height".into(), stats.height.to_string()),
            ("pages".into(), stats.pages.to_string()),
            (
                "pages_in_use".into(),
                format!(
                    "{} leaf, {} internal, {} overflow",
                    stats.leaves, stats.internal, stats.overflow
                ),
            ),
            ("free_pages".into(), stats.free.to_string()),
            ("fill_factor".into(), format!("{:.0}%", stats.fill_percent)),
        ])
    }

    fn debug_view(&mut self, view: &[u8]) -> Option<Result<String>> {
        (view == b"TREE").then(|| self.dump())
    }

    fn merge(&mut self) -> Option<Result<String>> {
        None
    }

    /// Every key deleted in one batch: `FLUSHALL` is atomic.
    fn clear(&mut self) -> Result<()> {
        let mut batch = Batch::new();
        for (key, _) in self.scan(&KeyRange::all())? {
            batch.delete(key);
        }
        self.write(&batch)
    }
}
// ANCHOR_END: engine

impl<S: PageStore> KvStore for BTree<S> {
    type Error = Error;

    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        BTree::get(self, key)
    }

    fn set(&mut self, key: Vec<u8>, value: Vec<u8>) -> Result<()> {
        self.write(&Batch { writes: vec![Write::Put(key, value)] })
    }

    fn delete(&mut self, key: &[u8]) -> Result<bool> {
        let found = self.tree.delete(key);
        match found.and_then(|found| self.tree.pager.commit().map(|()| found)) {
            Ok(found) => Ok(found),
            Err(e) => {
                self.tree.pager.rollback();
                Err(e)
            }
        }
    }

    fn scan(&mut self, range: KeyRange) -> Result<Vec<KeyValue>> {
        BTree::scan(self, &range)
    }

    fn len(&mut self) -> Result<usize> {
        Ok(self.tree.pager.len() as usize)
    }
}

/// A path's last part, for INFO: the data directory is the user's to know.
fn file_name(path: &Path) -> String {
    path.file_name()
        .map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned())
}
