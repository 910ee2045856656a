//! `cargo x`: the course's one entry point, for students, instructors and CI.
//!
//! ```text
//!   cargo x ci            everything CI checks, in order, stopping at the first failure
//!   cargo x book          install the pinned mdBook if needed, build and serve the book
//!   cargo x book --build  only build it, into book/book
//!   cargo x check-book    the book's drift check alone
//!   cargo x starter DIR   a student copy of the workspace, exercises blanked
//!   cargo x exercises [N] check the exercises (of lesson N), one line each
//!   cargo x measure       run the benchmarks, write measurements/, render the book's tables
//!   cargo x measure --compare --quick   your machine's numbers beside the book's
//! ```

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use xtask::book_check::{self, Finding};
use xtask::exercises::{self, book_page, manifest::Manifest, proof, starter};
use xtask::mdbook;
use xtask::measure;
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
    /// Check that the book matches the code: includes, anchors, snapshots, links, exercises.
    CheckBook,
    /// Write a student copy of the workspace to DIR, with the exercises replaced by todo!().
    Starter {
        /// Where to write it (must not exist, or be empty).
        dir: PathBuf,
        /// Blank only this lesson's exercises; the other lessons stay solved.
        #[arg(long)]
        lesson: Option<u32>,
    },
    /// Check the exercises (of one lesson): run their tests, one line per exercise.
    Exercises {
        /// Only this lesson's exercises.
        lesson: Option<u32>,
        /// Show the next hint for exercise ID (for example 2.1) instead.
        #[arg(long, value_name = "ID", conflicts_with = "write_book")]
        hint: Option<String>,
        /// Regenerate the book's exercise pages from exercises.toml instead.
        #[arg(long)]
        write_book: bool,
    },
    /// Run the benchmarks and comparisons, write their data to measurements/, and
    /// render the book's "Measure it" tables and plots from it.
    Measure {
        /// Only this lesson's measurements.
        #[arg(long)]
        lesson: Option<u32>,
        /// Only this set (for example lesson03-log).
        #[arg(long)]
        set: Option<String>,
        /// Shortened runs, a smoke test: the data goes to target/measure/, not the book.
        #[arg(long)]
        quick: bool,
        /// Run quickly here and print your numbers beside the book's.
        #[arg(long)]
        compare: bool,
        /// Only render the book's tables and plots from the committed data.
        #[arg(long, conflicts_with_all = ["quick", "compare"])]
        render: bool,
    },
}

