//! The search family (Elasticsearch, Lucene, Solr): text is cut into words
//! (tokens), and an inverted index maps each word to the ids of the records
//! that contain it. A query is a set of words; the answer is the records that
//! contain them.
//!
//! ```text
//!   "guin"    → {1, 3, 5}        a posting list: ids of books with that word
//!   "planet"  → {2, 3, 5}
//!   "wizard"  → {1}
//!   query "le guin" = postings("le") ∩ postings("guin")
//! ```
//!
//! Words are indexed wherever they occur (here: title, author, blurb), so a
//! reader can find a book without knowing which field to ask. NB: a real
//! engine also stems words, ranks answers by relevance (BM25, lesson 4) and
//! keeps posting lists compressed on disk.

use std::collections::{BTreeMap, BTreeSet};

use super::{BOOKS, author};

// ANCHOR: index
/// Cuts text into lower-case words: runs of letters and digits.
pub fn tokenize(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase)
}

/// An inverted index: word → the ids of the books that contain it.
pub fn inverted_index() -> BTreeMap<String, BTreeSet<u32>> {
    // exercise 1.3: begin
    let mut index: BTreeMap<String, BTreeSet<u32>> = BTreeMap::new();
    for book in BOOKS {
        let name = author(book.author_id).map_or("", |a| a.name);
        for word in tokenize(book.title).chain(tokenize(name)).chain(tokenize(book.blurb)) {
            index.entry(word).or_default().insert(book.id);
        }
    }
    index
    // exercise 1.3: end
}

/// The ids of the books that contain every word of `query`.
pub fn search(index: &BTreeMap<String, BTreeSet<u32>>, query: &str) -> BTreeSet<u32> {
    // exercise 1.3: begin
    let mut postings = tokenize(query).map(|word| index.get(&word).cloned().unwrap_or_default());
    let first = postings.next().unwrap_or_default();
    postings.fold(first, |acc, next| &acc & &next)
    // exercise 1.3: end
}
// ANCHOR_END: index

// ANCHOR: query
/// `GET books/_search { "query": { "multi_match": { "query": $1,
///   "fields": ["title", "author", "blurb"], "operator": "and" } } }`
pub fn books_by(name: &str) -> Vec<String> {
    let ids = search(&inverted_index(), name);
    BOOKS.iter().filter(|b| ids.contains(&b.id)).map(|b| b.title.to_string()).collect()
}
// ANCHOR_END: query

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenize_lowercases_and_drops_punctuation() {
        let words: Vec<_> = tokenize("Data-Intensive, B-trees & logs!").collect();
        assert_eq!(words, ["data", "intensive", "b", "trees", "logs"]);
    }

    #[test]
    fn postings_intersect_so_every_word_must_match() {
        let index = inverted_index();
        assert_eq!(search(&index, "planet"), BTreeSet::from([2, 3, 5]));
        assert_eq!(search(&index, "winter PLANET"), BTreeSet::from([3]));
        assert_eq!(search(&index, "planet unicorn"), BTreeSet::new());
        assert_eq!(search(&index, ""), BTreeSet::new());
    }

    #[test]
    fn search_finds_words_in_any_field() {
        let index = inverted_index();
        assert_eq!(search(&index, "storage engines"), BTreeSet::from([4, 6]));
        assert_eq!(search(&index, "herbert"), BTreeSet::from([2]));
    }
}
