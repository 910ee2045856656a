//! SQL as a client sees it: a session's transcript, NULL's logic, errors
//! that point at their place, and transactions that fail whole.

use lesson02_kv::repl::LineHandler;
use lesson04_indexing::btree::{BTree, MemStore};
use lesson06_advanced::mvcc::Db;
use lesson06_advanced::sql::value::Value;
use lesson06_advanced::sql::{Output, Session, Status};

fn session() -> Session<MemStore> {
    Session::new(Db::open(BTree::in_memory(1024)).unwrap())
}

/// Runs `script` through the REPL, line by line, and returns what it
/// printed, each statement after its prompt and text.
fn transcript(session: &mut Session<MemStore>, script: &str) -> String {
    let mut out = String::new();
    for line in script.lines() {
        out.push_str(&session.prompt());
        out.push_str(line);
        out.push('\n');
        if let Some(reply) = session.handle_line(line.as_bytes()) {
            out.push_str(&reply.render());
            out.push_str("\n\n");
        }
    }
    out
}

const BOOKSHOP: &str = "CREATE TABLE books (id INTEGER PRIMARY KEY, title TEXT NOT NULL,
    author TEXT, price FLOAT, year INTEGER);
INSERT INTO books VALUES (1, 'Dune', 'Herbert', 9.99, 1965), (2, 'Emma', 'Austen', 4.5, 1815),
    (3, 'Persuasion', 'Austen', 5, 1817), (4, 'Untitled', NULL, NULL, NULL);
CREATE TABLE authors (name TEXT PRIMARY KEY, country TEXT);
INSERT INTO authors VALUES ('Austen', 'England'), ('Herbert', 'USA');";

#[test]
fn a_session_for_the_book() {
    let mut s = session();
    let out = transcript(
        &mut s,
        &format!(
            "{BOOKSHOP}
SELECT * FROM books;
SELECT author, count(*), avg(price) AS mean
  FROM books GROUP BY author ORDER BY 2 DESC, author;
SELECT b.title, a.country FROM books b JOIN authors a ON a.name = b.author
  WHERE b.year < 1900 OR b.price > 9 ORDER BY b.title;
SELECT title FROM books WHERE price > 5;
SELECT title FROM books WHERE NOT price > 5;
SELECT titel FROM books;
UPDATE books SET price = price * 2 WHERE author = 'Austen';
SELECT id, title, price FROM books ORDER BY price DESC LIMIT 2;
\\d books"
        ),
    );
    insta::assert_snapshot!(out);
}

/// The value of one expression.
fn value(s: &mut Session<MemStore>, expr: &str) -> Value {
    match s.execute(&format!("SELECT {expr}")).remove(0) {
        Ok(Output::Rows { mut rows, .. }) => rows.remove(0).remove(0),
        other => panic!("{expr}: {other:?}"),
    }
}

// ANCHOR: three_valued
#[test]
fn null_follows_three_valued_logic() {
    let mut s = session();
    let (t, f, n) = (Value::Boolean(true), Value::Boolean(false), Value::Null);
    for (expr, expected) in [
        ("NULL = NULL", &n),
        ("NULL <> 1", &n),
        ("NULL IS NULL", &t),
        ("1 IS NOT NULL", &t),
        ("NOT NULL", &n),
        ("TRUE AND NULL", &n),
        ("FALSE AND NULL", &f),
        ("TRUE OR NULL", &t),
        ("FALSE OR NULL", &n),
        ("1 IN (1, NULL)", &t),
        ("2 IN (1, NULL)", &n),
        ("2 NOT IN (1, NULL)", &n),
        ("2 NOT IN (1, 3)", &t),
        ("NULL BETWEEN 1 AND 2", &n),
        ("5 BETWEEN 1 AND NULL", &n),
        ("0 BETWEEN 1 AND NULL", &f),
        ("NULL LIKE 'a%'", &n),
        ("1 + NULL", &n),
        ("'a' || NULL", &n),
    ] {
        assert_eq!(&value(&mut s, expr), expected, "{expr}");
    }
    // A WHERE keeps a row only when the condition is TRUE, not NULL.
    s.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, x INTEGER); INSERT INTO t VALUES (1, 1), (2, NULL)");
    let count = |s: &mut Session<MemStore>, filter: &str| match s
        .execute(&format!("SELECT count(*) FROM t WHERE {filter}"))
        .remove(0)
    {
        Ok(Output::Rows { rows, .. }) => rows[0][0].clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(count(&mut s, "x = 1"), Value::Integer(1));
    assert_eq!(count(&mut s, "NOT x = 1"), Value::Integer(0), "NOT NULL is NULL, not TRUE");
    assert_eq!(count(&mut s, "x = 1 OR x IS NULL"), Value::Integer(2));
}
// ANCHOR_END: three_valued

