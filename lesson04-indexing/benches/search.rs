//! Full-text search on a generated corpus: 50,000 documents of 50–150
//! words drawn from a Zipfian vocabulary of 20,000 words (seeded).
//!
//! - `index`: building the inverted index over the corpus (what the store
//!   also does at every open: the postings are not persisted).
//! - `query`: a one-term and a two-term query for the top 10, and a phrase.
//! - with `--features compare`, the same against tantivy (one indexing
//!   thread, an index in RAM), and the overlap of the two engines' top 10s.
//!
//! ```console
//! $ cargo bench -p lesson04-indexing --bench search
//! $ cargo bench -p lesson04-indexing --bench search --features compare
//! ```

// criterion's macros generate functions that cannot carry doc comments.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use lesson04_indexing::document::search::{Query, SearchIndex};
use serde_json::{Value, json};

const DOCUMENTS: usize = 50_000;
const VOCABULARY: usize = 20_000;

mod common;
use common::Rng;

/// Documents whose words follow Zipf's law: word `r` (from 1) is drawn with
/// probability proportional to 1/r, as in natural language.
fn corpus() -> Vec<(Vec<u8>, Value)> {
    let harmonic: Vec<f64> = (1..=VOCABULARY)
        .scan(0.0, |sum, r| {
            *sum += 1.0 / r as f64;
            Some(*sum)
        })
        .collect();
    let total = harmonic[VOCABULARY - 1];
    let mut rng = Rng(7);
    (0..DOCUMENTS)
        .map(|i| {
            let words = 50 + (rng.next() % 101) as usize;
            let text: Vec<String> = (0..words)
                .map(|_| {
                    let target = rng.unit() * total;
                    let rank = harmonic.partition_point(|&h| h < target);
                    format!("w{rank}")
                })
                .collect();
            ((i as u64).to_be_bytes().to_vec(), json!({ "text": text.join(" ") }))
        })
        .collect()
}

fn build(corpus: &[(Vec<u8>, Value)]) -> SearchIndex {
    let mut index = SearchIndex::new("text");
    for (id, document) in corpus {
        index.add(id, document);
    }
    index
}

fn search(c: &mut Criterion) {
    let corpus = corpus();
    let mut group = c.benchmark_group("search");
    group.sample_size(10).measurement_time(Duration::from_secs(8));
    group.bench_function("index 50,000 documents", |b| b.iter(|| black_box(build(&corpus))));
    let index = build(&corpus);
    group.sample_size(20).measurement_time(Duration::from_secs(3));
    for (name, text) in [
        ("one term (w100)", "w100"),
        ("two terms (w100 w2000)", "w100 w2000"),
        ("a common term (w1)", "w1"),
        ("a phrase (\"w1 w2\")", "\"w1 w2\""),
    ] {
        let query = Query::parse(text).unwrap();
        let run = || black_box(index.search(&query, 10));
        group.bench_function(format!("top 10, {name}"), |b| b.iter(run));
    }
    group.finish();
}

#[cfg(feature = "compare")]
mod tantivy_comparison {
    use super::*;
    use tantivy::collector::TopDocs;
    use tantivy::query::QueryParser;
    use tantivy::schema::{FAST, STORED, Schema, TEXT, Value as _};
    use tantivy::{Index, IndexWriter, TantivyDocument, doc};

    fn build(
        corpus: &[(Vec<u8>, Value)],
    ) -> (Index, tantivy::schema::Field, tantivy::schema::Field) {
        let mut schema = Schema::builder();
        let text = schema.add_text_field("text", TEXT);
        let id = schema.add_u64_field("id", STORED | FAST);
        let index = Index::create_in_ram(schema.build());
        let mut writer: IndexWriter = index.writer_with_num_threads(1, 200_000_000).unwrap();
        for (key, document) in corpus {
            let n = u64::from_be_bytes(key.as_slice().try_into().unwrap());
            writer.add_document(doc!(text => document["text"].as_str().unwrap(), id => n)).unwrap();
        }
        writer.commit().unwrap();
        (index, text, id)
    }

    pub(crate) fn compare(c: &mut Criterion) {
        let corpus = corpus();
        let mut group = c.benchmark_group("tantivy");
        group.sample_size(10).measurement_time(Duration::from_secs(8));
        group.bench_function("index 50,000 documents", |b| b.iter(|| black_box(build(&corpus))));
        let (index, text, id) = build(&corpus);
        let reader = index.reader().unwrap();
        let searcher = reader.searcher();
        let parser = QueryParser::for_index(&index, vec![text]);
        let ours = super::build(&corpus);
        group.sample_size(20).measurement_time(Duration::from_secs(3));
        for (name, q) in [
            ("one term (w100)", "w100"),
            ("two terms (w100 w2000)", "w100 w2000"),
            ("a common term (w1)", "w1"),
            ("a phrase (\"w1 w2\")", "\"w1 w2\""),
        ] {
            let query = parser.parse_query(q).unwrap();
            let top = TopDocs::with_limit(10).order_by_score();
            group.bench_function(format!("top 10, {name}"), |b| {
                b.iter(|| black_box(searcher.search(&query, &top).unwrap()));
            });
            // How many of tantivy's top 10 are in ours.
            let theirs: Vec<u64> = searcher
                .search(&query, &top)
                .unwrap()
                .into_iter()
                .map(|(_, address)| {
                    let document: TantivyDocument = searcher.doc(address).unwrap();
                    document.get_first(id).and_then(|v| v.as_u64()).unwrap()
                })
                .collect();
            let mine: Vec<u64> = ours
                .search(&Query::parse(q).unwrap(), 10)
                .into_iter()
                .map(|hit| u64::from_be_bytes(hit.document.as_slice().try_into().unwrap()))
                .collect();
            let shared = theirs.iter().filter(|d| mine.contains(d)).count();
            // Read by `cargo x measure` into the book's table.
            println!("measure: top-10 overlap/{name} = {shared}");
        }
        group.finish();
    }
}

#[cfg(feature = "compare")]
criterion_group!(benches, search, tantivy_comparison::compare);
#[cfg(not(feature = "compare"))]
criterion_group!(benches, search);
criterion_main!(benches);
