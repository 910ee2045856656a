//! Joins: the order in which a query's tables are joined, and how each is
//! joined to the rows of the tables before it (the *outer* rows).
//!
//! Three ways to join a table:
//!
//! - a **nested loop**: every outer row with every row of the table, each
//!   pair checked. The only way when no equality links them.
//! - a **hash join**: the table's rows put in a hash table by their join
//!   columns, once; each outer row then finds its partners by one lookup.
//! - an **index nested loop**: for each outer row, the table's matching
//!   rows looked up by its primary key or an index. Cheapest when the outer
//!   rows are few, since the rest of the table is never read.
//!
//! Which is cheapest depends on how many rows each side has, so the order
//! matters too: the planner tries every order of up to four tables (there
//! are n!; beyond four it keeps the `FROM` order), skipping orders that would pair rows
//! with no condition between them when another order avoids that, costs the
//! cheapest way to join each table in its place, and keeps the cheapest
//! order. Real planners do the same by dynamic programming over subsets of
//! tables (Selinger et al., 1979), which scales to a dozen tables.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use lesson04_indexing::btree::PageStore;

use super::ast::{BinaryOp, Expr};
use super::error::Result;
use super::execute::{Scope, eval_in, passes};
use super::plan::{self, Access, Bounds, Scan, Settings, column_of, cost};
use super::stats;
use super::value::{Value, encode_key};
use crate::mvcc::Transaction;

/// An equality of an outer column and a column of the table joined, in
/// that order.
type Equality = (Expr, Expr);

/// How a table is joined to the outer rows.
#[derive(Debug, Clone, PartialEq)]
pub enum Method {
    /// The first table: its rows are the rows so far.
    First,
    /// Every pair of rows, checked against the join's conditions.
    NestedLoop,
    /// The table's rows hashed on their values of the right-hand sides of
    /// `conditions` (equalities between an outer column and one of the
    /// table's columns); each outer row looks up its values of the
    /// left-hand sides.
    Hash {
        /// The equalities, outer column on the left.
        conditions: Vec<(Expr, Expr)>,
    },
    /// For each outer row, the table's rows whose `column` equals the
    /// outer row's value of `outer`, found by the primary key (`index` is
    /// `None`) or an index.
    Lookup {
        /// The outer column.
        outer: Expr,
        /// The table's column.
        inner: Expr,
        /// Its position in the table.
        column: usize,
        /// The index, or `None` for the primary key.
        index: Option<String>,
    },
}

/// One table of the join order, and how it joins.
#[derive(Debug, Clone)]
pub struct Step {
    /// Its place in the `FROM` clause.
    pub item: usize,
    /// How it is read (for a lookup: what one lookup reads, estimated).
    pub scan: Scan,
    /// How it joins the outer rows.
    pub method: Method,
    /// The join's other conditions, checked on each joined row.
    pub conditions: Vec<Expr>,
    /// Rows after this join, estimated.
    pub rows: f64,
    /// Cost of everything up to and including this join, estimated.
    pub cost: f64,
}

/// A condition between tables, with the `FROM` items it names.
#[derive(Debug, Clone)]
pub struct Condition {
    /// The condition.
    pub expr: Expr,
    /// The items whose columns it names.
    pub items: Vec<usize>,
}

// ANCHOR: plan_joins
/// The cheapest join order and methods for `scans` (one per `FROM` item,
/// in its order, each with the conditions on that table alone) joined by
/// `conditions`.
pub fn plan(scans: Vec<Scan>, conditions: &[Condition], settings: Settings) -> Vec<Step> {
    let orders = orders(scans.len());
    // Orders where every table after the first shares a condition with the
    // ones before it; if there are none, every order.
    let linked: Vec<&Vec<usize>> = orders.iter().filter(|o| linked(o, conditions)).collect();
    let candidates: Vec<&Vec<usize>> =
        if linked.is_empty() { orders.iter().collect() } else { linked };
    let mut best: Option<Vec<Step>> = None;
    for order in candidates {
        let steps = plan_order(&scans, order, conditions, settings);
        let cost = |steps: &[Step]| steps.last().map_or(0.0, |s| s.cost);
        if best.as_ref().is_none_or(|b| cost(&steps) < cost(b)) {
            best = Some(steps);
        }
    }
    best.unwrap_or_default()
}
// ANCHOR_END: plan_joins

