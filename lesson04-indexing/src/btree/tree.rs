//! The B+tree's algorithms: search, insert with splits, delete with
//! borrowing and merging, all copy-on-write.
//!
//! Nodes are never changed in place (except pages this batch allocated,
//! which no commit uses yet). Changing a leaf means writing a new leaf,
//! which means a new child id in its parent, which means a new parent, up
//! to a new root: a *path copy*.
//!
//! ```text
//!   before              insert "e" into the leaf [d f]
//!      [_ d]                  [_ d]'            the ' pages are new;
//!     /     \                /     \            [a b] is shared by both
//!   [a b]  [d f]          [a b]  [d e f]'       trees, and the old [_ d]
//!                                               and [d f] are freed
//! ```
//!
//! A node that overflows its page splits in two and its parent gets one
//! more entry (the right half's first key); a root that splits grows a new
//! root above it: the tree grows at the top, so every leaf stays at the same
//! depth. A node that falls under a quarter full (after a delete, or an
//! overwrite with a smaller value) takes entries from a sibling (if the two
//! do not fit in one page) or merges with it (if they do); a root left with
//! one child is replaced by it.
//!
//! Sizes are in bytes, not entries: keys and values vary in size. The
//! limits ([`Limits`]) make every entry at most a quarter of a page, so a
//! split always makes two pages, each more than a quarter full.

use std::borrow::Cow;

use crate::btree::PageId;
use crate::btree::overflow;
use crate::btree::page::{self, ENTRY_OVERHEAD, Entry, HEADER_LEN, Kind, Node};
use crate::btree::pager::Pager;
use crate::btree::store::PageStore;
use crate::error::{Error, Result};

/// The largest value: 64 MiB, as lesson 3's records.
pub const MAX_VALUE: usize = 64 << 20;

/// The size limits that keep every node splittable in two.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The longest key.
    pub max_key: usize,
    /// The most bytes a key and value may take together in a leaf; a
    /// bigger value goes to overflow pages.
    pub max_entry: usize,
    /// A non-root node with fewer bytes than this (header included) takes
    /// entries from a sibling or merges with it.
    pub min_fill: usize,
}

impl Limits {
    /// The limits for `page_size`-byte pages. With `u` the bytes after the
    /// header: an entry with its overhead takes at most `u/4`, a key at most
    /// `u/8`, and a node under `u/4` bytes of entries is underfull. Then a
    /// split of anything up to a page plus an entry leaves both halves at
    /// least `3u/8` full, less the first key that the right half of an
    /// internal split gives up to its parent: at least `u/4`, so a split
    /// never makes an underfull node. (For 4 KiB pages: keys up to 511
    /// bytes, key and value up to 1,016.)
    pub fn for_page_size(page_size: usize) -> Self {
        let usable = page_size - HEADER_LEN;
        Limits {
            // An internal entry (key, 4-byte child, overhead) must stay within
            // a quarter page too; only 64-byte pages make that the tighter limit.
            max_key: (usable / 8).min(usable / 4 - ENTRY_OVERHEAD - 4),
            max_entry: usable / 4 - ENTRY_OVERHEAD,
            min_fill: HEADER_LEN + usable / 4,
        }
    }
}

/// A node replacing an old one in its parent: its first key (the parent's
/// separator for it; only the second node of a split needs one, so a lone
/// node may leave it empty), its page, and its size in bytes.
struct NewNode {
    first_key: Vec<u8>,
    id: PageId,
    used: usize,
}

/// A B+tree over a pager: the algorithms, without commits (see
/// [`BTree`](super::BTree) for the batch and commit API).
pub struct Tree<S: PageStore> {
    /// The pages.
    pub pager: Pager<S>,
    /// The size limits for its page size.
    pub limits: Limits,
}

impl<S: PageStore> Tree<S> {
    /// A tree over `pager`.
    pub fn new(pager: Pager<S>) -> Self {
        let limits = Limits::for_page_size(pager.page_size());
        Self { pager, limits }
    }

    /// Checks that `key` and `value` fit the limits.
    pub fn check_size(&self, key: &[u8], value: &[u8]) -> Result<()> {
        if key.len() > self.limits.max_key {
            return Err(Error::TooLarge {
                what: "a key",
                size: key.len(),
                limit: self.limits.max_key,
            });
        }
        if value.len() > MAX_VALUE {
            return Err(Error::TooLarge { what: "a value", size: value.len(), limit: MAX_VALUE });
        }
        Ok(())
    }

