//! Lesson 3: the log against a `BufWriter`, durable writes against Redis's
//! `appendfsync always`, and recovery against reading the file.

use std::collections::BTreeMap;
use std::path::Path;

use super::{Outcome, Rendered, Run, Set};
use crate::measure::data::{DataFile, Measurement, Unit};
use crate::measure::format::{self, Align, Table};
use crate::measure::plot::{self, Series};
use crate::measure::redis;

pub(super) fn sets() -> Vec<Set> {
    vec![Set {
        name: "lesson03-log",
        lesson: 3,
        runs: vec![
            Run::bench("lesson03-persistence", "log"),
            Run::External {
                describe: "redis-server --appendonly yes --appendfsync always; \
                           redis-benchmark -t set -r 100000 -c 1 -n 5000, then -c 50 -n 50000",
                run: redis_always,
            },
        ],
        render,
    }]
}

/// Redis's durable writes, right after ours (one fsync's cost drifts over
/// minutes on a shared disk, so only numbers from the same hour compare).
fn redis_always(_root: &Path, quick: bool) -> Result<Outcome, String> {
    if let Some(reason) = redis::missing() {
        return Ok(Outcome::Skipped(reason));
    }
    let mut results = BTreeMap::new();
    for (clients, n) in
        [(1, if quick { 500 } else { 5_000 }), (50, if quick { 5_000 } else { 50_000 })]
    {
        let server = redis::Server::start(&["--appendonly", "yes", "--appendfsync", "always"])?;
        let rates = server.benchmark(&[
            "-t",
            "set",
            "-c",
            &clients.to_string(),
            "-n",
            &n.to_string(),
            "-r",
            "100000",
        ])?;
        let (_, rps) = rates.into_iter().find(|(t, _)| t == "SET").ok_or("no SET result")?;
        let m = Measurement { value: rps, unit: Unit::PerSecond, elements: None, bytes: None };
        results.insert(format!("redis/always_{clients}_clients"), m);
    }
    Ok(Outcome::Measured(results))
}

