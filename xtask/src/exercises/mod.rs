//! The course exercises: the reference code marks regions a student writes
//! ([`markers`]), a manifest describes each exercise ([`manifest`]), and the
//! tooling generates the student's copy ([`starter`]), checks it
//! ([`runner`], [`report`]), proves in CI that every exercise is real
//! ([`proof`]), and writes the book's exercise pages ([`book_page`]).

pub mod book_page;
pub mod manifest;
pub mod markers;
pub mod proof;
pub mod runner;
pub mod starter;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use manifest::{Exercise, Manifest};
use runner::Verdict;

/// `cargo x exercises [LESSON]`: one line per exercise, then the first
/// failing one's hints and test output. Returns whether all passed.
pub fn report(root: &Path, manifest: &Manifest, lesson: Option<u32>) -> Result<bool, String> {
    let selected = manifest.select(lesson);
    if selected.is_empty() {
        return Err(format!("no exercises for lesson {}", lesson.unwrap_or(0)));
    }
    let selections: Vec<_> = selected.iter().flat_map(|e| &e.tests).collect();
    let built = runner::build(root, &selections, None)?;
    let mut first_failure: Option<(&Exercise, Verdict)> = None;
    let mut passed = 0;
    println!();
    for ex in &selected {
        let verdict = runner::check(&built, ex)?;
        let mark = if verdict == Verdict::Pass { "✓" } else { "✗" };
        println!("{mark} {:<4} {}  {}", ex.id, ex.stars(), ex.title);
        match verdict {
            Verdict::Pass => passed += 1,
            other if first_failure.is_none() => first_failure = Some((ex, other)),
            _ => {}
        }
    }
    println!("\n{passed} of {} exercises pass.", selected.len());
    let Some((ex, verdict)) = first_failure else { return Ok(true) };
    println!("\nNext: {} {} ({})", ex.id, ex.title, ex.stars());
    println!("  {}", ex.task);
    println!("  Read: book/src/{}#{}  (section \"{}\")", ex.chapter, ex.anchor(), ex.heading);
    let shown = hints_shown(root, &ex.id).max(1);
    for (i, hint) in ex.hints.iter().take(shown).enumerate() {
        println!("  Hint {}: {hint}", i + 1);
    }
    if shown < ex.hints.len() {
        println!("  (more: cargo x exercises --hint {})", ex.id);
    }
    match verdict {
        Verdict::Fail(output) => {
            println!("\nWhat failed:\n{}", runner::failure_excerpt(&output, 30));
        }
        Verdict::NoTests(what) => println!("\nThe manifest is wrong: {what}"),
        Verdict::Pass => {}
    }
    Ok(false)
}

/// `cargo x exercises --hint ID`: shows the next hint, remembering how many
/// were shown in `target/exercise-hints.txt`.
pub fn next_hint(root: &Path, manifest: &Manifest, id: &str) -> Result<(), String> {
    let ex = manifest.get(id).ok_or_else(|| format!("no exercise {id}: see exercises.toml"))?;
    let shown = (hints_shown(root, id) + 1).min(ex.hints.len());
    let mut state = read_hint_state(root);
    state.insert(id.to_string(), shown);
    write_hint_state(root, &state);
    println!(
        "{} {} — hint {shown} of {}:\n\n{}",
        ex.id,
        ex.title,
        ex.hints.len(),
        ex.hints[shown - 1]
    );
    if shown == ex.hints.len() {
        println!(
            "\nThat was the last hint. The book section \"{}\" walks through the reference code.",
            ex.heading
        );
    }
    Ok(())
}

fn hint_file(root: &Path) -> std::path::PathBuf {
    root.join("target/exercise-hints.txt")
}

fn hints_shown(root: &Path, id: &str) -> usize {
    read_hint_state(root).get(id).copied().unwrap_or(0)
}

fn read_hint_state(root: &Path) -> BTreeMap<String, usize> {
    let text = fs::read_to_string(hint_file(root)).unwrap_or_default();
    text.lines()
        .filter_map(|l| l.split_once(' '))
        .filter_map(|(id, n)| Some((id.to_string(), n.parse().ok()?)))
        .collect()
}

fn write_hint_state(root: &Path, state: &BTreeMap<String, usize>) {
    let text: String = state.iter().map(|(id, n)| format!("{id} {n}\n")).collect();
    let path = hint_file(root);
    if let Some(parent) = path.parent() {
        let _ = fs::create_dir_all(parent);
    }
    // Forgetting which hints were shown is harmless; do not fail over it.
    let _ = fs::write(path, text);
}

/// Checks that the code's markers, the manifest and the book agree: every
/// region belongs to an exercise and every exercise has one, every
/// exercise's section exists, and the generated pages are up to date.
pub fn check_consistency(root: &Path, manifest: &Manifest) -> Vec<String> {
    let mut problems = Vec::new();
    if let Err(e) = starter::regions_by_file(root, manifest) {
        problems.push(e);
    }
    let book_src = root.join("book/src");
    for ex in &manifest.exercises {
        let chapter = book_src.join(&ex.chapter);
        match fs::read_to_string(&chapter) {
            Ok(text) if crate::book_check::heading_ids(&text).contains(&ex.anchor()) => {}
            Ok(_) => problems.push(format!(
                "exercise {}: book/src/{} has no heading \"{}\" (id `{}`)",
                ex.id,
                ex.chapter,
                ex.heading,
                ex.anchor()
            )),
            Err(_) => problems.push(format!(
                "exercise {}: chapter book/src/{} does not exist",
                ex.id, ex.chapter
            )),
        }
    }
    for page in book_page::stale_pages(&book_src, manifest) {
        problems.push(format!(
            "book/src/{} is not what exercises.toml generates: run `cargo x exercises --write-book`",
            page.display()
        ));
    }
    problems
}
