//! Running the real redis-server and redis-benchmark, for the comparisons
//! a "Measure it" section makes with Redis. Skipped, with the reason, when
//! they are not installed.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Why the comparison cannot run here, if it cannot.
pub fn missing() -> Option<String> {
    for tool in ["redis-server", "redis-benchmark"] {
        let found = Command::new(tool)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !found {
            return Some(format!(
                "{tool} is not installed (Debian: apt-get install redis-server redis-tools)"
            ));
        }
    }
    None
}

/// A redis-server on a free loopback port, in its own temporary folder;
/// stopped when dropped.
pub struct Server {
    child: Child,
    /// The port it listens on.
    pub port: u16,
    dir: PathBuf,
}

impl Server {
    /// Starts `redis-server` with `args` (after its port, folder and no RDB
    /// snapshots) and waits until it accepts connections.
    pub fn start(args: &[&str]) -> Result<Server, String> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let dir = std::env::temp_dir().join(format!("measure-redis-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", ""])
            .arg("--dir")
            .arg(&dir)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("could not start redis-server: {e}"))?;
        let server = Server { child, port, dir };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                return Err(format!("redis-server did not listen on port {port} within 10 s"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(server)
    }

    /// Runs `redis-benchmark -q` against this server; returns each test's
    /// requests per second.
    pub fn benchmark(&self, args: &[&str]) -> Result<Vec<(String, f64)>, String> {
        let output = Command::new("redis-benchmark")
            .args(["-p", &self.port.to_string(), "-q"])
            .args(args)
            .output()
            .map_err(|e| format!("could not run redis-benchmark: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "redis-benchmark {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        let parsed = parse_quiet(&String::from_utf8_lossy(&output.stdout));
        if parsed.is_empty() {
            return Err(format!("redis-benchmark {} reported nothing", args.join(" ")));
        }
        Ok(parsed)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `SET: 5060.20 requests per second, p50=9.5 msec` lines, after the
/// carriage-return progress lines `-q` also prints.
pub fn parse_quiet(text: &str) -> Vec<(String, f64)> {
    text.split(['\r', '\n'])
        .filter_map(|line| {
            let (test, rest) = line.split_once(": ")?;
            let rps = rest
                .strip_suffix(" requests per second")
                .or_else(|| rest.split_once(" requests per second").map(|(n, _)| n))?;
            Some((test.trim().to_string(), rps.trim().parse().ok()?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::parse_quiet;

    #[test]
    fn quiet_output_gives_each_tests_rate() {
        let out = "SET: rps=0.0 (overall: nan) avg_msec=nan\r\
                   SET: 5060.20 requests per second, p50=9.543 msec\n\
                   MSET (10 keys): 98039.22 requests per second\n";
        assert_eq!(
            parse_quiet(out),
            vec![("SET".to_string(), 5060.20), ("MSET (10 keys)".to_string(), 98039.22)]
        );
    }
}
