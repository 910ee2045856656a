//! The book's drift check: proves that the book still matches the code.
//!
//! mdBook is forgiving where we need it strict. An include of a missing file
//! logs an error and leaves the raw `{{#include …}}` text in the page; an
//! include of a missing anchor silently renders an empty code block; both
//! exit 0. So a renamed function or a moved test would quietly empty a
//! listing. This check fails instead, naming the chapter and the include.
//!
//! What it checks, chapter by chapter:
//!
//! ```text
//!   SUMMARY.md ──► every listed file exists; every .md under src/ is listed
//!   chapter.md ──► {{#include path:anchor}}   file exists, anchor has ANCHOR and ANCHOR_END,
//!                                             every ANCHOR in that file is closed
//!              ──► {{#include x.snap:N:}}     starts right after the insta header
//!              ──► ```rust blocks             hold only include directives
//!              ──► [text](other.md#heading)   file exists, heading exists
//!   book/ (HTML) ► no "{{#" left unexpanded; every <img src> exists
//! ```

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::fs;
use std::path::{Component, Path, PathBuf};

use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};

/// The folder, under the book's `src/`, of the tables and plots that
/// `cargo x measure` renders.
pub const MEASURED: &str = "measured";

/// One problem found in the book.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The chapter (or other file) where the problem shows, relative to the book.
    pub file: PathBuf,
    /// 1-based line in `file`, or 0 when the problem is the whole file.
    pub line: usize,
    /// What is wrong, naming the include or link at fault.
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            write!(f, "{}:{}: {}", self.file.display(), self.line, self.message)
        }
    }
}

/// Checks the sources of the book at `book_dir` (the folder with `book.toml`;
/// chapters in `book_dir/src`). Returns every problem found, in file order.
pub fn check_sources(book_dir: &Path) -> Vec<Finding> {
    let src = book_dir.join("src");
    let mut findings = Vec::new();
    let summary_path = src.join("SUMMARY.md");
    let Ok(summary) = fs::read_to_string(&summary_path) else {
        findings.push(finding(book_dir, &summary_path, 0, "cannot read SUMMARY.md".into()));
        return findings;
    };

    // SUMMARY.md: every listed chapter exists.
    let mut listed = BTreeSet::new();
    for link in links(&summary) {
        if link.dest.is_empty() {
            let message =
                format!("draft chapter `{}` has no file; write it or leave it out", link.text);
            findings.push(finding(book_dir, &summary_path, link.line, message));
            continue;
        }
        let path = normalize(&src.join(&link.dest));
        if !path.is_file() {
            let message = format!("SUMMARY.md lists `{}`, which does not exist", link.dest);
            findings.push(finding(book_dir, &summary_path, link.line, message));
        }
        listed.insert(path);
    }

    // Every .md under src/ is listed in SUMMARY.md.
    let mut chapters = Vec::new();
    collect_markdown(&src, &mut chapters);
    chapters.sort();
    for chapter in &chapters {
        if *chapter != summary_path && !listed.contains(chapter) {
            let message = "not listed in SUMMARY.md, so mdBook never renders it".to_string();
            findings.push(finding(book_dir, chapter, 0, message));
        }
    }

    let mut headings = HeadingCache::default();
    for chapter in &chapters {
        let Ok(text) = fs::read_to_string(chapter) else {
            findings.push(finding(book_dir, chapter, 0, "cannot read the file".into()));
            continue;
        };
        check_includes(book_dir, chapter, &text, &mut findings);
        check_rust_blocks(book_dir, chapter, &text, &mut findings);
        if *chapter != summary_path {
            check_links(book_dir, chapter, &text, &mut headings, &mut findings);
        }
    }
    findings
}

