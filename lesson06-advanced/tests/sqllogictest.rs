//! SQL by the script: every `tests/slt/*.slt` file, in the sqllogictest
//! format (SQLite's, also used by CockroachDB, DuckDB and RisingWave), run
//! by the `sqllogictest` crate against a fresh database.
//!
//! A script is a list of records, each a statement and what it should give:
//!
//! ```text
//!   statement ok                          query IT rowsort
//!   CREATE TABLE t (a INTEGER PRIMARY     SELECT a, b FROM t
//!     KEY, b TEXT)                        ----
//!                                         1 one
//!   statement error does not exist        2 NULL
//!   SELECT * FROM nosuch
//! ```
//!
//! Results are compared as text, as psql shows them, except that `NULL` is
//! `NULL` and an empty string `(empty)` (sqllogictest's conventions). The
//! letters after `query` are the columns' types: `I` integer, `R` float,
//! `T` text, `B` boolean (the crate reads any letter but `I`, `R`, `T` as
//! "other"). `statement error <regex>` matches the message, and
//! `statement error (23505)` the SQLSTATE code.
//!
//! Every expected result is PostgreSQL's: the scripts were run against a
//! PostgreSQL 15 server (C collation) too, so they say what the engine must
//! do, not what it happens to do. Where the engine differs from PostgreSQL,
//! the case is left out rather than written down wrong.
//!
//! Each script gets a database of its own, in memory as in `tests/sql.rs`;
//! `connection name` records in it open more sessions on that database.

use std::path::{Path, PathBuf};

use lesson04_indexing::btree::{BTree, MemStore};
use lesson06_advanced::mvcc::Db;
use lesson06_advanced::sql::value::{DataType, Value};
use lesson06_advanced::sql::{Error, Output, Session};
use sqllogictest::{DB, DBOutput, DefaultColumnType, Record, Runner};

// ANCHOR: db
/// One connection of a script: a session on the script's database.
struct Connection(Session<MemStore>);

impl DB for Connection {
    type Error = Error;
    type ColumnType = DefaultColumnType;

    fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, Error> {
        // A record holds one statement; with more, the last one's result
        // counts (the session stops at the first that fails).
        let Some(result) = self.0.execute(sql).pop() else {
            return Ok(DBOutput::StatementComplete(0)); // nothing to run
        };
        match result? {
            Output::Rows { rows, .. } if rows.is_empty() => {
                // No row to take the columns' types from.
                Ok(DBOutput::Rows { types: Vec::new(), rows: Vec::new() })
            }
            Output::Rows { rows, .. } => Ok(DBOutput::Rows {
                types: column_types(&rows),
                rows: rows.iter().map(|row| row.iter().map(text).collect()).collect(),
            }),
            // `INSERT 0 3`, `UPDATE 2`: the count that `statement count`
            // checks; `CREATE TABLE`: none.
            Output::Tag(tag) => Ok(DBOutput::StatementComplete(
                tag.rsplit(' ').next().and_then(|n| n.parse().ok()).unwrap_or(0),
            )),
        }
    }

    fn engine_name(&self) -> &str {
        "lesson06"
    }

    fn error_sql_state(err: &Error) -> Option<String> {
        Some(err.code.to_string())
    }
}
// ANCHOR_END: db

/// A value as a result line shows it: as psql prints it, but `NULL` for
/// NULL and `(empty)` for the empty string, which would otherwise vanish.
fn text(value: &Value) -> String {
    match value {
        Value::Null => "NULL".into(),
        Value::Text(s) if s.is_empty() => "(empty)".into(),
        other => other.to_text(),
    }
}

/// The columns' types, taken from their values (as the engine's
/// `RowDescription` takes them): the first value that is not `NULL`
/// decides; a column of `NULL`s only is `?`, which any type matches.
fn column_types(rows: &[Vec<Value>]) -> Vec<DefaultColumnType> {
    (0..rows[0].len())
        .map(|i| match rows.iter().find_map(|row| row[i].data_type()) {
            Some(DataType::Integer) => DefaultColumnType::Integer,
            Some(DataType::Float) => DefaultColumnType::FloatingPoint,
            Some(DataType::Text) => DefaultColumnType::Text,
            Some(DataType::Boolean) | None => DefaultColumnType::Any,
        })
        .collect()
}

/// As the crate's strict validator (as many columns, each of the expected
/// type), except that a column without a non-`NULL` value matches any type.
/// An empty result has no types to check.
#[allow(clippy::ptr_arg)] // the crate's `ColumnTypeValidator` takes `&Vec`s
fn types_match(actual: &Vec<DefaultColumnType>, expected: &Vec<DefaultColumnType>) -> bool {
    actual.is_empty()
        || (actual.len() == expected.len()
            && actual.iter().zip(expected).all(|(a, e)| a == e || *a == DefaultColumnType::Any))
}

/// A runner for one script, on a database of its own.
fn runner() -> Runner<Connection, impl sqllogictest::MakeConnection<Conn = Connection>> {
    let db = Db::open(BTree::in_memory(4096)).unwrap();
    let mut runner =
        Runner::new(move || std::future::ready(Ok(Connection(Session::new(db.clone())))));
    runner.with_column_validator(types_match);
    runner
}

/// The scripts in `tests/slt`, in name order; there must be some.
fn scripts() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/slt");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "slt"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .slt scripts in {}", dir.display());
    files
}

#[test]
fn every_script_passes() {
    let mut failures = Vec::new();
    for path in scripts() {
        let records = sqllogictest::parse_file::<DefaultColumnType>(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let checks = records
            .iter()
            .filter(|r| matches!(r, Record::Statement { .. } | Record::Query { .. }))
            .count();
        assert!(checks > 0, "{}: no statement or query records", path.display());
        if let Err(e) = runner().run_multi(records) {
            failures.push(e.display(false).to_string());
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The checks can fail: a wrong value, a wrong type or column count, a
/// wrong error, an error missing and a wrong count are each caught.
#[test]
fn wrong_expectations_fail() {
    let setup = "statement ok\nCREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT)\n\n\
                 statement ok\nINSERT INTO t VALUES (1, 'one')\n\n";
    let right = "query IT\nSELECT a, b FROM t\n----\n1 one\n\n\
                 statement count 1\nUPDATE t SET b = 'one'\n\n\
                 statement error (42P01)\nSELECT * FROM nosuch\n\n\
                 statement error relation \"nosuch\" does not exist\nSELECT * FROM nosuch\n";
    runner().run_script(&format!("{setup}{right}")).unwrap();
    for wrong in [
        "query IT\nSELECT a, b FROM t\n----\n1 two\n",
        "query TT\nSELECT a, b FROM t\n----\n1 one\n",
        "query I\nSELECT a, b FROM t\n----\n1 one\n",
        "statement error no such thing\nSELECT * FROM nosuch\n",
        "statement error (23505)\nSELECT * FROM nosuch\n",
        "statement error\nSELECT a FROM t\n",
        "statement count 2\nUPDATE t SET b = 'one'\n",
    ] {
        let script = format!("{setup}{wrong}");
        assert!(runner().run_script(&script).is_err(), "passed:\n{wrong}");
    }
}
