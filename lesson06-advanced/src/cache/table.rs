//! From a page number to its slot in the cache.

// ANCHOR: table
/// Page number → slot, as a vector indexed by page number. Page numbers in
/// a file are dense (0, 1, 2, …), so this is a hash map that needs no
/// hashing: a hit costs one bounds check and one load. It takes 4 bytes
/// per page of the file (4 MiB for a 4 GiB file), cached or not; a
/// database with sparse or huge page numbers would hash instead, as
/// PostgreSQL's buffer mapping table does.
#[derive(Debug, Clone, Default)]
pub(crate) struct PageTable {
    slots: Vec<u32>,
}
// ANCHOR_END: table

const NONE: u32 = u32::MAX;

impl PageTable {
    pub(crate) fn get(&self, page: u64) -> Option<usize> {
        match self.slots.get(usize::try_from(page).ok()?) {
            Some(&slot) if slot != NONE => Some(slot as usize),
            _ => None,
        }
    }

    pub(crate) fn contains(&self, page: u64) -> bool {
        self.get(page).is_some()
    }

    pub(crate) fn insert(&mut self, page: u64, slot: usize) {
        let at = usize::try_from(page).expect("page numbers fit in memory");
        if self.slots.len() <= at {
            self.slots.resize(at + 1, NONE);
        }
        self.slots[at] = u32::try_from(slot).expect("fewer than 4 billion slots");
    }

    pub(crate) fn remove(&mut self, page: u64) {
        if let Some(slot) = usize::try_from(page).ok().and_then(|at| self.slots.get_mut(at)) {
            *slot = NONE;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_map_to_slots_and_back_to_nothing() {
        let mut table = PageTable::default();
        assert_eq!(table.get(5), None);
        table.insert(5, 0);
        table.insert(2, 7);
        assert_eq!((table.get(5), table.get(2), table.get(3)), (Some(0), Some(7), None));
        table.remove(5);
        table.remove(1_000);
        assert!(!table.contains(5) && table.contains(2));
    }
}
