//! The exercise manifest, `exercises.toml`: what each exercise is, where the
//! book explains it, its hints, and the tests that check it.

use std::collections::BTreeSet;
use std::path::Path;

use serde::Deserialize;

use crate::book_check::normalize_id;

/// The file name of the manifest, at the workspace root.
pub const FILE: &str = "exercises.toml";

/// Every exercise of the course.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The exercises, in course order.
    #[serde(rename = "exercise")]
    pub exercises: Vec<Exercise>,
}

/// One exercise.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exercise {
    /// `"2.1"`: lesson 2's first exercise. Markers in the code use it.
    pub id: String,
    /// The lesson it belongs to.
    pub lesson: u32,
    /// A short title.
    pub title: String,
    /// 1 to 3 stars.
    pub difficulty: u8,
    /// The chapter that explains it, relative to `book/src`.
    pub chapter: String,
    /// The heading of the section in that chapter.
    pub heading: String,
    /// What to write.
    pub task: String,
    /// Hints, from a nudge to nearly the answer.
    pub hints: Vec<String>,
    /// The tests that check it.
    pub tests: Vec<TestSelection>,
}

/// A set of tests: those of one test target whose names contain `filter`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestSelection {
    /// The package, such as `lesson02-kv`.
    pub package: String,
    /// `lib` for the unit tests, else an integration test's name.
    pub target: String,
    /// A libtest name filter (a substring; empty selects every test).
    pub filter: String,
}

impl Manifest {
    /// Reads and validates the manifest at the workspace `root`.
    pub fn load(root: &Path) -> Result<Self, String> {
        let path = root.join(FILE);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Self::parse(&text)
    }

    /// Parses and validates manifest text.
    pub fn parse(text: &str) -> Result<Self, String> {
        let manifest: Manifest = toml::from_str(text).map_err(|e| format!("{FILE}: {e}"))?;
        let problems = manifest.problems();
        if problems.is_empty() {
            Ok(manifest)
        } else {
            Err(format!("{FILE}: {}", problems.join("; ")))
        }
    }

    /// What is wrong with the manifest on its own (not against the code).
    fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let mut ids = BTreeSet::new();
        for ex in &self.exercises {
            if !ids.insert(ex.id.as_str()) {
                problems.push(format!("exercise {} appears twice", ex.id));
            }
            if ex.id.split_once('.').map(|(lesson, _)| lesson.parse::<u32>()) != Some(Ok(ex.lesson))
            {
                problems.push(format!(
                    "exercise {}: its id must start with its lesson number ({})",
                    ex.id, ex.lesson
                ));
            }
            if !(1..=3).contains(&ex.difficulty) {
                problems.push(format!("exercise {}: difficulty must be 1 to 3", ex.id));
            }
            if ex.hints.is_empty() {
                problems.push(format!("exercise {} has no hints", ex.id));
            }
            if ex.tests.is_empty() {
                problems.push(format!("exercise {} has no tests", ex.id));
            }
        }
        problems
    }

    /// The exercises of one lesson, or all of them.
    pub fn select(&self, lesson: Option<u32>) -> Vec<&Exercise> {
        self.exercises.iter().filter(|e| lesson.is_none_or(|l| e.lesson == l)).collect()
    }

    /// The exercise with this id.
    pub fn get(&self, id: &str) -> Option<&Exercise> {
        self.exercises.iter().find(|e| e.id == id)
    }
}

impl Exercise {
    /// `★★☆`-style difficulty.
    pub fn stars(&self) -> String {
        let n = usize::from(self.difficulty.min(3));
        format!("{}{}", "★".repeat(n), "☆".repeat(3 - n))
    }

    /// The section's id in the rendered chapter, for links.
    pub fn anchor(&self) -> String {
        normalize_id(&self.heading.replace('`', ""))
    }

    /// What the starter's `todo!()` says.
    pub fn todo_message(&self) -> String {
        format!(
            "exercise {}: {} — see the book, Lesson {}, \"{}\"",
            self.id, self.title, self.lesson, self.heading
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: &str = r#"
        [[exercise]]
        id = "2.1"
        lesson = 2
        title = "Strict integers"
        difficulty = 2
        chapter = "lesson02/store.md"
        heading = "Glob patterns for `KEYS`"
        task = "Write it."
        hints = ["a nudge"]
        tests = [{ package = "p", target = "lib", filter = "integer" }]
    "#;

    #[test]
    fn parses_and_derives_what_the_tools_show() {
        let m = Manifest::parse(ONE).unwrap();
        let ex = m.get("2.1").unwrap();
        assert_eq!(ex.stars(), "★★☆");
        assert_eq!(ex.anchor(), "glob-patterns-for-keys");
        assert_eq!(
            ex.todo_message(),
            "exercise 2.1: Strict integers — see the book, Lesson 2, \"Glob patterns for `KEYS`\""
        );
    }

    #[test]
    fn rejects_inconsistent_entries() {
        let twice = format!("{ONE}\n{ONE}");
        assert!(Manifest::parse(&twice).unwrap_err().contains("appears twice"));
        assert!(
            Manifest::parse(&ONE.replace("lesson = 2", "lesson = 3"))
                .unwrap_err()
                .contains("lesson number")
        );
        assert!(
            Manifest::parse(&ONE.replace("difficulty = 2", "difficulty = 4"))
                .unwrap_err()
                .contains("1 to 3")
        );
        assert!(
            Manifest::parse(&ONE.replace(r#"["a nudge"]"#, "[]")).unwrap_err().contains("no hints")
        );
        assert!(
            Manifest::parse(&ONE.replace("title =", "titel =")).is_err(),
            "unknown fields are errors"
        );
    }
}
