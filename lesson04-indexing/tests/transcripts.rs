//! Scripted sessions of the binary's line handler, snapshotted for the book.
//!
//! Script lines: a command (printed after `kv> `, then its reply);
//! `# comment`; `@start btree PAGE_SIZE`, `@start bitcask SEGMENT_BYTES` or
//! `@start documents`
//! (open the engine in the data directory and print the open report the
//! binary prints); `@stop` (close it); `@ls` (list the data directory);
//! `@cut` (start a new part: each part is a snapshot of its own, for the
//! book to show with its own commentary).

use std::path::Path;

use lesson02_kv::repl::transcript_line;
use lesson04_indexing::Session;
use lesson04_indexing::bitcask::{Bitcask, BitcaskOptions};
use lesson04_indexing::btree::{self, BTree, FileStore};
use lesson04_indexing::document::{DocSession, DocStore};

enum Open {
    BTree(Box<Session<BTree<FileStore>>>),
    Bitcask(Box<Session<Bitcask>>),
    Documents(Box<DocSession<FileStore>>),
}

fn transcript(dir: &Path, script: &str) -> String {
    transcript_parts(dir, script).concat()
}

fn transcript_parts(dir: &Path, script: &str) -> Vec<String> {
    let mut session: Option<Open> = None;
    let mut parts = Vec::new();
    let mut out = String::new();
    for line in script.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if line == "@cut" {
            parts.push(std::mem::take(&mut out));
            continue;
        }
        if line.starts_with('#') {
            out.push_str(line);
        } else if let Some(how) = line.strip_prefix("@start ") {
            let words: Vec<&str> = how.split_whitespace().collect();
            match words[..] {
                ["btree", page_size] => {
                    let page_size = page_size.parse().unwrap();
                    let options = btree::Options { page_size, ..btree::Options::default() };
                    let (tree, report) = BTree::open(dir, options).unwrap();
                    out.push_str(&format!(
                        "$ lesson04-indexing --engine btree --data-dir data --page-size {page_size}\n{report}"
                    ));
                    session = Some(Open::BTree(Box::new(Session::new(tree))));
                }
                ["bitcask", segment_bytes] => {
                    let max_segment_bytes = segment_bytes.parse().unwrap();
                    let options = BitcaskOptions { max_segment_bytes, ..BitcaskOptions::default() };
                    let (store, report) = Bitcask::open(dir, options).unwrap();
                    out.push_str(&format!(
                        "$ lesson04-indexing --engine bitcask --data-dir data --segment-bytes {segment_bytes}\n{report}"
                    ));
                    session = Some(Open::Bitcask(Box::new(Session::new(store))));
                }
                ["documents"] => {
                    let (tree, report) = BTree::open(dir, btree::Options::default()).unwrap();
                    out.push_str(&format!(
                        "$ lesson04-indexing --engine documents --data-dir data\n{report}"
                    ));
                    session = Some(Open::Documents(Box::new(DocSession::new(
                        DocStore::open(tree).unwrap(),
                    ))));
                }
                _ => panic!("unknown @start {how}"),
            }
        } else if line == "@ls" {
            let mut names: Vec<String> = std::fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n != "LOCK")
                .collect();
            names.sort();
            out.push_str(&format!("$ ls data\n{}", names.join("  ")));
        } else if line == "@stop" {
            session = None;
            out.push_str("-- the process exits --");
        } else {
            match session.as_mut().expect("@start first") {
                Open::BTree(s) => out.push_str(&transcript_line(s.as_mut(), line)),
                Open::Bitcask(s) => out.push_str(&transcript_line(s.as_mut(), line)),
                Open::Documents(s) => out.push_str(&transcript_line(s.as_mut(), line)),
            }
        }
        out.push('\n');
    }
    parts.push(out);
    parts
}

