//! Sessions: BEGIN/COMMIT/ROLLBACK and MULTI/EXEC/WATCH, as a client sees
//! them; and the interleaved transcripts the book shows.

use lesson02_kv::Reply;
use lesson02_kv::repl::LineHandler;
use lesson04_indexing::btree::{BTree, MemStore};
use lesson06_advanced::mvcc::Db;
use lesson06_advanced::session::Session;

fn db() -> Db<MemStore> {
    Db::open(BTree::in_memory(512)).unwrap()
}

fn say(session: &mut Session<MemStore>, line: &str) -> Reply {
    session.handle_line(line.as_bytes()).expect("a reply")
}

/// Two sessions, A and B, on one store; each line of `script` is `A: …`
/// or `B: …`. Returns the transcript as the book prints it.
fn interleave(script: &str) -> String {
    let db = db();
    let mut a = Session::new(db.clone());
    let mut b = Session::new(db);
    let mut out = String::new();
    for line in script.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (who, command) = line.split_once(": ").expect("`A: command` or `B: command`");
        let session = if who == "A" { &mut a } else { &mut b };
        let reply = say(session, command).render();
        let pad = if who == "A" { "" } else { "                              " };
        out.push_str(&format!("{pad}{who}> {command}\n"));
        for reply_line in reply.lines() {
            out.push_str(&format!("{pad}{reply_line}\n"));
        }
    }
    out
}

#[test]
fn a_failed_command_changes_nothing_and_autocommit_commits_each() {
    let mut s = Session::new(db());
    assert_eq!(say(&mut s, "SET n 1"), Reply::ok());
    assert_eq!(say(&mut s, "SET s text"), Reply::ok());
    assert!(matches!(say(&mut s, "INCR s"), Reply::Error(_)));
    assert_eq!(say(&mut s, "GET s"), Reply::Bulk(b"text".to_vec()));
    assert_eq!(say(&mut s, "INCR n"), Reply::Integer(2));
}

#[test]
fn begin_commit_and_rollback() {
    let db = db();
    let (mut a, mut b) = (Session::new(db.clone()), Session::new(db.clone()));
    assert_eq!(say(&mut a, "COMMIT"), Reply::Error("ERR no transaction in progress".into()));
    assert_eq!(say(&mut a, "BEGIN"), Reply::Simple("BEGIN".into()));
    assert!(a.in_transaction());
    assert!(matches!(say(&mut a, "BEGIN"), Reply::Error(_)));
    say(&mut a, "SET k 1");
    assert_eq!(say(&mut b, "GET k"), Reply::Nil, "not committed yet");
    assert_eq!(say(&mut a, "ROLLBACK"), Reply::ok());
    assert_eq!(say(&mut a, "GET k"), Reply::Nil, "rolled back");
    say(&mut a, "BEGIN ISOLATION serializable");
    say(&mut a, "SET k 2");
    assert_eq!(say(&mut a, "COMMIT"), Reply::ok());
    assert_eq!(say(&mut b, "GET k"), Reply::Bulk(b"2".to_vec()));
    assert_eq!(db.running(), 0);
}

#[test]
fn dropping_a_session_rolls_its_transaction_back() {
    let db = db();
    let mut a = Session::new(db.clone());
    say(&mut a, "BEGIN");
    say(&mut a, "SET k 1");
    assert_eq!(db.running(), 1);
    drop(a);
    assert_eq!(db.running(), 0);
    assert_eq!(db.stats().rollbacks, 1);
}

