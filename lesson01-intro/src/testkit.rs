//! The conformance suite: the guarantees of [`KvStore`], as tests every
//! engine in the course runs on itself.
//!
//! Two kinds of check:
//!
//! - **Edge cases**, one named function each ([`edge`]): the empty key, the
//!   empty value, a large value, overwriting, deleting a missing key, …
//! - **A model-based property test** ([`Suite::check_model`]): proptest
//!   generates random sequences of [`Op`]s, applies each one to the store
//!   under test *and* to a `BTreeMap` (the model, obviously correct), and
//!   compares the two after every step. When they disagree, proptest shrinks
//!   the sequence and the panic message prints the shortest one it found.
//!
//! ```text
//!   ops:   Set(a,1)  Set(b,2)  Delete(a)  Scan(..)  Reopen  Get(b)
//!            │         │         │          │         │       │
//!   store ───●─────────●─────────●──────────●─────────●───────●──
//!   model ───●─────────●─────────●──────────●─────────●───────●──
//!            └ equal?  └ equal?  └ equal?   └ equal?  └ equal? └ equal?
//! ```
//!
//! A lesson runs the whole suite on its engine with one line:
//!
//! ```
//! # use lesson01_intro::LinearStore as MyStore;
//! lesson01_intro::conformance_tests!(lesson01_intro::testkit::Suite::new(MyStore::new));
//! # fn main() {}
//! ```
//!
//! Engines that keep data on disk also say how to close and reopen a store
//! ([`Suite::with_reopen`]), which adds [`Op::Reopen`] to the random
//! operations: after every reopen, the store must still equal the model.
//!
//! The random sequences come from a fixed seed, so a run is repeatable.

use std::collections::BTreeMap;
use std::fmt::Debug;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};

use crate::kv::{KeyRange, KeyValue, KvStore};

/// One step of a generated test: a call on the store, or a close and reopen.
#[derive(Clone)]
pub enum Op {
    /// `get(key)`.
    Get(Vec<u8>),
    /// `set(key, value)`.
    Set(Vec<u8>, Vec<u8>),
    /// `delete(key)`.
    Delete(Vec<u8>),
    /// `scan(range)`.
    Scan(KeyRange),
    /// `len()`.
    Len,
    /// `flush()`.
    Flush,
    /// Close the store and open it again (only when the suite has a reopen).
    Reopen,
}

/// Prints keys and values as byte strings (`b"a\xff"`), so a failing
/// sequence reads like the code that would reproduce it.
impl Debug for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Op::Get(k) => write!(f, "Get({})", bytes(k)),
            Op::Set(k, v) => write!(f, "Set({}, {})", bytes(k), bytes(v)),
            Op::Delete(k) => write!(f, "Delete({})", bytes(k)),
            Op::Scan(range) => {
                let bound = |b: &std::ops::Bound<Vec<u8>>| match b {
                    std::ops::Bound::Included(k) => format!("Included({})", bytes(k)),
                    std::ops::Bound::Excluded(k) => format!("Excluded({})", bytes(k)),
                    std::ops::Bound::Unbounded => "Unbounded".to_string(),
                };
                write!(f, "Scan({} .. {})", bound(&range.start), bound(&range.end))
            }
            Op::Len => write!(f, "Len"),
            Op::Flush => write!(f, "Flush"),
            Op::Reopen => write!(f, "Reopen"),
        }
    }
}

/// `b"…"` with non-printable bytes escaped; long values are cut short.
fn bytes(b: &[u8]) -> String {
    let shown: String =
        b.iter().take(24).flat_map(|&c| std::ascii::escape_default(c)).map(char::from).collect();
    if b.len() > 24 {
        format!("b\"{shown}…\" ({} bytes)", b.len())
    } else {
        format!("b\"{shown}\"")
    }
}

/// What an operation returned, in a form the store and the model can share.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Outcome {
    Value(Option<Vec<u8>>),
    Unit,
    Deleted(bool),
    Pairs(Vec<KeyValue>),
    Len(usize),
}

type Opener<S> = Box<dyn Fn() -> S>;
type Reopener<S> = Box<dyn Fn(S) -> S>;

// ANCHOR: suite
/// The conformance suite for one engine: how to open a fresh store, and
/// optionally how to close and reopen one.
pub struct Suite<S: KvStore> {
    open: Opener<S>,
    reopen: Option<Reopener<S>>,
    cases: u32,
}

