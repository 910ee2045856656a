//! `cargo x measure`: every number in the book's "Measure it" sections,
//! from data.
//!
//! ```text
//!   cargo bench (criterion) ──► target/measure/criterion/…/estimates.json
//!   redis-benchmark, …      ──┐            │ (medians)
//!                             ▼            ▼
//!                    measurements/<set>.json   (+ the machine, the date)
//!                             │ render (sets/*.rs)
//!                             ▼
//!       book/src/measured/<set>.md (tables, values)   <set>-*.svg (plots)
//!                             │ {{#include …}}  ![…](…)
//!                             ▼
//!                      the chapters' "Measure it"
//! ```
//!
//! The drift check renders every set again from its committed data and
//! compares: an edited table, a table without data, or a number typed by
//! hand into a "Measure it" section fails `cargo x ci`.

pub mod criterion;
pub mod data;
pub mod format;
pub mod hand_numbers;
pub mod plot;
pub mod redis;
pub mod sets;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use data::{DataFile, Machine};
pub use sets::{Rendered, Run, Set};

/// Where rendered tables and plots go, under the workspace root.
pub const OUTPUT_DIR: &str = "book/src/measured";

/// What to measure.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Only this lesson's sets.
    pub lesson: Option<u32>,
    /// Only this set.
    pub set: Option<String>,
}

impl Selection {
    /// The sets selected, in course order; an error if none match.
    pub fn sets(&self) -> Result<Vec<Set>, String> {
        let chosen: Vec<Set> = sets::all()
            .into_iter()
            .filter(|s| self.lesson.is_none_or(|l| s.lesson == l))
            .filter(|s| self.set.as_deref().is_none_or(|name| s.name == name))
            .collect();
        if chosen.is_empty() {
            let names: Vec<&str> = sets::all().iter().map(|s| s.name).collect();
            return Err(format!("no measured set matches; the sets are: {}", names.join(", ")));
        }
        Ok(chosen)
    }
}

/// Runs the selected sets' benchmarks and comparisons. A full run writes
/// the book's data files and re-renders; a quick one writes under
/// `target/measure/` and leaves the book alone.
pub fn measure(root: &Path, selection: &Selection, quick: bool) -> Result<(), String> {
    let sets = selection.sets()?;
    let start = Instant::now();
    let mut skipped = Vec::new();
    for (i, set) in sets.iter().enumerate() {
        println!(
            "\n[{}/{}] {} (lesson {}), {:.0}s so far",
            i + 1,
            sets.len(),
            set.name,
            set.lesson,
            start.elapsed().as_secs_f64()
        );
        let data = run_set(root, set, quick)?;
        skipped.extend(data.skipped.iter().map(|s| format!("{}: {s}", set.name)));
        let path = if quick { quick_path(root, set.name) } else { DataFile::path(root, set.name) };
        data.save(&path)?;
        println!("wrote {}", shown(root, &path));
    }
    if !quick {
        render(root, false)?;
    }
    println!("\nmeasured {} set(s) in {:.0}s", sets.len(), start.elapsed().as_secs_f64());
    if quick {
        println!(
            "a quick run: the book's data is unchanged (it is in {})",
            shown(root, &quick_dir(root))
        );
    }
    for s in &skipped {
        println!("skipped: {s}");
    }
    Ok(())
}

