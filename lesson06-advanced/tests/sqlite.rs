//! Differential testing: the same seeded random tables and queries, run by
//! our engine and by SQLite (rusqlite, with its bundled SQLite), must give
//! the same rows.
//!
//! The queries stay inside the SQL on which PostgreSQL (whose behaviour we
//! copy) and SQLite agree. So: no division by zero (SQLite answers NULL,
//! PostgreSQL an error), no overflow (SQLite turns to floats), no
//! booleans in results (SQLite has none), no text compared with numbers,
//! `LIKE` made case-sensitive in SQLite, and results compared as sorted
//! multisets unless the `ORDER BY` fixes one order (SQLite sorts NULLs
//! first, PostgreSQL last).

use lesson04_indexing::btree::{BTree, MemStore};
use lesson05_replication::rng::Rng;
use lesson06_advanced::mvcc::Db;
use lesson06_advanced::sql::value::Value;
use lesson06_advanced::sql::{Output, Session};

const SEEDS: u64 = 100;
const QUERIES: usize = 60;

struct Gen {
    rng: Rng,
}

impl Gen {
    fn pick<'a>(&mut self, options: &[&'a str]) -> &'a str {
        options[self.rng.below(options.len() as u64) as usize]
    }

    fn int(&mut self, below: u64) -> i64 {
        self.rng.below(below) as i64 - (below / 2) as i64
    }

    /// An integer expression over table `t`'s columns (a, b nullable).
    fn number(&mut self, t: &str, depth: u32) -> String {
        match self.rng.below(if depth == 0 { 3 } else { 6 }) {
            0 => format!("{t}.a"),
            1 => format!("{t}.b"),
            2 => self.int(20).to_string(),
            3 => format!("({} + {})", self.number(t, depth - 1), self.number(t, depth - 1)),
            4 => format!("({} * {})", self.number(t, depth - 1), self.int(5)),
            _ => format!(
                "({} {} {})",
                self.number(t, depth - 1),
                self.pick(&["/", "%"]),
                self.pick(&["3", "7", "-2"])
            ),
        }
    }

    /// A condition over table `t`.
    fn condition(&mut self, t: &str, depth: u32) -> String {
        match self.rng.below(if depth == 0 { 8 } else { 11 }) {
            0 | 1 => {
                let op = self.pick(&["=", "<>", "<", "<=", ">", ">="]);
                // Floats meet integers too (no % on floats: SQLite has none).
                let left = if self.rng.chance(0.2) {
                    format!("({t}.d + {t}.a)")
                } else {
                    self.number(t, 1)
                };
                format!("{left} {op} {}", self.number(t, 1))
            }
            2 => format!("{t}.b IS {}NULL", self.pick(&["", "NOT "])),
            3 => {
                let (x, y) = (self.int(20), self.int(20));
                format!("{} {}BETWEEN {x} AND {y}", self.number(t, 1), self.pick(&["", "NOT "]))
            }
            4 => {
                let list: Vec<String> = (0..1 + self.rng.below(3))
                    .map(|_| {
                        if self.rng.chance(0.2) { "NULL".into() } else { self.int(12).to_string() }
                    })
                    .collect();
                format!(
                    "{t}.{} {}IN ({})",
                    self.pick(&["a", "b"]),
                    self.pick(&["", "NOT "]),
                    list.join(", ")
                )
            }
            5 => format!(
                "{t}.c {}LIKE '{}'",
                self.pick(&["", "NOT "]),
                self.pick(&["a%", "%b", "_a%", "%", "ab", "b_"])
            ),
            // The key, and text ordered: what key ranges and the index on
            // `c` are read by.
            6 => {
                let op = self.pick(&["=", "<", "<=", ">", ">="]);
                if self.rng.chance(0.5) {
                    format!("{t}.id {op} {}", self.rng.below(30))
                } else {
                    format!("{t}.id BETWEEN {} AND {}", self.rng.below(30), self.rng.below(30))
                }
            }
            7 => {
                let op = self.pick(&["=", "<", "<=", ">", ">="]);
                format!("{t}.c {op} '{}'", self.pick(&["a", "ab", "b", "ba", "c", ""]))
            }
            8 => format!("({} AND {})", self.condition(t, depth - 1), self.condition(t, depth - 1)),
            9 => format!("({} OR {})", self.condition(t, depth - 1), self.condition(t, depth - 1)),
            _ => format!("NOT ({})", self.condition(t, depth - 1)),
        }
    }

    fn setup(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        for t in ["t1", "t2"] {
            out.push(format!("CREATE TABLE {t} (id INTEGER PRIMARY KEY, a INTEGER NOT NULL, b INTEGER, c TEXT, d FLOAT)"));
            let rows: Vec<String> = (0..self.rng.below(25))
                .map(|id| {
                    let b = if self.rng.chance(0.25) {
                        "NULL".into()
                    } else {
                        self.int(12).to_string()
                    };
                    let c = if self.rng.chance(0.2) {
                        "NULL".into()
                    } else {
                        format!("'{}'", self.pick(&["a", "ab", "ba", "abc", "b", "bb", "ca"]))
                    };
                    let d = if self.rng.chance(0.2) {
                        "NULL".into()
                    } else {
                        format!("{}.5", self.int(10))
                    };
                    format!("({id}, {}, {b}, {c}, {d})", self.int(10))
                })
                .collect();
            if !rows.is_empty() {
                out.push(format!("INSERT INTO {t} VALUES {}", rows.join(", ")));
            }
        }
        // Indexes and statistics, so that the planner's index scans are
        // compared too (with the updates and deletes that must maintain them).
        if self.rng.chance(0.7) {
            out.push("CREATE INDEX t1_b ON t1 (b)".into());
            out.push("CREATE INDEX t1_c ON t1 (c)".into());
            out.push("ANALYZE".into());
        }
        out
    }

    /// A statement, and whether its rows come in one fixed order.
    fn query(&mut self) -> (String, bool) {
        let filter = self.condition("t1", 2);
        match self.rng.below(10) {
            0 => (format!("SELECT t1.id, t1.a, t1.b, t1.c, t1.d FROM t1 WHERE {filter}"), false),
            1 => (
                format!(
                    "SELECT t1.id, {} FROM t1 WHERE {filter} ORDER BY t1.id DESC LIMIT {} OFFSET {}",
                    self.number("t1", 2),
                    self.rng.below(10),
                    self.rng.below(4)
                ),
                true,
            ),
            2 => (
                format!(
                    "SELECT count(*), count(t1.b), sum(t1.a), min(t1.c), max(t1.d), avg(t1.b) FROM t1 WHERE {filter}"
                ),
                false,
            ),
            3 => {
                let having = if self.rng.chance(0.5) {
                    format!(" HAVING count(*) > {}", self.rng.below(3))
                } else {
                    String::new()
                };
                (
                    format!(
                        "SELECT t1.b, count(*), sum(t1.a), max(t1.c) FROM t1 WHERE {filter} GROUP BY t1.b{having}"
                    ),
                    false,
                )
            }
            4 => (
                format!("SELECT t1.id, t2.id, t2.c FROM t1 JOIN t2 ON t1.a = t2.a WHERE {filter}"),
                false,
            ),
            5 => (format!("SELECT t1.c, t2.b FROM t1, t2 WHERE t1.b = t2.b AND {filter}"), false),
            // An alias, a condition as a value (our booleans are compared as
            // SQLite's 1 and 0), and an order fixed down to the key, NULLs
            // placed explicitly (the two disagree on where they go).
            7 => {
                let condition = self.condition("x", 1);
                let desc = self.pick(&["", " DESC"]);
                (
                    format!(
                        "SELECT x.id, x.b, {condition} FROM t1 x WHERE {} ORDER BY x.b IS NULL, x.b{desc}, x.id",
                        self.condition("x", 1)
                    ),
                    true,
                )
            }
            // Grouping by an expression, ordered by an aggregate.
            8 => (
                format!(
                    "SELECT t1.a % 3, count(*), sum(t1.d) FROM t1 WHERE {filter} GROUP BY t1.a % 3 ORDER BY count(*), 1"
                ),
                true,
            ),
            _ => {
                let statement = if self.rng.chance(0.5) {
                    format!("UPDATE t1 SET b = {}, c = 'ab' WHERE {filter}", self.number("t1", 1))
                } else {
                    format!("DELETE FROM t1 WHERE {filter}")
                };
                (statement, false)
            }
        }
    }
}

