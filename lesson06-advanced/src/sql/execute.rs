//! Running a statement inside a transaction.
//!
//! A `SELECT` is first checked and planned ([`prepare`]): how each table is
//! read and joined, which the planner chooses ([`plan`], [`join`]). Then
//! it runs ([`run`]): the joined rows, grouped in a hash map, sorted (unless
//! the scan gave them in order), cut to `OFFSET` and `LIMIT`, each step on
//! the whole of the previous step's rows in memory. Other statements read
//! and write rows through the [`catalog`].

use std::collections::HashMap;
use std::time::{Duration, Instant};

use lesson04_indexing::btree::PageStore;

use super::ast::{
    Aggregate, BinaryOp, ColumnDef, Expr, FromItem, Order, Select, SelectItem, Statement, UnaryOp,
};
use super::catalog::{self, Column, Table};
use super::error::{Error, Result, code};
use super::join::{self, Step};
use super::plan::{self, Settings, Wanted};
use super::value::{DataType, Value, arithmetic, concat, encode_key, like};
use super::{explain, stats};
use crate::mvcc::Transaction;

/// What a statement returns.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// A `SELECT`'s result.
    Rows {
        /// The columns' names.
        columns: Vec<String>,
        /// The rows.
        rows: Vec<Vec<Value>>,
    },
    /// What any other statement did: PostgreSQL's *command tag*, such as
    /// `INSERT 0 3` or `CREATE TABLE`.
    Tag(String),
}

/// Executes `statement` in `txn` (not `BEGIN`, `COMMIT` or `ROLLBACK`:
/// the session handles those).
pub fn execute<S: PageStore>(
    txn: &mut Transaction<S>,
    statement: Statement,
    settings: Settings,
) -> Result<Output> {
    match statement {
        Statement::CreateTable { name, columns } => {
            let columns = columns.into_iter().map(column).collect();
            catalog::create(txn, &Table { name, columns, indexes: Vec::new() })?;
            Ok(Output::Tag("CREATE TABLE".into()))
        }
        Statement::DropTable { name, if_exists } => {
            if !catalog::drop(txn, &name)? && !if_exists {
                return Err(Error::new(
                    code::UNDEFINED_TABLE,
                    format!("table \"{name}\" does not exist"),
                ));
            }
            Ok(Output::Tag("DROP TABLE".into()))
        }
        Statement::Insert { table, columns, rows } => insert(txn, &table, columns, rows),
        Statement::Update { table, set, filter } => update(txn, &table, set, filter),
        Statement::Delete { table, filter } => {
            let table = catalog::table(txn, &table)?;
            catalog::guard_schema(txn, &table.name);
            let scope = Scope::of(&table, None);
            if let Some(filter) = &filter {
                check(filter, &scope, None)?;
            }
            let mut deleted = 0;
            for row in catalog::scan(txn, &table)? {
                if matches(filter.as_ref(), &scope, &row)? {
                    catalog::delete(txn, &table, &row)?;
                    deleted += 1;
                }
            }
            Ok(Output::Tag(format!("DELETE {deleted}")))
        }
        Statement::Select(select) => {
            let (columns, rows) = self::select(txn, &select, settings, None)?;
            Ok(Output::Rows { columns, rows })
        }
        Statement::CreateIndex { name, table, column } => {
            let mut table = catalog::table(txn, &table)?;
            catalog::create_index(txn, &mut table, &name, &column)?;
            Ok(Output::Tag("CREATE INDEX".into()))
        }
        Statement::Analyze(name) => {
            let tables = match name {
                Some(name) => vec![catalog::table(txn, &name)?],
                None => catalog::tables(txn)?,
            };
            for table in tables {
                // Statistics of the table as it is: a schema changed
                // meanwhile makes this commit fail, not describe another
                // table.
                catalog::guard_schema(txn, &table.name);
                let rows = catalog::scan(txn, &table)?;
                catalog::set_stats(txn, &table.name, &stats::analyze(&table, &rows));
            }
            Ok(Output::Tag("ANALYZE".into()))
        }
        Statement::Explain { analyze, query } => {
            let lines = explain::explain(txn, &query, settings, analyze)?;
            let rows = lines.into_iter().map(|line| vec![Value::Text(line)]).collect();
            Ok(Output::Rows { columns: vec!["QUERY PLAN".into()], rows })
        }
        Statement::Set(..) => unreachable!("the session keeps its settings"),
        Statement::Begin(_) | Statement::Commit | Statement::Rollback => {
            unreachable!("the session runs transaction statements")
        }
    }
}

fn column(def: ColumnDef) -> Column {
    Column {
        name: def.name,
        data_type: def.data_type,
        primary_key: def.primary_key,
        nullable: def.nullable,
    }
}

fn insert<S: PageStore>(
    txn: &mut Transaction<S>,
    name: &str,
    columns: Option<Vec<String>>,
    rows: Vec<Vec<Expr>>,
) -> Result<Output> {
    let table = catalog::table(txn, name)?;
    catalog::guard_schema(txn, &table.name);
    let targets: Vec<usize> = match &columns {
        None => (0..table.columns.len()).collect(),
        Some(names) => names.iter().map(|n| table.column(n)).collect::<Result<_>>()?,
    };
    distinct_columns(&table, &targets)?;
    let count = rows.len();
    for exprs in rows {
        // Without a column list, values may fill only the first columns:
        // the rest are NULL.
        if exprs.len() > targets.len() || (exprs.len() < targets.len() && columns.is_some()) {
            let more = if exprs.len() > targets.len() {
                "expressions than target columns"
            } else {
                "target columns than expressions"
            };
            return Err(Error::new(code::SYNTAX, format!("INSERT has more {more}")));
        }
        let mut row = vec![Value::Null; table.columns.len()];
        for (&target, expr) in targets.iter().zip(&exprs) {
            row[target] = eval(expr, &Constants)?;
        }
        let row = catalog::conform(&table, row)?;
        catalog::insert(txn, &table, &row)?;
    }
    Ok(Output::Tag(format!("INSERT 0 {count}")))
}