/// Runs one set: each benchmark with a fresh criterion folder, then each
/// comparison.
fn run_set(root: &Path, set: &Set, quick: bool) -> Result<DataFile, String> {
    let mut results = BTreeMap::new();
    let mut commands = Vec::new();
    let mut skipped = Vec::new();
    for run in &set.runs {
        match run {
            Run::Bench { package, bench, features, env, quick_env, filter, prefix } => {
                let home = root.join("target/measure/criterion").join(set.name);
                let _ = std::fs::remove_dir_all(&home);
                let mut args = vec!["bench", "-p", package, "--bench", bench];
                let features = features.join(",");
                if !features.is_empty() {
                    args.extend(["--features", &features]);
                }
                if filter.is_some() || quick {
                    args.push("--");
                }
                if let Some(filter) = filter {
                    args.push(filter);
                }
                if quick {
                    args.push("--quick");
                }
                let envs: Vec<(&str, &str)> = env
                    .iter()
                    .chain(if quick { quick_env.iter() } else { [].iter() })
                    .copied()
                    .collect();
                let (line, reported, _) = capture(root, "cargo", &args, &envs, &home)?;
                let found = criterion::collect(&home, prefix)?;
                if found.is_empty() {
                    return Err(format!("`{line}` recorded no benchmarks in {}", home.display()));
                }
                results.extend(found);
                results.extend(reported);
                commands.push(line);
            }
            Run::Test { package, test, name } => {
                let args = [
                    "test",
                    "--release",
                    "-p",
                    package,
                    "--test",
                    test,
                    "--",
                    "--include-ignored",
                    "--exact",
                    name,
                    "--nocapture",
                ];
                let home = root.join("target/measure/criterion").join(set.name);
                let (line, reported, _) = capture(root, "cargo", &args, &[], &home)?;
                if reported.is_empty() {
                    return Err(format!("`{line}` reported no `measure:` lines"));
                }
                results.extend(reported);
                commands.push(line);
            }
            Run::Script { path, env, quick_env } => {
                let envs: Vec<(&str, &str)> = env
                    .iter()
                    .chain(if quick { quick_env.iter() } else { [].iter() })
                    .copied()
                    .collect();
                let home = root.join("target/measure/criterion").join(set.name);
                let (line, reported, output) = capture(root, "bash", &[path], &envs, &home)?;
                if reported.is_empty() {
                    let reason = output
                        .lines()
                        .find(|l| l.contains("skipping"))
                        .map(str::to_string)
                        .ok_or_else(|| format!("`{line}` reported no `measure:` lines"))?;
                    skipped.push(reason);
                } else {
                    results.extend(reported);
                    commands.push(line);
                }
            }
            Run::External { describe, run } => {
                println!("$ {describe}");
                match run(root, quick)? {
                    sets::Outcome::Measured(found) => {
                        results.extend(found);
                        commands.push(describe.to_string());
                    }
                    sets::Outcome::Skipped(reason) => {
                        println!("skipped: {reason}");
                        skipped.push(reason);
                    }
                }
            }
        }
    }
    Ok(DataFile {
        set: set.name.to_string(),
        commands,
        quick,
        machine: Machine::this_one(),
        results,
        skipped,
    })
}

/// What a measured command printed: its command line, its `measure:`
/// values, and its whole standard output.
type Captured = (String, BTreeMap<String, data::Measurement>, String);

/// Runs `program` with `args`, its output streamed to the terminal, and
/// returns what it printed.
fn capture(
    root: &Path,
    program: &str,
    args: &[&str],
    envs: &[(&str, &str)],
    criterion_home: &Path,
) -> Result<Captured, String> {
    let shown_env: String = envs.iter().map(|(k, v)| format!("{k}={v} ")).collect();
    let line = format!("{shown_env}{program} {}", args.join(" "));
    println!("$ {line}");
    let mut child = Command::new(program)
        .args(args)
        .envs(envs.iter().copied())
        .env("CRITERION_HOME", criterion_home)
        .current_dir(root)
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not start {program}: {e}"))?;
    let mut reported = BTreeMap::new();
    let mut output = String::new();
    let stdout = child.stdout.take().expect("piped");
    for text in BufReader::new(stdout).lines() {
        let text = text.map_err(|e| format!("reading {program}'s output: {e}"))?;
        println!("{text}");
        output += &text;
        output.push('\n');
        if let Some((id, value)) = reported_value(&text) {
            let m =
                data::Measurement { value, unit: data::Unit::Number, elements: None, bytes: None };
            reported.insert(id, m);
        }
    }
    let status = child.wait().map_err(|e| format!("waiting for {program}: {e}"))?;
    if !status.success() {
        return Err(format!("`{line}` exited with {status}"));
    }
    Ok((line, reported, output))
}