/// The orders of `n` tables to try: all of them up to four tables, the
/// `FROM` clause's own beyond (24 orders are cheap; 720 would not be).
/// The `FROM` order comes first, so that it wins ties.
fn orders(n: usize) -> Vec<Vec<usize>> {
    let mut out = vec![(0..n).collect::<Vec<_>>()];
    if n > 4 {
        return out;
    }
    fn extend(prefix: &mut Vec<usize>, n: usize, out: &mut Vec<Vec<usize>>) {
        if prefix.len() == n {
            if *prefix != out[0] {
                out.push(prefix.clone());
            }
            return;
        }
        for i in 0..n {
            if !prefix.contains(&i) {
                prefix.push(i);
                extend(prefix, n, out);
                prefix.pop();
            }
        }
    }
    extend(&mut Vec::new(), n, &mut out);
    out
}

/// Whether each table of `order` after the first shares a condition with
/// the tables before it.
fn linked(order: &[usize], conditions: &[Condition]) -> bool {
    (1..order.len()).all(|k| {
        conditions
            .iter()
            .any(|c| c.items.contains(&order[k]) && c.items.iter().all(|i| order[..=k].contains(i)))
    })
}

// ANCHOR: plan_order
/// The joins of the tables in `order`, each by its cheapest method.
fn plan_order(
    scans: &[Scan],
    order: &[usize],
    conditions: &[Condition],
    settings: Settings,
) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    for (k, &item) in order.iter().enumerate() {
        let scan = scans[item].clone();
        let Some(before) = steps.last() else {
            let (rows, cost) = (scan.rows, scan.cost);
            steps.push(Step { item, scan, method: Method::First, conditions: vec![], rows, cost });
            continue;
        };
        let (outer_rows, outer_cost) = (before.rows, before.cost);
        // The conditions this join can check: on this table and ones before.
        let here: Vec<Expr> = conditions
            .iter()
            .filter(|c| c.items.contains(&item) && c.items.iter().all(|i| order[..=k].contains(i)))
            .map(|c| c.expr.clone())
            .collect();
        let outer: Vec<&Scan> = steps.iter().map(|s| &s.scan).collect();
        let selectivity: f64 =
            here.iter().map(|c| join_selectivity(&outer, &scan, c)).product::<f64>();
        let rows = (outer_rows * scan.rows * selectivity).max(1.0);
        // Each condition, as an equality of an outer column and one of
        // this table's, if it is one.
        let equalities: Vec<Option<Equality>> =
            here.iter().map(|c| equi_join(&outer, &scan, c)).collect();
        // The conditions left to check on each joined row, when `used`
        // are checked by the join's method.
        let rest = |used: &dyn Fn(&Option<Equality>) -> bool| -> Vec<Expr> {
            here.iter().zip(&equalities).filter(|(_, e)| !used(e)).map(|(c, _)| c.clone()).collect()
        };
        let outer_side = (outer_rows, outer_cost);
        let mut best = Step {
            item,
            method: Method::NestedLoop,
            conditions: here.clone(),
            rows,
            cost: nested_loop_cost(outer_side, &scan, here.len(), rows),
            scan: scan.clone(),
        };
        let keys: Vec<(Expr, Expr)> = equalities.iter().flatten().cloned().collect();
        if !keys.is_empty() && settings.hash_joins {
            let rest = rest(&|e| e.is_some());
            let cost = hash_join_cost(outer_side, &scan, keys.len(), rest.len(), rows);
            if cost < best.cost {
                let method = Method::Hash { conditions: keys.clone() };
                best = Step { method, conditions: rest, cost, ..best };
            }
        }
        // An index nested loop looks up each outer row's partners.
        if settings.index_scans {
            for key in keys {
                let Some(column) = column_of(&scan.table, &scan.name, &key.1) else { continue };
                let index = if column == scan.table.primary_key() {
                    None
                } else {
                    match scan.table.indexes.iter().find(|i| i.column == column) {
                        Some(index) => Some(index.name.clone()),
                        None => continue,
                    }
                };
                let lookup = lookup_scan(&scan, column, index.clone(), &key);
                let rest = rest(&|e| e.as_ref() == Some(&key));
                let cost = outer_cost
                    + outer_rows * lookup.cost
                    + rows * (rest.len() as f64 * cost::CPU_OPERATOR + cost::CPU_TUPLE);
                if cost < best.cost {
                    let (outer, inner) = key;
                    let method = Method::Lookup { outer, inner, column, index };
                    best = Step { method, conditions: rest, cost, scan: lookup, ..best };
                }
            }
        }
        steps.push(best);
    }
    steps
}
// ANCHOR_END: plan_order

