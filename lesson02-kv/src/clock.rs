//! Where the store gets the time from.
//!
//! Expiry needs "now". Reading the system clock directly would make every
//! expiry test sleep for real and still be flaky, so the store asks a
//! [`Clock`] instead: [`SystemClock`] in the binary, [`ManualClock`] in tests,
//! where time moves only when the test says so.
//!
//! Times are milliseconds since the Unix epoch, as Redis stores them.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

// ANCHOR: clock
/// A source of the current time, in milliseconds since the Unix epoch.
pub trait Clock {
    /// The current time.
    fn now_ms(&self) -> u64;
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        // A clock before 1970 is a broken machine; treat it as the epoch.
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
    }
}

/// A clock that stands still until a test moves it. Clones share one time,
/// so a test keeps a clone and advances the store's clock through it.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    /// A clock showing `now_ms`.
    pub fn new(now_ms: u64) -> Self {
        Self(Arc::new(AtomicU64::new(now_ms)))
    }

    /// Moves time forward by `ms`.
    pub fn advance(&self, ms: u64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Default for ManualClock {
    /// 2023-11-14 22:13:20 UTC: a fixed, realistic start, so TTL arithmetic
    /// is tested on real-sized timestamps, not on zero.
    fn default() -> Self {
        Self::new(1_700_000_000_000)
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}
// ANCHOR_END: clock

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told_and_clones_share_it() {
        let clock = ManualClock::default();
        let shared = clock.clone();
        let start = clock.now_ms();
        assert_eq!(clock.now_ms(), start);
        shared.advance(1500);
        assert_eq!(clock.now_ms(), start + 1500);
    }

    #[test]
    fn system_clock_is_after_2020() {
        assert!(SystemClock.now_ms() > 1_577_836_800_000);
    }
}
