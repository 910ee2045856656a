//! The pager: page allocation, the free list, and the commit that makes a
//! batch of page writes atomic, by copy-on-write and two meta pages.
//!
//! A commit never overwrites a page of the last committed tree. The tree
//! writes every changed node to a *new* page; the old pages stay as they
//! were until a later commit may reuse them. Then:
//!
//! ```text
//!   commit 7 (slot 1)            commit 8 (slot 0)
//!   ─────────────────────────────────────────────────────────────────────────►
//!   1. write new pages 40..44    (the tree of commit 7 is untouched)
//!   2. fsync                     the new pages are on disk, but nothing points at them
//!   3. write meta page 0:        root 44, seq 8, pages 45, free list, checksum
//!   4. fsync                     commit 8 is durable
//! ```
//!
//! A crash before step 3 completes leaves meta page 1 (commit 7) as the
//! newest valid meta page, and commit 7's tree intact; a crash in the middle
//! of step 3 leaves page 0 with a bad checksum, so the same. Opening reads
//! both meta pages and takes the valid one with the higher sequence number.
//! There is no log and nothing to replay: the meta page *is* the commit.
//!
//! File layout, in pages of `page_size` bytes:
//!
//! ```text
//!   page 0        page 1        page 2 …
//!   ┌───────────┬───────────┬──────────────────────────────────────────┐
//!   │ meta slot │ meta slot │ leaves, internal nodes, free-list pages  │
//!   │  (even)   │  (odd)    │ and free pages, in any order             │
//!   └───────────┴───────────┴──────────────────────────────────────────┘
//! ```
//!
//! **The free list.** Pages that a commit stops using are *freed*, and go
//! on a list that is saved with the commit (in a chain of free-list pages
//! that the meta page points at). A page freed by commit `s` may be reused
//! from commit `s + 2` on: commit `s + 1` must leave it alone, because the
//! other meta slot still points at commit `s - 1`'s tree, which uses it.
//! So both meta slots always describe an intact tree, and falling back to
//! the older one (when the newer one is damaged) gives the previous commit,
//! whole. Pages allocated and freed inside one batch were never part of a
//! commit and are reused at once.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::btree::PageId;
use crate::btree::page::{HEADER_LEN, Kind};
use crate::btree::store::{PageBuf, PageStore, seal};
use crate::error::{Error, Result};

/// The magic bytes that start a meta page.
pub const MAGIC: &[u8; 8] = b"L4BTREE1";

/// The deepest a tree may be. Nodes at least a quarter full hold billions of
/// keys in a dozen levels, even in 64-byte pages: a descent past this has
/// met a page that points back up.
pub const MAX_DEPTH: usize = 64;

/// Bytes of a meta page that hold data; the rest is zero.
const META_LEN: usize = 44;

// ANCHOR: meta
/// A commit, as its meta page records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Meta {
    /// The page size the file was made with.
    pub page_size: u32,
    /// The commit's sequence number; its slot is `seq % 2`.
    pub seq: u64,
    /// The root page, if the tree has any keys.
    pub root: Option<PageId>,
    /// Pages in use by the file, metas included: the file's logical length.
    pub page_count: u32,
    /// The first page of the free-list chain, if any page is free.
    pub free_head: Option<PageId>,
    /// Keys in the tree.
    pub len: u64,
}

impl Meta {
    /// The meta page's bytes: fields, then a CRC-32 of the whole page
    /// (the zeros after the fields too: every byte is checked).
    ///
    /// ```text
    ///   0 magic "L4BTREE1" │ 8 page_size u32 │ 12 seq u64 │ 20 root u32
    ///   24 page_count u32  │ 28 free_head u32 │ 32 len u64 │ 40 crc32 u32
    /// ```
    pub fn encode(&self, page_size: usize) -> Vec<u8> {
        let mut page = vec![0; page_size];
        page[..8].copy_from_slice(MAGIC);
        page[8..12].copy_from_slice(&self.page_size.to_le_bytes());
        page[12..20].copy_from_slice(&self.seq.to_le_bytes());
        page[20..24].copy_from_slice(&self.root.unwrap_or(0).to_le_bytes());
        page[24..28].copy_from_slice(&self.page_count.to_le_bytes());
        page[28..32].copy_from_slice(&self.free_head.unwrap_or(0).to_le_bytes());
        page[32..40].copy_from_slice(&self.len.to_le_bytes());
        let crc = meta_checksum(&page);
        page[40..44].copy_from_slice(&crc.to_le_bytes());
        page
    }