#[test]
fn multi_queues_and_exec_runs_the_queue_atomically() {
    let db = db();
    let (mut a, mut b) = (Session::new(db.clone()), Session::new(db));
    assert_eq!(say(&mut a, "EXEC"), Reply::Error("ERR EXEC without MULTI".into()));
    assert_eq!(say(&mut a, "DISCARD"), Reply::Error("ERR DISCARD without MULTI".into()));
    assert_eq!(say(&mut a, "MULTI"), Reply::ok());
    assert!(matches!(say(&mut a, "MULTI"), Reply::Error(e) if e.contains("nested")));
    assert_eq!(say(&mut a, "SET x 1"), Reply::Simple("QUEUED".into()));
    assert_eq!(say(&mut a, "INCR x"), Reply::Simple("QUEUED".into()));
    assert_eq!(say(&mut a, "GET x"), Reply::Simple("QUEUED".into()));
    assert_eq!(say(&mut b, "GET x"), Reply::Nil, "queued, not run");
    assert_eq!(
        say(&mut a, "EXEC"),
        Reply::Array(vec![Reply::ok(), Reply::Integer(2), Reply::Bulk(b"2".to_vec())])
    );
    // A runtime error does not stop the others (Redis has no rollback).
    say(&mut a, "MULTI");
    say(&mut a, "SET y text");
    say(&mut a, "INCR y");
    say(&mut a, "SET z 1");
    let Reply::Array(replies) = say(&mut a, "EXEC") else { panic!("an array") };
    assert!(matches!(&replies[1], Reply::Error(e) if e.contains("not an integer")));
    assert_eq!(say(&mut b, "GET z"), Reply::Bulk(b"1".to_vec()));
    // A command refused while queueing aborts the whole EXEC.
    say(&mut a, "MULTI");
    say(&mut a, "SET w 1");
    assert!(matches!(say(&mut a, "SET"), Reply::Error(_)));
    assert!(matches!(say(&mut a, "EXEC"), Reply::Error(e) if e.starts_with("EXECABORT")));
    assert_eq!(say(&mut b, "GET w"), Reply::Nil);
    // DISCARD drops the queue.
    say(&mut a, "MULTI");
    say(&mut a, "SET w 1");
    assert_eq!(say(&mut a, "DISCARD"), Reply::ok());
    assert_eq!(say(&mut b, "GET w"), Reply::Nil);
}

// ANCHOR: watch
#[test]
fn exec_answers_a_null_array_when_a_watched_key_changed() {
    let db = db();
    let (mut a, mut b) = (Session::new(db.clone()), Session::new(db));
    say(&mut a, "SET balance 100");
    assert_eq!(say(&mut a, "WATCH balance"), Reply::ok());
    say(&mut b, "SET balance 50"); // another client changes it
    say(&mut a, "MULTI");
    say(&mut a, "SET balance 90");
    say(&mut a, "SET log spent-10");
    assert_eq!(say(&mut a, "EXEC"), Reply::NullArray);
    assert_eq!(say(&mut a, "GET balance"), Reply::Bulk(b"50".to_vec()), "nothing ran");
    assert_eq!(say(&mut a, "GET log"), Reply::Nil);
    // EXEC forgets the watches: the retry succeeds.
    say(&mut a, "WATCH balance");
    say(&mut a, "MULTI");
    say(&mut a, "SET balance 40");
    assert_eq!(say(&mut a, "EXEC"), Reply::Array(vec![Reply::ok()]));
    // UNWATCH forgets them too.
    say(&mut a, "WATCH balance");
    say(&mut b, "SET balance 0");
    say(&mut a, "UNWATCH");
    say(&mut a, "MULTI");
    say(&mut a, "GET balance");
    assert_eq!(say(&mut a, "EXEC"), Reply::Array(vec![Reply::Bulk(b"0".to_vec())]));
}
// ANCHOR_END: watch

#[test]
fn two_sessions_see_snapshots() {
    insta::assert_snapshot!(interleave(
        "A: SET alice 100
         A: BEGIN
         A: GET alice
         B: SET alice 50
         B: GET alice
         A: GET alice
         A: COMMIT
         A: GET alice"
    ));
}

#[test]
fn two_sessions_conflict_on_one_key() {
    insta::assert_snapshot!(interleave(
        "A: SET stock 10
         A: BEGIN
         B: BEGIN
         A: DECRBY stock 3
         B: DECRBY stock 4
         A: COMMIT
         B: COMMIT
         B: GET stock"
    ));
}

