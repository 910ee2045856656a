//! The planner: for each table of a query, the cheapest way to read the
//! rows its conditions keep.
//!
//! A table can be read three ways:
//!
//! - a **sequential scan**: every row, in key order, each checked;
//! - a **primary-key scan**: the rows are stored in primary-key order, so
//!   `id = 5` or `id BETWEEN 10 AND 20` reads only that range of keys;
//! - an **index scan**: a secondary index's entries for a value or a range
//!   of values, then each row fetched by its key.
//!
//! Which is cheapest depends on how many rows the conditions keep: an index
//! scan pays a key lookup per row, so it wins when few rows match and loses
//! badly when most do. The planner estimates both from the statistics
//! ([`stats`](super::stats)) and a cost model in PostgreSQL's units: reading
//! a page in sequence costs 1, at random 4, handling a row 0.01, an index
//! entry 0.005, an operator 0.0025.

use std::ops::Bound;
use std::sync::Arc;

use lesson01_intro::KeyRange;
use lesson04_indexing::btree::PageStore;

use super::ast::{BinaryOp, Expr};
use super::catalog::{self, Table};
use super::error::Result;
use super::execute::{Scope, passes};
use super::stats::{self, TableStats};
use super::value::{DataType, Value, decode_row, encode_key};
use crate::mvcc::Transaction;

/// PostgreSQL's cost constants.
pub mod cost {
    /// A page read in sequence.
    pub const SEQ_PAGE: f64 = 1.0;
    /// A page read at random.
    pub const RANDOM_PAGE: f64 = 4.0;
    /// A row handled.
    pub const CPU_TUPLE: f64 = 0.01;
    /// An index entry handled.
    pub const CPU_INDEX_TUPLE: f64 = 0.005;
    /// An operator evaluated.
    pub const CPU_OPERATOR: f64 = 0.0025;
    /// Bytes per page.
    pub const PAGE: f64 = 4096.0;
}

/// Switches for the planner, as PostgreSQL's `enable_*` settings: to see
/// what it would do otherwise, and to test that every way gives the same
/// rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// `SET enable_indexscan = off` leaves only sequential scans.
    pub index_scans: bool,
    /// `SET enable_seqscan = off` makes a sequential scan the last resort
    /// (PostgreSQL adds a huge cost to it rather than forbid it).
    pub seq_scans: bool,
    /// `SET enable_hashjoin = off` leaves nested loops only.
    pub hash_joins: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self { index_scans: true, seq_scans: true, hash_joins: true }
    }
}

/// What a query wants of a table's rows beyond its conditions, when the
/// table is all it reads: an order, and how many rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Wanted {
    /// The column the rows should come ordered by, and whether descending.
    pub order: Option<(usize, bool)>,
    /// How many rows are needed (`LIMIT` + `OFFSET`), if not all.
    pub rows: Option<usize>,
}

/// The cost PostgreSQL adds to a plan it was told not to use.
const DISABLED: f64 = 1.0e10;

/// A range of one column's values.
#[derive(Debug, Clone, PartialEq)]
pub struct Bounds {
    /// From.
    pub lower: Bound<Value>,
    /// To.
    pub upper: Bound<Value>,
    /// The conditions the range comes from, for `EXPLAIN`'s `Index Cond`.
    pub conditions: Vec<Expr>,
}

/// How a table is read.
#[derive(Debug, Clone, PartialEq)]
pub enum Access {
    /// Every row.
    Sequential,
    /// A range of primary keys.
    PrimaryKey(Bounds),
    /// A range of an index's values.
    Index {
        /// The index.
        name: String,
        /// Its column.
        column: usize,
        /// The range.
        bounds: Bounds,
        /// Whether the rows whose value is `NULL` come too, after the others
        /// (a whole index read for its order: `NULL`s sort last).
        nulls: bool,
    },
}

/// The plan for reading one table of a query.
#[derive(Debug, Clone)]
pub struct Scan {
    /// The table.
    pub table: Table,
    /// The name the query gives it (its alias).
    pub name: String,
    /// How.
    pub access: Access,
    /// The query's conditions on this table alone, checked on every row
    /// read.
    pub conditions: Vec<Expr>,
    /// The rows the table holds, estimated.
    pub table_rows: f64,
    /// The rows kept, estimated.
    pub rows: f64,
    /// The cost of reading them all, estimated.
    pub cost: f64,
    /// The pages the table fills, estimated.
    pub pages: f64,
    /// Whether the rows come in the order the query wants.
    pub ordered: bool,
    /// Whether they are read backwards (for a descending order).
    pub descending: bool,
    /// The statistics used, if the table was analyzed.
    pub stats: Option<Arc<TableStats>>,
}

