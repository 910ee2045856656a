//! The document store's REPL: MongoDB's query syntax, one command a line.
//!
//! ```text
//!   INSERT users {"name": "ada", "age": 36}
//!   FIND users {"age": {"$gte": 30}} SORT age DESC LIMIT 10
//!   UPDATE users {"name": "ada"} {"$set": {"age": 37}}
//!   DELETE users {"age": {"$lt": 18}}
//!   COUNT users {"age": 36}
//!   CREATE INDEX users age btree
//!   EXPLAIN FIND users {"age": 36}
//! ```
//!
//! Lesson 2's tokenizer splits on spaces and reads quotes, which JSON is
//! full of; so a line here is read as a command name, a collection name, and
//! then JSON values one after another (serde_json says where each one ends),
//! then keywords.

use lesson02_kv::Reply;
use lesson02_kv::command::CommandSpec;
use lesson02_kv::execute::help;
use lesson02_kv::repl::LineHandler;
use lesson02_kv::session::MAX_LINE_BYTES;
use serde_json::Value;

use crate::btree::PageStore;
use crate::document::{DocError, DocStore, IndexKind, Sort};

// ANCHOR: specs
/// The document commands, for HELP.
pub const COMMANDS: &[CommandSpec] = &[
    spec("INSERT", "collection {document}", "Insert a JSON object; prints its _id."),
    spec(
        "FIND",
        "collection [{filter}] [SORT field [DESC]] [LIMIT n]",
        "The matching documents, in _id order unless sorted.",
    ),
    spec(
        "UPDATE",
        "collection {filter} {\"$set\": {...}}",
        "Set fields of every matching document.",
    ),
    spec("DELETE", "collection {filter}", "Delete every matching document."),
    spec("COUNT", "collection [{filter}]", "Count the matching documents."),
    spec(
        "CREATE",
        "[SEARCH] INDEX collection field [btree|hash]",
        "Index a field (btree by default), or its text for SEARCH.",
    ),
    spec(
        "SEARCH",
        "collection words [\"a phrase\"] [AND|OR …] [LIMIT k]",
        "Full-text search, best first (BM25).",
    ),
    spec("DROP", "INDEX collection field", "Drop a field's index."),
    spec("INDEXES", "collection", "List a collection's indexes."),
    spec("EXPLAIN", "FIND …", "How FIND would run: the index, if any, and the counts."),
    spec("PING", "", "PONG."),
    spec("HELP", "[command]", "These lines."),
    spec("QUIT", "", "Leave."),
];
// ANCHOR_END: specs

const fn spec(name: &'static str, args: &'static str, summary: &'static str) -> CommandSpec {
    CommandSpec { name, args, summary, min_args: 0, max_args: None }
}

/// A conversation with a document store.
pub struct DocSession<S: PageStore> {
    store: DocStore<S>,
    closed: bool,
}

impl<S: PageStore> DocSession<S> {
    /// A session on `store`.
    pub fn new(store: DocStore<S>) -> Self {
        Self { store, closed: false }
    }

    /// The store.
    pub fn store(&mut self) -> &mut DocStore<S> {
        &mut self.store
    }

