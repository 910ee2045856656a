//! Full-text search, Elasticsearch's (Lucene's) way: an inverted index with
//! positions, and BM25 ranking.
//!
//! ```text
//!   text ──tokenize──► ["group", "commit", "lets", "writers", "share", …]
//!
//!   inverted index: term → postings (document, positions of the term in it)
//!     "commit"  → [(doc 3, [1, 17]), (doc 9, [40])]
//!     "group"   → [(doc 3, [0, 16]), (doc 5, [2])]
//!
//!   query "group commit"   → documents with either term, ranked by BM25
//!   query group AND commit → documents with both
//!   query "\"group commit\"" (a phrase) → both terms, at consecutive positions
//! ```
//!
//! **BM25**, as Lucene computes it (k1 = 1.2, b = 0.75), scores a document
//! for a term that occurs `tf` times in it:
//!
//! ```text
//!   idf   = ln(1 + (N − n + 0.5) / (n + 0.5))        N documents, n of them with the term
//!   score = idf · tf · (k1 + 1) / (tf + k1 · (1 − b + b · dl / avgdl))
//! ```
//!
//! where `dl` is the document's length in terms and `avgdl` the average. A
//! rare term weighs more (idf); more occurrences help, with diminishing
//! returns (tf saturates); long documents are discounted (b). A document's
//! score is the sum over the query's terms; a phrase counts as one term
//! whose occurrences are the phrase's, and whose idf is the sum of its
//! words' idfs (as Lucene's phrase queries do).
//!
//! NB: the postings live in memory and are rebuilt from the documents when
//! the store opens (the chapter measures what that costs); a real engine
//! writes them to disk, compressed, in immutable segments it merges.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use hashbrown::HashMap;

use serde_json::Value;

use crate::document::filter::lookup;

/// BM25's term-frequency saturation.
pub const K1: f64 = 1.2;
/// BM25's length normalisation.
pub const B: f64 = 0.75;

/// Words too common to be worth indexing (a short English list).
pub const STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "in", "is", "it", "of", "on",
    "or", "that", "the", "this", "to", "was", "with",
];

// ANCHOR: tokenize
/// The terms of `text`, in order: lower-cased runs of letters and digits
/// (any script: Unicode's notion), without stop words if `stop_words`.
pub fn tokenize(text: &str, stop_words: bool) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
        .filter(|word| !stop_words || !STOP_WORDS.contains(&word.as_str()))
        .collect()
}
// ANCHOR_END: tokenize

/// Where a term occurs in one document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posting {
    /// The document, by its `_id`'s encoding.
    pub document: Vec<u8>,
    /// The term's positions in it, ascending.
    pub positions: Vec<u32>,
}

/// An inverted index over one text field of a collection.
#[derive(Debug, Clone, Default)]
pub struct SearchIndex {
    /// The indexed field's dotted path, as written.
    pub field: String,
    path: Vec<String>,
    /// Term → the documents that contain it, in the order they were added.
    postings: HashMap<String, Vec<Posting>>,
    /// Each document's length in terms.
    lengths: HashMap<Vec<u8>, u32>,
    /// The sum of the lengths.
    total_length: u64,
}

/// One part of a query: a term, or a phrase of consecutive terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Clause {
    /// One term.
    Term(String),
    /// Terms at given offsets from the phrase's start (stop words are not
    /// indexed, but still take their place: "group of commits").
    Phrase(Vec<(u32, String)>),
}

/// A parsed query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// The clauses.
    pub clauses: Vec<Clause>,
    /// Whether every clause must match (AND), or any (OR, the default).
    pub all: bool,
}

