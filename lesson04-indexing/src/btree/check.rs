//! The invariant checker, and the tree drawn as text.
//!
//! [`check`] walks the whole committed tree and the free list and proves
//! what the algorithms promise, so that a property test can run it after
//! every step and fail at the first step that breaks one:
//!
//! - every page is a well-formed node; keys are in order within a node,
//!   and within the range its parent's separators give it;
//! - an internal node's first key is empty; the root, if internal, has at
//!   least two children; every other node is at least `min_fill` full;
//! - every leaf is at the same depth;
//! - no page is reachable twice (overflow chains included); the key count
//!   matches the meta page;
//! - the reachable pages, the free pages, the free list's own pages and the
//!   two meta pages are disjoint and together make up the whole file:
//!   nothing leaks.

use std::collections::HashSet;
use std::fmt::Write;

use crate::btree::PageId;
use crate::btree::overflow;
use crate::btree::page::{self, Kind, Node};
use crate::btree::store::PageStore;
use crate::btree::tree::Tree;
use crate::error::Result;

/// The shape of a tree, as the checker measured it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TreeStats {
    /// Keys.
    pub keys: u64,
    /// Levels: 0 for an empty tree, 1 for a lone leaf.
    pub height: usize,
    /// Leaf pages.
    pub leaves: usize,
    /// Internal pages.
    pub internal: usize,
    /// Overflow pages (big values).
    pub overflow: usize,
    /// Free pages (reusable now or after the next commit).
    pub free: usize,
    /// Pages in the file, meta pages and free-list pages included.
    pub pages: u32,
    /// Bytes used in tree pages over bytes in them, in percent.
    pub fill_percent: f64,
    /// What each page of the file is: "meta", "tree" (nodes and overflow
    /// pages), "free" or "free list".
    pub page_use: Vec<&'static str>,
}

struct Walk {
    seen: HashSet<PageId>,
    leaf_depth: Option<usize>,
    stats: TreeStats,
    used_bytes: usize,
}

// ANCHOR: check
/// Checks every invariant of the committed tree; returns its statistics,
/// or the first broken invariant.
pub fn check<S: PageStore>(tree: &mut Tree<S>) -> std::result::Result<TreeStats, String> {
    let meta = tree.pager.committed();
    let mut walk =
        Walk { seen: HashSet::new(), leaf_depth: None, stats: TreeStats::default(), used_bytes: 0 };
    if let Some(root) = meta.root {
        check_node(tree, root, None, None, 0, &mut walk)?;
    }
    let mut stats = walk.stats;
    stats.height = walk.leaf_depth.map_or(0, |d| d + 1);
    if stats.keys != meta.len {
        return Err(format!(
            "the meta page counts {} keys, the tree holds {}",
            meta.len, stats.keys
        ));
    }
    let mut owner = vec![None; meta.page_count as usize];
    let mut claim = |page: PageId, what: &'static str| -> std::result::Result<(), String> {
        match owner.get_mut(page as usize) {
            None => Err(format!("{what} page {page} is past the end of the file")),
            Some(Some(other)) => {
                Err(format!("page {page} is both a {other} page and a {what} page"))
            }
            Some(slot) => {
                *slot = Some(what);
                Ok(())
            }
        }
    };
    claim(0, "meta")?;
    claim(1, "meta")?;
    for &page in &walk.seen {
        claim(page, "tree")?;
    }
    for free in tree.pager.free_pages() {
        claim(free.page, "free")?;
    }
    for &page in tree.pager.free_list_chain() {
        claim(page, "free list")?;
    }
    stats.page_use = owner.iter().map(|o| o.unwrap_or("leaked")).collect();
    if let Some(leaked) = owner.iter().position(Option::is_none) {
        return Err(format!("page {leaked} is neither in the tree nor free: it leaked"));
    }
    stats.free = tree.pager.free_pages().len();
    stats.pages = meta.page_count;
    let tree_pages = stats.leaves + stats.internal;
    if tree_pages > 0 {
        stats.fill_percent =
            100.0 * walk.used_bytes as f64 / (tree_pages * tree.pager.page_size()) as f64;
    }
    Ok(stats)
}
// ANCHOR_END: check