    /// Reads a meta page, or says why it is not a valid one.
    pub fn decode(page: &[u8]) -> std::result::Result<Meta, String> {
        // exercise 4.4: begin
        if page.len() < META_LEN || &page[..8] != MAGIC {
            return Err("no meta page here".into());
        }
        let u32_at = |at: usize| u32::from_le_bytes(page[at..at + 4].try_into().expect("4 bytes"));
        let u64_at = |at: usize| u64::from_le_bytes(page[at..at + 8].try_into().expect("8 bytes"));
        if meta_checksum(page) != u32_at(40) {
            return Err("meta page checksum mismatch".into());
        }
        let meta = Meta {
            page_size: u32_at(8),
            seq: u64_at(12),
            root: Some(u32_at(20)).filter(|&p| p != 0),
            page_count: u32_at(24),
            free_head: Some(u32_at(28)).filter(|&p| p != 0),
            len: u64_at(32),
        };
        let in_file = |page: Option<PageId>| page.is_none_or(|p| p >= 2 && p < meta.page_count);
        if meta.page_count < 2 || !in_file(meta.root) || !in_file(meta.free_head) {
            return Err("meta page points outside the file".into());
        }
        Ok(meta)
        // exercise 4.4: end
    }
}
// ANCHOR_END: meta

/// What the two meta slots hold, and which to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaSlots {
    /// Each slot's commit, or why it holds none.
    pub slots: [std::result::Result<Meta, String>; 2],
    /// The slot to open: the valid one with the higher sequence number.
    pub newest: Option<usize>,
}

// ANCHOR: choose_meta
/// Decodes the two meta slots' bytes (`None`: past the end of the file)
/// and picks the commit to open.
pub fn choose_meta(pages: [Option<Vec<u8>>; 2]) -> MetaSlots {
    // exercise 4.4: begin
    let slots = pages.map(|page| match page {
        Some(page) => Meta::decode(&page),
        None => Err("no meta page here".to_string()),
    });
    let newest =
        (0..2).filter(|&i| slots[i].is_ok()).max_by_key(|&i| slots[i].as_ref().map(|m| m.seq).ok());
    MetaSlots { slots, newest }
    // exercise 4.4: end
}
// ANCHOR_END: choose_meta

/// CRC-32 of a meta page, but for the checksum's own four bytes.
fn meta_checksum(page: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&page[..40]);
    hasher.update(&page[44..]);
    hasher.finalize()
}

/// A free page, and the first commit that may reuse it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FreePage {
    /// The page.
    pub page: PageId,
    /// The first commit sequence number that may reuse it.
    pub reusable_at: u64,
}

/// Bytes of a free-list page before its entries: header, next page.
const FREE_HEADER: usize = HEADER_LEN + 4;
/// Bytes of one free-list entry: page u32, reusable_at u64.
const FREE_ENTRY: usize = 12;

/// What opening found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenReport {
    /// The commit opened, and its slot.
    pub meta: Meta,
    /// The other slot: its commit, or why it is not valid.
    pub other: std::result::Result<u64, String>,
    /// Whether the file was new (or held no commit yet).
    pub created: bool,
    /// Pages cut off the end of the file: written by a commit that did not
    /// finish.
    pub truncated_pages: u32,
}

impl std::fmt::Display for OpenReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.created {
            return write!(f, "btree: new file, {}-byte pages", self.meta.page_size);
        }
        write!(
            f,
            "btree: commit {} (meta slot {}), {} keys, {} pages",
            self.meta.seq,
            self.meta.seq % 2,
            self.meta.len,
            self.meta.page_count
        )?;
        match &self.other {
            Ok(seq) => write!(f, "; other slot: commit {seq}")?,
            Err(why) if self.meta.seq == 0 => write!(f, "; other slot: empty ({why})")?,
            Err(why) => write!(
                f,
                "; other slot: {why}: if it held a newer commit, that commit did not finish"
            )?,
        }
        if self.truncated_pages > 0 {
            write!(f, "; cut {} pages an unfinished commit wrote", self.truncated_pages)?;
        }
        Ok(())
    }
}

