//! Key expiry: TTLs, and the two ways expired keys leave the store.
//!
//! A key with a TTL has a deadline. Once the clock passes it, the key must
//! behave as if deleted. Redis makes that true in two ways, and so do we:
//!
//! ```text
//!   lazy (on access)                      active (periodic, 10 times a second)
//!   ────────────────                      ────────────────────────────────────
//!   GET k ─► k has a deadline?            every 100 ms:
//!            ├ no  ─► return the value      repeat:
//!            └ yes ─► passed?                 sample 20 random keys that have a TTL
//!                     ├ no  ─► return it      delete the expired ones
//!                     └ yes ─► delete k,      more than 25% were expired? ─► repeat
//!                              return nil     else stop (and at most 16 rounds)
//! ```
//!
//! Lazy expiry alone is *correct*: no read ever sees an expired key. But a
//! key that is never read again would stay in memory forever. The active
//! cycle reclaims that memory without scanning every key: it samples, and it
//! keeps going only while the sample says many keys are expired. It is a
//! probabilistic bound: after a cycle stops, about a quarter or fewer of the
//! keys with a TTL are expired-but-present.
//!
//! NB: Redis bounds a cycle by CPU time (25% of each 100 ms tick); we bound it
//! by rounds, which keeps tests deterministic.

use crate::clock::Clock;
use crate::store::Store;

/// Keys sampled per round of the active cycle (Redis: 20).
pub const SAMPLE_SIZE: usize = 20;
/// A round that finds more than this share of its sample expired is followed
/// by another (Redis: 25%).
pub const REPEAT_ABOVE_PERCENT: usize = 25;
/// At most this many rounds per cycle.
pub const MAX_ROUNDS: usize = 16;
/// The active cycle runs at most this often (Redis's default `hz 10`).
pub const CYCLE_INTERVAL_MS: u64 = 100;

/// The remaining time to live of a key, as TTL and PTTL report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ttl {
    /// The key does not exist (TTL answers -2).
    Missing,
    /// The key exists and never expires (TTL answers -1).
    Persistent,
    /// The key expires in this many milliseconds.
    ExpiresInMs(u64),
}

impl<C: Clock> Store<C> {
    // ANCHOR: due
    /// Removes `key` if its deadline has passed. Returns whether it did.
    pub(crate) fn expire_if_due(&mut self, key: &[u8]) -> bool {
        let due = self.deadline(key).is_some_and(|at_ms| at_ms <= self.clock.now_ms());
        if due {
            self.remove_entry(key);
            self.stats.lazy += 1;
        }
        due
    }
    // ANCHOR_END: due

    // ANCHOR: expire
    /// `PEXPIRE key ms`: the key expires `ms` milliseconds from now. Returns
    /// whether the key exists. Returns `None` when now + `ms` does not fit in
    /// a timestamp. A deadline that is already due deletes the key at once.
    pub fn expire_in(&mut self, key: &[u8], ms: i64) -> Option<bool> {
        let at_ms = i128::from(self.clock.now_ms()) + i128::from(ms);
        let at_ms = u64::try_from(at_ms.max(0)).ok().filter(|&t| t < i64::MAX as u64)?;
        if !self.contains(key) {
            return Some(false);
        }
        if at_ms <= self.clock.now_ms() {
            self.remove_entry(key);
            self.record_deadline(key);
            return Some(true);
        }
        let slot = self.map.get(key).and_then(|e| e.ttl_slot);
        let slot = self.list_or_update(key, slot, at_ms);
        self.map.get_mut(key).expect("checked above").ttl_slot = Some(slot);
        self.record_deadline(key);
        Some(true)
    }
    // ANCHOR_END: expire

    /// `PTTL key`, as a [`Ttl`].
    pub fn ttl(&mut self, key: &[u8]) -> Ttl {
        if !self.contains(key) {
            return Ttl::Missing;
        }
        match self.deadline(key) {
            None => Ttl::Persistent,
            Some(at_ms) => Ttl::ExpiresInMs(at_ms - self.clock.now_ms()),
        }
    }

