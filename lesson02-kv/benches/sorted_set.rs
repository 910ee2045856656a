//! The sorted set's skip list against what a Rust user would build a
//! sorted set from, in one run: a `BTreeSet<(score, member)>` alone (order
//! only: no lookup by member), and a `BTreeMap`-based sorted set (the same
//! tree of (score, member), plus a hash map from member to score, as ours
//! has beside its skip list: hashbrown's, the same as ours).
//!
//! `cargo bench -p lesson02-kv --bench sorted_set`. 100,000 members of 8
//! bytes, scores drawn from 0..1,000,000 (so some tie):
//!
//! - `insert`: 10,000 members into an empty set, per iteration.
//! - `rank`: the rank of a member (`ZRANK`); a B-tree has no ranks, so it
//!   counts the members before it.
//! - `range`: the first 10 members with scores from a bound
//!   (`ZRANGE … BYSCORE LIMIT 0 10`), collected with their scores into a
//!   `Vec`, as each does to answer.

// criterion's macros generate functions that cannot carry doc comments.
#![allow(missing_docs)]

use std::collections::{BTreeMap, BTreeSet};
use std::hint::black_box;
use std::ops::Bound;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use hashbrown::HashMap;
use lesson02_kv::zset::SortedSet;

/// A score with a total order, for the B-trees' keys (no NaN is ever put in).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Score(f64);
impl Eq for Score {}
impl PartialOrd for Score {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Score {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// The BTreeMap-based sorted set: a tree in order, a map by member.
#[derive(Default)]
struct TreeSortedSet {
    order: BTreeMap<(Score, Vec<u8>), ()>,
    scores: HashMap<Vec<u8>, f64>,
}

impl TreeSortedSet {
    fn insert(&mut self, member: &[u8], score: f64) {
        if let Some(old) = self.scores.insert(member.to_vec(), score) {
            self.order.remove(&(Score(old), member.to_vec()));
        }
        self.order.insert((Score(score), member.to_vec()), ());
    }

    fn rank(&self, member: &[u8]) -> Option<usize> {
        let score = *self.scores.get(member)?;
        Some(self.order.range(..(Score(score), member.to_vec())).count())
    }
}

/// `n` members and their scores, from a seed.
fn members(n: usize) -> Vec<(Vec<u8>, f64)> {
    let mut state = 42u64;
    (0..n)
        .map(|i| {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((i as u64).to_be_bytes().to_vec(), ((state >> 33) % 1_000_000) as f64)
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let all = members(100_000);
    let mut group = c.benchmark_group("sorted set");
    group.measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));

    let batch = &all[..10_000];
    group.bench_function("insert 10k/skip list", |b| {
        b.iter(|| {
            let mut set = SortedSet::new(1);
            for (member, score) in batch {
                set.insert(member, *score);
            }
            black_box(set.len())
        });
    });
    group.bench_function("insert 10k/BTreeSet", |b| {
        b.iter(|| {
            let mut set = BTreeSet::new();
            for (member, score) in batch {
                set.insert((Score(*score), member.clone()));
            }
            black_box(set.len())
        });
    });
    group.bench_function("insert 10k/BTreeMap sorted set", |b| {
        b.iter(|| {
            let mut set = TreeSortedSet::default();
            for (member, score) in batch {
                set.insert(member, *score);
            }
            black_box(set.order.len())
        });
    });

    let mut ours = SortedSet::new(1);
    let mut tree = TreeSortedSet::default();
    let mut btree_set = BTreeSet::new();
    for (member, score) in &all {
        ours.insert(member, *score);
        tree.insert(member, *score);
        btree_set.insert((Score(*score), member.clone()));
    }
    let probes: Vec<&(Vec<u8>, f64)> = all.iter().step_by(97).collect();
    let mut i = 0;
    let mut next = || {
        i = (i + 1) % probes.len();
        probes[i]
    };
    group.bench_function("rank/skip list", |b| b.iter(|| black_box(ours.rank(&next().0, false))));
    group.bench_function("rank/BTreeMap sorted set", |b| {
        b.iter(|| black_box(tree.rank(&next().0)));
    });
    group.bench_function("rank/BTreeSet", |b| {
        b.iter(|| {
            let (member, score) = next();
            black_box(btree_set.range(..(Score(*score), member.clone())).count())
        });
    });
    group.bench_function("range 10/skip list", |b| {
        b.iter(|| {
            let from = Bound::Included(next().1);
            black_box(ours.range_by_score(from, Bound::Unbounded, false, 0, 10).len())
        });
    });
    group.bench_function("range 10/BTreeSet", |b| {
        b.iter(|| {
            let from = (Score(next().1), Vec::new());
            // Collected as ours are: the members and scores, in a Vec.
            let found: Vec<(&[u8], f64)> =
                btree_set.range(from..).take(10).map(|(s, m)| (m.as_slice(), s.0)).collect();
            black_box(found.len())
        });
    });
    group.bench_function("range 10/BTreeMap sorted set", |b| {
        b.iter(|| {
            let from = (Score(next().1), Vec::new());
            let found: Vec<(&[u8], f64)> =
                tree.order.range(from..).take(10).map(|((s, m), ())| (m.as_slice(), s.0)).collect();
            black_box(found.len())
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
