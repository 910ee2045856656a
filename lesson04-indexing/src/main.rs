//! `cargo run -p lesson04-indexing -- --engine bitcask|btree --data-dir DIR`.

fn main() {}