impl<S: KvStore> Suite<S> {
    /// A suite whose stores come from `open`, which must return an empty store.
    pub fn new(open: impl Fn() -> S + 'static) -> Self {
        Self { open: Box::new(open), reopen: None, cases: 256 }
    }

    /// Adds "close and reopen" to the random operations. `reopen` receives
    /// the open store and returns the same data, opened again.
    pub fn with_reopen(mut self, reopen: impl Fn(S) -> S + 'static) -> Self {
        self.reopen = Some(Box::new(reopen));
        self
    }

    /// Sets how many random sequences the model test tries (default 256).
    pub fn with_cases(mut self, cases: u32) -> Self {
        self.cases = cases;
        self
    }
}
// ANCHOR_END: suite

impl<S: KvStore> Suite<S> {
    /// Opens a fresh, empty store.
    pub fn open(&self) -> S {
        (self.open)()
    }

    /// Runs one edge case on a fresh store.
    pub fn check_edge(&self, case: fn(&mut S)) {
        let mut store = self.open();
        case(&mut store);
    }

    /// Runs every edge case, then the model test.
    pub fn run(&self) {
        for (name, case) in edge::all::<S>() {
            eprintln!("conformance: {name}");
            self.check_edge(case);
        }
        self.check_model();
    }

    // ANCHOR: check_model
    /// The model-based property test: random operation sequences, applied to
    /// the store and to a `BTreeMap`, compared after every step.
    ///
    /// Panics with the shortest failing sequence proptest could find.
    pub fn check_model(&self) {
        let config = Config { cases: self.cases, failure_persistence: None, ..Config::default() };
        let rng = TestRng::deterministic_rng(RngAlgorithm::ChaCha);
        let mut runner = TestRunner::new_with_rng(config, rng);
        let strategy = proptest::collection::vec(op_strategy(self.reopen.is_some()), 1..48);

        let result = runner.run(&strategy, |ops| {
            let mut store = (self.open)();
            let mut model = BTreeMap::new();
            for (step, op) in ops.iter().enumerate() {
                if let Op::Reopen = op {
                    let reopen = self.reopen.as_ref().expect("Reopen only with a reopen");
                    store = reopen(store);
                    compare_state(&mut store, &model, step, op)?;
                    continue;
                }
                let got = apply(&mut store, op).map_err(|e| fail(step, op, e))?;
                let want = apply_model(&mut model, op);
                if got != want {
                    return Err(fail(step, op, format!("store gave {got:?}, model gave {want:?}")));
                }
                compare_state(&mut store, &model, step, op)?;
            }
            Ok(())
        });

        match result {
            Ok(()) => {}
            Err(TestError::Fail(reason, ops)) => {
                let steps: Vec<String> =
                    ops.iter().enumerate().map(|(i, op)| format!("  {i}: {op:?}")).collect();
                panic!(
                    "conformance failed: {reason}\nshortest failing sequence:\n{}",
                    steps.join("\n")
                )
            }
            Err(TestError::Abort(reason)) => panic!("conformance aborted: {reason}"),
        }
    }
    // ANCHOR_END: check_model
}

fn fail(step: usize, op: &Op, what: impl std::fmt::Display) -> TestCaseError {
    TestCaseError::fail(format!("at step {step}, {op:?}: {what}"))
}

/// Applies `op` to the store under test.
fn apply<S: KvStore>(store: &mut S, op: &Op) -> Result<Outcome, S::Error> {
    Ok(match op {
        Op::Get(key) => Outcome::Value(store.get(key)?),
        Op::Set(key, value) => {
            store.set(key.clone(), value.clone())?;
            Outcome::Unit
        }
        Op::Delete(key) => Outcome::Deleted(store.delete(key)?),
        Op::Scan(range) => Outcome::Pairs(store.scan(range.clone())?),
        Op::Len => Outcome::Len(store.len()?),
        Op::Flush => {
            store.flush()?;
            Outcome::Unit
        }
        Op::Reopen => Outcome::Unit,
    })
}