#[test]
fn errors_point_at_the_place_and_change_nothing() {
    let mut s = session();
    s.execute(BOOKSHOP);
    let cases = [
        ("SELECT title FROM books WHERE price >", "syntax error at end of input", Some(37)),
        ("SELECT * FROM nosuch", "relation \"nosuch\" does not exist", None),
        ("SELECT b.title FROM books", "missing FROM-clause entry for table \"b\"", Some(7)),
        ("SELECT id FROM books, books b", "column reference \"id\" is ambiguous", Some(7)),
        (
            "SELECT title, count(*) FROM books",
            "column \"title\" must appear in the GROUP BY clause or be used in an aggregate function",
            Some(7),
        ),
        (
            "INSERT INTO books (id, title) VALUES (9, NULL)",
            "null value in column \"title\" of relation \"books\" violates not-null constraint",
            None,
        ),
        (
            "INSERT INTO books (id, title) VALUES (9, 'a'), (1, 'b')",
            "duplicate key value violates unique constraint \"books_pkey\": (id)=(1)",
            None,
        ),
        (
            "INSERT INTO books (id, title) VALUES ('x', 'a')",
            "invalid input syntax for type bigint: \"x\"",
            None,
        ),
        (
            "INSERT INTO books (id, title) VALUES (true, 'a')",
            "column \"id\" is of type bigint but expression is of type boolean",
            None,
        ),
        ("UPDATE books SET year = year * 9223372036854775807", "bigint out of range", None),
        ("SELECT nosuch FROM books WHERE false", "column \"nosuch\" does not exist", Some(7)),
        (
            "SELECT title FROM books WHERE false GROUP BY author",
            "column \"title\" must appear in the GROUP BY clause or be used in an aggregate function",
            Some(7),
        ),
        (
            "INSERT INTO books (id, id) VALUES (1, 2)",
            "column \"id\" specified more than once",
            None,
        ),
        (
            "SELECT title FROM books WHERE title LIKE 'D\\'",
            "LIKE pattern must not end with escape character",
            None,
        ),
        (
            "SELECT * FROM books LIMIT TRUE",
            "argument of LIMIT must be type bigint, not type boolean",
            None,
        ),
        ("SELECT *", "SELECT * with no tables specified is not valid", None),
        ("EXPLAIN SELECT nosuch FROM books", "column \"nosuch\" does not exist", Some(15)),
        ("SELECT 1 / 0", "division by zero", None),
    ];
    for (sql, message, position) in cases {
        let err = s.execute(sql).remove(0).unwrap_err();
        assert_eq!((err.message.as_str(), err.position), (message, position), "{sql}");
    }
    // Nothing of the failed statements stayed: still four books, their years intact.
    let Ok(Output::Rows { rows, .. }) =
        s.execute("SELECT count(*), sum(year) FROM books").remove(0)
    else {
        panic!()
    };
    assert_eq!(rows, [[Value::Integer(4), Value::Integer(1965 + 1815 + 1817)]]);
    let err = s.execute("SELECT title FROM books WHERE price >").remove(0).unwrap_err();
    assert_eq!(
        err.render("SELECT title FROM books WHERE price >"),
        "ERROR:  syntax error at end of input\nLINE 1: SELECT title FROM books WHERE price >\n                                             ^"
    );
}

