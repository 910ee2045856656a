//! A sample dataset, seeded: a bookshop, for the REPL's `\bookshop`, the
//! planner's tests and the benchmarks.
//!
//! `books` × 2,000 books by 100 authors in five countries. `genre` is
//! 'novel' for 80% of the books and one of nine others for the rest, but
//! 'poetry' for one book in 2,000; `year` is spread evenly over 1800–2024,
//! `price` over 0.99–49.99. As many sales, each of a book chosen at random,
//! on a day of 1–1,000. Indexes on `genre`, `year` and the sales' `day`,
//! and statistics.

use lesson05_replication::rng::Rng;

/// The statements that build the shop, in order.
pub fn bookshop(batches: usize) -> Vec<String> {
    let mut rng = Rng::new(42);
    let mut out = vec![
        "CREATE TABLE authors (id INTEGER PRIMARY KEY, name TEXT NOT NULL, country TEXT)"
            .to_string(),
        "CREATE TABLE books (id INTEGER PRIMARY KEY, title TEXT NOT NULL, author INTEGER, \
         genre TEXT, price FLOAT, year INTEGER)"
            .to_string(),
    ];
    let countries = ["England", "France", "USA", "Japan", "Nigeria"];
    let authors: Vec<String> =
        (0..100).map(|a| format!("({a}, 'author {a}', '{}')", countries[a % 5])).collect();
    out.push(format!("INSERT INTO authors VALUES {}", authors.join(", ")));
    let genres =
        ["drama", "essay", "crime", "fantasy", "history", "travel", "science", "cooking", "satire"];
    for batch in 0..batches {
        let books: Vec<String> = (batch * 2000..(batch + 1) * 2000)
            .map(|b| {
                let genre = if b % 2000 == 1999 {
                    "poetry"
                } else if rng.chance(0.8) {
                    "novel"
                } else {
                    genres[rng.below(9) as usize]
                };
                format!(
                    "({b}, 'book {b}', {}, '{genre}', {}.99, {})",
                    rng.below(100),
                    rng.below(50),
                    1800 + rng.below(225)
                )
            })
            .collect();
        out.push(format!("INSERT INTO books VALUES {}", books.join(", ")));
    }
    // Sales, after every book: the books are the same whatever follows.
    out.push(
        "CREATE TABLE sales (id INTEGER PRIMARY KEY, book INTEGER NOT NULL, quantity INTEGER, \
         day INTEGER)"
            .to_string(),
    );
    let books = batches as u64 * 2000;
    for batch in 0..batches {
        let sales: Vec<String> = (batch * 2000..(batch + 1) * 2000)
            .map(|s| {
                let (book, quantity, day) =
                    (rng.below(books), 1 + rng.below(5), 1 + rng.below(1000));
                format!("({s}, {book}, {quantity}, {day})")
            })
            .collect();
        out.push(format!("INSERT INTO sales VALUES {}", sales.join(", ")));
    }
    out.push("CREATE INDEX books_genre ON books (genre)".into());
    out.push("CREATE INDEX books_year ON books (year)".into());
    out.push("CREATE INDEX sales_day ON sales (day)".into());
    out.push("ANALYZE".into());
    out
}
