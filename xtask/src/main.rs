//! `cargo x`: the course's one entry point, for students, instructors and CI.
//!
//! ```text
//!   cargo x ci            everything CI checks, in order, stopping at the first failure
//!   cargo x book          install the pinned mdBook if needed, build and serve the book
//!   cargo x book --build  only build it, into book/book
//!   cargo x check-book    the book's drift check alone
//! ```

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use xtask::book_check::{self, Finding};
use xtask::mdbook;
use xtask::step::{StepFailed, command, run_step};

/// Course tooling for Build Datastores From Scratch.
#[derive(Parser)]
#[command(name = "cargo x", about)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run every check CI runs: fmt, clippy, tests, the book build and its drift check.
    Ci,
    /// Build the book and serve it on http://127.0.0.1:3000, rebuilding on change.
    Book {
        /// Only build the book into book/book; do not serve it.
        #[arg(long)]
        build: bool,
        /// Open the book in a web browser.
        #[arg(long, conflicts_with = "build")]
        open: bool,
    },
    /// Check that the book matches the code: includes, anchors, snapshots, links.
    CheckBook,
}

fn main() -> ExitCode {
    let root = workspace_root();
    let result = match Cli::parse().command {
        Cmd::Ci => ci(&root),
        Cmd::Book { build: true, .. } => run_step("book build", || mdbook::build(&root)),
        Cmd::Book { build: false, open } => run_step("book serve", || mdbook::serve(&root, open)),
        Cmd::CheckBook => run_step("book drift check", || check_book(&root)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failed) => {
            eprintln!("\nerror: {failed}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root: the folder above this crate.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

fn ci(root: &Path) -> Result<(), StepFailed> {
    let start = std::time::Instant::now();
    run_step("format (cargo fmt --check)", || {
        command(root, "cargo", &["fmt", "--all", "--check"])
    })?;
    run_step("lint (cargo clippy)", || {
        command(root, "cargo", &["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"])
    })?;
    run_step("test (cargo test --workspace)", || command(root, "cargo", &["test", "--workspace"]))?;
    run_step("book build (mdbook build book)", || mdbook::build(root))?;
    run_step("book drift check", || check_book(root))?;
    println!("\nci: all steps passed in {:.0}s", start.elapsed().as_secs_f64());
    Ok(())
}

/// The drift check on the sources, plus the rendered pages if the book has
/// been built.
fn check_book(root: &Path) -> Result<(), String> {
    let book = root.join("book");
    let mut findings: Vec<Finding> = book_check::check_sources(&book);
    let html = book.join("book");
    if html.is_dir() {
        findings.extend(book_check::check_rendered(&book, &html));
    } else {
        println!(
            "(book/book not built yet: skipping the rendered-page check; `cargo x book --build` builds it)"
        );
    }
    for finding in &findings {
        println!("book/{finding}");
    }
    match findings.len() {
        0 => {
            println!("the book matches the code");
            Ok(())
        }
        n => Err(format!("{n} problem(s) in the book, listed above")),
    }
}