// ANCHOR: pager
/// Pages for a tree: read, allocate, free, and commit atomically.
pub struct Pager<S: PageStore> {
    store: S,
    page_size: usize,
    /// The last commit.
    committed: Meta,
    /// Its free list, and the pages that hold it.
    committed_free: Vec<FreePage>,
    committed_chain: Vec<PageId>,
    /// The batch being built: root, key count, file length.
    root: Option<PageId>,
    len: u64,
    page_count: u32,
    /// Free pages this batch may take, and those it may not yet.
    reusable: Vec<FreePage>,
    waiting: Vec<FreePage>,
    /// Pages this batch allocated: not in any commit, so writable in place.
    fresh: HashSet<PageId>,
    /// Pages of the last commit that this batch stopped using.
    freed: Vec<PageId>,
    /// Fresh pages freed again in this batch: reusable at once.
    fresh_freed: Vec<PageId>,
    /// New page contents, written at commit.
    dirty: HashMap<PageId, PageBuf>,
    /// Set when a commit failed part-way: the file may hold half a commit,
    /// and after a failed fsync the kernel may have dropped our writes.
    poisoned: Option<String>,
}
// ANCHOR_END: pager

impl<S: PageStore> Pager<S> {
    /// Opens the pages of `store`: the newest valid meta page, and the free
    /// list; a store with no commit gets an empty one.
    pub fn open(mut store: S, page_size: usize) -> Result<(Self, OpenReport)> {
        assert!(
            (64..=32768).contains(&page_size) && page_size.is_power_of_two(),
            "page size must be a power of two from 64 to 32768 bytes"
        );
        let pages = store.page_count()?;
        let first = store.read_meta(0)?;
        // What slot 0 says the page size is, even if it is not a valid meta
        // page at this size: a meta page read at the wrong page size never
        // passes its checksum, and a small file would look new.
        let recorded = first
            .as_ref()
            .filter(|page| page.len() >= 12 && &page[..8] == MAGIC)
            .map(|page| u32::from_le_bytes(page[8..12].try_into().expect("4 bytes")));
        let slots = choose_meta([first, store.read_meta(1)?]);
        let newest = slots.newest.map(|slot| (slot, slots.slots[slot].clone().expect("valid")));
        let (meta, other, created) = match newest {
            // A commit 0 whose file is short: the creation did not finish
            // (commit 0 holds nothing, so starting again loses nothing).
            Some((_, meta)) if meta.seq == 0 && meta.page_count > pages => {
                Self::create(&mut store, page_size)?
            }
            Some((slot, meta)) => {
                if meta.page_size as usize != page_size {
                    let why = format!(
                        "the meta page says {}-byte pages, not {page_size}",
                        meta.page_size
                    );
                    return Err(Error::corrupt(store.path(), 8, why));
                }
                if meta.page_count > pages {
                    return Err(Error::corrupt(
                        store.path(),
                        u64::from(pages) * page_size as u64,
                        format!(
                            "the meta page counts {} pages, the file has {pages}",
                            meta.page_count
                        ),
                    ));
                }
                (meta, slots.slots[1 - slot].clone().map(|m| m.seq), false)
            }
            None => match recorded {
                Some(recorded) if recorded as usize != page_size => {
                    return Err(Error::corrupt(
                        store.path(),
                        8,
                        format!(
                            "the file has {recorded}-byte pages, not {page_size}: open it with --page-size {recorded}"
                        ),
                    ));
                }
                // Every commit after the first grows the file past two
                // pages: a file of two pages or less held nothing yet.
                _ if pages <= 2 => Self::create(&mut store, page_size)?,
                _ => {
                    let why = slots.slots[0].clone().unwrap_err();
                    return Err(Error::corrupt(
                        store.path(),
                        0,
                        format!("neither meta page is valid: {why}"),
                    ));
                }
            },
        };
        let truncated_pages = pages.saturating_sub(meta.page_count);
        if truncated_pages > 0 {
            store.truncate(meta.page_count)?;
        }
        let mut pager = Pager {
            store,
            page_size,
            committed: meta,
            committed_free: Vec::new(),
            committed_chain: Vec::new(),
            root: None,
            len: 0,
            page_count: 0,
            reusable: Vec::new(),
            waiting: Vec::new(),
            fresh: HashSet::new(),
            freed: Vec::new(),
            fresh_freed: Vec::new(),
            dirty: HashMap::new(),
            poisoned: None,
        };
        pager.load_free_list()?;
        pager.rollback();
        Ok((pager, OpenReport { meta, other, created, truncated_pages }))
    }

