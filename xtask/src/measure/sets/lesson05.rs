//! Lesson 5: the server against the real redis-server, the cluster's write
//! throughput by replicas and quorum, failover and follower reads.

use super::{Rendered, Run, Set};
use crate::measure::data::DataFile;
use crate::measure::format::{self, Table};
use crate::measure::plot::{self, Series};

pub(super) fn sets() -> Vec<Set> {
    vec![
        Set {
            name: "lesson05-redis",
            lesson: 5,
            runs: vec![Run::Script {
                path: "lesson05-replication/compare-redis.sh",
                env: &[],
                quick_env: &[
                    ("REPS", "1"),
                    ("N", "100000"),
                    ("NDUR", "20000"),
                    ("KEYS", "100000"),
                    ("NDEF", "10000"),
                ],
            }],
            render: redis,
        },
        Set {
            name: "lesson05-cluster",
            lesson: 5,
            runs: vec![
                Run::Script {
                    path: "lesson05-replication/measure-cluster.sh",
                    env: &[],
                    quick_env: &[("N", "10000"), ("REPS", "1")],
                },
                Run::Test {
                    package: "lesson05-replication",
                    test: "cluster",
                    name: "adding_a_shard_moves_its_slots_and_their_keys",
                },
                Run::Test {
                    package: "lesson05-replication",
                    test: "cluster",
                    name: "failover_times",
                },
                Run::Test {
                    package: "lesson05-replication",
                    test: "cluster",
                    name: "follower_read_staleness",
                },
            ],
            render: cluster,
        },
    ]
}

/// redis-benchmark's default suite, in its own order: each test as the
/// script names it (spaces made underscores), and as the book shows it.
const SUITE: [(&str, &str); 20] = [
    ("PING_INLINE", "PING_INLINE"),
    ("PING_MBULK", "PING_MBULK"),
    ("SET", "SET"),
    ("GET", "GET"),
    ("INCR", "INCR"),
    ("LPUSH", "LPUSH"),
    ("RPUSH", "RPUSH"),
    ("LPOP", "LPOP"),
    ("RPOP", "RPOP"),
    ("SADD", "SADD"),
    ("HSET", "HSET"),
    ("SPOP", "SPOP"),
    ("ZADD", "ZADD"),
    ("ZPOPMIN", "ZPOPMIN"),
    ("LPUSH_(needed_to_benchmark_LRANGE)", "LPUSH (for LRANGE)"),
    ("LRANGE_100_(first_100_elements)", "LRANGE_100"),
    ("LRANGE_300_(first_300_elements)", "LRANGE_300"),
    ("LRANGE_500_(first_500_elements)", "LRANGE_500"),
    ("LRANGE_600_(first_600_elements)", "LRANGE_600"),
    ("MSET_(10_keys)", "MSET (10 keys)"),
];

/// The values the chapter quotes from this set.
const REDIS_VALUES: [&str; 11] = [
    "pipeline-gain",
    "pipeline-64",
    "plain-set",
    "plain-get",
    "pipelined-set",
    "pipelined-get",
    "always",
    "memory-ratio",
    "suite-lowest",
    "suite-at-least-redis",
    "lrange-600",
];

