//! Statistics, and the estimates made from them.
//!
//! `ANALYZE` reads a table once and keeps, as PostgreSQL's `pg_statistic`
//! does, for the table its number of rows and their average size, and for
//! each column:
//!
//! - the number of distinct values, and the fraction that are `NULL`;
//! - the **most common values** and their frequencies (up to ten, those
//!   seen more than once);
//! - an **equi-depth histogram** of the other values: bounds that cut them
//!   into buckets of equal numbers of rows, so that a range's share of the
//!   rows is about its share of the buckets.
//!
//! The planner asks what fraction of the rows a condition keeps, its
//! **selectivity**, the way PostgreSQL's `clauselist_selectivity` answers:
//! an equality from the common values or one over the distinct count, a
//! range from the histogram, `AND` and `OR` as if the conditions were
//! independent (they rarely are: the source of most bad plans).

use std::collections::HashMap;

use super::ast::{BinaryOp, Expr, UnaryOp};
use super::catalog::Table;
use super::value::{Value, encode_key, encode_row};

/// What ANALYZE found about a table.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TableStats {
    /// Rows.
    pub rows: f64,
    /// Bytes per row, on average.
    pub width: f64,
    /// Per column, in the table's order.
    pub columns: Vec<ColumnStats>,
}

/// What ANALYZE found about a column.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ColumnStats {
    /// Distinct values (not counting NULL).
    pub distinct: f64,
    /// The fraction of rows that are NULL.
    pub null_fraction: f64,
    /// The most common values, with the fraction of rows holding each.
    pub common: Vec<(Value, f64)>,
    /// Bounds cutting the other values into buckets of equal size.
    pub histogram: Vec<Value>,
}

/// Most common values kept per column, and histogram buckets.
const COMMON: usize = 10;
const BUCKETS: usize = 20;

// ANCHOR: analyze
/// The statistics of `rows` of `table`.
pub fn analyze(table: &Table, rows: &[Vec<Value>]) -> TableStats {
    let n = rows.len() as f64;
    let width = rows.iter().map(|r| encode_row(r).len() as f64).sum::<f64>() / n.max(1.0);
    let columns = (0..table.columns.len())
        .map(|c| {
            let mut counts: HashMap<Vec<u8>, (Value, usize)> = HashMap::new();
            let mut nulls = 0;
            for row in rows {
                match &row[c] {
                    Value::Null => nulls += 1,
                    // NaN and the infinities have no JSON: not kept.
                    Value::Float(x) if !x.is_finite() => {}
                    value => {
                        let mut key = Vec::new();
                        encode_key(value, &mut key);
                        counts.entry(key).or_insert((value.clone(), 0)).1 += 1;
                    }
                }
            }
            let mut by_count: Vec<(Value, usize)> = counts.into_values().collect();
            by_count.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.sort_cmp(&b.0)));
            let common: Vec<(Value, f64)> = by_count
                .iter()
                .take(COMMON)
                .filter(|(_, count)| *count > 1)
                .map(|(v, count)| (v.clone(), *count as f64 / n))
                .collect();
            let mut rest: Vec<&Value> = by_count
                .iter()
                .skip(common.len())
                .flat_map(|(v, count)| std::iter::repeat_n(v, *count))
                .collect();
            rest.sort_by(|a, b| a.sort_cmp(b));
            let histogram = if rest.len() < 2 {
                Vec::new()
            } else {
                (0..=BUCKETS).map(|i| rest[i * (rest.len() - 1) / BUCKETS].clone()).collect()
            };
            ColumnStats {
                distinct: by_count.len() as f64,
                null_fraction: nulls as f64 / n.max(1.0),
                common,
                histogram,
            }
        })
        .collect();
    TableStats { rows: n, width, columns }
}
// ANCHOR_END: analyze

/// The guesses made without statistics: PostgreSQL's, but for the rows of
/// a table never analyzed, which PostgreSQL estimates from the table's size
/// on disk.
pub mod default {
    /// Rows in a table never analyzed.
    pub const ROWS: f64 = 1000.0;
    /// Distinct values of a column never analyzed (PostgreSQL's
    /// `DEFAULT_NUM_DISTINCT`).
    pub const DISTINCT: f64 = 200.0;
    /// `x = constant`.
    pub const EQUALITY: f64 = 0.005;
    /// `x < constant` and its kin.
    pub const RANGE: f64 = 1.0 / 3.0;
    /// `x BETWEEN a AND b`, and other ranges bounded on both sides.
    pub const BOUNDED_RANGE: f64 = 0.005;
    /// Anything else.
    pub const OTHER: f64 = 0.5;
}

