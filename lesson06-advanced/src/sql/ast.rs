//! The syntax tree: what the parser makes of a statement.

use super::value::{DataType, Value};
use crate::mvcc::Isolation;

/// A statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    /// `BEGIN [ISOLATION LEVEL …]`, `START TRANSACTION`.
    Begin(Isolation),
    /// `COMMIT`, `END`.
    Commit,
    /// `ROLLBACK`, `ABORT`.
    Rollback,
    /// `CREATE TABLE name (columns)`.
    CreateTable {
        /// The table's name.
        name: String,
        /// Its columns, in order.
        columns: Vec<ColumnDef>,
    },
    /// `DROP TABLE [IF EXISTS] name`.
    DropTable {
        /// The table.
        name: String,
        /// `IF EXISTS`: no error if there is none.
        if_exists: bool,
    },
    /// `INSERT INTO table [(columns)] VALUES (…), (…)`.
    Insert {
        /// The table.
        table: String,
        /// The columns given, in the order of the values; all of them, in
        /// the table's order, if `None`.
        columns: Option<Vec<String>>,
        /// The rows' values.
        rows: Vec<Vec<Expr>>,
    },
    /// `UPDATE table SET column = expr, … [WHERE …]`.
    Update {
        /// The table.
        table: String,
        /// The columns to set, and their new values.
        set: Vec<(String, Expr)>,
        /// Which rows; all if `None`.
        filter: Option<Expr>,
    },
    /// `DELETE FROM table [WHERE …]`.
    Delete {
        /// The table.
        table: String,
        /// Which rows; all if `None`.
        filter: Option<Expr>,
    },
    /// `SELECT …`.
    Select(Box<Select>),
    /// `CREATE INDEX name ON table (column)`.
    CreateIndex {
        /// The index's name.
        name: String,
        /// The table.
        table: String,
        /// The column.
        column: String,
    },
    /// `ANALYZE [table]`: gather statistics for the planner.
    Analyze(Option<String>),
    /// `EXPLAIN [ANALYZE] SELECT …`.
    Explain {
        /// `ANALYZE`: run it too, and show what really happened.
        analyze: bool,
        /// The query.
        query: Box<Select>,
    },
    /// `SET name = value` (or `TO`): a setting of the session.
    Set(String, String),
}

/// A column of `CREATE TABLE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnDef {
    /// Its name.
    pub name: String,
    /// Its type.
    pub data_type: DataType,
    /// `PRIMARY KEY`.
    pub primary_key: bool,
    /// Whether it may hold `NULL` (no `NOT NULL`, and not the key).
    pub nullable: bool,
}

/// A `SELECT` statement.
#[derive(Debug, Clone, PartialEq)]
pub struct Select {
    /// What to return.
    pub items: Vec<SelectItem>,
    /// The tables, joined left to right; empty for `SELECT 1 + 1`.
    pub from: Vec<FromItem>,
    /// `WHERE`.
    pub filter: Option<Expr>,
    /// `GROUP BY`.
    pub group_by: Vec<Expr>,
    /// `HAVING`.
    pub having: Option<Expr>,
    /// `ORDER BY`.
    pub order_by: Vec<(Expr, Order)>,
    /// `LIMIT`.
    pub limit: Option<Expr>,
    /// `OFFSET`.
    pub offset: Option<Expr>,
}

/// One item of the select list.
#[derive(Debug, Clone, PartialEq)]
pub enum SelectItem {
    /// `*`, or `table.*`.
    Wildcard(Option<String>),
    /// An expression, and its `AS` name.
    Expr(Expr, Option<String>),
}

/// A table in `FROM`, and how it joins the ones before it.
#[derive(Debug, Clone, PartialEq)]
pub struct FromItem {
    /// The table.
    pub table: String,
    /// Its alias (`books AS b`, `books b`).
    pub alias: Option<String>,
    /// `JOIN … ON` this condition; `None` for the first table and for a
    /// comma (a cross join, filtered by `WHERE`).
    pub on: Option<Expr>,
}

/// `ASC` or `DESC`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Smallest first; NULLs last, as in PostgreSQL.
    Ascending,
    /// Largest first; NULLs first.
    Descending,
}

