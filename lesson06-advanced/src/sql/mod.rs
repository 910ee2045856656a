//! SQL: text to tokens ([`lexer`]), tokens to a tree ([`parser`], [`ast`]),
//! the tree run in a transaction ([`execute`]) over tables kept as keys
//! ([`catalog`]); and the session that holds a client's transaction.
//!
//! ```text
//!   "SELECT title FROM books WHERE id = 1"
//!      │ lexer     [select] [title] [from] [books] [where] [id] [=] [1]
//!      │ parser    Select { items: [title], from: [books], filter: id = 1 }
//!      │ execute   scan books, filter, project
//!      ▼
//!   title
//!   ──────
//!   Dune
//! ```

pub mod ast;
pub mod catalog;
pub mod error;
pub mod execute;
pub mod explain;
pub mod join;
pub mod lexer;
pub mod parser;
pub mod plan;
pub mod sample;
pub mod stats;
pub mod value;

use lesson02_kv::Reply;
use lesson02_kv::repl::LineHandler;
use lesson04_indexing::btree::PageStore;

pub use error::{Error, Result};
pub use execute::Output;

use self::ast::Statement;
use self::error::code;
use self::value::{DataType, Value};
use crate::mvcc::{Db, Isolation, Transaction};

/// How many times a statement outside a transaction is retried after a
/// serialization failure (possible only with other threads on the store).
const AUTOCOMMIT_RETRIES: usize = 10;

/// Where a session stands, as PostgreSQL's `ReadyForQuery` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// No transaction open (`I`).
    Idle,
    /// Inside `BEGIN` (`T`).
    InTransaction,
    /// Inside a transaction that failed: everything until `ROLLBACK` is
    /// refused (`E`).
    Failed,
}

/// One client's SQL session.
pub struct Session<S: PageStore> {
    db: Db<S>,
    settings: plan::Settings,
    transaction: Option<Transaction<S>>,
    failed: bool,
    /// The REPL's unfinished statement.
    buffer: String,
    closed: bool,
}

impl<S: PageStore> Session<S> {
    /// A session on `db`.
    pub fn new(db: Db<S>) -> Self {
        Self {
            db,
            settings: plan::Settings::default(),
            transaction: None,
            failed: false,
            buffer: String::new(),
            closed: false,
        }
    }

    /// The store it runs on.
    pub fn db(&self) -> &Db<S> {
        &self.db
    }

    /// Where the session stands.
    pub fn status(&self) -> Status {
        match (&self.transaction, self.failed) {
            (None, _) => Status::Idle,
            (Some(_), false) => Status::InTransaction,
            (Some(_), true) => Status::Failed,
        }
    }

    // ANCHOR: execute
    /// Runs every statement of `sql`, stopping at the first error (whose
    /// position is then in `sql`). Several statements run as PostgreSQL
    /// runs the statements of one query message: those outside a `BEGIN`
    /// block run in one *implicit* transaction, which commits at the end of
    /// the message, or if one of them fails, rolls back with it. A `BEGIN`
    /// turns the implicit transaction into its block; a `COMMIT` or
    /// `ROLLBACK` ends it, and statements after it start a new one.
    pub fn execute(&mut self, sql: &str) -> Vec<Result<Output>> {
        let statements = match parser::parse(sql) {
            Ok(statements) => statements,
            Err(e) => {
                self.fail();
                return vec![Err(e)];
            }
        };
        let several = statements.len() > 1;
        let mut implicit = false;
        let mut out = Vec::new();
        for (statement, _) in statements {
            let controls =
                matches!(statement, Statement::Begin(_) | Statement::Commit | Statement::Rollback);
            if controls {
                implicit = false; // now the block's, or ended
            } else if several && self.transaction.is_none() {
                self.transaction = Some(self.db.begin(Isolation::Snapshot));
                implicit = true;
            }
            let result = self.run(statement);
            let failed = result.is_err();
            out.push(result);
            if failed {
                break;
            }
        }
        if implicit {
            // Committed if all went well; dropped, so rolled back, if not.
            let transaction = self.transaction.take().expect("begun above");
            if !std::mem::take(&mut self.failed)
                && let Err(e) = transaction.commit()
            {
                out.push(Err(e.into()));
            }
        }
        out
    }
    // ANCHOR_END: execute

    /// An error inside `BEGIN` fails the whole transaction, as in
    /// PostgreSQL: what it wrote must not commit, since some of it may be
    /// missing.
    fn fail(&mut self) {
        if self.transaction.is_some() {
            self.failed = true;
        }
    }