fn update<S: PageStore>(
    txn: &mut Transaction<S>,
    name: &str,
    set: Vec<(String, Expr)>,
    filter: Option<Expr>,
) -> Result<Output> {
    let table = catalog::table(txn, name)?;
    catalog::guard_schema(txn, &table.name);
    let scope = Scope::of(&table, None);
    let targets: Vec<(usize, Expr)> =
        set.into_iter().map(|(c, e)| Ok((table.column(&c)?, e))).collect::<Result<_>>()?;
    distinct_columns(&table, &targets.iter().map(|(i, _)| *i).collect::<Vec<_>>())?;
    for expr in targets.iter().map(|(_, e)| e).chain(&filter) {
        check(expr, &scope, None)?;
    }
    // Compute every new row first, then write: the statement sees the
    // table as it was, whatever order the rows come in.
    let mut changed = Vec::new();
    for row in catalog::scan(txn, &table)? {
        if !matches(filter.as_ref(), &scope, &row)? {
            continue;
        }
        let mut new = row.clone();
        for (target, expr) in &targets {
            let value = eval(expr, &RowEnv { scope: &scope, row: &row })?;
            new[*target] = assigned(value, expr, &scope, table.columns[*target].data_type);
        }
        changed.push((row, catalog::conform(&table, new)?));
    }
    for (old, _) in &changed {
        catalog::delete(txn, &table, old)?;
    }
    for (_, new) in &changed {
        catalog::insert(txn, &table, new)?;
    }
    Ok(Output::Tag(format!("UPDATE {}", changed.len())))
}

/// The value of `expr` as `UPDATE` hands it to the column (of type `to`)
/// to store. PostgreSQL rounds a `double precision` for an integer column
/// half to even (`2.5` is 2, `3.5` is 4), but a `numeric` half away from
/// zero, as [`Value::cast_for`] does. We have no `numeric`: a float is a
/// double if it comes from a `FLOAT` column (`SET i = f / 2`), else from
/// literals (`SET i = 2.5`, `SET i = i * 1.5`), which PostgreSQL reads as
/// numerics.
fn assigned(value: Value, expr: &Expr, scope: &Scope, to: DataType) -> Value {
    match value {
        Value::Float(x) if to == DataType::Integer && reads_float(expr, scope) => {
            Value::Float(x.round_ties_even())
        }
        value => value,
    }
}

/// Whether `expr` reads a `FLOAT` column.
fn reads_float(expr: &Expr, scope: &Scope) -> bool {
    let mut found = false;
    visit_mut(&mut expr.clone(), &mut |e| {
        if let Expr::Column { table, name, position } = e
            && let Ok(i) = scope.resolve(table.as_deref(), name, *position)
        {
            found |= scope.columns[i].2 == DataType::Float;
        }
    });
    found
}

/// Refuses a column named twice in an `INSERT` list or an `UPDATE`'s `SET`.
fn distinct_columns(table: &Table, targets: &[usize]) -> Result<()> {
    for (i, target) in targets.iter().enumerate() {
        if targets[..i].contains(target) {
            let name = &table.columns[*target].name;
            return Err(Error::new("42701", format!("column \"{name}\" specified more than once")));
        }
    }
    Ok(())
}

/// Whether `row` passes every one of `conditions`.
pub(super) fn passes(conditions: &[Expr], scope: &Scope, row: &[Value]) -> Result<bool> {
    for condition in conditions {
        if !matches(Some(condition), scope, row)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The value of `expr` for `row`, whose columns are `scope`'s.
pub(super) fn eval_in(expr: &Expr, scope: &Scope, row: &[Value]) -> Result<Value> {
    eval(expr, &RowEnv { scope, row })
}

/// Whether `row` passes the filter: only a `TRUE` passes; `FALSE` and
/// `NULL` do not.
fn matches(filter: Option<&Expr>, scope: &Scope, row: &[Value]) -> Result<bool> {
    match filter {
        None => Ok(true),
        Some(filter) => Ok(eval(filter, &RowEnv { scope, row })?.truth()? == Some(true)),
    }
}

/// The columns of a relation: for each, the table (or alias) it comes
/// from, its name and its type.
#[derive(Debug, Clone, Default)]
pub(super) struct Scope {
    columns: Vec<(String, String, DataType)>,
    /// The tables known here by an alias, not by their name (`t` in
    /// `FROM t u`): `t.id` is then an error of its own in PostgreSQL.
    aliased: Vec<String>,
}

impl Scope {
    /// The columns of `table`, called `alias` (or its name).
    pub(super) fn of(table: &Table, alias: Option<&str>) -> Self {
        let from = alias.unwrap_or(&table.name).to_string();
        Scope {
            columns: table
                .columns
                .iter()
                .map(|c| (from.clone(), c.name.clone(), c.data_type))
                .collect(),
            aliased: if from == table.name { Vec::new() } else { vec![table.name.clone()] },
        }
    }

    /// The first `n` columns: those of the tables up to a join, which its
    /// `ON` sees.
    fn first(&self, n: usize) -> Scope {
        Scope { columns: self.columns[..n].to_vec(), aliased: self.aliased.clone() }
    }

    /// These columns, then `other`'s.
    pub(super) fn extend(&mut self, other: &Scope) {
        self.columns.extend(other.columns.iter().cloned());
        self.aliased.extend(other.aliased.iter().cloned());
    }

    /// The index of column `name`, qualified by `table` or not.
    fn resolve(&self, table: Option<&str>, name: &str, position: usize) -> Result<usize> {
        let mut found = self
            .columns
            .iter()
            .enumerate()
            .filter(|(_, (t, n, _))| n == name && table.is_none_or(|table| table == t));
        let Some((i, _)) = found.next() else {
            if let Some(table) = table.filter(|t| !self.columns.iter().any(|(from, ..)| from == t))
            {
                return Err(Error { position: Some(position), ..self.no_table(table) });
            }
            let shown = table.map_or(name.to_string(), |t| format!("{t}.{name}"));
            return Err(Error {
                message: format!("column \"{shown}\" does not exist"),
                position: Some(position),
                code: code::UNDEFINED_COLUMN,
            });
        };
        if found.next().is_some() {
            return Err(Error {
                message: format!("column reference \"{name}\" is ambiguous"),
                position: Some(position),
                code: code::AMBIGUOUS_COLUMN,
            });
        }
        Ok(i)
    }

    /// PostgreSQL's error for `table.column` (or `table.*`) when no table
    /// here is called `table`.
    fn no_table(&self, table: &str) -> Error {
        let message = if self.aliased.iter().any(|t| t == table) {
            format!("invalid reference to FROM-clause entry for table \"{table}\"")
        } else {
            format!("missing FROM-clause entry for table \"{table}\"")
        };
        Error::new(code::UNDEFINED_TABLE, message)
    }
}

/// What an expression's columns and aggregates mean where it is
/// evaluated.
trait Env {
    /// The value of `expr` if this environment knows it as a whole (a
    /// column, an aggregate, a grouped expression), else `None`.
    fn lookup(&self, expr: &Expr) -> Option<Result<Value>>;
}

/// Expressions of constants only: `VALUES`, `LIMIT`.
struct Constants;

impl Env for Constants {
    fn lookup(&self, expr: &Expr) -> Option<Result<Value>> {
        match expr {
            Expr::Column { name, position, .. } => Some(Err(Error {
                message: format!("cannot use column reference \"{name}\" here"),
                position: Some(*position),
                code: code::UNDEFINED_COLUMN,
            })),
            Expr::Aggregate(..) => Some(Err(aggregate_not_allowed())),
            _ => None,
        }
    }
}

fn aggregate_not_allowed() -> Error {
    Error::new(code::GROUPING, "aggregate functions are not allowed here")
}

/// A row of a relation.
struct RowEnv<'a> {
    scope: &'a Scope,
    row: &'a [Value],
}

impl Env for RowEnv<'_> {
    fn lookup(&self, expr: &Expr) -> Option<Result<Value>> {
        match expr {
            Expr::Column { table, name, position } => Some(
                self.scope.resolve(table.as_deref(), name, *position).map(|i| self.row[i].clone()),
            ),
            Expr::Aggregate(..) => Some(Err(aggregate_not_allowed())),
            _ => None,
        }
    }
}

