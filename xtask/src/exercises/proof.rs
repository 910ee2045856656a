//! The proof that the exercises are real, run by `cargo x ci`:
//!
//! 1. the reference passes every exercise;
//! 2. the starter, with every exercise blanked, builds without warnings;
//! 3. for each exercise, a copy with **only that exercise** blanked fails
//!    that exercise's tests, so no exercise's tests are vacuous.
//!
//! Steps 2 and 3 work in one copy of the workspace (under
//! `target/exercise-proof/`), changing only the files an exercise touches
//! between runs, with one target directory, so that cargo recompiles only
//! the crate that changed.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use super::manifest::{Exercise, Manifest};
use super::runner::{self, Verdict};
use super::starter::{self, blanked};

/// Runs the whole proof. Prints one line per exercise.
pub fn prove(root: &Path, manifest: &Manifest) -> Result<(), String> {
    let start = Instant::now();
    let all: Vec<&Exercise> = manifest.exercises.iter().collect();

    // 1. The reference passes every exercise.
    let selections: Vec<_> = all.iter().flat_map(|e| &e.tests).collect();
    let built = runner::build(root, &selections, None)?;
    for ex in &all {
        match runner::check(&built, ex)? {
            Verdict::Pass => {}
            Verdict::Fail(output) => {
                return Err(format!(
                    "the reference fails exercise {}'s tests:\n{}",
                    ex.id,
                    runner::failure_excerpt(&output, 40)
                ));
            }
            Verdict::NoTests(what) => return Err(format!("exercise {}: {what}", ex.id)),
        }
    }
    println!("reference: all {} exercises pass", all.len());

    // 2. The starter builds, without warnings.
    let proof = root.join("target/exercise-proof");
    let ws = proof.join("ws");
    let target_dir = proof.join("target");
    copy_workspace(root, &ws)?;
    let regions = starter::regions_by_file(root, manifest)?;
    let reference = |path: &Path| {
        fs::read_to_string(root.join(path)).map_err(|e| format!("{}: {e}", path.display()))
    };
    let blank_only = |selected: &[&Exercise]| -> Result<Vec<PathBuf>, String> {
        let mut touched = Vec::new();
        for path in regions.keys() {
            let source = reference(path)?;
            let text = match blanked(path, &source, selected)? {
                Some(text) => {
                    touched.push(path.clone());
                    text
                }
                None => source,
            };
            write_if_changed(&ws.join(path), &text)?;
        }
        // The allow attribute goes in the lib.rs of every blanked crate.
        for lib in
            touched.iter().map(|p| starter::crate_lib(p)).collect::<std::collections::BTreeSet<_>>()
        {
            let text = fs::read_to_string(ws.join(&lib)).map_err(|e| e.to_string())?;
            write_if_changed(&ws.join(&lib), &starter::with_starter_allow(&text))?;
        }
        // Crates not blanked this time get their reference lib.rs back.
        for path in regions.keys().map(|p| starter::crate_lib(p)) {
            if !touched.iter().any(|t| starter::crate_lib(t) == path) {
                write_if_changed(&ws.join(&path), &reference(&path)?)?;
            }
        }
        Ok(touched)
    };
    blank_only(&all)?;
    let out = Command::new("cargo")
        .args(["build", "--workspace", "--all-targets"])
        .current_dir(&ws)
        .env("CARGO_TARGET_DIR", &target_dir)
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!("the starter does not build:\n{stderr}"));
    }
    let warnings: Vec<&str> = stderr.lines().filter(|l| l.starts_with("warning")).collect();
    if !warnings.is_empty() {
        return Err(format!("the starter builds with warnings a student would see:\n{stderr}"));
    }
    println!("starter: builds with every exercise blanked, no warnings");

    // 3. Each exercise's tests fail when only that exercise is blanked.
    for ex in &all {
        let ex_start = Instant::now();
        blank_only(std::slice::from_ref(ex))?;
        let selections: Vec<_> = ex.tests.iter().collect();
        let built = runner::build(&ws, &selections, Some(&target_dir))
            .map_err(|e| format!("exercise {}: with only it blanked, {e}", ex.id))?;
        match runner::check(&built, ex)? {
            Verdict::Fail(_) => {
                println!(
                    "  ✓ {} {}: its tests fail without it ({:.1}s)",
                    ex.id,
                    ex.title,
                    ex_start.elapsed().as_secs_f64()
                );
            }
            Verdict::Pass => {
                return Err(format!(
                    "exercise {} ({}): its tests pass with the exercise blanked, so they do not check it",
                    ex.id, ex.title
                ));
            }
            Verdict::NoTests(what) => return Err(format!("exercise {}: {what}", ex.id)),
        }
    }
    blank_only(&[])?;
    println!("exercise proof: {} exercises, {:.0}s", all.len(), start.elapsed().as_secs_f64());
    Ok(())
}

/// Makes `ws` an up-to-date copy of the workspace at `root`, touching only
/// files whose content differs (so cargo's fingerprints stay valid).
fn copy_workspace(root: &Path, ws: &Path) -> Result<(), String> {
    for path in starter::workspace_files(root)? {
        let text = fs::read(root.join(&path)).map_err(|e| format!("{}: {e}", path.display()))?;
        let target = ws.join(&path);
        if fs::read(&target).ok().as_deref() != Some(text.as_slice()) {
            if let Some(parent) = target.parent() {
                fs::create_dir_all(parent).map_err(|e| e.to_string())?;
            }
            fs::write(&target, &text).map_err(|e| format!("{}: {e}", target.display()))?;
        }
    }
    Ok(())
}

fn write_if_changed(path: &Path, text: &str) -> Result<(), String> {
    if fs::read_to_string(path).ok().as_deref() != Some(text) {
        fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}
