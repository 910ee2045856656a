//! The document family (MongoDB, CouchDB): each record is one nested,
//! JSON-like document that carries everything about one thing; a query
//! matches documents by the value at a field path such as `author.name`.
//!
//! ```text
//!   { "title": "Dune",
//!     "year": 1965,
//!     "author": { "name": "Frank Herbert", "born": 1920 },   ← embedded, not joined
//!     "price_pence": 1199 }
//! ```
//!
//! Reading one book is one lookup with no join, and two documents need not
//! have the same fields. The price: the author is copied into every one of
//! their books, so renaming an author means rewriting all of them.

use std::collections::BTreeMap;

use super::{BOOKS, author};

// ANCHOR: doc
/// A JSON-like value.
#[derive(Debug, Clone, PartialEq)]
pub enum Doc {
    /// A number (JSON has only one kind).
    Num(f64),
    /// A string.
    Str(String),
    /// A nested document: field name → value.
    Object(BTreeMap<String, Doc>),
}

impl Doc {
    /// Follows a dotted path such as `"author.name"` into nested objects.
    pub fn path(&self, path: &str) -> Option<&Doc> {
        path.split('.').try_fold(self, |doc, field| match doc {
            Doc::Object(fields) => fields.get(field),
            _ => None,
        })
    }
}

/// A collection: a bag of documents, scanned one by one.
#[derive(Debug, Clone, Default)]
pub struct Collection {
    /// The documents, in insertion order.
    pub docs: Vec<Doc>,
}

impl Collection {
    /// `db.books.find({ path: value })`: the documents whose field at `path`
    /// equals `value`. Documents without that field simply do not match.
    pub fn find(&self, path: &str, value: &Doc) -> Vec<&Doc> {
        self.docs.iter().filter(|doc| doc.path(path) == Some(value)).collect()
    }
}
// ANCHOR_END: doc

fn object<const N: usize>(fields: [(&str, Doc); N]) -> Doc {
    Doc::Object(fields.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

/// The bookshop as a collection, with each author embedded in their books.
pub fn collection() -> Collection {
    let docs = BOOKS
        .iter()
        .map(|b| {
            let a = author(b.author_id).expect("every book has an author");
            object([
                ("title", Doc::Str(b.title.into())),
                ("year", Doc::Num(b.year.into())),
                ("price_pence", Doc::Num(b.price_pence.into())),
                (
                    "author",
                    object([("name", Doc::Str(a.name.into())), ("born", Doc::Num(a.born.into()))]),
                ),
            ])
        })
        .collect();
    Collection { docs }
}

// ANCHOR: query
/// `db.books.find({ "author.name": $1 })`, keeping the titles.
pub fn books_by(name: &str) -> Vec<String> {
    collection()
        .find("author.name", &Doc::Str(name.into()))
        .into_iter()
        .filter_map(|doc| match doc.path("title") {
            Some(Doc::Str(title)) => Some(title.clone()),
            _ => None,
        })
        .collect()
}
// ANCHOR_END: query

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_walks_nested_objects_and_stops_at_leaves() {
        let doc = &collection().docs[1];
        assert_eq!(doc.path("author.name"), Some(&Doc::Str("Frank Herbert".into())));
        assert_eq!(doc.path("year"), Some(&Doc::Num(1965.0)));
        assert_eq!(doc.path("title.length"), None, "a string has no fields");
        assert_eq!(doc.path("author.missing"), None);
    }

    #[test]
    fn documents_may_differ_in_shape() {
        let mut books = collection();
        books.docs.push(object([("title", Doc::Str("Anonymous pamphlet".into()))]));
        assert_eq!(books.find("author.name", &Doc::Str("Frank Herbert".into())).len(), 1);
        assert_eq!(books.find("title", &Doc::Str("Anonymous pamphlet".into())).len(), 1);
    }

    #[test]
    fn find_by_number() {
        assert_eq!(collection().find("year", &Doc::Num(2019.0)).len(), 1);
    }
}
