//! Checking exercises: build the test binaries once, then run each
//! exercise's tests by name filter, and say which exercises pass.
//!
//! ```text
//!   cargo test --no-run --message-format=json   (once per package)
//!        │  compiler-artifact messages: package, target, executable
//!        ▼
//!   for each exercise, for each selection:  <test binary> <filter>
//!        │  "test result: ok. 3 passed; 0 failed; …"
//!        ▼
//!   ✓ / ✗ per exercise
//! ```
//!
//! Running the test binaries directly, instead of `cargo test` once per
//! exercise, means one compilation and no cargo start-up per exercise.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::manifest::{Exercise, TestSelection};

/// A test binary, and the folder cargo would run it in.
#[derive(Debug, Clone)]
pub struct TestBinary {
    /// The executable.
    pub executable: PathBuf,
    /// The package's folder (cargo runs tests there).
    pub dir: PathBuf,
}

/// The test binaries of some packages, by (package, target).
#[derive(Debug, Default)]
pub struct Built {
    binaries: BTreeMap<(String, String), TestBinary>,
}

/// Builds the test binaries that `selections` need, in the workspace at
/// `root`. Compiler messages go to the terminal; a failed build is an error.
pub fn build(
    root: &Path,
    selections: &[&TestSelection],
    target_dir: Option<&Path>,
) -> Result<Built, String> {
    let mut targets: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for sel in selections {
        targets.entry(&sel.package).or_default().insert(&sel.target);
    }
    let mut built = Built::default();
    for (package, targets) in targets {
        let mut args =
            vec!["test", "--no-run", "--message-format=json-render-diagnostics", "-p", package];
        for target in &targets {
            match *target {
                "lib" => args.push("--lib"),
                name => args.extend(["--test", name]),
            }
        }
        let mut cmd = Command::new("cargo");
        cmd.args(&args).current_dir(root).stdout(Stdio::piped()).stderr(Stdio::inherit());
        if let Some(dir) = target_dir {
            cmd.env("CARGO_TARGET_DIR", dir);
        }
        let out = cmd.output().map_err(|e| format!("cannot run cargo: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "`cargo {}` failed: the code does not compile (errors above)",
                args.join(" ")
            ));
        }
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            if let Some((key, binary)) = test_artifact(line) {
                built.binaries.insert(key, binary);
            }
        }
    }
    Ok(built)
}

/// Reads one line of cargo's JSON output: a test executable, if it is one.
fn test_artifact(line: &str) -> Option<((String, String), TestBinary)> {
    let msg: serde_json::Value = serde_json::from_str(line).ok()?;
    if msg["reason"] != "compiler-artifact" || msg["profile"]["test"] != true {
        return None;
    }
    let executable = PathBuf::from(msg["executable"].as_str()?);
    let kinds: Vec<&str> =
        msg["target"]["kind"].as_array()?.iter().filter_map(|k| k.as_str()).collect();
    let target = if kinds.contains(&"lib") {
        "lib".to_string()
    } else {
        msg["target"]["name"].as_str()?.to_string()
    };
    let manifest = PathBuf::from(msg["manifest_path"].as_str()?);
    let package = package_name(msg["package_id"].as_str()?, &manifest)?;
    let dir = manifest.parent()?.to_path_buf();
    Some(((package, target), TestBinary { executable, dir }))
}

/// The package name in a package id: `path+file:///…/lesson02-kv#0.1.0`
/// (name = folder) or `path+file:///…/dir#name@0.1.0`.
fn package_name(id: &str, manifest: &Path) -> Option<String> {
    let fragment = id.rsplit_once('#').map(|(_, f)| f)?;
    match fragment.split_once('@') {
        Some((name, _)) => Some(name.to_string()),
        None => Some(manifest.parent()?.file_name()?.to_string_lossy().into_owned()),
    }
}

/// What running one selection gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunResult {
    /// Tests that passed.
    pub passed: usize,
    /// Tests that failed.
    pub failed: usize,
    /// Everything the binary printed.
    pub output: String,
}