/// A value as both sides can agree on: floats rounded.
fn ours(value: &Value) -> String {
    match value {
        Value::Float(x) => format!("{x:.6}"),
        Value::Boolean(b) => i64::from(*b).to_string(),
        other => other.to_text(),
    }
}

fn theirs(value: rusqlite::types::ValueRef<'_>) -> String {
    use rusqlite::types::ValueRef;
    match value {
        ValueRef::Null => String::new(),
        ValueRef::Integer(n) => n.to_string(),
        ValueRef::Real(x) => format!("{x:.6}"),
        ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
        ValueRef::Blob(_) => panic!("no blobs here"),
    }
}

fn sqlite_rows(conn: &rusqlite::Connection, sql: &str) -> Vec<Vec<String>> {
    let mut statement = conn.prepare(sql).unwrap_or_else(|e| panic!("SQLite refused {sql}: {e}"));
    let columns = statement.column_count();
    let mut rows = statement.query([]).unwrap();
    let mut out = Vec::new();
    while let Some(row) = rows.next().unwrap() {
        out.push((0..columns).map(|i| theirs(row.get_ref(i).unwrap())).collect());
    }
    out
}

fn our_rows(session: &mut Session<MemStore>, sql: &str) -> Vec<Vec<String>> {
    match session.execute(sql).remove(0) {
        Ok(Output::Rows { rows, .. }) => {
            rows.iter().map(|r| r.iter().map(ours).collect()).collect()
        }
        other => panic!("we failed {sql}: {other:?}"),
    }
}