/// Checks the rendered HTML in `html_dir` for directives mdBook left
/// unexpanded (it does that, and exits 0, when an included file is missing).
///
/// A chapter may show a directive on purpose by escaping it (`\{{#include …}}`);
/// those are collected from the sources and allowed.
pub fn check_rendered(book_dir: &Path, html_dir: &Path) -> Vec<Finding> {
    let mut chapters = Vec::new();
    collect_files(&book_dir.join("src"), "md", &mut chapters);
    let escaped: BTreeSet<String> = chapters
        .iter()
        .filter_map(|c| fs::read_to_string(c).ok())
        .flat_map(|text| {
            directives(&text).into_iter().filter(|d| d.escaped).map(|d| d.raw).collect::<Vec<_>>()
        })
        .collect();

    let mut pages = Vec::new();
    collect_files(html_dir, "html", &mut pages);
    pages.sort();
    let mut findings = Vec::new();
    for page in pages {
        let Ok(html) = fs::read_to_string(&page) else {
            continue;
        };
        for directive in directives(&html) {
            if !escaped.contains(&directive.raw) {
                let message =
                    format!("unexpanded directive in the rendered page: {}", directive.raw);
                findings.push(finding(book_dir, &page, directive.line, message));
            }
        }
        for (line, src) in image_sources(&html) {
            if src.contains("://") || src.starts_with("data:") {
                continue;
            }
            let file = normalize(&page.parent().unwrap_or(html_dir).join(&src));
            if !file.is_file() {
                let message = format!("the page shows an image that is not there: {src}");
                findings.push(finding(book_dir, &page, line, message));
            }
        }
    }
    findings
}

/// The `src` of every `<img>` in a rendered page, with its line.
fn image_sources(html: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(at) = html[from..].find("<img ") {
        let start = from + at;
        let end = html[start..].find('>').map_or(html.len(), |e| start + e);
        let tag = &html[start..end];
        if let Some(src) = tag.split_once("src=\"").and_then(|(_, rest)| rest.split_once('"')) {
            out.push((line_of(html, start), src.0.to_string()));
        }
        from = end;
    }
    out
}

/// A path as the reader knows it: relative to the repository (the book's parent).
fn shown(book_dir: &Path, path: &Path) -> String {
    let root = book_dir.parent().unwrap_or(book_dir);
    path.strip_prefix(root).unwrap_or(path).display().to_string()
}

fn finding(book_dir: &Path, file: &Path, line: usize, message: String) -> Finding {
    let file = file.strip_prefix(book_dir).unwrap_or(file).to_path_buf();
    Finding { file, line, message }
}

// ---------------------------------------------------------------------------
// Includes

/// An `{{#include …}}`, `{{#rustdoc_include …}}` or `{{#playground …}}`.
#[derive(Debug, PartialEq, Eq)]
struct Include {
    /// The directive as written, for messages.
    raw: String,
    /// The path, relative to the chapter.
    path: String,
    /// What part of the file: all of it, an anchor, or a line range.
    part: Part,
    /// 1-based line in the chapter.
    line: usize,
}

#[derive(Debug, PartialEq, Eq)]
enum Part {
    All,
    Anchor(String),
    /// 1-based first line (if given) and last line (if given).
    Lines(Option<usize>, Option<usize>),
}

/// A `{{#…}}` directive found in a text.
struct Directive {
    /// The directive as written, without an escaping backslash.
    raw: String,
    /// Its kind (`include`, `rustdoc_include`, `title`, …) and arguments.
    kind: String,
    args: String,
    /// Whether it was escaped (`\{{#include …}}`), which mdBook prints literally.
    escaped: bool,
    /// 1-based line.
    line: usize,
}

fn directives(text: &str) -> Vec<Directive> {
    let mut found = Vec::new();
    let mut offset = 0;
    while let Some(at) = text[offset..].find("{{#") {
        let start = offset + at;
        let Some(close) = text[start..].find("}}") else {
            break;
        };
        let body = text[start + 3..start + close].trim();
        let (kind, args) = body.split_once(char::is_whitespace).unwrap_or((body, ""));
        found.push(Directive {
            raw: text[start..start + close + 2].to_string(),
            kind: kind.to_string(),
            args: args.trim().to_string(),
            escaped: text[..start].ends_with('\\'),
            line: line_of(text, start),
        });
        offset = start + close + 2;
    }
    found
}

/// Finds the include directives of a chapter, skipping escaped ones.
fn includes(text: &str) -> Vec<Include> {
    directives(text)
        .into_iter()
        .filter(|d| {
            !d.escaped && matches!(d.kind.as_str(), "include" | "rustdoc_include" | "playground")
        })
        .map(|d| {
            let (path, part) = parse_include_args(&d.args);
            Include { raw: d.raw, path, part, line: d.line }
        })
        .collect()
}

