//! A skip list with spans, as Redis builds its sorted sets (`t_zset.c`,
//! after William Pugh, "Skip Lists: A Probabilistic Alternative to Balanced
//! Trees", 1990).
//!
//! Level 0 is a linked list of every element in order, by score, then by
//! member. Each level above links a random subset of the level below: an
//! element reaches level `l + 1` with probability 1/4. A search starts at
//! the top level of the header, runs along while the next element is
//! smaller, and drops a level when it is not, so it skips most of the list
//! on the way down, in O(log n) steps on average, without any rebalancing.
//!
//! Each link also carries its *span*: how many elements it steps over at
//! level 0. Adding the spans walked gives an element's rank, and walking
//! by spans finds the element at a rank, both in O(log n); that is what
//! `ZRANK` and `ZRANGE` by index need, and what a plain skip list (or
//! `BTreeSet`) cannot do without counting.
//!
//! ```text
//! L2  HEAD ----------------------------(6)-----------------------------> f:6 -(0)-> NIL
//! L1  HEAD -(1)-> a:1 ------(2)-------> c:3 ------------(3)------------> f:6 -(0)-> NIL
//! L0  HEAD -(1)-> a:1 -(1)-> b:2 -(1)-> c:3 -(1)-> d:4 -(1)-> e:5 -(1)-> f:6 -(0)-> NIL
//! ```
//!
//! (`ZRANK d`: along L2 no further than HEAD, since f is after d; down to
//! L1, 1 + 2 to c; down to L0, 1 more to d: rank 4, counting from 1.)
//!
//! Nodes live in a vector and link by index, so the list is safe Rust with
//! no `unsafe` and no reference counting; a removed node's slot is reused.
//! Levels come from a seeded generator, so a list built by the same
//! operations has the same shape: the tests and the drawings above are
//! reproducible.

use std::cmp::Ordering;
use std::ops::Bound;

/// The most levels a node can have (Redis: `ZSKIPLIST_MAXLEVEL`, 32).
pub const MAX_LEVEL: usize = 32;

/// The header: a node with every level, before the first element.
const HEAD: usize = 0;

/// A link to nothing.
const NOWHERE: Level = Level { forward: None, span: 0 };

/// One level of a node: the next node at this level, and how many
/// elements of level 0 the link steps over (1 to the next element; for
/// the last link of a level, the elements left after this node).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Level {
    forward: Option<usize>,
    span: usize,
}

/// A node's levels. The first is kept in the node itself, since three
/// nodes in four have no other: a walk along level 0 then reads one place
/// per node, and most nodes need no allocation for their levels.
#[derive(Debug, Clone)]
struct Levels {
    first: Level,
    rest: Vec<Level>,
}

impl Levels {
    fn len(&self) -> usize {
        1 + self.rest.len()
    }
}

impl std::ops::Index<usize> for Levels {
    type Output = Level;

    fn index(&self, i: usize) -> &Level {
        if i == 0 { &self.first } else { &self.rest[i - 1] }
    }
}

impl std::ops::IndexMut<usize> for Levels {
    fn index_mut(&mut self, i: usize) -> &mut Level {
        if i == 0 { &mut self.first } else { &mut self.rest[i - 1] }
    }
}

#[derive(Debug, Clone)]
struct Node {
    member: Vec<u8>,
    /// The previous node at level 0 (`None` for the first): for walking
    /// backwards, as `ZREVRANGE` does.
    backward: Option<usize>,
    levels: Levels,
}

/// A skip list of (score, member) pairs, ordered by score, then member.
/// It does not know which members it holds: a [`SortedSet`](super::SortedSet)
/// keeps a map beside it, and inserts a member only once.
#[derive(Debug, Clone)]
pub struct SkipList {
    /// The nodes; `nodes[HEAD]` is the header.
    nodes: Vec<Node>,
    /// Their scores, apart: a search compares the scores of the nodes it
    /// passes, and 8-byte scores side by side stay in the processor's
    /// caches where whole nodes would not (a node's levels and member are
    /// separate allocations: each one a cache miss to reach).
    scores: Vec<f64>,
    /// Slots of removed nodes, for reuse.
    free: Vec<usize>,
    /// The last node, for walking backwards from the end.
    tail: Option<usize>,
    len: usize,
    /// Levels in use: the highest level of any node (at least 1).
    level: usize,
    /// The state of the generator of levels (SplitMix64).
    seed: u64,
}

impl Default for SkipList {
    fn default() -> Self {
        Self::new(0x5EED)
    }
}

