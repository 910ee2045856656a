//! The drift check's rule for "Measure it" sections: no number typed by
//! hand. A time, a rate, a ratio or a percentage there must come from an
//! include of a rendered file (`{{#include ../measured/…}}`), so that it
//! changes when the data does.
//!
//! A section runs from its `## Measure it` heading to the next `## `
//! heading. Commands (`$ …` lines) are exempt: their numbers are inputs.
//! Outside those sections, a table of times or ratios is a measurement
//! too, and is held to the same rule.

/// The units that make a number a measurement.
const UNITS: &[&str] = &[
    "ns",
    "µs",
    "us",
    "ms",
    "s",
    "sec",
    "seconds",
    "minutes",
    "×",
    "x",
    "%",
    "/s",
    "MiB/s",
    "GiB/s",
    "MB/s",
    "GB/s",
    "KB/s",
    "kB/s",
    "times faster",
    "times slower",
    "times as",
    "points",
    "a second",
    "per second",
    "requests per second",
    "writes a second",
    "writes per second",
];

/// The problems in every chapter of the book at `book_dir`: one per number
/// typed by hand into a "Measure it" section.
pub fn check_book(book_dir: &std::path::Path) -> Vec<String> {
    let src = book_dir.join("src");
    let mut chapters = Vec::new();
    walk(&src, &mut chapters);
    chapters.sort();
    let mut problems = Vec::new();
    for path in chapters {
        let rel = path.strip_prefix(&src).unwrap_or(&path).to_string_lossy().replace('\\', "/");
        if rel.starts_with(crate::book_check::MEASURED) {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else { continue };
        for h in find(&text) {
            problems.push(format!(
                "book/src/{rel}:{}: `{}` typed by hand in a \"Measure it\" section; \
                 render it from data (`cargo x measure`) and include it",
                h.line, h.text
            ));
        }
    }
    problems
}

fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(&path, out);
        } else if path.extension().is_some_and(|e| e == "md") {
            out.push(path);
        }
    }
}

/// The units that make a table outside "Measure it" a table of
/// measurements: times and ratios (settings in seconds and shares in
/// percent are common in tables of options, and are not).
const TABLE_UNITS: &[&str] = &["ns", "µs", "us", "ms", "×"];

/// One number typed by hand.
#[derive(Debug, PartialEq, Eq)]
pub struct HandNumber {
    /// 1-based line in the chapter.
    pub line: usize,
    /// The number and its unit, as written.
    pub text: String,
}

/// The numbers typed by hand into the "Measure it" sections of `chapter`.
pub fn find(chapter: &str) -> Vec<HandNumber> {
    let mut found = Vec::new();
    let mut inside = false;
    for (i, line) in chapter.lines().enumerate() {
        if line.starts_with("## ") {
            inside = line.trim_end() == "## Measure it";
            continue;
        }
        let text = without_includes(line);
        let table_row = text.trim_start().starts_with('|');
        if !(inside || table_row) || line.trim_start().starts_with("$ ") {
            continue;
        }
        for number in numbers(&text) {
            let units = if inside { UNITS } else { TABLE_UNITS };
            let measured = units.iter().any(|u| unit_follows(&number.1, u));
            // In "Measure it", any number in a table, or with a unit; elsewhere,
            // a table of times or ratios (a measurement, wherever it sits).
            if measured || (inside && table_row) {
                found.push(HandNumber { line: i + 1, text: number.0 });
            }
        }
    }
    found
}

/// The line with every `{{#include …}}` removed.
fn without_includes(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(start) = rest.find("{{#") {
        out += &rest[..start];
        match rest[start..].find("}}") {
            Some(end) => rest = &rest[start + end + 2..],
            None => {
                rest = "";
            }
        }
    }
    out + rest
}

/// Each number in `text` with what follows it: (number as written, rest).
/// A number starts at a digit not preceded by a letter, digit or `_`, and
/// takes in digits, separators and a range (`0.15–0.3`).
fn numbers(text: &str) -> Vec<(String, String)> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let starts = chars[i].is_ascii_digit()
            && (i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_'));
        if !starts {
            i += 1;
            continue;
        }
        let begin = i;
        while i < chars.len()
            && (chars[i].is_ascii_digit()
                || (matches!(chars[i], ',' | '.' | '–' | '-')
                    && chars.get(i + 1).is_some_and(char::is_ascii_digit)))
        {
            i += 1;
        }
        let number: String = chars[begin..i].iter().collect();
        let rest: String = chars[i..].iter().collect();
        out.push((number, rest));
    }
    out
}

/// Whether `rest` (what follows a number) starts with `unit`, after at most
/// one space, and the unit ends there.
fn unit_follows(rest: &str, unit: &str) -> bool {
    let rest = rest.strip_prefix([' ', '\u{a0}', '\u{202f}']).unwrap_or(rest);
    let Some(after) = rest.strip_prefix(unit) else { return false };
    after.chars().next().is_none_or(|c| !c.is_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(chapter: &str) -> Vec<String> {
        find(chapter).into_iter().map(|h| h.text).collect()
    }

    #[test]
    fn times_ratios_and_table_rows_typed_by_hand_are_found() {
        let chapter = "# Lesson\n\nIt took 3 ms outside.\n\n## Measure it\n\n\
                       Group commit is worth 15×, and fsync takes 0.15–0.3 ms.\n\
                       Inserts took 40% less time, 257 times faster, 5,510 writes a second.\n\
                       Each of 8 threads made 100 transfers, 5,000 times over.\n\
                       | get | 20 ns |\n\
                       ## Further reading\n\nIt took 3 ms.\n| a hit | 11.0 µs | 1.03× |\n| a count | 3 |\n\
                       | `timeout` | 30 s | 62% full |\n";
        assert_eq!(
            texts(chapter),
            ["15", "0.15–0.3", "40", "257", "5,510", "20", "11.0", "1.03"],
            "inside the section every unit; outside, tables of measurements"
        );
    }

    #[test]
    fn included_numbers_commands_and_plain_counts_are_not() {
        let chapter = "## Measure it\n\n\
                       $ redis-benchmark -n 100000 -c 50\n\
                       Worth {{#include ../measured/lesson03-log.md:group-commit}} with 50 writers.\n\
                       {{#include ../measured/lesson01-lookup.md:table}}\n\
                       100,000 members of 8 bytes, on 2 cores, in lesson 4, 4 KiB pages, key1 x.\n";
        assert_eq!(texts(chapter), Vec::<String>::new());
    }

    #[test]
    fn a_unit_must_end_where_the_word_does() {
        assert!(unit_follows(" ms.", "ms"));
        assert!(unit_follows("×,", "×"));
        assert!(!unit_follows(" seconds", "s"));
        assert!(unit_follows(" seconds", "seconds"));
        assert!(!unit_follows(" strings", "s"));
        assert!(!unit_follows(" x86", "x"));
    }
}