#[test]
fn two_sessions_write_skew_under_each_level() {
    insta::assert_snapshot!(interleave(
        "A: SET alice on
         A: SET bob on
         A: BEGIN ISOLATION snapshot
         B: BEGIN ISOLATION snapshot
         A: SCAN a c
         B: SCAN a c
         A: SET alice off
         B: SET bob off
         A: COMMIT
         B: COMMIT
         A: SCAN a c
         A: SET alice on
         A: SET bob on
         A: BEGIN ISOLATION serializable
         B: BEGIN ISOLATION serializable
         A: SCAN a c
         B: SCAN a c
         A: SET alice off
         B: SET bob off
         A: COMMIT
         B: COMMIT
         A: SCAN a c"
    ));
}

#[test]
fn two_sessions_watch_and_exec() {
    insta::assert_snapshot!(interleave(
        "A: SET seats 1
         A: WATCH seats
         A: GET seats
         B: DECR seats
         A: MULTI
         A: DECR seats
         A: EXEC
         A: GET seats"
    ));
}

#[test]
fn a_watched_key_deleted_is_seen_even_after_garbage_collection() {
    let db = db();
    let (mut a, mut b) = (Session::new(db.clone()), Session::new(db.clone()));
    say(&mut a, "SET seat 1");
    say(&mut a, "WATCH seat");
    say(&mut b, "DEL seat");
    // Commits and a vacuum that would collect the tombstone, were the
    // watch not holding the horizon back.
    say(&mut b, "SET other 1");
    say(&mut b, "VACUUM");
    assert_eq!(db.horizon(), 1, "the watch holds the horizon at its commit");
    say(&mut a, "MULTI");
    say(&mut a, "SET seat 99");
    assert_eq!(say(&mut a, "EXEC"), Reply::NullArray);
    assert_eq!(say(&mut a, "GET seat"), Reply::Nil);
    assert_eq!(db.running(), 0, "EXEC let the horizon go");
}

#[test]
fn deleting_an_absent_key_changes_nothing() {
    let db = db();
    let (mut a, mut b) = (Session::new(db.clone()), Session::new(db.clone()));
    say(&mut a, "SET x 1");
    let before = db.last_commit();
    say(&mut a, "WATCH ghost");
    assert_eq!(say(&mut b, "DEL ghost"), Reply::Integer(0));
    assert_eq!(db.last_commit(), before, "no commit for nothing");
    say(&mut a, "MULTI");
    say(&mut a, "SET y 1");
    assert_eq!(say(&mut a, "EXEC"), Reply::Array(vec![Reply::ok()]));
}

#[test]
fn keys_watched_before_begin_guard_its_commit() {
    let db = db();
    let (mut a, mut b) = (Session::new(db.clone()), Session::new(db));
    say(&mut a, "SET k 1");
    say(&mut a, "WATCH k");
    say(&mut a, "BEGIN");
    say(&mut b, "SET k 2");
    say(&mut a, "SET elsewhere 1");
    assert_eq!(say(&mut a, "COMMIT"), Reply::Error("ERR serialization failure, retry".into()));
    // The watches went with that transaction: the next EXEC is unguarded.
    say(&mut b, "SET k 3");
    say(&mut a, "MULTI");
    say(&mut a, "SET elsewhere 2");
    assert_eq!(say(&mut a, "EXEC"), Reply::Array(vec![Reply::ok()]));
}

#[test]
fn inside_multi_quit_works_and_transaction_commands_abort_the_exec() {
    let mut a = Session::new(db());
    assert_eq!(say(&mut a, "ROLLBACK"), Reply::Error("ERR no transaction in progress".into()));
    say(&mut a, "MULTI");
    assert!(matches!(say(&mut a, "BEGIN"), Reply::Error(_)));
    assert!(matches!(say(&mut a, "EXEC"), Reply::Error(e) if e.starts_with("EXECABORT")));
    say(&mut a, "MULTI");
    assert_eq!(say(&mut a, "QUIT"), Reply::ok());
    assert!(a.is_closed());
}