/// Whether `(score, member)` comes before `(other_score, other_member)`.
fn before(score: f64, member: &[u8], other_score: f64, other_member: &[u8]) -> bool {
    score < other_score || (score == other_score && member < other_member)
}

impl SkipList {
    /// An empty list whose levels are drawn from `seed`.
    pub fn new(seed: u64) -> Self {
        let head = Node {
            member: Vec::new(),
            backward: None,
            levels: Levels { first: NOWHERE, rest: vec![NOWHERE; MAX_LEVEL - 1] },
        };
        let scores = vec![0.0];
        Self { nodes: vec![head], scores, free: Vec::new(), tail: None, len: 0, level: 1, seed }
    }

    /// How many elements it holds.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// A level for a new node: 1, then one more with probability 1/4 each
    /// time (Redis's `ZSKIPLIST_P`), so each level holds about a quarter of
    /// the nodes of the one below, and a search takes at most a few steps
    /// on each level before it drops.
    fn random_level(&mut self) -> usize {
        let mut level = 1;
        while level < MAX_LEVEL && self.next_random().is_multiple_of(4) {
            level += 1;
        }
        level
    }

    /// SplitMix64: small, fast, and good enough to pick levels.
    fn next_random(&mut self) -> u64 {
        self.seed = self.seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// The link of node `x` at level `i`.
    fn link(&self, x: usize, i: usize) -> Level {
        self.nodes[x].levels[i]
    }

    /// Whether node `x` comes before `(score, member)`.
    fn node_before(&self, x: usize, score: f64, member: &[u8]) -> bool {
        before(self.scores[x], &self.nodes[x].member, score, member)
    }

    // ANCHOR: insert
    /// Inserts `member` with `score` (not NaN). The member must not be in
    /// the list already: the caller's map knows.
    pub fn insert(&mut self, score: f64, member: Vec<u8>) {
        assert!(!score.is_nan(), "a score is a number");
        // On each level, the last node before the new one (`update`), and
        // its rank (`rank`: elements up to and including it).
        let mut update = [HEAD; MAX_LEVEL];
        let mut rank = [0usize; MAX_LEVEL];
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            rank[i] = if i + 1 == self.level { 0 } else { rank[i + 1] };
            while let Some(next) = self.link(x, i).forward
                && self.node_before(next, score, &member)
            {
                rank[i] += self.link(x, i).span;
                x = next;
            }
            update[i] = x;
        }
        let level = self.random_level();
        if level > self.level {
            // New levels start at the header, whose link steps over all.
            for i in self.level..level {
                update[i] = HEAD;
                rank[i] = 0;
                self.nodes[HEAD].levels[i].span = self.len;
            }
            self.level = level;
        }
        let levels = Levels { first: NOWHERE, rest: Vec::with_capacity(level - 1) };
        let new = self.allocate(Node { member, backward: None, levels }, score);
        self.link_in(new, level, &update, &rank);
        self.nodes[new].backward = (update[0] != HEAD).then_some(update[0]);
        match self.link(new, 0).forward {
            Some(next) => self.nodes[next].backward = Some(new),
            None => self.tail = Some(new),
        }
        self.len += 1;
    }

    /// Links node `new` in on its `level` levels, after `update[i]` on
    /// each (the last node before it; `rank[i]` elements up to and
    /// including that one), splitting the span of each link it cuts; the
    /// links above its levels now step over one more element.
    fn link_in(&mut self, new: usize, level: usize, update: &[usize], rank: &[usize]) {
        // exercise 2.6: begin
        for i in 0..level {
            let cut = self.link(update[i], i);
            // The new node takes over the link, split where it now stands:
            // `rank[0] - rank[i]` elements lie between update[i] and it.
            let link = Level { forward: cut.forward, span: cut.span - (rank[0] - rank[i]) };
            match i {
                0 => self.nodes[new].levels.first = link,
                _ => self.nodes[new].levels.rest.push(link),
            }
            self.nodes[update[i]].levels[i] =
                Level { forward: Some(new), span: rank[0] - rank[i] + 1 };
        }
        // Links above the new node's levels now step over one more.
        #[allow(clippy::needless_range_loop)] // `i` is a level, on both sides
        for i in level..self.level {
            self.nodes[update[i]].levels[i].span += 1;
        }
        // exercise 2.6: end
    }
    // ANCHOR_END: insert

    fn allocate(&mut self, node: Node, score: f64) -> usize {
        match self.free.pop() {
            Some(slot) => {
                self.nodes[slot] = node;
                self.scores[slot] = score;
                slot
            }
            None => {
                self.nodes.push(node);
                self.scores.push(score);
                self.nodes.len() - 1
            }
        }
    }

