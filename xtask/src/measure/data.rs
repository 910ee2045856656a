//! The data files `cargo x measure` writes: one per measured set, in
//! `measurements/`, with the machine the numbers were taken on.
//!
//! A data file is the only source of a number in a "Measure it" section:
//! the book's tables and plots are rendered from it, and the drift check
//! re-renders them to prove it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// One set's results, as written to `measurements/<set>.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DataFile {
    /// The set's name, also the file's stem: `lesson01-lookup`.
    pub set: String,
    /// The commands that produced the results, for a reader to rerun.
    pub commands: Vec<String>,
    /// Whether the benchmarks ran shortened (`--quick`): a smoke run, never the book's.
    pub quick: bool,
    /// Where and when.
    pub machine: Machine,
    /// Results by name: criterion's benchmark id, or a comparison's own name.
    pub results: BTreeMap<String, Measurement>,
    /// Comparisons that did not run, and why (a missing redis-server, say).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<String>,
}

/// One number, with its unit.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct Measurement {
    /// The value: nanoseconds per iteration for a criterion benchmark.
    pub value: f64,
    /// What `value` counts.
    pub unit: Unit,
    /// Elements processed per iteration, when the benchmark declared them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elements: Option<u64>,
    /// Bytes processed per iteration, when the benchmark declared them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
}

/// The units a measurement comes in.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// Criterion's median time per iteration.
    Nanoseconds,
    /// A rate, as redis-benchmark reports it.
    PerSecond,
    /// A plain count or ratio.
    Number,
}

/// The machine a data file was measured on.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Machine {
    /// The CPU model, from `/proc/cpuinfo`.
    pub cpu: String,
    /// Logical CPUs available to the process.
    pub cores: usize,
    /// Total memory, in GiB.
    pub memory_gib: f64,
    /// The operating system and kernel.
    pub os: String,
    /// `rustc --version`.
    pub rustc: String,
    /// The day the run finished (UTC), `YYYY-MM-DD`.
    pub date: String,
}

impl DataFile {
    /// The committed data file of `set`, under the workspace `root`.
    pub fn path(root: &Path, set: &str) -> PathBuf {
        root.join("measurements").join(format!("{set}.json"))
    }

    /// Reads a data file; the error names the file and how to make it.
    pub fn load(path: &Path) -> Result<DataFile, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: {e} (`cargo x measure` writes it)", path.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{}: not a data file: {e}", path.display()))
    }

    /// Writes the file, pretty-printed so that a diff shows which numbers moved.
    pub fn save(&self, path: &Path) -> Result<(), String> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        let mut text = serde_json::to_string_pretty(self).map_err(|e| e.to_string())?;
        text.push('\n');
        std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The measurement called `id`, or an error that says which set lacks it.
    pub fn get(&self, id: &str) -> Result<Measurement, String> {
        self.results.get(id).copied().ok_or_else(|| {
            format!(
                "measurements/{}.json has no result `{id}`; rerun `cargo x measure --set {}`",
                self.set, self.set
            )
        })
    }

    /// Criterion's median time per iteration of `id`, in nanoseconds.
    pub fn ns(&self, id: &str) -> Result<f64, String> {
        let m = self.get(id)?;
        match m.unit {
            Unit::Nanoseconds => Ok(m.value),
            other => Err(format!("`{id}` in {} is {other:?}, not a time", self.set)),
        }
    }

    /// Time per element of `id`: the median over the elements it declared.
    pub fn ns_per_element(&self, id: &str) -> Result<f64, String> {
        let m = self.get(id)?;
        let n = m.elements.ok_or_else(|| format!("`{id}` in {} declares no elements", self.set))?;
        Ok(self.ns(id)? / n as f64)
    }

    /// Elements per second of `id`.
    pub fn per_second(&self, id: &str) -> Result<f64, String> {
        let m = self.get(id)?;
        match m.unit {
            Unit::PerSecond => Ok(m.value),
            Unit::Nanoseconds => Ok(1e9 / self.ns_per_element(id)?),
            other => Err(format!("`{id}` in {} is {other:?}, not a rate", self.set)),
        }
    }

    /// Bytes per second of `id`, for a benchmark that declared its bytes.
    pub fn bytes_per_second(&self, id: &str) -> Result<f64, String> {
        let m = self.get(id)?;
        let bytes = m.bytes.ok_or_else(|| format!("`{id}` in {} declares no bytes", self.set))?;
        Ok(bytes as f64 * 1e9 / self.ns(id)?)
    }

    /// A plain value (a count, kilobytes, a rate), whatever its unit.
    pub fn value(&self, id: &str) -> Result<f64, String> {
        Ok(self.get(id)?.value)
    }
}

impl Machine {
    /// The machine this process runs on.
    pub fn this_one() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split_once(':')))
            .map(|(_, model)| model.trim().to_string())
            .unwrap_or_else(|| std::env::consts::ARCH.to_string());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let kib: f64 = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|r| r.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0.0);
        let release = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
        let name = release
            .lines()
            .find_map(|l| l.strip_prefix("PRETTY_NAME="))
            .map(|n| n.trim_matches('"').to_string())
            .unwrap_or_else(|| std::env::consts::OS.to_string());
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|k| format!(", Linux {}", k.trim()))
            .unwrap_or_default();
        let rustc = std::process::Command::new("rustc")
            .arg("--version")
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_else(|| "rustc (unknown version)".into());
        Machine {
            cpu,
            cores: std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
            memory_gib: (kib / 1024.0 / 1024.0 * 10.0).round() / 10.0,
            os: format!("{name}{kernel}"),
            rustc,
            date: today(),
        }
    }

    /// One line for a table's caption.
    pub fn describe(&self) -> String {
        format!(
            "{}, {} cores, {} GiB, {}, {}",
            self.cpu, self.cores, self.memory_gib, self.os, self.rustc
        )
    }
}

/// Today's date (UTC) as `YYYY-MM-DD`, from the system clock.
pub fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    civil_date(secs / 86_400)
}

/// The calendar date of a day count since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`).
fn civil_date(days: u64) -> String {
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use super::civil_date;

    #[test]
    fn days_since_the_epoch_become_calendar_dates() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(59), "1970-03-01");
        assert_eq!(civil_date(11_016), "2000-02-29");
        assert_eq!(civil_date(20_783), "2026-11-26");
    }
}