    /// `PERSIST key`: removes the key's TTL. Returns whether it had one.
    pub fn persist(&mut self, key: &[u8]) -> bool {
        if !self.contains(key) {
            return false;
        }
        let entry = self.map.get_mut(key).expect("checked above");
        match entry.ttl_slot.take() {
            Some(slot) => {
                self.unlist(slot);
                self.record_deadline(key);
                true
            }
            None => false,
        }
    }

    // ANCHOR: active
    /// One active expiry cycle: sample keys that have a TTL, delete the
    /// expired ones, repeat while more than a quarter of a sample was
    /// expired. Returns how many keys it deleted.
    pub fn active_expire_cycle(&mut self) -> usize {
        // exercise 2.4: begin
        let now = self.clock.now_ms();
        let mut deleted = 0;
        for _ in 0..MAX_ROUNDS {
            if self.expiring.is_empty() {
                break;
            }
            let sample = SAMPLE_SIZE.min(self.expiring.len());
            let mut expired = 0;
            for _ in 0..sample {
                if self.expiring.is_empty() {
                    break;
                }
                let slot = self.random_below(self.expiring.len());
                if self.expiring[slot].at_ms <= now {
                    self.remove_listed(slot);
                    expired += 1;
                }
            }
            deleted += expired;
            if expired * 100 <= sample * REPEAT_ABOVE_PERCENT {
                break;
            }
        }
        self.stats.active += deleted as u64;
        self.stats.cycles += 1;
        self.last_cycle_ms = now;
        deleted
        // exercise 2.4: end
    }
    // ANCHOR_END: active

    /// Runs the active cycle if [`CYCLE_INTERVAL_MS`] have passed since the
    /// last one. The REPL calls this before every command; a server would
    /// call it from a timer.
    pub fn tick(&mut self) -> usize {
        if self.clock.now_ms() >= self.last_cycle_ms + CYCLE_INTERVAL_MS {
            self.active_expire_cycle()
        } else {
            0
        }
    }

    /// Removes every expired key, by checking every key with a TTL. KEYS,
    /// DBSIZE and scans use this so that they never count or list a dead key.
    pub(crate) fn purge_expired(&mut self) {
        let now = self.clock.now_ms();
        let mut slot = 0;
        while slot < self.expiring.len() {
            if self.expiring[slot].at_ms <= now {
                // Moves the last key into `slot`: look at the same slot again.
                self.remove_listed(slot);
                self.stats.lazy += 1;
            } else {
                slot += 1;
            }
        }
    }

    /// Removes the key listed at `slot` of `expiring`. Checks the invariant
    /// that the key's entry points back at this slot: if a bug broke it, a
    /// loud panic beats deleting the wrong key or looping forever.
    fn remove_listed(&mut self, slot: usize) {
        let key = self.expiring[slot].key.clone();
        let back = self.map.get(&key).and_then(|e| e.ttl_slot);
        assert_eq!(
            back,
            Some(slot as u32),
            "expiring[{slot}] lists {key:?}, whose entry does not point back to it"
        );
        self.remove_entry(&key);
    }

    /// A pseudo-random number below `n`, from a seeded xorshift generator:
    /// the same sequence on every run, so tests are repeatable.
    pub(crate) fn random_below(&mut self, n: usize) -> usize {
        (self.random_u64() % n as u64) as usize
    }

    /// The generator's next number.
    pub(crate) fn random_u64(&mut self) -> u64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::store::SetTtl;

    fn store() -> (Store<ManualClock>, ManualClock) {
        let clock = ManualClock::default();
        (Store::with_clock(clock.clone()), clock)
    }

    fn set_with_ttl(s: &mut Store<ManualClock>, key: &str, ms: u64) {
        s.set(key.as_bytes().to_vec(), b"v".to_vec(), None, SetTtl::ExpireInMs(ms));
    }

    #[test]
    fn lazy_expiry_hides_a_key_the_moment_its_deadline_passes() {
        let (mut s, clock) = store();
        set_with_ttl(&mut s, "k", 1000);
        clock.advance(999);
        assert_eq!(s.get(b"k").unwrap(), Some(b"v".to_vec()));
        clock.advance(1);
        assert_eq!(s.get(b"k").unwrap(), None);
        assert_eq!(s.expiry_stats().lazy, 1);
        assert!(s.map.is_empty(), "the read removed it");
    }