fn render(data: &DataFile) -> Result<Rendered, String> {
    let mut out = Rendered::default();
    let mut table = Table::new(&["Benchmark", "Ours", "What a user would reach for", "Ratio"])
        .align(2, Align::Left);
    for bytes in [100, 1000] {
        let ours = data.ns(&format!("append/log_writer/{bytes}B"))?;
        let theirs = data.ns(&format!("append/bufwriter_same_bytes/{bytes}B"))?;
        table.row(vec![
            format!("append 1,000 records, {}-byte values, no fsync", format::count(bytes as f64)),
            format::time(ours),
            format!("`BufWriter` writing the same framed bytes: {}", format::time(theirs)),
            format!("{} (goal ≤ 1.5×)", format::ratio(ours / theirs)),
        ]);
        out.ratio(&format!("log / BufWriter, {bytes}-byte values"), ours / theirs);
        out.value(&format!("append-{bytes}"), format::ratio(ours / theirs));
    }
    out.claim(
        data.ns("append/log_writer/100B")? / data.ns("append/bufwriter_same_bytes/100B")?
            > data.ns("append/log_writer/1000B")? / data.ns("append/bufwriter_same_bytes/1000B")?,
        "the log's fixed cost per record weighs more on small records than on big ones",
    );

    let one = data.per_second("durable_writes/always_1_writer")?;
    let fifty = data.per_second("durable_writes/always_50_writers")?;
    let redis = |clients: u32| data.value(&format!("redis/always_{clients}_clients")).ok();
    for (writers, ours, target) in [(1, one, ""), (50, fifty, " (goal ≥ 1×)")] {
        let (theirs, ratio) = match redis(writers) {
            Some(r) => (
                format!(
                    "Redis, `appendfsync always`, {writers} client{}: {}",
                    if writers == 1 { "" } else { "s" },
                    format::rate(r)
                ),
                format!("{}{target}", format::ratio(ours / r)),
            ),
            None => ("Redis: not measured (no redis-server)".into(), String::new()),
        };
        table.row(vec![
            format!(
                "durable writes, `always`, {writers} writer{}",
                if writers == 1 { "" } else { "s" }
            ),
            format::rate(ours),
            theirs,
            ratio,
        ]);
        if let Some(r) = redis(writers) {
            out.ratio(&format!("ours / Redis, fsync always, {writers} writers"), ours / r);
        }
    }
    if let Some(r) = redis(50) {
        out.claim(fifty / r > 0.9, "fifty writers get about as many durable writes as Redis");
    }
    out.value("group-commit", format::ratio(fifty / one));
    out.value("one-writer-rate", format::rate(one).replace("/s", ""));
    out.value("fifty-writer-rate", format::rate(fifty).replace("/s", ""));
    out.value("durable-write-time", format::time(1e9 / one));
    out.claim(fifty > 5.0 * one, "group commit multiplies durable writes");
    out.ratio("50 writers / 1 writer, fsync always", fifty / one);

    let read = data.ns("recovery/read_file/1000000")?;
    let scan = data.ns("recovery/read_and_scan/1000000")?;
    let open = data.ns("recovery/open_store/1000000")?;
    let bw = |id: &str| data.bytes_per_second(id);
    table.row(vec![
        "recovery: read + check + decode 1,000,000 records".into(),
        format!(
            "{}, {}",
            format::time(scan),
            format::bandwidth(bw("recovery/read_and_scan/1000000")?)
        ),
        format!(
            "`std::fs::read` of the file: {}, {}",
            format::time(read),
            format::bandwidth(bw("recovery/read_file/1000000")?)
        ),
        format!("{} of the read bandwidth (goal ≥ 50%)", format::percent(read / scan)),
    ]);
    table.row(vec![
        "recovery: open the store (also rebuild the hash map)".into(),
        format!(
            "{}, {}",
            format::time(open),
            format::rate(1e6 / open * 1e9).replace("/s", " records/s")
        ),
        String::new(),
        format!("{} of the read bandwidth", format::percent(read / open)),
    ]);
    out.ratio("recovery scan / read_file", scan / read);
    out.value("read-time", format::time(read));
    out.value("scan-time", format::time(scan));
    out.value("open-time", format::time(open));
    out.value("scan-share", format::percent(read / scan));
    out.claim(
        open > scan && scan > read,
        "recovery is CPU-bound: decoding costs more than reading, rebuilding the map more still",
    );
    out.table("table", &table);

    // Recovery against the log's length: each step should grow in proportion.
    let sizes = [10_000u64, 100_000, 1_000_000];
    let series = [
        ("read_file", "std::fs::read of the file"),
        ("read_and_scan", "read, check and decode"),
        ("open_store", "open the store (replay into the map)"),
    ]
    .iter()
    .map(|(id, name)| {
        let points = sizes
            .iter()
            .map(|&n| Ok((n as f64, data.ns(&format!("recovery/{id}/{n}"))?)))
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Series { name: (*name).into(), points })
    })
    .collect::<Result<Vec<_>, String>>()?;
    let growth = |step: &str| -> Result<f64, String> {
        let per_record =
            |n: u64| Ok::<f64, String>(data.ns(&format!("recovery/{step}/{n}"))? / n as f64);
        Ok(per_record(1_000_000)? / per_record(10_000)?)
    };
    let (scan_growth, open_growth) = (growth("read_and_scan")?, growth("open_store")?);
    out.value("scan-per-record-growth", format::ratio(scan_growth));
    out.value("open-per-record-growth", format::ratio(open_growth));
    out.claim(
        open_growth > scan_growth,
        "per record, opening the store grows with the log faster than decoding does",
    );
    out.plot(
        "recovery",
        plot::log_log_lines(
            "Recovery time by log length",
            "records in the log",
            "time",
            &series,
            format::time_axis,
        )?,
    );
    Ok(out)
}