fn redis(data: &DataFile) -> Result<Rendered, String> {
    let mut out = Rendered::default();
    if data.results.is_empty() {
        // No redis-server where it ran: every table and value says so.
        for anchor in ["basic", "durable", "memory", "suite"] {
            out.value(anchor, format!("*Not measured: {}.*", data.skipped.join("; ")));
        }
        for anchor in REDIS_VALUES {
            out.value(anchor, "not measured".into());
        }
        return Ok(out);
    }
    let rps = |test: &str, server: &str, cmd: &str| data.value(&format!("{test}/{server}/{cmd}"));
    let cpu = |test: &str, server: &str| -> Result<String, String> {
        let lo = data.value(&format!("{test}/{server}/cpu min"))?;
        let hi = data.value(&format!("{test}/{server}/cpu max"))?;
        Ok(if format::significant(lo) == format::significant(hi) {
            format!("{} µs", format::significant(lo))
        } else {
            format!("{}–{} µs", format::significant(lo), format::significant(hi))
        })
    };

    let mut table = Table::new(&[
        "Test",
        "ours",
        "Redis, AOF everysec",
        "ratio",
        "Redis, no persistence",
        "ratio",
    ]);
    for (test, label) in [("1:-c50", "`-c 50`"), ("2:-c50-P16", "`-c 50 -P 16`")] {
        for cmd in ["SET", "GET"] {
            let ours = rps(test, "ours-everysec", cmd)?;
            let aof = rps(test, "redis-aof", cmd)?;
            let plain = rps(test, "redis-plain", cmd)?;
            table.row(vec![
                format!("{label}, {cmd}"),
                format::count(ours),
                format::count(aof),
                format::ratio(ours / aof),
                format::count(plain),
                format::ratio(ours / plain),
            ]);
            out.ratio(&format!("ours / Redis AOF, {label} {cmd}"), ours / aof);
            if test.starts_with('1') {
                let tie = (0.85..1.18).contains(&(ours / aof));
                out.claim(tie, "without pipelining, the kernel is the server: the two tie");
            } else if cmd == "SET" {
                out.claim(ours > aof, "the pipelined SET wins against Redis's AOF");
            }
            let key =
                format!("{}-{}", if test.starts_with('1') { "plain" } else { "pipelined" }, cmd);
            out.value(&key.to_lowercase(), format::ratio(ours / aof));
        }
    }
    for (test, label) in [("1:-c50", "`-c 50`"), ("2:-c50-P16", "`-P 16`")] {
        table.row(vec![
            format!("CPU per request, {label}"),
            cpu(test, "ours-everysec")?,
            cpu(test, "redis-aof")?,
            String::new(),
            cpu(test, "redis-plain")?,
            String::new(),
        ]);
    }
    out.table("basic", &table);

    let ours = rps("3:always", "ours-always", "SET")?;
    let theirs = rps("3:always", "redis-always", "SET")?;
    let mut table = Table::new(&[
        "Durable: `-c 50`, SET",
        "ours `--fsync always`",
        "Redis `appendfsync always`",
        "ours / Redis",
    ]);
    table.row(vec![
        "requests per second".into(),
        format::count(ours),
        format::count(theirs),
        format::ratio(ours / theirs),
    ]);
    table.row(vec![
        "CPU per request".into(),
        cpu("3:always", "ours-always")?,
        cpu("3:always", "redis-always")?,
        String::new(),
    ]);
    out.table("durable", &table);
    out.ratio("ours / Redis, fsync always", ours / theirs);
    out.value("always", format::ratio(ours / theirs));
    out.claim(ours < theirs, "fsync always: our groups are smaller, and we are behind Redis");

    let memory = |server: &str| -> Result<(u64, f64), String> {
        let prefix = format!("memory/{server}/");
        data.results
            .iter()
            .find_map(|(id, m)| {
                let keys = id.strip_prefix(&prefix)?.strip_suffix(" keys")?.parse().ok()?;
                Some((keys, m.value))
            })
            .ok_or_else(|| format!("{} has no result `{prefix}N keys`", data.set))
    };
    let (keys, ours) = memory("ours-everysec")?;
    let (_, theirs) = memory("redis-plain")?;
    let mut table = Table::new(&["Memory", "ours", "Redis", "ours / Redis"]);
    table.row(vec![
        format!(
            "resident, {} keys `key:0000000`…, each with a 3-byte value",
            format::count(keys as f64)
        ),
        format!("{} kB", format::count(ours)),
        format!("{} kB", format::count(theirs)),
        format::ratio(ours / theirs),
    ]);
    out.table("memory", &table);
    out.ratio("memory, ours / Redis", ours / theirs);
    out.value("memory-ratio", format::ratio(ours / theirs));
    out.claim(ours > theirs, "lesson 2's layout costs more memory than Redis's");

    // GET by pipeline depth: where the work per request stops being the
    // kernel's.
    let depths = [1u32, 4, 16, 64];
    let series = [("ours-everysec", "ours"), ("redis-aof", "Redis, AOF everysec")]
        .iter()
        .map(|(server, name)| {
            let points = depths
                .iter()
                .map(|&d| Ok((f64::from(d), rps(&format!("6:pipeline-{d}"), server, "GET")?)))
                .collect::<Result<Vec<_>, String>>()?;
            Ok(Series { name: (*name).into(), points })
        })
        .collect::<Result<Vec<_>, String>>();
    match series {
        Ok(series) => {
            let ours = &series[0].points;
            let theirs = &series[1].points;
            out.value("pipeline-gain", format::ratio(ours[3].1 / ours[0].1));
            out.value("pipeline-64", format::ratio(ours[3].1 / theirs[3].1));
            out.claim(ours[3].1 > 4.0 * ours[0].1, "pipelining multiplies the requests a second");
            out.claim(ours[3].1 < theirs[3].1, "at a depth of 64, Redis pulls ahead");
            out.ratio("GET at -P 64, ours / Redis", ours[3].1 / theirs[3].1);
            let svg = plot::log_log_lines(
                "GET requests per second by pipeline depth, 50 clients",
                "pipeline depth (-P)",
                "requests per second",
                &series,
                format::plain,
            )?;
            out.plot("pipeline", svg);
        }
        Err(_) => {
            out.value("pipeline-gain", "not measured".into());
            out.value("pipeline-64", "not measured".into());
        }
    }

    let mut table = Table::new(&["Test", "ours", "Redis, AOF everysec", "ours / Redis"]);
    let (mut lowest, mut at_least_one, mut n) = ((f64::MAX, ""), 0, 0);
    for (cmd, name) in SUITE {
        let (Ok(ours), Ok(theirs)) =
            (rps("5:default", "ours-everysec", cmd), rps("5:default", "redis-aof", cmd))
        else {
            continue;
        };
        let name = name.to_string();
        table.row(vec![
            name.clone(),
            format::count(ours),
            format::count(theirs),
            format::ratio(ours / theirs),
        ]);
        out.ratio(&format!("default suite, {name}"), ours / theirs);
        if ours / theirs < lowest.0 {
            lowest = (ours / theirs, cmd);
        }
        at_least_one += usize::from(ours >= theirs);
        n += 1;
    }
    if n > 0 {
        table.row(vec![
            "server CPU per request".into(),
            cpu("5:default", "ours-everysec")?,
            cpu("5:default", "redis-aof")?,
            String::new(),
        ]);
        out.table("suite", &table);
        out.value("suite-lowest", format::ratio(lowest.0));
        out.value("suite-at-least-redis", format!("{at_least_one} of the {n}"));
        let lrange = rps("5:default", "ours-everysec", "LRANGE_600_(first_600_elements)")?
            / rps("5:default", "redis-aof", "LRANGE_600_(first_600_elements)")?;
        out.value("lrange-600", format::ratio(lrange));
    } else {
        out.value("suite", "*Not measured: the default suite did not run.*".into());
        for anchor in ["suite-lowest", "suite-at-least-redis", "lrange-600"] {
            out.value(anchor, "not measured".into());
        }
    }
    Ok(out)
}

