//! A B+tree node is one page of bytes, read in place.
//!
//! Every node, leaf or internal, has the same layout: a header, an array
//! of offsets, then the entries packed one after another, in key order.
//!
//! ```text
//!   byte 0      1      2          4               8
//!        ┌──────┬──────┬──────────┬───────────────┬──────────────────────────┐
//!        │ kind │  0   │ count: n │ checksum (u32)│ offsets: n × u16          │
//!        └──────┴──────┴──────────┴───────────────┴──────────────────────────┘
//!   8 + 2n┌──────────┬──────────┬───────┬─────────┬──────────┬──────────┬────
//!         │ klen u16 │ vlen u16 │ key … │ value … │ klen u16 │ vlen u16 │ …   free
//!         └──────────┴──────────┴───────┴─────────┴──────────┴──────────┴────
//!           entry 0 starts at offsets[0]             entry 1 at offsets[1]
//! ```
//!
//! - A **leaf** (kind 1) holds keys and their values. A value too big to
//!   sit in the leaf lives in a chain of *overflow pages* (kind 4); the leaf
//!   holds its length and first page instead (8 bytes), and the top bit of
//!   `vlen` says so.
//! - An **internal** node (kind 2) holds separator keys and child page ids:
//!   each entry's "value" is a 4-byte little-endian [`PageId`]. Entry `i`
//!   points at the subtree of keys `>= key[i]` and `< key[i + 1]`. The first
//!   entry's key is never compared (everything below the node is `>=` it), so
//!   it is stored empty.
//!
//! The offsets array makes the entries *randomly addressable*: entry `i` is
//! at `offsets[i]`, whatever the sizes of the entries before it. So a lookup
//! binary-searches the page as it lies in memory, comparing the key with
//! `log2(n)` keys, without decoding the page into `Vec`s first.
//!
//! All integers are little-endian. The checksum covers the whole page but
//! itself; the pager fills it in when it commits a page, and the file store
//! checks it when it reads one from disk (the memory store has no disk to
//! damage its pages, and does not check).
//!
//! Pages are immutable once built: a change builds a new page from the old
//! one's entries ([`build`]), which is what copy-on-write needs anyway.

use std::borrow::Cow;

use crate::btree::PageId;

/// Bytes of header before the offsets array.
pub const HEADER_LEN: usize = 8;

/// Bytes an entry costs besides its key and value: its offset slot (2) and
/// its two length fields (2 + 2).
pub const ENTRY_OVERHEAD: usize = 6;

/// What a page holds, from its first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Keys and values.
    Leaf = 1,
    /// Separator keys and child page ids.
    Internal = 2,
    /// Part of the persisted free list (see [`crate::btree::pager`]).
    FreeList = 3,
    /// Part of a big value (see [`crate::btree::overflow`]).
    Overflow = 4,
}

impl Kind {
    /// The kind a page's first byte names, if any.
    pub fn from_byte(byte: u8) -> Option<Kind> {
        match byte {
            1 => Some(Kind::Leaf),
            2 => Some(Kind::Internal),
            3 => Some(Kind::FreeList),
            4 => Some(Kind::Overflow),
            _ => None,
        }
    }
}

/// The top bit of an entry's `vlen`: the value is a reference to
/// overflow pages, not the value itself.
pub const OVERFLOW_FLAG: u16 = 0x8000;

/// One key and value (or child id) on its way into a new page: borrowed
/// from an old page where possible, owned where new.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry<'a> {
    /// The key (in an internal node, the separator).
    pub key: Cow<'a, [u8]>,
    /// The value, a child id, or an overflow reference.
    pub value: Cow<'a, [u8]>,
    /// Whether `value` is an overflow reference.
    pub overflow: bool,
}

impl<'a> Entry<'a> {
    /// An entry with an inline value, or a child id.
    pub fn new(key: impl Into<Cow<'a, [u8]>>, value: impl Into<Cow<'a, [u8]>>) -> Self {
        Self { key: key.into(), value: value.into(), overflow: false }
    }

    /// Bytes it takes in a page, overhead included.
    pub fn size(&self) -> usize {
        ENTRY_OVERHEAD + self.key.len() + self.value.len()
    }
}

// ANCHOR: node
/// A node: a view of a page's bytes, read in place.
#[derive(Clone, Copy)]
pub struct Node<'a> {
    bytes: &'a [u8],
}

impl<'a> Node<'a> {
    /// Views `page` as a node. The page must be a valid leaf or internal
    /// node ([`validate`] checks pages that come from disk).
    pub fn new(page: &'a [u8]) -> Self {
        Self { bytes: page }
    }

