//! Lesson 4: the B+tree against `BTreeMap` and redb, Bitcask against a
//! `HashMap`, secondary indexes against a collection scan, and search
//! against tantivy.

use super::{Rendered, Run, Set, span};
use crate::measure::data::DataFile;
use crate::measure::format::{self, Align, Table};
use crate::measure::plot;

const PACKAGE: &str = "lesson04-indexing";
const COMPARE: &[&str] = &["compare"];

pub(super) fn sets() -> Vec<Set> {
    vec![
        Set {
            name: "lesson04-bitcask",
            lesson: 4,
            runs: vec![
                Run::Bench {
                    package: PACKAGE,
                    bench: "bitcask",
                    features: COMPARE,
                    env: &[],
                    quick_env: &[("BITCASK_BENCH_KEYS", "50000")],
                    filter: None,
                    prefix: "",
                },
                // Opening is where a million keys tell more than 200,000.
                Run::Bench {
                    package: PACKAGE,
                    bench: "bitcask",
                    features: COMPARE,
                    env: &[("BITCASK_BENCH_KEYS", "1000000")],
                    quick_env: &[("BITCASK_BENCH_KEYS", "50000")],
                    filter: Some("bitcask_open"),
                    prefix: "",
                },
            ],
            render: bitcask,
        },
        Set {
            name: "lesson04-btree",
            lesson: 4,
            runs: vec![Run::Bench {
                package: PACKAGE,
                bench: "btree",
                features: COMPARE,
                env: &[],
                quick_env: &[("BENCH_KEYS", "100000")],
                filter: None,
                prefix: "",
            }],
            render: btree,
        },
        Set {
            name: "lesson04-documents",
            lesson: 4,
            runs: vec![Run::bench(PACKAGE, "documents")],
            render: documents,
        },
        Set {
            name: "lesson04-search",
            lesson: 4,
            runs: vec![Run::Bench {
                package: PACKAGE,
                bench: "search",
                features: COMPARE,
                env: &[],
                quick_env: &[],
                filter: None,
                prefix: "",
            }],
            render: search,
        },
    ]
}

/// The `N` and value of the one result `prefix N suffix` (the largest N if
/// several runs left one each).
fn sized(data: &DataFile, prefix: &str, suffix: &str) -> Result<(u64, f64), String> {
    data.results
        .keys()
        .filter_map(|id| id.strip_prefix(prefix)?.strip_suffix(suffix)?.parse::<u64>().ok())
        .max()
        .map(|n| Ok((n, data.ns(&format!("{prefix}{n}{suffix}"))?)))
        .unwrap_or_else(|| Err(format!("{} has no result `{prefix}N{suffix}`", data.set)))
}