    fn execute(&mut self, line: &str) -> Result<Reply, String> {
        let line = line.trim();
        let (name, rest) = split_word(line);
        let name = name.to_ascii_uppercase();
        match name.as_str() {
            "PING" => return Ok(Reply::Simple("PONG".into())),
            "QUIT" => {
                self.closed = true;
                return Ok(Reply::ok());
            }
            "HELP" => {
                let command = (!rest.is_empty()).then_some(rest.as_bytes());
                return Ok(help(COMMANDS, command));
            }
            _ => {}
        }
        if !COMMANDS.iter().any(|c| c.name == name) {
            return Err(format!("unknown command '{}'", split_word(line).0));
        }
        let mut rest = rest;
        let mut full_text = false;
        if matches!(name.as_str(), "CREATE" | "DROP") {
            let (mut index, mut after) = split_word(rest);
            if name == "CREATE" && index.eq_ignore_ascii_case("SEARCH") {
                full_text = true;
                (index, after) = split_word(after);
            }
            if !index.eq_ignore_ascii_case("INDEX") {
                return Err(format!("expected {name} INDEX"));
            }
            rest = after;
        }
        let explain = name == "EXPLAIN";
        let name = if explain {
            let (find, after) = split_word(rest);
            if !find.eq_ignore_ascii_case("FIND") {
                return Err("EXPLAIN explains FIND: EXPLAIN FIND collection …".into());
            }
            rest = after;
            "FIND".to_string()
        } else {
            name
        };
        let (collection, rest) = split_word(rest);
        if collection.is_empty() || collection.starts_with('{') {
            return Err(format!("{name} needs a collection name first"));
        }
        let mut args = Args { rest };
        let reply = match name.as_str() {
            "INSERT" => {
                let document = args.json("a document")?;
                args.end()?;
                Reply::Simple(self.store.insert(collection, document).map_err(message)?.to_string())
            }
            "FIND" if explain => {
                let filter = args.optional_json()?.unwrap_or_else(empty_filter);
                let (sort, limit) = args.sort_and_limit()?;
                let e = self.store.explain(collection, &filter, sort.as_ref(), limit);
                let e = e.map_err(message)?;
                let lines = [
                    format!("plan: {}", e.plan),
                    format!("keys examined: {}", e.keys_examined),
                    format!("documents examined: {}", e.documents_examined),
                    format!("documents returned: {}", e.returned),
                    format!("sort: {}", e.sort),
                ];
                Reply::Array(lines.into_iter().map(Reply::Simple).collect())
            }
            "FIND" => {
                let filter = args.optional_json()?.unwrap_or_else(empty_filter);
                let (sort, limit) = args.sort_and_limit()?;
                let documents =
                    self.store.find(collection, &filter, sort.as_ref(), limit).map_err(message)?;
                Reply::Array(documents.iter().map(|d| Reply::Simple(d.to_string())).collect())
            }
            "CREATE" if full_text => {
                let (field, rest) = split_word(args.rest);
                args.rest = rest;
                args.end()?;
                if field.is_empty() {
                    return Err("CREATE SEARCH INDEX needs a field".into());
                }
                let covered = self.store.create_search_index(collection, field).map_err(message)?;
                Reply::Simple(format!(
                    "OK, search index on {collection}.{field} over {covered} documents"
                ))
            }
            "SEARCH" => {
                let (text, limit) = match args.rest.rsplit_once(" LIMIT ") {
                    Some((text, n)) => (
                        text,
                        n.trim().parse().map_err(|_| format!("LIMIT needs a number, not {n:?}"))?,
                    ),
                    None => (args.rest, 10),
                };
                let hits = self.store.search(collection, text, limit).map_err(message)?;
                let line = |(document, score): (Value, f64)| {
                    Reply::Simple(format!("{score:.3}  {}", document["_id"]))
                };
                Reply::Array(hits.into_iter().map(line).collect())
            }
            "CREATE" => {
                let (field, rest) = split_word(args.rest);
                let (kind, rest) = split_word(rest);
                args.rest = rest;
                args.end()?;
                if field.is_empty() {
                    return Err("CREATE INDEX needs a field".into());
                }
                let kind = match kind {
                    "" => IndexKind::BTree,
                    kind => IndexKind::from_name(kind)
                        .ok_or_else(|| format!("unknown index kind {kind:?}: btree or hash"))?,
                };
                let covered = self.store.create_index(collection, field, kind).map_err(message)?;
                let name = kind.name();
                Reply::Simple(format!(
                    "OK, {name} index on {collection}.{field} over {covered} documents"
                ))
            }
            "DROP" => {
                let (field, rest) = split_word(args.rest);
                args.rest = rest;
                args.end()?;
                self.store.drop_index(collection, field).map_err(message)?;
                Reply::ok()
            }
            "INDEXES" => {
                args.end()?;
                let indexes = self.store.indexes(collection).into_iter();
                let line =
                    |(field, kind): (String, &str)| Reply::Simple(format!("{field} ({kind})"));
                Reply::Array(indexes.map(line).collect())
            }
            "UPDATE" => {
                let filter = args.json("a filter")?;
                let update = args.json("an update")?;
                args.end()?;
                count(self.store.update(collection, &filter, &update).map_err(message)?)
            }
            "DELETE" => {
                let filter = args.json("a filter")?;
                args.end()?;
                count(self.store.delete(collection, &filter).map_err(message)?)
            }
            _ => {
                let filter = args.optional_json()?.unwrap_or_else(empty_filter);
                args.end()?;
                count(self.store.count(collection, &filter).map_err(message)?)
            }
        };
        Ok(reply)
    }
}

