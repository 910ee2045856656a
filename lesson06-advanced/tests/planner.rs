//! The planner: which access path it picks for which query, the plans
//! `EXPLAIN` prints for a fixed shop, and, whatever it picks, the same rows
//! as a sequential scan.

use lesson01_intro::KeyRange;
use lesson04_indexing::btree::{BTree, MemStore};
use lesson05_replication::rng::Rng;
use lesson06_advanced::mvcc::{Db, Isolation};
use lesson06_advanced::sql::value::Value;
use lesson06_advanced::sql::{Output, Session};
use lesson06_advanced::sql::{catalog, sample};

/// The sample bookshop of `batches` × 2,000 books (see `sql::sample`).
fn new_shop(batches: usize) -> Session<MemStore> {
    let mut s = Session::new(Db::open(BTree::in_memory(4096)).unwrap());
    for statement in sample::bookshop(batches) {
        s.execute(&statement).remove(0).unwrap();
    }
    s
}

/// The shop, built once for the tests that only read it.
fn shop() -> Session<MemStore> {
    static SHOP: std::sync::OnceLock<Db<MemStore>> = std::sync::OnceLock::new();
    Session::new(SHOP.get_or_init(|| new_shop(10).db().clone()).clone())
}

fn plan(s: &mut Session<MemStore>, query: &str) -> String {
    match s.execute(&format!("EXPLAIN {query}")).remove(0) {
        Ok(Output::Rows { rows, .. }) => {
            rows.into_iter().map(|r| r[0].to_text()).collect::<Vec<_>>().join("\n")
        }
        other => panic!("{query}: {other:?}"),
    }
}

/// The first line of each scan in the plan.
fn scans(plan: &str) -> Vec<String> {
    plan.lines()
        .filter(|l| l.contains(" Scan "))
        .map(|l| l.trim_start().trim_start_matches("->  ").split("  (").next().unwrap().to_string())
        .collect()
}

// ANCHOR: access_paths
#[test]
fn the_planner_picks_the_access_path_by_estimated_cost() {
    let mut s = shop();
    let cases = [
        ("SELECT * FROM books WHERE id = 7", "Index Scan using books_pkey on books"),
        (
            "SELECT * FROM books WHERE id BETWEEN 100 AND 120",
            "Index Scan using books_pkey on books",
        ),
        ("SELECT * FROM books WHERE id > 100", "Seq Scan on books"),
        ("SELECT * FROM books WHERE genre = 'poetry'", "Index Scan using books_genre on books"),
        ("SELECT * FROM books WHERE genre = 'novel'", "Seq Scan on books"),
        ("SELECT * FROM books WHERE year = 1999", "Index Scan using books_year on books"),
        ("SELECT * FROM books WHERE year >= 1900", "Seq Scan on books"),
        ("SELECT * FROM books WHERE price < 10", "Seq Scan on books"),
    ];
    for (query, expected) in cases {
        assert_eq!(scans(&plan(&mut s, query)), [expected], "{query}");
    }
}
// ANCHOR_END: access_paths

/// The plan's nodes, without their costs and details: `Hash Join`,
/// `Seq Scan on books b`, …
fn shape(plan: &str) -> Vec<String> {
    plan.lines()
        .filter(|l| l.contains("(cost="))
        .map(|l| l.trim_start().trim_start_matches("->  ").split("  (").next().unwrap().to_string())
        .collect()
}

// ANCHOR: join_methods
#[test]
fn the_planner_picks_the_join_method_and_order_by_estimated_cost() {
    let mut s = shop();
    let cases: [(&str, &[&str]); 5] = [
        // Few sales on a day: look each one's book up by its key.
        (
            "SELECT * FROM sales s JOIN books b ON b.id = s.book WHERE s.day = 100",
            &[
                "Nested Loop",
                "Index Scan using sales_day on sales s",
                "Index Scan using books_pkey on books b",
            ],
        ),
        // Every sale: hash the books once rather than 20,000 lookups.
        (
            "SELECT count(*) FROM sales s JOIN books b ON b.id = s.book",
            &["Aggregate", "Hash Join", "Seq Scan on sales s", "Hash", "Seq Scan on books b"],
        ),
        // A fifth of the sales: hash those, the smaller side.
        (
            "SELECT count(*) FROM sales s JOIN books b ON b.id = s.book WHERE s.quantity = 5",
            &["Aggregate", "Hash Join", "Seq Scan on books b", "Hash", "Seq Scan on sales s"],
        ),
        // The small side is hashed, whichever comes first in FROM.
        (
            "SELECT * FROM authors a, books b WHERE a.id = b.author AND b.genre = 'crime'",
            &["Hash Join", "Seq Scan on books b", "Hash", "Seq Scan on authors a"],
        ),
        // No equality: every pair is tried, the authors read once and kept.
        (
            "SELECT * FROM books b JOIN authors a ON a.id < b.author WHERE b.genre = 'poetry'",
            &[
                "Nested Loop",
                "Index Scan using books_genre on books b",
                "Materialize",
                "Seq Scan on authors a",
            ],
        ),
    ];
    for (query, expected) in cases {
        assert_eq!(shape(&plan(&mut s, query)), expected, "{query}");
    }
}
// ANCHOR_END: join_methods

