//! The measured sets: what each runs, and how its data becomes the book's
//! tables, plots and the values quoted in its prose.
//!
//! One module per lesson. A set's `render` reads only its data file, so
//! the drift check can run it anywhere, fast. Where a chapter's prose
//! states a fact about the numbers ("the list beats the hash map at ten
//! keys"), the render states it as a [`Rendered::claim`]: a new run that
//! contradicts the prose fails to render until the prose is changed.

mod lesson01;
mod lesson02;
mod lesson03;
mod lesson04;
mod lesson05;
mod lesson06;

use std::collections::BTreeMap;
use std::path::Path;

use super::data::{DataFile, Measurement};
use super::format::Table;

/// A group of measurements with one data file and one rendered file.
pub struct Set {
    /// `lessonNN-what`: the data file's and the rendered files' stem.
    pub name: &'static str,
    /// The lesson whose chapters show it.
    pub lesson: u32,
    /// What to run, in order.
    pub runs: Vec<Run>,
    /// Data to tables, plots and values.
    pub render: fn(&DataFile) -> Result<Rendered, String>,
}

/// One thing a set runs.
pub enum Run {
    /// A criterion benchmark: `cargo bench -p package --bench bench`.
    Bench {
        /// The package.
        package: &'static str,
        /// The bench target.
        bench: &'static str,
        /// Cargo features to turn on (the comparisons with outside engines).
        features: &'static [&'static str],
        /// Environment for every run.
        env: &'static [(&'static str, &'static str)],
        /// Environment for a quick run only: smaller inputs.
        quick_env: &'static [(&'static str, &'static str)],
        /// Criterion's filter: only the benchmarks whose id matches.
        filter: Option<&'static str>,
        /// Put before every id, to keep two runs of one bench apart.
        prefix: &'static str,
    },
    /// An ignored test that measures something criterion cannot (a server
    /// under load): `cargo test --release -p package --test test -- --ignored name`.
    /// Like a benchmark, it reports through `measure: id = value` lines.
    Test {
        /// The package.
        package: &'static str,
        /// The test target.
        test: &'static str,
        /// The test's name.
        name: &'static str,
    },
    /// A script that compares with an outside system and reports through
    /// `measure: id = value` lines; when it prints none, the line that
    /// says why (`…; skipping …`) is recorded as skipped.
    Script {
        /// The script, relative to the workspace root.
        path: &'static str,
        /// Environment for every run.
        env: &'static [(&'static str, &'static str)],
        /// Environment for a quick run only.
        quick_env: &'static [(&'static str, &'static str)],
    },
    /// A comparison run by the tool itself (redis-server, say).
    External {
        /// The command line a reader would type, for the data file.
        describe: &'static str,
        /// Runs it (`quick` for a short run) under the workspace root.
        run: fn(&Path, bool) -> Result<Outcome, String>,
    },
}

/// What an external comparison produced.
pub enum Outcome {
    /// Results by id.
    Measured(BTreeMap<String, Measurement>),
    /// It could not run here, and why.
    Skipped(String),
}

impl Run {
    /// `cargo bench -p package --bench bench`, as is.
    pub const fn bench(package: &'static str, bench: &'static str) -> Run {
        Run::Bench {
            package,
            bench,
            features: &[],
            env: &[],
            quick_env: &[],
            filter: None,
            prefix: "",
        }
    }
}

/// A piece of a rendered file, included by its anchor.
pub struct Fragment {
    /// The anchor chapters include it by.
    pub anchor: String,
    /// Markdown.
    pub text: String,
    /// Whether the machine-and-date caption follows it (tables do, values do not).
    pub captioned: bool,
}

/// What a set renders to.
#[derive(Default)]
pub struct Rendered {
    /// Tables and values, by anchor.
    pub fragments: Vec<Fragment>,
    /// SVG plots, by name.
    pub plots: Vec<(String, String)>,
    /// The set's key ratios, by name, for `cargo x measure --compare`.
    pub ratios: Vec<(String, f64)>,
    /// Claims of the prose the data contradicts: rendering the book refuses
    /// them, `--compare` reports them.
    pub broken: Vec<String>,
}

impl Rendered {
    /// A table, followed by the caption naming the machine and date.
    pub fn table(&mut self, anchor: &str, table: &Table) {
        self.fragments.push(Fragment {
            anchor: anchor.into(),
            text: table.markdown(),
            captioned: true,
        });
    }

    /// A value quoted inline in the prose: one line, no newline, so that
    /// `{{#include file:anchor}}` can stand inside a sentence.
    pub fn value(&mut self, anchor: &str, text: String) {
        assert!(!text.contains('\n'), "an inline value is one line");
        self.fragments.push(Fragment { anchor: anchor.into(), text, captioned: false });
    }

    /// A plot, written as `<set>-<name>.svg`.
    pub fn plot(&mut self, name: &str, svg: String) {
        self.plots.push((name.into(), svg));
    }

    /// A key ratio, for `--compare`.
    pub fn ratio(&mut self, name: &str, value: f64) {
        self.ratios.push((name.into(), value));
    }

    /// A fact the chapter's prose states about these numbers; if the data
    /// contradicts it, rendering fails and names it.
    pub fn claim(&mut self, holds: bool, prose: &str) {
        if !holds {
            self.broken.push(prose.into());
        }
    }
}

/// The smallest and the largest of `values`.
pub(super) fn span(values: &[f64]) -> (f64, f64) {
    values.iter().fold((f64::MAX, f64::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)))
}

/// Every measured set, in course order.
pub fn all() -> Vec<Set> {
    let mut sets = Vec::new();
    sets.extend(lesson01::sets());
    sets.extend(lesson02::sets());
    sets.extend(lesson03::sets());
    sets.extend(lesson04::sets());
    sets.extend(lesson05::sets());
    sets.extend(lesson06::sets());
    sets
}