/// The column of `table` that `expr` is, if it is one of its columns
/// (`name` is the table's name in the query).
pub fn column_of(table: &Table, name: &str, expr: &Expr) -> Option<usize> {
    match expr {
        Expr::Column { table: t, name: column, .. } if t.as_deref().is_none_or(|t| t == name) => {
            table.columns.iter().position(|c| c.name == *column)
        }
        _ => None,
    }
}

// ANCHOR: plan_scan
/// Plans reading `table` (called `name`) for the rows that satisfy all of
/// `conditions`: every usable range, on the primary key or an index,
/// against a sequential scan. The cheapest wins, counting the sort a path
/// leaves to do and the share of its rows a limit needs (`wanted`).
pub fn plan_scan<S: PageStore>(
    txn: &mut Transaction<S>,
    table: &Table,
    name: &str,
    conditions: Vec<Expr>,
    settings: Settings,
    wanted: Wanted,
) -> Result<Scan> {
    let stats = catalog::stats(txn, &table.name)?;
    let table_rows = stats.as_ref().map_or(stats::default::ROWS, |s| s.rows).max(1.0);
    let width = stats.as_ref().map_or(100.0, |s| s.width.max(1.0));
    let pages = (table_rows * width / cost::PAGE).ceil().max(1.0);
    let column_stats = |expr: &Expr| {
        let column = column_of(table, name, expr)?;
        // (Statistics older than the table's columns are not used.)
        stats.as_ref().and_then(|s| s.columns.get(column))
    };
    let selectivity = |conditions: &[Expr]| -> f64 {
        conditions.iter().map(|c| stats::selectivity(c, &column_stats)).product()
    };
    let rows = (table_rows * selectivity(&conditions)).max(1.0);
    let mut best = Scan {
        table: table.clone(),
        name: name.to_string(),
        access: Access::Sequential,
        conditions: conditions.clone(),
        table_rows,
        rows,
        cost: 0.0,
        pages,
        ordered: false,
        descending: false,
        stats: stats.clone(),
    };
    best.cost = pages * cost::SEQ_PAGE
        + table_rows * best.per_row()
        + if settings.seq_scans { 0.0 } else { DISABLED };
    // What a path really costs the query: a sort if its rows are not in
    // the order wanted; only the share a limit needs if they are (or if no
    // order is wanted), since reading stops there.
    let effective = |cost: f64, ordered: bool| match wanted {
        Wanted { order: Some(_), .. } if !ordered => cost + sort_cost(rows),
        Wanted { rows: Some(needed), .. } => cost * (needed as f64 / rows).min(1.0),
        Wanted { rows: None, .. } => cost,
    };
    let mut best_effective = effective(best.cost, false);
    if !settings.index_scans {
        return Ok(best);
    }
    let key = table.primary_key();
    let mut candidates: Vec<(usize, Option<String>)> = vec![(key, None)];
    candidates.extend(table.indexes.iter().map(|i| (i.column, Some(i.name.clone()))));
    for (column, index) in candidates {
        let ordered = wanted.order.is_some_and(|(c, _)| c == column);
        let (bounds, nulls) = match bounds(table, name, column, &conditions) {
            Some(bounds) => (bounds, false),
            // No range on this column: worth reading whole for its order.
            None if ordered => {
                let whole = Bounds {
                    lower: Bound::Unbounded,
                    upper: Bound::Unbounded,
                    conditions: Vec::new(),
                };
                (whole, index.is_some())
            }
            None => continue,
        };
        let matched = (table_rows * selectivity(&bounds.conditions)).max(1.0);
        let cost = range_cost(&best, matched, index.is_some());
        let candidate = effective(cost, ordered);
        if candidate < best_effective {
            best_effective = candidate;
            best.cost = cost;
            best.ordered = ordered;
            best.descending = ordered && wanted.order.is_some_and(|(_, descending)| descending);
            best.access = match index {
                None => Access::PrimaryKey(bounds),
                Some(name) => Access::Index { name, column, bounds, nulls },
            };
        }
    }
    Ok(best)
}
// ANCHOR_END: plan_scan

