//! Runs the real binary and snapshots what it prints. The book's "Run it"
//! section includes the snapshot file, so the book shows exactly this output.

use std::process::Command;

fn run(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_lesson01-intro"))
        .args(args)
        .output()
        .expect("binary runs");
    assert!(
        out.status.success(),
        "exit status {}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

#[test]
fn tour_output() {
    // Timings change from run to run, so the snapshot holds the tour only.
    insta::assert_snapshot!("tour", run(&["--only", "tour"]));
}

#[test]
fn timing_table_has_a_row_per_size() {
    let table = run(&["--only", "timing", "--sizes", "10,300"]);
    let rows: Vec<_> =
        table.lines().filter(|l| l.contains(" | ") && !l.contains("linear scan")).collect();
    assert_eq!(rows.len(), 2, "{table}");
    assert!(rows[0].trim_start().starts_with("10 |"), "{table}");
    assert!(rows[1].trim_start().starts_with("300 |"), "{table}");
    assert!(!table.contains("The bookshop"), "--only timing must not print the tour");
}

#[test]
fn help_describes_the_flags() {
    let help = run(&["--help"]);
    assert!(help.contains("--only") && help.contains("--sizes"), "{help}");
}
