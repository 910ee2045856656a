//! The parser: tokens to a syntax tree, by recursive descent.
//!
//! Each rule of the grammar is a method that consumes the tokens it
//! recognizes and returns the tree for them. Expressions use *precedence
//! climbing*: `expr(min)` parses an operand, then keeps taking operators
//! that bind at least as tightly as `min`, parsing each right-hand side
//! with a higher minimum, so that `1 + 2 * 3` groups as `1 + (2 * 3)` and
//! `a OR b AND c` as `a OR (b AND c)`. PostgreSQL's precedence, loosest
//! first:
//!
//! ```text
//!   1  OR
//!   2  AND
//!   3  NOT                               (prefix)
//!   4  = <> != < <= > >=   IS [NOT] NULL
//!   5  [NOT] BETWEEN   [NOT] IN   [NOT] LIKE
//!   6  ||
//!   7  + -
//!   8  * / %
//!   9  -                                 (prefix)
//! ```
//!
//! Comparisons, `LIKE` and `BETWEEN` do not associate, as in PostgreSQL:
//! `1 < 2 = TRUE` and `a LIKE b LIKE c` are syntax errors, not chains.

use std::cell::Cell;

use super::ast::{
    Aggregate, BinaryOp, ColumnDef, Expr, FromItem, Order, Select, SelectItem, Statement, UnaryOp,
};
use super::error::{Error, Result, code};
use super::lexer::{Spanned, Token, tokenize};
use super::value::{DataType, Value};
use crate::mvcc::Isolation;

/// Words that cannot name a table, a column or an alias unless quoted.
const RESERVED: &[&str] = &[
    "all",
    "and",
    "any",
    "as",
    "asc",
    "between",
    "by",
    "case",
    "create",
    "cross",
    "delete",
    "desc",
    "distinct",
    "drop",
    "else",
    "except",
    "exists",
    "false",
    "from",
    "full",
    "group",
    "having",
    "in",
    "inner",
    "insert",
    "intersect",
    "into",
    "is",
    "join",
    "left",
    "like",
    "limit",
    "natural",
    "not",
    "null",
    "offset",
    "on",
    "or",
    "order",
    "outer",
    "primary",
    "right",
    "select",
    "set",
    "table",
    "then",
    "true",
    "union",
    "update",
    "using",
    "values",
    "when",
    "where",
];

/// Parentheses, prefix operators and right-hand sides nested deeper than
/// this are refused: the parser, the evaluator and even dropping the tree
/// recurse, and a thread's stack is finite. (PostgreSQL has the same kind
/// of limit, `max_stack_depth`.)
const MAX_NESTING: usize = 64;

/// Operators looked at in one statement, at most (each is looked at about
/// twice: about 200 operators). A chain `1 + 1 + …`
/// makes a tree as deep as it is long, without nesting anything.
const MAX_OPERATORS: usize = 400;

fn too_complex(position: usize) -> Error {
    Error {
        message: "stack depth limit exceeded: the expression is too deeply nested or too long"
            .into(),
        position: Some(position),
        code: "54001",
    }
}

/// Parses every statement of `sql`, each ended by `;` (the last may omit
/// it). Returns each statement with the byte range of its text.
pub fn parse(sql: &str) -> Result<Vec<(Statement, std::ops::Range<usize>)>> {
    let tokens = tokenize(sql)?;
    let mut parser = Parser { tokens, next: 0, end: sql.len(), depth: 0, operators: Cell::new(0) };
    let mut out = Vec::new();
    while parser.peek().is_some() {
        if parser.take_symbol(";") {
            continue; // an empty statement
        }
        let start = parser.position();
        parser.operators.set(0);
        let statement = parser.statement();
        if parser.operators.get() > MAX_OPERATORS {
            return Err(too_complex(start));
        }
        let statement = statement?;
        let end = parser.tokens.get(parser.next).map_or(sql.len(), |t| t.position);
        if parser.peek().is_some() && !parser.take_symbol(";") {
            return Err(parser.unexpected());
        }
        out.push((statement, start..end));
    }
    Ok(out)
}

