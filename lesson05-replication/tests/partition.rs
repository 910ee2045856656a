//! Partitioning, measured: how many keys move when a shard joins or leaves,
//! and how evenly the keys spread, for hash slots and for a consistent-hash
//! ring. And our slots against real Redis's `CLUSTER KEYSLOT`.

use std::fmt::Write as _;

#[path = "common/tools.rs"]
pub mod tools;

use lesson05_replication::Frame;
use lesson05_replication::client::Client;
use lesson05_replication::partition::{Ring, SLOTS, SlotMap, key_slot};

use tools::RedisServer;

const KEYS: usize = 100_000;

fn keys() -> Vec<Vec<u8>> {
    (0..KEYS).map(|i| format!("user:{i}").into_bytes()).collect()
}

/// Largest shard over the mean: 1.0 is perfectly even.
fn spread(owners: &[usize], shards: usize) -> f64 {
    let mut counts = vec![0usize; shards];
    for &o in owners {
        counts[o] += 1;
    }
    let mean = owners.len() as f64 / shards as f64;
    *counts.iter().max().unwrap() as f64 / mean
}

fn moved(before: &[usize], after: &[usize]) -> usize {
    before.iter().zip(after).filter(|(a, b)| a != b).count()
}

fn ring(shards: usize, vnodes: usize) -> Ring {
    let mut ring = Ring::new(vnodes);
    for s in 0..shards {
        ring.add(s);
    }
    ring
}

// ANCHOR: measure
#[test]
fn keys_moved_and_load_spread_for_slots_and_rings() {
    let keys = keys();
    let mut table = String::from(
        "scheme                   4 shards: max/mean   5th joins: keys moved   5th leaves: keys moved\n",
    );

    // Hash slots: the new shard takes a fair share of slots; only their keys move.
    let mut slots = SlotMap::even(4);
    let four: Vec<usize> = keys.iter().map(|k| slots.shard_of(k)).collect();
    let moved_slots = slots.add_shard();
    let five: Vec<usize> = keys.iter().map(|k| slots.shard_of(k)).collect();
    let joined = moved(&four, &five);
    let in_moved_slots = keys.iter().filter(|k| moved_slots.contains(&key_slot(k))).count();
    assert_eq!(joined, in_moved_slots, "exactly the keys of the reassigned slots move");
    assert!((0.18..=0.22).contains(&(joined as f64 / KEYS as f64)), "{joined}");
    assert!(
        five.iter().zip(&four).all(|(n, o)| n == o || *n == 4),
        "keys move only to the new shard"
    );
    slots.remove_last_shard();
    let back: Vec<usize> = keys.iter().map(|k| slots.shard_of(k)).collect();
    let left = moved(&five, &back);
    assert_eq!(
        left,
        five.iter().filter(|&&s| s == 4).count(),
        "only the leaving shard's keys move"
    );
    let even = spread(&four, 4);
    assert!(even < 1.05, "slots spread evenly: {even}");
    writeln!(
        table,
        "{:<24} {:>17.3} {:>22.1}% {:>23.1}%",
        "hash slots (16384)",
        even,
        100.0 * joined as f64 / KEYS as f64,
        100.0 * left as f64 / KEYS as f64
    )
    .unwrap();

    // Rings: a joining shard takes keys from every other shard, and only
    // for itself; a leaving one gives back only its own.
    for vnodes in [1, 10, 100, 1000] {
        let four_ring = ring(4, vnodes);
        let mut five_ring = ring(4, vnodes);
        five_ring.add(4);
        let four: Vec<usize> = keys.iter().map(|k| four_ring.shard_of(k).unwrap()).collect();
        let five: Vec<usize> = keys.iter().map(|k| five_ring.shard_of(k).unwrap()).collect();
        let joined = moved(&four, &five);
        assert!(five.iter().zip(&four).all(|(n, o)| n == o || *n == 4), "only to the new shard");
        five_ring.remove(4);
        let back: Vec<usize> = keys.iter().map(|k| five_ring.shard_of(k).unwrap()).collect();
        assert_eq!(back, four, "leaving puts every key back where it was");
        let left = moved(&five, &back);
        assert_eq!(left, five.iter().filter(|&&s| s == 4).count(), "only the leaver's keys move");
        let load = spread(&four, 4);
        if vnodes >= 100 {
            assert!((0.12..=0.28).contains(&(joined as f64 / KEYS as f64)), "≈ 1/5: {joined}");
            assert!(load < 1.3, "{vnodes} virtual nodes spread well: {load}");
        }
        writeln!(
            table,
            "{:<24} {:>17.3} {:>22.1}% {:>23.1}%",
            format!("ring, {vnodes} points/shard"),
            load,
            100.0 * joined as f64 / KEYS as f64,
            100.0 * left as f64 / KEYS as f64
        )
        .unwrap();
    }
    // One point per shard spreads badly: the reason for virtual nodes.
    assert!(
        spread(&keys.iter().map(|k| ring(4, 1).shard_of(k).unwrap()).collect::<Vec<_>>(), 4) > 1.3
    );
    insta::assert_snapshot!("partition_measure", table);
}
// ANCHOR_END: measure

#[tokio::test]
async fn our_slots_are_real_redis_slots() {
    let Some(redis) = RedisServer::start(&["--cluster-enabled", "yes"]) else { return };
    let port = redis.port;
    let mut client = None;
    for _ in 0..200 {
        if let Ok(c) = Client::connect(("127.0.0.1", port)).await {
            client = Some(c);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let mut client = client.expect("redis-server started");
    let mut keys: Vec<String> = (0..300).map(|i| format!("key:{i}")).collect();
    keys.extend(
        ["", "{", "}", "{}", "a{}b", "{user:1}.x", "x{a}{b}", "{{a}}", "é{ü}"].map(String::from),
    );
    for key in &keys {
        let theirs = client.call(&["CLUSTER", "KEYSLOT", key]).await.unwrap();
        assert_eq!(theirs, Frame::Integer(i64::from(key_slot(key.as_bytes()))), "{key:?}");
    }
    assert!(keys.iter().all(|k| key_slot(k.as_bytes()) < SLOTS));
}
