//! A cursor: a position in the tree's key order, moved forward or back.
//!
//! The cursor is the path from the root to a leaf entry: for each level,
//! the page and the index of the entry taken there.
//!
//! ```text
//!   level 0   [_ d h]        index 1 ─┐
//!   level 1        [d e f g]  index 2 ─┴─► at "f"
//! ```
//!
//! Moving past a leaf's last entry climbs the path until a level has an
//! entry to the right, steps there, and descends along left edges to the
//! next leaf. Copy-on-write trees cannot keep the sibling pointers between
//! leaves that textbook B+trees have (changing one leaf would mean copying
//! its neighbours, and theirs), so the path is how a cursor finds the next
//! leaf. Each step costs O(1) amortised: the path's upper levels change
//! rarely.
//!
//! The cursor reads pages through the pager as they are *now*; it holds a
//! `&mut` borrow of the tree, so nothing can change under it.

use crate::btree::overflow;
use crate::btree::page::{Kind, Node};
use crate::btree::pager::Pager;
use crate::btree::store::{PageBuf, PageStore};
use crate::error::Result;

// ANCHOR: cursor
/// A position in key order, or nowhere (before the first or after the last
/// entry).
pub struct Cursor<'a, S: PageStore> {
    pager: &'a mut Pager<S>,
    /// From the root down: a page and the entry index taken in it. Empty
    /// when the cursor is nowhere.
    path: Vec<(PageBuf, usize)>,
}
// ANCHOR_END: cursor

impl<'a, S: PageStore> Cursor<'a, S> {
    /// A cursor, nowhere yet: seek first.
    pub fn new(pager: &'a mut Pager<S>) -> Self {
        Self { pager, path: Vec::new() }
    }

    /// The key at the cursor, or `None` if it is nowhere.
    pub fn key(&self) -> Option<&[u8]> {
        let (page, i) = self.path.last()?;
        Some(Node::new(page).key(*i))
    }

    /// The value at the cursor (read from overflow pages if it is big);
    /// empty if the cursor is nowhere.
    pub fn value(&mut self) -> Result<Vec<u8>> {
        let Some((page, i)) = self.path.last() else { return Ok(Vec::new()) };
        let node = Node::new(page);
        if node.is_overflow(*i) {
            let reference = node.value(*i).to_vec();
            overflow::read(self.pager, &reference)
        } else {
            Ok(node.value(*i).to_vec())
        }
    }

    /// Moves to the first entry with a key `>= key`.
    pub fn seek(&mut self, key: &[u8]) -> Result<()> {
        self.path.clear();
        let Some(mut id) = self.pager.root() else { return Ok(()) };
        loop {
            let page = self.pager.read_node(id, self.path.len())?;
            let node = Node::new(&page);
            if node.kind() == Kind::Leaf {
                let i = node.search(key).unwrap_or_else(|i| i);
                let past_end = i >= node.len();
                self.path.push((page, i));
                if past_end {
                    // The key is beyond this leaf: its successor starts the next one.
                    self.step_leaf_forward()?;
                }
                return Ok(());
            }
            let i = node.child_index(key);
            id = node.child(i);
            self.path.push((page, i));
        }
    }

    /// Moves to the last entry with a key `<= key` (`inclusive`) or `< key`.
    pub fn seek_back(&mut self, key: &[u8], inclusive: bool) -> Result<()> {
        self.seek(key)?;
        match self.key() {
            Some(k) if inclusive && k == key => Ok(()),
            Some(_) => self.prev_entry(),
            None => self.seek_last(),
        }
    }

    /// Moves to the first entry.
    pub fn seek_first(&mut self) -> Result<()> {
        self.path.clear();
        match self.pager.root() {
            Some(root) => self.descend(root, Edge::Left),
            None => Ok(()),
        }
    }

    /// Moves to the last entry.
    pub fn seek_last(&mut self) -> Result<()> {
        self.path.clear();
        match self.pager.root() {
            Some(root) => self.descend(root, Edge::Right),
            None => Ok(()),
        }
    }

    // ANCHOR: next
    /// Moves to the next entry; nowhere after the last.
    pub fn next_entry(&mut self) -> Result<()> {
        let Some((page, i)) = self.path.last_mut() else { return Ok(()) };
        *i += 1;
        if *i < Node::new(page).len() {
            return Ok(());
        }
        self.step_leaf_forward()
    }

    /// From past the end of a leaf: climb until a level has an entry to
    /// the right, take it, and descend its left edge.
    fn step_leaf_forward(&mut self) -> Result<()> {
        self.path.pop();
        while let Some((page, i)) = self.path.last_mut() {
            let node = Node::new(page);
            if *i + 1 < node.len() {
                *i += 1;
                let child = node.child(*i);
                return self.descend(child, Edge::Left);
            }
            self.path.pop();
        }
        Ok(()) // climbed out of the root: nowhere
    }
    // ANCHOR_END: next

    /// Moves to the previous entry; nowhere before the first.
    pub fn prev_entry(&mut self) -> Result<()> {
        let Some((_, i)) = self.path.last_mut() else { return Ok(()) };
        if *i > 0 {
            *i -= 1;
            return Ok(());
        }
        self.path.pop();
        while let Some((page, i)) = self.path.last_mut() {
            if *i > 0 {
                *i -= 1;
                let child = Node::new(page).child(*i);
                return self.descend(child, Edge::Right);
            }
            self.path.pop();
        }
        Ok(())
    }

    /// Descends from `id` along the left or right edge to a leaf.
    fn descend(&mut self, mut id: u32, edge: Edge) -> Result<()> {
        loop {
            let page = self.pager.read_node(id, self.path.len())?;
            let node = Node::new(&page);
            let i = match edge {
                Edge::Left => 0,
                Edge::Right => node.len().saturating_sub(1),
            };
            let leaf = node.kind() == Kind::Leaf;
            if !leaf {
                id = node.child(i);
            }
            let empty = node.is_empty();
            self.path.push((page, i));
            if leaf {
                if empty {
                    self.path.clear(); // an empty root leaf: no entries at all
                }
                return Ok(());
            }
        }
    }
}

#[derive(Clone, Copy)]
enum Edge {
    Left,
    Right,
}
