//! `cargo run -p lesson04-indexing -- --engine bitcask|btree --data-dir DIR`:
//! lesson 2's REPL over an index on disk.

use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, ValueEnum};
use lesson02_kv::repl;
use lesson02_kv::repl::LineHandler;
use lesson04_indexing::bitcask::{Bitcask, BitcaskOptions};
use lesson04_indexing::btree::{self, BTree};
use lesson04_indexing::document::{DocSession, DocStore};
use lesson04_indexing::{Result, Session};

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
    /// B+tree and documents: bytes per page, a power of two from 64 to 32768 (a file
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
    /// Collections of JSON documents in a B+tree, queried MongoDB's way.
    Documents,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match args.engine {
        EngineKind::Bitcask => {
            let options = BitcaskOptions {
                max_segment_bytes: args.segment_bytes,
                ..BitcaskOptions::default()
            };
            run(Bitcask::open(&args.data_dir, options), Session::new, "Bitcask", &args.data_dir)
        }
        EngineKind::Btree | EngineKind::Documents => {
            if !(64..=32768).contains(&args.page_size) || !args.page_size.is_power_of_two() {
                eprintln!("{NAME}: --page-size must be a power of two from 64 to 32768");
                return ExitCode::from(2);
            }
            let options = btree::Options { page_size: args.page_size, ..btree::Options::default() };
            let opened = BTree::open(&args.data_dir, options);
            if let EngineKind::Btree = args.engine {
                run(opened, Session::new, "a B+tree", &args.data_dir)
            } else {
                let session = |tree| DocSession::new(DocStore::open(tree).unwrap());
                run(opened, session, "documents in a B+tree", &args.data_dir)
            }
        }
    }
}

const NAME: &str = "lesson04-indexing";

/// Prints the open report (or the error) to stderr, then runs the REPL on
/// the session `session` makes of the engine.
fn run<E, S: LineHandler>(
    opened: Result<(E, impl Display)>,
    session: impl FnOnce(E) -> S,
    what: &str,
    dir: &Path,
) -> ExitCode {
    let (engine, report) = match opened {
        Ok(opened) => opened,
        Err(e) => {
            eprintln!("{NAME}: {e}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!("{report}");
    let banner =
        format!("{NAME}: {what} in {}. Type HELP for commands, QUIT to leave.", dir.display());
    repl::run(&mut session(engine), NAME, &banner)
}