    /// Writes an empty tree's commit 0 into a new (or unfinished) file.
    fn create(
        store: &mut S,
        page_size: usize,
    ) -> Result<(Meta, std::result::Result<u64, String>, bool)> {
        let meta = Meta { page_size: page_size as u32, page_count: 2, ..Meta::default() };
        store.write(1, vec![0; page_size].into())?;
        store.write(0, meta.encode(page_size).into())?;
        store.sync()?;
        Ok((meta, Err("never written".to_string()), true))
    }

    /// Reads the free-list chain of the last commit.
    fn load_free_list(&mut self) -> Result<()> {
        let mut next = self.committed.free_head;
        while let Some(id) = next {
            if self.committed_chain.len() > self.committed.page_count as usize {
                return Err(Error::corrupt(self.store.path(), 0, "the free list runs in a circle"));
            }
            let page = self.read(id)?;
            let offset = u64::from(id) * self.page_size as u64;
            if page[0] != Kind::FreeList as u8 {
                return Err(Error::corrupt(
                    self.store.path(),
                    offset,
                    format!("page {id} is on the free-list chain but is not a free-list page"),
                ));
            }
            let count = u16::from_le_bytes([page[2], page[3]]) as usize;
            if FREE_HEADER + count * FREE_ENTRY > page.len() {
                return Err(Error::corrupt(self.store.path(), offset, "free-list page overflows"));
            }
            let link = u32::from_le_bytes(page[8..12].try_into().expect("4 bytes"));
            for i in 0..count {
                let at = FREE_HEADER + i * FREE_ENTRY;
                let page_id = u32::from_le_bytes(page[at..at + 4].try_into().expect("4 bytes"));
                let reusable_at = u64::from_le_bytes(page[at + 4..at + 12].try_into().expect("8"));
                if page_id < 2 || page_id >= self.committed.page_count {
                    return Err(Error::corrupt(
                        self.store.path(),
                        offset,
                        format!("free page {page_id} is outside the file"),
                    ));
                }
                self.committed_free.push(FreePage { page: page_id, reusable_at });
            }
            self.committed_chain.push(id);
            next = Some(link).filter(|&l| l != 0);
        }
        Ok(())
    }

    /// The page size.
    pub fn page_size(&self) -> usize {
        self.page_size
    }

    /// The root of the tree being built (or the committed one, between batches).
    pub fn root(&self) -> Option<PageId> {
        self.root
    }

    /// Sets the root.
    pub fn set_root(&mut self, root: Option<PageId>) {
        self.root = root;
    }

    /// Keys in the tree being built.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the tree being built has no keys.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Sets the key count.
    pub fn set_len(&mut self, len: u64) {
        self.len = len;
    }

    /// The last commit.
    pub fn committed(&self) -> Meta {
        self.committed
    }

    /// Closes the pager, forgetting any uncommitted batch.
    pub fn into_store(self) -> S {
        self.store
    }

    /// The store, for its path and for tests.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Reads a page that the tree reached as its root or as a child: it must
    /// be a leaf or an internal node, and at most [`MAX_DEPTH`] levels down.
    /// (A checksum proves a page is what was written, not that a pointer to
    /// it is right; this is what keeps a damaged pointer from being followed
    /// into an overflow page, or round in a circle.)
    pub fn read_node(&mut self, id: PageId, depth: usize) -> Result<PageBuf> {
        let offset = u64::from(id) * self.page_size as u64;
        if depth > MAX_DEPTH {
            let why =
                format!("page {id} is more than {MAX_DEPTH} levels down: the tree has a cycle");
            return Err(Error::corrupt(self.store.path(), offset, why));
        }
        let page = self.read(id)?;
        match Kind::from_byte(page[0]) {
            Some(Kind::Leaf | Kind::Internal) => Ok(page),
            _ => Err(Error::corrupt(
                self.store.path(),
                offset,
                format!("page {id} is in the tree but is not a node"),
            )),
        }
    }

    /// Reads a page: this batch's version if it wrote one, else the store's.
    pub fn read(&mut self, id: PageId) -> Result<PageBuf> {
        if let Some(page) = self.dirty.get(&id) {
            return Ok(page.clone());
        }
        self.store.read(id)
    }

