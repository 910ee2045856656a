//! Where pages live: in memory, or in a file.
//!
//! A [`PageStore`] reads and writes whole pages by number; page `n` of a
//! file starts at byte `n × page_size`. It knows nothing of trees, meta
//! pages or free lists: that is the [`Pager`](super::pager::Pager)'s job,
//! the same for both stores, so the fast in-memory tests exercise all of it.
//!
//! The file store checks every page it reads from disk: its checksum, then
//! its structure ([`page::validate`]). A damaged page is an
//! [`Error::Corrupt`] naming the file and offset; nothing downstream ever
//! sees its bytes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use lesson03_persistence::fs::{FileSystem, OpenFile, RealFs, read_exact_at, write_all_at};

use crate::btree::PageId;
use crate::btree::page;
use crate::error::{Error, Result};

/// A page's bytes, shared between the store's cache and its readers. (An
/// `Arc<Vec<u8>>` rather than an `Arc<[u8]>`: a page built in a `Vec`
/// moves in without a copy.)
pub type PageBuf = Arc<Vec<u8>>;

/// Pages by number.
pub trait PageStore {
    /// The file the pages live in, for error messages.
    fn path(&self) -> &Path;
    /// How many whole pages there are.
    fn page_count(&self) -> Result<u32>;
    /// Reads a meta page's raw bytes (page 0 or 1), unchecked: the pager
    /// decides whether they are a valid meta page. Shorter than a page if
    /// the file ends inside it; `None` past the end.
    fn read_meta(&mut self, id: PageId) -> Result<Option<Vec<u8>>>;
    /// Reads a tree or free-list page, checked.
    fn read(&mut self, id: PageId) -> Result<PageBuf>;
    /// Writes a page (its checksum already filled in).
    fn write(&mut self, id: PageId, page: PageBuf) -> Result<()>;
    /// Makes every write so far durable.
    fn sync(&mut self) -> Result<()>;
    /// Drops every page from `pages` on.
    fn truncate(&mut self, pages: u32) -> Result<()>;
}

/// Fills in a page's checksum: CRC-32 of every byte but the checksum's own.
pub fn seal(page: &mut [u8]) {
    let crc = checksum(page);
    page[4..8].copy_from_slice(&crc.to_le_bytes());
}

fn checksum(page: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&page[..4]);
    hasher.update(&page[8..]);
    hasher.finalize()
}

/// Checks a page read from disk: checksum first, then structure.
pub fn verify(page: &[u8]) -> std::result::Result<(), String> {
    let stored = u32::from_le_bytes([page[4], page[5], page[6], page[7]]);
    if checksum(page) != stored {
        return Err("page checksum mismatch".into());
    }
    page::validate(page).map(|_| ())
}

/// Pages in a `Vec`: for the algorithm's tests and the benchmarks against
/// `BTreeMap`. Nothing is checked: nothing can damage it.
#[derive(Debug, Default)]
pub struct MemStore {
    pages: Vec<Option<PageBuf>>,
}

impl MemStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl PageStore for MemStore {
    fn path(&self) -> &Path {
        Path::new("(memory)")
    }

    fn page_count(&self) -> Result<u32> {
        Ok(self.pages.len() as u32)
    }

    fn read_meta(&mut self, id: PageId) -> Result<Option<Vec<u8>>> {
        Ok(self.pages.get(id as usize).cloned().flatten().map(|page| page.to_vec()))
    }

    fn read(&mut self, id: PageId) -> Result<PageBuf> {
        match self.pages.get(id as usize) {
            Some(Some(page)) => Ok(page.clone()),
            _ => Err(Error::corrupt(
                "(memory)",
                u64::from(id),
                format!("page {id} was never written"),
            )),
        }
    }

    fn write(&mut self, id: PageId, page: PageBuf) -> Result<()> {
        let id = id as usize;
        if self.pages.len() <= id {
            self.pages.resize(id + 1, None);
        }
        self.pages[id] = Some(page);
        Ok(())
    }

    fn sync(&mut self) -> Result<()> {
        Ok(())
    }

    fn truncate(&mut self, pages: u32) -> Result<()> {
        self.pages.truncate(pages as usize);
        Ok(())
    }
}

