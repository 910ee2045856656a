//! Least recently used, in O(1): a table from page to a node of a
//! doubly linked list ordered by recency. The list lives in a `Vec` with
//! indexes for links (no `unsafe`, no `Rc<RefCell>`); a node is a slot,
//! holding its page's value, and the slot of an evicted page is reused.

use super::table::PageTable;
use super::{PageId, Policy};

const NIL: usize = usize::MAX;

#[derive(Debug, Clone)]
struct Node<V> {
    page: PageId,
    prev: usize,
    next: usize,
    value: V,
}

// ANCHOR: lru
/// Evicts the page used least recently.
#[derive(Debug, Clone)]
pub struct Lru<V> {
    capacity: usize,
    index: PageTable,
    nodes: Vec<Node<V>>,
    /// Most recently used.
    head: usize,
    /// Least recently used: the next to go.
    tail: usize,
}
// ANCHOR_END: lru

impl<V> Lru<V> {
    /// An LRU of `capacity` pages (at least 1).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            capacity,
            index: PageTable::default(),
            nodes: Vec::with_capacity(capacity),
            head: NIL,
            tail: NIL,
        }
    }

    fn unlink(&mut self, i: usize) {
        let (prev, next) = (self.nodes[i].prev, self.nodes[i].next);
        if prev == NIL {
            self.head = next;
        } else {
            self.nodes[prev].next = next;
        }
        if next == NIL {
            self.tail = prev;
        } else {
            self.nodes[next].prev = prev;
        }
    }

    fn push_front(&mut self, i: usize) {
        self.nodes[i].prev = NIL;
        self.nodes[i].next = self.head;
        if self.head == NIL {
            self.tail = i;
        } else {
            self.nodes[self.head].prev = i;
        }
        self.head = i;
    }

    /// The pages from most to least recently used, for tests.
    pub fn order(&self) -> Vec<PageId> {
        let mut pages = Vec::with_capacity(self.nodes.len());
        let mut at = self.head;
        while at != NIL {
            pages.push(self.nodes[at].page);
            at = self.nodes[at].next;
        }
        pages
    }
}

impl<V> Policy<V> for Lru<V> {
    fn name(&self) -> &'static str {
        "LRU"
    }

    fn contains(&self, page: PageId) -> bool {
        self.index.contains(page)
    }

    // ANCHOR: lru_access
    fn lookup(&mut self, page: PageId) -> Option<usize> {
        // A hit: to the front.
        let i = self.index.get(page)?;
        self.unlink(i);
        self.push_front(i);
        Some(i)
    }

    fn insert(&mut self, page: PageId, value: V) -> (usize, Option<PageId>) {
        if self.nodes.len() < self.capacity {
            self.nodes.push(Node { page, prev: NIL, next: NIL, value });
            let slot = self.nodes.len() - 1;
            self.push_front(slot);
            self.index.insert(page, slot);
            return (slot, None);
        }
        // Full: the least recently used page leaves, and its slot is reused.
        // exercise 6.1: begin
        let slot = self.tail;
        self.unlink(slot);
        let old = std::mem::replace(&mut self.nodes[slot].page, page);
        self.index.remove(old);
        self.nodes[slot].value = value;
        self.push_front(slot);
        self.index.insert(page, slot);
        (slot, Some(old))
        // exercise 6.1: end
    }
    // ANCHOR_END: lru_access

    fn slot(&self, page: PageId) -> Option<usize> {
        self.index.get(page)
    }

    fn value(&self, slot: usize) -> &V {
        &self.nodes[slot].value
    }

    fn replace(&mut self, slot: usize, value: V) {
        self.nodes[slot].value = value;
    }

    fn len(&self) -> usize {
        self.nodes.len()
    }

    fn capacity(&self) -> usize {
        self.capacity
    }

    fn clear(&mut self) {
        *self = Self::new(self.capacity);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::Access;

    #[test]
    fn hits_move_to_the_front_and_the_back_is_evicted() {
        let mut lru: Lru<()> = Lru::new(3);
        for page in [1, 2, 3] {
            assert_eq!(lru.access(page), Access::Miss { evicted: None });
        }
        assert_eq!(lru.access(1), Access::Hit);
        assert_eq!(lru.order(), [1, 3, 2]);
        assert_eq!(lru.access(4), Access::Miss { evicted: Some(2) });
        assert_eq!(lru.order(), [4, 1, 3]);
        assert!(!lru.contains(2) && lru.contains(3));
    }

    proptest::proptest! {
        /// Against the obvious O(n) model: a vector in recency order.
        #[test]
        fn behaves_like_a_list_in_recency_order(
            capacity in 1usize..8,
            trace in proptest::collection::vec(0u64..12, 0..200),
        ) {
            let mut lru: Lru<()> = Lru::new(capacity);
            let mut model: Vec<PageId> = Vec::new();
            for page in trace {
                let expected = match model.iter().position(|&p| p == page) {
                    Some(i) => {
                        model.remove(i);
                        Access::Hit
                    }
                    None if model.len() == capacity => Access::Miss { evicted: model.pop() },
                    None => Access::Miss { evicted: None },
                };
                model.insert(0, page);
                proptest::prop_assert_eq!(lru.access(page), expected);
                proptest::prop_assert_eq!(lru.order(), model.clone());
            }
        }
    }
}
