//! SQL errors: a message, the SQLSTATE code PostgreSQL would give, and
//! where in the statement it went wrong.

/// An error of a SQL statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// What went wrong, in PostgreSQL's words where it has some.
    pub message: String,
    /// The byte offset in the statement, if the error is about a place in
    /// it.
    pub position: Option<usize>,
    /// The SQLSTATE code: `42601` a syntax error, `42P01` no such table,
    /// `23505` a duplicate key, `40001` a serialization failure, …
    pub code: &'static str,
}

/// SQL's result type.
pub type Result<T> = std::result::Result<T, Error>;

/// SQLSTATE codes we use.
pub mod code {
    /// A syntax error.
    pub const SYNTAX: &str = "42601";
    /// No such table.
    pub const UNDEFINED_TABLE: &str = "42P01";
    /// No such column.
    pub const UNDEFINED_COLUMN: &str = "42703";
    /// A table that exists already.
    pub const DUPLICATE_TABLE: &str = "42P07";
    /// A name that could mean two columns.
    pub const AMBIGUOUS_COLUMN: &str = "42702";
    /// A value of the wrong type for an operator or a column.
    pub const DATATYPE_MISMATCH: &str = "42804";
    /// No function or operator for these argument types.
    pub const UNDEFINED_FUNCTION: &str = "42883";
    /// A column outside `GROUP BY` in a grouped query, and its kin.
    pub const GROUPING: &str = "42803";
    /// A text that is not a valid value of the type.
    pub const INVALID_TEXT: &str = "22P02";
    /// Integer overflow.
    pub const OUT_OF_RANGE: &str = "22003";
    /// Division by zero.
    pub const DIVISION_BY_ZERO: &str = "22012";
    /// A `NULL` in a `NOT NULL` column.
    pub const NOT_NULL: &str = "23502";
    /// A primary key that exists already.
    pub const UNIQUE: &str = "23505";
    /// Another transaction committed first: retry.
    pub const SERIALIZATION: &str = "40001";
    /// The store failed.
    pub const INTERNAL: &str = "XX000";
    /// A feature we do not have.
    pub const UNSUPPORTED: &str = "0A000";
    /// A statement inside a transaction that failed.
    pub const IN_FAILED_TRANSACTION: &str = "25P02";
    /// An `ORDER BY` position out of range.
    pub const INVALID_COLUMN_REFERENCE: &str = "42P10";
    /// A command in the wrong transaction state (`COMMIT` with none).
    pub const TRANSACTION_STATE: &str = "25000";
}

impl Error {
    /// A syntax error at byte `position`.
    pub fn at(position: usize, message: impl Into<String>) -> Self {
        Self { message: message.into(), position: Some(position), code: code::SYNTAX }
    }

    /// An error with a code and no position.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self { message: message.into(), position: None, code }
    }

    /// The error as psql prints it: `ERROR:  message`, and for an error at
    /// a place, the statement's line with a caret under the place.
    pub fn render(&self, sql: &str) -> String {
        let mut out = format!("ERROR:  {}", self.message);
        if let Some(position) = self.position.filter(|p| *p <= sql.len()) {
            let line_start = sql[..position].rfind('\n').map_or(0, |i| i + 1);
            let line_end = sql[position..].find('\n').map_or(sql.len(), |i| position + i);
            let line_number = sql[..position].matches('\n').count() + 1;
            let prefix = format!("LINE {line_number}: ");
            let column = sql[line_start..position].chars().count();
            out.push_str(&format!(
                "\n{prefix}{}\n{}^",
                &sql[line_start..line_end],
                " ".repeat(prefix.len() + column)
            ));
        }
        out
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<lesson04_indexing::Error> for Error {
    fn from(e: lesson04_indexing::Error) -> Self {
        Error::new(code::INTERNAL, e.to_string())
    }
}

impl From<crate::mvcc::Error> for Error {
    fn from(e: crate::mvcc::Error) -> Self {
        match e {
            crate::mvcc::Error::Serialization => Error::new(
                code::SERIALIZATION,
                "could not serialize access due to concurrent update",
            ),
            crate::mvcc::Error::Storage(e) => e.into(),
        }
    }
}