// ANCHOR: join_costs
/// The cost of a nested loop joining the outer rows (how many, and their
/// cost so far) to `inner`'s: the inner table read once and kept, then
/// every pair of rows checked (an operator per condition, and at least
/// one), and each of the `rows` joined rows handed on.
pub fn nested_loop_cost(outer: (f64, f64), inner: &Scan, conditions: usize, rows: f64) -> f64 {
    // exercise 6.9: begin
    let (outer_rows, outer_cost) = outer;
    let pairs = outer_rows * inner.rows;
    outer_cost
        + inner.cost
        + pairs * conditions.max(1) as f64 * cost::CPU_OPERATOR
        + rows * cost::CPU_TUPLE
    // exercise 6.9: end
}

/// The cost of a hash join of the outer rows to `inner`'s: the inner table
/// read once, each of its rows hashed on the `keys` columns and put in the
/// table (an operator per key, and the row kept); each outer row hashed
/// and looked up (an operator per key); each of the `rows` joined rows
/// checked against the `rest` of the conditions and handed on.
pub fn hash_join_cost(outer: (f64, f64), inner: &Scan, keys: usize, rest: usize, rows: f64) -> f64 {
    // exercise 6.9: begin
    let (outer_rows, outer_cost) = outer;
    let keys = keys as f64;
    outer_cost
        + inner.cost
        + inner.rows * (keys * cost::CPU_OPERATOR + cost::CPU_TUPLE)
        + outer_rows * keys * cost::CPU_OPERATOR
        + rows * (rest as f64 * cost::CPU_OPERATOR + cost::CPU_TUPLE)
    // exercise 6.9: end
}
// ANCHOR_END: join_costs

/// `scan` as one lookup of a value of `column` reads it, by the primary
/// key (`index` is `None`) or an index: the rows with one value, and the
/// cost of finding them (a descent, then their pages). Its access names
/// the equality it looks up by, for `EXPLAIN`'s `Index Cond`; the value
/// comes from each outer row.
fn lookup_scan(scan: &Scan, column: usize, index: Option<String>, key: &(Expr, Expr)) -> Scan {
    let equal = match (column == scan.table.primary_key(), &scan.stats) {
        (true, _) => 1.0 / scan.table_rows,
        // (Statistics older than the table's columns are not used.)
        (false, Some(stats)) => stats
            .columns
            .get(column)
            .map_or(stats::default::EQUALITY, |c| (1.0 - c.null_fraction) / c.distinct.max(1.0)),
        (false, None) => stats::default::EQUALITY,
    };
    let matched = (scan.table_rows * equal).max(1.0);
    let kept = scan.rows / scan.table_rows; // the share its own conditions keep
    let condition = Expr::Binary(BinaryOp::Eq, Box::new(key.1.clone()), Box::new(key.0.clone()));
    let bounds = Bounds {
        lower: std::ops::Bound::Unbounded,
        upper: std::ops::Bound::Unbounded,
        conditions: vec![condition],
    };
    Scan {
        rows: (matched * kept).max(1.0),
        cost: plan::range_cost(scan, matched, index.is_some()),
        access: match index {
            None => Access::PrimaryKey(bounds),
            Some(name) => Access::Index { name, column, bounds, nulls: false },
        },
        ..scan.clone()
    }
}

