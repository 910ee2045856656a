//! Big values: chains of overflow pages.
//!
//! An entry must fit in a quarter of a page so that nodes can always split
//! in two. A bigger value goes to a chain of overflow pages, and the leaf
//! holds an 8-byte *reference* in its place, flagged in the entry's `vlen`
//! (as SQLite and PostgreSQL's TOAST do):
//!
//! ```text
//!   leaf entry: key │ reference: total length u32, first page u32
//!                                                       │
//!   ┌───────────────────────────────┐   ┌───────────────▼───────────────┐
//!   │ kind 4 │ 0 │ n u16 │ crc │ next│◄──┤ kind 4 │ 0 │ n u16 │ crc │ next│
//!   │ n bytes of the value …        │   │ the value's first n bytes …   │
//!   └───────────────────────────────┘   └───────────────────────────────┘
//! ```
//!
//! Chains are written once and never changed: a leaf copied for another
//! key's sake copies only the reference, and the old and new trees share
//! the chain. Overwriting or deleting the key frees the chain's pages,
//! which, like any freed page, stay untouched for two commits.

use crate::btree::PageId;
use crate::btree::page::{HEADER_LEN, Kind};
use crate::btree::pager::Pager;
use crate::btree::store::PageStore;
use crate::error::{Error, Result};

/// Bytes of an overflow page before its data: header, next page.
const OVERFLOW_HEADER: usize = HEADER_LEN + 4;

/// The reference a leaf holds: the value's length and its first page.
pub fn reference(len: u32, first: PageId) -> [u8; 8] {
    let mut out = [0; 8];
    out[..4].copy_from_slice(&len.to_le_bytes());
    out[4..].copy_from_slice(&first.to_le_bytes());
    out
}

fn parse(reference: &[u8]) -> (usize, PageId) {
    let len = u32::from_le_bytes(reference[..4].try_into().expect("4 bytes"));
    let first = u32::from_le_bytes(reference[4..8].try_into().expect("4 bytes"));
    (len as usize, first)
}

/// Writes `value` to new overflow pages; returns the reference to them.
pub fn write<S: PageStore>(pager: &mut Pager<S>, value: &[u8]) -> [u8; 8] {
    let per_page = pager.page_size() - OVERFLOW_HEADER;
    let chunks: Vec<&[u8]> = value.chunks(per_page).collect();
    let ids: Vec<PageId> = chunks.iter().map(|_| pager.allocate()).collect();
    for (i, chunk) in chunks.iter().enumerate() {
        let mut page = vec![0; pager.page_size()];
        page[0] = Kind::Overflow as u8;
        page[2..4].copy_from_slice(&(chunk.len() as u16).to_le_bytes());
        page[8..12].copy_from_slice(&ids.get(i + 1).copied().unwrap_or(0).to_le_bytes());
        page[OVERFLOW_HEADER..OVERFLOW_HEADER + chunk.len()].copy_from_slice(chunk);
        pager.write(ids[i], page);
    }
    reference(value.len() as u32, ids.first().copied().unwrap_or(0))
}

/// The pages of the chain a reference points at, checked: each is an
/// overflow page, and together they hold exactly the value's length.
pub fn pages<S: PageStore>(pager: &mut Pager<S>, reference: &[u8]) -> Result<Vec<PageId>> {
    let (len, first) = parse(reference);
    let per_page = pager.page_size() - OVERFLOW_HEADER;
    let mut ids = Vec::new();
    let mut next = Some(first).filter(|_| len > 0);
    let mut remaining = len;
    while let Some(id) = next {
        let page = pager.read(id)?;
        let count = u16::from_le_bytes([page[2], page[3]]) as usize;
        let expected = remaining.min(per_page);
        if page[0] != Kind::Overflow as u8 || count != expected {
            let offset = u64::from(id) * pager.page_size() as u64;
            return Err(Error::corrupt(
                pager.store().path(),
                offset,
                format!("page {id} is not the overflow page a value's chain expects"),
            ));
        }
        remaining -= count;
        ids.push(id);
        next =
            Some(u32::from_le_bytes(page[8..12].try_into().expect("4 bytes"))).filter(|&n| n != 0);
        if remaining == 0 && next.is_some() || remaining > 0 && next.is_none() {
            let offset = u64::from(id) * pager.page_size() as u64;
            return Err(Error::corrupt(
                pager.store().path(),
                offset,
                "an overflow chain of the wrong length",
            ));
        }
    }
    Ok(ids)
}

/// Reads the value a reference points at.
pub fn read<S: PageStore>(pager: &mut Pager<S>, reference: &[u8]) -> Result<Vec<u8>> {
    let (len, _) = parse(reference);
    let mut value = Vec::with_capacity(len);
    for id in pages(pager, reference)? {
        let page = pager.read(id)?;
        let count = u16::from_le_bytes([page[2], page[3]]) as usize;
        value.extend_from_slice(&page[OVERFLOW_HEADER..OVERFLOW_HEADER + count]);
    }
    Ok(value)
}

/// Frees the chain a reference points at.
pub fn free<S: PageStore>(pager: &mut Pager<S>, reference: &[u8]) -> Result<()> {
    for id in pages(pager, reference)? {
        pager.free(id);
    }
    Ok(())
}