    // ANCHOR: allocate
    /// A page for new contents: a reusable free page, else one past the end.
    pub fn allocate(&mut self) -> PageId {
        let id = match self.fresh_freed.pop().or_else(|| self.reusable.pop().map(|f| f.page)) {
            Some(id) => id,
            None => {
                self.page_count += 1;
                self.page_count - 1
            }
        };
        self.fresh.insert(id);
        id
    }

    /// Whether `id` was allocated in this batch: no commit uses it, so it
    /// may be overwritten in place.
    pub fn is_fresh(&self, id: PageId) -> bool {
        self.fresh.contains(&id)
    }

    /// Stops using `id`. A page of the last commit stays untouched until
    /// two commits later; a page of this batch is reusable at once.
    pub fn free(&mut self, id: PageId) {
        if self.fresh.remove(&id) {
            self.dirty.remove(&id);
            self.fresh_freed.push(id);
        } else {
            self.freed.push(id);
        }
    }
    // ANCHOR_END: allocate

    /// Writes a page allocated in this batch.
    pub fn write(&mut self, id: PageId, page: Vec<u8>) {
        debug_assert!(self.fresh.contains(&id), "page {id} is not writable: a commit uses it");
        self.dirty.insert(id, page.into());
    }

    /// Whether the batch changed anything.
    pub fn has_changes(&self) -> bool {
        !self.dirty.is_empty()
            || !self.freed.is_empty()
            || self.root != self.committed.root
            || self.len != self.committed.len
    }

    // ANCHOR: commit
    /// Makes the batch durable and atomic: new pages, fsync, meta page,
    /// fsync. On an error, the batch is rolled back and the pager refuses
    /// further commits: the file holds the last commit, or this one.
    pub fn commit(&mut self) -> Result<()> {
        if let Some(why) = &self.poisoned {
            return Err(Error::Poisoned(why.clone()));
        }
        if !self.has_changes() {
            return Ok(());
        }
        let seq = self.committed.seq + 1;
        let (free, chain) = self.write_free_list(seq);
        let meta = Meta {
            page_size: self.page_size as u32,
            seq,
            root: self.root,
            page_count: self.page_count,
            free_head: chain.first().copied(),
            len: self.len,
        };
        let mut dirty: Vec<(PageId, PageBuf)> = self.dirty.drain().collect();
        dirty.sort_unstable_by_key(|(id, _)| *id); // in file order
        // Pages past the old end that this batch allocated and freed again
        // were never written; the file must still reach `page_count`.
        let last = self.page_count - 1;
        let extends = self.page_count > self.committed.page_count
            && dirty.last().is_none_or(|(id, _)| *id < last);
        let result = (|| {
            for (id, page) in dirty {
                let mut page = Arc::unwrap_or_clone(page);
                seal(&mut page);
                self.store.write(id, page.into())?;
            }
            if extends {
                self.store.write(last, vec![0; self.page_size].into())?;
            }
            self.store.sync()?;
            self.store.write((seq % 2) as PageId, meta.encode(self.page_size).into())?;
            self.store.sync()
        })();
        if let Err(e) = result {
            self.poisoned = Some(format!("a failed commit ({e})"));
            self.rollback();
            return Err(e);
        }
        self.committed = meta;
        self.committed_free = free;
        self.committed_chain = chain;
        self.rollback(); // starts the next batch from the new commit
        Ok(())
    }
    // ANCHOR_END: commit

    /// Forgets the batch: back to the last commit.
    pub fn rollback(&mut self) {
        let next_seq = self.committed.seq + 1;
        self.root = self.committed.root;
        self.len = self.committed.len;
        self.page_count = self.committed.page_count;
        (self.reusable, self.waiting) =
            self.committed_free.iter().partition(|f| f.reusable_at <= next_seq);
        // Lowest pages last, so that `pop` reuses them first: the file stays compact.
        self.reusable.sort_unstable_by_key(|f| std::cmp::Reverse(f.page));
        self.fresh.clear();
        self.freed.clear();
        self.fresh_freed.clear();
        self.dirty.clear();
    }