#[test]
fn a_transaction_that_fails_changes_nothing_until_rollback() {
    let db = Db::open(BTree::in_memory(1024)).unwrap();
    let (mut a, mut b) = (Session::new(db.clone()), Session::new(db));
    a.execute(BOOKSHOP);
    a.execute("BEGIN; INSERT INTO authors VALUES ('Le Guin', 'USA')");
    assert_eq!(a.status(), Status::InTransaction);
    let err = a.execute("INSERT INTO authors VALUES ('Austen', 'again')").remove(0).unwrap_err();
    assert_eq!(err.code, "23505");
    assert_eq!(a.status(), Status::Failed);
    let err = a.execute("SELECT 1").remove(0).unwrap_err();
    assert_eq!(err.code, "25P02");
    // COMMIT of a failed transaction rolls it back.
    assert_eq!(a.execute("COMMIT").remove(0).unwrap(), Output::Tag("ROLLBACK".into()));
    assert_eq!(a.status(), Status::Idle);
    let Ok(Output::Rows { rows, .. }) = b.execute("SELECT count(*) FROM authors").remove(0) else {
        panic!()
    };
    assert_eq!(rows[0][0], Value::Integer(2), "Le Guin was never committed");
    // Two sessions, one row: the later committer fails with SQLSTATE 40001.
    a.execute("BEGIN; UPDATE books SET price = 1 WHERE id = 1");
    b.execute("BEGIN; UPDATE books SET price = 2 WHERE id = 1");
    assert!(a.execute("COMMIT").remove(0).is_ok());
    let err = b.execute("COMMIT").remove(0).unwrap_err();
    assert_eq!(
        (err.code, err.message.as_str()),
        ("40001", "could not serialize access due to concurrent update")
    );
    // DDL is transactional too.
    a.execute("BEGIN; DROP TABLE books; ROLLBACK");
    assert!(a.execute("SELECT * FROM books").remove(0).is_ok());
}

#[test]
fn update_sees_the_table_as_it_was_and_keys_can_move() {
    let mut s = session();
    s.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, x INTEGER); INSERT INTO t VALUES (1, 10), (2, 20), (3, 30)");
    // Shifting every key by one collides row by row, but not as a set.
    assert_eq!(
        s.execute("UPDATE t SET id = id + 1").remove(0).unwrap(),
        Output::Tag("UPDATE 3".into())
    );
    let Ok(Output::Rows { rows, .. }) = s.execute("SELECT id, x FROM t").remove(0) else {
        panic!()
    };
    let i = Value::Integer;
    assert_eq!(rows, [[i(2), i(10)], [i(3), i(20)], [i(4), i(30)]]);
    assert_eq!(s.execute("UPDATE t SET id = 2").remove(0).unwrap_err().code, "23505");
}

fn rows(s: &mut Session<MemStore>, sql: &str) -> Vec<Vec<Value>> {
    match s.execute(sql).pop() {
        Some(Ok(Output::Rows { rows, .. })) => rows,
        other => panic!("{sql}: {other:?}"),
    }
}

#[test]
fn postgresql_details() {
    let mut s = session();
    s.execute(BOOKSHOP);
    let (i, t, f) = (Value::Integer, Value::Text, Value::Float);
    // -0 equals 0; integers and floats compare exactly, even past 2^53.
    assert_eq!(value(&mut s, "-0.0 = 0"), Value::Boolean(true));
    assert_eq!(value(&mut s, "9007199254740993 > 9007199254740992.0"), Value::Boolean(true));
    assert_eq!(value(&mut s, "-9223372036854775808"), i(i64::MIN));
    // The right side of AND is not evaluated when the left is FALSE.
    assert_eq!(
        rows(&mut s, "SELECT id FROM books WHERE id <> 1 AND 10 / (id - 1) > 3"),
        [[i(2)], [i(3)]]
    );
    // HAVING without GROUP BY makes one group; GROUP BY a position or an alias.
    assert_eq!(rows(&mut s, "SELECT count(*) FROM books HAVING count(*) > 3"), [[i(4)]]);
    assert_eq!(
        rows(&mut s, "SELECT year IS NULL AS unknown, count(*) FROM books GROUP BY 1 ORDER BY 1"),
        [[Value::Boolean(false), i(3)], [Value::Boolean(true), i(1)]]
    );
    assert_eq!(
        rows(&mut s, "SELECT author AS who, count(*) FROM books GROUP BY who ORDER BY who LIMIT 1"),
        [[t("Austen".into()), i(2)]]
    );
    // INSERT without a column list may stop early; text and floats are converted for the column.
    s.execute("INSERT INTO books VALUES (5, 'Short'); INSERT INTO books (id, title, year) VALUES ('6', 'Cast', 1999.5)");
    assert_eq!(
        rows(&mut s, "SELECT author, year FROM books WHERE id = 5"),
        [[Value::Null, Value::Null]]
    );
    assert_eq!(rows(&mut s, "SELECT year FROM books WHERE id = 6"), [[i(2000)]]);
    assert_eq!(rows(&mut s, "SELECT price FROM books WHERE id = 3"), [[f(5.0)]]);
    // LIMIT ALL is no limit; a deep but allowed expression evaluates.
    assert_eq!(rows(&mut s, "SELECT id FROM books LIMIT ALL").len(), 6);
    let long = format!("SELECT 0{}", " + 1".repeat(150));
    assert_eq!(value(&mut s, &long["SELECT ".len()..]), i(150));
}