// ANCHOR: differential
#[test]
fn random_queries_give_sqlites_rows() {
    let mut compared = 0;
    for seed in 0..SEEDS {
        let mut generator = Gen { rng: Rng::new(seed) };
        let mut session = Session::new(Db::open(BTree::in_memory(4096)).unwrap());
        let sqlite = rusqlite::Connection::open_in_memory().unwrap();
        sqlite.execute_batch("PRAGMA case_sensitive_like = ON").unwrap();
        for statement in generator.setup() {
            session.execute(&statement).remove(0).unwrap();
            sqlite.execute_batch(&statement).unwrap();
        }
        // Tables this small are cheapest to scan whole; on odd seeds, make
        // the planner use the indexes and key ranges wherever it can.
        if seed % 2 == 1 {
            session.execute("SET enable_seqscan = off").remove(0).unwrap();
        }
        for _ in 0..QUERIES {
            let (sql, ordered) = generator.query();
            if sql.starts_with("SELECT") {
                let (mut ours, mut theirs) =
                    (our_rows(&mut session, &sql), sqlite_rows(&sqlite, &sql));
                if !ordered {
                    ours.sort();
                    theirs.sort();
                }
                assert_eq!(ours, theirs, "seed {seed}: {sql}");
            } else {
                let done = session.execute(&sql).remove(0);
                let changed = sqlite.execute(&sql, []).unwrap();
                assert_eq!(
                    done,
                    Ok(Output::Tag(format!("{} {changed}", &sql[..6]))),
                    "seed {seed}: {sql}"
                );
                let all = "SELECT id, a, b, c, d FROM t1 ORDER BY id";
                assert_eq!(
                    our_rows(&mut session, all),
                    sqlite_rows(&sqlite, all),
                    "seed {seed}: after {sql}"
                );
            }
            compared += 1;
        }
    }
    assert_eq!(compared, SEEDS as usize * QUERIES);
}
// ANCHOR_END: differential