/// A group of rows: its `GROUP BY` values and its aggregates.
struct GroupEnv<'a> {
    group_by: &'a [Expr],
    key: &'a [Value],
    aggregates: &'a [Expr],
    values: &'a [Value],
}

impl Env for GroupEnv<'_> {
    fn lookup(&self, expr: &Expr) -> Option<Result<Value>> {
        if let Some(i) = self.group_by.iter().position(|g| same(g, expr)) {
            return Some(Ok(self.key[i].clone()));
        }
        if let Some(i) = self.aggregates.iter().position(|a| same(a, expr)) {
            return Some(Ok(self.values[i].clone()));
        }
        match expr {
            Expr::Column { name, position, .. } => Some(Err(Error {
                message: format!(
                    "column \"{name}\" must appear in the GROUP BY clause or be used in an aggregate function"
                ),
                position: Some(*position),
                code: code::GROUPING,
            })),
            _ => None,
        }
    }
}

/// Whether two expressions are the same, ignoring where they were
/// written, and whether a column was qualified by its table.
fn same(a: &Expr, b: &Expr) -> bool {
    unplaced(a) == unplaced(b)
}

/// `expr` with every column's position and table forgotten.
fn unplaced(expr: &Expr) -> Expr {
    let mut expr = expr.clone();
    visit_mut(&mut expr, &mut |e| {
        if let Expr::Column { table, position, .. } = e {
            *table = None;
            *position = 0;
        }
    });
    expr
}

/// Calls `f` on `expr` and every expression inside it.
fn visit_mut(expr: &mut Expr, f: &mut impl FnMut(&mut Expr)) {
    f(expr);
    match expr {
        Expr::Literal(_) | Expr::Column { .. } | Expr::Aggregate(_, None) => {}
        Expr::Unary(_, x) | Expr::IsNull(x, _) | Expr::Aggregate(_, Some(x)) => visit_mut(x, f),
        Expr::Binary(_, l, r) | Expr::Like { expr: l, pattern: r, .. } => {
            visit_mut(l, f);
            visit_mut(r, f);
        }
        Expr::Between { expr, low, high, .. } => {
            for x in [expr, low, high] {
                visit_mut(x, f);
            }
        }
        Expr::InList { expr, list, .. } => {
            visit_mut(expr, f);
            for x in list {
                visit_mut(x, f);
            }
        }
    }
}

/// Checks, before any row is read, that every column `expr` names exists
/// in `scope` (PostgreSQL reports a misspelt column on an empty table too);
/// in a grouped query (`group_by` given), that every column is grouped or
/// inside an aggregate.
fn check(expr: &Expr, scope: &Scope, group_by: Option<&[Expr]>) -> Result<()> {
    if let Some(group_by) = group_by
        && group_by.iter().any(|g| same(g, expr))
    {
        return check(expr, scope, None);
    }
    match expr {
        Expr::Column { table, name, position } => {
            scope.resolve(table.as_deref(), name, *position)?;
            match group_by {
                None => Ok(()),
                Some(_) => Err(Error {
                    message: format!(
                        "column \"{name}\" must appear in the GROUP BY clause or be used in an aggregate function"
                    ),
                    position: Some(*position),
                    code: code::GROUPING,
                }),
            }
        }
        Expr::Literal(_) => Ok(()),
        Expr::Aggregate(_, argument) => {
            argument.as_deref().map_or(Ok(()), |a| check(a, scope, None))
        }
        Expr::Unary(_, x) | Expr::IsNull(x, _) => check(x, scope, group_by),
        Expr::Binary(_, l, r) | Expr::Like { expr: l, pattern: r, .. } => {
            check(l, scope, group_by)?;
            check(r, scope, group_by)
        }
        Expr::Between { expr, low, high, .. } => {
            [expr, low, high].into_iter().try_for_each(|x| check(x, scope, group_by))
        }
        Expr::InList { expr, list, .. } => {
            check(expr, scope, group_by)?;
            list.iter().try_for_each(|x| check(x, scope, group_by))
        }
    }
}