impl Query {
    /// Parses `text`: words, `"quoted phrases"`, and `AND` or `OR` between
    /// them (one or the other; OR if neither).
    pub fn parse(text: &str) -> Result<Query, String> {
        let mut clauses = Vec::new();
        let (mut and, mut or) = (false, false);
        for (i, part) in text.split('"').enumerate() {
            if i % 2 == 1 {
                let terms: Vec<(u32, String)> = tokenize(part, false)
                    .into_iter()
                    .enumerate()
                    .filter(|(_, t)| !STOP_WORDS.contains(&t.as_str()))
                    .map(|(at, t)| (at as u32, t))
                    .collect();
                if !terms.is_empty() {
                    clauses.push(Clause::Phrase(terms));
                }
                continue;
            }
            for word in part.split_whitespace() {
                match word {
                    "AND" => and = true,
                    "OR" => or = true,
                    word => clauses.extend(tokenize(word, true).into_iter().map(Clause::Term)),
                }
            }
        }
        if text.matches('"').count() % 2 == 1 {
            return Err("a phrase is missing its closing quote".into());
        }
        if and && or {
            return Err("use AND or OR between all the terms, not both".into());
        }
        if clauses.is_empty() {
            return Err("the query has no terms to search for".into());
        }
        Ok(Query { clauses, all: and })
    }
}

/// A search result.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// The document, by its `_id`'s encoding.
    pub document: Vec<u8>,
    /// Its BM25 score.
    pub score: f64,
}

impl SearchIndex {
    /// An empty index on `field`.
    pub fn new(field: &str) -> Self {
        Self {
            field: field.to_string(),
            path: field.split('.').map(str::to_string).collect(),
            ..Self::default()
        }
    }

    /// How many documents it holds.
    pub fn len(&self) -> usize {
        self.lengths.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.lengths.is_empty()
    }

    // ANCHOR: add
    /// Indexes `document` (its field, if it is a string) under `id`. Stop
    /// words are left out, but keep their positions, so that a phrase does
    /// not match across them.
    pub fn add(&mut self, id: &[u8], document: &Value) {
        let Some(Value::String(text)) = lookup(document, &self.path) else { return };
        let words = tokenize(text, false);
        let mut positions: HashMap<&str, Vec<u32>> = HashMap::new();
        for (position, word) in words.iter().enumerate() {
            if !STOP_WORDS.contains(&word.as_str()) {
                positions.entry(word).or_default().push(position as u32);
            }
        }
        let terms: Vec<&String> =
            words.iter().filter(|w| !STOP_WORDS.contains(&w.as_str())).collect();
        for (term, positions) in positions {
            let posting = Posting { document: id.to_vec(), positions };
            self.postings.entry(term.to_string()).or_default().push(posting);
        }
        self.lengths.insert(id.to_vec(), terms.len() as u32);
        self.total_length += terms.len() as u64;
    }
    // ANCHOR_END: add

    /// Forgets `document`, indexed under `id`.
    pub fn remove(&mut self, id: &[u8], document: &Value) {
        let Some(length) = self.lengths.remove(id) else { return };
        self.total_length -= u64::from(length);
        if let Some(Value::String(text)) = lookup(document, &self.path) {
            for term in tokenize(text, true) {
                if let Some(postings) = self.postings.get_mut(&term) {
                    postings.retain(|p| p.document != id);
                    if postings.is_empty() {
                        self.postings.remove(&term);
                    }
                }
            }
        }
    }

    // ANCHOR: bm25
    /// BM25's idf for a term that `n` of the index's documents contain.
    pub fn idf(&self, n: usize) -> f64 {
        let (total, n) = (self.len() as f64, n as f64);
        (1.0 + (total - n + 0.5) / (n + 0.5)).ln()
    }

    /// BM25 for a term (or phrase) of weight `idf` occurring `tf` times in
    /// a document of `length` terms.
    pub fn bm25(&self, idf: f64, tf: u32, length: u32) -> f64 {
        // exercise 4.7: begin
        let average = self.total_length as f64 / self.len().max(1) as f64;
        let tf = f64::from(tf);
        let norm = K1 * (1.0 - B + B * f64::from(length) / average.max(f64::MIN_POSITIVE));
        idf * tf * (K1 + 1.0) / (tf + norm)
        // exercise 4.7: end
    }
    // ANCHOR_END: bm25