/// Applies `op` to the model: a `BTreeMap` is a correct sorted key-value
/// store by construction, so it says what every engine must answer.
fn apply_model(model: &mut BTreeMap<Vec<u8>, Vec<u8>>, op: &Op) -> Outcome {
    match op {
        Op::Get(key) => Outcome::Value(model.get(key).cloned()),
        Op::Set(key, value) => {
            model.insert(key.clone(), value.clone());
            Outcome::Unit
        }
        Op::Delete(key) => Outcome::Deleted(model.remove(key).is_some()),
        // Not `model.range(..)`: that panics when start > end, and the trait
        // promises an empty answer for such a range, not a crash.
        Op::Scan(range) => Outcome::Pairs(
            model
                .iter()
                .filter(|(k, _)| range.contains(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        Op::Len => Outcome::Len(model.len()),
        Op::Flush | Op::Reopen => Outcome::Unit,
    }
}

/// After each step, the whole store must equal the model, not only the
/// answer to the last operation: this catches a `set` that also clobbers a
/// neighbour, or a reopen that loses keys nobody asked about yet.
fn compare_state<S: KvStore>(
    store: &mut S,
    model: &BTreeMap<Vec<u8>, Vec<u8>>,
    step: usize,
    op: &Op,
) -> Result<(), TestCaseError> {
    let len = store.len().map_err(|e| fail(step, op, e))?;
    if len != model.len() {
        return Err(fail(step, op, format!("len() is {len}, model has {} keys", model.len())));
    }
    let pairs = store.scan(KeyRange::all()).map_err(|e| fail(step, op, e))?;
    let want: Vec<_> = model.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    if pairs != want {
        return Err(fail(step, op, format!("scan(all) is {pairs:?}, model is {want:?}")));
    }
    Ok(())
}

// ANCHOR: strategy
/// Keys come from a tiny alphabet and are short, so that random operations
/// hit the same keys often (overwrites, deletes of present keys) and cover
/// the awkward bytes: `0x00` and `0xff`, which break prefix arithmetic.
fn key_strategy() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(prop::sample::select(vec![0x00, b'a', b'b', 0xff]), 0..3)
}

/// Values are mostly small, sometimes empty, and now and then large.
fn value_strategy() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        10 => proptest::collection::vec(any::<u8>(), 0..8),
        1 => proptest::collection::vec(any::<u8>(), 1000..5000),
    ]
}

fn bound_strategy() -> impl Strategy<Value = std::ops::Bound<Vec<u8>>> {
    use std::ops::Bound;
    prop_oneof![
        key_strategy().prop_map(Bound::Included),
        key_strategy().prop_map(Bound::Excluded),
        Just(Bound::Unbounded),
    ]
}

fn range_strategy() -> impl Strategy<Value = KeyRange> {
    prop_oneof![
        Just(KeyRange::all()),
        key_strategy().prop_map(|p| KeyRange::prefix(&p)),
        (bound_strategy(), bound_strategy()).prop_map(|(start, end)| KeyRange { start, end }),
    ]
}

fn op_strategy(with_reopen: bool) -> BoxedStrategy<Op> {
    let ops = prop_oneof![
        4 => key_strategy().prop_map(Op::Get),
        6 => (key_strategy(), value_strategy()).prop_map(|(k, v)| Op::Set(k, v)),
        3 => key_strategy().prop_map(Op::Delete),
        2 => range_strategy().prop_map(Op::Scan),
        1 => Just(Op::Len),
        1 => Just(Op::Flush),
    ];
    if with_reopen { prop_oneof![12 => ops, 1 => Just(Op::Reopen)].boxed() } else { ops.boxed() }
}
// ANCHOR_END: strategy

/// Named edge cases. Each gets a fresh, empty store and panics if the store
/// breaks the promise in its name.
pub mod edge {
    use super::*;