// ANCHOR: eval
/// The value of `expr` in `env`, with SQL's three-valued logic: `NULL`
/// means unknown, and unknown propagates, except where the answer is known
/// whatever the unknown is (`FALSE AND NULL` is `FALSE`).
fn eval(expr: &Expr, env: &dyn Env) -> Result<Value> {
    if let Some(value) = env.lookup(expr) {
        return value;
    }
    Ok(match expr {
        Expr::Literal(value) => value.clone(),
        Expr::Column { .. } | Expr::Aggregate(..) => {
            unreachable!("every environment looks these up")
        }
        Expr::Unary(UnaryOp::Not, x) => match eval(x, env)?.truth()? {
            Some(b) => Value::Boolean(!b),
            None => Value::Null,
        },
        Expr::Unary(UnaryOp::Negate, x) => match eval(x, env)? {
            Value::Integer(n) => Value::Integer(
                n.checked_neg()
                    .ok_or_else(|| Error::new(code::OUT_OF_RANGE, "bigint out of range"))?,
            ),
            Value::Float(x) => Value::Float(-x),
            Value::Null => Value::Null,
            other => {
                return Err(Error::new(
                    code::DATATYPE_MISMATCH,
                    format!("cannot negate {}", other.to_text()),
                ));
            }
        },
        // The right side is not evaluated when the left decides: in
        // `id <> 1 AND 10 / (id - 1) > 0` the division never sees a zero.
        Expr::Binary(BinaryOp::And, l, r) => match eval(l, env)?.truth()? {
            Some(false) => Value::Boolean(false),
            left => match (left, eval(r, env)?.truth()?) {
                (_, Some(false)) => Value::Boolean(false),
                (Some(true), Some(true)) => Value::Boolean(true),
                _ => Value::Null,
            },
        },
        Expr::Binary(BinaryOp::Or, l, r) => match eval(l, env)?.truth()? {
            Some(true) => Value::Boolean(true),
            left => match (left, eval(r, env)?.truth()?) {
                (_, Some(true)) => Value::Boolean(true),
                (Some(false), Some(false)) => Value::Boolean(false),
                _ => Value::Null,
            },
        },
        Expr::Binary(op, l, r) => binary(*op, &eval(l, env)?, &eval(r, env)?)?,
        Expr::IsNull(x, negated) => Value::Boolean((eval(x, env)? == Value::Null) != *negated),
        Expr::Between { expr, low, high, negated } => {
            let x = eval(expr, env)?;
            let above = binary(BinaryOp::GtEq, &x, &eval(low, env)?)?;
            let below = binary(BinaryOp::LtEq, &x, &eval(high, env)?)?;
            let within = match (above.truth()?, below.truth()?) {
                (Some(false), _) | (_, Some(false)) => Some(false),
                (Some(true), Some(true)) => Some(true),
                _ => None,
            };
            negate(within, *negated)
        }
        Expr::InList { expr, list, negated } => {
            let x = eval(expr, env)?;
            let mut found = Some(false);
            for item in list {
                match binary(BinaryOp::Eq, &x, &eval(item, env)?)?.truth()? {
                    Some(true) => {
                        found = Some(true);
                        break;
                    }
                    None => found = None,
                    Some(false) => {}
                }
            }
            negate(found, *negated)
        }
        Expr::Like { expr, pattern, negated } => match (eval(expr, env)?, eval(pattern, env)?) {
            (Value::Null, _) | (_, Value::Null) => Value::Null,
            (Value::Text(text), Value::Text(pattern)) => {
                Value::Boolean(like_checked(&text, &pattern)? != *negated)
            }
            (a, b) => {
                return Err(Error::new(
                    code::DATATYPE_MISMATCH,
                    format!("LIKE needs text, not {} and {}", a.to_text(), b.to_text()),
                ));
            }
        },
    })
}
// ANCHOR_END: eval

/// [`like`], and PostgreSQL's error for a pattern that ends with a `\`
/// escaping nothing. Such a pattern never matches, and PostgreSQL's
/// matcher reports it only if it gets to the `\` with text left over:
/// when the pattern before the `\` matches a start of the text that is not
/// all of it. So `'ab' LIKE 'a\'` is the error; `'a' LIKE 'a\'` and
/// `'b' LIKE 'a\'` are false.
fn like_checked(text: &str, pattern: &str) -> Result<bool> {
    let escapes = pattern.chars().rev().take_while(|c| *c == '\\').count();
    if escapes % 2 == 0 {
        return Ok(like(text, pattern));
    }
    let head = &pattern[..pattern.len() - 1];
    if like(text, &format!("{head}_%")) {
        return Err(Error::new("22025", "LIKE pattern must not end with escape character"));
    }
    Ok(false)
}

fn negate(truth: Option<bool>, negated: bool) -> Value {
    truth.map_or(Value::Null, |b| Value::Boolean(b != negated))
}

fn binary(op: BinaryOp, a: &Value, b: &Value) -> Result<Value> {
    use std::cmp::Ordering::*;
    let compare = |test: fn(std::cmp::Ordering) -> bool| -> Result<Value> {
        Ok(a.compare(b)?.map_or(Value::Null, |o| Value::Boolean(test(o))))
    };
    match op {
        BinaryOp::Eq => compare(|o| o == Equal),
        BinaryOp::NotEq => compare(|o| o != Equal),
        BinaryOp::Lt => compare(|o| o == Less),
        BinaryOp::LtEq => compare(|o| o != Greater),
        BinaryOp::Gt => compare(|o| o == Greater),
        BinaryOp::GtEq => compare(|o| o != Less),
        BinaryOp::Add => arithmetic('+', a, b),
        BinaryOp::Subtract => arithmetic('-', a, b),
        BinaryOp::Multiply => arithmetic('*', a, b),
        BinaryOp::Divide => arithmetic('/', a, b),
        BinaryOp::Remainder => arithmetic('%', a, b),
        BinaryOp::Concat => concat(a, b),
        BinaryOp::And | BinaryOp::Or => unreachable!("evaluated with three-valued logic"),
    }
}

/// The scope of the `FROM` clause: every table's columns, each named by
/// the table's alias (or name).
fn scope_of<S: PageStore>(
    txn: &mut Transaction<S>,
    items: &[FromItem],
) -> Result<(Scope, Vec<Table>)> {
    let mut scope = Scope::default();
    let mut tables = Vec::new();
    for item in items {
        let table = catalog::table(txn, &item.table)?;
        let name = item.alias.as_deref().unwrap_or(&item.table);
        if scope.columns.iter().any(|(t, _, _)| t == name) {
            return Err(Error::new(
                "42712",
                format!("table name \"{name}\" specified more than once"),
            ));
        }
        scope.extend(&Scope::of(&table, Some(name)));
        tables.push(table);
    }
    Ok((scope, tables))
}