fn main() -> ExitCode {
    let root = workspace_root();
    let result = match Cli::parse().command {
        Cmd::Ci => ci(&root),
        Cmd::Book { build: true, .. } => run_step("book build", || mdbook::build(&root)),
        Cmd::Book { build: false, open } => run_step("book serve", || mdbook::serve(&root, open)),
        Cmd::CheckBook => run_step("book drift check", || check_book(&root)),
        Cmd::Starter { dir, lesson } => run_step("starter", || starter(&root, &dir, lesson)),
        Cmd::Exercises { hint: Some(id), .. } => {
            run_step("hint", || exercises::next_hint(&root, &Manifest::load(&root)?, &id))
        }
        Cmd::Exercises { write_book: true, .. } => {
            run_step("write the book's exercise pages", || write_book(&root))
        }
        Cmd::Exercises { lesson, .. } => run_step("exercises", || {
            if exercises::report(&root, &Manifest::load(&root)?, lesson)? {
                Ok(())
            } else {
                Err("not every exercise passes yet".into())
            }
        }),
        Cmd::Measure { lesson, set, quick, compare, render } => {
            let selection = measure::Selection { lesson, set };
            if render {
                run_step("render the measurements", || {
                    let problems = measure::render(&root, false)?;
                    if problems.is_empty() { Ok(()) } else { Err(problems.join("\n")) }
                })
            } else if compare {
                run_step("compare with the book", || measure::compare(&root, &selection))
            } else {
                run_step("measure", || measure::measure(&root, &selection, quick))
            }
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failed) => {
            eprintln!("\nerror: {failed}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root, found at run time from the current directory, so
/// that a moved or copied checkout (with an old `target/`) checks itself,
/// not the folder this binary was built in. Outside any workspace, that
/// folder is the fallback.
fn workspace_root() -> PathBuf {
    std::env::current_dir().ok().and_then(|dir| find_workspace(&dir)).unwrap_or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("xtask lives in the workspace")
            .to_path_buf()
    })
}

/// The nearest folder at or above `dir` whose `Cargo.toml` declares a
/// workspace.
fn find_workspace(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .find(|d| {
            std::fs::read_to_string(d.join("Cargo.toml"))
                .is_ok_and(|toml| toml.lines().any(|l| l.trim() == "[workspace]"))
        })
        .map(Path::to_path_buf)
}

fn ci(root: &Path) -> Result<(), StepFailed> {
    let start = std::time::Instant::now();
    run_step("format (cargo fmt --check)", || {
        command(root, "cargo", &["fmt", "--all", "--check"])
    })?;
    // All features: the benchmarks that compare with outside engines (redb)
    // sit behind a feature, so that tests never build them; linting them
    // here is what keeps them compiling.
    run_step("lint (cargo clippy, all features)", || {
        command(
            root,
            "cargo",
            &["clippy", "--workspace", "--all-targets", "--all-features", "--", "-D", "warnings"],
        )
    })?;
    run_step("test (cargo test --workspace)", || command(root, "cargo", &["test", "--workspace"]))?;
    run_step("exercise proof", || proof::prove(root, &Manifest::load(root)?))?;
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
    let mut problems: Vec<String> = findings.iter().map(|f| format!("book/{f}")).collect();
    match measure::render(root, true) {
        Ok(found) => problems.extend(found),
        Err(e) => problems.push(e),
    }
    problems.extend(measure::hand_numbers::check_book(&book));
    match Manifest::load(root) {
        Ok(manifest) => problems.extend(exercises::check_consistency(root, &manifest)),
        Err(e) => problems.push(e),
    }
    for problem in &problems {
        println!("{problem}");
    }
    match problems.len() {
        0 => {
            println!("the book matches the code");
            Ok(())
        }
        n => Err(format!("{n} problem(s) in the book, listed above")),
    }
}

fn starter(root: &Path, dir: &Path, lesson: Option<u32>) -> Result<(), String> {
    let manifest = Manifest::load(root)?;
    let summary = starter::generate(root, dir, &manifest, lesson)?;
    println!(
        "wrote {} files to {}, with {} exercises blanked ({}) in {} files",
        summary.files,
        dir.display(),
        summary.exercises.len(),
        summary.exercises.join(", "),
        summary.blanked_files.len()
    );
    println!(
        "next: cd {} && cargo x exercises{}",
        dir.display(),
        lesson.map(|l| format!(" {l}")).unwrap_or_default()
    );
    Ok(())
}

fn write_book(root: &Path) -> Result<(), String> {
    let manifest = Manifest::load(root)?;
    for (path, text) in book_page::pages(&manifest) {
        let full = root.join("book/src").join(&path);
        std::fs::write(&full, text).map_err(|e| format!("{}: {e}", full.display()))?;
        println!("wrote book/src/{}", path.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::find_workspace;

    #[test]
    fn the_workspace_is_found_from_any_folder_inside_it() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("copy");
        std::fs::create_dir_all(root.join("lesson/src")).unwrap();
        std::fs::write(root.join("Cargo.toml"), "[workspace]\nmembers = []\n").unwrap();
        std::fs::write(root.join("lesson/Cargo.toml"), "[package]\nname = \"x\"\n").unwrap();
        assert_eq!(find_workspace(&root.join("lesson/src")), Some(root.clone()));
        assert_eq!(find_workspace(&root), Some(root));
        assert_eq!(find_workspace(tmp.path()), None);
    }
}
