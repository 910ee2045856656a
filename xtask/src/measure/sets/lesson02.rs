//! Lesson 2: the store against bare hash tables, and the skip list against
//! B-tree sorted sets.

use super::{Rendered, Run, Set, span};
use crate::measure::data::DataFile;
use crate::measure::format::{self, Table};

pub(super) fn sets() -> Vec<Set> {
    vec![
        Set {
            name: "lesson02-store",
            lesson: 2,
            runs: vec![Run::bench("lesson02-kv", "store")],
            render: store,
        },
        Set {
            name: "lesson02-sorted-set",
            lesson: 2,
            runs: vec![Run::bench("lesson02-kv", "sorted_set")],
            render: sorted_set,
        },
    ]
}

const OPERATIONS: [(&str, &str); 4] = [
    ("get", "get"),
    ("set_overwrite", "set (overwrite)"),
    ("set_new", "set (new key)"),
    ("delete", "delete"),
];

fn store(data: &DataFile) -> Result<Rendered, String> {
    let per = |op: &str, n: u64, who: &str| data.ns_per_element(&format!("{op}/{n}/{who}"));
    let mut out = Rendered::default();
    let mut table = Table::new(&[
        "operation",
        "keys",
        "store",
        "hashbrown",
        "std",
        "store / hashbrown",
        "std / hashbrown",
    ]);
    let mut small_store = Vec::new();
    let mut small_std = Vec::new();
    let mut big_store = Vec::new();
    for (op, name) in OPERATIONS {
        for n in [10_000, 1_000_000] {
            let (store, hb, std) =
                (per(op, n, "store")?, per(op, n, "hashbrown")?, per(op, n, "std")?);
            table.row(vec![
                name.into(),
                format::count(n as f64),
                format::time(store),
                format::time(hb),
                format::time(std),
                format::ratio(store / hb),
                format::ratio(std / hb),
            ]);
            out.ratio(&format!("store / hashbrown, {name}, {n} keys"), store / hb);
            if n == 10_000 {
                small_store.push(store / hb);
                small_std.push(std / hb);
            } else {
                big_store.push(store / hb);
            }
        }
    }
    out.table("table", &table);
    let (lo, hi) = span(&small_store);
    out.value("store-small", format::ratio_range(lo, hi));
    out.claim(hi < 1.25, "the store costs little over the bare table at 10,000 keys");
    let (_, big_hi) = span(&big_store);
    out.value("store-big-max", format::ratio(big_hi));
    let (lo, hi) = span(&small_std);
    out.value("std-small", format::ratio_range(lo, hi));
    out.claim(lo > 1.0, "std's HashMap is slower than hashbrown on every operation at 10,000 keys");
    let growth = per("get", 1_000_000, "store")? / per("get", 10_000, "store")?;
    out.value("get-growth", format::ratio(growth));
    out.claim(
        growth > 1.5,
        "at a million keys, lookups cost more than at 10,000: memory dominates",
    );
    let new_key = per("set_new", 1_000_000, "store")? / per("set_new", 10_000, "store")?;
    out.claim(new_key < 1.3, "inserting a new key stays flat from 10,000 keys to a million");
    let delete = per("delete", 1_000_000, "store")? / per("delete", 10_000, "store")?;
    out.value("delete-growth", format::ratio(delete));
    Ok(out)
}

fn sorted_set(data: &DataFile) -> Result<Rendered, String> {
    let t = |case: &str, who: &str| data.ns(&format!("sorted set/{case}/{who}"));
    let mut out = Rendered::default();
    let mut table = Table::new(&[
        "operation",
        "skip list",
        "BTreeMap sorted set",
        "BTreeSet",
        "skip list / BTreeMap sorted set",
    ]);
    let cases = [
        ("insert 10k", "insert 10,000 into an empty set"),
        ("rank", "`ZRANK` of a member"),
        ("range 10", "first 10 members from a score, collected with their scores"),
    ];
    for (case, name) in cases {
        let (skip, map, set) =
            (t(case, "skip list")?, t(case, "BTreeMap sorted set")?, t(case, "BTreeSet")?);
        table.row(vec![
            name.into(),
            format::time(skip),
            format::time(map),
            format::time(set),
            format::ratio(skip / map),
        ]);
        out.ratio(&format!("skip list / BTreeMap sorted set, {case}"), skip / map);
    }
    out.table("table", &table);
    let rank = t("rank", "BTreeMap sorted set")? / t("rank", "skip list")?;
    out.value("rank-speedup", format::ratio(rank));
    out.claim(rank > 10.0, "rank is the skip list's point: many times faster than the B-trees");
    for (case, anchor) in [("insert 10k", "insert"), ("range 10", "range")] {
        let r = t(case, "skip list")? / t(case, "BTreeMap sorted set")?;
        // Near the goal, two decimals: "2.04×, just over the goal of 2×".
        let shown =
            if (r / 2.0 - 1.0).abs() < 0.1 { format!("{r:.2}×") } else { format::ratio(r) };
        out.value(&format!("{anchor}-ratio"), shown);
        out.value(&format!("{anchor}-goal"), goal(r, 2.0));
    }
    Ok(out)
}

/// Whether a ratio (ours over theirs, lower is better) meets a goal, in
/// words: "just over" when the ratio, rounded, looks like the goal.
fn goal(ratio: f64, goal: f64) -> String {
    let verdict = if ratio <= goal {
        "within"
    } else if ratio < goal * 1.05 {
        "just over"
    } else {
        "over"
    };
    format!("{verdict} the goal of {goal}×")
}