    /// Leaf or internal.
    pub fn kind(&self) -> Kind {
        match self.bytes[0] {
            1 => Kind::Leaf,
            _ => Kind::Internal,
        }
    }

    /// How many entries it holds.
    pub fn len(&self) -> usize {
        u16_at(self.bytes, 2) as usize
    }

    /// Whether it holds no entries (only an empty root leaf does).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Where entry `i` starts.
    fn offset(&self, i: usize) -> usize {
        u16_at(self.bytes, HEADER_LEN + 2 * i) as usize
    }

    /// Entry `i`'s key.
    pub fn key(&self, i: usize) -> &'a [u8] {
        let at = self.offset(i);
        let klen = u16_at(self.bytes, at) as usize;
        &self.bytes[at + 4..at + 4 + klen]
    }

    /// Entry `i`'s value bytes: the value, a child id's bytes (internal
    /// node), or an overflow reference (see [`Node::is_overflow`]).
    pub fn value(&self, i: usize) -> &'a [u8] {
        let at = self.offset(i);
        let klen = u16_at(self.bytes, at) as usize;
        let vlen = (u16_at(self.bytes, at + 2) & !OVERFLOW_FLAG) as usize;
        &self.bytes[at + 4 + klen..at + 4 + klen + vlen]
    }

    /// Whether entry `i`'s value lives in overflow pages.
    pub fn is_overflow(&self, i: usize) -> bool {
        u16_at(self.bytes, self.offset(i) + 2) & OVERFLOW_FLAG != 0
    }

    /// Entry `i`'s child page, in an internal node.
    pub fn child(&self, i: usize) -> PageId {
        let value = self.value(i);
        PageId::from_le_bytes([value[0], value[1], value[2], value[3]])
    }

    /// Binary search for `key`, in place: `Ok(i)` if entry `i` holds it,
    /// `Err(i)` for where it would go.
    pub fn search(&self, key: &[u8]) -> Result<usize, usize> {
        // exercise 4.1: begin
        let (mut low, mut high) = (0, self.len());
        while low < high {
            let mid = low + (high - low) / 2;
            match self.key(mid).cmp(key) {
                std::cmp::Ordering::Less => low = mid + 1,
                std::cmp::Ordering::Greater => high = mid,
                std::cmp::Ordering::Equal => return Ok(mid),
            }
        }
        Err(low)
        // exercise 4.1: end
    }

    /// In an internal node: the entry whose subtree holds `key`, the last
    /// one whose key is `<=` it. The first key is empty, and the empty key
    /// is `<=` every key, so there always is one.
    pub fn child_index(&self, key: &[u8]) -> usize {
        match self.search(key) {
            Ok(i) => i,
            // Only a node whose first key is not empty could give Err(0);
            // `validate` refuses such a node.
            Err(i) => i.saturating_sub(1),
        }
    }
    // ANCHOR_END: node

    /// Entry `i`, borrowed, ready to go into a new page.
    pub fn entry(&self, i: usize) -> Entry<'a> {
        Entry {
            key: Cow::Borrowed(self.key(i)),
            value: Cow::Borrowed(self.value(i)),
            overflow: self.is_overflow(i),
        }
    }

    /// The entries, borrowed, ready to go into a new page.
    pub fn entries(&self) -> Vec<Entry<'a>> {
        (0..self.len()).map(|i| self.entry(i)).collect()
    }

    /// Bytes the entries take, headers and offsets included (the page's
    /// fill, as [`size`] counts it). Entries are packed one after another,
    /// so that is where the last one ends: O(1).
    pub fn used(&self) -> usize {
        match self.len() {
            0 => HEADER_LEN,
            n => {
                let at = self.offset(n - 1);
                let klen = u16_at(self.bytes, at) as usize;
                let vlen = (u16_at(self.bytes, at + 2) & !OVERFLOW_FLAG) as usize;
                at + 4 + klen + vlen
            }
        }
    }
}

fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([bytes[at], bytes[at + 1]])
}

