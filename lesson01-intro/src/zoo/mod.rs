//! The zoo: one small bookshop, stored four ways, asked one question.
//!
//! ```text
//!                       ┌── relational: rows in tables, joined and filtered  (PostgreSQL)
//!   AUTHORS + BOOKS ────┼── document:   one nested record per book           (MongoDB)
//!   (the dataset)       ├── key-value:  keys designed around the question    (Redis)
//!                       └── search:     an inverted index from words to ids  (Elasticsearch)
//!
//!   question: "Which books did Ursula K. Le Guin write?"
//! ```
//!
//! Each family is built from std collections in a few dozen lines. They all
//! give the same answer; what differs is what each one makes easy, and that
//! is what the tour prints next to each answer.

pub mod document;
pub mod keyvalue;
pub mod relational;
pub mod search;

// ANCHOR: dataset
/// A writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Author {
    /// Unique id, referenced by [`Book::author_id`].
    pub id: u32,
    /// Full name as printed on the cover.
    pub name: &'static str,
    /// Year of birth.
    pub born: u16,
}

/// A book on the shelf.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Book {
    /// Unique id.
    pub id: u32,
    /// Title.
    pub title: &'static str,
    /// The [`Author::id`] of who wrote it.
    pub author_id: u32,
    /// Year of first publication.
    pub year: u16,
    /// Price in pence, so that money is never a float.
    pub price_pence: u32,
    /// The blurb on the back cover: free text for the search family.
    pub blurb: &'static str,
}

/// The authors of the bookshop.
pub const AUTHORS: &[Author] = &[
    Author { id: 1, name: "Ursula K. Le Guin", born: 1929 },
    Author { id: 2, name: "Frank Herbert", born: 1920 },
    Author { id: 3, name: "Martin Kleppmann", born: 1984 },
    Author { id: 4, name: "Alex Petrov", born: 1988 },
];

/// The books of the bookshop.
#[rustfmt::skip]
pub const BOOKS: &[Book] = &[
    Book { id: 1, title: "A Wizard of Earthsea", author_id: 1, year: 1968, price_pence: 899,
           blurb: "A young wizard learns that to name a thing is to hold power over it." },
    Book { id: 2, title: "Dune", author_id: 2, year: 1965, price_pence: 1199,
           blurb: "A desert planet, a spice worth more than water, and a duke's son." },
    Book { id: 3, title: "The Left Hand of Darkness", author_id: 1, year: 1969, price_pence: 999,
           blurb: "An envoy on a winter planet where nobody is fixed as man or woman." },
    Book { id: 4, title: "Designing Data-Intensive Applications", author_id: 3, year: 2017,
           price_pence: 3999,
           blurb: "Storage engines, replication, partitioning and transactions, explained." },
    Book { id: 5, title: "The Dispossessed", author_id: 1, year: 1974, price_pence: 1099,
           blurb: "A physicist crosses the wall between an anarchist moon and its planet." },
    Book { id: 6, title: "Database Internals", author_id: 4, year: 2019, price_pence: 4499,
           blurb: "How storage engines and distributed databases work: B-trees, logs, consensus." },
];

/// The question every family answers.
pub const QUESTION: &str = "Which books did Ursula K. Le Guin write?";

/// The author the question is about.
pub const AUTHOR: &str = "Ursula K. Le Guin";
// ANCHOR_END: dataset

/// Looks up an author by id.
pub fn author(id: u32) -> Option<&'static Author> {
    AUTHORS.iter().find(|a| a.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_book_has_an_author_and_ids_are_unique() {
        for book in BOOKS {
            assert!(author(book.author_id).is_some(), "{} has no author", book.title);
        }
        let mut ids: Vec<_> = BOOKS.iter().map(|b| b.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), BOOKS.len());
    }
}