    #[test]
    fn ttl_reports_missing_persistent_and_remaining() {
        let (mut s, clock) = store();
        assert_eq!(s.ttl(b"k"), Ttl::Missing);
        s.set(b"k".to_vec(), b"v".to_vec(), None, SetTtl::Clear);
        assert_eq!(s.ttl(b"k"), Ttl::Persistent);
        assert_eq!(s.expire_in(b"k", 5000), Some(true));
        clock.advance(1200);
        assert_eq!(s.ttl(b"k"), Ttl::ExpiresInMs(3800));
        assert!(s.persist(b"k"));
        assert!(!s.persist(b"k"));
        assert_eq!(s.ttl(b"k"), Ttl::Persistent);
    }

    #[test]
    fn expire_on_a_missing_key_is_false_and_a_past_deadline_deletes() {
        let (mut s, _) = store();
        assert_eq!(s.expire_in(b"nope", 100), Some(false));
        s.set(b"k".to_vec(), b"v".to_vec(), None, SetTtl::Clear);
        assert_eq!(s.expire_in(b"k", 0), Some(true));
        assert_eq!(s.get(b"k").unwrap(), None);
        s.set(b"k".to_vec(), b"v".to_vec(), None, SetTtl::Clear);
        assert_eq!(s.expire_in(b"k", -5), Some(true));
        assert!(!s.contains(b"k"));
    }

    #[test]
    fn expire_that_overflows_is_refused_and_changes_nothing() {
        let (mut s, _) = store();
        s.set(b"k".to_vec(), b"v".to_vec(), None, SetTtl::Clear);
        assert_eq!(s.expire_in(b"k", i64::MAX), None);
        assert_eq!(s.ttl(b"k"), Ttl::Persistent);
    }

    #[test]
    fn active_cycle_removes_expired_keys_nobody_reads() {
        let (mut s, clock) = store();
        for i in 0..1000 {
            set_with_ttl(&mut s, &format!("short{i}"), 100);
        }
        for i in 0..100 {
            set_with_ttl(&mut s, &format!("long{i}"), 1_000_000);
        }
        clock.advance(100);
        let mut cycles = 0;
        // Each cycle deletes many while most sampled keys are expired, and
        // stops once at most a quarter of a sample is: a few cycles suffice.
        while s.active_expire_cycle() > 0 {
            cycles += 1;
            assert!(cycles < 50, "the cycle does not converge");
        }
        let left = s.map.len() - 100;
        assert!(left * 4 <= 1100, "{left} expired keys left: more than the 25% bound");
        assert_eq!(s.expiry_stats().active as usize, 1000 - left);
        assert_eq!(
            s.map.keys().filter(|k| k.starts_with(b"long")).count(),
            100,
            "live keys untouched"
        );
    }

    #[test]
    fn active_cycle_stops_early_when_few_keys_are_expired() {
        let (mut s, clock) = store();
        for i in 0..1000 {
            set_with_ttl(&mut s, &format!("k{i}"), if i < 10 { 1 } else { 1_000_000 });
        }
        clock.advance(1);
        // 1% expired: one round of 20 samples, then stop.
        let deleted = s.active_expire_cycle();
        assert!(deleted <= SAMPLE_SIZE);
        assert_eq!(s.map.len(), 1000 - deleted);
    }

    #[test]
    fn tick_runs_the_cycle_at_most_every_100_ms() {
        let (mut s, clock) = store();
        set_with_ttl(&mut s, "k", 10);
        clock.advance(50);
        assert_eq!(s.tick(), 0);
        assert_eq!(s.expiry_stats().cycles, 0);
        clock.advance(50);
        assert_eq!(s.tick(), 1);
        assert_eq!(s.tick(), 0, "the next cycle is 100 ms away");
        assert_eq!(s.expiry_stats().cycles, 1);
    }

    #[test]
    fn purge_removes_every_expired_key_and_nothing_else() {
        let (mut s, clock) = store();
        for i in 0..50 {
            set_with_ttl(&mut s, &format!("k{i}"), if i % 2 == 0 { 10 } else { 1000 });
        }
        clock.advance(10);
        assert_eq!(s.len(), 25);
        assert_eq!(s.expiring.len(), 25);
    }
}
