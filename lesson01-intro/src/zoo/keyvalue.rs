//! The key-value family (Redis, Memcached, DynamoDB): a map from keys to
//! opaque values. The store only answers "what is under this key?", so you
//! design the keys around the questions you will ask, ahead of time.
//!
//! ```text
//!   book:1:title                    → "A Wizard of Earthsea"
//!   book:2:title                    → "Dune"
//!   author:Ursula K. Le Guin:books  → "1,3,5"        ← an index we maintain by hand
//! ```
//!
//! Looking up a known key is as fast as storage gets (lesson 2 builds it). A
//! question nobody planned a key for ("books under £10?") means reading
//! every key: that is when you reach for one of the other families.

use std::collections::HashMap;

use super::{BOOKS, author};

// ANCHOR: build
/// The bookshop as string keys and values, with one key per question we
/// expect: the title of each book, and the books of each author.
pub fn pairs() -> HashMap<String, String> {
    let mut kv = HashMap::new();
    for book in BOOKS {
        kv.insert(format!("book:{}:title", book.id), book.title.to_string());
        let name = author(book.author_id).expect("every book has an author").name;
        let list = kv.entry(format!("author:{name}:books")).or_insert_with(String::new);
        if !list.is_empty() {
            list.push(',');
        }
        list.push_str(&book.id.to_string());
    }
    kv
}
// ANCHOR_END: build

// ANCHOR: query
/// `GET author:$1:books`, then `GET book:$id:title` for each id.
pub fn books_by(name: &str) -> Vec<String> {
    let kv = pairs();
    let Some(ids) = kv.get(&format!("author:{name}:books")) else {
        return Vec::new();
    };
    ids.split(',').filter_map(|id| kv.get(&format!("book:{id}:title")).cloned()).collect()
}
// ANCHOR_END: query

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_title_key_per_book_and_one_list_per_author() {
        let kv = pairs();
        assert_eq!(kv.len(), BOOKS.len() + 4);
        assert_eq!(kv["author:Ursula K. Le Guin:books"], "1,3,5");
        assert_eq!(kv["book:2:title"], "Dune");
    }

    #[test]
    fn a_question_without_a_key_has_no_answer() {
        assert!(books_by("ursula k. le guin").is_empty(), "keys are exact");
    }
}