/// Pages in a file, through lesson 3's [`FileSystem`], with a cache of the
/// pages read and written.
///
/// NB: the cache keeps at most `cache_pages` pages and, when full, evicts
/// whichever page the hash map yields first. Lesson 6 replaces this with a
/// real buffer pool (LRU, and a policy that a scan cannot flush).
pub struct FileStore<F: FileSystem = RealFs> {
    fs: F,
    path: PathBuf,
    file: F::File,
    page_size: usize,
    cache: HashMap<PageId, PageBuf>,
    cache_pages: usize,
}

impl<F: FileSystem> FileStore<F> {
    /// Opens (or creates) the file at `path`.
    pub fn open(fs: &F, path: &Path, page_size: usize, cache_pages: usize) -> Result<Self> {
        let file = fs.open(path).map_err(|e| Error::io("open", path, e))?;
        Ok(Self {
            fs: fs.clone(),
            path: path.into(),
            file,
            page_size,
            cache: HashMap::new(),
            cache_pages,
        })
    }

    fn offset(&self, id: PageId) -> u64 {
        u64::from(id) * self.page_size as u64
    }

    fn remember(&mut self, id: PageId, page: PageBuf) {
        if self.cache.len() >= self.cache_pages
            && let Some(&evict) = self.cache.keys().next()
        {
            self.cache.remove(&evict);
        }
        if self.cache_pages > 0 {
            self.cache.insert(id, page);
        }
    }
}

impl<F: FileSystem> PageStore for FileStore<F> {
    fn path(&self) -> &Path {
        &self.path
    }

    fn page_count(&self) -> Result<u32> {
        let len = self.file.size().map_err(|e| Error::io("stat", &self.path, e))?;
        Ok((len / self.page_size as u64) as u32)
    }

    fn read_meta(&mut self, id: PageId) -> Result<Option<Vec<u8>>> {
        // As much of the page as the file has: a file made with smaller
        // pages may end inside it, and its first bytes still say so.
        let mut page = vec![0; self.page_size];
        let mut have = 0;
        while have < page.len() {
            let offset = self.offset(id) + have as u64;
            match self.file.read_at(&mut page[have..], offset) {
                Ok(0) => break,
                Ok(n) => have += n,
                Err(e) => return Err(Error::io("read", &self.path, e)),
            }
        }
        page.truncate(have);
        Ok(Some(page).filter(|p| !p.is_empty()))
    }

    // ANCHOR: read_page
    fn read(&mut self, id: PageId) -> Result<PageBuf> {
        if let Some(page) = self.cache.get(&id) {
            return Ok(page.clone());
        }
        let offset = self.offset(id);
        let mut page = vec![0; self.page_size];
        read_exact_at(&self.file, &mut page, offset).map_err(|e| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => {
                Error::corrupt(&self.path, offset, format!("page {id} is past the end of the file"))
            }
            _ => Error::io("read", &self.path, e),
        })?;
        verify(&page)
            .map_err(|why| Error::corrupt(&self.path, offset, format!("page {id}: {why}")))?;
        let page: PageBuf = page.into();
        self.remember(id, page.clone());
        Ok(page)
    }
    // ANCHOR_END: read_page

    fn write(&mut self, id: PageId, page: PageBuf) -> Result<()> {
        self.cache.remove(&id);
        let offset = self.offset(id);
        write_all_at(&mut self.file, &page, offset)
            .map_err(|e| Error::io("write", &self.path, e))?;
        if id > 1 {
            self.remember(id, page);
        }
        Ok(())
    }

    fn sync(&mut self) -> Result<()> {
        self.file.sync().map_err(|e| Error::io("fsync", &self.path, e))
    }

    fn truncate(&mut self, pages: u32) -> Result<()> {
        self.cache.retain(|&id, _| id < pages);
        let len = u64::from(pages) * self.page_size as u64;
        let current = self.file.size().map_err(|e| Error::io("stat", &self.path, e))?;
        if current > len {
            self.fs.truncate(&self.path, len).map_err(|e| Error::io("truncate", &self.path, e))?;
        }
        Ok(())
    }
}
