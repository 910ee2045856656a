//! Least recently used, in O(1): a hash map from page to a node of a
//! doubly linked list ordered by recency. The list lives in a `Vec` with
//! indexes for links (no `unsafe`, no `Rc<RefCell>`), and freed slots are
//! reused.

// hashbrown's default hasher (foldhash) is several times faster than
// std's SipHash on integer keys, and a page number needs no DoS defence.
use hashbrown::HashMap;

use super::{Access, PageId, Policy};

const NIL: usize = usize::MAX;

#[derive(Debug, Clone, Copy)]
struct Node {
    page: PageId,
    prev: usize,
    next: usize,
}

// ANCHOR: lru
/// Evicts the page used least recently.
#[derive(Debug, Clone)]
pub struct Lru {
    capacity: usize,
    index: HashMap<PageId, usize>,
    nodes: Vec<Node>,
    /// Most recently used.
    head: usize,
    /// Least recently used: the next to go.
    tail: usize,
}
// ANCHOR_END: lru

impl Lru {
    /// An LRU of `capacity` pages (at least 1).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            capacity,
            index: HashMap::with_capacity(capacity),
            nodes: Vec::with_capacity(capacity),
            head: NIL,
            tail: NIL,
        }
    }

    fn unlink(&mut self, i: usize) {
        let Node { prev, next, .. } = self.nodes[i];
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
        let mut pages = Vec::with_capacity(self.index.len());
        let mut at = self.head;
        while at != NIL {
            pages.push(self.nodes[at].page);
            at = self.nodes[at].next;
        }
        pages
    }
}

impl Policy for Lru {
    fn name(&self) -> &'static str {
        "LRU"
    }

    fn contains(&self, page: PageId) -> bool {
        self.index.contains_key(&page)
    }

    // ANCHOR: lru_access
    fn access(&mut self, page: PageId) -> Access {
        if let Some(&i) = self.index.get(&page) {
            // A hit: to the front.
            self.unlink(i);
            self.push_front(i);
            return Access::Hit;
        }
        let mut evicted = None;
        let slot = if self.index.len() == self.capacity {
            // Full: reuse the least recently used page's node.
            let last = self.tail;
            self.unlink(last);
            let old = self.nodes[last].page;
            self.index.remove(&old);
            evicted = Some(old);
            self.nodes[last].page = page;
            last
        } else {
            self.nodes.push(Node { page, prev: NIL, next: NIL });
            self.nodes.len() - 1
        };
        self.push_front(slot);
        self.index.insert(page, slot);
        Access::Miss { evicted }
    }
    // ANCHOR_END: lru_access

    fn len(&self) -> usize {
        self.index.len()
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

    #[test]
    fn hits_move_to_the_front_and_the_back_is_evicted() {
        let mut lru = Lru::new(3);
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
            let mut lru = Lru::new(capacity);
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
