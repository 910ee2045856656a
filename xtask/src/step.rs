//! Running the named steps of `cargo x ci`, one after the other.

use std::fmt;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// A step that failed: which one, and why.
#[derive(Debug)]
pub struct StepFailed {
    /// The step's name, as printed in its header.
    pub step: String,
    /// What went wrong.
    pub reason: String,
}

impl fmt::Display for StepFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "step `{}` failed: {}", self.step, self.reason)
    }
}

impl std::error::Error for StepFailed {}

/// Prints a header for the step, runs it, prints how long it took.
pub fn run_step(name: &str, body: impl FnOnce() -> Result<(), String>) -> Result<(), StepFailed> {
    println!("\n==> {name}");
    let start = Instant::now();
    let result = body();
    let secs = start.elapsed().as_secs_f64();
    match result {
        Ok(()) => {
            println!("<== {name}: ok ({secs:.1}s)");
            Ok(())
        }
        Err(reason) => {
            println!("<== {name}: FAILED ({secs:.1}s)");
            Err(StepFailed { step: name.to_string(), reason })
        }
    }
}

/// Runs a command in `dir` with its output going straight to the terminal
/// (so test summaries stay visible), and fails unless it exits with 0.
pub fn command(dir: &Path, program: &str, args: &[&str]) -> Result<(), String> {
    println!("$ {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .current_dir(dir)
        .status()
        .map_err(|e| format!("could not start `{program}`: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{program} {}` exited with {status}", args.join(" ")))
    }
}