// ANCHOR: grow
#[test]
fn btree_grows_and_shrinks() {
    let tmp = tempfile::tempdir().unwrap();
    let script = r#"
        @start btree 64
        # 64-byte pages: a leaf holds five of these keys.
        SET ant 1
        SET bee 2
        SET cat 3
        SET dog 4
        SET eel 5
        DEBUG TREE
        # A sixth key does not fit: the leaf splits in two, and a new root
        # above them holds the right half's first key.
        SET fox 6
        DEBUG TREE
        SET gnu 7
        SET hen 8
        SET jay 9
        SET kid 1
        SET owl 2
        DEBUG TREE
        @cut
        SET pig 3
        SET ram 4
        SET sow 5
        SET yak 6
        SET emu 7
        SET elk 8
        # The root split too: the tree is one level taller, every leaf still
        # at the same depth.
        DEBUG TREE
        INFO
        @cut
        # "kid" is left alone in its leaf, under a quarter full: it merges with
        # its sibling. Their parent, left with one child, merges with its own
        # sibling, and the root, left with one child, gives way to it.
        DEL owl pig
        DEBUG TREE
        # "cat" alone is under a quarter full too, but with its sibling's five
        # keys it would not fit in one page: the two share their keys out
        # evenly instead (it borrows), and their separator in the root changes.
        DEL ant bee
        DEBUG TREE
        DEL cat dog eel elk emu fox gnu hen jay
        DEBUG TREE
        INFO
    "#;
    let parts = transcript_parts(tmp.path(), script);
    assert_eq!(parts.len(), 3);
    insta::assert_snapshot!("btree_grows", parts[0]);
    insta::assert_snapshot!("btree_root_splits", parts[1]);
    insta::assert_snapshot!("btree_shrinks", parts[2]);
}
// ANCHOR_END: grow

#[test]
fn btree_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let script = r#"
        @start btree 4096
        SET user:1 ada
        SET user:2 grace
        SET user:3 edsger
        INCR visits
        SCAN user: user;
        SET session:1 token EX 60
        TTL user:1
        QUIT
        @stop
        # A new process, the same file: the newest meta page says where the root is.
        @start btree 4096
        GET user:2
        SCAN "" ""
        KEYS user:*
        FLUSHALL
        DBSIZE
        @stop
        @start btree 4096
        DBSIZE
    "#;
    insta::assert_snapshot!("btree_restart", transcript(tmp.path(), script));
}

#[test]
fn help() {
    let tmp = tempfile::tempdir().unwrap();
    let script =
        "@start btree 4096\nHELP SCAN\nHELP MERGE\nHELP INFO\nHELP DEBUG\nSCAN a\nDEBUG KEYDIR";
    insta::assert_snapshot!("help", transcript(tmp.path(), script));
}

// ANCHOR: bitcask
#[test]
fn bitcask_segments_merge_and_hints() {
    let tmp = tempfile::tempdir().unwrap();
    let script = r#"
        @start bitcask 64
        # 64-byte segments: a few records each.
        SET user:1 ada
        SET user:2 grace
        SET user:1 ada-lovelace
        SET visits 1
        INCR visits
        INCR visits
        DEL user:2
        SET user:3 edsger
        # The keydir: where each key's latest record is. Nothing else of
        # the older records is in memory.
        DEBUG KEYDIR
        INFO
        @ls
        # MERGE rewrites every segment without the stale records, with a
        # hint file (keys and locations, no values) beside each new one.
        MERGE
        DEBUG KEYDIR
        @ls
        @stop
        # A new process: the keydir comes back from the hint file, without
        # reading a single value.
        @start bitcask 64
        GET user:1
        SCAN "" ""
        EXPIRE user:1 10
    "#;
    insta::assert_snapshot!("bitcask_segments_merge_and_hints", transcript(tmp.path(), script));
}
// ANCHOR_END: bitcask