/// An expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A constant.
    Literal(Value),
    /// A column, maybe qualified by its table: `title`, `b.title`.
    Column {
        /// The table or alias, if given.
        table: Option<String>,
        /// The column.
        name: String,
        /// Where it appears, for errors.
        position: usize,
    },
    /// `-x`, `NOT x`.
    Unary(UnaryOp, Box<Expr>),
    /// `x + y`, `x AND y`, `x = y`, …
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    /// `x IS [NOT] NULL`.
    IsNull(Box<Expr>, bool),
    /// `x [NOT] BETWEEN low AND high`.
    Between {
        /// The value.
        expr: Box<Expr>,
        /// The lower bound.
        low: Box<Expr>,
        /// The upper bound.
        high: Box<Expr>,
        /// `NOT BETWEEN`.
        negated: bool,
    },
    /// `x [NOT] IN (a, b, …)`.
    InList {
        /// The value.
        expr: Box<Expr>,
        /// The list.
        list: Vec<Expr>,
        /// `NOT IN`.
        negated: bool,
    },
    /// `x [NOT] LIKE pattern`.
    Like {
        /// The value.
        expr: Box<Expr>,
        /// The pattern: `%` any run of characters, `_` one character.
        pattern: Box<Expr>,
        /// `NOT LIKE`.
        negated: bool,
    },
    /// An aggregate: `COUNT(*)`, `COUNT(x)`, `SUM(x)`, `AVG(x)`, `MIN(x)`,
    /// `MAX(x)`.
    Aggregate(Aggregate, Option<Box<Expr>>),
}

/// A unary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    /// `-`
    Negate,
    /// `NOT`
    Not,
}

/// A binary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    /// `OR`
    Or,
    /// `AND`
    And,
    /// `=`
    Eq,
    /// `!=`, `<>`
    NotEq,
    /// `<`
    Lt,
    /// `<=`
    LtEq,
    /// `>`
    Gt,
    /// `>=`
    GtEq,
    /// `+`
    Add,
    /// `-`
    Subtract,
    /// `*`
    Multiply,
    /// `/`
    Divide,
    /// `%`
    Remainder,
    /// `||`: text concatenation.
    Concat,
}

/// An aggregate function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregate {
    /// `COUNT(*)` (no argument) or `COUNT(x)`: rows, or non-NULL values.
    Count,
    /// `SUM(x)`.
    Sum,
    /// `AVG(x)`.
    Avg,
    /// `MIN(x)`.
    Min,
    /// `MAX(x)`.
    Max,
}

impl Aggregate {
    /// The function's name, as `EXPLAIN` and column headers print it.
    pub fn name(self) -> &'static str {
        match self {
            Aggregate::Count => "count",
            Aggregate::Sum => "sum",
            Aggregate::Avg => "avg",
            Aggregate::Min => "min",
            Aggregate::Max => "max",
        }
    }
}

impl std::fmt::Display for Expr {
    /// The expression as `EXPLAIN` prints it, in PostgreSQL's style: each
    /// operation in parentheses.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let not = |negated: &bool| if *negated { "NOT " } else { "" };
        match self {
            Expr::Literal(value) => write!(f, "{value}"),
            Expr::Column { table: Some(table), name, .. } => write!(f, "{table}.{name}"),
            Expr::Column { table: None, name, .. } => write!(f, "{name}"),
            Expr::Unary(UnaryOp::Negate, x) => write!(f, "(- {x})"),
            Expr::Unary(UnaryOp::Not, x) => write!(f, "(NOT {x})"),
            Expr::Binary(op, l, r) => write!(f, "({l} {} {r})", op.symbol()),
            Expr::IsNull(x, negated) => write!(f, "({x} IS {}NULL)", not(negated)),
            Expr::Between { expr, low, high, negated } => {
                write!(f, "({expr} {}BETWEEN {low} AND {high})", not(negated))
            }
            Expr::InList { expr, list, negated } => {
                let list: Vec<String> = list.iter().map(ToString::to_string).collect();
                write!(f, "({expr} {}IN ({}))", not(negated), list.join(", "))
            }
            Expr::Like { expr, pattern, negated } => {
                write!(f, "({expr} {}LIKE {pattern})", not(negated))
            }
            Expr::Aggregate(function, None) => write!(f, "{}(*)", function.name()),
            Expr::Aggregate(function, Some(x)) => write!(f, "{}({x})", function.name()),
        }
    }
}

impl BinaryOp {
    /// The operator with its sides swapped: `5 < x` is `x > 5`.
    pub fn flipped(self) -> BinaryOp {
        match self {
            BinaryOp::Lt => BinaryOp::Gt,
            BinaryOp::LtEq => BinaryOp::GtEq,
            BinaryOp::Gt => BinaryOp::Lt,
            BinaryOp::GtEq => BinaryOp::LtEq,
            other => other,
        }
    }

    /// The operator as SQL writes it.
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Or => "OR",
            BinaryOp::And => "AND",
            BinaryOp::Eq => "=",
            BinaryOp::NotEq => "<>",
            BinaryOp::Lt => "<",
            BinaryOp::LtEq => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::GtEq => ">=",
            BinaryOp::Add => "+",
            BinaryOp::Subtract => "-",
            BinaryOp::Multiply => "*",
            BinaryOp::Divide => "/",
            BinaryOp::Remainder => "%",
            BinaryOp::Concat => "||",
        }
    }
}