fn bitcask(data: &DataFile) -> Result<Rendered, String> {
    let mut out = Rendered::default();
    let (n, _) = sized(data, "bitcask_get/bitcask/", "")?;
    let get = |who: &str| data.ns_per_element(&format!("bitcask_get/{who}/{n}"));
    let (ours, map, tree) = (get("bitcask")?, get("hash_map")?, get("btree")?);
    let redb = get("redb").ok();
    let mut table = Table::new(&["Benchmark", "Ours", "What a user would reach for", "Ratio"])
        .align(2, Align::Left);
    let keys = format::count(n as f64);
    table.row(vec![
        format!("random get, {keys} keys"),
        format::time(ours),
        format!("`HashMap` get and clone of the value: {}", format::time(map)),
        format!("{} slower", format::ratio(ours / map)),
    ]);
    let redb_text =
        redb.map_or("redb: not measured".into(), |r| format!("redb: {}", format::time(r)));
    let redb_ratio =
        redb.map_or(String::new(), |r| format!(", {} than redb", format::ratio(ours / r)));
    table.row(vec![
        format!("the same gets, against B-trees in a file"),
        format::time(ours),
        format!("our B+tree: {}; {redb_text}", format::time(tree)),
        format!("{} slower than the B+tree{redb_ratio}", format::ratio(ours / tree)),
    ]);
    out.ratio("Bitcask get / HashMap get", ours / map);
    out.ratio("Bitcask get / B+tree get", ours / tree);
    out.value("get-time", format::time(ours));
    out.value("get-vs-map", format::ratio(ours / map));
    out.claim(
        ours > tree,
        "a hash index is not faster than a B+tree here: its gets are system calls",
    );

    let (open_n, hints) = sized(data, "bitcask_open/hint_files/", "")?;
    let scan = data.ns(&format!("bitcask_open/scan/{open_n}"))?;
    table.row(vec![
        format!("open, {} keys", format::count(open_n as f64)),
        format!("from hint files: {}", format::time(hints)),
        format!("scanning the segments: {}", format::time(scan)),
        format!("{} faster (goal ≥ 5×)", format::ratio(scan / hints)),
    ]);
    out.ratio("open by scan / open from hints", scan / hints);
    out.value("hint-speedup", format::ratio(scan / hints));
    out.value("hint-time", format::time(hints));
    out.claim(scan / hints < 5.0, "hints missed their goal of 5×");

    let (merge_n, _) = sized(data, "bitcask_merge/merge/", "")?;
    let merge = data.bytes_per_second(&format!("bitcask_merge/merge/{merge_n}"))?;
    let write = data.bytes_per_second(&format!("bitcask_merge/std_fs_write/{merge_n}"))?;
    table.row(vec![
        format!("merge {} keys, half the bytes stale", format::count(merge_n as f64)),
        format::bandwidth(merge),
        format!("`std::fs` write of the same bytes and one fsync: {}", format::bandwidth(write)),
        format!("{} slower", format::ratio(write / merge)),
    ]);
    out.ratio("fs write bandwidth / merge bandwidth", write / merge);
    out.value("merge-bandwidth", format::bandwidth(merge));
    // 186-byte records: 24-byte key, 150-byte value, 12 bytes of header.
    out.value("merge-per-record", format::time(186.0 / merge * 1e9));
    out.table("table", &table);
    Ok(out)
}

fn btree(data: &DataFile) -> Result<Rendered, String> {
    let mut out = Rendered::default();
    let mut table =
        Table::new(&["Benchmark", "Our B+tree", "What a user would reach for", "Ratio"])
            .align(2, Align::Left);
    let mut bars: Vec<(String, f64, f64)> = Vec::new();
    let mut row =
        |out: &mut Rendered, name: String, ours: f64, who: &str, theirs: Option<f64>, goal: f64| {
            let (cell, ratio) = match theirs {
                Some(t) => (
                    format!("{who}: {}", format::time(t)),
                    format!("{} (goal ≤ {goal}×)", format::ratio(ours / t)),
                ),
                None => (format!("{who}: not measured"), String::new()),
            };
            table.row(vec![name.clone(), format::time(ours), cell, ratio]);
            if let Some(t) = theirs {
                out.ratio(&name, ours / t);
            }
        };
    let mem = |case: &str, who: &str| data.ns(&format!("memory/{case}/{who}"));
    for (case, name, goal, short) in [
        ("get 1,000", "1,000 random gets, 100,000 keys, in memory", 2.0, "gets (memory)"),
        ("scan 10,000", "ordered scan of 10,000 keys, in memory, copied out", 2.0, "scan (memory)"),
        ("insert 10,000", "10,000 inserts into an empty tree, one batch", 4.0, "inserts (memory)"),
    ] {
        let (ours, theirs) = (mem(case, "btree")?, mem(case, "BTreeMap")?);
        row(&mut out, name.into(), ours, "`BTreeMap`", Some(theirs), goal);
        bars.push((short.to_string(), ours, theirs));
        if case != "insert 10,000" {
            let close = (0.67..1.5).contains(&(ours / theirs));
            out.claim(close, "in memory, gets and scans come out close to BTreeMap's");
        }
    }
    let (n, load) = sized(data, "disk/bulk load ", "/btree")?;
    let redb = |id: &str| data.ns(&format!("disk/{id}/redb")).ok();
    let keys = format::count(n as f64);
    let load_redb = redb(&format!("bulk load {n}"));
    row(&mut out, format!("bulk load of {keys} keys in one commit"), load, "redb", load_redb, 1.5);
    let same_work = "on disk, redb and we do the same work: every case within 1.5× either way";
    if let Some(r) = load_redb {
        out.claim((0.67..1.5).contains(&(load / r)), same_work);
    }
    for (case, name, short) in [
        ("get 1,000", format!("1,000 random gets, {keys} keys, warm cache"), "gets (disk)"),
        ("scan 10,000", format!("range scan of 10,000 keys, {keys} keys"), "scan (disk)"),
        (
            "1,000 durable commits",
            "1,000 one-key commits, each durable".to_string(),
            "commits (disk)",
        ),
    ] {
        let ours = data.ns(&format!("disk/{case}/btree"))?;
        row(&mut out, name, ours, "redb", redb(case), 1.5);
        if let Some(r) = redb(case) {
            bars.push((short.to_string(), ours, r));
            out.claim((0.67..1.5).contains(&(ours / r)), same_work);
        }
    }
    out.claim(
        mem("insert 10,000", "btree")? / mem("insert 10,000", "BTreeMap")? <= 4.0,
        "block copies and a constant-time fill brought inserts within the goal of 4×",
    );
    out.table("table", &table);
    out.value("commit-time", format::time(data.ns("disk/1,000 durable commits/btree")? / 1000.0));

    let cases: Vec<String> = bars.iter().map(|(c, _, _)| c.clone()).collect();
    let svg = plot::log_bars(
        "Our B+tree against BTreeMap (in memory) and redb (on disk)",
        "time (log scale)",
        &cases,
        &[
            ("our B+tree".into(), bars.iter().map(|b| b.1).collect()),
            ("BTreeMap in memory, redb on disk".into(), bars.iter().map(|b| b.2).collect()),
        ],
        format::time_axis,
    )?;
    out.plot("btree", svg);
    Ok(out)
}