/// Checks the subtree at `id`, whose keys must lie in `[low, high)`.
fn check_node<S: PageStore>(
    tree: &mut Tree<S>,
    id: PageId,
    low: Option<&[u8]>,
    high: Option<&[u8]>,
    depth: usize,
    walk: &mut Walk,
) -> std::result::Result<(), String> {
    if !walk.seen.insert(id) {
        return Err(format!("page {id} is reachable twice"));
    }
    let page = tree.pager.read(id).map_err(|e| e.to_string())?;
    let kind = page::validate(&page).map_err(|why| format!("page {id}: {why}"))?;
    if matches!(kind, Kind::FreeList | Kind::Overflow) {
        return Err(format!("page {id}, a child in the tree, is not a node"));
    }
    let node = Node::new(&page);
    let is_root = depth == 0;
    if !is_root && node.used() < tree.limits.min_fill {
        return Err(format!(
            "page {id} is underfull: {} bytes, the minimum is {}",
            node.used(),
            tree.limits.min_fill
        ));
    }
    walk.used_bytes += node.used();
    let in_range = |key: &[u8]| low.is_none_or(|l| key >= l) && high.is_none_or(|h| key < h);
    match kind {
        Kind::Leaf => {
            walk.stats.leaves += 1;
            walk.stats.keys += node.len() as u64;
            if !is_root && node.is_empty() {
                return Err(format!("leaf {id} is empty"));
            }
            if let Some(i) = (0..node.len()).find(|&i| !in_range(node.key(i))) {
                return Err(format!(
                    "leaf {id}: key {:?} is outside its parent's range",
                    String::from_utf8_lossy(node.key(i))
                ));
            }
            for i in (0..node.len()).filter(|&i| node.is_overflow(i)) {
                let chain =
                    overflow::pages(&mut tree.pager, node.value(i)).map_err(|e| e.to_string())?;
                for page in chain {
                    if !walk.seen.insert(page) {
                        return Err(format!("overflow page {page} is reachable twice"));
                    }
                    walk.stats.overflow += 1;
                }
            }
            match walk.leaf_depth {
                None => walk.leaf_depth = Some(depth),
                Some(d) if d != depth => {
                    return Err(format!("leaf {id} is at depth {depth}, another at depth {d}"));
                }
                Some(_) => {}
            }
        }
        Kind::Internal => {
            walk.stats.internal += 1;
            if !node.key(0).is_empty() {
                return Err(format!("internal node {id}: its first key is not empty"));
            }
            if is_root && node.len() < 2 {
                return Err(format!("the root {id} has a single child"));
            }
            if let Some(i) = (1..node.len()).find(|&i| !in_range(node.key(i))) {
                return Err(format!("internal node {id}: separator {i} is outside its range"));
            }
            for i in 0..node.len() {
                let child_low = if i == 0 { low } else { Some(node.key(i)) };
                let child_high = if i + 1 < node.len() { Some(node.key(i + 1)) } else { high };
                check_node(tree, node.child(i), child_low, child_high, depth + 1, walk)?;
            }
        }
        Kind::FreeList | Kind::Overflow => unreachable!("refused above"),
    }
    Ok(())
}

// ANCHOR: dump
/// The tree drawn as text, one node per line, children indented under
/// their parent: page number, kind, fill, and the keys (an internal node's
/// first key, which is never compared, shows as `_`).
///
/// ```text
/// page 7: internal, 41% full: _ "d" "h"
///   page 3: leaf, 62% full: "a" "b" "c"
/// ```
pub fn dump<S: PageStore>(tree: &mut Tree<S>) -> Result<String> {
    let mut out = String::new();
    match tree.pager.root() {
        None => out.push_str("(empty tree)\n"),
        Some(root) => dump_node(tree, root, 0, &mut out)?,
    }
    Ok(out)
}

fn dump_node<S: PageStore>(
    tree: &mut Tree<S>,
    id: PageId,
    depth: usize,
    out: &mut String,
) -> Result<()> {
    let page = tree.pager.read_node(id, depth)?;
    let node = Node::new(&page);
    let fill = 100 * node.used() / tree.pager.page_size();
    let kind = match node.kind() {
        Kind::Leaf => "leaf",
        _ => "internal",
    };
    write!(out, "{:indent$}page {id}: {kind}, {fill}% full:", "", indent = 2 * depth)
        .expect("to a String");
    for i in 0..node.len() {
        if node.kind() == Kind::Internal && i == 0 {
            out.push_str(" _");
        } else {
            write!(out, " {}", quote(node.key(i))).expect("to a String");
        }
    }
    out.push('\n');
    if node.kind() == Kind::Internal {
        for i in 0..node.len() {
            dump_node(tree, node.child(i), depth + 1, out)?;
        }
    }
    Ok(())
}
// ANCHOR_END: dump

/// A key in double quotes, non-printable bytes as `\xNN`.
fn quote(key: &[u8]) -> String {
    let mut out = String::from("\"");
    for &b in key {
        match b {
            b'"' | b'\\' => write!(out, "\\{}", b as char).expect("to a String"),
            0x20..=0x7e => out.push(b as char),
            _ => write!(out, "\\x{b:02x}").expect("to a String"),
        }
    }
    out.push('"');
    out
}