// ANCHOR: selectivity
/// The fraction of rows for which `condition` is true, estimated from the
/// statistics of the columns it names (`column` finds them).
pub fn selectivity<'a>(condition: &Expr, column: &dyn Fn(&Expr) -> Option<&'a ColumnStats>) -> f64 {
    let s = match condition {
        Expr::Binary(BinaryOp::And, l, r) => selectivity(l, column) * selectivity(r, column),
        Expr::Binary(BinaryOp::Or, l, r) => {
            let (a, b) = (selectivity(l, column), selectivity(r, column));
            a + b - a * b
        }
        Expr::Unary(UnaryOp::Not, x) => 1.0 - selectivity(x, column),
        Expr::IsNull(x, negated) => {
            let nulls = column(x).map_or(default::EQUALITY, |c| c.null_fraction);
            if *negated { 1.0 - nulls } else { nulls }
        }
        Expr::Binary(op, l, r) => match (column(l), constant(r), column(r), constant(l)) {
            (Some(stats), Some(value), _, _) => compare(stats, *op, value),
            (_, _, Some(stats), Some(value)) => compare(stats, op.flipped(), value),
            _ if *op == BinaryOp::Eq => default::EQUALITY,
            _ if *op == BinaryOp::NotEq => 1.0 - default::EQUALITY,
            _ if matches!(op, BinaryOp::Lt | BinaryOp::LtEq | BinaryOp::Gt | BinaryOp::GtEq) => {
                default::RANGE
            }
            _ => default::OTHER,
        },
        Expr::Between { expr, low, high, negated } => {
            let within = match (column(expr), constant(low), constant(high)) {
                (Some(stats), Some(low), Some(high)) => {
                    (below(stats, high, true) - below(stats, low, false)).max(0.0)
                }
                _ => default::BOUNDED_RANGE,
            };
            if *negated { 1.0 - within } else { within }
        }
        Expr::InList { expr, list, negated } => {
            let each = |v: &Expr| match (column(expr), constant(v)) {
                (Some(stats), Some(value)) => equal(stats, value),
                _ => default::EQUALITY,
            };
            let within = list.iter().map(each).sum::<f64>().min(1.0);
            if *negated { 1.0 - within } else { within }
        }
        _ => default::OTHER,
    };
    if s.is_nan() { default::OTHER } else { s.clamp(0.0, 1.0) }
}
// ANCHOR_END: selectivity

fn constant(expr: &Expr) -> Option<&Value> {
    match expr {
        Expr::Literal(value) if *value != Value::Null => Some(value),
        _ => None,
    }
}

fn compare(stats: &ColumnStats, op: BinaryOp, value: &Value) -> f64 {
    let present = 1.0 - stats.null_fraction;
    match op {
        BinaryOp::Eq => equal(stats, value),
        BinaryOp::NotEq => (present - equal(stats, value)).max(0.0),
        BinaryOp::Lt => below(stats, value, false),
        BinaryOp::LtEq => below(stats, value, true),
        BinaryOp::Gt => (present - below(stats, value, true)).max(0.0),
        BinaryOp::GtEq => (present - below(stats, value, false)).max(0.0),
        _ => default::OTHER,
    }
}

// ANCHOR: equal
/// The fraction of rows equal to `value`: its frequency if it is a common
/// value; else the rows not common nor NULL, shared evenly among the other
/// distinct values.
fn equal(stats: &ColumnStats, value: &Value) -> f64 {
    if let Some((_, frequency)) = stats
        .common
        .iter()
        .find(|(v, _)| v.compare(value).ok().flatten().is_some_and(std::cmp::Ordering::is_eq))
    {
        return *frequency;
    }
    let common: f64 = stats.common.iter().map(|(_, f)| f).sum();
    let others = stats.distinct - stats.common.len() as f64;
    if others <= 0.0 {
        return 0.0;
    }
    ((1.0 - common - stats.null_fraction) / others).max(0.0)
}
// ANCHOR_END: equal

