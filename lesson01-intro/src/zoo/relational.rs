//! The relational family (PostgreSQL, MySQL, SQLite): data in tables of
//! rows with the same columns; a query joins tables and filters rows by a
//! predicate.
//!
//! ```text
//!   authors                       books
//!   id │ name              │ born  id │ title              │ author_id │ …
//!   ───┼───────────────────┼────   ───┼────────────────────┼───────────┼──
//!    1 │ Ursula K. Le Guin │ 1929   1 │ A Wizard of Earth… │         1 │
//!    2 │ Frank Herbert     │ 1920   2 │ Dune               │         2 │
//! ```
//!
//! Each fact is stored once (an author's name lives only in `authors`), and a
//! join puts rows back together at query time. NB: a real database plans the
//! join (lesson 6); this one tries every pair of rows, a nested-loop join.

use super::{AUTHORS, BOOKS};

// ANCHOR: table
/// A cell of a table: this tiny engine knows two column types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    /// A whole number.
    Int(i64),
    /// A string.
    Text(String),
}

/// A table: column names, and rows holding one cell per column.
#[derive(Debug, Clone)]
pub struct Table {
    /// Column names, in order.
    pub columns: Vec<&'static str>,
    /// The rows.
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    /// The position of a column, by name.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| *c == name)
    }

    /// `SELECT * FROM self JOIN other ON self.left = other.right`: every
    /// pair of rows whose two columns are equal, glued into one wider row.
    pub fn join(&self, other: &Table, left: &str, right: &str) -> Option<Table> {
        let (l, r) = (self.column(left)?, other.column(right)?);
        let mut columns = self.columns.clone();
        columns.extend(&other.columns);
        let rows = self
            .rows
            .iter()
            .flat_map(|a| {
                other
                    .rows
                    .iter()
                    .filter(move |b| a[l] == b[r])
                    .map(move |b| [a.clone(), b.clone()].concat())
            })
            .collect();
        Some(Table { columns, rows })
    }

    /// `WHERE column = value`: the rows whose cell in `column` equals `value`.
    pub fn filter(&self, column: &str, value: &Cell) -> Option<Table> {
        let c = self.column(column)?;
        let rows = self.rows.iter().filter(|row| &row[c] == value).cloned().collect();
        Some(Table { columns: self.columns.clone(), rows })
    }
}
// ANCHOR_END: table

/// The two tables of the bookshop.
pub fn tables() -> (Table, Table) {
    let authors = Table {
        columns: vec!["id", "name", "born"],
        rows: AUTHORS
            .iter()
            .map(|a| {
                vec![Cell::Int(a.id.into()), Cell::Text(a.name.into()), Cell::Int(a.born.into())]
            })
            .collect(),
    };
    let books = Table {
        columns: vec!["book_id", "title", "author_id", "year", "price_pence"],
        rows: BOOKS
            .iter()
            .map(|b| {
                vec![
                    Cell::Int(b.id.into()),
                    Cell::Text(b.title.into()),
                    Cell::Int(b.author_id.into()),
                    Cell::Int(b.year.into()),
                    Cell::Int(b.price_pence.into()),
                ]
            })
            .collect(),
    };
    (authors, books)
}

// ANCHOR: query
/// `SELECT title FROM books JOIN authors ON books.author_id = authors.id
///  WHERE authors.name = $1`
pub fn books_by(author: &str) -> Vec<String> {
    let (authors, books) = tables();
    let joined = books.join(&authors, "author_id", "id").expect("columns exist");
    let rows = joined.filter("name", &Cell::Text(author.into())).expect("column exists");
    let title = rows.column("title").expect("column exists");
    rows.rows
        .iter()
        .map(|row| match &row[title] {
            Cell::Text(t) => t.clone(),
            Cell::Int(i) => i.to_string(),
        })
        .collect()
}
// ANCHOR_END: query

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_glues_each_book_to_its_one_author() {
        let (authors, books) = tables();
        let joined = books.join(&authors, "author_id", "id").unwrap();
        assert_eq!(joined.rows.len(), BOOKS.len());
        assert_eq!(joined.columns.len(), books.columns.len() + authors.columns.len());
        let dune = joined.filter("title", &Cell::Text("Dune".into())).unwrap();
        assert_eq!(dune.rows[0][dune.column("name").unwrap()], Cell::Text("Frank Herbert".into()));
    }

    #[test]
    fn filter_on_a_missing_column_is_none_not_empty() {
        let (authors, _) = tables();
        assert!(authors.filter("nope", &Cell::Int(1)).is_none());
        assert_eq!(authors.filter("born", &Cell::Int(1)).unwrap().rows.len(), 0);
    }

    #[test]
    fn unknown_author_has_no_books() {
        assert!(books_by("Nobody").is_empty());
        assert_eq!(books_by("Alex Petrov"), ["Database Internals"]);
    }
}