/// A `measure: id = value` line, which a benchmark or a measuring test
/// prints for a number criterion does not time (aborts, overlap, a rate).
fn reported_value(line: &str) -> Option<(String, f64)> {
    let (id, value) = line.strip_prefix("measure: ")?.rsplit_once(" = ")?;
    Some((id.trim().to_string(), value.trim().parse().ok()?))
}

fn quick_dir(root: &Path) -> PathBuf {
    root.join("target/measure/data")
}

fn quick_path(root: &Path, set: &str) -> PathBuf {
    quick_dir(root).join(format!("{set}.json"))
}

fn shown(root: &Path, path: &Path) -> String {
    path.strip_prefix(root).unwrap_or(path).display().to_string()
}

/// The files a set renders to, by path relative to the workspace root.
pub fn render_files(set: &Set, data: &DataFile) -> Result<BTreeMap<PathBuf, String>, String> {
    if data.set != set.name {
        return Err(format!("measurements/{}.json says it is set `{}`", set.name, data.set));
    }
    let rendered = (set.render)(data).map_err(|e| format!("{}: {e}", set.name))?;
    if !rendered.broken.is_empty() {
        return Err(format!(
            "{}: the data contradicts what the chapter says; change the prose (and the claim): {}",
            set.name,
            rendered.broken.join("; ")
        ));
    }
    let mut files = BTreeMap::new();
    let mut md = format!(
        "<!-- Rendered by `cargo x measure` from measurements/{}.json. Do not edit: \
         `cargo x measure --render` rewrites it. -->\n",
        set.name
    );
    let caption = caption(set, data);
    for fragment in &rendered.fragments {
        md += &format!("<!-- ANCHOR: {} -->\n", fragment.anchor);
        md += fragment.text.trim_end_matches('\n');
        md.push('\n');
        if fragment.captioned {
            md += &format!("\n{caption}\n");
        }
        md += &format!("<!-- ANCHOR_END: {} -->\n", fragment.anchor);
    }
    files.insert(Path::new(OUTPUT_DIR).join(format!("{}.md", set.name)), md);
    for (name, svg) in &rendered.plots {
        files.insert(Path::new(OUTPUT_DIR).join(format!("{}-{name}.svg", set.name)), svg.clone());
    }
    Ok(files)
}

/// The line under every table: what produced it, where and when.
fn caption(set: &Set, data: &DataFile) -> String {
    let quick = if data.quick { " (a quick run: a smoke test, not a measurement)" } else { "" };
    format!(
        "*Measured by `cargo x measure --set {}` on {}{quick}: {}.*",
        set.name,
        data.machine.date,
        data.machine.describe()
    )
}