// ANCHOR: order_and_limit
#[test]
fn an_index_gives_the_order_and_a_limit_stops_the_scan() {
    let mut s = shop();
    let cases: [(&str, &[&str]); 5] = [
        (
            "SELECT * FROM books ORDER BY id LIMIT 5",
            &["Limit", "Index Scan using books_pkey on books"],
        ),
        (
            "SELECT * FROM books ORDER BY year DESC LIMIT 3",
            &["Limit", "Index Scan Backward using books_year on books"],
        ),
        // No index on price: sort it all, keep the first three.
        ("SELECT * FROM books ORDER BY price LIMIT 3", &["Limit", "Sort", "Seq Scan on books"]),
        // Most books are novels: the first three in year order come soon.
        (
            "SELECT * FROM books WHERE genre = 'novel' ORDER BY year LIMIT 3",
            &["Limit", "Index Scan using books_year on books"],
        ),
        // Few are poems: find them by genre, and sort those few.
        (
            "SELECT * FROM books WHERE genre = 'poetry' ORDER BY year LIMIT 3",
            &["Limit", "Sort", "Index Scan using books_genre on books"],
        ),
    ];
    for (query, expected) in cases {
        assert_eq!(shape(&plan(&mut s, query)), expected, "{query}");
    }
    // The scan stops at the limit: it reads 3 rows, not 20,000.
    let analyzed = plan(&mut s, "ANALYZE SELECT * FROM books WHERE genre = 'novel' LIMIT 3");
    let scan = analyzed.lines().find(|l| l.contains("Seq Scan")).unwrap();
    assert_eq!(actual_rows(scan), 3.0, "{analyzed}");
}
// ANCHOR_END: order_and_limit

/// `query`'s rows with the planner as it is, and with no index used (so
/// every order is a sort and every join a hash join or a nested loop).
fn with_and_without_indexes(
    s: &mut Session<MemStore>,
    query: &str,
) -> (Vec<Vec<Value>>, Vec<Vec<Value>>) {
    let planned = rows_of(s, query);
    s.execute("SET enable_indexscan = off").remove(0).unwrap();
    let sorted = rows_of(s, query);
    s.execute("SET enable_indexscan = on").remove(0).unwrap();
    (planned, sorted)
}

#[test]
fn rows_in_index_order_are_the_rows_a_sort_gives() {
    let mut s = new_shop(1);
    // NULLs too, which an index holds apart and a sort puts last
    // (ascending) or first (descending).
    s.execute("UPDATE books SET year = NULL WHERE id % 97 = 0").remove(0).unwrap();
    s.execute("ANALYZE").remove(0).unwrap();
    let mut rng = Rng::new(11);
    let mut ordered = 0;
    for _ in 0..60 {
        let column = ["id", "year"][rng.below(2) as usize];
        let direction = ["", " DESC"][rng.below(2) as usize];
        let filter = match rng.below(3) {
            0 => String::new(),
            1 => format!(" WHERE year > {}", 1800 + rng.below(225)),
            _ => format!(" WHERE genre = 'novel' AND id > {}", rng.below(2000)),
        };
        let (limit, offset) = (1 + rng.below(30), rng.below(5));
        // The sort key and the key: rows equal on the sort key may come
        // in either order, so compare those two columns.
        let query = format!(
            "SELECT {column}, id FROM books{filter} ORDER BY {column}{direction} LIMIT {limit} OFFSET {offset}"
        );
        if !plan(&mut s, &query).contains("Sort") {
            ordered += 1;
        }
        let (planned, sorted) = with_and_without_indexes(&mut s, &query);
        let keys = |rows: &[Vec<Value>]| rows.iter().map(|r| r[0].clone()).collect::<Vec<_>>();
        assert_eq!(keys(&planned), keys(&sorted), "{query}");
        assert_eq!(planned.len(), sorted.len(), "{query}");
        if column == "id" {
            assert_eq!(planned, sorted, "{query}");
        }
    }
    assert!(ordered > 20, "only {ordered} of 60 queries used an index's order");
}