/// `expr` split at its top-level `AND`s.
pub(super) fn conjuncts(expr: &Expr) -> Vec<Expr> {
    match expr {
        Expr::Binary(BinaryOp::And, l, r) => {
            let mut out = conjuncts(l);
            out.extend(conjuncts(r));
            out
        }
        other => vec![other.clone()],
    }
}

/// `expr` with each unqualified column named by the table it resolves to
/// in `scope`.
fn qualified(expr: &Expr, scope: &Scope) -> Expr {
    let mut out = expr.clone();
    visit_mut(&mut out, &mut |e| {
        if let Expr::Column { table: table @ None, name, position } = e
            && let Ok(i) = scope.resolve(None, name, *position)
        {
            *table = Some(scope.columns[i].0.clone());
        }
    });
    out
}

/// The `FROM` items whose columns `expr` names.
fn items_named(expr: &Expr, scope: &Scope, widths: &[usize]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut copy = expr.clone();
    visit_mut(&mut copy, &mut |e| {
        if let Expr::Column { table, name, position } = e
            && let Ok(i) = scope.resolve(table.as_deref(), name, *position)
        {
            let mut start = 0;
            for (item, width) in widths.iter().enumerate() {
                if i < start + width {
                    if !out.contains(&item) {
                        out.push(item);
                    }
                    break;
                }
                start += width;
            }
        }
    });
    out
}

// ANCHOR: query
/// A `SELECT`, checked and planned: how its tables are read and joined,
/// and what is left to do with the rows.
#[derive(Debug)]
pub(super) struct Query {
    /// The columns of the `FROM` clause's tables, in its order.
    pub scope: Scope,
    /// The select list, with `*` spelled out, and each item's alias.
    pub items: Vec<(Expr, Option<String>)>,
    /// The output columns' names.
    pub columns: Vec<String>,
    /// The `GROUP BY` keys.
    pub group_by: Vec<Expr>,
    /// The aggregates of the select list, `HAVING` and `ORDER BY`.
    pub aggregates: Vec<Expr>,
    /// Whether the rows are grouped (by keys, or all in one group).
    pub grouped: bool,
    /// The tables in the order they are joined, each with its scan and
    /// its join.
    pub steps: Vec<Step>,
    /// The `WHERE`'s conditions that no scan or join checks: those of a
    /// `SELECT` without tables.
    pub filter: Vec<Expr>,
    /// Whether the scan gives the rows in `ORDER BY`'s order, so that no
    /// sort is needed.
    pub sorted: bool,
    /// The rows the scan may stop after (`LIMIT` + `OFFSET`), when nothing
    /// between the scan and the limit changes which rows come first.
    pub stop_after: Option<usize>,
    /// `OFFSET`'s rows.
    pub offset: usize,
    /// `LIMIT`'s rows, if it has one.
    pub limit: Option<usize>,
}
// ANCHOR_END: query

// ANCHOR: prepare
/// Checks a `SELECT` (every name and grouping rule, whether or not any row
/// comes) and plans it. Each condition of the `WHERE` and the `ON`s goes
/// to the one table it names (it is *pushed down* to that table's scan)
/// or, if it names several, to the join that first has them all.
pub(super) fn prepare<S: PageStore>(
    txn: &mut Transaction<S>,
    select: &Select,
    settings: Settings,
) -> Result<Query> {
    let (scope, tables) = scope_of(txn, &select.from)?;
    let items = select_items(select, &scope)?;
    let columns: Vec<String> = items.iter().map(|(e, a)| header(e, a.as_ref())).collect();
    let group_by = group_keys(select, &items, &columns, &scope)?;
    let mut aggregates = Vec::new();
    for expr in items
        .iter()
        .map(|(e, _)| e)
        .chain(&select.having)
        .chain(select.order_by.iter().map(|(e, _)| e))
    {
        aggregates_in(expr, &mut aggregates)?;
    }
    let grouped = !group_by.is_empty() || !aggregates.is_empty() || select.having.is_some();
    check_clauses(select, &scope, &tables, &items, &columns, &group_by, grouped)?;
    // Each condition to its table, or to the joins.
    let widths: Vec<usize> = tables.iter().map(|t| t.columns.len()).collect();
    let mut pushed: Vec<Vec<Expr>> = vec![Vec::new(); tables.len()];
    let mut joins = Vec::new();
    let mut filter = Vec::new();
    // An `ON` sees only the tables up to its own: its columns are named
    // by the table they come from there, so that a later table's column
    // of the same name cannot take them over wherever the planner moves
    // the condition.
    let mut ons = Vec::new();
    let mut width = 0;
    for (item, table) in select.from.iter().zip(&tables) {
        width += table.columns.len();
        if let Some(on) = &item.on {
            ons.push(qualified(on, &scope.first(width)));
        }
    }
    for condition in select.filter.iter().chain(&ons).flat_map(conjuncts) {
        match items_named(&condition, &scope, &widths)[..] {
            // A constant: checked on the first table's rows, if any.
            [] if tables.is_empty() => filter.push(condition),
            [] => pushed[0].push(condition),
            [item] => pushed[item].push(condition),
            ref several => joins.push(join::Condition { items: several.to_vec(), expr: condition }),
        }
    }
    // One table, not grouped: its scan may give the order and stop early.
    let offset = count(select.offset.as_ref(), "OFFSET")?.unwrap_or(0);
    let limit = count(select.limit.as_ref(), "LIMIT")?;
    let alone = tables.len() == 1 && !grouped;
    let order = tables.first().filter(|_| alone).and_then(|table| {
        let name = select.from[0].alias.as_deref().unwrap_or(&table.name);
        order_column(select, &items, &columns, table, name)
    });
    let mut wanted = Wanted { order, rows: None };
    if alone && (select.order_by.is_empty() || order.is_some()) {
        wanted.rows = limit.map(|l| l.saturating_add(offset));
    }
    let mut scans = Vec::new();
    for ((item, table), conditions) in select.from.iter().zip(&tables).zip(pushed) {
        let name = item.alias.as_deref().unwrap_or(&item.table);
        let wanted = if alone { wanted } else { Wanted::default() };
        scans.push(plan::plan_scan(txn, table, name, conditions, settings, wanted)?);
    }
    let sorted = order.is_some() && scans.first().is_some_and(|s| s.ordered);
    let stop_after = wanted.rows.filter(|_| select.order_by.is_empty() || sorted);
    let steps = join::plan(scans, &joins, settings);
    Ok(Query {
        scope,
        items,
        columns,
        group_by,
        aggregates,
        grouped,
        steps,
        filter,
        sorted,
        stop_after,
        offset,
        limit,
    })
}
// ANCHOR_END: prepare