/// Bytes a page holding `entries` needs.
pub fn size(entries: &[Entry<'_>]) -> usize {
    HEADER_LEN + entries.iter().map(Entry::size).sum::<usize>()
}

// ANCHOR: build
/// Builds a page of `page_size` bytes holding `entries`, which must be in
/// key order and fit (`size(entries) <= page_size`).
pub fn build(kind: Kind, entries: &[Entry<'_>], page_size: usize) -> Vec<u8> {
    debug_assert!(size(entries) <= page_size, "entries overflow the page");
    let mut page = vec![0; page_size];
    page[0] = kind as u8;
    page[2..4].copy_from_slice(&(entries.len() as u16).to_le_bytes());
    let mut at = HEADER_LEN + 2 * entries.len();
    for (i, entry) in entries.iter().enumerate() {
        page[HEADER_LEN + 2 * i..HEADER_LEN + 2 * i + 2]
            .copy_from_slice(&(at as u16).to_le_bytes());
        at = put_entry(&mut page, at, entry);
    }
    page
}

/// Writes `entry` (lengths, key, value) at byte `at` of `page`; returns
/// where it ends.
fn put_entry(page: &mut [u8], at: usize, Entry { key, value, overflow }: &Entry<'_>) -> usize {
    page[at..at + 2].copy_from_slice(&(key.len() as u16).to_le_bytes());
    let vlen = value.len() as u16 | if *overflow { OVERFLOW_FLAG } else { 0 };
    page[at + 2..at + 4].copy_from_slice(&vlen.to_le_bytes());
    let at = at + 4;
    page[at..at + key.len()].copy_from_slice(key);
    let at = at + key.len();
    page[at..at + value.len()].copy_from_slice(value);
    at + value.len()
}
// ANCHOR_END: build

// ANCHOR: splice
/// A copy of `node` with `remove` entries (0 or 1) at index `at` replaced
/// by `insert` (if any), or `None` if the result would not fit in a page.
///
/// The common case of an insert, an overwrite or a delete, done with two
/// block copies and a pass over the offsets instead of rebuilding the page
/// entry by entry: the entries before `at` move by the change in the
/// offsets array's size, those after it by that plus the change in bytes.
pub fn splice(
    node: &Node<'_>,
    at: usize,
    remove: usize,
    insert: Option<&Entry<'_>>,
    page_size: usize,
) -> Option<Vec<u8>> {
    let (n, used) = (node.len(), node.used());
    let new_n = n - remove + usize::from(insert.is_some());
    let cut_from = if at < n { node.offset(at) } else { used };
    let cut_to = if at + remove < n { node.offset(at + remove) } else { used };
    let inserted = insert.map_or(0, |e| e.size() - 2); // without its offset slot
    let new_used = used + 2 * new_n + inserted - 2 * n - (cut_to - cut_from);
    if new_used > page_size {
        return None;
    }
    let (old_start, new_start) = (HEADER_LEN + 2 * n, HEADER_LEN + 2 * new_n);
    let before = |offset: usize| offset + new_start - old_start;
    let after = |offset: usize| offset + new_start + inserted - old_start - (cut_to - cut_from);
    let mut page = vec![0; page_size];
    page[0] = node.bytes[0];
    page[2..4].copy_from_slice(&(new_n as u16).to_le_bytes());
    let mut slot = HEADER_LEN;
    let mut put_offset = |page: &mut Vec<u8>, offset: usize| {
        page[slot..slot + 2].copy_from_slice(&(offset as u16).to_le_bytes());
        slot += 2;
    };
    for i in 0..at {
        put_offset(&mut page, before(node.offset(i)));
    }
    if insert.is_some() {
        put_offset(&mut page, before(cut_from));
    }
    for i in at + remove..n {
        put_offset(&mut page, after(node.offset(i)));
    }
    page[new_start..before(cut_from)].copy_from_slice(&node.bytes[old_start..cut_from]);
    if let Some(entry) = insert {
        put_entry(&mut page, before(cut_from), entry);
    }
    page[after(cut_to)..new_used].copy_from_slice(&node.bytes[cut_to..used]);
    Some(page)
}
// ANCHOR_END: splice

// ANCHOR: split
/// Cuts `entries` into pages: one group if they fit in a page, else two
/// whose sizes are as close as possible. With entries no bigger than a
/// quarter of a page (the tree's limit), two always suffice, and each half
/// is more than a quarter full.
pub fn split_point(entries: &[Entry<'_>], page_size: usize) -> Option<usize> {
    // exercise 4.2: begin
    let total = size(entries);
    if total <= page_size {
        return None;
    }
    // Walk until the left half holds half the bytes; the cut is before or
    // after the entry that crosses the middle, whichever is closer.
    let payload = total - HEADER_LEN;
    let mut left = 0;
    for (i, e) in entries.iter().enumerate() {
        let entry = e.size();
        if 2 * (left + entry) > payload {
            let before = payload.abs_diff(2 * left);
            let after = payload.abs_diff(2 * (left + entry));
            let cut = if before <= after { i } else { i + 1 };
            return Some(cut.clamp(1, entries.len() - 1));
        }
        left += entry;
    }
    Some(entries.len() - 1)
    // exercise 4.2: end
}
// ANCHOR_END: split

/// Checks that a page from disk is a well-formed node: a known kind, and
/// every offset and length inside the page, entries in strictly increasing
/// key order. After this, [`Node`]'s accessors cannot go out of bounds.
pub fn validate(page: &[u8]) -> Result<Kind, String> {
    let kind = Kind::from_byte(page[0]).ok_or_else(|| format!("unknown page kind {}", page[0]))?;
    if matches!(kind, Kind::FreeList | Kind::Overflow) {
        return Ok(kind);
    }
    let n = u16_at(page, 2) as usize;
    let entries_start = HEADER_LEN + 2 * n;
    if entries_start > page.len() {
        return Err(format!("{n} entries cannot fit in a page"));
    }
    let mut end = entries_start;
    let mut previous: Option<&[u8]> = None;
    for i in 0..n {
        let at = u16_at(page, HEADER_LEN + 2 * i) as usize;
        if at != end || at + 4 > page.len() {
            return Err(format!("entry {i} starts at a wrong offset ({at})"));
        }
        let klen = u16_at(page, at) as usize;
        let raw_vlen = u16_at(page, at + 2);
        let vlen = (raw_vlen & !OVERFLOW_FLAG) as usize;
        end = at + 4 + klen + vlen;
        if end > page.len() {
            return Err(format!("entry {i} runs past the end of the page"));
        }
        if kind == Kind::Internal && raw_vlen != 4 {
            return Err(format!("entry {i} of an internal node has a {vlen}-byte child id"));
        }
        if raw_vlen & OVERFLOW_FLAG != 0 && vlen != 8 {
            return Err(format!("entry {i} has a {vlen}-byte overflow reference"));
        }
        let key = &page[at + 4..at + 4 + klen];
        if previous.is_some_and(|p| p >= key) {
            return Err(format!("entry {i}'s key is out of order"));
        }
        previous = Some(key);
    }
    if kind == Kind::Internal && n == 0 {
        return Err("an internal node without children".into());
    }
    if kind == Kind::Internal && u16_at(page, u16_at(page, HEADER_LEN) as usize) != 0 {
        return Err("an internal node whose first key is not empty".into());
    }
    Ok(kind)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn owned(pairs: &[(&str, &str)]) -> Vec<Entry<'static>> {
        pairs
            .iter()
            .map(|(k, v)| Entry::new(k.as_bytes().to_vec(), v.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn a_built_page_reads_back_in_place() {
        let entries = owned(&[("apple", "red"), ("banana", "yellow"), ("cherry", "")]);
        let page = build(Kind::Leaf, &entries, 128);
        assert_eq!(validate(&page), Ok(Kind::Leaf));
        let node = Node::new(&page);
        assert_eq!(node.len(), 3);
        assert_eq!((node.key(1), node.value(1)), (&b"banana"[..], &b"yellow"[..]));
        assert_eq!(node.value(2), b"");
        assert_eq!(node.used(), size(&entries));
        assert_eq!(Node::new(&build(Kind::Leaf, &[], 128)).used(), HEADER_LEN);
        // The layout of the book's drawing: header, offsets, then entries.
        assert_eq!(&page[..4], &[1, 0, 3, 0]);
        assert_eq!(u16_at(&page, HEADER_LEN), (HEADER_LEN + 6) as u16);
    }

    #[test]
    fn search_finds_keys_and_the_gaps_between_them() {
        let entries = owned(&[("b", "1"), ("d", "2"), ("f", "3"), ("h", "4")]);
        let page = build(Kind::Leaf, &entries, 128);
        let node = Node::new(&page);
        assert_eq!(node.search(b"b"), Ok(0));
        assert_eq!(node.search(b"h"), Ok(3));
        assert_eq!(node.search(b"a"), Err(0));
        assert_eq!(node.search(b"c"), Err(1));
        assert_eq!(node.search(b"e"), Err(2));
        assert_eq!(node.search(b"z"), Err(4));
        assert_eq!(node.search(b"d\0"), Err(2));
    }

    #[test]
    fn child_index_picks_the_last_separator_not_above_the_key() {
        let mut entries = owned(&[("", ""), ("m", ""), ("t", "")]);
        for (i, entry) in entries.iter_mut().enumerate() {
            entry.value = Cow::Owned((i as PageId + 10).to_le_bytes().to_vec());
        }
        let page = build(Kind::Internal, &entries, 128);
        let node = Node::new(&page);
        assert_eq!(node.child(node.child_index(b"")), 10);
        assert_eq!(node.child(node.child_index(b"l")), 10);
        assert_eq!(node.child(node.child_index(b"m")), 11);
        assert_eq!(node.child(node.child_index(b"s")), 11);
        assert_eq!(node.child(node.child_index(b"zzz")), 12);
    }

    #[test]
    fn an_overfull_node_splits_into_two_near_halves() {
        let pairs: Vec<(String, String)> =
            (0..12).map(|i| (format!("key{i:02}"), "v".repeat(i % 3 * 4))).collect();
        let entries: Vec<Entry<'_>> =
            pairs.iter().map(|(k, v)| Entry::new(k.as_bytes(), v.as_bytes())).collect();
        assert_eq!(split_point(&entries, 4096), None);
        let cut = split_point(&entries, 128).expect("does not fit in 128 bytes");
        let (left, right) = (size(&entries[..cut]), size(&entries[cut..]));
        assert!(left <= 128 && right <= 128, "{left} {right}");
        assert!(left.abs_diff(right) <= 16, "{left} {right}");
    }

    #[test]
    fn damaged_pages_are_refused_by_validate() {
        let page = build(Kind::Leaf, &owned(&[("a", "1"), ("b", "2")]), 64);
        let mut bad_kind = page.clone();
        bad_kind[0] = 9;
        assert!(validate(&bad_kind).is_err());
        let mut bad_count = page.clone();
        bad_count[2] = 200;
        assert!(validate(&bad_count).is_err());
        let mut bad_len = page.clone();
        bad_len[HEADER_LEN + 4] = 250; // entry 0's key length
        assert!(validate(&bad_len).is_err());
        let mut unordered = page;
        unordered[HEADER_LEN + 4 + 4] = b'c'; // "a" becomes "c" > "b"
        assert!(validate(&unordered).is_err());
    }

    proptest! {
        #[test]
        fn splice_is_the_same_as_rebuilding(
            pairs in proptest::collection::btree_map(
                proptest::collection::vec(any::<u8>(), 0..6),
                proptest::collection::vec(any::<u8>(), 0..8),
                0..10,
            ),
            at in 0usize..12,
            remove in 0usize..2,
            new in proptest::option::of((proptest::collection::vec(any::<u8>(), 0..6), proptest::collection::vec(any::<u8>(), 0..8), any::<bool>())),
        ) {
            let entries: Vec<Entry<'_>> =
                pairs.iter().map(|(k, v)| Entry::new(k.as_slice(), v.as_slice())).collect();
            let at = at.min(entries.len());
            let remove = remove.min(entries.len() - at);
            let insert = new.as_ref().map(|(k, v, overflow)| Entry {
                key: Cow::Borrowed(k.as_slice()),
                value: Cow::Borrowed(v.as_slice()),
                overflow: *overflow,
            });
            let page = build(Kind::Leaf, &entries, 256);
            let mut edited = entries.clone();
            edited.splice(at..at + remove, insert.clone());
            let spliced = splice(&Node::new(&page), at, remove, insert.as_ref(), 256);
            if size(&edited) <= 256 {
                // Keys may now be out of order (the test does not keep them
                // sorted), so compare bytes, not validity.
                prop_assert_eq!(spliced, Some(build(Kind::Leaf, &edited, 256)));
            } else {
                prop_assert_eq!(spliced, None);
            }
        }

        #[test]
        fn validate_never_panics_and_what_it_accepts_reads_safely(
            pairs in proptest::collection::btree_map(
                proptest::collection::vec(any::<u8>(), 0..6),
                proptest::collection::vec(any::<u8>(), 0..6),
                0..6,
            ),
            flips in proptest::collection::vec((0usize..96, 1u8..=255), 1..4),
        ) {
            let entries: Vec<Entry<'_>> =
                pairs.iter().map(|(k, v)| Entry::new(k.as_slice(), v.as_slice())).collect();
            let mut page = build(Kind::Leaf, &entries, 96);
            prop_assert_eq!(validate(&page), Ok(Kind::Leaf));
            for (at, flip) in flips {
                page[at] ^= flip;
            }
            if let Ok(Kind::Leaf | Kind::Internal) = validate(&page) {
                let node = Node::new(&page);
                for i in 0..node.len() {
                    let _ = (node.key(i), node.value(i));
                }
                let _ = node.search(b"probe");
            }
        }
    }
}
