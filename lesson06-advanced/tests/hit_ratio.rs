//! Hit ratios on seeded traces: LRU, S3-FIFO, and quick_cache (the crate a
//! user would pick) on the same accesses. The table is the book's.

use std::collections::hash_map::DefaultHasher;
use std::fmt::Write as _;
use std::hash::BuildHasherDefault;

use lesson06_advanced::cache::{Lru, PageId, Policy, S3Fifo, hit_ratio};
use lesson06_advanced::trace;

/// quick_cache's unsynchronized cache behind our `Policy`, with a fixed
/// hasher so that its decisions, too, are the same on every run.
struct QuickCache {
    cache: quick_cache::unsync::Cache<
        PageId,
        (),
        quick_cache::UnitWeighter,
        BuildHasherDefault<DefaultHasher>,
    >,
    capacity: usize,
}

impl QuickCache {
    fn new(capacity: usize) -> Self {
        let cache = quick_cache::unsync::Cache::with(
            capacity,
            capacity as u64,
            quick_cache::UnitWeighter,
            BuildHasherDefault::default(),
            quick_cache::unsync::DefaultLifecycle::default(),
        );
        Self { cache, capacity }
    }
}

impl Policy<()> for QuickCache {
    fn name(&self) -> &'static str {
        "quick_cache 0.6"
    }
    fn contains(&self, page: PageId) -> bool {
        self.cache.peek(&page).is_some()
    }
    fn lookup(&mut self, page: PageId) -> Option<usize> {
        self.cache.get(&page).map(|()| 0)
    }
    fn slot(&self, page: PageId) -> Option<usize> {
        self.contains(page).then_some(0)
    }
    fn value(&self, _slot: usize) -> &() {
        &()
    }
    fn replace(&mut self, _slot: usize, (): ()) {}
    fn insert(&mut self, page: PageId, (): ()) -> (usize, Option<PageId>) {
        self.cache.insert(page, ());
        (0, None)
    }
    fn len(&self) -> usize {
        self.cache.len()
    }
    fn capacity(&self) -> usize {
        self.capacity
    }
    fn clear(&mut self) {
        self.cache.clear();
    }
}

const PAGES: usize = 20_000;

fn policies(capacity: usize) -> Vec<Box<dyn Policy<()>>> {
    vec![
        Box::new(Lru::new(capacity)),
        Box::new(S3Fifo::new(capacity)),
        Box::new(QuickCache::new(capacity)),
    ]
}

/// Hit ratios over the 2,000 reads just before a full scan and the 2,000
/// just after it, for a warm cache: how much of the hot set the scan
/// pushed out. (Over a longer window, LRU would have time to reload it.)
fn around_a_scan(policy: &mut dyn Policy<()>) -> (f64, f64) {
    let reads = trace::zipfian(PAGES, 0.99, 104_000, 7);
    let (warm, rest) = reads.split_at(100_000);
    let (before, after) = rest.split_at(2_000);
    hit_ratio(policy, warm);
    let before = hit_ratio(policy, before);
    hit_ratio(policy, &trace::scan(PAGES));
    (before, hit_ratio(policy, after))
}

#[test]
fn hit_ratio_table() {
    let reads = trace::zipfian(PAGES, 0.99, 300_000, 1);
    let mut results: Vec<(&'static str, [f64; 4])> = Vec::new();
    for (i, small) in policies(PAGES / 100).into_iter().enumerate() {
        let mut small = small;
        let mut large = policies(PAGES / 10).remove(i);
        let mut scanned = policies(PAGES / 10).remove(i);
        let (before, after) = around_a_scan(scanned.as_mut());
        results.push((
            small.name(),
            [hit_ratio(small.as_mut(), &reads), hit_ratio(large.as_mut(), &reads), before, after],
        ));
    }
    let mut table = String::from(
        "Zipf s = 0.99 over 20,000 pages      cache = 1%   cache = 10%   10%, just before a scan   just after\n",
    );
    for (name, [one, ten, before, after]) in &results {
        let pct = |x: f64| format!("{:.1}%", x * 100.0);
        writeln!(
            table,
            "{name:<36} {:>10} {:>13} {:>25} {:>12}",
            pct(*one),
            pct(*ten),
            pct(*before),
            pct(*after)
        )
        .unwrap();
    }
    println!("{table}");
    let [lru, s3, quick] = [&results[0].1, &results[1].1, &results[2].1];
    // S3-FIFO beats LRU at both sizes.
    assert!(s3[0] > lru[0] && s3[1] > lru[1], "{table}");
    // A scan flushes LRU; S3-FIFO barely notices.
    assert!(lru[2] - lru[3] > 0.05, "{table}");
    assert!(s3[2] - s3[3] < 0.02, "{table}");
    // The goal: within 2 points of the cache a user would pick.
    for size in 0..2 {
        assert!(s3[size] > quick[size] - 0.02, "{table}");
    }
    insta::assert_snapshot!(table);
}

/// Hit ratio against cache size, per policy, on the table's trace: the
/// book's plot. Ignored by default, a measurement;
/// `cargo x measure --set lesson06-hit-ratio` runs it and plots its lines.
#[test]
#[ignore = "a measurement for the book's plot; cargo x measure runs it"]
fn hit_ratio_by_cache_size() {
    let reads = trace::zipfian(PAGES, 0.99, 300_000, 1);
    for (i, name) in ["lru", "s3-fifo", "quick_cache"].into_iter().enumerate() {
        let mut last = 0.0;
        for share in [200, 100, 50, 20, 10, 5, 2] {
            let capacity = PAGES / share;
            let mut policy = policies(capacity).remove(i);
            let ratio = hit_ratio(policy.as_mut(), &reads);
            // A bigger cache never hits less often, for any of the three.
            assert!(ratio >= last, "{name} at {capacity} pages: {ratio} < {last}");
            last = ratio;
            println!("measure: {name}/{capacity} pages = {ratio:.4}");
        }
    }
}
