//! `cargo x starter DIR`: the student's copy of the workspace, with every
//! exercise region replaced by `todo!()`.
//!
//! The starter is generated from the reference, never maintained by hand, so
//! the two cannot disagree: same tests, same book, same tooling, and the
//! exercise regions blanked. `--lesson N` blanks one lesson's exercises and
//! leaves the others solved, so a student can start at any lesson.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::manifest::{Exercise, Manifest};
use super::markers;

/// Lint exceptions added to each blanked crate: a `todo!()` body leaves
/// parameters unused and code after it unreachable, and a beginner should
/// see their own warnings, not forty of ours.
pub const STARTER_ALLOW: &str = "#![allow(unused, unreachable_code, clippy::todo)] // starter: exercises are todo!() until you write them";

/// The files of the workspace: what git tracks plus new files it does not
/// ignore; without git, every file outside `target/`, `.git/` and the
/// built book.
pub fn workspace_files(root: &Path) -> Result<Vec<PathBuf>, String> {
    let listed = Command::new("git")
        .args(["ls-files", "-z", "--cached", "--others", "--exclude-standard"])
        .current_dir(root)
        .output()
        .ok()
        .filter(|out| out.status.success());
    if let Some(out) = listed {
        let mut files: Vec<PathBuf> = out
            .stdout
            .split(|&b| b == 0)
            .filter(|p| !p.is_empty())
            .map(|p| PathBuf::from(String::from_utf8_lossy(p).into_owned()))
            .filter(|p| root.join(p).is_file())
            .collect();
        // Empty when `root` is an ignored folder inside another repository.
        if !files.is_empty() {
            files.sort();
            return Ok(files);
        }
    }
    let mut files = Vec::new();
    walk(root, Path::new(""), &mut files)
        .map_err(|e| format!("cannot list {}: {e}", root.display()))?;
    files.sort();
    Ok(files)
}

fn walk(root: &Path, rel: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in fs::read_dir(root.join(rel))? {
        let entry = entry?;
        let rel = rel.join(entry.file_name());
        let skip = matches!(rel.to_str(), Some("target" | ".git" | "book/book"));
        if skip {
            continue;
        }
        if entry.file_type()?.is_dir() {
            walk(root, &rel, out)?;
        } else {
            out.push(rel);
        }
    }
    Ok(())
}

/// The Rust sources that may hold exercise regions: those of the lesson crates.
pub fn lesson_sources(files: &[PathBuf]) -> Vec<&PathBuf> {
    files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .filter(|p| {
            p.components()
                .next()
                .is_some_and(|c| c.as_os_str().to_string_lossy().starts_with("lesson"))
        })
        .collect()
}

/// Every region of every lesson source, by file, checked against the
/// manifest: each region's id is an exercise, and each exercise has a region.
pub fn regions_by_file(
    root: &Path,
    manifest: &Manifest,
) -> Result<BTreeMap<PathBuf, Vec<String>>, String> {
    let files = workspace_files(root)?;
    let mut by_file = BTreeMap::new();
    let mut seen = BTreeSet::new();
    for path in lesson_sources(&files) {
        let source =
            fs::read_to_string(root.join(path)).map_err(|e| format!("{}: {e}", path.display()))?;
        let regions = markers::regions(&path.display().to_string(), &source)?;
        if regions.is_empty() {
            continue;
        }
        for region in &regions {
            if manifest.get(&region.id).is_none() {
                return Err(format!(
                    "{}:{}: exercise {} is not in the manifest",
                    path.display(),
                    region.begin + 1,
                    region.id
                ));
            }
            seen.insert(region.id.clone());
        }
        by_file.insert(path.clone(), regions.into_iter().map(|r| r.id).collect());
    }
    for ex in &manifest.exercises {
        if !seen.contains(&ex.id) {
            return Err(format!(
                "exercise {} has no region marked in the code (// exercise {}: begin)",
                ex.id, ex.id
            ));
        }
    }
    Ok(by_file)
}

/// The blanked text of one file, for the exercises in `selected`; `None` if
/// the file has no selected region.
pub fn blanked(
    path: &Path,
    source: &str,
    selected: &[&Exercise],
) -> Result<Option<String>, String> {
    let message = |id: &str| selected.iter().find(|e| e.id == id).map(|e| e.todo_message());
    let regions = markers::regions(&path.display().to_string(), source)?;
    if !regions.iter().any(|r| message(&r.id).is_some()) {
        return Ok(None);
    }
    let mut text = markers::blank(&path.display().to_string(), source, message)?;
    if path.ends_with("src/lib.rs") {
        text = with_starter_allow(&text);
    }
    Ok(Some(text))
}