// ANCHOR: same_join_rows
#[test]
fn every_join_plan_returns_the_rows_of_a_nested_loop() {
    let s = &mut new_shop(1);
    let mut rng = Rng::new(5);
    let mut seen = std::collections::BTreeMap::<&str, usize>::new();
    for _ in 0..40 {
        // Two or three tables, each filtered so that the nested loops
        // stay small, joined by equalities and now and then by something
        // else, or by nothing.
        let books = match rng.below(3) {
            0 => format!("b.year = {}", 1800 + rng.below(225)),
            1 => "b.genre = 'poetry'".to_string(),
            _ => format!("b.id < {}", rng.below(60)),
        };
        let sales = format!("s.day <= {}", 1 + rng.below(8));
        let authors =
            ["a.country = 'Japan'", "a.id > 90", "a.name LIKE 'author 1%'"][rng.below(3) as usize];
        let link = ["b.author = a.id", "a.id < b.author", "b.author = a.id AND a.id % 2 = 0"]
            [rng.below(3) as usize];
        let query = match rng.below(4) {
            0 => format!("SELECT b.id, a.id FROM books b JOIN authors a ON {link} WHERE {books}"),
            1 => format!(
                "SELECT s.id, b.id FROM sales s, books b WHERE s.book = b.id AND {sales} AND {books}"
            ),
            2 => format!(
                "SELECT a.id, b.id, s.id FROM authors a JOIN books b ON {link} \
                 JOIN sales s ON s.book = b.id WHERE {sales} AND {authors}"
            ),
            // Authors joined to nothing: each pair with each of them.
            _ => format!(
                "SELECT s.id, b.id, a.id FROM sales s, books b, authors a \
                 WHERE s.book = b.id AND {sales} AND {authors}"
            ),
        };
        let mut rows = Vec::new();
        for settings in [
            "SET enable_hashjoin = on; SET enable_indexscan = on",
            "SET enable_hashjoin = off; SET enable_indexscan = on",
            "SET enable_hashjoin = on; SET enable_indexscan = off",
            "SET enable_hashjoin = off; SET enable_indexscan = off",
        ] {
            for done in s.execute(settings) {
                done.unwrap();
            }
            for node in shape(&plan(s, &query)) {
                for method in ["Hash Join", "Nested Loop", "Index Scan using books_pkey"] {
                    if node.starts_with(method) {
                        *seen.entry(method).or_default() += 1;
                    }
                }
            }
            let mut these = rows_of(s, &query);
            these.sort_by(|a, b| {
                a.iter()
                    .zip(b)
                    .map(|(x, y)| x.sort_cmp(y))
                    .find(|o| o.is_ne())
                    .unwrap_or(std::cmp::Ordering::Equal)
            });
            rows.push(these);
        }
        for these in &rows[..3] {
            assert_eq!(these, &rows[3], "{query}");
        }
    }
    for method in ["Hash Join", "Nested Loop", "Index Scan using books_pkey"] {
        assert!(seen.get(method).copied().unwrap_or(0) >= 5, "{method}: {seen:?}");
    }
}
// ANCHOR_END: same_join_rows

#[test]
fn plans_for_the_book() {
    let mut s = shop();
    let queries = [
        "SELECT title, price FROM books WHERE genre = 'poetry' AND price > 20",
        "SELECT a.name, count(*) AS n FROM books b JOIN authors a ON a.id = b.author
           WHERE b.year BETWEEN 1900 AND 1910 GROUP BY a.name ORDER BY n DESC, a.name LIMIT 3",
        "SELECT b.title, s.quantity FROM sales s JOIN books b ON b.id = s.book WHERE s.day = 100",
        "SELECT a.name, sum(s.quantity) FROM authors a JOIN books b ON b.author = a.id
           JOIN sales s ON s.book = b.id WHERE a.country = 'Japan' GROUP BY a.name",
        "SELECT title, year FROM books ORDER BY year DESC LIMIT 3",
    ];
    let plans: Vec<String> =
        queries.iter().map(|q| format!("EXPLAIN {q}\n{}", plan(&mut s, q))).collect();
    insta::assert_snapshot!(plans.join("\n\n"));
}

