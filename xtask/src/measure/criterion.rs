//! Reading criterion's own output files: the source of every benchmark
//! number in the book.
//!
//! For each benchmark, criterion writes `<home>/<id>/new/benchmark.json`
//! (its full id and declared throughput) and `new/estimates.json` (the
//! statistics). We take the median time per iteration: a run's odd slow
//! samples move it less than the mean.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::data::{Measurement, Unit};

#[derive(Deserialize)]
struct Benchmark {
    full_id: String,
    throughput: Option<Throughput>,
}

#[derive(Deserialize)]
enum Throughput {
    Elements(u64),
    Bytes(u64),
    BytesDecimal(u64),
}

#[derive(Deserialize)]
struct Estimates {
    median: Estimate,
}

#[derive(Deserialize)]
struct Estimate {
    point_estimate: f64,
}

/// Every benchmark criterion recorded under `home` (its `CRITERION_HOME`),
/// by full id, each id prefixed with `prefix`.
pub fn collect(home: &Path, prefix: &str) -> Result<BTreeMap<String, Measurement>, String> {
    let mut found = Vec::new();
    find_new_dirs(home, &mut found);
    let mut results = BTreeMap::new();
    for dir in found {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))
        };
        let bench: Benchmark = serde_json::from_str(&read("benchmark.json")?)
            .map_err(|e| format!("{}: {e}", dir.display()))?;
        let estimates: Estimates = serde_json::from_str(&read("estimates.json")?)
            .map_err(|e| format!("{}: {e}", dir.display()))?;
        let (elements, bytes) = match bench.throughput {
            None => (None, None),
            Some(Throughput::Elements(n)) => (Some(n), None),
            Some(Throughput::Bytes(n) | Throughput::BytesDecimal(n)) => (None, Some(n)),
        };
        let measurement = Measurement {
            value: estimates.median.point_estimate,
            unit: Unit::Nanoseconds,
            elements,
            bytes,
        };
        results.insert(format!("{prefix}{}", bench.full_id), measurement);
    }
    Ok(results)
}

/// The `new` folders under `dir`: one per benchmark criterion ran.
fn find_new_dirs(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if !path.is_dir() {
            continue;
        }
        if path.file_name().is_some_and(|n| n == "new") && path.join("benchmark.json").is_file() {
            out.push(path);
        } else {
            find_new_dirs(&path, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_throughput_are_read_from_criterions_files() {
        let home = tempfile::tempdir().unwrap();
        let dir = home.path().join("append/log_writer_100B/new");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("benchmark.json"),
            r#"{"group_id":"append","function_id":"log_writer/100B","value_str":null,
                "throughput":{"Elements":1000},"full_id":"append/log_writer/100B",
                "directory_name":"append/log_writer_100B","title":"append/log_writer/100B"}"#,
        )
        .unwrap();
        std::fs::write(
            dir.join("estimates.json"),
            r#"{"mean":{"point_estimate":50.0},"median":{"point_estimate":44.5},
                "std_dev":{"point_estimate":1.0}}"#,
        )
        .unwrap();
        // The base folder criterion keeps beside `new` is not a result.
        std::fs::create_dir_all(home.path().join("append/log_writer_100B/base")).unwrap();
        let results = collect(home.path(), "").unwrap();
        assert_eq!(results.len(), 1);
        let m = results["append/log_writer/100B"];
        assert_eq!((m.value, m.elements, m.bytes), (44.5, Some(1000), None));
    }
}