// ANCHOR: below
/// The fraction of rows below `value` (or at it, `inclusive`): the common
/// values that are, plus the histogram's share of the rest, counting the
/// bucket `value` falls in by where in it it falls (for numbers; half of
/// it otherwise).
fn below(stats: &ColumnStats, value: &Value, inclusive: bool) -> f64 {
    // exercise 6.8: begin
    let is_below = |v: &Value| {
        v.compare(value).ok().flatten().is_some_and(|o| o.is_lt() || (inclusive && o.is_eq()))
    };
    let common: f64 = stats.common.iter().filter(|(v, _)| is_below(v)).map(|(_, f)| f).sum();
    let rest = 1.0 - stats.common.iter().map(|(_, f)| f).sum::<f64>() - stats.null_fraction;
    let bounds = &stats.histogram;
    if bounds.len() < 2 {
        return common + rest * default::RANGE;
    }
    let buckets = (bounds.len() - 1) as f64;
    let fraction = match bounds.iter().position(|b| !is_below(b)) {
        Some(0) => 0.0,
        None => 1.0,
        Some(i) => {
            let within = match (&bounds[i - 1], &bounds[i], value) {
                (lo, hi, v)
                    if number(lo).is_some() && number(hi).is_some() && number(v).is_some() =>
                {
                    let (lo, hi, v) =
                        (number(lo).unwrap(), number(hi).unwrap(), number(v).unwrap());
                    let share = (v - lo) / (hi - lo);
                    if hi > lo && share.is_finite() { share.clamp(0.0, 1.0) } else { 0.5 }
                }
                _ => 0.5,
            };
            ((i - 1) as f64 + within) / buckets
        }
    };
    common + rest * fraction
    // exercise 6.8: end
}
// ANCHOR_END: below

fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Integer(n) => Some(*n as f64),
        Value::Float(x) => Some(*x),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::catalog::Column;
    use crate::sql::value::DataType;

    fn table() -> Table {
        let column = |name: &str| Column {
            name: name.into(),
            data_type: DataType::Integer,
            primary_key: name == "id",
            nullable: name != "id",
        };
        Table { name: "t".into(), columns: vec![column("id"), column("x")], indexes: vec![] }
    }

    /// 1,000 rows: id 0..1000; x is 7 in half the rows, NULL in a tenth,
    /// and otherwise uniform over 0..400.
    fn stats() -> TableStats {
        let rows: Vec<Vec<Value>> = (0..1000)
            .map(|i| {
                let x = match i % 10 {
                    0..=4 => Value::Integer(7),
                    5 => Value::Null,
                    _ => Value::Integer(i % 400),
                };
                vec![Value::Integer(i), x]
            })
            .collect();
        analyze(&table(), &rows)
    }

    fn estimate(sql: &str) -> f64 {
        let stats = stats();
        let Ok(crate::sql::ast::Statement::Select(select)) =
            crate::sql::parser::parse_one(&format!("SELECT 1 FROM t WHERE {sql}"))
        else {
            panic!()
        };
        let column = |e: &Expr| match e {
            Expr::Column { name, .. } if name == "id" => Some(&stats.columns[0]),
            Expr::Column { name, .. } if name == "x" => Some(&stats.columns[1]),
            _ => None,
        };
        selectivity(select.filter.as_ref().unwrap(), &column)
    }

    #[test]
    fn estimates_come_from_the_statistics() {
        let s = stats();
        assert_eq!(s.rows, 1000.0);
        assert_eq!(s.columns[0].distinct, 1000.0);
        assert_eq!(s.columns[1].common[0], (Value::Integer(7), 0.503)); // 500, and 7, 407, 807
        assert!((s.columns[1].null_fraction - 0.1).abs() < 1e-9);
        let close = |sql: &str, expected: f64| {
            let got = estimate(sql);
            assert!((got - expected).abs() < 0.02, "{sql}: {got}, expected about {expected}");
        };
        close("x = 7", 0.5); // a common value
        close("x IS NULL", 0.1);
        close("id = 5", 0.001); // one in 1,000 distinct
        close("id < 250", 0.25); // from the histogram
        close("id BETWEEN 100 AND 299", 0.2);
        close("id >= 900", 0.1);
        close("x = 7 AND id < 500", 0.25); // independent, as assumed
        close("x = 7 OR id < 500", 0.75);
        close("x IN (7, 7)", 1.0);
        // Ranges over a column with a common value and NULLs: the common
        // value counts only when the range holds it, and NULLs never.
        let exact = |sql: &str, expected: f64| {
            let got = estimate(sql);
            assert!((got - expected).abs() < 0.01, "{sql}: {got}, expected about {expected}");
        };
        exact("x < 7", 0.003);
        exact("x <= 7", 0.506);
        close("x > 100", 0.299);
        exact("x >= 7", 0.897);
    }
}