fn empty_filter() -> Value {
    Value::Object(Default::default())
}

fn message(e: DocError) -> String {
    e.to_string()
}

fn count(n: usize) -> Reply {
    Reply::Integer(n as i64)
}

/// The first whitespace-separated word, and the rest.
fn split_word(text: &str) -> (&str, &str) {
    let text = text.trim_start();
    match text.find(char::is_whitespace) {
        Some(at) => (&text[..at], text[at..].trim_start()),
        None => (text, ""),
    }
}

/// The arguments after the collection name, read from the left.
struct Args<'a> {
    rest: &'a str,
}

impl Args<'_> {
    /// The next JSON value, which must be there.
    fn json(&mut self, what: &str) -> Result<Value, String> {
        self.optional_json()?
            .ok_or_else(|| format!("expected {what} (a JSON object) here: {:?}", self.rest))
    }

    /// The next JSON value, if the rest starts with one.
    fn optional_json(&mut self) -> Result<Option<Value>, String> {
        if !self.rest.starts_with(['{', '[']) {
            return Ok(None);
        }
        let mut values = serde_json::Deserializer::from_str(self.rest).into_iter::<Value>();
        match values.next() {
            Some(Ok(value)) => {
                self.rest = self.rest[values.byte_offset()..].trim_start();
                Ok(Some(value))
            }
            Some(Err(e)) => Err(format!("bad JSON: {e}")),
            None => Ok(None),
        }
    }

    /// `[SORT field [ASC|DESC]] [LIMIT n]`, then the end.
    fn sort_and_limit(&mut self) -> Result<(Option<Sort>, Option<usize>), String> {
        let words: Vec<&str> = self.rest.split_whitespace().collect();
        self.rest = "";
        let (mut sort, mut limit) = (None, None);
        let mut i = 0;
        while i < words.len() {
            match words[i].to_ascii_uppercase().as_str() {
                "SORT" if sort.is_none() => {
                    let field = words.get(i + 1).ok_or("SORT needs a field")?;
                    let direction = words.get(i + 2).map(|w| w.to_ascii_uppercase());
                    let descending = direction.as_deref() == Some("DESC");
                    i += if matches!(direction.as_deref(), Some("DESC" | "ASC")) { 3 } else { 2 };
                    sort = Some(Sort { field: (*field).to_string(), descending });
                }
                "LIMIT" if limit.is_none() => {
                    let n = words.get(i + 1).ok_or("LIMIT needs a number")?;
                    limit =
                        Some(n.parse().map_err(|_| format!("LIMIT needs a number, not {n:?}"))?);
                    i += 2;
                }
                other => return Err(format!("unexpected {other:?}: expected SORT or LIMIT")),
            }
        }
        Ok((sort, limit))
    }

    /// Nothing may be left.
    fn end(&self) -> Result<(), String> {
        match self.rest {
            "" => Ok(()),
            rest => Err(format!("unexpected text after the arguments: {rest:?}")),
        }
    }
}