/// Renders every set from its committed data file into the book
/// (`check == false`), or checks that the book holds exactly that
/// (`check == true`), returning the problems found.
pub fn render(root: &Path, check: bool) -> Result<Vec<String>, String> {
    let mut problems = Vec::new();
    let mut expected: BTreeMap<PathBuf, String> = BTreeMap::new();
    let known: BTreeSet<&str> = sets::all().iter().map(|s| s.name).collect();
    for set in sets::all() {
        let path = DataFile::path(root, set.name);
        let data = match DataFile::load(&path) {
            Ok(data) => data,
            Err(e) => {
                problems.push(format!("{e}: the set {} has no data", set.name));
                continue;
            }
        };
        if data.quick {
            problems.push(format!(
                "{}: a quick run's data; the book takes a full run (`cargo x measure --set {}`)",
                shown(root, &path),
                set.name
            ));
        }
        match render_files(&set, &data) {
            Ok(files) => expected.extend(files),
            Err(e) => problems.push(e),
        }
    }
    // Data files no set renders.
    for entry in std::fs::read_dir(root.join("measurements")).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if let Some(stem) = name.strip_suffix(".json")
            && !known.contains(stem)
        {
            problems.push(format!("measurements/{name}: no measured set is called `{stem}`"));
        }
    }
    let out = root.join(OUTPUT_DIR);
    let present: BTreeSet<PathBuf> = std::fs::read_dir(&out)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| Path::new(OUTPUT_DIR).join(e.file_name()))
        .collect();
    if check {
        for (path, text) in &expected {
            match std::fs::read_to_string(root.join(path)) {
                Ok(on_disk) if on_disk == *text => {}
                Ok(_) => problems.push(format!(
                    "{}: differs from what its data renders (edited by hand?); \
                     `cargo x measure --render` rewrites it",
                    path.display()
                )),
                Err(_) => problems.push(format!(
                    "{}: missing; `cargo x measure --render` writes it",
                    path.display()
                )),
            }
        }
        for path in present.difference(&expected.keys().cloned().collect()) {
            problems.push(format!("{}: no data file explains it", path.display()));
        }
    } else {
        std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
        for path in present.difference(&expected.keys().cloned().collect()) {
            std::fs::remove_file(root.join(path))
                .map_err(|e| format!("{}: {e}", path.display()))?;
            println!("removed {} (no data explains it)", path.display());
        }
        for (path, text) in &expected {
            let full = root.join(path);
            if std::fs::read_to_string(&full).ok().as_deref() != Some(text.as_str()) {
                std::fs::write(&full, text).map_err(|e| format!("{}: {e}", full.display()))?;
                println!("rendered {}", path.display());
            }
        }
        for p in &problems {
            println!("{p}");
        }
    }
    Ok(problems)
}

/// Runs the selected sets quickly on this machine and prints the numbers
/// beside the book's: each set's key ratios, then every time.
pub fn compare(root: &Path, selection: &Selection) -> Result<(), String> {
    measure(root, selection, true)?;
    for set in selection.sets()? {
        let book = DataFile::load(&DataFile::path(root, set.name))?;
        let yours = DataFile::load(&quick_path(root, set.name))?;
        println!("\n## {} (lesson {})", set.name, set.lesson);
        println!("book: {}, {}", book.machine.date, book.machine.describe());
        println!("you:  {}, {}", yours.machine.date, yours.machine.describe());
        let book_ratios = (set.render)(&book)?.ratios;
        let your_ratios: BTreeMap<String, f64> = match (set.render)(&yours) {
            Ok(r) => {
                for claim in &r.broken {
                    println!("on your machine, the book's sentence does not hold: {claim}");
                }
                r.ratios.into_iter().collect()
            }
            Err(e) => {
                println!("(your run could not be rendered: {e})");
                BTreeMap::new()
            }
        };
        let mut table = format::Table::new(&["ratio", "book", "yours"]);
        for (name, value) in &book_ratios {
            let yours = your_ratios.get(name).map_or("not measured".into(), |r| format::ratio(*r));
            table.row(vec![name.clone(), format::ratio(*value), yours]);
        }
        print!("\n{}", table.markdown());
        let mut table = format::Table::new(&["result", "book", "yours", "yours / book"]);
        for (id, b) in &book.results {
            let Some(y) = yours.results.get(id) else { continue };
            let show = |m: &data::Measurement| match m.unit {
                data::Unit::Nanoseconds => format::time(m.value),
                _ => format::significant(m.value),
            };
            table.row(vec![id.clone(), show(b), show(y), format::ratio(y.value / b.value)]);
        }
        print!("\n{}", table.markdown());
        for s in &yours.skipped {
            println!("skipped on your machine: {s}");
        }
    }
    println!(
        "\nYour run was a quick one (criterion's --quick, smaller inputs where a set allows): \
         compare the ratios, which travel between machines, more than the times."
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::reported_value;

    #[test]
    fn measure_lines_carry_an_id_and_a_value() {
        assert_eq!(
            reported_value("measure: top-10 overlap/a phrase (\"w1 w2\") = 9"),
            Some(("top-10 overlap/a phrase (\"w1 w2\")".into(), 9.0))
        );
        assert_eq!(reported_value("top-10 overlap: 9/10"), None);
        assert_eq!(reported_value("measure: x = many"), None);
    }
}
