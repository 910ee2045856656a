//! The book's "Exercises" page of each lesson, generated from the manifest,
//! so that the book and the manifest cannot disagree. `cargo x exercises
//! --write-book` writes the pages; the drift check fails when a page is not
//! what the manifest generates.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use super::manifest::{Exercise, Manifest};

/// The first line of every generated page.
pub const GENERATED: &str =
    "<!-- Generated from exercises.toml by `cargo x exercises --write-book`. Do not edit. -->";

/// Where lesson `lesson`'s page lives, relative to `book/src`.
pub fn page_path(lesson: u32) -> PathBuf {
    PathBuf::from(format!("lesson{lesson:02}/exercises.md"))
}

/// The page for one lesson's exercises.
pub fn page(lesson: u32, exercises: &[&Exercise]) -> String {
    let mut out = String::new();
    writeln!(out, "{GENERATED}").unwrap();
    writeln!(out, "\n# Exercises\n").unwrap();
    writeln!(
        out,
        "Rebuild the key pieces of this lesson yourself. `cargo x starter DIR --lesson {lesson}` makes a copy of the\n\
         workbook with these exercises cut out; `cargo x exercises {lesson}` in that copy checks them, one line per\n\
         exercise. See [Doing the exercises](../exercises.md) for the workflow.\n"
    )
    .unwrap();
    for ex in exercises {
        let chapter = Path::new(&ex.chapter);
        let link =
            chapter.file_name().map_or(ex.chapter.clone(), |f| f.to_string_lossy().into_owned());
        writeln!(out, "## {} {} {}\n", ex.id, ex.title, ex.stars()).unwrap();
        writeln!(out, "{}\n", ex.task).unwrap();
        writeln!(out, "Read first: [{}]({link}#{}).\n", ex.heading, ex.anchor()).unwrap();
        let tests: Vec<String> = ex
            .tests
            .iter()
            .map(|t| {
                let filter = if t.filter.is_empty() {
                    "every test".to_string()
                } else {
                    format!("`{}`", t.filter)
                };
                format!(
                    "{filter} in `{}` ({})",
                    t.package,
                    if t.target == "lib" { "unit tests" } else { &t.target }
                )
            })
            .collect();
        writeln!(out, "Checked by: {}.\n", tests.join("; ")).unwrap();
        for (i, hint) in ex.hints.iter().enumerate() {
            writeln!(out, "<details>\n<summary>Hint {}</summary>\n\n{hint}\n\n</details>\n", i + 1)
                .unwrap();
        }
    }
    out
}

/// Every lesson's page: (path relative to `book/src`, content).
pub fn pages(manifest: &Manifest) -> Vec<(PathBuf, String)> {
    let mut lessons: Vec<u32> = manifest.exercises.iter().map(|e| e.lesson).collect();
    lessons.dedup();
    lessons.into_iter().map(|l| (page_path(l), page(l, &manifest.select(Some(l))))).collect()
}

/// The pages that are missing or differ from what the manifest generates.
pub fn stale_pages(book_src: &Path, manifest: &Manifest) -> Vec<PathBuf> {
    pages(manifest)
        .into_iter()
        .filter(|(path, text)| {
            std::fs::read_to_string(book_src.join(path)).ok().as_deref() != Some(text.as_str())
        })
        .map(|(path, _)| path)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_lists_each_exercise_with_folded_hints_and_a_section_link() {
        let m = Manifest::parse(
            r#"
            [[exercise]]
            id = "2.1"
            lesson = 2
            title = "Strict integers"
            difficulty = 1
            chapter = "lesson02/store.md"
            heading = "Integers"
            task = "Write `parse`."
            hints = ["first", "second"]
            tests = [{ package = "lesson02-kv", target = "lib", filter = "integer::tests" }]
            "#,
        )
        .unwrap();
        let (path, text) = &pages(&m)[0];
        assert_eq!(path, &PathBuf::from("lesson02/exercises.md"));
        assert!(text.starts_with(GENERATED));
        assert!(text.contains("## 2.1 Strict integers ★☆☆"));
        assert!(text.contains("Read first: [Integers](store.md#integers)."));
        assert!(text.contains("`integer::tests` in `lesson02-kv` (unit tests)"));
        assert!(text.contains("<summary>Hint 2</summary>\n\nsecond\n"));
    }
}
