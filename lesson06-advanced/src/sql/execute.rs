//! Running a statement inside a transaction.
//!
//! This first executor is the plainest one that is correct: every `SELECT`
//! reads each table in full (a *sequential scan*), joins by trying every
//! pair of rows (a *nested loop*), filters, groups in a hash map, sorts,
//! and cuts to `LIMIT`, each step on the whole of the previous step's rows
//! in memory. Choosing better ways (an index, a hash join, a sort avoided)
//! is the planner's job, which comes next.

use std::collections::HashMap;

use lesson04_indexing::btree::PageStore;

use super::ast::{
    Aggregate, BinaryOp, ColumnDef, Expr, FromItem, Order, Select, SelectItem, Statement, UnaryOp,
};
use super::catalog::{self, Column, Table};
use super::error::{Error, Result, code};
use super::value::{DataType, Value, arithmetic, encode_key, like};
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
pub fn execute<S: PageStore>(txn: &mut Transaction<S>, statement: Statement) -> Result<Output> {
    match statement {
        Statement::CreateTable { name, columns } => {
            let columns = columns.into_iter().map(column).collect();
            catalog::create(txn, &Table { name, columns })?;
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
            let scope = Scope::of(&table, None);
            let mut deleted = 0;
            for row in catalog::scan(txn, &table)? {
                if matches(filter.as_ref(), &scope, &row)? {
                    catalog::delete(txn, &table, &row[table.primary_key()])?;
                    deleted += 1;
                }
            }
            Ok(Output::Tag(format!("DELETE {deleted}")))
        }
        Statement::Select(select) => {
            let (columns, rows) = self::select(txn, &select)?;
            Ok(Output::Rows { columns, rows })
        }
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
    let targets: Vec<usize> = match &columns {
        None => (0..table.columns.len()).collect(),
        Some(names) => names.iter().map(|n| table.column(n)).collect::<Result<_>>()?,
    };
    let count = rows.len();
    for exprs in rows {
        if exprs.len() != targets.len() {
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
    let scope = Scope::of(&table, None);
    let targets: Vec<(usize, Expr)> =
        set.into_iter().map(|(c, e)| Ok((table.column(&c)?, e))).collect::<Result<_>>()?;
    // Compute every new row first, then write: the statement sees the
    // table as it was, whatever order the rows come in.
    let mut changed = Vec::new();
    for row in catalog::scan(txn, &table)? {
        if !matches(filter.as_ref(), &scope, &row)? {
            continue;
        }
        let mut new = row.clone();
        for (target, expr) in &targets {
            new[*target] = eval(expr, &RowEnv { scope: &scope, row: &row })?;
        }
        changed.push((row, catalog::conform(&table, new)?));
    }
    let key = table.primary_key();
    for (old, _) in &changed {
        catalog::delete(txn, &table, &old[key])?;
    }
    for (_, new) in &changed {
        catalog::insert(txn, &table, new)?;
    }
    Ok(Output::Tag(format!("UPDATE {}", changed.len())))
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
/// from and its name.
#[derive(Debug, Clone, Default)]
struct Scope {
    columns: Vec<(String, String, DataType)>,
}

impl Scope {
    fn of(table: &Table, alias: Option<&str>) -> Self {
        let from = alias.unwrap_or(&table.name).to_string();
        Scope {
            columns: table
                .columns
                .iter()
                .map(|c| (from.clone(), c.name.clone(), c.data_type))
                .collect(),
        }
    }

    /// The index of column `name`, qualified by `table` or not.
    fn resolve(&self, table: Option<&str>, name: &str, position: usize) -> Result<usize> {
        let mut found = self
            .columns
            .iter()
            .enumerate()
            .filter(|(_, (t, n, _))| n == name && table.is_none_or(|table| table == t));
        let Some((i, _)) = found.next() else {
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

/// Whether two expressions are the same, ignoring where they were written.
fn same(a: &Expr, b: &Expr) -> bool {
    match (a, b) {
        (Expr::Column { table: t1, name: n1, .. }, Expr::Column { table: t2, name: n2, .. }) => {
            n1 == n2 && (t1 == t2 || t1.is_none() || t2.is_none())
        }
        (Expr::Unary(o1, x1), Expr::Unary(o2, x2)) => o1 == o2 && same(x1, x2),
        (Expr::Binary(o1, l1, r1), Expr::Binary(o2, l2, r2)) => {
            o1 == o2 && same(l1, l2) && same(r1, r2)
        }
        (Expr::Aggregate(f1, a1), Expr::Aggregate(f2, a2)) => {
            f1 == f2
                && match (a1, a2) {
                    (None, None) => true,
                    (Some(x), Some(y)) => same(x, y),
                    _ => false,
                }
        }
        (a, b) => a == b,
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
                    .ok_or_else(|| Error::new(code::OUT_OF_RANGE, "integer out of range"))?,
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
        Expr::Binary(BinaryOp::And, l, r) => {
            match (eval(l, env)?.truth()?, eval(r, env)?.truth()?) {
                (Some(false), _) | (_, Some(false)) => Value::Boolean(false),
                (Some(true), Some(true)) => Value::Boolean(true),
                _ => Value::Null,
            }
        }
        Expr::Binary(BinaryOp::Or, l, r) => {
            match (eval(l, env)?.truth()?, eval(r, env)?.truth()?) {
                (Some(true), _) | (_, Some(true)) => Value::Boolean(true),
                (Some(false), Some(false)) => Value::Boolean(false),
                _ => Value::Null,
            }
        }
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
                Value::Boolean(like(&text, &pattern) != *negated)
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
        BinaryOp::Concat => Ok(match (a, b) {
            (Value::Null, _) | (_, Value::Null) => Value::Null,
            (a, b) => Value::Text(a.to_text() + &b.to_text()),
        }),
        BinaryOp::And | BinaryOp::Or => unreachable!("evaluated with three-valued logic"),
    }
}

/// The rows of the `FROM` clause: each table scanned, joined to the ones
/// before it by a nested loop.
fn from<S: PageStore>(
    txn: &mut Transaction<S>,
    items: &[FromItem],
) -> Result<(Scope, Vec<Vec<Value>>)> {
    let mut scope = Scope::default();
    let mut rows: Vec<Vec<Value>> = vec![Vec::new()]; // one empty row: `SELECT 1` has one
    for item in items {
        let table = catalog::table(txn, &item.table)?;
        let name = item.alias.as_deref().unwrap_or(&item.table);
        if scope.columns.iter().any(|(t, _, _)| t == name) {
            return Err(Error::new(
                "42712",
                format!("table name \"{name}\" specified more than once"),
            ));
        }
        let right = catalog::scan(txn, &table)?;
        scope.columns.extend(Scope::of(&table, Some(name)).columns);
        let mut joined = Vec::new();
        for left in &rows {
            for row in &right {
                let combined: Vec<Value> = left.iter().chain(row).cloned().collect();
                if matches(item.on.as_ref(), &scope, &combined)? {
                    joined.push(combined);
                }
            }
        }
        rows = joined;
    }
    Ok((scope, rows))
}

/// The aggregates in `expr`, added to `out` once each.
fn aggregates_in(expr: &Expr, out: &mut Vec<Expr>) -> Result<()> {
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
    Ok(match function {
        Aggregate::Count => unreachable!("counted above"),
        Aggregate::Sum | Aggregate::Avg => {
            if !matches!(first, Value::Integer(_) | Value::Float(_)) {
                return Err(Error::new(
                    "42883",
                    format!(
                        "function {}({}) does not exist",
                        function.name(),
                        first.data_type().expect("not NULL").name()
                    ),
                ));
            }
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

// ANCHOR: select
/// Runs a `SELECT`: from, where, group by, having, select list, order by,
/// offset and limit, in that order.
fn select<S: PageStore>(
    txn: &mut Transaction<S>,
    select: &Select,
) -> Result<(Vec<String>, Vec<Vec<Value>>)> {
    let (scope, rows) = from(txn, &select.from)?;
    let mut filtered = Vec::new();
    for row in rows {
        if matches(select.filter.as_ref(), &scope, &row)? {
            filtered.push(row);
        }
    }
    // The select list, with `*` spelled out.
    let mut items: Vec<(Expr, Option<String>)> = Vec::new();
    for item in &select.items {
        match item {
            SelectItem::Expr(expr, alias) => items.push((expr.clone(), alias.clone())),
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
                if items.len() == before && table.is_some() {
                    let t = table.as_ref().expect("checked");
                    return Err(Error::new(
                        code::UNDEFINED_TABLE,
                        format!("missing FROM-clause entry for table \"{t}\""),
                    ));
                }
            }
        }
    }
    let columns: Vec<String> = items.iter().map(|(e, a)| header(e, a.as_ref())).collect();
    let mut aggregates = Vec::new();
    for expr in items
        .iter()
        .map(|(e, _)| e)
        .chain(&select.having)
        .chain(select.order_by.iter().map(|(e, _)| e))
    {
        aggregates_in(expr, &mut aggregates)?;
    }
    let grouped = !select.group_by.is_empty() || !aggregates.is_empty();
    // Each output row with its sort keys.
    let mut output: Vec<(Vec<Value>, Vec<Value>)> = Vec::new();
    let mut emit = |env: &dyn Env| -> Result<()> {
        let values = items.iter().map(|(e, _)| eval(e, env)).collect::<Result<Vec<_>>>()?;
        let keys = select
            .order_by
            .iter()
            .map(|(e, _)| sort_key(e, &columns, &values, env))
            .collect::<Result<Vec<_>>>()?;
        output.push((values, keys));
        Ok(())
    };
    if grouped {
        for (key, members) in groups(&select.group_by, &scope, &filtered)? {
            let values = aggregates
                .iter()
                .map(|a| aggregate(a, &scope, &members))
                .collect::<Result<Vec<_>>>()?;
            let env = GroupEnv {
                group_by: &select.group_by,
                key: &key,
                aggregates: &aggregates,
                values: &values,
            };
            if let Some(having) = &select.having
                && eval(having, &env)?.truth()? != Some(true)
            {
                continue;
            }
            emit(&env)?;
        }
    } else {
        if select.having.is_some() {
            return Err(Error::new(code::GROUPING, "HAVING needs GROUP BY or an aggregate"));
        }
        for row in &filtered {
            emit(&RowEnv { scope: &scope, row })?;
        }
    }
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
    let offset = count(select.offset.as_ref(), "OFFSET")?.unwrap_or(0);
    let limit = count(select.limit.as_ref(), "LIMIT")?.unwrap_or(usize::MAX);
    let rows = output.into_iter().skip(offset).take(limit).map(|(values, _)| values).collect();
    Ok((columns, rows))
}
// ANCHOR_END: select

/// The rows grouped by the values of `group_by`, in the order each group
/// was first seen; all rows in one group when there is no `GROUP BY` (an
/// aggregate over no rows still gives one row: `COUNT(*)` is 0).
/// Groups: each one's `GROUP BY` values and its rows.
type Groups<'r> = Vec<(Vec<Value>, Vec<&'r Vec<Value>>)>;

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

/// An `ORDER BY` key: an output column by position (`ORDER BY 2`) or by
/// name, else the expression evaluated on the row or group.
fn sort_key(expr: &Expr, columns: &[String], values: &[Value], env: &dyn Env) -> Result<Value> {
    match expr {
        Expr::Literal(Value::Integer(n)) => {
            let i = usize::try_from(*n).ok().filter(|i| (1..=values.len()).contains(i));
            i.map(|i| values[i - 1].clone()).ok_or_else(|| {
                Error::new(
                    code::INVALID_COLUMN_REFERENCE,
                    format!("ORDER BY position {n} is not in select list"),
                )
            })
        }
        Expr::Column { table: None, name, .. }
            if columns.iter().filter(|c| *c == name).count() == 1 =>
        {
            let i = columns.iter().position(|c| c == name).expect("counted");
            Ok(values[i].clone())
        }
        _ => eval(expr, env),
    }
}

/// A `LIMIT` or `OFFSET`: a constant, non-negative integer.
fn count(expr: Option<&Expr>, what: &str) -> Result<Option<usize>> {
    let Some(expr) = expr else { return Ok(None) };
    match eval(expr, &Constants)? {
        Value::Null => Ok(None),
        Value::Integer(n) if n >= 0 => Ok(Some(n as usize)),
        Value::Integer(_) => Err(Error::new("2201W", format!("{what} must not be negative"))),
        other => Err(Error::new(
            code::DATATYPE_MISMATCH,
            format!("argument of {what} must be type bigint, not {}", other.to_text()),
        )),
    }
}