impl<S: PageStore> LineHandler for DocSession<S> {
    fn handle_line(&mut self, line: &[u8]) -> Option<Reply> {
        if line.len() > MAX_LINE_BYTES {
            return Some(Reply::Error(format!("ERR line longer than {MAX_LINE_BYTES} bytes")));
        }
        let Ok(line) = std::str::from_utf8(line) else {
            return Some(Reply::Error("ERR a command line must be UTF-8 text".into()));
        };
        if line.trim().is_empty() {
            return None;
        }
        Some(self.execute(line).unwrap_or_else(|e| Reply::Error(format!("ERR {e}"))))
    }

    fn is_closed(&self) -> bool {
        self.closed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::btree::{BTree, MemStore};
    use proptest::prelude::*;

    fn session() -> DocSession<MemStore> {
        DocSession::new(DocStore::open(BTree::in_memory(512)).unwrap())
    }

    fn run(s: &mut DocSession<MemStore>, line: &str) -> String {
        s.handle_line(line.as_bytes()).map(|r| r.render()).unwrap_or_default()
    }

    #[test]
    fn commands_and_their_errors() {
        let mut s = session();
        assert_eq!(run(&mut s, r#"insert users {"name": "ada", "age": 36}"#), "1");
        assert_eq!(
            run(&mut s, r#"FIND users {"age": {"$gt": 30}} LIMIT 5"#),
            r#"1) {"_id":1,"age":36,"name":"ada"}"#
        );
        assert_eq!(run(&mut s, "COUNT users"), "(integer) 1");
        assert_eq!(run(&mut s, r#"UPDATE users {} {"$set": {"age": 37}}"#), "(integer) 1");
        assert!(run(&mut s, "INSERT users {bad json}").starts_with("(error) ERR bad JSON"));
        assert!(run(&mut s, r#"INSERT {"a": 1}"#).contains("collection name"));
        assert!(run(&mut s, r#"FIND users {} SORT"#).contains("SORT needs a field"));
        assert!(run(&mut s, r#"FIND users {} LIMIT x"#).contains("LIMIT needs a number"));
        assert!(run(&mut s, r#"DELETE users {} extra"#).contains("unexpected text"));
        assert!(run(&mut s, "FROB users").contains("unknown command 'FROB'"));
        assert_eq!(
            run(&mut s, "CREATE INDEX users age"),
            "OK, btree index on users.age over 1 documents"
        );
        assert!(run(&mut s, "CREATE INDEX users age hash").contains("already has an index"));
        assert!(run(&mut s, "CREATE INDEX users name trie").contains("unknown index kind"));
        assert!(run(&mut s, "CREATE users name").contains("expected CREATE INDEX"));
        assert_eq!(run(&mut s, "INDEXES users"), "1) age (btree)");
        assert!(
            run(&mut s, r#"EXPLAIN FIND users {"age": 37}"#).contains("IXSCAN age (btree) = 37")
        );
        assert!(run(&mut s, "EXPLAIN COUNT users").contains("EXPLAIN explains FIND"));
        assert_eq!(run(&mut s, "DROP INDEX users age"), "OK");
        assert!(run(&mut s, "DROP INDEX users age").contains("no index on age"));
        assert_eq!(run(&mut s, r#"DELETE users {"age": 37}"#), "(integer) 1");
        assert_eq!(run(&mut s, "   "), "");
        assert_eq!(run(&mut s, "QUIT"), "OK");
        assert!(s.is_closed());
    }

    proptest! {
        #[test]
        fn no_line_panics_or_writes_on_error(line in "(INSERT|FIND|UPDATE|DELETE|COUNT) [a-z]{0,3} .{0,40}") {
            let mut s = session();
            let reply = s.handle_line(line.as_bytes());
            if let Some(Reply::Error(_)) = reply {
                prop_assert_eq!(s.store().tree().check().unwrap().keys, 0);
            }
        }
    }
}
