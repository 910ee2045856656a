//! The SQL engine against SQLite on the same 100,000 books and queries, and
//! the planner against a forced sequential scan.
//!
//! Both databases are in memory, with the same schema, indexes and
//! statistics (`ANALYZE`); each query is sent as text and parsed every
//! time, by both (SQLite's `prepare` is in its timing, as our parser is in
//! ours).
//!
//! ```console
//! $ cargo bench -p lesson06-advanced --bench sql
//! ```

// criterion's macros generate functions that cannot carry doc comments.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use lesson04_indexing::btree::{BTree, MemStore};
use lesson05_replication::rng::Rng;
use lesson06_advanced::mvcc::Db;
use lesson06_advanced::sql::{Output, Session};

const BOOKS: u64 = 100_000;
const AUTHORS: u64 = 100;

/// The schema and the rows, as SQL both databases run.
fn script() -> Vec<String> {
    let mut rng = Rng::new(1);
    let mut out = vec![
        "CREATE TABLE authors (id INTEGER PRIMARY KEY, name TEXT NOT NULL, country TEXT)".to_string(),
        "CREATE TABLE books (id INTEGER PRIMARY KEY, title TEXT NOT NULL, author INTEGER, genre TEXT, price FLOAT, year INTEGER)".to_string(),
    ];
    let countries = ["England", "France", "USA", "Japan", "Nigeria"];
    let authors: Vec<String> = (0..AUTHORS)
        .map(|a| format!("({a}, 'author {a}', '{}')", countries[(a % 5) as usize]))
        .collect();
    out.push(format!("INSERT INTO authors VALUES {}", authors.join(", ")));
    let genres = ["novel", "drama", "essay", "crime", "poetry"];
    for batch in 0..BOOKS / 10_000 {
        let books: Vec<String> = (batch * 10_000..(batch + 1) * 10_000)
            .map(|b| {
                format!(
                    "({b}, 'book {b}', {}, '{}', {}.5, {})",
                    rng.below(AUTHORS),
                    genres[rng.below(5) as usize],
                    rng.below(50),
                    1800 + rng.below(225)
                )
            })
            .collect();
        out.push(format!("INSERT INTO books VALUES {}", books.join(", ")));
    }
    out.push("CREATE INDEX books_year ON books (year)".into());
    out.push("ANALYZE".into());
    out
}

fn ours() -> Session<MemStore> {
    let mut session = Session::new(Db::open(BTree::in_memory(4096)).unwrap());
    for statement in script() {
        session.execute(&statement).remove(0).unwrap();
    }
    session
}

fn sqlite() -> rusqlite::Connection {
    let conn = rusqlite::Connection::open_in_memory().unwrap();
    for statement in script() {
        conn.execute_batch(&statement).unwrap();
    }
    conn
}

fn run_ours(session: &mut Session<MemStore>, sql: &str) -> usize {
    match session.execute(sql).remove(0) {
        Ok(Output::Rows { rows, .. }) => rows.len(),
        other => panic!("{sql}: {other:?}"),
    }
}

fn run_sqlite(conn: &rusqlite::Connection, sql: &str) -> usize {
    let mut statement = conn.prepare(sql).unwrap();
    let columns = statement.column_count();
    let mut rows = statement.query([]).unwrap();
    let mut n = 0;
    while let Some(row) = rows.next().unwrap() {
        for i in 0..columns {
            black_box(row.get_ref(i).unwrap());
        }
        n += 1;
    }
    n
}

const QUERIES: [(&str, &str); 4] = [
    ("primary key lookup", "SELECT title, price FROM books WHERE id = 77777"),
    ("indexed range", "SELECT id, title FROM books WHERE year BETWEEN 1950 AND 1951"),
    ("full-scan aggregate", "SELECT genre, count(*), avg(price) FROM books GROUP BY genre"),
    (
        "two-table join",
        "SELECT b.title FROM books b JOIN authors a ON a.id = b.author WHERE a.country = 'Japan' AND b.year = 1900",
    ),
];

fn against_sqlite(c: &mut Criterion) {
    let mut session = ours();
    let conn = sqlite();
    let mut group = c.benchmark_group("sql");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5))
        .warm_up_time(Duration::from_secs(1));
    for (name, sql) in QUERIES {
        assert_eq!(run_ours(&mut session, sql), run_sqlite(&conn, sql), "{sql}");
        group.bench_function(format!("{name}/ours"), |b| b.iter(|| run_ours(&mut session, sql)));
        group.bench_function(format!("{name}/sqlite"), |b| b.iter(|| run_sqlite(&conn, sql)));
    }
    group.finish();
}

fn planner_against_a_scan(c: &mut Criterion) {
    let mut session = ours();
    let mut group = c.benchmark_group("planner");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5))
        .warm_up_time(Duration::from_secs(1));
    // The key lookup and the range, and an equality on the indexed year
    // (0.45% of the books), more selective than the range (0.9%).
    let equality = ("index equality", "SELECT id, title FROM books WHERE year = 1950");
    for (name, sql) in QUERIES[..2].iter().chain([&equality]) {
        group.bench_function(format!("{name}/planned"), |b| b.iter(|| run_ours(&mut session, sql)));
        session.execute("SET enable_indexscan = off").remove(0).unwrap();
        group.bench_function(format!("{name}/sequential scan"), |b| {
            b.iter(|| run_ours(&mut session, sql));
        });
        session.execute("SET enable_indexscan = on").remove(0).unwrap();
    }
    group.finish();
}

criterion_group!(benches, against_sqlite, planner_against_a_scan);
criterion_main!(benches);