fn documents(data: &DataFile) -> Result<Rendered, String> {
    let mut out = Rendered::default();
    let mut table = Table::new(&["Benchmark", "With the index", "Without", "Ratio"])
        .align(1, Align::Left)
        .align(2, Align::Left);
    for (case, name) in [
        ("equality 1%", "`{\"age\": 42}`: 1,000 of 100,000 documents"),
        ("range 5%", "`{\"age\": {\"$gte\": 40, \"$lt\": 45}}`: 5,000 documents"),
    ] {
        let index = data.ns(&format!("query/{case}/btree index"))?;
        let scan = data.ns(&format!("query/{case}/collection scan"))?;
        let goal = if case == "equality 1%" { " (goal ≥ 100×)" } else { "" };
        table.row(vec![
            name.into(),
            format::time(index),
            format!("collection scan: {}", format::time(scan)),
            format!("{} faster{goal}", format::ratio(scan / index)),
        ]);
        out.ratio(&format!("scan / index, {case}"), scan / index);
    }
    let none = data.ns("insert/1,000 documents/0 indexes")?;
    for (case, name) in [
        ("1 index", "1 btree index (`age`)"),
        ("3 indexes", "3 btree indexes (`age`, `city`, `tags`)"),
    ] {
        let t = data.ns(&format!("insert/1,000 documents/{case}"))?;
        table.row(vec![
            format!("1,000 inserts, {name}"),
            format::time(t),
            format!("no index: {}", format::time(none)),
            format!("{} slower", format::ratio(t / none)),
        ]);
        out.ratio(&format!("inserts with {case} / without"), t / none);
        out.value(&format!("insert-{}", &case[..1]), format::ratio(t / none));
    }
    let hash = data.ns("open/100,000 documents/hash index")?;
    let btree = data.ns("open/100,000 documents/btree index")?;
    table.row(vec![
        "opening 100,000 documents with an index on `age`".into(),
        format!("btree index: {}", format::time(btree)),
        format!("hash index, its map rebuilt: {}", format::time(hash)),
        format!("{} faster", format::ratio(hash / btree)),
    ]);
    out.value("hash-open", format::time(hash));
    out.claim(hash > 100.0 * btree, "a hash index costs everything at open, a btree index nothing");
    out.claim(
        data.ns("query/range 5%/collection scan")? / data.ns("query/range 5%/btree index")?
            < data.ns("query/equality 1%/collection scan")?
                / data.ns("query/equality 1%/btree index")?,
        "the gain shrinks as the query returns more",
    );
    out.table("table", &table);
    Ok(out)
}

