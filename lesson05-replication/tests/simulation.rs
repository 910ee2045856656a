//! Whole shards under the deterministic simulator: many seeds, faults of
//! every kind, and a linearizability check of what the clients saw.
//!
//! More seeds than the test budget allows, in release mode:
//!
//! ```text
//! SIMULATION_SEEDS=20000 cargo test --release -p lesson05-replication --test simulation
//! ```

use std::fmt::Write as _;

use lesson05_replication::replica::{Bug, WriteQuorum};
use lesson05_replication::simulation::{Report, SimConfig, Stats, simulate};

/// Seeds per run: enough to meet every fault many times, within a few
/// seconds of a debug build.
fn seeds() -> u64 {
    std::env::var("SIMULATION_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(300)
}

fn total(reports: &[Report]) -> Stats {
    let mut sum = Stats::default();
    for r in reports {
        let s = &r.stats;
        sum.ticks += s.ticks;
        sum.answered += s.answered;
        sum.unknown += s.unknown;
        sum.leaders += s.leaders;
        sum.crashes += s.crashes;
        sum.partitions += s.partitions;
        sum.delivered += s.delivered;
        sum.dropped += s.dropped;
        sum.duplicated += s.duplicated;
        sum.snapshots += s.snapshots;
    }
    sum
}

#[test]
fn no_seed_breaks_a_majority_quorum_shard() {
    let config = SimConfig::default();
    let reports: Vec<Report> = (0..seeds()).map(|seed| simulate(seed, &config)).collect();
    for report in &reports {
        if let Some(violation) = &report.violation {
            panic!("seed {} (replay: simulate({}, …)): {violation}", report.seed, report.seed);
        }
    }
    // The faults happened, and the clients still got most answers: a
    // simulation that never crashed anything would prove nothing.
    let sum = total(&reports);
    let n = reports.len();
    println!("{n} seeds: {sum:?}");
    assert!(sum.crashes >= n && sum.partitions >= n, "{sum:?}");
    assert!(sum.dropped > 0 && sum.duplicated > 0 && sum.snapshots > 0, "{sum:?}");
    assert!(sum.leaders >= 2 * n, "leaders should change: {sum:?}");
    assert!(sum.answered > 2 * sum.unknown, "{sum:?}");
}

#[test]
fn a_seed_replays_exactly() {
    let config = SimConfig::default();
    let (a, b) = (simulate(42, &config), simulate(42, &config));
    assert_eq!(a.history, b.history);
    assert_eq!(a.stats, b.stats);
    assert_ne!(a.history, simulate(43, &config).history);
}

/// The first of `tries` seeds whose run goes wrong, and what it said.
fn first_failure(config: &SimConfig, tries: u64) -> Option<(u64, String)> {
    (0..tries).find_map(|seed| simulate(seed, config).violation.map(|v| (seed, v)))
}

#[test]
fn acknowledging_before_the_quorum_is_caught() {
    let mut config = SimConfig::default();
    config.node.bug = Some(Bug::AckBeforeQuorum);
    let (seed, violation) = first_failure(&config, 50).expect("the planted bug is caught");
    println!("seed {seed}: {violation}");
    assert!(violation.starts_with("not linearizable"), "{violation}");
}

#[test]
fn voting_without_the_log_check_is_caught_by_the_invariants_and_by_the_history() {
    let mut config = SimConfig::default();
    config.node.bug = Some(Bug::VoteWithoutLogCheck);
    let (seed, violation) = first_failure(&config, 50).expect("the planted bug is caught");
    println!("seed {seed}: {violation}");
    assert!(violation.contains("was committed in term"), "{violation}");
    // Without the invariants, the clients' history alone shows it.
    config.invariants = false;
    let (seed, violation) = first_failure(&config, 100).expect("the history shows it too");
    println!("seed {seed}: {violation}");
    assert!(violation.starts_with("not linearizable"), "{violation}");
}

#[test]
fn a_write_quorum_of_one_loses_acknowledged_writes_when_a_leader_fails() {
    let mut config = SimConfig::default();
    config.node.quorum = WriteQuorum::One;
    let (seed, violation) =
        first_failure(&config, 50).expect("asynchronous replication loses writes");
    println!("seed {seed}: {violation}");
    assert!(violation.starts_with("not linearizable"), "{violation}");
    // With no crashes and no partitions, it keeps its promises.
    config.crash = 0.0;
    config.partition = 0.0;
    assert_eq!(first_failure(&config, 20), None);
}

/// The book's table: the same twenty seeds, for the right code and for
/// each mistake.
#[test]
fn simulation_table() {
    let mut variants: Vec<(&str, SimConfig)> = Vec::new();
    variants.push(("W = majority", SimConfig::default()));
    let mut one = SimConfig::default();
    one.node.quorum = WriteQuorum::One;
    variants.push(("W = 1", one));
    for (name, bug) in [
        ("ack before quorum", Bug::AckBeforeQuorum),
        ("vote without log check", Bug::VoteWithoutLogCheck),
    ] {
        let mut config = SimConfig::default();
        config.node.bug = Some(bug);
        variants.push((name, config));
    }
    let mut table = String::from(
        "variant                  seeds  answered  unknown  leaders  crashes  partitions  failing seeds\n",
    );
    for (name, config) in variants {
        let reports: Vec<Report> = (0..20).map(|seed| simulate(seed, &config)).collect();
        let sum = total(&reports);
        let failing: Vec<String> =
            reports.iter().filter(|r| r.violation.is_some()).map(|r| r.seed.to_string()).collect();
        let failing = if failing.is_empty() { "none".to_string() } else { failing.join(" ") };
        writeln!(
            table,
            "{name:<24} {:>5}  {:>8}  {:>7}  {:>7}  {:>7}  {:>10}  {failing}",
            reports.len(),
            sum.answered,
            sum.unknown,
            sum.leaders,
            sum.crashes,
            sum.partitions,
        )
        .unwrap();
    }
    insta::assert_snapshot!(table);
}

/// The book's picture of a history that is not linearizable: a read that
/// sees an older value after a newer write has returned.
#[test]
fn timeline_of_a_stale_read() {
    use lesson05_replication::linearizability::{self, Kind, Operation};
    let op = |client, kind, call, ret| Operation { client, key: b"x".to_vec(), kind, call, ret };
    let set = |v: &str| Kind::Set(v.as_bytes().to_vec());
    let get = |v: &str| Kind::Get(Some(v.as_bytes().to_vec()));
    let mut history = vec![
        op(0, set("1"), 1, Some(3)),
        op(0, set("2"), 4, Some(7)),
        op(1, get("1"), 2, Some(5)),
        op(2, set("3"), 6, None),
        op(1, get("2"), 8, Some(10)),
    ];
    let fine = linearizability::check(&history);
    history.push(op(2, get("1"), 9, Some(11)));
    let stale = linearizability::check(&history);
    assert!(fine.is_ok());
    let violation = stale.expect_err("1 was overwritten by 2 before the read began");
    insta::assert_snapshot!(format!("{violation}"));
}
