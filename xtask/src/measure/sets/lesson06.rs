//! Lesson 6: SQL against SQLite and the planner against a sequential scan;
//! MVCC against one big lock, in memory and through the server.

use super::{Rendered, Run, Set, span};
use crate::measure::data::DataFile;
use crate::measure::format::{self, Align, Table};
use crate::measure::plot::{self, Series};

const PACKAGE: &str = "lesson06-advanced";

pub(super) fn sets() -> Vec<Set> {
    vec![
        Set {
            name: "lesson06-hit-ratio",
            lesson: 6,
            runs: vec![Run::Test {
                package: PACKAGE,
                test: "hit_ratio",
                name: "hit_ratio_by_cache_size",
            }],
            render: hit_ratio,
        },
        Set {
            name: "lesson06-page-cache",
            lesson: 6,
            runs: vec![Run::bench(PACKAGE, "page_cache")],
            render: page_cache,
        },
        Set {
            name: "lesson06-sql",
            lesson: 6,
            runs: vec![Run::bench(PACKAGE, "sql")],
            render: sql,
        },
        Set {
            name: "lesson06-transactions",
            lesson: 6,
            runs: vec![
                Run::bench(PACKAGE, "transactions"),
                Run::Test {
                    package: PACKAGE,
                    test: "server",
                    name: "transfer_throughput_by_contention",
                },
            ],
            render: transactions,
        },
    ]
}

const AGAINST_SQLITE: [(&str, &str); 4] = [
    ("primary key lookup", "primary-key lookup (`id = 77777`)"),
    ("indexed range", "indexed range (`year BETWEEN 1950 AND 1951`, 890 rows)"),
    ("full-scan aggregate", "full-scan aggregate (`GROUP BY genre`)"),
    ("two-table join", "two-table join (`year = 1900`, by country)"),
];

const AGAINST_A_SCAN: [(&str, &str); 3] = [
    ("primary key lookup", "primary-key lookup"),
    ("indexed range", "indexed range (0.9% of the rows)"),
    ("index equality", "index equality (`year = 1950`, 0.45%)"),
];

/// The trace's 20,000 pages.
const PAGES: f64 = 20_000.0;

fn hit_ratio(data: &DataFile) -> Result<Rendered, String> {
    let mut out = Rendered::default();
    let mut series = Vec::new();
    for (id, name) in [("lru", "LRU"), ("s3-fifo", "S3-FIFO"), ("quick_cache", "quick_cache 0.6")] {
        let prefix = format!("{id}/");
        let mut points: Vec<(f64, f64)> = data
            .results
            .iter()
            .filter_map(|(key, m)| {
                let pages: f64 = key.strip_prefix(&prefix)?.strip_suffix(" pages")?.parse().ok()?;
                Some((pages / PAGES * 100.0, m.value))
            })
            .collect();
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        if points.is_empty() {
            return Err(format!("{} has no results for {id}", data.set));
        }
        series.push(Series { name: name.into(), points });
    }
    for (lru, s3) in series[0].points.iter().zip(&series[1].points) {
        out.claim(s3.1 > lru.1, "S3-FIFO beats LRU at every cache size");
    }
    let svg = plot::share_lines(
        "Hit ratio by cache size, Zipf s = 0.99 over 20,000 pages",
        "cache size, % of the pages (log scale)",
        "hit ratio",
        &series,
    )?;
    out.plot("hit-ratio", svg);
    Ok(out)
}

fn page_cache(data: &DataFile) -> Result<Rendered, String> {
    let mut out = Rendered::default();
    let read = |how: &str| data.ns(&format!("page_read/{how}"));
    let floor = read("uncached, in memory (MemStore)")?;
    let file = read("uncached, from the file (OS cache)")?;
    let (s3, lru) = (read("cache hit, S3-FIFO")?, read("cache hit, LRU")?);
    let mut table = Table::new(&["read", "time per pass", "against in memory"]);
    for (name, t) in [
        ("uncached, from the file (OS cache)", file),
        ("uncached, in memory (`MemStore`)", floor),
        ("cache hit, S3-FIFO", s3),
        ("cache hit, LRU", lru),
    ] {
        table.row(vec![name.into(), format::time(t), format::ratio(t / floor)]);
    }
    out.table("table", &table);
    let (cheap, dear) = (file / lru, file / s3);
    out.value("hit-saving", format::ratio_range(cheap.min(dear), cheap.max(dear)));
    out.value("s3-vs-floor", format::ratio(s3 / floor));
    out.value("lru-vs-floor", format::ratio(lru / floor));
    out.ratio("S3-FIFO hit / in-memory read", s3 / floor);
    out.ratio("LRU hit / in-memory read", lru / floor);
    out.claim(s3 < lru, "S3-FIFO's hit is the cheaper of the two");
    out.claim(file > 20.0 * lru, "a hit is far cheaper than the read it saves");
    Ok(out)
}