fn cluster(data: &DataFile) -> Result<Rendered, String> {
    let mut out = Rendered::default();
    let mut table = Table::new(&["replicas per shard", "W = 1", "W = majority"]);
    let rate = |replicas: u32, w: &str| data.value(&format!("cluster/{replicas} replicas/W={w}"));
    let have_cluster = rate(1, "1").is_ok();
    if have_cluster {
        for replicas in 1..=3 {
            let label = if replicas == 1 {
                "1 (the leader alone)".to_string()
            } else {
                replicas.to_string()
            };
            table.row(vec![
                label,
                format!("{} SET/s", format::count(rate(replicas, "1")?)),
                format!("{} SET/s", format::count(rate(replicas, "majority")?)),
            ]);
        }
        out.table("throughput", &table);
        let cost =
            |r: u32| -> Result<f64, String> { Ok(1.0 - rate(r, "majority")? / rate(r, "1")?) };
        let (a, b) = (cost(2)?, cost(3)?);
        out.value("majority-cost", format::percent_range(a.min(b), a.max(b)));
        out.ratio("3 replicas / leader alone, W = 1", rate(3, "1")? / rate(1, "1")?);
        out.claim(rate(3, "1")? < rate(1, "1")?, "each replica costs throughput");
    } else {
        out.value("throughput", format!("*Not measured: {}.*", data.skipped.join("; ")));
        out.value("majority-cost", "not measured".into());
    }

    let ms = |id: &str| data.value(id).map(|v| format::time(v * 1e6));
    out.value("failover-median", ms("failover/median ms")?);
    out.value("failover-min", ms("failover/min ms")?);
    out.value("failover-max", ms("failover/max ms")?);
    out.value("failover-kills", format::count(data.value("failover/kills")?));
    out.claim(
        data.value("failover/max ms")? < 1_500.0,
        "the new leader is elected in the first election: failovers stay within about two timeouts",
    );
    out.value("stale", format::count(data.value("follower reads/stale of 200")?));
    out.value("fresh-median", ms("follower reads/fresh after median ms")?);
    out.value("fresh-max", ms("follower reads/fresh after max ms")?);
    let moved = data.value("add shard/keys moved")?;
    let total = data.value("add shard/keys total")?;
    out.value(
        "moved",
        format!(
            "{} of {} keys ({})",
            format::count(moved),
            format::count(total),
            format::percent(moved / total)
        ),
    );
    out.ratio("keys moved going from two shards to three", moved / total);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::data::Machine;

    #[test]
    fn without_redis_every_anchor_the_chapter_includes_says_not_measured() {
        let data = DataFile {
            set: "lesson05-redis".into(),
            commands: vec![],
            quick: false,
            machine: Machine::this_one(),
            results: Default::default(),
            skipped: vec!["redis-server not found; skipping".into()],
        };
        let rendered = redis(&data).unwrap();
        let anchors: Vec<&str> = rendered.fragments.iter().map(|f| f.anchor.as_str()).collect();
        for anchor in ["basic", "durable", "memory", "suite"].iter().chain(REDIS_VALUES.iter()) {
            assert!(anchors.contains(anchor), "{anchor} missing from {anchors:?}");
        }
        assert!(rendered.fragments.iter().all(|f| f.text.contains("ot measured")));
    }
}
