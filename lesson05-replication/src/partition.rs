//! Partitioning: which shard holds a key.
//!
//! Two schemes, side by side, so that their trade-offs can be measured
//! rather than asserted:
//!
//! - **Hash slots**, as Redis Cluster does it: a key's slot is the CRC16 of
//!   the key (or of its `{hash tag}`) modulo 16,384, and a table says which
//!   shard owns each slot. Moving data means moving whole slots, chosen by
//!   an operator or a rebalancer.
//! - **Consistent hashing with virtual nodes**, as Dynamo and Cassandra's
//!   first versions did: every shard puts many points on a ring of 2⁶⁴
//!   hashes, and a key belongs to the first point at or after its own hash.
//!   A shard that joins takes over the arcs before its points, and nothing
//!   else moves.
//!
//! The cluster (the second half of this lesson) routes by slots, since
//! that is what Redis's clients understand.

use std::collections::BTreeMap;

/// How many slots Redis Cluster divides the keys into.
pub const SLOTS: u16 = 16_384;

// ANCHOR: crc16
/// CRC16-CCITT in its XMODEM variant (polynomial 0x1021, initial value 0),
/// the one Redis Cluster specifies. Bit by bit: 16,384 slots need no speed.
pub fn crc16(bytes: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &byte in bytes {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 { (crc << 1) ^ 0x1021 } else { crc << 1 };
        }
    }
    crc
}
// ANCHOR_END: crc16

// ANCHOR: key_slot
/// The slot of `key`. If the key holds a `{…}` with at least one byte
/// between the first `{` and the first `}` after it, only those bytes are
/// hashed: `{user:1}:name` and `{user:1}:email` share a slot, so one shard
/// holds both, and a command may use both.
pub fn key_slot(key: &[u8]) -> u16 {
    let hashed = match key.iter().position(|&b| b == b'{') {
        Some(open) => match key[open + 1..].iter().position(|&b| b == b'}') {
            Some(len) if len > 0 => &key[open + 1..open + 1 + len],
            _ => key,
        },
        None => key,
    };
    crc16(hashed) % SLOTS
}
// ANCHOR_END: key_slot

/// Which shard owns each of the 16,384 slots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotMap {
    owners: Vec<usize>,
    shards: usize,
}

impl SlotMap {
    /// `shards` shards, each owning one contiguous, nearly equal range, as
    /// `redis-cli --cluster create` assigns them.
    pub fn even(shards: usize) -> Self {
        assert!(shards > 0, "at least one shard");
        let owners =
            (0..usize::from(SLOTS)).map(|slot| slot * shards / usize::from(SLOTS)).collect();
        Self { owners, shards }
    }

    /// The shard that owns `slot`.
    pub fn owner(&self, slot: u16) -> usize {
        self.owners[usize::from(slot)]
    }

    /// The shard that holds `key`.
    pub fn shard_of(&self, key: &[u8]) -> usize {
        self.owner(key_slot(key))
    }

    /// The runs of consecutive slots `shard` owns, as `(first, last)`.
    pub fn ranges(&self, shard: usize) -> Vec<(u16, u16)> {
        let mut ranges: Vec<(u16, u16)> = Vec::new();
        for slot in 0..SLOTS {
            if self.owner(slot) != shard {
                continue;
            }
            match ranges.last_mut() {
                Some((_, last)) if *last + 1 == slot => *last = slot,
                _ => ranges.push((slot, slot)),
            }
        }
        ranges
    }

    /// How many shards there are.
    pub fn shards(&self) -> usize {
        self.shards
    }

    /// How many slots each shard owns.
    pub fn counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.shards];
        for &owner in &self.owners {
            counts[owner] += 1;
        }
        counts
    }

    // ANCHOR: add_shard
    /// Adds a shard and gives it its fair share, `16384 / (n + 1)` slots,
    /// taken from the shards that own the most, so that every shard ends
    /// within one slot of the others. Returns the slots that moved: only
    /// their keys have to move.
    pub fn add_shard(&mut self) -> Vec<u16> {
        let new = self.shards;
        self.shards += 1;
        let share = usize::from(SLOTS) / self.shards;
        // Each old shard's slots, in ascending order.
        let mut owned: Vec<Vec<u16>> = vec![Vec::new(); new];
        for slot in 0..SLOTS {
            owned[self.owner(slot)].push(slot);
        }
        let mut moved = Vec::with_capacity(share);
        while moved.len() < share {
            // The richest shard (the lowest-numbered among equals) gives up
            // the highest slot it owns.
            let richest = (0..new)
                .max_by_key(|&s| (owned[s].len(), std::cmp::Reverse(s)))
                .expect("at least one old shard");
            let slot = owned[richest].pop().expect("the richest shard owns slots");
            self.owners[usize::from(slot)] = new;
            moved.push(slot);
        }
        moved
    }
    // ANCHOR_END: add_shard

    /// Removes the last shard, handing each of its slots to the shard that
    /// then owns the fewest. Returns the slots that moved.
    pub fn remove_last_shard(&mut self) -> Vec<u16> {
        assert!(self.shards > 1, "the last shard cannot leave");
        let gone = self.shards - 1;
        let mut counts = self.counts();
        self.shards -= 1;
        let mut moved = Vec::new();
        for slot in 0..SLOTS {
            if self.owner(slot) == gone {
                let poorest = (0..gone).min_by_key(|&s| (counts[s], s)).expect("shards");
                self.owners[usize::from(slot)] = poorest;
                counts[poorest] += 1;
                moved.push(slot);
            }
        }
        moved
    }
}