// ANCHOR: range_cost
/// The cost of reading `matched` rows of `scan`'s table through a B+tree:
/// a descent, then the rows. By the primary key, the rows are in key order
/// and their pages are read in sequence. Through an index, there is an
/// entry per row, then the row's page, at random: each row on its own page
/// until there are more rows than pages (the upper levels of the trees
/// stay cached).
pub fn range_cost(scan: &Scan, matched: f64, index: bool) -> f64 {
    // A B+tree's descent: a few pages at random.
    let descent = (scan.table_rows.log(100.0).ceil().max(1.0) + 1.0) * cost::RANDOM_PAGE;
    if index {
        descent
            + matched.min(scan.pages) * cost::RANDOM_PAGE
            + matched * (cost::CPU_INDEX_TUPLE + scan.per_row())
    } else {
        descent
            + scan.pages * (matched / scan.table_rows) * cost::SEQ_PAGE
            + matched * scan.per_row()
    }
}
// ANCHOR_END: range_cost

/// The cost of sorting `rows` rows: n log n comparisons.
pub fn sort_cost(rows: f64) -> f64 {
    let n = rows.max(2.0);
    n * n.log2() * 2.0 * cost::CPU_OPERATOR
}

impl Scan {
    /// The cost of handling one row read: the row, and its conditions.
    fn per_row(&self) -> f64 {
        cost::CPU_TUPLE + cost::CPU_OPERATOR * self.conditions.len() as f64
    }
}

/// The range of `column`'s values that `conditions` allow, from those of
/// the form `column op constant` and `column BETWEEN constant AND
/// constant`; `None` if none is of that form.
fn bounds(table: &Table, name: &str, column: usize, conditions: &[Expr]) -> Option<Bounds> {
    let data_type = table.columns[column].data_type;
    let constant = |expr: &Expr| match expr {
        Expr::Literal(value) => typed(value, data_type),
        _ => None,
    };
    let is_column = |expr: &Expr| column_of(table, name, expr) == Some(column);
    let mut out =
        Bounds { lower: Bound::Unbounded, upper: Bound::Unbounded, conditions: Vec::new() };
    for condition in conditions {
        let (low, high) = match condition {
            Expr::Binary(op, l, r) => {
                let (op, value) = match (is_column(l), constant(r), is_column(r), constant(l)) {
                    (true, Some(v), _, _) => (*op, v),
                    (_, _, true, Some(v)) => (op.flipped(), v),
                    _ => continue,
                };
                match op {
                    BinaryOp::Eq => (Bound::Included(value.clone()), Bound::Included(value)),
                    BinaryOp::Lt => (Bound::Unbounded, Bound::Excluded(value)),
                    BinaryOp::LtEq => (Bound::Unbounded, Bound::Included(value)),
                    BinaryOp::Gt => (Bound::Excluded(value), Bound::Unbounded),
                    BinaryOp::GtEq => (Bound::Included(value), Bound::Unbounded),
                    _ => continue,
                }
            }
            Expr::Between { expr, low, high, negated: false } if is_column(expr) => {
                match (constant(low), constant(high)) {
                    (Some(low), Some(high)) => (Bound::Included(low), Bound::Included(high)),
                    _ => continue,
                }
            }
            _ => continue,
        };
        out.lower = tighter(out.lower, low, true);
        out.upper = tighter(out.upper, high, false);
        out.conditions.push(condition.clone());
    }
    (!out.conditions.is_empty()).then_some(out)
}

/// `value` as a value of the column's type, if it is one without loss
/// (an integer for a float column); `None` otherwise, and for `NULL`.
fn typed(value: &Value, data_type: DataType) -> Option<Value> {
    match (value, data_type) {
        // Only if the double is exactly the integer: a rounded bound would
        // skip rows at the edge of the range.
        (Value::Integer(n), DataType::Float) => {
            let x = *n as f64;
            (x.abs() < 9.007_199_254_740_992e15 && x as i64 == *n).then_some(Value::Float(x))
        }
        (Value::Float(x), DataType::Float) if x.is_nan() => None,
        (value, data_type) if value.data_type() == Some(data_type) => Some(value.clone()),
        _ => None,
    }
}

/// The narrower of two bounds (lower bounds if `lower`).
fn tighter(a: Bound<Value>, b: Bound<Value>, lower: bool) -> Bound<Value> {
    let value = |b: &Bound<Value>| match b {
        Bound::Included(v) | Bound::Excluded(v) => Some(v.clone()),
        Bound::Unbounded => None,
    };
    match (value(&a), value(&b)) {
        (None, _) => b,
        (_, None) => a,
        (Some(x), Some(y)) => {
            let order = x.sort_cmp(&y);
            let a_wins = if lower { order.is_gt() } else { order.is_lt() };
            if order.is_eq() {
                // Equal values: an excluded bound is the narrower.
                if matches!(a, Bound::Excluded(_)) { a } else { b }
            } else if a_wins {
                a
            } else {
                b
            }
        }
    }
}