const QUERIES: [(&str, &str); 4] = [
    ("one term (w100)", "top 10 for one term (`w100`, in about 9% of the documents)"),
    ("two terms (w100 w2000)", "top 10 for two terms (`w100 w2000`)"),
    ("a common term (w1)", "top 10 for a term in almost every document (`w1`)"),
    ("a phrase (\"w1 w2\")", "top 10 for a phrase of two of the commonest words (`\"w1 w2\"`)"),
];

fn search(data: &DataFile) -> Result<Rendered, String> {
    let mut out = Rendered::default();
    let mut table =
        Table::new(&["Benchmark", "Ours", "tantivy", "Ratio", "Top-10 overlap (goal ≥ 8/10)"]);
    let ours = data.ns("search/index 50,000 documents")?;
    let theirs = data.ns("tantivy/index 50,000 documents").ok();
    table.row(vec![
        "index 50,000 documents (for us, also every open)".into(),
        format::time(ours),
        theirs.map_or("not measured".into(), format::time),
        theirs.map_or(String::new(), |t| format!("{} (goal ≤ 3×)", format::ratio(ours / t))),
        String::new(),
    ]);
    if let Some(t) = theirs {
        out.ratio("index: ours / tantivy", ours / t);
    }
    for (i, (case, name)) in QUERIES.iter().enumerate() {
        let ours = data.ns(&format!("search/top 10, {case}"))?;
        let theirs = data.ns(&format!("tantivy/top 10, {case}")).ok();
        let overlap = data.value(&format!("top-10 overlap/{case}")).ok();
        table.row(vec![
            name.to_string(),
            format::time(ours),
            theirs.map_or("not measured".into(), format::time),
            theirs.map_or(String::new(), |t| {
                let goal = if i < 2 { " (goal ≤ 2×)" } else { "" };
                format!("{}{goal}", format::ratio(ours / t))
            }),
            overlap.map_or(String::new(), |o| format!("{o}/10")),
        ]);
        if let Some(t) = theirs {
            out.ratio(&format!("query {case}: ours / tantivy"), ours / t);
        }
        if let Some(o) = overlap {
            out.claim(o >= 8.0, &format!("the rankings agree: {case} shares most of its top 10"));
        }
    }
    out.table("table", &table);
    let overlaps: Vec<f64> = QUERIES
        .iter()
        .filter_map(|(case, _)| data.value(&format!("top-10 overlap/{case}")).ok())
        .collect();
    let (lo, hi) = span(&overlaps);
    out.value(
        "overlap-range",
        match overlaps.len() {
            0 => "not measured".into(),
            _ if lo == hi => format!("{lo}"),
            _ => format!("{lo} to {hi}"),
        },
    );
    let one = data.ns("search/top 10, one term (w100)")?;
    out.value(
        "one-term-ratio",
        data.ns("tantivy/top 10, one term (w100)")
            .map_or("not measured".into(), |t| format::ratio(one / t)),
    );
    let ratios: Vec<f64> = QUERIES
        .iter()
        .filter_map(|(case, _)| {
            let ours = data.ns(&format!("search/top 10, {case}")).ok()?;
            Some(ours / data.ns(&format!("tantivy/top 10, {case}")).ok()?)
        })
        .collect();
    if ratios.len() == QUERIES.len() {
        let phrase = ratios[3];
        out.claim(
            ratios.iter().all(|&r| r >= phrase),
            "our phrase query, which must look at every position anyway, comes closest to tantivy",
        );
    }
    let common = data.ns("search/top 10, a common term (w1)")?;
    out.value("common-ours", format::time(common));
    out.value(
        "common-tantivy",
        data.ns("tantivy/top 10, a common term (w1)").map_or("not measured".into(), format::time),
    );
    Ok(out)
}