/// The select list, with `*` spelled out.
fn select_items(select: &Select, scope: &Scope) -> Result<Vec<(Expr, Option<String>)>> {
    let mut items: Vec<(Expr, Option<String>)> = Vec::new();
    for item in &select.items {
        match item {
            SelectItem::Expr(expr, alias) => items.push((expr.clone(), alias.clone())),
            SelectItem::Wildcard(None) if select.from.is_empty() => {
                let message = "SELECT * with no tables specified is not valid";
                return Err(Error::new(code::SYNTAX, message));
            }
            SelectItem::Wildcard(table) => {
                let before = items.len();
                for (t, name, _) in &scope.columns {
                    if table.as_ref().is_none_or(|table| table == t) {
                        let column = Expr::Column {
                            table: Some(t.clone()),
                            name: name.clone(),
                            position: 0,
                        };
                        items.push((column, None));
                    }
                }
                if let Some(table) = table.as_ref().filter(|_| items.len() == before) {
                    return Err(scope.no_table(table));
                }
            }
        }
    }
    Ok(items)
}

/// Checks every name of the `WHERE`, the `ON`s, `GROUP BY`, the select
/// list, `HAVING` and `ORDER BY`, and the grouping rules, before any row
/// is read.
fn check_clauses(
    select: &Select,
    scope: &Scope,
    tables: &[Table],
    items: &[(Expr, Option<String>)],
    columns: &[String],
    group_by: &[Expr],
    grouped: bool,
) -> Result<()> {
    let no_aggregates = |expr: &Expr, clause: &str| -> Result<()> {
        let mut found = Vec::new();
        aggregates_in(expr, &mut found)?;
        if found.is_empty() {
            return Ok(());
        }
        let message = format!("aggregate functions are not allowed in {clause}");
        Err(Error::new(code::GROUPING, message))
    };
    if let Some(filter) = &select.filter {
        check(filter, scope, None)?;
        no_aggregates(filter, "WHERE")?;
    }
    // An `ON` sees the tables up to its own, not those after.
    let mut width = 0;
    for (item, table) in select.from.iter().zip(tables) {
        width += table.columns.len();
        if let Some(on) = &item.on {
            check(on, &scope.first(width), None)?;
            no_aggregates(on, "JOIN conditions")?;
        }
    }
    for key in group_by {
        check(key, scope, None)?;
        no_aggregates(key, "GROUP BY")?;
    }
    let grouping = grouped.then_some(group_by);
    for expr in items.iter().map(|(e, _)| e).chain(&select.having) {
        check(expr, scope, grouping)?;
    }
    for (key, _) in &select.order_by {
        check_order_key(key, scope, items, columns, grouping)?;
    }
    Ok(())
}

/// The column of `table` (called `name`) that `ORDER BY` sorts by, if it
/// sorts by one column of it (named, or an output column that is one),
/// and whether descending.
fn order_column(
    select: &Select,
    items: &[(Expr, Option<String>)],
    columns: &[String],
    table: &Table,
    name: &str,
) -> Option<(usize, bool)> {
    let [(key, order)] = &select.order_by[..] else { return None };
    // As `sort_key` reads it: a position, an output column's name, or an
    // expression over the input.
    let expr = match key {
        Expr::Literal(Value::Integer(n)) => {
            &items.get(usize::try_from(*n).ok()?.checked_sub(1)?)?.0
        }
        Expr::Column { table: None, name, .. } if columns.contains(name) => {
            &items[columns.iter().position(|c| c == name).expect("contained")].0
        }
        other => other,
    };
    Some((plan::column_of(table, name, expr)?, *order == Order::Descending))
}

/// The aggregates in `expr`, added to `out` once each.
pub(super) fn aggregates_in(expr: &Expr, out: &mut Vec<Expr>) -> Result<()> {
    match expr {
        Expr::Aggregate(_, argument) => {
            if let Some(argument) = argument {
                let mut inner = Vec::new();
                aggregates_in(argument, &mut inner)?;
                if !inner.is_empty() {
                    return Err(Error::new(
                        code::GROUPING,
                        "aggregate function calls cannot be nested",
                    ));
                }
            }
            if !out.iter().any(|a| same(a, expr)) {
                out.push(expr.clone());
            }
        }
        Expr::Literal(_) | Expr::Column { .. } => {}
        Expr::Unary(_, x) | Expr::IsNull(x, _) => aggregates_in(x, out)?,
        Expr::Binary(_, l, r) | Expr::Like { expr: l, pattern: r, .. } => {
            aggregates_in(l, out)?;
            aggregates_in(r, out)?;
        }
        Expr::Between { expr, low, high, .. } => {
            for x in [expr, low, high] {
                aggregates_in(x, out)?;
            }
        }
        Expr::InList { expr, list, .. } => {
            aggregates_in(expr, out)?;
            for x in list {
                aggregates_in(x, out)?;
            }
        }
    }
    Ok(())
}