/// The end of a key prefix: the first key after every key it starts.
fn after(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    *end.last_mut().expect("prefixes end with a zero byte") += 1;
    end
}

// ANCHOR: read
/// The rows of `scan`'s table that `access` reads and its conditions keep,
/// in the access's order (reversed if the scan reads backwards); no more
/// than `limit` of them.
pub fn read<S: PageStore>(
    txn: &mut Transaction<S>,
    scan: &Scan,
    access: &Access,
    limit: Option<usize>,
) -> Result<Vec<Vec<Value>>> {
    let table = &scan.table;
    let width = table.columns.len();
    let scope = Scope::of(table, Some(&scan.name));
    let limit = limit.unwrap_or(usize::MAX);
    let mut out = Vec::new();
    // Keeps `row` if its conditions hold; whether the limit is reached.
    let keep = |row: Vec<Value>, out: &mut Vec<Vec<Value>>| -> Result<bool> {
        if passes(&scan.conditions, &scope, &row)? {
            out.push(row);
        }
        Ok(out.len() >= limit)
    };
    if limit == 0 {
        return Ok(out);
    }
    // Row keys are the prefix and the key's encoding, nothing after.
    let prefix = catalog::rows_prefix(&table.name);
    let range = match access {
        Access::Sequential => KeyRange::prefix(&prefix),
        Access::PrimaryKey(bounds) => {
            let key = |v: &Value| {
                let mut k = prefix.clone();
                encode_key(v, &mut k);
                k
            };
            let start = match &bounds.lower {
                Bound::Included(v) => Bound::Included(key(v)),
                Bound::Excluded(v) => Bound::Excluded(key(v)),
                Bound::Unbounded => Bound::Included(prefix.clone()),
            };
            let end = match &bounds.upper {
                Bound::Included(v) => Bound::Included(key(v)),
                Bound::Excluded(v) => Bound::Excluded(key(v)),
                Bound::Unbounded => Bound::Excluded(after(&prefix)),
            };
            KeyRange { start, end }
        }
        Access::Index { name, bounds, nulls, .. } => {
            let mut entries = txn.scan(index_range(&table.name, name, bounds))?;
            if *nulls {
                let only = Bound::Included(Value::Null);
                let null = Bounds { lower: only.clone(), upper: only, conditions: Vec::new() };
                entries.extend(txn.scan(index_range(&table.name, name, &null))?);
            }
            if scan.descending {
                entries.reverse();
            }
            for (_, key) in entries {
                let key = decode_row(&key, 1)?.remove(0);
                if let Some(row) = catalog::get(txn, table, &key)?
                    && keep(row, &mut out)?
                {
                    break;
                }
            }
            return Ok(out);
        }
    };
    let mut pairs = txn.scan(range)?;
    if scan.descending {
        pairs.reverse();
    }
    for (_, bytes) in pairs {
        if keep(decode_row(&bytes, width)?, &mut out)? {
            break;
        }
    }
    Ok(out)
}
// ANCHOR_END: read

/// The keys of an index's entries for the values within `bounds`.
/// Entries are the index's prefix, the value's encoding, then the key's:
/// a byte FF after a value's encoding is past all its entries.
fn index_range(table: &str, index: &str, bounds: &Bounds) -> KeyRange {
    let prefix = catalog::index_prefix(table, index);
    let value = |v: &Value, past: bool| {
        let mut k = prefix.clone();
        encode_key(v, &mut k);
        if past {
            k.push(0xff);
        }
        k
    };
    let start = match &bounds.lower {
        Bound::Included(v) => Bound::Included(value(v, false)),
        Bound::Excluded(v) => Bound::Excluded(value(v, true)),
        // Not the NULLs, whose encoding is 00: no range holds them.
        Bound::Unbounded => Bound::Excluded(value(&Value::Null, true)),
    };
    let end = match &bounds.upper {
        Bound::Included(v) => Bound::Excluded(value(v, true)),
        Bound::Excluded(v) => Bound::Excluded(value(v, false)),
        Bound::Unbounded => Bound::Excluded(after(&prefix)),
    };
    KeyRange { start, end }
}