    // ANCHOR: run
    /// Runs one statement.
    pub fn run(&mut self, statement: Statement) -> Result<Output> {
        let tag = |t: &str| Ok(Output::Tag(t.to_string()));
        match statement {
            Statement::Begin(_) if self.failed => Err(Error::new(
                code::IN_FAILED_TRANSACTION,
                "current transaction is aborted, commands ignored until end of transaction block",
            )),
            Statement::Begin(isolation) => {
                if self.transaction.is_none() {
                    self.transaction = Some(self.db.begin(isolation));
                }
                tag("BEGIN")
            }
            Statement::Commit => {
                match (self.transaction.take(), std::mem::take(&mut self.failed)) {
                    (Some(transaction), false) => {
                        transaction.commit()?;
                        tag("COMMIT")
                    }
                    // A failed transaction cannot commit: COMMIT rolls it back.
                    (Some(_), true) => tag("ROLLBACK"),
                    (None, _) => tag("COMMIT"),
                }
            }
            Statement::Rollback => {
                self.transaction = None; // dropped: rolled back
                self.failed = false;
                tag("ROLLBACK")
            }
            Statement::Set(name, value) if !self.failed => {
                match (name.as_str(), value.to_ascii_lowercase().as_str()) {
                    ("enable_indexscan", "on" | "true") => self.settings.index_scans = true,
                    ("enable_indexscan", "off" | "false") => self.settings.index_scans = false,
                    ("enable_seqscan", "on" | "true") => self.settings.seq_scans = true,
                    ("enable_seqscan", "off" | "false") => self.settings.seq_scans = false,
                    ("enable_hashjoin", "on" | "true") => self.settings.hash_joins = true,
                    ("enable_hashjoin", "off" | "false") => self.settings.hash_joins = false,
                    _ => {
                        let message = format!("unrecognized setting \"{name}\" = \"{value}\"");
                        return Err(Error::new("42704", message));
                    }
                }
                tag("SET")
            }
            _ if self.failed => Err(Error::new(
                code::IN_FAILED_TRANSACTION,
                "current transaction is aborted, commands ignored until end of transaction block",
            )),
            statement => match &mut self.transaction {
                Some(transaction) => {
                    let result = execute::execute(transaction, statement, self.settings);
                    if result.is_err() {
                        self.failed = true;
                    }
                    result
                }
                None => self.autocommit(statement),
            },
        }
    }
    // ANCHOR_END: run