/// One aggregate over the rows of a group.
fn aggregate(expr: &Expr, scope: &Scope, rows: &[&Vec<Value>]) -> Result<Value> {
    let Expr::Aggregate(function, argument) = expr else { unreachable!("an aggregate") };
    let Some(argument) = argument else { return Ok(Value::Integer(rows.len() as i64)) };
    let mut values = Vec::new();
    for row in rows {
        let value = eval(argument, &RowEnv { scope, row })?;
        if value != Value::Null {
            values.push(value); // aggregates skip NULLs
        }
    }
    if *function == Aggregate::Count {
        return Ok(Value::Integer(values.len() as i64));
    }
    let Some(first) = values.first().cloned() else { return Ok(Value::Null) };
    // PostgreSQL has `sum` and `avg` of numbers only, and `min` and `max` of
    // anything but booleans.
    let defined = match function {
        Aggregate::Sum | Aggregate::Avg => matches!(first, Value::Integer(_) | Value::Float(_)),
        _ => !matches!(first, Value::Boolean(_)),
    };
    if !defined {
        let argument = first.data_type().expect("not NULL").name();
        let message = format!("function {}({argument}) does not exist", function.name());
        return Err(Error::new(code::UNDEFINED_FUNCTION, message));
    }
    Ok(match function {
        Aggregate::Count => unreachable!("counted above"),
        Aggregate::Sum | Aggregate::Avg => {
            let sum = values[1..].iter().try_fold(first, |sum, v| arithmetic('+', &sum, v))?;
            if *function == Aggregate::Sum {
                sum
            } else {
                arithmetic(
                    '/',
                    &arithmetic('*', &sum, &Value::Float(1.0))?,
                    &Value::Integer(values.len() as i64),
                )?
            }
        }
        Aggregate::Min | Aggregate::Max => {
            let mut best = first;
            for v in &values[1..] {
                let ordering = v.compare(&best)?.expect("no NULLs here");
                if (ordering.is_lt() && *function == Aggregate::Min)
                    || (ordering.is_gt() && *function == Aggregate::Max)
                {
                    best = v.clone();
                }
            }
            best
        }
    })
}

/// A column header for a select item, as PostgreSQL names it.
fn header(expr: &Expr, alias: Option<&String>) -> String {
    match (alias, expr) {
        (Some(alias), _) => alias.clone(),
        (None, Expr::Column { name, .. }) => name.clone(),
        (None, Expr::Aggregate(f, _)) => f.name().to_string(),
        _ => "?column?".to_string(),
    }
}

/// What `EXPLAIN ANALYZE` measures: rows and time of each step.
#[derive(Debug, Default)]
pub(super) struct Profile {
    /// Each table's scan and join, in join order.
    pub steps: Vec<join::StepProfile>,
    /// The conditions of a `SELECT` without tables.
    pub filter: Option<(usize, Duration)>,
    /// Grouping and aggregates.
    pub group: Option<(usize, Duration)>,
    /// The sort.
    pub sort: Option<(usize, Duration)>,
    /// The limit.
    pub limit: Option<(usize, Duration)>,
}

// ANCHOR: select
/// Runs a `SELECT`: plans it, then from, where, group by, having, select
/// list, order by, offset and limit, in that order.
pub(super) fn select<S: PageStore>(
    txn: &mut Transaction<S>,
    select: &Select,
    settings: Settings,
    profile: Option<&mut Profile>,
) -> Result<(Vec<String>, Vec<Vec<Value>>)> {
    let query = prepare(txn, select, settings)?;
    run(txn, select, &query, profile)
}

/// Runs a planned `SELECT`.
pub(super) fn run<S: PageStore>(
    txn: &mut Transaction<S>,
    select: &Select,
    query: &Query,
    mut profile: Option<&mut Profile>,
) -> Result<(Vec<String>, Vec<Vec<Value>>)> {
    let Query { scope, items, columns, group_by, aggregates, grouped, .. } = query;
    let rows = if query.steps.is_empty() {
        vec![Vec::new()] // `SELECT 1` has one row
    } else {
        let steps = profile.as_deref_mut().map(|p| &mut p.steps);
        join::run(txn, &query.steps, query.stop_after, steps)?
    };
    let started = Instant::now();
    let mut filtered = Vec::new();
    for row in rows {
        if passes(&query.filter, scope, &row)? {
            filtered.push(row);
        }
    }
    if let Some(profile) = profile.as_deref_mut()
        && !query.filter.is_empty()
    {
        profile.filter = Some((filtered.len(), started.elapsed()));
    }
    // Each output row with its sort keys.
    let mut output: Vec<(Vec<Value>, Vec<Value>)> = Vec::new();
    let mut emit = |env: &dyn Env| -> Result<()> {
        let values = items.iter().map(|(e, _)| eval(e, env)).collect::<Result<Vec<_>>>()?;
        let keys = select
            .order_by
            .iter()
            .map(|(e, _)| sort_key(e, columns, &values, env))
            .collect::<Result<Vec<_>>>()?;
        output.push((values, keys));
        Ok(())
    };
    let started = Instant::now();
    if *grouped {
        for (key, members) in groups(group_by, scope, &filtered)? {
            let values = aggregates
                .iter()
                .map(|a| aggregate(a, scope, &members))
                .collect::<Result<Vec<_>>>()?;
            let env = GroupEnv { group_by, key: &key, aggregates, values: &values };
            if let Some(having) = &select.having
                && eval(having, &env)?.truth()? != Some(true)
            {
                continue;
            }
            emit(&env)?;
        }
    } else {
        for row in &filtered {
            emit(&RowEnv { scope, row })?;
        }
    }
    if let Some(profile) = profile.as_deref_mut()
        && *grouped
    {
        profile.group = Some((output.len(), started.elapsed()));
    }
    let started = Instant::now();
    if !query.sorted {
        // A stable sort: rows equal on every key keep the order they came in.
        output.sort_by(|(_, a), (_, b)| {
            a.iter()
                .zip(b)
                .zip(&select.order_by)
                .map(|((x, y), (_, order))| match order {
                    Order::Ascending => x.sort_cmp(y),
                    Order::Descending => y.sort_cmp(x),
                })
                .find(|o| o.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        if let Some(profile) = profile.as_deref_mut()
            && !select.order_by.is_empty()
        {
            profile.sort = Some((output.len(), started.elapsed()));
        }
    }
    let started = Instant::now();
    let limit = query.limit.unwrap_or(usize::MAX);
    let rows: Vec<Vec<Value>> =
        output.into_iter().skip(query.offset).take(limit).map(|(values, _)| values).collect();
    if let Some(profile) = profile
        && (select.limit.is_some() || select.offset.is_some())
    {
        profile.limit = Some((rows.len(), started.elapsed()));
    }
    Ok((columns.clone(), rows))
}
// ANCHOR_END: select

/// Groups: each one's `GROUP BY` values and its rows.
type Groups<'r> = Vec<(Vec<Value>, Vec<&'r Vec<Value>>)>;

/// The rows grouped by the values of `group_by`, in the order each group
/// was first seen; all rows in one group when there is no `GROUP BY` (an
/// aggregate over no rows still gives one row: `COUNT(*)` is 0).
fn groups<'r>(group_by: &[Expr], scope: &Scope, rows: &'r [Vec<Value>]) -> Result<Groups<'r>> {
    if group_by.is_empty() {
        return Ok(vec![(Vec::new(), rows.iter().collect())]);
    }
    let mut out: Groups<'r> = Vec::new();
    let mut index: HashMap<Vec<u8>, usize> = HashMap::new();
    for row in rows {
        let key =
            group_by.iter().map(|e| eval(e, &RowEnv { scope, row })).collect::<Result<Vec<_>>>()?;
        // Values as bytes, to hash: NULLs group together, as SQL says.
        let mut bytes = Vec::new();
        for value in &key {
            encode_key(value, &mut bytes);
        }
        let i = *index.entry(bytes).or_insert_with(|| {
            out.push((key, Vec::new()));
            out.len() - 1
        });
        out[i].1.push(row);
    }
    Ok(out)
}

