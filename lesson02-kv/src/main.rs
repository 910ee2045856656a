//! `cargo run -p lesson02-kv`: the key-value store's REPL. Interactive on a
//! terminal; in a pipe, one reply per input line:
//!
//! ```text
//! printf 'SET a 1\nINCR a\nGET a\n' | cargo run -q -p lesson02-kv
//! ```

use std::process::ExitCode;

use clap::Parser;
use lesson02_kv::{Session, Store, repl};

/// An in-memory key-value store in the manner of Redis, with a REPL.
///
/// On a terminal it prompts, with line editing and history. When standard
/// input is a pipe or a file, it reads one command per line and prints one
/// reply per command. Type HELP for the commands.
#[derive(Parser)]
#[command(version, about, long_about)]
struct Args {}

fn main() -> ExitCode {
    Args::parse();
    repl::run(&mut Session::new(Store::new()), "lesson02-kv", repl::BANNER)
}
