//! Bitcask benches (being written).

fn main() {}
