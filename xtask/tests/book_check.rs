//! The drift check on small fixture books: a good book passes, and each
//! kind of drift makes it fail with a message naming the chapter and the
//! include or link at fault.

use std::fs;
use std::path::Path;

use tempfile::TempDir;
use xtask::book_check::{Finding, check_rendered, check_sources};

/// Writes a small book that passes every check:
///
/// ```text
///   code/lib.rs                 a source file with two anchors
///   code/snapshots/run.snap     an insta snapshot
///   book/src/SUMMARY.md         lists intro.md and part/chapter.md
///   book/src/part/chapter.md    includes an anchor and the snapshot, links to intro.md#setting-up
/// ```
fn good_book() -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "code/lib.rs",
        "// ANCHOR: greet\nfn greet() {}\n// ANCHOR_END: greet\n/* ANCHOR: all */\nfn x() {}\n/* ANCHOR_END: all */\n",
    );
    write(
        root,
        "code/snapshots/run.snap",
        "---\nsource: tests/run.rs\nexpression: out\n---\nhello\n",
    );
    write(root, "book/book.toml", "[book]\ntitle = \"Fixture\"\n");
    write(
        root,
        "book/src/SUMMARY.md",
        "# Summary\n\n[Intro](intro.md)\n\n- [Chapter](part/chapter.md)\n",
    );
    write(
        root,
        "book/src/intro.md",
        "# Intro\n\n## Setting up\n\nSee [the chapter](part/chapter.md#run-it).\n",
    );
    write(
        root,
        "book/src/part/chapter.md",
        "# Chapter\n\n```rust\n{{#include ../../../code/lib.rs:greet}}\n```\n\n## Run it\n\n```text\n\
         {{#include ../../../code/snapshots/run.snap:5:}}\n```\n\nBack to [setting up](../intro.md#setting-up), \
         [the top](#chapter), [Rust](https://www.rust-lang.org).\n\nThe syntax is \\{{#include file.rs:anchor}}.\n",
    );
    dir
}

fn write(root: &Path, path: &str, text: &str) {
    let path = root.join(path);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

fn edit(root: &Path, path: &str, from: &str, to: &str) {
    let text = fs::read_to_string(root.join(path)).unwrap();
    assert!(text.contains(from), "fixture {path} has no {from:?}");
    fs::write(root.join(path), text.replace(from, to)).unwrap();
}

fn findings(root: &Path) -> Vec<Finding> {
    check_sources(&root.join("book"))
}

/// Asserts exactly one finding, in `file`, whose message contains every needle.
fn assert_one(findings: &[Finding], file: &str, needles: &[&str]) {
    assert_eq!(findings.len(), 1, "want one finding, got {findings:#?}");
    let f = &findings[0];
    assert_eq!(f.file, Path::new(file), "{f}");
    for needle in needles {
        assert!(f.message.contains(needle), "{f} does not mention {needle:?}");
    }
}

#[test]
fn a_good_book_passes() {
    let book = good_book();
    assert_eq!(findings(book.path()), []);
}

#[test]
fn missing_included_file_fails() {
    let book = good_book();
    fs::remove_file(book.path().join("code/lib.rs")).unwrap();
    assert_one(
        &findings(book.path()),
        "src/part/chapter.md",
        &["code/lib.rs:greet", "does not exist"],
    );
    assert_eq!(findings(book.path())[0].line, 4);
}

#[test]
fn renamed_anchor_fails() {
    let book = good_book();
    edit(book.path(), "code/lib.rs", "ANCHOR: greet", "ANCHOR: hello");
    let found = findings(book.path());
    // The include's anchor is gone, and the renamed anchor is left unclosed.
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(found.iter().all(|f| f.file == Path::new("src/part/chapter.md")));
    assert!(found.iter().any(|f| f.message.contains("anchor `greet` not found")), "{found:#?}");
    assert!(found.iter().any(|f| f.message.contains("ANCHOR: hello")), "{found:#?}");
}

#[test]
fn anchor_without_end_fails() {
    let book = good_book();
    edit(book.path(), "code/lib.rs", "/* ANCHOR_END: all */\n", "");
    assert_one(&findings(book.path()), "src/part/chapter.md", &["ANCHOR: all", "no ANCHOR_END"]);
}

#[test]
fn chapter_missing_from_summary_fails() {
    let book = good_book();
    write(book.path(), "book/src/part/orphan.md", "# Orphan\n");
    assert_one(&findings(book.path()), "src/part/orphan.md", &["not listed in SUMMARY.md"]);
}

#[test]
fn summary_naming_a_missing_file_fails() {
    let book = good_book();
    edit(
        book.path(),
        "book/src/SUMMARY.md",
        "- [Chapter](part/chapter.md)\n",
        "- [Chapter](part/chapter.md)\n- [Gone](gone.md)\n",
    );
    assert_one(&findings(book.path()), "src/SUMMARY.md", &["gone.md", "does not exist"]);
}

#[test]
fn draft_chapter_in_summary_fails() {
    let book = good_book();
    edit(
        book.path(),
        "book/src/SUMMARY.md",
        "- [Chapter](part/chapter.md)\n",
        "- [Chapter](part/chapter.md)\n- [Later]()\n",
    );
    assert_one(&findings(book.path()), "src/SUMMARY.md", &["draft chapter `Later`"]);
}

#[test]
fn link_to_a_missing_file_fails() {
    let book = good_book();
    edit(book.path(), "book/src/intro.md", "part/chapter.md#run-it", "part/chapter2.md");
    assert_one(&findings(book.path()), "src/intro.md", &["part/chapter2.md", "does not exist"]);
}

#[test]
fn link_to_a_missing_heading_fails() {
    let book = good_book();
    edit(book.path(), "book/src/part/chapter.md", "## Run it", "## Run the thing");
    assert_one(&findings(book.path()), "src/intro.md", &["#run-it", "no heading with id `run-it`"]);
}

#[test]
fn link_to_a_missing_heading_in_the_same_chapter_fails() {
    let book = good_book();
    edit(book.path(), "book/src/part/chapter.md", "(#chapter)", "(#top)");
    assert_one(&findings(book.path()), "src/part/chapter.md", &["no heading with id `top`"]);
}

#[test]
fn pasted_rust_code_fails() {
    let book = good_book();
    edit(
        book.path(),
        "book/src/part/chapter.md",
        "{{#include ../../../code/lib.rs:greet}}\n",
        "fn greet() {}\n",
    );
    assert_one(&findings(book.path()), "src/part/chapter.md", &["pasted code"]);
}

#[test]
fn snapshot_included_with_its_header_fails() {
    let book = good_book();
    edit(book.path(), "book/src/part/chapter.md", "run.snap:5:", "run.snap");
    assert_one(
        &findings(book.path()),
        "src/part/chapter.md",
        &["run.snap", "use `../../../code/snapshots/run.snap:5:`"],
    );
}

#[test]
fn unexpanded_directive_in_rendered_html_fails() {
    let book = good_book();
    let html = book.path().join("book/book");
    // The chapter escapes one directive on purpose; the page shows it literally.
    write(
        &html,
        "part/chapter.html",
        "<pre><code>fn greet() {}</code></pre>\n<code>{{#include file.rs:anchor}}</code>\n",
    );
    assert_eq!(check_rendered(&book.path().join("book"), &html), []);
    write(
        &html,
        "part/chapter.html",
        "<pre><code>{{#include ../../../code/gone.rs}}</code></pre>\n",
    );
    let found = check_rendered(&book.path().join("book"), &html);
    assert_one(&found, "book/part/chapter.html", &["unexpanded", "gone.rs"]);
}
