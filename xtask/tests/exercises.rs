//! The exercise tooling on a small fixture workspace: one crate, two
//! exercises, real cargo builds.
//!
//! ```text
//!   lesson01-demo/src/lib.rs   add() is exercise 1.1, double() is exercise 1.2
//!   exercises.toml             1.1 checked by tests::adds, 1.2 by tests::doubles
//! ```

use std::fs;
use std::path::Path;

use tempfile::TempDir;
use xtask::exercises::manifest::Manifest;
use xtask::exercises::runner::{self, Verdict};
use xtask::exercises::{proof, starter};

const LIB: &str = r#"//! A fixture crate.

/// Adds.
pub fn add(a: u32, b: u32) -> u32 {
    // exercise 1.1: begin
    a + b
    // exercise 1.1: end
}

/// Doubles.
pub fn double(x: u32) -> u32 {
    // exercise 1.2: begin
    x * 2
    // exercise 1.2: end
}

#[cfg(test)]
mod tests {
    #[test]
    fn adds() {
        assert_eq!(super::add(2, 3), 5);
    }

    #[test]
    fn doubles() {
        assert_eq!(super::double(4), 8);
    }

    #[test]
    fn nothing_much() {
        assert_eq!(1 + 1, 2);
    }
}
"#;

const MANIFEST: &str = r#"
[[exercise]]
id = "1.1"
lesson = 1
title = "Add"
difficulty = 1
chapter = "lesson01/chapter.md"
heading = "Adding"
task = "Write add."
hints = ["Use +."]
tests = [{ package = "lesson01-demo", target = "lib", filter = "tests::adds" }]

[[exercise]]
id = "1.2"
lesson = 1
title = "Double"
difficulty = 2
chapter = "lesson01/chapter.md"
heading = "Doubling"
task = "Write double."
hints = ["Multiply.", "By two."]
tests = [{ package = "lesson01-demo", target = "lib", filter = "tests::doubles" }]
"#;

fn fixture() -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let write = |path: &str, text: &str| {
        let path = root.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    };
    write("Cargo.toml", "[workspace]\nresolver = \"2\"\nmembers = [\"lesson01-demo\"]\n");
    write(
        "lesson01-demo/Cargo.toml",
        "[package]\nname = \"lesson01-demo\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    );
    write("lesson01-demo/src/lib.rs", LIB);
    write("exercises.toml", MANIFEST);
    write("book/src/lesson01/chapter.md", "# Chapter\n\n## Adding\n\n## Doubling\n");
    dir
}

fn verdicts(root: &Path, manifest: &Manifest) -> Vec<Verdict> {
    let selections: Vec<_> = manifest.exercises.iter().flat_map(|e| &e.tests).collect();
    let built = runner::build(root, &selections, None).unwrap();
    manifest.exercises.iter().map(|ex| runner::check(&built, ex).unwrap()).collect()
}

#[test]
fn starter_blanks_the_regions_and_keeps_everything_else() {
    let reference = fixture();
    let manifest = Manifest::load(reference.path()).unwrap();
    let dest = tempfile::tempdir().unwrap();
    let summary = starter::generate(reference.path(), dest.path(), &manifest, None).unwrap();
    assert_eq!(summary.exercises, ["1.1", "1.2"]);

    let lib = fs::read_to_string(dest.path().join("lesson01-demo/src/lib.rs")).unwrap();
    assert!(lib.contains("    // exercise 1.1: begin\n    todo!(\"exercise 1.1: Add — see the book, Lesson 1, \\\"Adding\\\"\")\n    // exercise 1.1: end"));
    assert!(!lib.contains("a + b") && !lib.contains("x * 2"));
    assert!(lib.contains("fn nothing_much()"), "tests are kept");
    assert!(lib.starts_with(&format!("//! A fixture crate.\n{}\n", starter::STARTER_ALLOW)));
    assert_eq!(fs::read_to_string(dest.path().join("exercises.toml")).unwrap(), MANIFEST);
    assert!(
        fs::read_to_string(dest.path().join("EXERCISES.md"))
            .unwrap()
            .contains("| 1.2 | ★★☆ | Double |")
    );

    let again = starter::generate(reference.path(), dest.path(), &manifest, None).unwrap_err();
    assert!(again.contains("not empty"), "{again}");
}

#[test]
fn the_checker_passes_the_reference_and_fails_the_starter() {
    let reference = fixture();
    let manifest = Manifest::load(reference.path()).unwrap();
    assert_eq!(verdicts(reference.path(), &manifest), [Verdict::Pass, Verdict::Pass]);

    // A starter for lesson 1 only, with one exercise then solved by hand.
    let dest = tempfile::tempdir().unwrap();
    starter::generate(reference.path(), dest.path(), &manifest, Some(1)).unwrap();
    let lib_path = dest.path().join("lesson01-demo/src/lib.rs");
    let lib = fs::read_to_string(&lib_path).unwrap();
    let solved = lib.replacen(
        "todo!(\"exercise 1.1: Add — see the book, Lesson 1, \\\"Adding\\\"\")",
        "a + b",
        1,
    );
    assert_ne!(solved, lib);
    fs::write(&lib_path, solved).unwrap();
    let got = verdicts(dest.path(), &manifest);
    assert_eq!(got[0], Verdict::Pass);
    assert!(
        matches!(&got[1], Verdict::Fail(out) if out.contains("not yet implemented: exercise 1.2")),
        "{got:?}"
    );
}

#[test]
fn a_filter_that_matches_nothing_is_reported_not_passed() {
    let reference = fixture();
    let manifest =
        Manifest::parse(&MANIFEST.replace("tests::doubles", "tests::no_such_test")).unwrap();
    let got = verdicts(reference.path(), &manifest);
    assert!(
        matches!(&got[1], Verdict::NoTests(what) if what.contains("matched no test")),
        "{got:?}"
    );
}

#[test]
fn the_proof_passes_real_exercises_and_catches_a_vacuous_one() {
    let reference = fixture();
    let manifest = Manifest::load(reference.path()).unwrap();
    proof::prove(reference.path(), &manifest).unwrap();

    // Exercise 1.2 now "checked" by a test that never calls double().
    let weakened =
        Manifest::parse(&MANIFEST.replace("tests::doubles", "tests::nothing_much")).unwrap();
    let err = proof::prove(reference.path(), &weakened).unwrap_err();
    assert!(
        err.contains("exercise 1.2 (Double): its tests pass with the exercise blanked"),
        "{err}"
    );
}

#[test]
fn markers_and_manifest_must_agree() {
    let reference = fixture();
    let missing = Manifest::parse(&format!(
        "{MANIFEST}\n[[exercise]]\nid = \"1.3\"\nlesson = 1\ntitle = \"T\"\ndifficulty = 1\nchapter = \"c.md\"\n\
         heading = \"H\"\ntask = \"t\"\nhints = [\"h\"]\ntests = [{{ package = \"p\", target = \"lib\", filter = \"\" }}]\n"
    ))
    .unwrap();
    let err = starter::regions_by_file(reference.path(), &missing).unwrap_err();
    assert!(err.contains("exercise 1.3 has no region"), "{err}");

    let only_one = Manifest::parse(&MANIFEST[..MANIFEST.rfind("[[exercise]]").unwrap()]).unwrap();
    let err = starter::regions_by_file(reference.path(), &only_one).unwrap_err();
    assert!(err.contains("exercise 1.2 is not in the manifest"), "{err}");
}