#[test]
fn the_repl_recovers_from_any_bad_line() {
    let mut s = session();
    let out = transcript(
        &mut s,
        "SELECT 1 ? 2;\nSELECT 'unfinished\n';\nSELECT 1 +\n\\r\nSELECT 2;\n\\q",
    );
    assert!(out.contains("unexpected character '?'"), "{out}");
    assert!(out.contains("\n unfinished\n"), "{out}");
    assert!(out.contains("Query buffer reset"), "{out}");
    assert!(out.contains("?column?\n----------\n        2"), "{out}");
    assert!(s.is_closed());
}

#[test]
fn create_index_and_concurrent_writes_cannot_both_commit() {
    let db = Db::open(BTree::in_memory(1024)).unwrap();
    let (mut a, mut b) = (Session::new(db.clone()), Session::new(db));
    a.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, x INTEGER); INSERT INTO t VALUES (1, 5)");
    // The index is built from A's snapshot; B's row comes after it.
    a.execute("BEGIN; CREATE INDEX t_x ON t (x)");
    assert!(b.execute("INSERT INTO t VALUES (2, 5)").remove(0).is_ok());
    assert_eq!(a.execute("COMMIT").remove(0).unwrap_err().code, "40001");
    // The other way round: B's transaction wrote rows under the old schema.
    b.execute("BEGIN; INSERT INTO t VALUES (3, 5)");
    assert!(a.execute("CREATE INDEX t_x ON t (x)").remove(0).is_ok());
    assert_eq!(b.execute("COMMIT").remove(0).unwrap_err().code, "40001");
    // Retried, the insert keeps the index: both paths find the same rows.
    b.execute("INSERT INTO t VALUES (3, 5)").remove(0).unwrap();
    let count = |s: &mut Session<MemStore>| rows(s, "SELECT count(*) FROM t WHERE x >= 5");
    let indexed = count(&mut a);
    a.execute("SET enable_indexscan = off");
    assert_eq!(count(&mut a), indexed);
    assert_eq!(indexed, [[Value::Integer(3)]]);
    // Statistics of a table replaced meanwhile would describe another
    // table (fewer columns than it has): ANALYZE's commit fails instead.
    a.execute("BEGIN; ANALYZE t");
    for done in b.execute(
        "DROP TABLE t; CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER, b INTEGER, c INTEGER)",
    ) {
        done.unwrap();
    }
    assert_eq!(a.execute("COMMIT").remove(0).unwrap_err().code, "40001");
}

#[test]
fn float_index_ranges_match_a_scan_at_the_edges() {
    let mut s = session();
    s.execute(
        "CREATE TABLE f (id INTEGER PRIMARY KEY, x FLOAT); CREATE INDEX f_x ON f (x);
         INSERT INTO f VALUES (1, 9007199254740992), (2, 9007199254740996), (3, 'NaN'),
                              (4, -0.0), (5, 6), (6, 'Infinity')",
    );
    for condition in
        ["x < 9007199254740993", "x > 9007199254740995", "x > 5", "x = 0", "x >= 6", "x <= -1"]
    {
        let query = format!("SELECT id FROM f WHERE {condition} ORDER BY id");
        s.execute("SET enable_seqscan = off");
        let indexed = rows(&mut s, &query);
        s.execute("SET enable_seqscan = on; SET enable_indexscan = off");
        assert_eq!(indexed, rows(&mut s, &query), "{condition}");
        s.execute("SET enable_indexscan = on");
    }
    // Infinities and NaN are left out of the statistics (JSON has none),
    // and the table stays usable.
    assert!(s.execute("ANALYZE f").remove(0).is_ok());
    assert_eq!(
        rows(&mut s, "SELECT count(*) FROM f WHERE x > 5"),
        [[Value::Integer(5)]],
        "NaN is above every number"
    );
}

#[test]
fn tables_indexes_and_primary_keys_share_one_namespace() {
    let mut s = session();
    s.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, x INTEGER); CREATE INDEX t_x ON t (x)");
    for sql in [
        "CREATE INDEX t_pkey ON t (x)",
        "CREATE INDEX t ON t (x)",
        "CREATE INDEX t_x ON t (id)",
        "CREATE TABLE t_x (id INTEGER PRIMARY KEY)",
    ] {
        assert_eq!(s.execute(sql).remove(0).unwrap_err().code, "42P07", "{sql}");
    }
}
