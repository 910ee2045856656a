//! The pinned mdBook: install it when missing, build and serve the book.
//!
//! We pin one version because mdBook's 0.5 release changed the
//! preprocessor interface and the theme; a student with another version
//! could see a book that renders differently from the one CI checked.

use std::path::Path;
use std::process::Command;

use crate::step::command;

/// The mdBook version the book is written for.
pub const VERSION: &str = "0.5.4";

/// The installed mdBook's version, if there is one on the PATH.
pub fn installed_version() -> Option<String> {
    let out = Command::new("mdbook").arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    // It prints `mdbook v0.5.4`.
    text.split_whitespace().last().map(|v| v.trim_start_matches('v').to_string())
}

/// Installs the pinned mdBook with `cargo install` unless it is already there.
pub fn ensure_installed(root: &Path) -> Result<(), String> {
    match installed_version() {
        Some(v) if v == VERSION => return Ok(()),
        Some(v) => println!("mdbook {v} found, but the book needs {VERSION}: installing it"),
        None => println!("mdbook not found: installing {VERSION} (about 2 minutes, once)"),
    }
    command(root, "cargo", &["install", "mdbook", "--locked", "--version", VERSION])?;
    match installed_version() {
        Some(v) if v == VERSION => Ok(()),
        _ => Err("mdbook was installed but is not on the PATH: add ~/.cargo/bin to PATH".into()),
    }
}

/// Builds the book into `book/book`.
pub fn build(root: &Path) -> Result<(), String> {
    ensure_installed(root)?;
    command(root, "mdbook", &["build", "book"])
}

/// Serves the book on localhost, rebuilding on change, until interrupted.
pub fn serve(root: &Path, open: bool) -> Result<(), String> {
    ensure_installed(root)?;
    let mut args = vec!["serve", "book", "--hostname", "127.0.0.1"];
    if open {
        args.push("--open");
    }
    command(root, "mdbook", &args)
}