#[test]
fn explain_analyze_shows_what_happened() {
    let mut s = shop();
    let Ok(Output::Rows { rows, .. }) = s
        .execute(
            "EXPLAIN ANALYZE SELECT title FROM books WHERE genre = 'poetry' ORDER BY title LIMIT 5",
        )
        .remove(0)
    else {
        panic!()
    };
    let text: Vec<String> = rows.iter().map(|r| r[0].to_text()).collect();
    // Times change from run to run; the rows do not.
    let masked: Vec<String> = text
        .iter()
        .map(|line| {
            let mut out = String::new();
            let mut rest = line.as_str();
            while let Some(i) = rest.find("time=").or_else(|| rest.find("Time: ")) {
                let skip = if rest[i..].starts_with("time=") { 5 } else { 6 };
                out.push_str(&rest[..i + skip]);
                rest = &rest[i + skip..];
                let digits =
                    rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
                out.push('…');
                rest = &rest[digits..];
            }
            out.push_str(rest);
            out
        })
        .collect();
    insta::assert_snapshot!(masked.join("\n"));
    let poetry = match s.execute("SELECT count(*) FROM books WHERE genre = 'poetry'").remove(0) {
        Ok(Output::Rows { rows, .. }) => rows[0][0].clone(),
        other => panic!("{other:?}"),
    };
    assert!(
        text.iter().any(|l| l.contains("Index Scan using books_genre")
            && l.contains(&format!("rows={} loops", poetry.to_text()))),
        "{text:?}"
    );
}

fn rows_of(s: &mut Session<MemStore>, query: &str) -> Vec<Vec<Value>> {
    match s.execute(query).remove(0) {
        Ok(Output::Rows { rows, .. }) => rows,
        other => panic!("{query}: {other:?}"),
    }
}

// ANCHOR: same_rows
#[test]
fn every_plan_returns_the_rows_of_a_sequential_scan() {
    let mut s = new_shop(1); // its own, and small: it changes the data
    let mut rng = Rng::new(7);
    let mut index_scans = 0;
    for round in 0..200 {
        // Change the data now and then, so that the indexes must follow.
        if round % 10 == 0 {
            let id = rng.below(2000);
            let change = match rng.below(3) {
                0 => format!(
                    "UPDATE books SET genre = 'poetry', year = {} WHERE id = {id}",
                    1800 + rng.below(225)
                ),
                1 => format!("DELETE FROM books WHERE id = {id}"),
                _ => format!("UPDATE books SET id = id + 100000 WHERE id = {id}"),
            };
            s.execute(&change).remove(0).unwrap();
        }
        let condition = match rng.below(6) {
            0 => format!("id = {}", rng.below(2100)),
            1 => format!("id BETWEEN {} AND {}", rng.below(2000), rng.below(2200)),
            2 => format!(
                "genre = '{}'",
                ["poetry", "novel", "drama", "nothing"][rng.below(4) as usize]
            ),
            3 => format!("year > {} AND year <= {}", 1800 + rng.below(225), 1800 + rng.below(225)),
            4 => format!("year = {} OR genre = 'essay'", 1800 + rng.below(225)),
            _ => format!(
                "id >= {} AND genre = 'crime' AND price < {}",
                rng.below(2000),
                rng.below(50)
            ),
        };
        let query = format!("SELECT * FROM books WHERE {condition}");
        let planned = rows_of(&mut s, &query);
        if plan(&mut s, &query).contains("Index Scan") {
            index_scans += 1;
        }
        s.execute("SET enable_indexscan = off").remove(0).unwrap();
        let scanned = rows_of(&mut s, &query);
        s.execute("SET enable_indexscan = on").remove(0).unwrap();
        let mut sorted = planned.clone();
        sorted.sort_by(|a, b| a[0].sort_cmp(&b[0]));
        assert_eq!(sorted, scanned, "{query}");
    }
    assert!(index_scans > 60, "only {index_scans} of 200 queries used an index");
    // And each index holds exactly one entry per row: no entry left behind
    // by the updates and deletes (the scans above re-check every row, so a
    // stale entry would not show in their results).
    let mut t = s.db().begin(Isolation::Snapshot);
    let books = catalog::table(&mut t, "books").unwrap();
    let rows = catalog::scan(&mut t, &books).unwrap();
    for index in &books.indexes {
        let mut expected: Vec<Vec<u8>> = rows
            .iter()
            .map(|r| catalog::index_key("books", &index.name, &r[index.column], &r[0]))
            .collect();
        expected.sort();
        let prefix = catalog::index_prefix("books", &index.name);
        let entries: Vec<Vec<u8>> =
            t.scan(KeyRange::prefix(&prefix)).unwrap().into_iter().map(|(k, _)| k).collect();
        assert!(
            entries == expected,
            "index {}: {} entries for {} rows",
            index.name,
            entries.len(),
            rows.len()
        );
    }
}
// ANCHOR_END: same_rows

