//! `cargo run -p lesson04-indexing -- --engine bitcask|btree --data-dir DIR`:
//! lesson 2's REPL over an index on disk.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, ValueEnum};
use lesson02_kv::repl;
use lesson04_indexing::Session;
use lesson04_indexing::bitcask::{Bitcask, BitcaskOptions};
use lesson04_indexing::btree::{self, BTree};

/// A key-value store whose data lives on disk, behind one of two indexes.
/// The open report goes to standard error, so that in a pipe, standard
/// output holds exactly one reply per command, each printed once the
/// command is durable.
#[derive(Parser)]
#[command(version, about, long_about)]
struct Args {
    /// Which index.
    #[arg(long, value_enum)]
    engine: EngineKind,
    /// Where the engine's files and its lock file live.
    #[arg(long, default_value = "./data")]
    data_dir: PathBuf,
    /// B+tree: bytes per page, a power of two from 64 to 32768 (a file
    /// keeps the page size it was made with).
    #[arg(long, default_value_t = 4096)]
    page_size: usize,
    /// Bitcask: the size at which the active segment is sealed and a new
    /// one started.
    #[arg(long, default_value_t = 64 << 20)]
    segment_bytes: u64,
}

#[derive(Clone, Copy, ValueEnum)]
enum EngineKind {
    /// A hash index in memory over append-only segment files.
    Bitcask,
    /// A paged, copy-on-write B+tree.
    Btree,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let name = "lesson04-indexing";
    match args.engine {
        EngineKind::Bitcask => {
            let options = BitcaskOptions {
                max_segment_bytes: args.segment_bytes,
                ..BitcaskOptions::default()
            };
            let (store, report) = match Bitcask::open(&args.data_dir, options) {
                Ok(opened) => opened,
                Err(e) => {
                    eprintln!("{name}: {e}");
                    return ExitCode::FAILURE;
                }
            };
            eprintln!("{report}");
            let banner = format!(
                "{name}: Bitcask in {}. Type HELP for commands, QUIT to leave.",
                args.data_dir.display()
            );
            repl::run(&mut Session::new(store), name, &banner)
        }
        EngineKind::Btree => {
            if !(64..=32768).contains(&args.page_size) || !args.page_size.is_power_of_two() {
                eprintln!("{name}: --page-size must be a power of two from 64 to 32768");
                return ExitCode::from(2);
            }
            let options = btree::Options { page_size: args.page_size, ..btree::Options::default() };
            let (tree, report) = match BTree::open(&args.data_dir, options) {
                Ok(opened) => opened,
                Err(e) => {
                    eprintln!("{name}: {e}");
                    return ExitCode::FAILURE;
                }
            };
            eprintln!("{report}");
            let banner = format!(
                "{name}: a B+tree in {}. Type HELP for commands, QUIT to leave.",
                args.data_dir.display()
            );
            repl::run(&mut Session::new(tree), name, &banner)
        }
    }
}