/// `condition` as an equality of an outer column and a column of `scan`'s
/// table, of the same type (so that equal values have equal bytes), outer
/// first; `None` if it is not one.
fn equi_join(outer: &[&Scan], scan: &Scan, condition: &Expr) -> Option<(Expr, Expr)> {
    let Expr::Binary(BinaryOp::Eq, l, r) = condition else { return None };
    let type_in = |scans: &[&Scan], e: &Expr| {
        scans
            .iter()
            .find_map(|s| column_of(&s.table, &s.name, e).map(|c| s.table.columns[c].data_type))
    };
    for (a, b) in [(l, r), (r, l)] {
        if let (Some(x), Some(y)) = (type_in(outer, a), type_in(&[scan], b))
            && x == y
            && type_in(&[scan], a).is_none()
        {
            return Some(((**a).clone(), (**b).clone()));
        }
    }
    None
}

// ANCHOR: join_selectivity
/// The fraction of pairs of rows a join condition keeps. For `a = b`
/// between two columns, as PostgreSQL's `eqjoinsel` does without common
/// values to match: the rows of each side that are not `NULL`, over the
/// larger number of distinct values (each row of the side with fewer
/// values finds its share of the other side's rows). A column without
/// statistics has as many values as rows if it is a primary key, else
/// PostgreSQL's default of 200.
pub fn join_selectivity(outer: &[&Scan], scan: &Scan, condition: &Expr) -> f64 {
    let column = |e: &Expr| {
        outer.iter().chain([&scan]).find_map(|s| column_of(&s.table, &s.name, e).map(|c| (*s, c)))
    };
    let stats = |e: &Expr| {
        let (s, c) = column(e)?;
        s.stats.as_ref().and_then(|t| t.columns.get(c))
    };
    // Distinct values and the share of rows not `NULL`.
    let side = |e: &Expr| match (column(e), stats(e)) {
        (_, Some(c)) => Some((c.distinct.max(1.0), 1.0 - c.null_fraction)),
        (Some((s, c)), None) if c == s.table.primary_key() => Some((s.table_rows, 1.0)),
        (Some(_), None) => Some((stats::default::DISTINCT, 1.0)),
        (None, None) => None,
    };
    match condition {
        Expr::Binary(BinaryOp::Eq, l, r) => match (side(l), side(r)) {
            (Some((d1, n1)), Some((d2, n2))) => n1 * n2 / d1.max(d2),
            _ => stats::default::EQUALITY,
        },
        other => stats::selectivity(other, &stats),
    }
}
// ANCHOR_END: join_selectivity

/// What `EXPLAIN ANALYZE` measures of a step: rows out, time, and how many
/// times it ran.
#[derive(Debug, Clone, Copy, Default)]
pub struct Actual {
    /// Rows, over all runs.
    pub rows: usize,
    /// Time, over all runs.
    pub time: Duration,
    /// Runs.
    pub loops: usize,
}

/// What happened in one step: its table's scan (one per outer row, for a
/// lookup), the hash table built, and the join.
#[derive(Debug, Clone, Copy, Default)]
pub struct StepProfile {
    /// The scan.
    pub scan: Actual,
    /// The hash table, for a hash join.
    pub build: Actual,
    /// The join.
    pub join: Actual,
}