/// The estimated and actual rows of the first scan in an `EXPLAIN
/// ANALYZE`.
fn estimate_and_actual(s: &mut Session<MemStore>, query: &str) -> (f64, f64) {
    let Ok(Output::Rows { rows, .. }) = s.execute(&format!("EXPLAIN ANALYZE {query}")).remove(0)
    else {
        panic!("{query}")
    };
    let line = rows.iter().map(|r| r[0].to_text()).find(|l| l.contains(" Scan ")).expect("a scan");
    let number = |after: &str| -> f64 {
        let start = line.find(after).expect(after) + after.len();
        line[start..].split(|c: char| !c.is_ascii_digit()).next().unwrap().parse().unwrap()
    };
    (number(" rows="), actual_rows(&line))
}

fn actual_rows(line: &str) -> f64 {
    let start = line.find("(actual").expect("analyzed");
    let rest = &line[start..];
    let at = rest.find(" rows=").unwrap() + " rows=".len();
    rest[at..].split(|c: char| !c.is_ascii_digit()).next().unwrap().parse().unwrap()
}

// ANCHOR: q_error
/// How good the estimates are: the q-error, max(estimate / actual, actual /
/// estimate) with both at least 1, of each scan's row count, over queries
/// of the kinds the statistics serve. Tabled for the book.
#[test]
fn estimate_quality() {
    let mut s = shop();
    let queries = [
        "SELECT * FROM books WHERE genre = 'novel'",
        "SELECT * FROM books WHERE genre = 'poetry'",
        "SELECT * FROM books WHERE genre = 'crime'",
        "SELECT * FROM books WHERE genre = 'nothing'",
        "SELECT * FROM books WHERE year = 1999",
        "SELECT * FROM books WHERE year < 1850",
        "SELECT * FROM books WHERE year BETWEEN 1900 AND 1950",
        "SELECT * FROM books WHERE price > 40",
        "SELECT * FROM books WHERE id < 1234",
        "SELECT * FROM books WHERE genre = 'novel' AND year > 2000",
        "SELECT * FROM books WHERE genre = 'crime' OR price < 5",
        "SELECT * FROM books WHERE author = 42",
    ];
    let mut table = String::from(
        "| query (WHERE …) | estimated rows | actual rows | q-error |\n|---|---:|---:|---:|\n",
    );
    let mut errors = Vec::new();
    for query in queries {
        let (estimate, actual) = estimate_and_actual(&mut s, query);
        let q = (estimate.max(1.0) / actual.max(1.0)).max(actual.max(1.0) / estimate.max(1.0));
        errors.push(q);
        let condition = query.split(" WHERE ").nth(1).unwrap();
        table.push_str(&format!("| `{condition}` | {estimate} | {actual} | {q:.2} |\n"));
    }
    errors.sort_by(f64::total_cmp);
    let median = errors[errors.len() / 2];
    let worst = errors[errors.len() - 1];
    table.push_str(&format!("\nmedian q-error {median:.2}, worst {worst:.2}\n"));
    // The worst is a value that is not there at all: the statistics cannot
    // tell it from a rare one, and give it a rare one's share.
    assert!(median < 1.5 && worst <= 10.0, "{table}");
    insta::assert_snapshot!(table);
}
// ANCHOR_END: q_error
