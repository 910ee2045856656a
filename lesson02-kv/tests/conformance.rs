//! Lesson 1's conformance suite, run on this lesson's store: one line.

use lesson01_intro::testkit::Suite;
use lesson02_kv::{ManualClock, Store};

// ANCHOR: one_line
lesson01_intro::conformance_tests!(Suite::new(|| Store::with_clock(ManualClock::default())));
// ANCHOR_END: one_line
