//! The keydir's memory per key, measured against the estimate.
//!
//! The estimate ([`KeyDir::bytes_per_key`]) is arithmetic on the table's
//! layout; this test measures what the process really holds: the growth of
//! its resident memory (Linux's `/proc/self/statm`) while a keydir of
//! 200 000 keys is built. That counts the allocator's headers and rounding
//! too, which no Rust API reports. It is the only test in this binary, so
//! no other test allocates meanwhile.

use lesson04_indexing::bitcask::{KeyDir, Location};

const KEYS: usize = 200_000;
const KEY_BYTES: usize = 24;

/// Resident memory of this process, in bytes.
fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("Linux's /proc");
    let pages: u64 = statm.split_whitespace().nth(1).expect("resident field").parse().unwrap();
    pages * 4096
}

#[test]
#[cfg(target_os = "linux")]
fn bitcask_keydir_memory_per_key_is_what_the_estimate_says() {
    // The keys exist before the measurement starts; the keydir gets copies,
    // as `Bitcask::set` and `load_hint` make them.
    let keys: Vec<Vec<u8>> =
        (0..KEYS).map(|i| format!("{i:0width$}", width = KEY_BYTES).into_bytes()).collect();
    let before = resident_bytes();
    let mut keydir = KeyDir::new();
    keydir.reserve(KEYS); // as open does: one table, no growth
    for (i, key) in keys.iter().enumerate() {
        let location = Location { segment: 1, offset: i as u64 * 190, len: 190 };
        keydir.insert(key.as_slice().to_vec(), location);
    }
    let measured = (resident_bytes() - before) as f64 / KEYS as f64;
    let allocated = keydir.allocated_bytes() as f64 / KEYS as f64;
    let estimated = keydir.estimated_bytes() as f64 / KEYS as f64;
    eprintln!(
        "keydir of {KEYS} keys of {KEY_BYTES} bytes: {measured:.1} bytes/key resident, \
         {allocated:.1} requested from the allocator, {estimated:.1} estimated"
    );
    assert!(
        (measured - estimated).abs() / estimated < 0.15,
        "measured {measured:.1} bytes per key, estimated {estimated:.1}"
    );
    assert!(allocated <= measured * 1.02, "requested {allocated:.1} > resident {measured:.1}");
    assert_eq!(keydir.len(), KEYS);
}