/// A 64-bit hash with good spread: FNV-1a, then SplitMix64's finalizer to
/// mix its high bits. Stable across runs and machines, unlike std's
/// `RandomState`, since every node must agree where a key goes.
pub fn hash64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

// ANCHOR: ring
/// A consistent-hash ring: each shard is `vnodes` points on a circle of
/// 2⁶⁴ positions; a key belongs to the first point clockwise from its hash.
#[derive(Debug, Clone, Default)]
pub struct Ring {
    points: BTreeMap<u64, usize>,
    vnodes: usize,
}

impl Ring {
    /// An empty ring whose shards will have `vnodes` points each.
    pub fn new(vnodes: usize) -> Self {
        Self { points: BTreeMap::new(), vnodes }
    }

    /// Puts `shard`'s points on the ring.
    pub fn add(&mut self, shard: usize) {
        for v in 0..self.vnodes {
            self.points.insert(hash64(format!("shard-{shard}#{v}").as_bytes()), shard);
        }
    }

    /// Takes `shard`'s points off the ring.
    pub fn remove(&mut self, shard: usize) {
        self.points.retain(|_, owner| *owner != shard);
    }

    /// The shard that holds `key`; `None` on an empty ring.
    pub fn shard_of(&self, key: &[u8]) -> Option<usize> {
        let h = hash64(key);
        // The first point at or after the key's hash, wrapping round.
        self.points.range(h..).next().or_else(|| self.points.iter().next()).map(|(_, &s)| s)
    }
}
// ANCHOR_END: ring

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc16_is_xmodem() {
        // The check value of CRC-16/XMODEM, and Redis Cluster's spec.
        assert_eq!(crc16(b"123456789"), 0x31c3);
        assert_eq!(crc16(b""), 0);
    }

    #[test]
    fn hash_tags_pick_what_is_hashed() {
        let slot = key_slot(b"user:1000");
        assert_eq!(key_slot(b"{user:1000}.following"), slot);
        assert_eq!(key_slot(b"{user:1000}.followers"), slot);
        assert_eq!(key_slot(b"foo{}{bar}"), crc16(b"foo{}{bar}") % SLOTS, "empty tag: whole key");
        assert_eq!(
            key_slot(b"foo{{bar}}zap"),
            crc16(b"{bar") % SLOTS,
            "the first {{ and the first }} after it"
        );
        assert_eq!(key_slot(b"foo{bar}{zap}"), crc16(b"bar") % SLOTS, "only the first tag");
        assert_eq!(key_slot(b"{unclosed"), crc16(b"{unclosed") % SLOTS);
    }

    #[test]
    fn even_slots_are_contiguous_ranges() {
        let map = SlotMap::even(3);
        assert_eq!(map.counts(), vec![5462, 5461, 5461]);
        assert_eq!(
            (map.owner(0), map.owner(5461), map.owner(5462), map.owner(16383)),
            (0, 0, 1, 2)
        );
    }

    #[test]
    fn adding_and_removing_shards_keeps_slots_balanced() {
        let mut map = SlotMap::even(4);
        let moved = map.add_shard();
        assert_eq!(moved.len(), 16384 / 5);
        let counts = map.counts();
        assert!(counts.iter().max().unwrap() - counts.iter().min().unwrap() <= 1, "{counts:?}");
        assert!(moved.iter().all(|&s| map.owner(s) == 4));
        let back = map.remove_last_shard();
        assert_eq!(back.len(), 16384 / 5);
        let counts = map.counts();
        assert_eq!(counts.len(), 4);
        assert!(counts.iter().max().unwrap() - counts.iter().min().unwrap() <= 1, "{counts:?}");
    }

    #[test]
    fn an_empty_ring_has_no_owner_and_one_shard_owns_all() {
        let mut ring = Ring::new(8);
        assert_eq!(ring.shard_of(b"k"), None);
        ring.add(7);
        assert!((0..100).all(|i| ring.shard_of(format!("k{i}").as_bytes()) == Some(7)));
        ring.remove(7);
        assert_eq!(ring.shard_of(b"k"), None);
    }
}