    /// Builds the new free list for commit `seq` and writes its chain of
    /// pages (as dirty pages). The chain's own pages come from the free
    /// list itself, which shrinks as they are taken: take one at a time
    /// until the chain is long enough for what is left.
    fn write_free_list(&mut self, seq: u64) -> (Vec<FreePage>, Vec<PageId>) {
        let mut free: Vec<FreePage> = Vec::new();
        free.extend(self.fresh_freed.drain(..).map(|page| FreePage { page, reusable_at: 0 }));
        free.append(&mut self.reusable);
        free.append(&mut self.waiting);
        let old_chain = self.committed_chain.iter().chain(&self.freed);
        free.extend(old_chain.map(|&page| FreePage { page, reusable_at: seq + 2 }));
        self.freed.clear();

        let per_page = (self.page_size - FREE_HEADER) / FREE_ENTRY;
        let mut chain = Vec::new();
        while chain.len() < free.len().div_ceil(per_page) {
            match free.iter().position(|f| f.reusable_at <= seq) {
                Some(i) => chain.push(free.swap_remove(i).page),
                None => {
                    chain.push(self.page_count);
                    self.page_count += 1;
                }
            }
        }
        free.sort_unstable_by_key(|f| f.page);
        for (i, &id) in chain.iter().enumerate() {
            let entries =
                &free[(i * per_page).min(free.len())..((i + 1) * per_page).min(free.len())];
            let mut page = vec![0; self.page_size];
            page[0] = Kind::FreeList as u8;
            page[2..4].copy_from_slice(&(entries.len() as u16).to_le_bytes());
            page[8..12].copy_from_slice(&chain.get(i + 1).copied().unwrap_or(0).to_le_bytes());
            for (j, f) in entries.iter().enumerate() {
                let at = FREE_HEADER + j * FREE_ENTRY;
                page[at..at + 4].copy_from_slice(&f.page.to_le_bytes());
                page[at + 4..at + 12].copy_from_slice(&f.reusable_at.to_le_bytes());
            }
            self.dirty.insert(id, page.into());
        }
        (free, chain)
    }

    /// The free pages of the last commit.
    pub fn free_pages(&self) -> &[FreePage] {
        &self.committed_free
    }

    /// The pages holding the last commit's free list.
    pub fn free_list_chain(&self) -> &[PageId] {
        &self.committed_chain
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(seq: u64) -> Meta {
        Meta { page_size: 128, seq, root: Some(5), page_count: 9, free_head: Some(7), len: 42 }
    }

    #[test]
    fn a_meta_page_round_trips() {
        let page = meta(3).encode(128);
        assert_eq!(&page[..8], MAGIC);
        assert_eq!(Meta::decode(&page), Ok(meta(3)));
        let empty = Meta { root: None, free_head: None, page_count: 2, ..meta(0) };
        assert_eq!(Meta::decode(&empty.encode(128)), Ok(empty));
    }

    #[test]
    fn every_damaged_byte_of_a_meta_page_is_refused() {
        let page = meta(3).encode(128);
        for at in 0..page.len() {
            let mut damaged = page.clone();
            damaged[at] ^= 0x04;
            assert!(Meta::decode(&damaged).is_err(), "a flip at byte {at} went unnoticed");
        }
    }

    #[test]
    fn a_meta_page_pointing_outside_the_file_is_refused() {
        let outside = Meta { root: Some(9), ..meta(1) }; // page_count is 9: pages 0..=8
        assert!(Meta::decode(&outside.encode(128)).unwrap_err().contains("outside"));
        let on_a_meta_slot = Meta { free_head: Some(1), ..meta(1) };
        assert!(Meta::decode(&on_a_meta_slot.encode(128)).is_err());
    }

    #[test]
    fn the_newest_valid_slot_wins() {
        let (older, newer) = (meta(6).encode(128), meta(7).encode(128));
        assert_eq!(choose_meta([Some(newer.clone()), Some(older.clone())]).newest, Some(0));
        assert_eq!(choose_meta([Some(older.clone()), Some(newer.clone())]).newest, Some(1));
        let mut torn = newer.clone();
        torn[100] ^= 1;
        let chosen = choose_meta([Some(older.clone()), Some(torn)]);
        assert_eq!(chosen.newest, Some(0), "a torn newer meta page falls back to the older");
        assert!(chosen.slots[1].is_err());
        assert_eq!(choose_meta([Some(older), None]).newest, Some(0));
        assert_eq!(choose_meta([None, None]).newest, None);
        assert_eq!(choose_meta([Some(vec![0; 128]), Some(vec![0xff; 128])]).newest, None);
    }
}