    /// The leaf entry for `key` and `value`: the value inline if the two
    /// fit in a quarter page, else a reference to new overflow pages.
    fn leaf_entry<'a>(&mut self, key: &'a [u8], value: &'a [u8]) -> Entry<'a> {
        if key.len() + value.len() <= self.limits.max_entry {
            return Entry::new(key, value);
        }
        let reference = overflow::write(&mut self.pager, value);
        Entry { key: Cow::Borrowed(key), value: Cow::Owned(reference.to_vec()), overflow: true }
    }

    /// The value of leaf entry `i`, from its overflow pages if need be.
    fn leaf_value(&mut self, node: &Node<'_>, i: usize) -> Result<Vec<u8>> {
        if node.is_overflow(i) {
            overflow::read(&mut self.pager, node.value(i))
        } else {
            Ok(node.value(i).to_vec())
        }
    }

    // ANCHOR: get
    /// The value of `key`: from the root, follow the child whose range holds
    /// the key, down to a leaf; search the leaf.
    pub fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let Some(mut id) = self.pager.root() else { return Ok(None) };
        for depth in 0.. {
            // (`read_node` refuses a page that is not a node, or too deep.)
            let page = self.pager.read_node(id, depth)?;
            let node = Node::new(&page);
            match node.kind() {
                Kind::Leaf => match node.search(key) {
                    Ok(i) => return self.leaf_value(&node, i).map(Some),
                    Err(_) => return Ok(None),
                },
                _ => id = node.child(node.child_index(key)),
            }
        }
        unreachable!("read_node stops a descent at MAX_DEPTH")
    }
    // ANCHOR_END: get

    /// Sets `key` to `value`; returns whether the key is new.
    pub fn insert(&mut self, key: &[u8], value: &[u8]) -> Result<bool> {
        self.check_size(key, value)?;
        let (nodes, added) = match self.pager.root() {
            None => {
                let entries = vec![self.leaf_entry(key, value)];
                (self.write_node(None, Kind::Leaf, entries), true)
            }
            Some(root) => self.insert_into(root, key, value, 0)?,
        };
        self.set_root_from(nodes);
        self.shrink_root()?;
        if added {
            self.pager.set_len(self.pager.len() + 1);
        }
        Ok(added)
    }

    /// Deletes `key`; returns whether it was there.
    pub fn delete(&mut self, key: &[u8]) -> Result<bool> {
        let Some(root) = self.pager.root() else { return Ok(false) };
        let Some(nodes) = self.delete_from(root, key, 0)? else { return Ok(false) };
        self.set_root_from(nodes);
        self.shrink_root()?;
        self.pager.set_len(self.pager.len() - 1);
        Ok(true)
    }

    // ANCHOR: shrink_root
    /// A root with one child (its children merged) is replaced by the child,
    /// and an empty root leaf by nothing: the tree shrinks at the top.
    fn shrink_root(&mut self) -> Result<()> {
        while let Some(root) = self.pager.root() {
            let page = self.pager.read_node(root, 0)?;
            let node = Node::new(&page);
            match node.kind() {
                Kind::Internal if node.len() == 1 => {
                    self.pager.free(root);
                    self.pager.set_root(Some(node.child(0)));
                }
                Kind::Leaf if node.is_empty() => {
                    self.pager.free(root);
                    self.pager.set_root(None);
                }
                _ => break,
            }
        }
        Ok(())
    }
    // ANCHOR_END: shrink_root

    // ANCHOR: grow_root
    /// Makes `nodes` the tree: one node is the new root; several get a new
    /// root above them, one level higher.
    fn set_root_from(&mut self, nodes: Vec<NewNode>) {
        if nodes.len() == 1 {
            self.pager.set_root(Some(nodes[0].id));
            return;
        }
        let ids: Vec<[u8; 4]> = nodes.iter().map(|n| n.id.to_le_bytes()).collect();
        let entries: Vec<Entry<'_>> = nodes
            .iter()
            .zip(&ids)
            .enumerate()
            .map(|(i, (n, id))| {
                let key = if i == 0 { &[][..] } else { &n.first_key[..] };
                Entry::new(key, &id[..])
            })
            .collect();
        let root = self.write_node(None, Kind::Internal, entries);
        self.set_root_from(root);
    }
    // ANCHOR_END: grow_root

    // ANCHOR: insert
    /// Inserts into the subtree at `id`; returns the node or nodes that
    /// replace it (two after a split), and whether the key is new.
    fn insert_into(
        &mut self,
        id: PageId,
        key: &[u8],
        value: &[u8],
        depth: usize,
    ) -> Result<(Vec<NewNode>, bool)> {
        let page = self.pager.read_node(id, depth)?;
        let node = Node::new(&page);
        if node.kind() == Kind::Leaf {
            return Ok(match node.search(key) {
                Ok(i) => {
                    if node.is_overflow(i) {
                        overflow::free(&mut self.pager, node.value(i))?;
                    }
                    let entry = self.leaf_entry(key, value);
                    (self.rewrite(id, &node, i, 1, vec![entry]), false)
                }
                Err(i) => {
                    let entry = self.leaf_entry(key, value);
                    (self.rewrite(id, &node, i, 0, vec![entry]), true)
                }
            });
        }
        let i = node.child_index(key);
        let (children, added) = self.insert_into(node.child(i), key, value, depth + 1)?;
        Ok((self.update_child(id, &node, i, children)?, added))
    }
    // ANCHOR_END: insert

    /// A node that did not change, described for its parent.
    fn same(&self, id: PageId, node: &Node<'_>) -> NewNode {
        NewNode { first_key: Vec::new(), id, used: node.used() }
    }

    /// Writes `node` with `remove` entries at `at` replaced by `insert`:
    /// by [`page::splice`] when the result fits in one page, else through
    /// [`Tree::write_node`], which splits.
    fn rewrite(
        &mut self,
        id: PageId,
        node: &Node<'_>,
        at: usize,
        remove: usize,
        insert: Vec<Entry<'_>>,
    ) -> Vec<NewNode> {
        let page_size = self.pager.page_size();
        if insert.len() <= 1
            && let Some(page) = page::splice(node, at, remove, insert.first(), page_size)
        {
            let used = Node::new(&page).used();
            let new_id = if self.pager.is_fresh(id) { id } else { self.pager.allocate() };
            if new_id != id {
                self.pager.free(id);
            }
            self.pager.write(new_id, page);
            return vec![NewNode { first_key: Vec::new(), id: new_id, used }];
        }
        let mut entries = node.entries();
        entries.splice(at..at + remove, insert);
        self.write_node(Some(id), node.kind(), entries)
    }

    // ANCHOR: write_node
    /// Writes `entries` as one node, or two if they overflow a page; frees
    /// the page they replace (`old`), or overwrites it if this batch
    /// allocated it. Returns the new nodes for the parent.
    fn write_node(
        &mut self,
        old: Option<PageId>,
        kind: Kind,
        mut entries: Vec<Entry<'_>>,
    ) -> Vec<NewNode> {
        let page_size = self.pager.page_size();
        let right = match page::split_point(&entries, page_size) {
            Some(cut) => entries.split_off(cut),
            None => Vec::new(),
        };
        let mut out = Vec::new();
        for (i, mut group) in [entries, right].into_iter().enumerate() {
            if group.is_empty() && i > 0 {
                break;
            }
            let first_key = group.first().map(|e| e.key.to_vec()).unwrap_or_default();
            if kind == Kind::Internal && i > 0 {
                // The right half's first key moves up to the parent.
                group[0].key = Cow::Borrowed(&[]);
            }
            let id = match old {
                Some(old) if i == 0 && self.pager.is_fresh(old) => old,
                _ => self.pager.allocate(),
            };
            self.pager.write(id, page::build(kind, &group, page_size));
            out.push(NewNode { first_key, id, used: page::size(&group) });
        }
        if let Some(old) = old.filter(|&old| old != out[0].id) {
            self.pager.free(old);
        }
        out
    }
    // ANCHOR_END: write_node

    // ANCHOR: delete
    /// Deletes from the subtree at `id`; returns the nodes that replace it,
    /// or `None` if the key is not there (and nothing changed).
    fn delete_from(
        &mut self,
        id: PageId,
        key: &[u8],
        depth: usize,
    ) -> Result<Option<Vec<NewNode>>> {
        let page = self.pager.read_node(id, depth)?;
        let node = Node::new(&page);
        if node.kind() == Kind::Leaf {
            let Ok(i) = node.search(key) else { return Ok(None) };
            if node.is_overflow(i) {
                overflow::free(&mut self.pager, node.value(i))?;
            }
            return Ok(Some(self.rewrite(id, &node, i, 1, Vec::new())));
        }
        let i = node.child_index(key);
        let Some(children) = self.delete_from(node.child(i), key, depth + 1)? else {
            return Ok(None);
        };
        Ok(Some(self.update_child(id, &node, i, children)?))
    }
    // ANCHOR_END: delete

    // ANCHOR: update_child
    /// Puts `children`, the nodes that replace child `i` of the internal
    /// node `node` (page `id`), into it: usually one node (two after a
    /// split). A lone child left under a quarter full, by a delete or by an
    /// overwrite with a smaller value, first merges with a sibling or
    /// borrows from it. Returns the nodes that replace this one.
    fn update_child(
        &mut self,
        id: PageId,
        node: &Node<'_>,
        i: usize,
        children: Vec<NewNode>,
    ) -> Result<Vec<NewNode>> {
        let child = &children[0];
        let underfull = children.len() == 1 && child.used < self.limits.min_fill && node.len() > 1;
        if children.len() == 1 && !underfull && child.id == node.child(i) {
            // The child was rewritten in place: this node is unchanged.
            return Ok(vec![self.same(id, node)]);
        }
        let ids: Vec<[u8; 4]> = children.iter().map(|c| c.id.to_le_bytes()).collect();
        if !underfull {
            // Entry i now points at the new child; a split adds one after it.
            let mut new = vec![Entry::new(node.key(i), &ids[0][..])];
            for (c, id) in children.iter().zip(&ids).skip(1) {
                new.push(Entry::new(&c.first_key[..], &id[..]));
            }
            return Ok(self.rewrite(id, node, i, 1, new));
        }
        // Underfull: merge with a sibling or borrow from it.
        let mut entries = node.entries();
        entries[i].value = Cow::Borrowed(&ids[0]);
        let left = if i > 0 { i - 1 } else { i };
        let fixed = self.rebalance(&entries[left], &entries[left + 1])?;
        entries.splice(left..left + 2, fixed.iter().map(|(k, id)| Entry::new(&k[..], &id[..])));
        if left == 0 {
            entries[0].key = Cow::Borrowed(&[]);
        }
        Ok(self.write_node(Some(id), Kind::Internal, entries))
    }
    // ANCHOR_END: update_child

    // ANCHOR: rebalance
    /// Two neighbouring children, `left` and `right` (entries of their
    /// parent: separator key, child id), one of them underfull. If their
    /// entries fit in one page, they merge; else they are shared out evenly
    /// between two new pages (which borrows from the fuller one). Returns the
    /// parent's new entries for them: one or two.
    fn rebalance(
        &mut self,
        left: &Entry<'_>,
        right: &Entry<'_>,
    ) -> Result<Vec<(Vec<u8>, [u8; 4])>> {
        let child =
            |entry: &Entry<'_>| PageId::from_le_bytes(entry.value[..4].try_into().expect("4"));
        let (left_id, right_id) = (child(left), child(right));
        let left_page = self.pager.read_node(left_id, 0)?;
        let right_page = self.pager.read_node(right_id, 0)?;
        let (left_node, right_node) = (Node::new(&left_page), Node::new(&right_page));
        let kind = left_node.kind();
        if right_node.kind() != kind {
            let why = format!("siblings {left_id} and {right_id} are a leaf and an internal node");
            return Err(Error::corrupt(self.pager.store().path(), 0, why));
        }
        let mut entries = left_node.entries();
        let mut right_entries = right_node.entries();
        if kind == Kind::Internal {
            // The right node's first key is stored empty; its real value is
            // the parent's separator, which comes down into the merged node.
            right_entries[0].key = Cow::Borrowed(&right.key[..]);
        }
        entries.extend(right_entries);
        self.pager.free(right_id);
        let nodes = self.write_node(Some(left_id), kind, entries);
        Ok(nodes
            .into_iter()
            .enumerate()
            .map(|(i, n)| {
                let key = if i == 0 { left.key.to_vec() } else { n.first_key };
                (key, n.id.to_le_bytes())
            })
            .collect())
    }
    // ANCHOR_END: rebalance
}