fn sql(data: &DataFile) -> Result<Rendered, String> {
    let mut out = Rendered::default();
    let mut table = Table::new(&["query", "ours", "SQLite", "ours / SQLite"]);
    let mut ratios = Vec::new();
    for (case, name) in AGAINST_SQLITE {
        let ours = data.ns(&format!("sql/{case}/ours"))?;
        let sqlite = data.ns(&format!("sql/{case}/sqlite"))?;
        table.row(vec![
            name.into(),
            format::time(ours),
            format::time(sqlite),
            format::ratio(ours / sqlite),
        ]);
        out.ratio(&format!("ours / SQLite, {case}"), ours / sqlite);
        ratios.push(ours / sqlite);
    }
    out.table("sqlite", &table);
    let (lo, hi) = span(&ratios);
    let met = ratios.iter().filter(|&&r| r <= 3.0).count();
    out.value("sqlite-range", format::ratio_range(lo, hi));
    out.value("sqlite-goals-met", format!("{met} of the {}", AGAINST_SQLITE.len()));
    out.value("lookup-time", format::time(data.ns("sql/primary key lookup/ours")?));

    let mut table = Table::new(&["query", "planned", "sequential scan", "speed-up"]);
    let mut speedups = Vec::new();
    for (case, name) in AGAINST_A_SCAN {
        let planned = data.ns(&format!("planner/{case}/planned"))?;
        let scan = data.ns(&format!("planner/{case}/sequential scan"))?;
        table.row(vec![
            name.into(),
            format::time(planned),
            format::time(scan),
            format::ratio(scan / planned),
        ]);
        out.ratio(&format!("scan / planned, {case}"), scan / planned);
        speedups.push(scan / planned);
    }
    out.table("planner", &table);
    out.value("speedup-range", format::ratio(speedups[1]));
    out.value("speedup-equality", format::ratio(speedups[2]));
    let hundredfold = speedups.iter().filter(|&&s| s >= 100.0).count();
    out.value("hundredfold-met", format!("{hundredfold} of the {}", speedups.len()));
    out.claim(
        speedups[0] > speedups[2] && speedups[2] > speedups[1],
        "the speed-up falls as the share of rows read grows",
    );
    let cases: Vec<String> = AGAINST_A_SCAN.iter().map(|(c, _)| c.to_string()).collect();
    let planned: Vec<f64> = AGAINST_A_SCAN
        .iter()
        .map(|(c, _)| data.ns(&format!("planner/{c}/planned")))
        .collect::<Result<_, _>>()?;
    let scans: Vec<f64> = AGAINST_A_SCAN
        .iter()
        .map(|(c, _)| data.ns(&format!("planner/{c}/sequential scan")))
        .collect::<Result<_, _>>()?;
    let svg = plot::log_bars(
        "The planner's choice against a sequential scan",
        "time per query (log scale)",
        &cases,
        &[("planned".into(), planned), ("sequential scan".into(), scans)],
        format::time_axis,
    )?;
    out.plot("planner", svg);
    Ok(out)
}

fn transactions(data: &DataFile) -> Result<Rendered, String> {
    let mut out = Rendered::default();
    let mut table = Table::new(&[
        "workload",
        "MVCC",
        "one big lock",
        "MVCC / lock",
        "aborts per committed transfer",
    ]);
    for (workload, name) in [("uniform", "uniform, 10,000 accounts"), ("hot", "hot, 4 accounts")] {
        let mvcc = data.ns(&format!("transfer/{workload}/mvcc"))?;
        let lock = data.ns(&format!("transfer/{workload}/big-lock"))?;
        let aborts =
            data.value(&format!("transfer/{workload}/mvcc/aborts per committed transfer"))?;
        table.row(vec![
            name.into(),
            format::time(mvcc),
            format::time(lock),
            format::ratio(mvcc / lock),
            format!("{aborts:.3}"),
        ]);
        out.ratio(&format!("MVCC / one big lock, {workload}"), mvcc / lock);
        out.claim(mvcc > lock, "in memory, on two cores, the big lock wins");
    }
    out.table("in-memory", &table);

    let mut table = Table::new(&["accounts", "style", "transfers/s", "retries per transfer"]);
    let mut rates = Vec::new();
    for accounts in [10_000, 4] {
        for (style, name) in [("watch", "WATCH/MULTI/EXEC"), ("sql", "BEGIN serializable")] {
            let id = |what: &str| format!("server/{accounts}/{style}/{what}");
            let rate = data.value(&id("transfers per second"))?;
            let retries = data.value(&id("retries per transfer"))?;
            table.row(vec![
                format::count(accounts as f64),
                name.into(),
                format::count(rate),
                format!("{retries:.2}"),
            ]);
            rates.push((accounts, rate, retries));
        }
    }
    table = table.align(0, Align::Right).align(1, Align::Left);
    out.table("server", &table);
    let hot: Vec<f64> = rates.iter().filter(|r| r.0 == 4).map(|r| r.2).collect();
    let (lo, hi) = span(&hot);
    out.value("hot-retries", format!("{lo:.1}–{hi:.1}"));
    let calm: f64 = rates.iter().filter(|r| r.0 == 10_000).map(|r| r.1).sum();
    let hot: f64 = rates.iter().filter(|r| r.0 == 4).map(|r| r.1).sum();
    out.value("hot-slowdown", format::ratio(calm / hot));
    out.claim(hot < calm, "with eight clients fighting over four accounts, throughput falls");
    Ok(out)
}