/// Adds [`STARTER_ALLOW`] after the crate's leading doc comment.
pub fn with_starter_allow(lib_rs: &str) -> String {
    if lib_rs.contains(STARTER_ALLOW) {
        return lib_rs.to_string();
    }
    let lines: Vec<&str> = lib_rs.split('\n').collect();
    let at = lines.iter().take_while(|l| l.starts_with("//!")).count();
    let mut out: Vec<&str> = lines[..at].to_vec();
    out.push(STARTER_ALLOW);
    out.extend(&lines[at..]);
    out.join("\n")
}

/// The crate root of the crate a source file belongs to: `lessonNN-x/src/lib.rs`.
pub fn crate_lib(path: &Path) -> PathBuf {
    let krate = path.components().next().map(|c| PathBuf::from(c.as_os_str())).unwrap_or_default();
    krate.join("src/lib.rs")
}

/// What a generated starter holds.
#[derive(Debug)]
pub struct Summary {
    /// Files copied.
    pub files: usize,
    /// Exercises blanked.
    pub exercises: Vec<String>,
    /// Files in which regions were blanked.
    pub blanked_files: Vec<PathBuf>,
}

/// Writes the starter for `lesson` (or every lesson) into `dest`.
pub fn generate(
    root: &Path,
    dest: &Path,
    manifest: &Manifest,
    lesson: Option<u32>,
) -> Result<Summary, String> {
    if dest.exists() && fs::read_dir(dest).map_err(|e| e.to_string())?.next().is_some() {
        return Err(format!("{} exists and is not empty: choose a new directory", dest.display()));
    }
    let selected = manifest.select(lesson);
    if selected.is_empty() {
        return Err(format!("no exercises for lesson {}", lesson.unwrap_or(0)));
    }
    let regions = regions_by_file(root, manifest)?;
    let files = workspace_files(root)?;
    let mut blanked_files = Vec::new();
    let mut allow_crates = BTreeSet::new();
    for path in &files {
        let target = dest.join(path);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        let mut written = false;
        if regions.contains_key(path) {
            let source = fs::read_to_string(root.join(path))
                .map_err(|e| format!("{}: {e}", path.display()))?;
            if let Some(text) = blanked(path, &source, &selected)? {
                fs::write(&target, text).map_err(|e| format!("{}: {e}", target.display()))?;
                blanked_files.push(path.clone());
                allow_crates.insert(crate_lib(path));
                written = true;
            }
        }
        if !written {
            fs::copy(root.join(path), &target).map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    // Crates whose lib.rs had no region of their own still need the allow.
    for lib in allow_crates {
        let path = dest.join(&lib);
        let text = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        fs::write(&path, with_starter_allow(&text))
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    fs::write(dest.join("EXERCISES.md"), exercises_md(&selected)).map_err(|e| e.to_string())?;
    Ok(Summary {
        files: files.len(),
        exercises: selected.iter().map(|e| e.id.clone()).collect(),
        blanked_files,
    })
}

/// The starter's `EXERCISES.md`: the workflow, and the list of exercises.
pub fn exercises_md(selected: &[&Exercise]) -> String {
    let mut out = String::from(
        "# Exercises\n\n\
         This is your copy of the workbook. The code of each exercise has been cut out and\n\
         replaced by `todo!(\"exercise N.M: …\")`; the marker comments around it show where\n\
         your code goes. Everything else (the tests, the book, the tooling) is as in the\n\
         reference.\n\n\
         ## Workflow\n\n\
         1. Read the book section the exercise names: `cargo x book --open`.\n\
         2. Find the exercise: `grep -rn \"exercise 2.1: begin\" lesson*/`.\n\
         3. Write the code between the markers.\n\
         4. Check it: `cargo x exercises 2` runs the tests of every lesson-2 exercise and\n   \
            prints one line per exercise, then the first failing one's hint and test output.\n\
         5. Stuck? `cargo x exercises --hint 2.1` shows the next hint.\n\n\
         `cargo test -p lesson02-kv` still runs every test, as usual; `cargo x exercises`\n\
         just tells you which exercise a failure belongs to.\n\n\
         ## The exercises\n\n\
         | id | difficulty | exercise | book section |\n|---|---|---|---|\n",
    );
    for ex in selected {
        out.push_str(&format!(
            "| {} | {} | {} | Lesson {}, \"{}\" |\n",
            ex.id,
            ex.stars(),
            ex.title,
            ex.lesson,
            ex.heading
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_allow_goes_after_the_crate_docs_once() {
        let lib = "//! Docs.\n//! More.\n\npub mod a;\n";
        let once = with_starter_allow(lib);
        assert_eq!(once, format!("//! Docs.\n//! More.\n{STARTER_ALLOW}\n\npub mod a;\n"));
        assert_eq!(with_starter_allow(&once), once);
    }

    #[test]
    fn crate_lib_of_a_source_file() {
        assert_eq!(
            crate_lib(Path::new("lesson02-kv/src/glob.rs")),
            PathBuf::from("lesson02-kv/src/lib.rs")
        );
    }
}