// ANCHOR: run
/// The rows of the joins, each laid out as the `FROM` clause lists the
/// tables (whatever order they were joined in). With a profile, each
/// step's rows and time are noted for `EXPLAIN ANALYZE`.
pub fn run<S: PageStore>(
    txn: &mut Transaction<S>,
    steps: &[Step],
    limit: Option<usize>,
    mut profile: Option<&mut Vec<StepProfile>>,
) -> Result<Vec<Vec<Value>>> {
    let mut rows: Vec<Vec<Value>> = Vec::new();
    let mut scope = Scope::default(); // the columns so far, in join order
    for step in steps {
        let mut actual = StepProfile::default();
        let inner = Scope::of(&step.scan.table, Some(&step.scan.name));
        let mut joined_scope = scope.clone();
        joined_scope.extend(&inner);
        let started = Instant::now();
        // The table's own rows (not for a lookup, which reads per row).
        let own = match step.method {
            Method::Lookup { .. } => Vec::new(),
            // A limit reaches the scan only when nothing else is joined.
            Method::First if steps.len() == 1 => {
                plan::read(txn, &step.scan, &step.scan.access, limit)?
            }
            _ => plan::read(txn, &step.scan, &step.scan.access, None)?,
        };
        let loops = usize::from(!matches!(step.method, Method::Lookup { .. }));
        actual.scan = Actual { rows: own.len(), time: started.elapsed(), loops };
        let started = Instant::now();
        let mut apart = Duration::ZERO; // time spent on the inner side, inside the join
        let mut joined = Vec::new();
        let keep = |left: &[Value], right: &[Value], out: &mut Vec<Vec<Value>>| {
            let row: Vec<Value> = left.iter().chain(right).cloned().collect();
            if passes(&step.conditions, &joined_scope, &row)? {
                out.push(row);
            }
            Ok::<_, super::error::Error>(())
        };
        match &step.method {
            Method::First => joined = own,
            Method::NestedLoop => {
                for left in &rows {
                    for right in &own {
                        keep(left, right, &mut joined)?;
                    }
                }
            }
            Method::Hash { conditions } => {
                let build = Instant::now();
                let mut table: HashMap<Vec<u8>, Vec<usize>> = HashMap::new();
                for (i, right) in own.iter().enumerate() {
                    let key = hash_key(conditions.iter().map(|(_, e)| e), &inner, right)?;
                    if let Some(key) = key {
                        table.entry(key).or_default().push(i);
                    }
                }
                actual.build = Actual { rows: own.len(), time: build.elapsed(), loops: 1 };
                apart += actual.build.time;
                for left in &rows {
                    let key = hash_key(conditions.iter().map(|(e, _)| e), &scope, left)?;
                    for &i in key.and_then(|k| table.get(&k)).into_iter().flatten() {
                        keep(left, &own[i], &mut joined)?;
                    }
                }
            }
            Method::Lookup { outer, column, index, .. } => {
                for left in &rows {
                    actual.scan.loops += 1;
                    let value = eval_in(outer, &scope, left)?;
                    if value == Value::Null {
                        continue; // NULL equals nothing
                    }
                    let started = Instant::now();
                    let bounds = Bounds {
                        lower: std::ops::Bound::Included(value.clone()),
                        upper: std::ops::Bound::Included(value),
                        conditions: Vec::new(),
                    };
                    let access = match index {
                        None => Access::PrimaryKey(bounds),
                        Some(name) => Access::Index {
                            name: name.clone(),
                            column: *column,
                            bounds,
                            nulls: false,
                        },
                    };
                    let found = plan::read(txn, &step.scan, &access, None)?;
                    actual.scan.time += started.elapsed();
                    actual.scan.rows += found.len();
                    for right in &found {
                        keep(left, right, &mut joined)?;
                    }
                }
                apart += actual.scan.time;
            }
        }
        // The join's own time: not the hash table's, nor the lookups'.
        let time = started.elapsed().saturating_sub(apart);
        actual.join = Actual { rows: joined.len(), time, loops: 1 };
        if let Some(profile) = profile.as_deref_mut() {
            profile.push(actual);
        }
        rows = joined;
        scope = joined_scope;
    }
    Ok(in_from_order(steps, rows))
}
// ANCHOR_END: run

/// The values of `exprs` in `row`, as bytes to hash; `None` if one is
/// `NULL`, which equals nothing.
fn hash_key<'a>(
    exprs: impl Iterator<Item = &'a Expr>,
    scope: &Scope,
    row: &[Value],
) -> Result<Option<Vec<u8>>> {
    let mut key = Vec::new();
    for expr in exprs {
        let value = eval_in(expr, scope, row)?;
        if value == Value::Null {
            return Ok(None);
        }
        encode_key(&value, &mut key);
    }
    Ok(Some(key))
}