/// The `GROUP BY` keys as expressions: `GROUP BY 2` is the second output
/// column's, and a name that is no input column but an output column's is
/// that one's, as PostgreSQL allows.
fn group_keys(
    select: &Select,
    items: &[(Expr, Option<String>)],
    columns: &[String],
    scope: &Scope,
) -> Result<Vec<Expr>> {
    select
        .group_by
        .iter()
        .map(|key| match key {
            Expr::Literal(Value::Integer(n)) => usize::try_from(*n)
                .ok()
                .filter(|i| (1..=items.len()).contains(i))
                .map(|i| items[i - 1].0.clone())
                .ok_or_else(|| {
                    let message = format!("GROUP BY position {n} is not in select list");
                    Error::new(code::INVALID_COLUMN_REFERENCE, message)
                }),
            Expr::Column { table: None, name, position }
                if scope.resolve(None, name, *position).is_err() =>
            {
                let output = output_column("GROUP BY", name, *position, items, columns)?;
                Ok(output.map_or_else(|| key.clone(), |i| items[i].0.clone()))
            }
            other => Ok(other.clone()),
        })
        .collect()
}

/// An `ORDER BY` key: an output column by position (`ORDER BY 2`) or by
/// name, else the expression evaluated on the row or group.
fn sort_key(expr: &Expr, columns: &[String], values: &[Value], env: &dyn Env) -> Result<Value> {
    match expr {
        Expr::Literal(key) => Ok(values[order_position(key, values.len())?].clone()),
        // Checked before any row: several output columns of this name are
        // one expression, so the first will do.
        Expr::Column { table: None, name, .. } if columns.contains(name) => {
            Ok(values[columns.iter().position(|c| c == name).expect("contained")].clone())
        }
        _ => eval(expr, env),
    }
}

/// The index in the select list of a constant `ORDER BY` key: `ORDER BY 2`
/// is the second output column; a constant that is no integer is an error.
fn order_position(key: &Value, len: usize) -> Result<usize> {
    let Value::Integer(n) = key else {
        return Err(Error::new(code::SYNTAX, "non-integer constant in ORDER BY"));
    };
    let position = usize::try_from(*n).ok().filter(|i| (1..=len).contains(i));
    position.map(|i| i - 1).ok_or_else(|| {
        let message = format!("ORDER BY position {n} is not in select list");
        Error::new(code::INVALID_COLUMN_REFERENCE, message)
    })
}

/// The output column that a bare `name` in `ORDER BY` or `GROUP BY` (the
/// `clause`) names, if any. Several of that name are ambiguous unless they
/// are the same expression (`SELECT *, id … ORDER BY id` is fine), as in
/// PostgreSQL.
fn output_column(
    clause: &str,
    name: &str,
    position: usize,
    items: &[(Expr, Option<String>)],
    columns: &[String],
) -> Result<Option<usize>> {
    let mut named = columns.iter().enumerate().filter(|(_, c)| *c == name).map(|(i, _)| i);
    let Some(first) = named.next() else { return Ok(None) };
    if named.any(|i| !same(&items[i].0, &items[first].0)) {
        return Err(Error {
            message: format!("{clause} \"{name}\" is ambiguous"),
            position: Some(position),
            code: code::AMBIGUOUS_COLUMN,
        });
    }
    Ok(Some(first))
}

/// Checks an `ORDER BY` key before any row is read, as [`sort_key`] will
/// take it: a position, an output column's name, or an expression over
/// the input (grouped, in a grouped query).
fn check_order_key(
    key: &Expr,
    scope: &Scope,
    items: &[(Expr, Option<String>)],
    columns: &[String],
    grouping: Option<&[Expr]>,
) -> Result<()> {
    if let Expr::Literal(key) = key {
        return order_position(key, items.len()).map(|_| ());
    }
    if let Expr::Column { table: None, name, position } = key
        && output_column("ORDER BY", name, *position, items, columns)?.is_some()
    {
        return Ok(());
    }
    check(key, scope, grouping)
}

/// A `LIMIT` or `OFFSET`: a constant, non-negative integer. A number or a
/// string becomes one as for an integer column, since PostgreSQL casts the
/// argument to `bigint`: `LIMIT 1.5` is `LIMIT 2`, `LIMIT '2'` too.
fn count(expr: Option<&Expr>, what: &str) -> Result<Option<usize>> {
    let Some(expr) = expr else { return Ok(None) };
    match eval(expr, &Constants)? {
        Value::Null => Ok(None),
        Value::Boolean(_) => {
            let message = format!("argument of {what} must be type bigint, not type boolean");
            Err(Error::new(code::DATATYPE_MISMATCH, message))
        }
        value => match value.cast_for(DataType::Integer, what)? {
            Value::Integer(n) if n >= 0 => Ok(Some(n as usize)),
            _ => {
                let code = if what == "LIMIT" { "2201W" } else { "2201X" };
                Err(Error::new(code, format!("{what} must not be negative")))
            }
        },
    }
}