/// Runs the tests of one selection.
pub fn run(built: &Built, sel: &TestSelection) -> Result<RunResult, String> {
    let binary = built
        .binaries
        .get(&(sel.package.clone(), sel.target.clone()))
        .ok_or_else(|| format!("no test target `{}` in package `{}`", sel.target, sel.package))?;
    let out = Command::new(&binary.executable)
        .arg(&sel.filter)
        .current_dir(&binary.dir)
        // A failing snapshot must not leave .snap.new files in a student's tree.
        .env("INSTA_UPDATE", "no")
        // Backtraces would bury the one line that says what failed.
        .env("RUST_BACKTRACE", "0")
        .output()
        .map_err(|e| format!("cannot run {}: {e}", binary.executable.display()))?;
    let output =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    // No summary line: the binary crashed (an abort, a stack overflow).
    let (passed, failed) = libtest_counts(&output).unwrap_or((0, 1));
    Ok(RunResult { passed, failed, output })
}

/// The counts on libtest's summary line:
/// `test result: FAILED. 3 passed; 1 failed; 0 ignored; …`.
pub fn libtest_counts(output: &str) -> Option<(usize, usize)> {
    let line = output.lines().rev().find(|l| l.starts_with("test result: "))?;
    let count = |word: &str| -> Option<usize> {
        let before = line.split(&format!(" {word}")).next()?;
        before.rsplit([' ', '.']).next()?.parse().ok()
    };
    Some((count("passed")?, count("failed")?))
}

/// How an exercise fared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every selected test ran and passed.
    Pass,
    /// Some test failed; the output of the first failing selection.
    Fail(String),
    /// A selection matched no test: the manifest is wrong, not the student.
    NoTests(String),
}

/// Checks one exercise.
pub fn check(built: &Built, ex: &Exercise) -> Result<Verdict, String> {
    for sel in &ex.tests {
        let result = run(built, sel)?;
        if result.failed > 0 {
            return Ok(Verdict::Fail(result.output));
        }
        if result.passed == 0 {
            let what = format!(
                "`{}` target `{}` filter {:?} matched no test",
                sel.package, sel.target, sel.filter
            );
            return Ok(Verdict::NoTests(what));
        }
    }
    Ok(Verdict::Pass)
}

/// The failures section of libtest output, cut to `max_lines`.
pub fn failure_excerpt(output: &str, max_lines: usize) -> String {
    let from = output.find("failures:").unwrap_or(0);
    let lines: Vec<&str> = output[from..]
        .lines()
        .filter(|l| !l.starts_with("note: run with `RUST_BACKTRACE"))
        .collect();
    let mut text = lines.iter().take(max_lines).copied().collect::<Vec<_>>().join("\n");
    if lines.len() > max_lines {
        text.push_str(&format!("\n… ({} more lines)", lines.len() - max_lines));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_libtest_summaries() {
        let ok = "running 3 tests\n...\ntest result: ok. 3 passed; 0 failed; 0 ignored; 0 measured; 9 filtered out; finished in 0.01s\n";
        assert_eq!(libtest_counts(ok), Some((3, 0)));
        let bad = "test result: FAILED. 12 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out";
        assert_eq!(libtest_counts(bad), Some((12, 2)));
        assert_eq!(libtest_counts("thread 'main' has overflowed its stack"), None);
    }

    #[test]
    fn reads_package_names_from_both_id_forms() {
        let manifest = Path::new("/w/lesson02-kv/Cargo.toml");
        assert_eq!(
            package_name("path+file:///w/lesson02-kv#0.1.0", manifest).as_deref(),
            Some("lesson02-kv")
        );
        assert_eq!(
            package_name("path+file:///w/dir#other-name@0.1.0", manifest).as_deref(),
            Some("other-name")
        );
    }

    #[test]
    fn reads_test_artifacts_from_cargo_json() {
        let line = r#"{"reason":"compiler-artifact","package_id":"path+file:///w/lesson02-kv#0.1.0","manifest_path":"/w/lesson02-kv/Cargo.toml","target":{"kind":["test"],"name":"transcripts"},"profile":{"test":true},"executable":"/w/target/debug/deps/transcripts-abc"}"#;
        let ((package, target), binary) = test_artifact(line).unwrap();
        assert_eq!((package.as_str(), target.as_str()), ("lesson02-kv", "transcripts"));
        assert_eq!(binary.executable, PathBuf::from("/w/target/debug/deps/transcripts-abc"));
        assert_eq!(binary.dir, PathBuf::from("/w/lesson02-kv"));
        let not_test = line.replace(r#""test":true"#, r#""test":false"#);
        assert!(test_artifact(&not_test).is_none());
    }
}