/// `rows`, laid out in join order, laid out in the `FROM` clause's order.
fn in_from_order(steps: &[Step], rows: Vec<Vec<Value>>) -> Vec<Vec<Value>> {
    if steps.iter().enumerate().all(|(k, s)| s.item == k) {
        return rows;
    }
    // Each item's columns in a joined row: where they start, how many.
    let mut spans = vec![(0, 0); steps.len()];
    let mut at = 0;
    for step in steps {
        let width = step.scan.table.columns.len();
        spans[step.item] = (at, width);
        at += width;
    }
    rows.into_iter()
        .map(|row| {
            spans
                .iter()
                .flat_map(|&(start, width)| row[start..start + width].iter().cloned())
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::catalog::{Column, Table};
    use crate::sql::value::DataType;

    /// A scan of a table `name` (`id` its key, `x` an integer) that keeps
    /// `rows` rows for `cost`.
    fn scan(name: &str, rows: f64, cost: f64) -> Scan {
        let column = |n: &str, primary_key| Column {
            name: n.into(),
            data_type: DataType::Integer,
            primary_key,
            nullable: !primary_key,
        };
        let table = Table {
            name: name.into(),
            columns: vec![column("id", true), column("x", false)],
            indexes: Vec::new(),
        };
        Scan {
            table,
            name: name.into(),
            access: Access::Sequential,
            conditions: Vec::new(),
            table_rows: rows,
            rows,
            cost,
            pages: (rows / 100.0).max(1.0),
            ordered: false,
            descending: false,
            stats: None,
        }
    }

    fn column(table: &str, name: &str) -> Expr {
        Expr::Column { table: Some(table.into()), name: name.into(), position: 0 }
    }

    /// `a.x = b.x`, between items 0 and 1.
    fn equal_x() -> Vec<Condition> {
        let expr =
            Expr::Binary(BinaryOp::Eq, Box::new(column("a", "x")), Box::new(column("b", "x")));
        vec![Condition { expr, items: vec![0, 1] }]
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-6 * b.abs().max(1.0)
    }

    #[test]
    fn a_nested_loop_pays_for_every_pair() {
        // 1,000 × 500 pairs, two conditions each, 300 rows out.
        let cost = nested_loop_cost((1000.0, 40.0), &scan("b", 500.0, 20.0), 2, 300.0);
        assert!(close(cost, 40.0 + 20.0 + 500_000.0 * 2.0 * 0.0025 + 300.0 * 0.01), "{cost}");
        // No condition at all (a cross join) still costs one operator a pair.
        let cross = nested_loop_cost((10.0, 1.0), &scan("b", 10.0, 1.0), 0, 100.0);
        assert!(close(cross, 2.0 + 100.0 * 0.0025 + 100.0 * 0.01), "{cross}");
    }

    #[test]
    fn a_hash_join_pays_once_per_row_of_each_side() {
        let cost = hash_join_cost((1000.0, 40.0), &scan("b", 500.0, 20.0), 1, 1, 300.0);
        let expected = 40.0 + 20.0 + 500.0 * 0.0125 + 1000.0 * 0.0025 + 300.0 * 0.0125;
        assert!(close(cost, expected), "{cost} != {expected}");
        // Linear in each side, where a nested loop is their product.
        let big = |n: f64| hash_join_cost((n, 0.0), &scan("b", n, 0.0), 1, 0, n);
        assert!(close(big(2e6), 2.0 * big(1e6)));
    }

    #[test]
    fn the_planner_hashes_big_tables_and_loops_over_tiny_ones() {
        let plan_of = |a: Scan, b: Scan, hash_joins: bool| {
            let settings = Settings { hash_joins, ..Settings::default() };
            plan(vec![a, b], &equal_x(), settings)
        };
        // 100,000 rows each: a hash join, the smaller side hashed.
        let steps = plan_of(scan("a", 100_000.0, 900.0), scan("b", 20_000.0, 200.0), true);
        assert!(matches!(steps[1].method, Method::Hash { .. }), "{:?}", steps[1].method);
        assert_eq!(steps[1].item, 1, "the smaller table is the one hashed");
        // One outer row against ten: trying ten pairs beats a hash table.
        let steps = plan_of(scan("a", 1.0, 1.0), scan("b", 10.0, 1.0), true);
        assert_eq!(steps[1].method, Method::NestedLoop);
        // Hash joins off: a nested loop, whatever it costs.
        let steps = plan_of(scan("a", 100_000.0, 900.0), scan("b", 100_000.0, 900.0), false);
        assert_eq!(steps[1].method, Method::NestedLoop);
    }
}