    /// An edge case: a name and a check to run on a fresh store.
    pub type EdgeCase<S> = (&'static str, fn(&mut S));

    /// Every edge case, for [`Suite::run`] and the [`conformance_tests!`](crate::conformance_tests) macro.
    pub fn all<S: KvStore>() -> Vec<EdgeCase<S>> {
        vec![
            ("get_missing", get_missing::<S>),
            ("set_then_get", set_then_get::<S>),
            ("empty_key", empty_key::<S>),
            ("empty_value", empty_value::<S>),
            ("large_value", large_value::<S>),
            ("binary_key_and_value", binary_key_and_value::<S>),
            ("overwrite", overwrite::<S>),
            ("delete_missing", delete_missing::<S>),
            ("delete_then_get", delete_then_get::<S>),
            ("len_counts_keys", len_counts_keys::<S>),
            ("scan_in_key_order", scan_in_key_order::<S>),
            ("scan_prefix", scan_prefix::<S>),
            ("scan_bounds", scan_bounds::<S>),
            ("many_keys", many_keys::<S>),
        ]
    }

    fn ok<T, E: Debug>(result: Result<T, E>) -> T {
        result.expect("the store returned an error")
    }

    /// A key that was never set is not there.
    pub fn get_missing<S: KvStore>(s: &mut S) {
        assert_eq!(ok(s.get(b"nope")), None);
        assert!(ok(s.is_empty()));
    }

    /// What you set is what you get.
    pub fn set_then_get<S: KvStore>(s: &mut S) {
        ok(s.set(b"k".to_vec(), b"v".to_vec()));
        assert_eq!(ok(s.get(b"k")), Some(b"v".to_vec()));
        assert_eq!(ok(s.get(b"K")), None, "keys are case-sensitive bytes");
    }

    /// The empty key is a key like any other.
    pub fn empty_key<S: KvStore>(s: &mut S) {
        ok(s.set(Vec::new(), b"empty".to_vec()));
        assert_eq!(ok(s.get(b"")), Some(b"empty".to_vec()));
        assert_eq!(ok(s.len()), 1);
        assert!(ok(s.delete(b"")));
        assert_eq!(ok(s.get(b"")), None);
    }

    /// An empty value is a value, not an absence.
    pub fn empty_value<S: KvStore>(s: &mut S) {
        ok(s.set(b"k".to_vec(), Vec::new()));
        assert_eq!(ok(s.get(b"k")), Some(Vec::new()));
        assert_eq!(ok(s.len()), 1);
    }

    /// A 1 MiB value comes back byte for byte.
    pub fn large_value<S: KvStore>(s: &mut S) {
        let value: Vec<u8> =
            (0..1 << 20).map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
        ok(s.set(b"big".to_vec(), value.clone()));
        assert!(ok(s.get(b"big")) == Some(value), "the 1 MiB value came back different");
    }

    /// Every byte value is allowed in keys and values: no terminators, no escaping.
    pub fn binary_key_and_value<S: KvStore>(s: &mut S) {
        let all: Vec<u8> = (0..=255).collect();
        ok(s.set(all.clone(), all.iter().rev().copied().collect()));
        ok(s.set(b"\0".to_vec(), b"\r\n\0".to_vec()));
        assert_eq!(ok(s.get(&all)), Some(all.iter().rev().copied().collect()));
        assert_eq!(ok(s.get(b"\0")), Some(b"\r\n\0".to_vec()));
        assert_eq!(ok(s.get(b"")), None);
    }

    /// Setting an existing key replaces its value and does not add a key.
    pub fn overwrite<S: KvStore>(s: &mut S) {
        ok(s.set(b"k".to_vec(), b"first".to_vec()));
        ok(s.set(b"k".to_vec(), b"second, longer".to_vec()));
        ok(s.set(b"k".to_vec(), b"3rd".to_vec()));
        assert_eq!(ok(s.get(b"k")), Some(b"3rd".to_vec()));
        assert_eq!(ok(s.len()), 1);
    }

    /// Deleting a key that is not there reports `false` and changes nothing.
    pub fn delete_missing<S: KvStore>(s: &mut S) {
        ok(s.set(b"a".to_vec(), b"1".to_vec()));
        assert!(!ok(s.delete(b"b")));
        assert_eq!(ok(s.len()), 1);
        assert_eq!(ok(s.get(b"a")), Some(b"1".to_vec()));
    }

    /// A deleted key is gone, once: the second delete reports `false`.
    pub fn delete_then_get<S: KvStore>(s: &mut S) {
        ok(s.set(b"a".to_vec(), b"1".to_vec()));
        ok(s.set(b"b".to_vec(), b"2".to_vec()));
        assert!(ok(s.delete(b"a")));
        assert!(!ok(s.delete(b"a")));
        assert_eq!(ok(s.get(b"a")), None);
        assert_eq!(ok(s.get(b"b")), Some(b"2".to_vec()));
        ok(s.set(b"a".to_vec(), b"again".to_vec()));
        assert_eq!(ok(s.get(b"a")), Some(b"again".to_vec()));
    }

    /// `len` counts distinct live keys.
    pub fn len_counts_keys<S: KvStore>(s: &mut S) {
        assert_eq!(ok(s.len()), 0);
        for key in [b"x", b"y", b"z", b"x"] {
            ok(s.set(key.to_vec(), b"v".to_vec()));
        }
        assert_eq!(ok(s.len()), 3);
        ok(s.delete(b"y"));
        assert_eq!(ok(s.len()), 2);
        assert!(!ok(s.is_empty()));
    }

    /// `scan` returns pairs sorted by key bytes, whatever the insertion order.
    pub fn scan_in_key_order<S: KvStore>(s: &mut S) {
        for key in [&b"b"[..], b"a", b"ab", b"\xff", b"", b"B"] {
            ok(s.set(key.to_vec(), key.to_vec()));
        }
        let keys: Vec<_> = ok(s.scan(KeyRange::all())).into_iter().map(|(k, _)| k).collect();
        let want: Vec<&[u8]> = vec![b"", b"B", b"a", b"ab", b"b", b"\xff"];
        assert_eq!(keys, want);
    }

    /// A prefix scan finds exactly the keys that start with the prefix.
    pub fn scan_prefix<S: KvStore>(s: &mut S) {
        for key in [&b"user:1"[..], b"user:2", b"user;", b"users", b"use", b"user:\xff", b"v"] {
            ok(s.set(key.to_vec(), b"v".to_vec()));
        }
        let keys: Vec<_> =
            ok(s.scan(KeyRange::prefix(b"user:"))).into_iter().map(|(k, _)| k).collect();
        let want: Vec<&[u8]> = vec![b"user:1", b"user:2", b"user:\xff"];
        assert_eq!(keys, want);
    }

    /// Included and excluded bounds are honoured at both ends.
    pub fn scan_bounds<S: KvStore>(s: &mut S) {
        for key in [b"a", b"b", b"c", b"d"] {
            ok(s.set(key.to_vec(), b"v".to_vec()));
        }
        let keys = |s: &mut S, range| -> Vec<Vec<u8>> {
            ok(s.scan(range)).into_iter().map(|(k, _)| k).collect()
        };
        assert_eq!(keys(s, KeyRange::new(b"b".to_vec()..b"d".to_vec())), [b"b", b"c"]);
        assert_eq!(keys(s, KeyRange::new(b"b".to_vec()..=b"d".to_vec())), [b"b", b"c", b"d"]);
        let excluded_start = KeyRange {
            start: std::ops::Bound::Excluded(b"a".to_vec()),
            end: std::ops::Bound::Unbounded,
        };
        assert_eq!(keys(s, excluded_start), [b"b", b"c", b"d"]);
        assert_eq!(keys(s, KeyRange::new(b"x".to_vec()..)), Vec::<Vec<u8>>::new());
    }

    /// A thousand keys, all retrievable, half deleted, the rest intact.
    pub fn many_keys<S: KvStore>(s: &mut S) {
        for i in 0..1000u32 {
            ok(s.set(format!("key{i}").into_bytes(), i.to_be_bytes().to_vec()));
        }
        for i in (0..1000u32).step_by(2) {
            assert!(ok(s.delete(format!("key{i}").as_bytes())));
        }
        assert_eq!(ok(s.len()), 500);
        for i in 0..1000u32 {
            let want = (i % 2 == 1).then(|| i.to_be_bytes().to_vec());
            assert_eq!(ok(s.get(format!("key{i}").as_bytes())), want, "key{i}");
        }
    }
}

/// Declares the conformance suite as `#[test]` functions, one per edge case
/// plus the model test, so a failure names the broken promise.
///
/// The argument is an expression that builds a [`Suite`]; it is evaluated
/// once per test.
///
/// ```
/// use lesson01_intro::LinearStore;
/// lesson01_intro::conformance_tests!(lesson01_intro::testkit::Suite::new(LinearStore::new));
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! conformance_tests {
    ($suite:expr) => {
        // Keep this list in step with `edge::all`.
        $crate::conformance_tests!(@edges $suite;
            get_missing, set_then_get, empty_key, empty_value, large_value,
            binary_key_and_value, overwrite, delete_missing, delete_then_get,
            len_counts_keys, scan_in_key_order, scan_prefix, scan_bounds, many_keys);

        #[test]
        fn model_based() {
            $suite.check_model();
        }
    };
    (@edges $suite:expr; $($case:ident),*) => {
        $(
            #[test]
            fn $case() {
                let suite = $suite;
                suite.check_edge($crate::testkit::edge::$case);
            }
        )*
    };
}