    /// Removes `member` with `score`; whether it was there.
    pub fn remove(&mut self, score: f64, member: &[u8]) -> bool {
        let mut update = [HEAD; MAX_LEVEL];
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            while let Some(next) = self.link(x, i).forward
                && self.node_before(next, score, member)
            {
                x = next;
            }
            update[i] = x;
        }
        let Some(x) = self.link(x, 0).forward else { return false };
        if self.scores[x] != score || self.nodes[x].member != member {
            return false;
        }
        for (i, &u) in update.iter().enumerate().take(self.level) {
            let link = self.link(u, i);
            self.nodes[u].levels[i] = if link.forward == Some(x) {
                // Bypass x: its link's elements, less x itself.
                let gone = self.link(x, i);
                Level { forward: gone.forward, span: link.span + gone.span - 1 }
            } else {
                Level { forward: link.forward, span: link.span - 1 }
            };
        }
        let backward = self.nodes[x].backward;
        match self.link(x, 0).forward {
            Some(next) => self.nodes[next].backward = backward,
            None => self.tail = backward,
        }
        while self.level > 1 && self.link(HEAD, self.level - 1).forward.is_none() {
            self.level -= 1;
        }
        self.nodes[x].member = Vec::new(); // free the member's bytes now
        self.free.push(x);
        self.len -= 1;
        true
    }

    // ANCHOR: rank
    /// The rank (from 0) of `member` with `score`, if it is in the list:
    /// the spans walked to reach it, less one.
    pub fn rank(&self, score: f64, member: &[u8]) -> Option<usize> {
        // exercise 2.5: begin
        let mut rank = 0;
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            while let Some(next) = self.link(x, i).forward
                && !before(score, member, self.scores[next], &self.nodes[next].member)
            {
                rank += self.link(x, i).span;
                x = next;
            }
            // x is now the last node not after (score, member).
            if x != HEAD && self.scores[x] == score && self.nodes[x].member == member {
                return Some(rank - 1);
            }
        }
        None
        // exercise 2.5: end
    }
    // ANCHOR_END: rank

    /// The node at `rank` (from 0), by walking spans.
    fn node_at(&self, rank: usize) -> Option<usize> {
        if rank >= self.len {
            return None;
        }
        let target = rank + 1;
        let mut traversed = 0;
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            while let Some(next) = self.link(x, i).forward
                && traversed + self.link(x, i).span <= target
            {
                traversed += self.link(x, i).span;
                x = next;
            }
            if traversed == target {
                return Some(x);
            }
        }
        unreachable!("spans add up to every rank below the length")
    }

    /// The element at `rank` (from 0).
    pub fn get(&self, rank: usize) -> Option<(&[u8], f64)> {
        self.node_at(rank).map(|x| self.element(x))
    }

    fn element(&self, x: usize) -> (&[u8], f64) {
        (&self.nodes[x].member, self.scores[x])
    }

    /// The elements of ranks `start..=stop` (from 0; `stop` past the end
    /// is the end), in order, or from `stop` down to `start` if `reverse`.
    pub fn range_by_rank(&self, start: usize, stop: usize, reverse: bool) -> Vec<(&[u8], f64)> {
        let stop = stop.min(self.len.saturating_sub(1));
        if start > stop || self.len == 0 {
            return Vec::new();
        }
        let first = if reverse { stop } else { start };
        let mut out = Vec::with_capacity(stop - start + 1);
        let mut x = self.node_at(first);
        while let Some(node) = x
            && out.len() <= stop - start
        {
            out.push(self.element(node));
            x = if reverse { self.nodes[node].backward } else { self.link(node, 0).forward };
        }
        out
    }

    // ANCHOR: range_by_score
    /// The elements whose scores lie within `min` and `max`, in order (or
    /// in reverse), skipping `offset` of them and taking at most `count`.
    pub fn range_by_score(
        &self,
        min: Bound<f64>,
        max: Bound<f64>,
        reverse: bool,
        offset: usize,
        count: usize,
    ) -> Vec<(&[u8], f64)> {
        let above_min = |s: f64| match min {
            Bound::Included(m) => s >= m,
            Bound::Excluded(m) => s > m,
            Bound::Unbounded => true,
        };
        let below_max = |s: f64| match max {
            Bound::Included(m) => s <= m,
            Bound::Excluded(m) => s < m,
            Bound::Unbounded => true,
        };
        // Down the levels to the last node outside the range on the side
        // the walk starts from; its next node (or itself, in reverse) is
        // the first candidate.
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            while let Some(next) = self.link(x, i).forward {
                let score = self.scores[next];
                let keep_going = if reverse { below_max(score) } else { !above_min(score) };
                if !keep_going {
                    break;
                }
                x = next;
            }
        }
        let mut node = if reverse { (x != HEAD).then_some(x) } else { self.link(x, 0).forward };
        let mut out = Vec::new();
        let mut skipped = 0;
        while let Some(n) = node
            && out.len() < count
        {
            let score = self.scores[n];
            if !(above_min(score) && below_max(score)) {
                break;
            }
            if skipped < offset {
                skipped += 1;
            } else {
                out.push(self.element(n));
            }
            node = if reverse { self.nodes[n].backward } else { self.link(n, 0).forward };
        }
        out
    }
    // ANCHOR_END: range_by_score

    /// Every element, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], f64)> {
        let mut x = self.link(HEAD, 0).forward;
        std::iter::from_fn(move || {
            let node = x?;
            x = self.link(node, 0).forward;
            Some(self.element(node))
        })
    }

    // ANCHOR: check
    /// Checks every invariant: level 0 in strict order with backward links
    /// and the tail that match; every level a sub-list of the one below;
    /// every span the distance in ranks it claims; the levels in use as
    /// high as the highest node. Returns the first broken one.
    pub fn check(&self) -> Result<(), String> {
        // Level 0: the order, the ranks, the backward links.
        let mut rank_of = vec![None; self.nodes.len()];
        rank_of[HEAD] = Some(0);
        let (mut previous, mut x, mut rank) = (None, self.link(HEAD, 0).forward, 0);
        while let Some(node) = x {
            rank += 1;
            if rank > self.len {
                return Err(format!("more than {} nodes at level 0", self.len));
            }
            if self.nodes[node].backward != previous {
                return Err(format!("node at rank {rank} links back wrongly"));
            }
            if let Some(p) = previous
                && !before(
                    self.scores[p],
                    &self.nodes[p].member,
                    self.scores[node],
                    &self.nodes[node].member,
                )
            {
                return Err(format!("rank {rank} is not after rank {}", rank - 1));
            }
            let height = self.nodes[node].levels.len();
            if height == 0 || height > self.level {
                return Err(format!("rank {rank} has {height} levels of {}", self.level));
            }
            rank_of[node] = Some(rank);
            previous = Some(node);
            x = self.link(node, 0).forward;
        }
        if rank != self.len || self.tail != previous {
            return Err(format!("{rank} nodes for a length of {}, or a wrong tail", self.len));
        }
        // Every level: in order (ranks grow), each span the rank distance,
        // and every node as high as the level on it.
        for i in 0..self.level {
            let tall = rank_of
                .iter()
                .enumerate()
                .filter(|&(x, r)| x != HEAD && r.is_some() && self.nodes[x].levels.len() > i)
                .count();
            let mut reached = 0;
            let mut x = HEAD;
            loop {
                let link = self.link(x, i);
                let here = rank_of[x].expect("on level 0");
                let distance = match link.forward {
                    Some(next) => match rank_of[next] {
                        Some(there) if there > here && self.nodes[next].levels.len() > i => {
                            there - here
                        }
                        _ => return Err(format!("level {i}: a link from rank {here} goes astray")),
                    },
                    None => self.len - here,
                };
                if link.span != distance {
                    return Err(format!(
                        "level {i}: the span from rank {here} is {}, not {distance}",
                        link.span
                    ));
                }
                match link.forward {
                    Some(next) => {
                        x = next;
                        reached += 1;
                    }
                    None => break,
                }
            }
            if reached != tall {
                return Err(format!("level {i} links {reached} of its {tall} nodes"));
            }
        }
        if self.level > 1 && self.link(HEAD, self.level - 1).forward.is_none() {
            return Err(format!("level {} is in use but empty", self.level - 1));
        }
        Ok(())
    }
    // ANCHOR_END: check

    /// The list drawn as text, a row per level from the top, each link
    /// with its span: the drawing in this module's documentation.
    pub fn draw(&self) -> String {
        let label = |x: usize| {
            format!("{}:{}", String::from_utf8_lossy(&self.nodes[x].member), self.scores[x])
        };
        // Columns from level 0, where every node is: HEAD, the nodes, NIL.
        let mut order = vec![HEAD];
        order.extend(std::iter::successors(self.link(HEAD, 0).forward, |&x| {
            self.link(x, 0).forward
        }));
        let mut labels: Vec<String> = order.iter().map(|&x| label(x)).collect();
        labels[0] = "HEAD".into();
        const ARROW: usize = " -(1)-> ".len();
        let mut columns = Vec::with_capacity(order.len() + 1);
        let mut at = "L0  ".len();
        for text in &labels {
            columns.push(at);
            at += text.len() + ARROW;
        }
        columns.push(at); // NIL
        let mut rows = Vec::new();
        for i in (0..self.level).rev() {
            let mut row = format!("{:<4}HEAD", format!("L{i}"));
            let mut k = 0; // where the row is, in `order`
            loop {
                let link = self.link(order[k], i);
                let to = link.forward.map_or(order.len(), |next| {
                    order.iter().position(|&x| x == next).expect("a node")
                });
                let gap = columns[to] - row.len();
                let span = format!("({})", link.span);
                let dashes = gap - span.len() - 3; // " " before, "> " after
                let left = dashes / 2;
                row.push(' ');
                row.push_str(&"-".repeat(left));
                row.push_str(&span);
                row.push_str(&"-".repeat(dashes - left));
                row.push_str("> ");
                if to == order.len() {
                    row.push_str("NIL");
                    break;
                }
                row.push_str(&labels[to]);
                k = to;
            }
            rows.push(row);
        }
        rows.join("\n")
    }
}

