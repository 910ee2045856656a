//! The lookup timing table: the same lookups in a linear scan, a hash map
//! and a B-tree map, at growing sizes. It is the reason the rest of the
//! course exists: the linear scan's cost grows with n, the others' barely.
//!
//! These are rough wall-clock numbers from `Instant`, good enough to show an
//! O(n) curve. The careful measurement is the criterion bench
//! (`cargo bench -p lesson01-intro`), whose results the book prints.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;
use std::hint::black_box;
use std::time::Instant;

use crate::kv::KvStore;
use crate::linear::LinearStore;

/// Average nanoseconds per lookup, for one size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimingRow {
    /// Number of keys in each structure.
    pub n: usize,
    /// `LinearStore` (a `Vec` of pairs).
    pub linear_ns: f64,
    /// `std::collections::HashMap`.
    pub hash_ns: f64,
    /// `std::collections::BTreeMap`.
    pub btree_ns: f64,
}

/// The key for number `i`: fixed width, so all keys cost the same to compare.
pub fn key(i: usize) -> Vec<u8> {
    format!("key{i:010}").into_bytes()
}

/// A deterministic, well-spread sequence of `count` key numbers below `n`,
/// so lookups hit the whole structure, not only its first keys.
pub fn probes(n: usize, count: usize) -> Vec<usize> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..count)
        .map(|_| {
            // xorshift64: cheap and good enough to spread probes.
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % n as u64) as usize
        })
        .collect()
}

// ANCHOR: measure
/// Times `lookups` successful lookups in each structure holding `n` keys.
pub fn measure(n: usize, lookups: usize) -> TimingRow {
    let mut linear = LinearStore::new();
    let mut hash = HashMap::new();
    let mut btree = BTreeMap::new();
    for i in 0..n {
        linear.set(key(i), key(i)).expect("infallible");
        hash.insert(key(i), key(i));
        btree.insert(key(i), key(i));
    }
    let probes: Vec<Vec<u8>> = probes(n, lookups).into_iter().map(key).collect();
    // Every lookup returns an owned copy of the value, as `KvStore::get` does,
    // so the three do the same work.
    let time = |lookup: &mut dyn FnMut(&[u8]) -> Option<Vec<u8>>| {
        let start = Instant::now();
        for probe in &probes {
            assert!(black_box(lookup(black_box(probe))).is_some());
        }
        start.elapsed().as_nanos() as f64 / lookups as f64
    };
    TimingRow {
        n,
        linear_ns: time(&mut |k| linear.get(k).expect("infallible")),
        hash_ns: time(&mut |k| hash.get(k).cloned()),
        btree_ns: time(&mut |k| btree.get(k).cloned()),
    }
}
// ANCHOR_END: measure

/// How many lookups to time at size `n`: fewer for big n, where each linear
/// lookup is slow, but never so few that the numbers are noise.
pub fn lookups_for(n: usize) -> usize {
    (20_000_000 / n.max(1)).clamp(200, 100_000)
}

/// Renders rows as the table the binary prints.
pub fn render(rows: &[TimingRow]) -> String {
    let mut out = String::new();
    writeln!(
        out,
        "Average time per successful lookup (rough; see `cargo bench -p lesson01-intro`):"
    )
    .unwrap();
    writeln!(out).unwrap();
    writeln!(
        out,
        "{:>9} | {:>14} | {:>10} | {:>10} | {:>13}",
        "n", "linear scan", "HashMap", "BTreeMap", "linear/hash"
    )
    .unwrap();
    writeln!(out, "{:->9}-+-{:->14}-+-{:->10}-+-{:->10}-+-{:->13}", "", "", "", "", "").unwrap();
    for row in rows {
        writeln!(
            out,
            "{:>9} | {:>14} | {:>10} | {:>10} | {:>13}",
            row.n,
            nanos(row.linear_ns),
            nanos(row.hash_ns),
            nanos(row.btree_ns),
            ratio(row.linear_ns / row.hash_ns.max(0.001)),
        )
        .unwrap();
    }
    out
}

/// Formats a ratio: one decimal while it is small, none once it is large.
fn ratio(r: f64) -> String {
    if r < 10.0 { format!("{r:.1}x") } else { format!("{r:.0}x") }
}

/// Formats a duration in nanoseconds with a unit that keeps it readable.
fn nanos(ns: f64) -> String {
    if ns >= 1_000_000.0 {
        format!("{:.1} ms", ns / 1_000_000.0)
    } else if ns >= 1_000.0 {
        format!("{:.1} µs", ns / 1_000.0)
    } else {
        format!("{ns:.0} ns")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_stay_in_range_and_spread_out() {
        let p = probes(1000, 5000);
        assert!(p.iter().all(|&i| i < 1000));
        let distinct: std::collections::HashSet<_> = p.iter().collect();
        assert!(distinct.len() > 900, "only {} distinct probes", distinct.len());
    }

    #[test]
    fn render_formats_units_and_ratio() {
        let rows =
            [TimingRow { n: 100_000, linear_ns: 2_500_000.0, hash_ns: 25.0, btree_ns: 1_500.0 }];
        let table = render(&rows);
        let last = table.lines().last().unwrap();
        assert_eq!(last, "   100000 |         2.5 ms |      25 ns |     1.5 µs |       100000x");
    }

    #[test]
    fn measure_finds_every_probe() {
        // `measure` asserts every lookup succeeds; a small run proves the
        // three structures were filled with the same keys.
        let row = measure(50, 200);
        assert_eq!(row.n, 50);
        assert!(row.linear_ns > 0.0 && row.hash_ns > 0.0 && row.btree_ns > 0.0);
    }
}
