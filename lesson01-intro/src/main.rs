//! `cargo run -p lesson01-intro`: the tour of the zoo, then the lookup
//! timing table. Flags only choose what to print; the work is in the library.

use clap::{Parser, ValueEnum};
use lesson01_intro::{timing, tour};

/// A tour of datastore families, and why lookups need more than a list.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// Print only one part.
    #[arg(long, value_enum)]
    only: Option<Part>,
    /// Sizes for the timing table, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "10,1000,100000")]
    sizes: Vec<usize>,
}

/// The parts of the program's output.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Part {
    /// The four families answering one question.
    Tour,
    /// The lookup timing table.
    Timing,
}

fn main() {
    let args = Args::parse();
    if args.only != Some(Part::Timing) {
        print!("{}", tour::tour());
    }
    if args.only.is_none() {
        println!();
    }
    if args.only != Some(Part::Tour) {
        let rows: Vec<_> =
            args.sizes.iter().map(|&n| timing::measure(n, timing::lookups_for(n))).collect();
        print!("{}", timing::render(&rows));
    }
}