impl PartialEq for SkipList {
    /// Two lists are equal if they hold the same elements, whatever their
    /// shape.
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len
            && self
                .iter()
                .zip(other.iter())
                .all(|(a, b)| a.0 == b.0 && a.1.total_cmp(&b.1) == Ordering::Equal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(elements: &[(&str, f64)]) -> SkipList {
        let mut list = SkipList::new(7);
        for (member, score) in elements {
            list.insert(*score, member.as_bytes().to_vec());
            list.check().unwrap();
        }
        list
    }

    #[test]
    fn ranks_and_ranges_follow_score_then_member() {
        let list = list(&[("c", 3.0), ("a", 1.0), ("e", 5.0), ("b", 2.0), ("d", 4.0), ("bb", 2.0)]);
        let members: Vec<&[u8]> = list.iter().map(|(m, _)| m).collect();
        assert_eq!(members, [&b"a"[..], b"b", b"bb", b"c", b"d", b"e"]);
        assert_eq!(list.rank(2.0, b"bb"), Some(2));
        assert_eq!(list.rank(2.0, b"zz"), None);
        assert_eq!(list.get(5), Some((&b"e"[..], 5.0)));
        assert_eq!(list.get(6), None);
        let middle = list.range_by_score(Bound::Excluded(2.0), Bound::Included(4.0), false, 0, 9);
        assert_eq!(middle, [(&b"c"[..], 3.0), (&b"d"[..], 4.0)]);
        let back = list.range_by_score(Bound::Unbounded, Bound::Excluded(3.0), true, 1, 2);
        assert_eq!(back, [(&b"b"[..], 2.0), (&b"a"[..], 1.0)]);
        assert_eq!(list.range_by_rank(4, 99, true), [(&b"e"[..], 5.0), (&b"d"[..], 4.0)]);
    }

    #[test]
    fn removing_keeps_the_spans_and_reuses_slots() {
        let mut list = list(&[("a", 1.0), ("b", 2.0), ("c", 3.0)]);
        assert!(!list.remove(2.0, b"a"), "a is at 1, not 2");
        assert!(list.remove(2.0, b"b"));
        list.check().unwrap();
        assert_eq!(list.rank(3.0, b"c"), Some(1));
        list.insert(0.5, b"z".to_vec());
        list.check().unwrap();
        assert_eq!(list.nodes.len(), 4, "b's slot was reused");
        assert_eq!(list.rank(3.0, b"c"), Some(2));
    }

    #[test]
    fn the_checker_catches_a_node_skipped_on_its_level() {
        let mut list = SkipList::new(7);
        for n in 0..50u8 {
            list.insert(f64::from(n), vec![n]);
        }
        assert!(list.level >= 2, "50 elements reach level 1");
        // Link the header past the first node of level 1, spans kept right:
        // only the count of nodes on the level can tell.
        let x = list.link(HEAD, 1).forward.unwrap();
        let (head, skipped) = (list.link(HEAD, 1), list.link(x, 1));
        list.nodes[HEAD].levels[1] =
            Level { forward: skipped.forward, span: head.span + skipped.span };
        assert!(list.check().unwrap_err().contains("links"));
    }

    #[test]
    fn the_checker_catches_a_wrong_span() {
        let mut list = list(&[("a", 1.0), ("b", 2.0), ("c", 3.0), ("d", 4.0)]);
        list.nodes[HEAD].levels[0].span = 2;
        assert!(list.check().unwrap_err().contains("span"));
    }
}
