//! The course's own book as a corpus: a search for "group commit" finds the
//! chapter that explains it first. The corpus is the book as far as this
//! lesson: later parts are later lessons' business (lesson 5 explains group
//! commit again, for a server), and must not change what this test finds.

use std::path::Path;

use lesson04_indexing::btree::BTree;
use lesson04_indexing::document::DocStore;
use serde_json::json;

fn chapters(dir: &Path, root: &Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let later = path
            .file_name()
            .and_then(|n| n.to_str()?.strip_prefix("lesson")?.parse::<u32>().ok())
            .is_some_and(|lesson| lesson > 4);
        // The table of contents is not a chapter: it names every chapter
        // of every lesson, later ones included. Nor are the rendered
        // measurements, which chapters include.
        let not_a_chapter = path.file_name().is_some_and(|n| n == "SUMMARY.md" || n == "measured");
        if later || not_a_chapter {
            continue;
        }
        if path.is_dir() {
            chapters(&path, root, out);
        } else if path.extension().is_some_and(|e| e == "md") {
            let name = path.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            out.push((name, std::fs::read_to_string(&path).unwrap()));
        }
    }
}

#[test]
fn searching_the_book_for_group_commit_finds_the_durability_chapter_first() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../book/src");
    let mut pages = Vec::new();
    chapters(&root, &root, &mut pages);
    pages.sort();
    assert!(pages.len() > 20, "the book has its chapters");
    let mut store = DocStore::open(BTree::in_memory(4096)).unwrap();
    for (name, text) in &pages {
        store.insert("book", json!({"_id": name, "text": text})).unwrap();
    }
    store.create_search_index("book", "text").unwrap();
    let hits = store.search("book", "\"group commit\"", 5).unwrap();
    let names: Vec<&str> = hits.iter().map(|(d, _)| d["_id"].as_str().unwrap()).collect();
    eprintln!("{names:?}");
    assert_eq!(names[0], "lesson03/durability.md", "{names:?}");
    // Scores come best first.
    assert!(hits.windows(2).all(|w| w[0].1 >= w[1].1));
}