// ANCHOR: documents
#[test]
fn documents() {
    let tmp = tempfile::tempdir().unwrap();
    let script = r#"
        @start documents
        INSERT users {"name": "ada", "age": 36, "address": {"city": "London"}}
        INSERT users {"name": "grace", "age": 45, "tags": ["navy", "cobol"]}
        INSERT users {"_id": "edsger", "name": "edsger", "age": 72}
        INSERT users {"name": "barbara", "age": 45}
        INSERT users {"_id": 1, "name": "impostor"}
        FIND users {"age": 45}
        FIND users {"age": {"$gte": 40, "$lt": 70}} SORT name
        FIND users {"address.city": "London"}
        FIND users {"tags": "cobol"}
        FIND users {} SORT age DESC LIMIT 2
        COUNT users {"age": {"$in": [36, 72]}}
        UPDATE users {"name": "ada"} {"$set": {"age": 37, "address.country": "UK"}}
        DELETE users {"age": {"$gt": 70}}
        # Bad input gets an error, and nothing is written.
        FIND users {"age": {"$regex": "4.*"}}
        UPDATE users {} {"age": 0}
        INSERT users {"name": "eve"
        COUNT users
        @stop
        # A new process: the documents are entries of the B+tree's file.
        @start documents
        FIND users
    "#;
    insta::assert_snapshot!("documents", transcript(tmp.path(), script));
}
// ANCHOR_END: documents

// ANCHOR: indexes
#[test]
fn indexes_and_explain() {
    let tmp = tempfile::tempdir().unwrap();
    let script = r#"
        @start documents
        INSERT users {"name": "ada", "age": 36, "tags": ["math", "engines"]}
        INSERT users {"name": "grace", "age": 45, "tags": ["navy", "cobol"]}
        INSERT users {"name": "edsger", "age": 72}
        INSERT users {"name": "barbara", "age": 45, "tags": ["clu"]}
        INSERT users {"name": "ken", "age": 81, "tags": ["unix", "go"]}
        INSERT users {"name": "frances", "age": 89}
        # Without an index, every query reads every document.
        EXPLAIN FIND users {"age": 45}
        CREATE INDEX users age
        EXPLAIN FIND users {"age": 45}
        EXPLAIN FIND users {"age": {"$gte": 40, "$lt": 80}}
        FIND users {"age": {"$gte": 40, "$lt": 80}}
        # A sort on an indexed field walks the index: no sort step, and the
        # limit stops the walk early.
        EXPLAIN FIND users {} SORT age DESC LIMIT 2
        FIND users {} SORT age DESC LIMIT 2
        # The index narrows the documents; the filter still decides.
        EXPLAIN FIND users {"age": 45, "name": "barbara"}
        CREATE INDEX users tags hash
        EXPLAIN FIND users {"tags": "cobol"}
        FIND users {"tags": "cobol"}
        # A hash index has no order: a range on it reads everything.
        EXPLAIN FIND users {"tags": {"$gt": "c"}}
        INDEXES users
        @stop
        # A new process: the btree index is in the file; the hash index is
        # rebuilt from the documents as the store opens.
        @start documents
        EXPLAIN FIND users {"tags": "unix"}
        DROP INDEX users age
        EXPLAIN FIND users {"age": 45}
    "#;
    insta::assert_snapshot!("indexes", transcript(tmp.path(), script));
}
// ANCHOR_END: indexes

// ANCHOR: search
#[test]
fn search() {
    let tmp = tempfile::tempdir().unwrap();
    let script = r#"
        @start documents
        INSERT notes {"title": "wal", "text": "A log of changes, written before the pages: the write-ahead log."}
        INSERT notes {"title": "group", "text": "Group commit: many writers share one fsync of the log."}
        INSERT notes {"title": "fsync", "text": "fsync makes a write durable. Without fsync, a power cut loses the write."}
        INSERT notes {"title": "btree", "text": "A B+tree commit writes new pages, then the meta page: no log at all."}
        INSERT notes {"title": "groups", "text": "Groups of pages, and a group of logs, commit nothing."}
        CREATE SEARCH INDEX notes text
        SEARCH notes log
        SEARCH notes fsync write
        SEARCH notes group AND commit
        SEARCH notes "group commit"
        SEARCH notes commit LIMIT 1
        SEARCH notes the
        SEARCH notes "group commit
        @stop
        # The postings are in memory: a new process rebuilds them from the documents.
        @start documents
        INDEXES notes
        SEARCH notes "meta page"
    "#;
    insta::assert_snapshot!("search", transcript(tmp.path(), script));
}
// ANCHOR_END: search
