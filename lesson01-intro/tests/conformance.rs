//! The conformance suite on the linear-scan store, the way every later
//! lesson runs it on its own engine.

use lesson01_intro::LinearStore;
use lesson01_intro::testkit::Suite;

// ANCHOR: one_line
lesson01_intro::conformance_tests!(Suite::new(LinearStore::new));
// ANCHOR_END: one_line