/// Splits `path:anchor`, `path:N`, `path:N:M`, `path::M` or `path:N:`.
fn parse_include_args(args: &str) -> (String, Part) {
    // A playground directive may carry attributes after the path.
    let args = args.split_whitespace().next().unwrap_or("");
    let Some((path, selector)) = args.split_once(':') else {
        return (args.to_string(), Part::All);
    };
    let number = |s: &str| s.parse::<usize>().ok();
    let part = match selector.split_once(':') {
        Some((a, b))
            if (a.is_empty() || number(a).is_some()) && (b.is_empty() || number(b).is_some()) =>
        {
            Part::Lines(number(a), number(b))
        }
        None if number(selector).is_some() => Part::Lines(number(selector), number(selector)),
        None if selector.is_empty() => Part::All,
        _ => Part::Anchor(selector.to_string()),
    };
    (path.to_string(), part)
}

/// The anchors a file opens and closes, as mdBook reads them:
/// `ANCHOR: name` and `ANCHOR_END: name`, anywhere on a line.
fn anchors(source: &str) -> (Vec<(String, usize)>, Vec<String>) {
    let mut opened = Vec::new();
    let mut closed = Vec::new();
    for (i, line) in source.lines().enumerate() {
        if let Some(name) = anchor_name(line, "ANCHOR_END:") {
            closed.push(name);
        } else if let Some(name) = anchor_name(line, "ANCHOR:") {
            opened.push((name, i + 1));
        }
    }
    (opened, closed)
}

fn anchor_name(line: &str, marker: &str) -> Option<String> {
    let at = line.find(marker)?;
    let name: String = line[at + marker.len()..]
        .trim_start()
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '-')
        .collect();
    (!name.is_empty()).then_some(name)
}

/// The line where an insta snapshot's body starts: insta writes a YAML header
/// between two `---` lines, and the book must show the body only.
fn snapshot_body_start(source: &str) -> Option<usize> {
    let mut lines = source.lines().enumerate();
    if lines.next()?.1 != "---" {
        return None;
    }
    lines.find(|(_, l)| *l == "---").map(|(i, _)| i + 2)
}

fn check_includes(book_dir: &Path, chapter: &Path, text: &str, findings: &mut Vec<Finding>) {
    let dir = chapter.parent().unwrap_or(Path::new("."));
    for include in includes(text) {
        let mut report = |message: String| {
            findings.push(finding(
                book_dir,
                chapter,
                include.line,
                format!("{}: {message}", include.raw),
            ));
        };
        let target = normalize(&dir.join(&include.path));
        let Ok(source) = fs::read_to_string(&target) else {
            report(format!("included file {} does not exist", shown(book_dir, &target)));
            continue;
        };
        let (opened, closed) = anchors(&source);
        for (name, line) in &opened {
            if !closed.contains(name) {
                report(format!(
                    "ANCHOR: {name} (line {line}) has no ANCHOR_END: {name} in {}",
                    include.path
                ));
            }
        }
        let lines = source.lines().count();
        match &include.part {
            Part::Anchor(name) => {
                if !opened.iter().any(|(n, _)| n == name) {
                    report(format!("anchor `{name}` not found in {}", include.path));
                }
            }
            Part::Lines(start, end) => {
                if start.unwrap_or(1) > lines || end.is_some_and(|e| e < start.unwrap_or(1)) {
                    report(format!("line range is outside {} ({lines} lines)", include.path));
                }
            }
            Part::All => {}
        }
        if include.path.ends_with(".snap") {
            let want = snapshot_body_start(&source);
            let ok =
                matches!((&include.part, want), (Part::Lines(Some(s), None), Some(w)) if *s == w);
            if !ok {
                let hint = want.map_or("it has no insta header".into(), |w| {
                    format!("use `{}:{w}:`", include.path)
                });
                report(format!(
                    "a snapshot must be included from the line after its header: {hint}"
                ));
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Code blocks

/// Rust listings must come from the crates: a ```rust block may hold only
/// include directives. Anything else is code pasted into the book, which
/// nothing compiles or tests, and which drifts.
fn check_rust_blocks(book_dir: &Path, chapter: &Path, text: &str, findings: &mut Vec<Finding>) {
    let mut in_rust = None;
    for (event, range) in Parser::new_ext(text, Options::empty()).into_offset_iter() {
        match event {
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))) => {
                let lang = info.split([',', ' ']).next().unwrap_or("");
                if lang == "rust" {
                    in_rust = Some(range.start);
                }
            }
            Event::Text(code) if in_rust.is_some() => {
                let pasted = code.lines().any(|l| {
                    let l = l.trim();
                    !(l.is_empty()
                        || l.starts_with("{{#include ")
                        || l.starts_with("{{#rustdoc_include "))
                });
                if pasted {
                    let line = line_of(text, in_rust.unwrap_or(0));
                    let message = "```rust block with pasted code: include it from a crate with {{#include path:anchor}}";
                    findings.push(finding(book_dir, chapter, line, message.into()));
                }
            }
            Event::End(TagEnd::CodeBlock) => in_rust = None,
            _ => {}
        }
    }
}

// ---------------------------------------------------------------------------
// Links

struct Link {
    dest: String,
    text: String,
    line: usize,
}

fn links(text: &str) -> Vec<Link> {
    let mut found = Vec::new();
    let mut current: Option<Link> = None;
    for (event, range) in Parser::new_ext(text, Options::empty()).into_offset_iter() {
        match event {
            Event::Start(Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. }) => {
                current = Some(Link {
                    dest: dest_url.to_string(),
                    text: String::new(),
                    line: line_of(text, range.start),
                });
            }
            Event::Text(t) | Event::Code(t) => {
                if let Some(link) = current.as_mut() {
                    link.text.push_str(&t);
                }
            }
            Event::End(TagEnd::Link | TagEnd::Image) => found.extend(current.take()),
            _ => {}
        }
    }
    found
}

