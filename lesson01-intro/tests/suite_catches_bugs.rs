//! The conformance suite must fail on broken stores, or it proves nothing.
//! Each test plants one bug in a copy of the linear store and checks that the
//! model-based test catches it.

use std::convert::Infallible;
use std::panic::{AssertUnwindSafe, catch_unwind};

use lesson01_intro::testkit::Suite;
use lesson01_intro::{KeyRange, KeyValue, KvStore, LinearStore};

// ANCHOR: bugs
/// A bug to plant.
#[derive(Clone, Copy, Debug)]
enum Bug {
    /// `set` on an existing key keeps the old value.
    IgnoresOverwrite,
    /// `scan` returns pairs newest-first instead of in key order.
    UnsortedScan,
    /// `delete` always says the key was there.
    DeleteAlwaysTrue,
    /// An empty value reads back as a missing key.
    EmptyValueIsMissing,
    /// `scan` treats an excluded end bound as included.
    EndBoundIncluded,
}
// ANCHOR_END: bugs

struct Buggy {
    inner: LinearStore,
    bug: Bug,
}

impl KvStore for Buggy {
    type Error = Infallible;

    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, Infallible> {
        let value = self.inner.get(key)?;
        match self.bug {
            Bug::EmptyValueIsMissing => Ok(value.filter(|v| !v.is_empty())),
            _ => Ok(value),
        }
    }

    fn set(&mut self, key: Vec<u8>, value: Vec<u8>) -> Result<(), Infallible> {
        if matches!(self.bug, Bug::IgnoresOverwrite) && self.inner.get(&key)?.is_some() {
            return Ok(());
        }
        self.inner.set(key, value)
    }

    fn delete(&mut self, key: &[u8]) -> Result<bool, Infallible> {
        let deleted = self.inner.delete(key)?;
        Ok(deleted || matches!(self.bug, Bug::DeleteAlwaysTrue))
    }

    fn scan(&mut self, range: KeyRange) -> Result<Vec<KeyValue>, Infallible> {
        match self.bug {
            Bug::UnsortedScan => {
                let mut pairs = self.inner.scan(range)?;
                pairs.reverse();
                Ok(pairs)
            }
            Bug::EndBoundIncluded => {
                let end = match range.end {
                    std::ops::Bound::Excluded(k) => std::ops::Bound::Included(k),
                    other => other,
                };
                self.inner.scan(KeyRange { start: range.start, end })
            }
            _ => self.inner.scan(range),
        }
    }

    fn len(&mut self) -> Result<usize, Infallible> {
        self.inner.len()
    }
}

fn model_test_fails_with(bug: Bug) -> String {
    let result = catch_unwind(AssertUnwindSafe(|| {
        Suite::new(move || Buggy { inner: LinearStore::new(), bug }).check_model();
    }));
    let payload = result.expect_err(&format!("the suite passed a store with bug {bug:?}"));
    payload.downcast_ref::<String>().cloned().unwrap_or_default()
}

#[test]
fn catches_ignored_overwrite() {
    let message = model_test_fails_with(Bug::IgnoresOverwrite);
    assert!(message.contains("shortest failing sequence"), "{message}");
}

#[test]
fn catches_unsorted_scan() {
    model_test_fails_with(Bug::UnsortedScan);
}

#[test]
fn catches_delete_that_lies() {
    model_test_fails_with(Bug::DeleteAlwaysTrue);
}

#[test]
fn catches_empty_value_read_as_missing() {
    model_test_fails_with(Bug::EmptyValueIsMissing);
}

#[test]
fn catches_excluded_end_bound_treated_as_included() {
    model_test_fails_with(Bug::EndBoundIncluded);
}

#[test]
fn catches_a_reopen_that_loses_data() {
    let result = catch_unwind(|| {
        Suite::new(LinearStore::new).with_reopen(|_forgetful| LinearStore::new()).check_model();
    });
    assert!(result.is_err(), "the suite passed a store that forgets everything on reopen");
}

#[test]
fn passes_a_reopen_that_keeps_data() {
    // The same store with an honest reopen passes: the failure above is the bug's.
    Suite::new(LinearStore::new).with_reopen(|store| store.clone()).with_cases(64).check_model();
}