    /// One statement as a transaction of its own; nothing of it stays if
    /// it fails.
    fn autocommit(&mut self, statement: Statement) -> Result<Output> {
        let mut last = None;
        for _ in 0..AUTOCOMMIT_RETRIES {
            let mut transaction = self.db.begin(Isolation::Snapshot);
            let output = execute::execute(&mut transaction, statement.clone(), self.settings)?;
            match transaction.commit() {
                Ok(_) => return Ok(output),
                Err(crate::mvcc::Error::Serialization) => {
                    last = Some(crate::mvcc::Error::Serialization);
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(last.expect("retried").into())
    }

    /// `\d`: the tables; `\d name`: a table's columns.
    fn describe(&mut self, name: Option<&str>) -> Result<String> {
        let mut transaction = self.db.begin(Isolation::Snapshot);
        let header = ["Name", "Type", "Nullable", "Key"].map(String::from).to_vec();
        match name {
            None => {
                let rows: Vec<Vec<Value>> = catalog::tables(&mut transaction)?
                    .into_iter()
                    .map(|t| vec![Value::Text(t.name), Value::Text("table".into())])
                    .collect();
                Ok(render(&["Name".into(), "Type".into()], &rows))
            }
            Some(name) => {
                let table = catalog::table(&mut transaction, name)?;
                let rows: Vec<Vec<Value>> = table
                    .columns
                    .iter()
                    .map(|c| {
                        vec![
                            Value::Text(c.name.clone()),
                            Value::Text(c.data_type.name().into()),
                            Value::Text(if c.nullable { "" } else { "not null" }.into()),
                            Value::Text(if c.primary_key { "primary key" } else { "" }.into()),
                        ]
                    })
                    .collect();
                Ok(render(&header, &rows))
            }
        }
    }
}

// ANCHOR: render
/// A result as psql prints it: a header, a rule, the rows (numbers to the
/// right, the rest to the left) and the row count.
pub fn render(columns: &[String], rows: &[Vec<Value>]) -> String {
    let cells: Vec<Vec<String>> =
        rows.iter().map(|r| r.iter().map(Value::to_text).collect()).collect();
    let width = |i: usize| {
        cells
            .iter()
            .map(|r| r[i].chars().count())
            .chain([columns[i].chars().count()])
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..columns.len()).map(width).collect();
    let line = |parts: Vec<String>| parts.join("|").trim_end().to_string();
    let mut out = Vec::new();
    out.push(line(columns.iter().zip(&widths).map(|(c, &w)| format!(" {c:^w$} ")).collect()));
    out.push(widths.iter().map(|w| "-".repeat(w + 2)).collect::<Vec<_>>().join("+"));
    for (row, cells) in rows.iter().zip(&cells) {
        out.push(line(
            row.iter()
                .zip(cells)
                .zip(&widths)
                .map(|((value, cell), &w)| match value.data_type() {
                    Some(DataType::Integer | DataType::Float) => format!(" {cell:>w$} "),
                    _ => format!(" {cell:<w$} "),
                })
                .collect(),
        ));
    }
    out.push(format!("({} row{})", rows.len(), if rows.len() == 1 { "" } else { "s" }));
    out.join("\n")
}
// ANCHOR_END: render

/// What the REPL prints for one statement's result.
pub fn show(result: &Result<Output>, sql: &str) -> String {
    match result {
        Ok(Output::Rows { columns, rows }) => render(columns, rows),
        Ok(Output::Tag(tag)) => tag.clone(),
        Err(e) => e.render(sql),
    }
}

/// The REPL: lines gather until a statement ends with `;`, then every
/// statement in them runs; `\d [table]` describes, `\q` quits.
impl<S: PageStore> LineHandler for Session<S> {
    fn handle_line(&mut self, line: &[u8]) -> Option<Reply> {
        let line = String::from_utf8_lossy(line);
        let trimmed = line.trim();
        if self.buffer.is_empty() && trimmed.is_empty() {
            return None;
        }
        // Backslash commands work even inside an unfinished statement, as
        // in psql: `\r` throws the statement away, `\q` quits.
        if let Some(command) = trimmed.strip_prefix('\\') {
            let mut words = command.split_whitespace();
            let text = match (words.next(), words.next()) {
                (Some("q"), _) => {
                    self.closed = true;
                    return None;
                }
                (Some("r"), _) => {
                    self.buffer.clear();
                    "Query buffer reset (cleared).".to_string()
                }
                (Some("d"), table) => self.describe(table).unwrap_or_else(|e| e.render("")),
                (Some("bookshop"), size) => {
                    let batches = size.and_then(|s| s.parse::<usize>().ok()).unwrap_or(10);
                    let statements = sample::bookshop(batches.clamp(1, 100));
                    match statements
                        .iter()
                        .map(|sql| self.execute(sql).remove(0))
                        .find(Result::is_err)
                    {
                        Some(Err(e)) => e.render(""),
                        _ => format!(
                            "the bookshop: {n} books by 100 authors and {n} sales, indexed on genre, year and day, analyzed",
                            n = batches.clamp(1, 100) * 2000
                        ),
                    }
                }
                _ => format!("invalid command \\{command}"),
            };
            return Some(Reply::Simple(text));
        }
        self.buffer.push_str(&line);
        self.buffer.push('\n');
        if !complete(&self.buffer) {
            return None;
        }
        let sql = std::mem::take(&mut self.buffer);
        let results = self.execute(&sql);
        Some(Reply::Simple(
            results.iter().map(|r| show(r, sql.trim_end())).collect::<Vec<_>>().join("\n"),
        ))
    }

    fn is_closed(&self) -> bool {
        self.closed
    }

    fn prompt(&self) -> String {
        let state = match self.status() {
            Status::Idle => "",
            Status::InTransaction => "*",
            Status::Failed => "!",
        };
        let mark = if self.buffer.is_empty() { '>' } else { '-' };
        format!("sql{state}{mark} ")
    }
}

/// Whether `sql` ends a statement: its last token is `;`. An unterminated
/// string is not finished; any other error is, so that it is reported.
fn complete(sql: &str) -> bool {
    match lexer::tokenize(sql) {
        Ok(tokens) => matches!(tokens.last(), Some(t) if t.token == lexer::Token::Symbol(";")),
        Err(e) => e.message != lexer::UNTERMINATED,
    }
}