/// Heading ids per file, computed the way mdBook computes them.
#[derive(Default)]
struct HeadingCache(HashMap<PathBuf, BTreeSet<String>>);

impl HeadingCache {
    fn get(&mut self, file: &Path) -> &BTreeSet<String> {
        self.0
            .entry(file.to_path_buf())
            .or_insert_with(|| heading_ids(&fs::read_to_string(file).unwrap_or_default()))
    }
}

/// The ids mdBook gives a chapter's headings: an explicit `{#id}`, or the
/// heading text lower-cased, spaces to dashes, punctuation dropped, with
/// `-1`, `-2`, … appended to repeats.
pub fn heading_ids(text: &str) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut current: Option<(Option<String>, String)> = None;
    for event in Parser::new_ext(text, Options::ENABLE_HEADING_ATTRIBUTES) {
        match event {
            Event::Start(Tag::Heading { id, .. }) => {
                current = Some((id.map(|s| s.to_string()), String::new()));
            }
            Event::Text(t) | Event::Code(t) => {
                if let Some((_, title)) = current.as_mut() {
                    title.push_str(&t);
                }
            }
            Event::End(TagEnd::Heading(_)) => {
                let Some((explicit, title)) = current.take() else {
                    continue;
                };
                let id = explicit.unwrap_or_else(|| {
                    let base = normalize_id(&title);
                    let n = seen.entry(base.clone()).or_insert(0);
                    let id = if *n == 0 { base.clone() } else { format!("{base}-{n}") };
                    *n += 1;
                    id
                });
                ids.insert(id);
            }
            _ => {}
        }
    }
    ids
}

/// A heading's id as mdBook makes it: lower case, spaces to dashes,
/// punctuation dropped.
pub fn normalize_id(title: &str) -> String {
    title
        .trim()
        .chars()
        .filter_map(|c| {
            if c.is_alphanumeric() || c == '_' || c == '-' {
                Some(c.to_lowercase().collect::<String>())
            } else if c.is_whitespace() {
                Some("-".into())
            } else {
                None
            }
        })
        .collect()
}

