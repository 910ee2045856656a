//! Lesson 1: lookups in a linear scan, a `HashMap` and a `BTreeMap`.

use super::{Rendered, Run, Set, span};
use crate::measure::data::DataFile;
use crate::measure::format::{self, Table};
use crate::measure::plot::{self, Series};

pub(super) fn sets() -> Vec<Set> {
    vec![Set {
        name: "lesson01-lookup",
        lesson: 1,
        runs: vec![Run::bench("lesson01-intro", "lookup")],
        render,
    }]
}

const SIZES: [u64; 3] = [10, 1_000, 100_000];
const CONTENDERS: [(&str, &str); 3] =
    [("linear_scan", "linear scan"), ("hash_map", "`HashMap`"), ("btree_map", "`BTreeMap`")];

fn render(data: &DataFile) -> Result<Rendered, String> {
    let per = |who: &str, n: u64| data.ns_per_element(&format!("lookup/{who}/{n}"));
    let mut out = Rendered::default();
    let mut table = Table::new(&[
        "n",
        "linear scan",
        "`HashMap`",
        "`BTreeMap`",
        "linear / `HashMap`",
        "`BTreeMap` / `HashMap`",
    ]);
    for n in SIZES {
        let (linear, hash, btree) =
            (per("linear_scan", n)?, per("hash_map", n)?, per("btree_map", n)?);
        table.row(vec![
            format::count(n as f64),
            format::time(linear),
            format::time(hash),
            format::time(btree),
            format::ratio(linear / hash),
            format::ratio(btree / hash),
        ]);
        out.ratio(&format!("linear / HashMap, n = {n}"), linear / hash);
        out.ratio(&format!("BTreeMap / HashMap, n = {n}"), btree / hash);
    }
    out.table("table", &table);

    let growth = per("linear_scan", 100_000)? / per("linear_scan", 1_000)?;
    out.value("linear-growth", format::ratio(growth));
    out.claim(growth > 100.0, "the linear scan grows faster than n from 1,000 to 100,000 keys");
    out.claim(
        per("linear_scan", 10)? < per("hash_map", 10)?,
        "at ten keys the list beats the hash map",
    );
    let hash: Vec<f64> = SIZES.iter().map(|&n| per("hash_map", n)).collect::<Result<_, _>>()?;
    let (lo, hi) = span(&hash);
    out.value("hash-range", format::time_range(lo, hi));
    out.claim(hi / lo < 2.0, "the hash map is flat: its lookups cost about the same at every size");
    out.claim(per("btree_map", 100_000)? > per("btree_map", 10)?, "the B-tree grows slowly");
    out.claim(
        per("btree_map", 1_000)? > per("hash_map", 1_000)?
            && per("btree_map", 100_000)? > per("hash_map", 100_000)?,
        "past a few keys, the B-tree is slower than the hash map for point lookups",
    );

    let series = CONTENDERS
        .iter()
        .map(|(id, name)| {
            let points = SIZES
                .iter()
                .map(|&n| Ok((n as f64, per(id, n)?)))
                .collect::<Result<Vec<_>, String>>()?;
            Ok(Series { name: name.trim_matches('`').to_string(), points })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let svg = plot::log_log_lines(
        "Time per lookup by number of keys",
        "keys (n)",
        "time per lookup",
        &series,
        format::time_axis,
    )?;
    out.plot("lookup", svg);
    Ok(out)
}
