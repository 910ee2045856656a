//! `cargo run -p lesson03-persistence -- --data-dir DIR --fsync POLICY`:
//! lesson 2's REPL on a store that survives restarts.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use lesson02_kv::repl;
use lesson03_persistence::{DurableStore, FsyncPolicy, Options, Session};

/// A durable key-value store: lesson 2's commands, plus SAVE, COMPACT and
/// INFO. The recovery report goes to standard error, so that in a pipe,
/// standard output holds exactly one reply per command, each printed once
/// the command is durable under the chosen fsync policy.
#[derive(Parser)]
#[command(version, about, long_about)]
struct Args {
    /// Where the log, the snapshot and the lock file live.
    #[arg(long, default_value = "./data")]
    data_dir: PathBuf,
    /// When to fsync the log.
    #[arg(long, value_enum, default_value_t = FsyncPolicy::EverySec)]
    fsync: FsyncPolicy,
    /// Cut the log at the first damaged record instead of refusing to start
    /// (the records after it are lost).
    #[arg(long)]
    repair: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let fsync = args.fsync;
    let options = Options { fsync, repair: args.repair, ..Options::default() };
    let (store, report) = match DurableStore::open(&args.data_dir, options) {
        Ok(opened) => opened,
        Err(e) => {
            eprintln!("lesson03-persistence: {e}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!("{report}");
    let banner = format!(
        "lesson03-persistence: a durable key-value store in {} (fsync {fsync}). Type HELP for commands, QUIT to leave.",
        args.data_dir.display()
    );
    repl::run(&mut Session::new(store), "lesson03-persistence", &banner)
}