fn check_links(
    book_dir: &Path,
    chapter: &Path,
    text: &str,
    headings: &mut HeadingCache,
    findings: &mut Vec<Finding>,
) {
    let dir = chapter.parent().unwrap_or(Path::new("."));
    for link in links(text) {
        let dest = link.dest.as_str();
        let has_scheme = dest.split_once(':').is_some_and(|(scheme, _)| {
            !scheme.is_empty()
                && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        });
        if dest.is_empty() || has_scheme || dest.starts_with("//") {
            continue;
        }
        let (path, fragment) = match dest.split_once('#') {
            Some((p, f)) => (p, Some(f)),
            None => (dest, None),
        };
        let target =
            if path.is_empty() { chapter.to_path_buf() } else { normalize(&dir.join(path)) };
        if !target.exists() {
            let message = format!(
                "link `{dest}` points to {}, which does not exist",
                shown(book_dir, &target)
            );
            findings.push(finding(book_dir, chapter, link.line, message));
            continue;
        }
        if let Some(fragment) = fragment.filter(|f| !f.is_empty()) {
            let is_markdown = target.extension().is_some_and(|e| e == "md");
            if is_markdown && !headings.get(&target).contains(fragment) {
                let message = format!(
                    "link `{dest}`: no heading with id `{fragment}` in {}",
                    shown(book_dir, &target)
                );
                findings.push(finding(book_dir, chapter, link.line, message));
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Files

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// Resolves `.` and `..` without touching the file system, so that paths
/// compare equal however they were spelled.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// The chapters under `dir`: every `.md` file but the rendered measurements
/// in `measured/`, which chapters include and mdBook never renders alone.
fn collect_markdown(dir: &Path, out: &mut Vec<PathBuf>) {
    collect_files(dir, "md", out);
    out.retain(|p| !p.strip_prefix(dir).is_ok_and(|rel| rel.starts_with(MEASURED)));
    for path in out.iter_mut() {
        *path = normalize(path);
    }
}

fn collect_files(dir: &Path, extension: &str, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_files(&path, extension, out);
        } else if path.extension().is_some_and(|e| e == extension) {
            out.push(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn include_arguments_parse_like_mdbook() {
        assert_eq!(parse_include_args("a.rs"), ("a.rs".into(), Part::All));
        assert_eq!(parse_include_args("a.rs:trait"), ("a.rs".into(), Part::Anchor("trait".into())));
        assert_eq!(parse_include_args("a.rs:3"), ("a.rs".into(), Part::Lines(Some(3), Some(3))));
        assert_eq!(parse_include_args("a.rs:3:"), ("a.rs".into(), Part::Lines(Some(3), None)));
        assert_eq!(parse_include_args("a.rs::9"), ("a.rs".into(), Part::Lines(None, Some(9))));
        assert_eq!(parse_include_args("a.rs:2:9"), ("a.rs".into(), Part::Lines(Some(2), Some(9))));
    }

    #[test]
    fn escaped_directives_are_not_includes() {
        let found =
            includes("a {{#include x.rs:a}} b \\{{#include y.rs}} c\n{{#rustdoc_include z.rs}}");
        let paths: Vec<_> = found.iter().map(|i| (i.path.as_str(), i.line)).collect();
        assert_eq!(paths, [("x.rs", 1), ("z.rs", 2)]);
    }

    #[test]
    fn images_in_a_page_are_found_with_their_lines() {
        let html = "<p>x</p>\n<p><img src=\"../measured/a.svg\" alt=\"a\"></p>\n<img alt=\"b\" src=\"b.png\">";
        assert_eq!(
            image_sources(html),
            [(2, "../measured/a.svg".to_string()), (3, "b.png".to_string())]
        );
    }

    #[test]
    fn anchors_are_found_anywhere_on_a_line() {
        let (opened, closed) = anchors("// ANCHOR: one\n/* ANCHOR:two */\nx\n# ANCHOR_END: one\n");
        assert_eq!(opened, [("one".to_string(), 1), ("two".to_string(), 2)]);
        assert_eq!(closed, ["one"]);
    }

    #[test]
    fn heading_ids_follow_mdbook() {
        let ids = heading_ids("# Run it!\n## The `KvStore` trait\n## Run it\n### Custom {#mine}\n");
        let want: BTreeSet<String> = ["run-it", "the-kvstore-trait", "run-it-1", "mine"]
            .into_iter()
            .map(String::from)
            .collect();
        assert_eq!(ids, want);
    }

    #[test]
    fn snapshot_body_starts_after_the_second_rule() {
        assert_eq!(snapshot_body_start("---\nsource: a\nexpression: b\n---\nbody\n"), Some(5));
        assert_eq!(snapshot_body_start("no header\n"), None);
    }
}