    // ANCHOR: search
    /// The best `limit` documents for `query`, best first (ties by id).
    pub fn search(&self, query: &Query, limit: usize) -> Vec<Hit> {
        // Each clause's matches: document → occurrences, and the clause's idf.
        let mut scores: HashMap<&[u8], (f64, usize)> = HashMap::new();
        for clause in &query.clauses {
            let (matches, idf) = self.clause_matches(clause);
            for (document, tf) in matches {
                let length = self.lengths[document];
                let entry = scores.entry(document).or_default();
                entry.0 += self.bm25(idf, tf, length);
                entry.1 += 1;
            }
        }
        // The top `limit` with a min-heap of that size: O(n log limit).
        let mut heap = BinaryHeap::new();
        for (document, (score, clauses)) in scores {
            if query.all && clauses < query.clauses.len() {
                continue;
            }
            heap.push(Ranked(Hit { document: document.to_vec(), score }));
            if heap.len() > limit {
                heap.pop();
            }
        }
        let mut hits: Vec<Hit> = heap.into_iter().map(|r| r.0).collect();
        hits.sort_by(better);
        hits
    }
    // ANCHOR_END: search

    /// The documents a clause matches, with its occurrences in each, and
    /// the clause's idf.
    fn clause_matches(&self, clause: &Clause) -> (Vec<(&[u8], u32)>, f64) {
        let postings = |term: &str| self.postings.get(term).map_or(&[][..], Vec::as_slice);
        match clause {
            Clause::Term(term) => {
                let list = postings(term);
                let matches =
                    list.iter().map(|p| (p.document.as_slice(), p.positions.len() as u32));
                (matches.collect(), self.idf(list.len()))
            }
            Clause::Phrase(terms) => {
                let idf = terms.iter().map(|(_, t)| self.idf(postings(t).len())).sum();
                // For the other terms: document → positions, to look up in O(1).
                let others: Vec<(u32, PositionsOf<'_>)> = terms[1..]
                    .iter()
                    .map(|(offset, term)| {
                        let positions = postings(term)
                            .iter()
                            .map(|p| (p.document.as_slice(), p.positions.as_slice()))
                            .collect();
                        (*offset, positions)
                    })
                    .collect();
                // Each place the first term is, the others must be at their
                // offsets from the phrase's start.
                let (first_offset, first_term) = &terms[0];
                let mut matches = Vec::new();
                for first in postings(first_term) {
                    let document = first.document.as_slice();
                    let count = first
                        .positions
                        .iter()
                        .filter(|&&at| at >= *first_offset)
                        .filter(|&&at| {
                            let start = at - first_offset;
                            others.iter().all(|(offset, positions)| {
                                positions
                                    .get(document)
                                    .is_some_and(|p| p.binary_search(&(start + offset)).is_ok())
                            })
                        })
                        .count();
                    if count > 0 {
                        matches.push((document, count as u32));
                    }
                }
                (matches, idf)
            }
        }
    }
}

/// A term's positions in each document that holds it.
type PositionsOf<'a> = HashMap<&'a [u8], &'a [u32]>;

/// Higher score first; equal scores by document id.
fn better(a: &Hit, b: &Hit) -> Ordering {
    b.score.total_cmp(&a.score).then_with(|| a.document.cmp(&b.document))
}

/// A hit ordered so that the heap's top is the *worst* kept hit.
struct Ranked(Hit);

impl PartialEq for Ranked {
    fn eq(&self, other: &Self) -> bool {
        better(&self.0, &other.0) == Ordering::Equal
    }
}
impl Eq for Ranked {}
impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> Ordering {
        better(&self.0, &other.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn index(texts: &[&str]) -> SearchIndex {
        let mut index = SearchIndex::new("text");
        for (i, text) in texts.iter().enumerate() {
            index.add(&[i as u8], &json!({ "text": text }));
        }
        index
    }

    fn ids(hits: &[Hit]) -> Vec<u8> {
        hits.iter().map(|h| h.document[0]).collect()
    }

    #[test]
    fn tokens_are_lower_case_unicode_words_without_stop_words() {
        assert_eq!(
            tokenize("The Log's fsync, and Ünïcode-words 42!", true),
            ["log", "s", "fsync", "ünïcode", "words", "42"]
        );
        assert_eq!(tokenize("the", false), ["the"]);
    }

    // ANCHOR: by_hand
    #[test]
    fn bm25_by_hand_for_three_documents() {
        let index = index(&["log log page", "page tree", "tree tree tree tree"]);
        // N = 3 documents, lengths 3, 2, 4: avgdl = 3.
        // "log" is in 1 document: idf = ln(1 + (3 - 1 + 0.5) / (1 + 0.5)) = ln(8/3).
        let idf = (8.0f64 / 3.0).ln();
        // Document 0: tf = 2, dl = 3 = avgdl, so the norm is k1 = 1.2:
        // 2 · 2.2 / (2 + 1.2) = 1.375.
        let want = idf * 1.375;
        let hits = index.search(&Query::parse("log").unwrap(), 10);
        assert_eq!(ids(&hits), [0]);
        assert!((hits[0].score - want).abs() < 1e-12, "{} vs {want}", hits[0].score);
        // "tree": in 2 documents, idf = ln(1 + 1.5 / 2.5) = ln(1.6).
        // Document 1: tf 1, dl 2: 1 · 2.2 / (1 + 1.2 · (0.25 + 0.75 · 2/3)) = 2.2 / 1.9.
        // Document 2: tf 4, dl 4: 4 · 2.2 / (4 + 1.2 · (0.25 + 0.75 · 4/3)) = 8.8 / 5.5.
        let hits = index.search(&Query::parse("tree").unwrap(), 10);
        assert_eq!(ids(&hits), [2, 1], "more occurrences win, with diminishing returns");
        assert!((hits[0].score - 1.6f64.ln() * 8.8 / 5.5).abs() < 1e-12);
        assert!((hits[1].score - 1.6f64.ln() * 2.2 / 1.9).abs() < 1e-12);
    }
    // ANCHOR_END: by_hand

    #[test]
    fn or_and_phrases_and_top_k() {
        let index = index(&[
            "group commit shares one fsync",
            "commit the group later",
            "a group of commits",
            "commit",
        ]);
        assert_eq!(ids(&index.search(&Query::parse("group commit").unwrap(), 10)).len(), 4);
        // Both have both terms; the shorter document ranks first.
        assert_eq!(ids(&index.search(&Query::parse("group AND commit").unwrap(), 10)), [1, 0]);
        assert_eq!(ids(&index.search(&Query::parse("\"group commit\"").unwrap(), 10)), [0]);
        assert_eq!(ids(&index.search(&Query::parse("\"group of commits\"").unwrap(), 10)), [2]);
        assert!(
            index.search(&Query::parse("\"group commits\"").unwrap(), 10).is_empty(),
            "\"of\" keeps its place"
        );
        assert_eq!(index.search(&Query::parse("group commit").unwrap(), 2).len(), 2);
        assert!(Query::parse("\"open").is_err());
        assert!(Query::parse("a AND b OR c").is_err());
        assert!(Query::parse("the").is_err(), "stop words alone search nothing");
    }

    #[test]
    fn removing_a_document_forgets_it() {
        let mut index = index(&["alpha beta", "beta"]);
        index.remove(&[0], &json!({"text": "alpha beta"}));
        assert!(index.search(&Query::parse("alpha").unwrap(), 10).is_empty());
        assert_eq!(ids(&index.search(&Query::parse("beta").unwrap(), 10)), [1]);
        assert_eq!(index.len(), 1);
    }
}
