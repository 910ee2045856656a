//! The guided tour the binary prints: for each family, what it is, the query
//! in that family's own language, the answer from the zoo, and when that
//! family is the right choice.
//!
//! The text is built here, in the library, so a test can snapshot exactly
//! what the binary prints (the book includes that snapshot).

use std::fmt::Write;

use crate::zoo::{self, AUTHOR, QUESTION};

/// One data model of the zoo, as the tour presents it.
pub struct Family {
    /// Its name.
    pub name: &'static str,
    /// Real systems of this family.
    pub systems: &'static str,
    /// How it stores the bookshop, in one sentence.
    pub model: &'static str,
    /// The question, in the family's own query language.
    pub query: &'static str,
    /// Answers the question with the zoo's implementation.
    pub answer: fn(&str) -> Vec<String>,
    /// When this family is the one to pick.
    pub wins_when: &'static str,
}

// ANCHOR: families
/// The four families of the zoo, in tour order.
pub const FAMILIES: &[Family] = &[
    Family {
        name: "relational",
        systems: "PostgreSQL, MySQL, SQLite",
        model: "two tables, authors and books, joined on author_id",
        query: "SELECT title FROM books JOIN authors ON books.author_id = authors.id \
                WHERE authors.name = 'Ursula K. Le Guin'",
        answer: zoo::relational::books_by,
        wins_when: "questions you did not plan for, joins across entities, constraints and transactions",
    },
    Family {
        name: "document",
        systems: "MongoDB, CouchDB",
        model: "one nested document per book, with its author embedded",
        query: r#"db.books.find({ "author.name": "Ursula K. Le Guin" })"#,
        answer: zoo::document::books_by,
        wins_when: "each record is read and written as a whole, and records differ in shape",
    },
    Family {
        name: "key-value",
        systems: "Redis, Memcached, DynamoDB",
        model: "keys designed per question: book:ID:title, author:NAME:books",
        query: "GET author:Ursula K. Le Guin:books  then  GET book:ID:title for each id",
        answer: zoo::keyvalue::books_by,
        wins_when: "you always know the key: caches, sessions, counters, queues; the fastest lookups",
    },
    Family {
        name: "search",
        systems: "Elasticsearch, OpenSearch, Solr",
        model: "an inverted index from every word of title, author and blurb to book ids",
        query: "GET books/_search { \"query\": { \"multi_match\": { \"query\": \"Ursula K. Le Guin\", \
                \"fields\": [\"title\", \"author\", \"blurb\"], \"operator\": \"and\" } } }",
        answer: zoo::search::books_by,
        wins_when: "people type words, not keys: full-text queries, relevance ranking, facets",
    },
];
// ANCHOR_END: families

/// Families the zoo does not build, in one line each.
pub const OTHER_FAMILIES: &[(&str, &str)] = &[
    (
        "wide-column",
        "Cassandra, HBase, Bigtable: rows of sparse columns, partitioned for huge write volumes",
    ),
    (
        "time-series",
        "Prometheus, InfluxDB, TimescaleDB: timestamped measurements, appended and aggregated by time window",
    ),
    (
        "graph",
        "Neo4j, JanusGraph: nodes and edges, queries that follow relationships many hops deep",
    ),
];

/// Renders the whole tour.
pub fn tour() -> String {
    let mut out = String::new();
    // Writing to a String cannot fail, hence the unwraps.
    writeln!(out, "The bookshop: {} books by {} authors.", zoo::BOOKS.len(), zoo::AUTHORS.len())
        .unwrap();
    writeln!(out, "The question: {QUESTION}").unwrap();
    for (i, family) in FAMILIES.iter().enumerate() {
        writeln!(out).unwrap();
        writeln!(out, "{}. {} ({})", i + 1, family.name, family.systems).unwrap();
        writeln!(out, "   stores:    {}", family.model).unwrap();
        writeln!(out, "   query:     {}", family.query).unwrap();
        let answer = (family.answer)(AUTHOR);
        writeln!(out, "   answer:    {}", answer.join("; ")).unwrap();
        writeln!(out, "   wins when: {}", family.wins_when).unwrap();
    }
    writeln!(out).unwrap();
    writeln!(out, "Not in the zoo, but worth knowing:").unwrap();
    for (name, what) in OTHER_FAMILIES {
        writeln!(out, "   {name}: {what}").unwrap();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_gives_the_same_answer() {
        let mut want =
            vec!["A Wizard of Earthsea", "The Left Hand of Darkness", "The Dispossessed"];
        want.sort_unstable();
        for family in FAMILIES {
            let mut got = (family.answer)(AUTHOR);
            got.sort_unstable();
            assert_eq!(got, want, "{} disagrees", family.name);
        }
    }
}