/// Parses one statement.
pub fn parse_one(sql: &str) -> Result<Statement> {
    let mut statements = parse(sql)?;
    match statements.len() {
        1 => Ok(statements.remove(0).0),
        0 => Err(Error::at(sql.len(), "syntax error at end of input")),
        _ => Err(Error::at(statements[1].1.start, "one statement expected")),
    }
}

struct Parser {
    tokens: Vec<Spanned>,
    next: usize,
    /// The statement's length: where "end of input" is.
    end: usize,
    /// How deeply `expr` is nested now.
    depth: usize,
    /// Operators looked at in this statement (a `Cell`, since looking is
    /// `&self`).
    operators: Cell<usize>,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.next).map(|t| &t.token)
    }

    fn peek_at(&self, ahead: usize) -> Option<&Token> {
        self.tokens.get(self.next + ahead).map(|t| &t.token)
    }

    fn position(&self) -> usize {
        self.tokens.get(self.next).map_or(self.end, |t| t.position)
    }

    /// PostgreSQL's "syntax error at or near" the next token.
    fn unexpected(&self) -> Error {
        match self.tokens.get(self.next) {
            None => Error::at(self.end, "syntax error at end of input"),
            Some(t) => {
                let text = match &t.token {
                    Token::Word(w) => w.clone(),
                    Token::Quoted(q) => format!("\"{q}\""),
                    Token::Integer(n) | Token::Float(n) => n.clone(),
                    Token::String(s) => format!("'{s}'"),
                    Token::Symbol(s) => (*s).to_string(),
                };
                Error::at(t.position, format!("syntax error at or near \"{text}\""))
            }
        }
    }

    fn is_word(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w == word)
    }

    fn take_word(&mut self, word: &str) -> bool {
        let found = self.is_word(word);
        self.next += usize::from(found);
        found
    }

    fn expect_word(&mut self, word: &str) -> Result<()> {
        if self.take_word(word) { Ok(()) } else { Err(self.unexpected()) }
    }

    fn take_symbol(&mut self, symbol: &str) -> bool {
        let found = matches!(self.peek(), Some(Token::Symbol(s)) if *s == symbol);
        self.next += usize::from(found);
        found
    }

    fn expect_symbol(&mut self, symbol: &str) -> Result<()> {
        if self.take_symbol(symbol) { Ok(()) } else { Err(self.unexpected()) }
    }

    /// A table, column or alias name: a word that is not reserved, or a
    /// quoted identifier.
    fn identifier(&mut self) -> Result<String> {
        match self.peek() {
            Some(Token::Word(w)) if !RESERVED.contains(&w.as_str()) => {
                let name = w.clone();
                self.next += 1;
                Ok(name)
            }
            Some(Token::Quoted(q)) => {
                let name = q.clone();
                self.next += 1;
                Ok(name)
            }
            _ => Err(self.unexpected()),
        }
    }

    fn comma_separated<T>(
        &mut self,
        mut item: impl FnMut(&mut Self) -> Result<T>,
    ) -> Result<Vec<T>> {
        let mut out = vec![item(self)?];
        while self.take_symbol(",") {
            out.push(item(self)?);
        }
        Ok(out)
    }

    // ANCHOR: statement
    fn statement(&mut self) -> Result<Statement> {
        let Some(Token::Word(word)) = self.peek() else { return Err(self.unexpected()) };
        match word.as_str() {
            "select" => Ok(Statement::Select(Box::new(self.select()?))),
            "insert" => self.insert(),
            "update" => self.update(),
            "delete" => self.delete(),
            "create" if matches!(self.peek_at(1), Some(Token::Word(w)) if w == "index") => {
                self.create_index()
            }
            "create" => self.create_table(),
            "analyze" => {
                self.next += 1;
                let table =
                    if self.peek().is_some() && !matches!(self.peek(), Some(Token::Symbol(";"))) {
                        Some(self.identifier()?)
                    } else {
                        None
                    };
                Ok(Statement::Analyze(table))
            }
            "explain" => {
                self.next += 1;
                let analyze = self.take_word("analyze");
                if !self.is_word("select") {
                    return Err(self.unexpected());
                }
                Ok(Statement::Explain { analyze, query: Box::new(self.select()?) })
            }
            "set" => {
                self.next += 1;
                let name = self.identifier()?;
                if !self.take_symbol("=") {
                    self.expect_word("to")?;
                }
                let Some(Token::Word(value) | Token::String(value) | Token::Integer(value)) =
                    self.peek().cloned()
                else {
                    return Err(self.unexpected());
                };
                self.next += 1;
                Ok(Statement::Set(name, value))
            }
            "drop" => self.drop_table(),
            "begin" | "start" => self.begin(),
            "commit" | "end" => {
                self.next += 1;
                let _ = self.take_word("transaction") || self.take_word("work");
                Ok(Statement::Commit)
            }
            "rollback" | "abort" => {
                self.next += 1;
                let _ = self.take_word("transaction") || self.take_word("work");
                Ok(Statement::Rollback)
            }
            _ => Err(self.unexpected()),
        }
    }
    // ANCHOR_END: statement

    fn begin(&mut self) -> Result<Statement> {
        if self.take_word("start") {
            self.expect_word("transaction")?;
        } else {
            self.expect_word("begin")?;
            let _ = self.take_word("transaction") || self.take_word("work");
        }
        if !self.take_word("isolation") {
            return Ok(Statement::Begin(Isolation::Snapshot));
        }
        self.expect_word("level")?;
        // PostgreSQL's REPEATABLE READ is snapshot isolation. READ
        // COMMITTED, which takes a snapshot per statement, we run as
        // snapshot isolation too: stricter, which the standard allows.
        let level = if self.take_word("serializable") {
            Isolation::Serializable
        } else if self.take_word("snapshot") {
            Isolation::Snapshot
        } else if self.take_word("repeatable") || self.take_word("read") {
            if !(self.take_word("read")
                || self.take_word("committed")
                || self.take_word("uncommitted"))
            {
                return Err(self.unexpected());
            }
            Isolation::Snapshot
        } else {
            return Err(self.unexpected());
        };
        Ok(Statement::Begin(level))
    }

    fn create_index(&mut self) -> Result<Statement> {
        self.expect_word("create")?;
        self.expect_word("index")?;
        let name = self.identifier()?;
        self.expect_word("on")?;
        let table = self.identifier()?;
        self.expect_symbol("(")?;
        let column = self.identifier()?;
        self.expect_symbol(")")?;
        Ok(Statement::CreateIndex { name, table, column })
    }

    fn create_table(&mut self) -> Result<Statement> {
        self.expect_word("create")?;
        self.expect_word("table")?;
        let name = self.identifier()?;
        self.expect_symbol("(")?;
        let columns = self.comma_separated(Self::column_def)?;
        self.expect_symbol(")")?;
        Ok(Statement::CreateTable { name, columns })
    }

    fn column_def(&mut self) -> Result<ColumnDef> {
        let name = self.identifier()?;
        let data_type = self.data_type()?;
        let mut column = ColumnDef { name, data_type, primary_key: false, nullable: true };
        loop {
            if self.take_word("primary") {
                self.expect_word("key")?;
                column.primary_key = true;
                column.nullable = false;
            } else if self.take_word("not") {
                self.expect_word("null")?;
                column.nullable = false;
            } else if !self.take_word("null") {
                return Ok(column);
            }
        }
    }

    fn data_type(&mut self) -> Result<DataType> {
        let Some(Token::Word(word)) = self.peek() else { return Err(self.unexpected()) };
        let data_type = match word.as_str() {
            "integer" | "int" | "bigint" | "smallint" | "int8" | "int4" => DataType::Integer,
            "float" | "real" | "double" | "float8" | "numeric" => DataType::Float,
            "text" | "varchar" | "char" | "string" => DataType::Text,
            "boolean" | "bool" => DataType::Boolean,
            _ => return Err(self.unexpected()),
        };
        let double = word == "double";
        self.next += 1;
        if double {
            let _ = self.take_word("precision");
        }
        if self.take_symbol("(") {
            // VARCHAR(n), NUMERIC(p, s): sizes we accept and ignore.
            self.comma_separated(|p| match p.peek() {
                Some(Token::Integer(_)) => {
                    p.next += 1;
                    Ok(())
                }
                _ => Err(p.unexpected()),
            })?;
            self.expect_symbol(")")?;
        }
        Ok(data_type)
    }

    fn drop_table(&mut self) -> Result<Statement> {
        self.expect_word("drop")?;
        self.expect_word("table")?;
        let if_exists = self.take_word("if");
        if if_exists {
            self.expect_word("exists")?;
        }
        Ok(Statement::DropTable { name: self.identifier()?, if_exists })
    }

    fn insert(&mut self) -> Result<Statement> {
        self.expect_word("insert")?;
        self.expect_word("into")?;
        let table = self.identifier()?;
        let mut columns = None;
        if self.take_symbol("(") {
            columns = Some(self.comma_separated(Self::identifier)?);
            self.expect_symbol(")")?;
        }
        self.expect_word("values")?;
        let rows = self.comma_separated(|p| {
            p.expect_symbol("(")?;
            let row = p.comma_separated(|p| p.expr(1))?;
            p.expect_symbol(")")?;
            Ok(row)
        })?;
        Ok(Statement::Insert { table, columns, rows })
    }

    fn update(&mut self) -> Result<Statement> {
        self.expect_word("update")?;
        let table = self.identifier()?;
        self.expect_word("set")?;
        let set = self.comma_separated(|p| {
            let column = p.identifier()?;
            p.expect_symbol("=")?;
            Ok((column, p.expr(1)?))
        })?;
        let filter = if self.take_word("where") { Some(self.expr(1)?) } else { None };
        Ok(Statement::Update { table, set, filter })
    }

    fn delete(&mut self) -> Result<Statement> {
        self.expect_word("delete")?;
        self.expect_word("from")?;
        let table = self.identifier()?;
        let filter = if self.take_word("where") { Some(self.expr(1)?) } else { None };
        Ok(Statement::Delete { table, filter })
    }

    fn select(&mut self) -> Result<Select> {
        self.expect_word("select")?;
        let items = self.comma_separated(Self::select_item)?;
        let mut from = Vec::new();
        if self.take_word("from") {
            from.push(self.table_reference()?);
            loop {
                if self.take_symbol(",") {
                    from.push(self.table_reference()?);
                } else if ["left", "right", "full", "cross", "natural"]
                    .iter()
                    .any(|w| self.is_word(w))
                {
                    return Err(Error {
                        message: "only inner joins are supported (JOIN … ON, or a comma)".into(),
                        position: Some(self.position()),
                        code: super::error::code::UNSUPPORTED,
                    });
                } else if self.is_word("join") || self.is_word("inner") {
                    let _ = self.take_word("inner");
                    self.expect_word("join")?;
                    let mut item = self.table_reference()?;
                    self.expect_word("on")?;
                    item.on = Some(self.expr(1)?);
                    from.push(item);
                } else {
                    break;
                }
            }
        }
        let filter = if self.take_word("where") { Some(self.expr(1)?) } else { None };
        let mut group_by = Vec::new();
        if self.take_word("group") {
            self.expect_word("by")?;
            group_by = self.comma_separated(|p| p.expr(1))?;
        }
        let having = if self.take_word("having") { Some(self.expr(1)?) } else { None };
        let mut order_by = Vec::new();
        if self.take_word("order") {
            self.expect_word("by")?;
            order_by = self.comma_separated(|p| {
                let expr = p.expr(1)?;
                let order = if p.take_word("desc") {
                    Order::Descending
                } else {
                    let _ = p.take_word("asc");
                    Order::Ascending
                };
                Ok((expr, order))
            })?;
        }
        let mut limit = None;
        let mut offset = None;
        loop {
            if limit.is_none() && self.take_word("limit") {
                limit = Some(if self.take_word("all") {
                    Expr::Literal(Value::Null)
                } else {
                    self.expr(1)?
                });
            } else if offset.is_none() && self.take_word("offset") {
                offset = Some(self.expr(1)?);
            } else {
                break;
            }
        }
        Ok(Select { items, from, filter, group_by, having, order_by, limit, offset })
    }

    fn select_item(&mut self) -> Result<SelectItem> {
        if self.take_symbol("*") {
            return Ok(SelectItem::Wildcard(None));
        }
        // `table.*`
        if matches!(self.peek_at(1), Some(Token::Symbol(".")))
            && matches!(self.peek_at(2), Some(Token::Symbol("*")))
        {
            let table = self.identifier()?;
            self.next += 2;
            return Ok(SelectItem::Wildcard(Some(table)));
        }
        let expr = self.expr(1)?;
        Ok(SelectItem::Expr(expr, self.alias()?))
    }

    /// `AS name`, or a bare name that is not a keyword.
    fn alias(&mut self) -> Result<Option<String>> {
        if self.take_word("as") {
            return Ok(Some(self.identifier()?));
        }
        match self.peek() {
            Some(Token::Word(w)) if !RESERVED.contains(&w.as_str()) => Ok(Some(self.identifier()?)),
            Some(Token::Quoted(_)) => Ok(Some(self.identifier()?)),
            _ => Ok(None),
        }
    }

    /// A table in `FROM`, with its alias if it has one.
    fn table_reference(&mut self) -> Result<FromItem> {
        let table = self.identifier()?;
        let alias = self.alias()?;
        Ok(FromItem { table, alias, on: None })
    }

    /// An expression whose operators all bind at least as tightly as
    /// precedence `min`, nested no deeper than the limit.
    fn expr(&mut self, min: u8) -> Result<Expr> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(too_complex(self.position()));
        }
        let expr = self.climb(min);
        self.depth -= 1;
        expr
    }

    // ANCHOR: expr
    /// Precedence climbing: an operand, then every operator that binds at
    /// least as tightly as `min`.
    fn climb(&mut self, min: u8) -> Result<Expr> {
        // exercise 6.5: begin
        let mut left = self.prefix()?;
        // The level of the comparison (4), or `LIKE` or `BETWEEN` (5), just
        // taken: these do not associate, so another of that level may not
        // follow (`1 < 2 = TRUE`); anything else resets it.
        let mut non_associative = 0;
        loop {
            let negated = self.is_word("not")
                && matches!(self.peek_at(1), Some(Token::Word(w)) if ["between", "in", "like"].contains(&w.as_str()));
            let word = match self.peek_at(usize::from(negated)) {
                Some(Token::Word(w)) => w.clone(),
                _ => String::new(),
            };
            if let Some((op, precedence)) = self.binary_operator() {
                if precedence < min {
                    break;
                }
                if precedence == non_associative {
                    return Err(self.unexpected());
                }
                self.next += 1;
                let right = self.expr(precedence + 1)?;
                left = Expr::Binary(op, Box::new(left), Box::new(right));
                non_associative = if precedence == 4 { 4 } else { 0 };
            } else if word == "is" && 4 >= min {
                self.next += 1;
                let not = self.take_word("not");
                self.expect_word("null")?;
                left = Expr::IsNull(Box::new(left), not);
                non_associative = 0;
            } else if ["between", "in", "like"].contains(&word.as_str()) && 5 >= min {
                if non_associative == 5 {
                    return Err(self.unexpected());
                }
                non_associative = if word == "in" { 0 } else { 5 };
                self.next += 1 + usize::from(negated);
                let expr = Box::new(left);
                left = match word.as_str() {
                    "between" => {
                        let low = Box::new(self.expr(6)?);
                        self.expect_word("and")?;
                        let high = Box::new(self.expr(6)?);
                        Expr::Between { expr, low, high, negated }
                    }
                    "in" => {
                        self.expect_symbol("(")?;
                        let list = self.comma_separated(|p| p.expr(1))?;
                        self.expect_symbol(")")?;
                        Expr::InList { expr, list, negated }
                    }
                    _ => Expr::Like { expr, pattern: Box::new(self.expr(6)?), negated },
                };
            } else {
                break;
            }
        }
        Ok(left)
        // exercise 6.5: end
    }

    /// The binary operator next, if any, and its precedence. (`None` too,
    /// once a statement has more operators than the limit.)
    fn binary_operator(&self) -> Option<(BinaryOp, u8)> {
        if self.operators.get() >= MAX_OPERATORS {
            self.operators.set(MAX_OPERATORS + 1); // noted: the statement is refused
            return None;
        }
        let op = Some(match self.peek()? {
            Token::Word(w) if w == "or" => (BinaryOp::Or, 1),
            Token::Word(w) if w == "and" => (BinaryOp::And, 2),
            Token::Symbol("=") => (BinaryOp::Eq, 4),
            Token::Symbol("!=" | "<>") => (BinaryOp::NotEq, 4),
            Token::Symbol("<") => (BinaryOp::Lt, 4),
            Token::Symbol("<=") => (BinaryOp::LtEq, 4),
            Token::Symbol(">") => (BinaryOp::Gt, 4),
            Token::Symbol(">=") => (BinaryOp::GtEq, 4),
            Token::Symbol("||") => (BinaryOp::Concat, 6),
            Token::Symbol("+") => (BinaryOp::Add, 7),
            Token::Symbol("-") => (BinaryOp::Subtract, 7),
            Token::Symbol("*") => (BinaryOp::Multiply, 8),
            Token::Symbol("/") => (BinaryOp::Divide, 8),
            Token::Symbol("%") => (BinaryOp::Remainder, 8),
            _ => return None,
        });
        self.operators.set(self.operators.get() + 1);
        op
    }

    /// An operand: a prefix operator and what follows it, or a primary.
    fn prefix(&mut self) -> Result<Expr> {
        if self.take_word("not") {
            return Ok(Expr::Unary(UnaryOp::Not, Box::new(self.expr(3)?)));
        }
        if self.take_symbol("-") {
            // `-9223372036854775808` is an integer, though its digits alone
            // are too big for one.
            if let Some(Token::Integer(digits)) = self.peek()
                && let Ok(n) = format!("-{digits}").parse::<i64>()
            {
                self.next += 1;
                return Ok(Expr::Literal(Value::Integer(n)));
            }
            return Ok(Expr::Unary(UnaryOp::Negate, Box::new(self.expr(9)?)));
        }
        if self.take_symbol("+") {
            return self.expr(9);
        }
        self.primary()
    }
    // ANCHOR_END: expr

    fn primary(&mut self) -> Result<Expr> {
        let position = self.position();
        let Some(token) = self.peek().cloned() else { return Err(self.unexpected()) };
        let literal = |value| Ok(Expr::Literal(value));
        match token {
            Token::Integer(digits) => {
                self.next += 1;
                match digits.parse::<i64>() {
                    Ok(n) => literal(Value::Integer(n)),
                    // Too big for an integer: a float, as PostgreSQL makes it numeric.
                    Err(_) => literal(Value::Float(digits.parse().unwrap_or(f64::INFINITY))),
                }
            }
            Token::Float(text) => {
                self.next += 1;
                let x: f64 = text.parse().map_err(|_| Error::at(position, "invalid number"))?;
                literal(Value::Float(x))
            }
            Token::String(s) => {
                self.next += 1;
                literal(Value::Text(s))
            }
            Token::Symbol("(") => {
                self.next += 1;
                let expr = self.expr(1)?;
                self.expect_symbol(")")?;
                Ok(expr)
            }
            Token::Word(w) if w == "null" => {
                self.next += 1;
                literal(Value::Null)
            }
            Token::Word(w) if w == "true" || w == "false" => {
                self.next += 1;
                literal(Value::Boolean(w == "true"))
            }
            Token::Word(w) if matches!(self.peek_at(1), Some(Token::Symbol("("))) => {
                let aggregate = match w.as_str() {
                    "count" => Aggregate::Count,
                    "sum" => Aggregate::Sum,
                    "avg" => Aggregate::Avg,
                    "min" => Aggregate::Min,
                    "max" => Aggregate::Max,
                    _ => {
                        return Err(Error {
                            message: format!("function {w} does not exist"),
                            position: Some(position),
                            code: code::UNDEFINED_FUNCTION,
                        });
                    }
                };
                self.next += 2;
                let argument = if aggregate == Aggregate::Count && self.take_symbol("*") {
                    None
                } else {
                    Some(Box::new(self.expr(1)?))
                };
                self.expect_symbol(")")?;
                Ok(Expr::Aggregate(aggregate, argument))
            }
            Token::Word(_) | Token::Quoted(_) => {
                let first = self.identifier()?;
                if self.take_symbol(".") {
                    let name = self.identifier()?;
                    Ok(Expr::Column { table: Some(first), name, position })
                } else {
                    Ok(Expr::Column { table: None, name: first, position })
                }
            }
            Token::Symbol(_) => Err(self.unexpected()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expr(sql: &str) -> Expr {
        match parse_one(&format!("SELECT {sql}")).unwrap() {
            Statement::Select(select) => match &select.items[0] {
                SelectItem::Expr(e, _) => e.clone(),
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        }
    }

    /// The expression with every operation in parentheses.
    fn grouped(e: &Expr) -> String {
        match e {
            Expr::Literal(v) => v.to_string(),
            Expr::Column { name, .. } => name.clone(),
            Expr::Unary(UnaryOp::Negate, x) => format!("(-{})", grouped(x)),
            Expr::Unary(UnaryOp::Not, x) => format!("(NOT {})", grouped(x)),
            Expr::Binary(op, l, r) => format!("({} {op:?} {})", grouped(l), grouped(r)),
            Expr::IsNull(x, not) => {
                format!("({} IS{} NULL)", grouped(x), if *not { " NOT" } else { "" })
            }
            Expr::Between { expr, low, high, negated } => {
                format!(
                    "({} {}BETWEEN {} AND {})",
                    grouped(expr),
                    if *negated { "NOT " } else { "" },
                    grouped(low),
                    grouped(high)
                )
            }
            Expr::InList { expr, list, negated } => format!(
                "({} {}IN [{}])",
                grouped(expr),
                if *negated { "NOT " } else { "" },
                list.iter().map(grouped).collect::<Vec<_>>().join(", ")
            ),
            Expr::Like { expr, pattern, negated } => {
                format!(
                    "({} {}LIKE {})",
                    grouped(expr),
                    if *negated { "NOT " } else { "" },
                    grouped(pattern)
                )
            }
            Expr::Aggregate(f, arg) => {
                format!("{}({})", f.name(), arg.as_deref().map_or("*".into(), grouped))
            }
        }
    }

    #[test]
    fn precedence_and_associativity() {
        let cases = [
            ("1 + 2 * 3", "(1 Add (2 Multiply 3))"),
            ("1 - 2 - 3", "((1 Subtract 2) Subtract 3)"),
            ("-a * b", "((-a) Multiply b)"),
            ("a OR b AND c", "(a Or (b And c))"),
            ("NOT a = b AND c", "((NOT (a Eq b)) And c)"),
            ("a < b + 1", "(a Lt (b Add 1))"),
            ("a || b = c", "((a Concat b) Eq c)"),
            ("x BETWEEN 1 AND 2 AND y", "((x BETWEEN 1 AND 2) And y)"),
            ("x NOT IN (1, 2 + 3)", "(x NOT IN [1, (2 Add 3)])"),
            ("name NOT LIKE 'a%' OR x IS NOT NULL", "((name NOT LIKE 'a%') Or (x IS NOT NULL))"),
            ("count(*) + sum(x * 2)", "(count(*) Add sum((x Multiply 2)))"),
            ("(1 + 2) * 3", "((1 Add 2) Multiply 3)"),
            ("a = b IS NULL", "((a Eq b) IS NULL)"),
            ("-a IS NULL", "((-a) IS NULL)"),
            ("a < b BETWEEN 1 AND 2", "(a Lt (b BETWEEN 1 AND 2))"),
            ("a || b LIKE c", "((a Concat b) LIKE c)"),
            ("NOT a IN (1) OR b", "((NOT (a IN [1])) Or b)"),
            ("-9223372036854775808", "-9223372036854775808"),
            ("- 2 * 3", "(-2 Multiply 3)"),
            ("a = b IS NULL = c", "(((a Eq b) IS NULL) Eq c)"),
            ("(a < b) = c", "((a Lt b) Eq c)"),
            ("a = NOT b = c", "(a Eq (NOT (b Eq c)))"),
            ("x IN (1) IN (y)", "((x IN [1]) IN [y])"),
        ];
        for (sql, expected) in cases {
            assert_eq!(grouped(&expr(sql)), expected, "{sql}");
        }
    }

    #[test]
    fn statements() {
        let sql = "CREATE TABLE books (id INTEGER PRIMARY KEY, title VARCHAR(100) NOT NULL, price FLOAT);
                   INSERT INTO books (id, title) VALUES (1, 'Dune'), (2, 'Emma');
                   SELECT b.title AS t, count(*) n FROM books b JOIN authors a ON a.id = b.author, shops
                     WHERE price > 2 GROUP BY b.title HAVING count(*) > 1 ORDER BY t DESC, 2 LIMIT 5 OFFSET 1;
                   UPDATE books SET price = price * 2 WHERE id = 1;
                   DELETE FROM books;
                   DROP TABLE IF EXISTS books;
                   BEGIN ISOLATION LEVEL SERIALIZABLE; COMMIT; START TRANSACTION; ROLLBACK";
        let statements = parse(sql).unwrap();
        assert_eq!(statements.len(), 10);
        let Statement::Select(select) = &statements[2].0 else { panic!() };
        assert_eq!(select.from.len(), 3);
        assert_eq!(select.from[1].alias.as_deref(), Some("a"));
        assert!(select.from[1].on.is_some() && select.from[2].on.is_none());
        assert_eq!(select.order_by[0].1, Order::Descending);
        assert!(matches!(&select.items[1], SelectItem::Expr(_, Some(n)) if n == "n"));
        assert_eq!(statements[6].0, Statement::Begin(Isolation::Serializable));
        let Statement::CreateTable { columns, .. } = &statements[0].0 else { panic!() };
        assert!(
            columns[0].primary_key
                && !columns[0].nullable
                && !columns[1].nullable
                && columns[2].nullable
        );
    }

    #[test]
    fn errors_name_the_place() {
        let cases = [
            ("SELECT FROM t", 7, "syntax error at or near \"from\""),
            ("SELECT a FROM", 13, "syntax error at end of input"),
            ("SELECT a b c", 11, "syntax error at or near \"c\""),
            ("INSERT INTO t VALUES (1,)", 24, "syntax error at or near \")\""),
            ("CREATE TABLE t (a BLOB)", 18, "syntax error at or near \"blob\""),
            ("SELECT nosuch(1)", 7, "function nosuch does not exist"),
            ("SELECT 1 SELECT 2", 9, "syntax error at or near \"select\""),
            // Comparisons do not chain, nor do `LIKE` and `BETWEEN`.
            ("SELECT 1 < 2 = TRUE", 13, "syntax error at or near \"=\""),
            ("SELECT a = b AND c = d = e", 23, "syntax error at or near \"=\""),
            ("SELECT a LIKE b NOT LIKE c", 16, "syntax error at or near \"not\""),
            ("SELECT a BETWEEN b AND c IN (d)", 25, "syntax error at or near \"in\""),
            (
                "SELECT * FROM a LEFT JOIN b ON x = y",
                16,
                "only inner joins are supported (JOIN … ON, or a comma)",
            ),
        ];
        for (sql, position, message) in cases {
            let err = parse(sql).unwrap_err();
            assert_eq!((err.position, err.message.as_str()), (Some(position), message), "{sql}");
        }
    }

    #[test]
    fn nesting_and_length_are_bounded() {
        let nested = format!("SELECT {}1{}", "(".repeat(500), ")".repeat(500));
        assert_eq!(parse(&nested).unwrap_err().code, "54001");
        let long = format!("SELECT 1{}", " + 1".repeat(5000));
        assert_eq!(parse(&long).unwrap_err().code, "54001");
        let ok = format!("SELECT 1{}", " + 1".repeat(150));
        assert!(parse(&ok).is_ok());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(sql in "(SELECT|FROM|WHERE|\\(|\\)|,|a|1|'x'|\\+|NOT|AND|IN|IS|NULL|BETWEEN| )*") {
            let _ = parse(&sql);
        }
    }
}
