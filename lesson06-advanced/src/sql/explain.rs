//! `EXPLAIN` and `EXPLAIN ANALYZE`: the plan as a tree, in PostgreSQL's
//! shape, with the planner's estimates and (analyzed) what really happened.
//!
//! ```text
//! Limit  (cost=12.04 rows=2)
//!   ->  Sort  (cost=12.03 rows=3)
//!         Sort Key: price DESC
//!         ->  Seq Scan on books  (cost=1.05 rows=3)
//!               Filter: (price > 5)
//! ```
//!
//! Read it from the inside out: each node takes its children's rows.

use std::time::{Duration, Instant};

use lesson04_indexing::btree::PageStore;

use super::ast::{BinaryOp, Expr, Order, Select, SelectItem};
use super::error::Result;
use super::execute::{self, Profile, conjuncts};
use super::plan::{Access, Scan, Settings, column_stats, cost};
use super::stats;
use super::value::Value;
use crate::mvcc::Transaction;

/// A node of the plan, as printed.
struct Node {
    title: String,
    cost: f64,
    rows: f64,
    actual: Option<(usize, Duration)>,
    details: Vec<String>,
    children: Vec<Node>,
}

impl Node {
    fn new(title: impl Into<String>, cost: f64, rows: f64, child: Option<Node>) -> Self {
        Node {
            title: title.into(),
            cost,
            rows,
            actual: None,
            details: Vec::new(),
            children: child.into_iter().collect(),
        }
    }

    // ANCHOR: render
    /// The node's lines: its title with the estimates (and the actual rows
    /// and time, analyzed), its details two columns in, its children under
    /// `->` arrows.
    fn render(&self, indent: usize, child: bool, out: &mut Vec<String>) {
        let arrow = if child { "->  " } else { "" };
        let mut line = format!(
            "{}{arrow}{}  (cost={:.2} rows={:.0})",
            " ".repeat(indent),
            self.title,
            self.cost,
            self.rows.max(1.0)
        );
        if let Some((rows, time)) = self.actual {
            line.push_str(&format!(
                " (actual time={:.3} rows={rows} loops=1)",
                time.as_secs_f64() * 1000.0
            ));
        }
        out.push(line);
        let column = indent + arrow.len();
        for detail in &self.details {
            out.push(format!("{}{detail}", " ".repeat(column + 2)));
        }
        for node in &self.children {
            node.render(column + 2, true, out);
        }
    }
    // ANCHOR_END: render
}

fn all(conditions: &[Expr]) -> String {
    conditions.iter().map(ToString::to_string).collect::<Vec<_>>().join(" AND ")
}

/// A scan's node.
fn scan_node(scan: &Scan) -> Node {
    let on = if scan.name == scan.table.name {
        scan.table.name.clone()
    } else {
        format!("{} {}", scan.table.name, scan.name)
    };
    let (title, used) = match &scan.access {
        Access::Sequential => (format!("Seq Scan on {on}"), &[][..]),
        Access::PrimaryKey(bounds) => {
            (format!("Index Scan using {}_pkey on {on}", scan.table.name), &bounds.conditions[..])
        }
        Access::Index { name, bounds, .. } => {
            (format!("Index Scan using {name} on {on}"), &bounds.conditions[..])
        }
    };
    let mut node = Node::new(title, scan.cost, scan.rows, None);
    if !used.is_empty() {
        node.details.push(format!("Index Cond: {}", all(used)));
    }
    let rest: Vec<Expr> = scan.conditions.iter().filter(|c| !used.contains(c)).cloned().collect();
    if !rest.is_empty() {
        node.details.push(format!("Filter: {}", all(&rest)));
    }
    node
}

/// The fraction of pairs of rows a join condition keeps: for `a = b`
/// between two columns, one over the larger number of distinct values (as
/// PostgreSQL's `eqjoinsel` does when it has nothing better).
fn join_selectivity(scans: &[Scan], condition: &Expr) -> f64 {
    conjuncts(condition)
        .iter()
        .map(|c| match c {
            Expr::Binary(BinaryOp::Eq, l, r) => {
                match (column_stats(scans, l), column_stats(scans, r)) {
                    (Some(a), Some(b)) => 1.0 / a.distinct.max(b.distinct).max(1.0),
                    (Some(a), None) | (None, Some(a)) => 1.0 / a.distinct.max(1.0),
                    _ => stats::default::EQUALITY,
                }
            }
            other => stats::selectivity(other, &|e| column_stats(scans, e)),
        })
        .product()
}

// ANCHOR: explain
/// The lines of `EXPLAIN` (and, if `analyze`, of `EXPLAIN ANALYZE`, which
/// runs the query) for `select`.
pub fn explain<S: PageStore>(
    txn: &mut Transaction<S>,
    select: &Select,
    settings: Settings,
    analyze: bool,
) -> Result<Vec<String>> {
    // Every name and type rule checked, as for running it.
    execute::select(txn, select, Settings { dry_run: true, ..settings }, None)?;
    let (_, scans) = execute::plan_from(txn, select, settings)?;
    let mut profile = Profile::default();
    let mut took = None;
    if analyze {
        let started = Instant::now();
        execute::select(txn, select, settings, Some(&mut profile))?;
        took = Some(started.elapsed());
    }
    let mut node: Option<Node> = None;
    for (i, (item, scan)) in select.from.iter().zip(&scans).enumerate() {
        let mut right = scan_node(scan);
        right.actual = profile.scans.get(i).copied();
        node = Some(match node {
            None => right,
            Some(left) => {
                let selectivity = item.on.as_ref().map_or(1.0, |on| join_selectivity(&scans, on));
                let cost = left.cost + right.cost + left.rows * right.rows * cost::CPU_OPERATOR;
                let rows = left.rows * right.rows * selectivity;
                let mut join = Node::new("Nested Loop", cost, rows, Some(left));
                join.children.push(right);
                if let Some(on) = &item.on {
                    join.details.push(format!("Join Filter: {on}"));
                }
                join.actual = profile.joins.get(i).copied();
                join
            }
        });
    }
    let mut node = node.unwrap_or_else(|| Node::new("Result", 0.01, 1.0, None));
    // The WHERE's conditions that no single scan could take: on the join.
    let pushed: Vec<&Expr> = scans.iter().flat_map(|s| &s.conditions).collect();
    let rest: Vec<Expr> = select
        .filter
        .as_ref()
        .map(conjuncts)
        .unwrap_or_default()
        .into_iter()
        .filter(|c| !pushed.contains(&c))
        .collect();
    if !rest.is_empty() {
        node.rows *= rest.iter().map(|c| join_selectivity(&scans, c)).product::<f64>();
        node.details.push(format!("Filter: {}", all(&rest)));
        node.actual = profile.filter.or(node.actual);
    }
    let aggregates =
        select.items.iter().any(|item| matches!(item, SelectItem::Expr(e, _) if has_aggregate(e)));
    if !select.group_by.is_empty() || aggregates || select.having.is_some() {
        let groups = if select.group_by.is_empty() {
            1.0
        } else {
            let distinct: f64 = select
                .group_by
                .iter()
                .map(|g| column_stats(&scans, g).map_or(200.0, |s| s.distinct + 1.0))
                .product();
            distinct.min(node.rows)
        };
        let title = if select.group_by.is_empty() { "Aggregate" } else { "HashAggregate" };
        let cost = node.cost + node.rows * cost::CPU_OPERATOR;
        let mut group = Node::new(title, cost, groups, Some(node));
        if !select.group_by.is_empty() {
            group.details.push(format!("Group Key: {}", list(&select.group_by)));
        }
        if let Some(having) = &select.having {
            group.details.push(format!("Filter: {having}"));
        }
        group.actual = profile.group;
        node = group;
    }
    if !select.order_by.is_empty() {
        let n = node.rows.max(2.0);
        let cost = node.cost + n * n.log2() * 2.0 * cost::CPU_OPERATOR;
        let rows = node.rows;
        let mut sort = Node::new("Sort", cost, rows, Some(node));
        let keys: Vec<String> = select
            .order_by
            .iter()
            .map(|(e, o)| format!("{e}{}", if *o == Order::Descending { " DESC" } else { "" }))
            .collect();
        sort.details.push(format!("Sort Key: {}", keys.join(", ")));
        sort.actual = profile.sort;
        node = sort;
    }
    if select.limit.is_some() || select.offset.is_some() {
        let rows = match &select.limit {
            Some(Expr::Literal(Value::Integer(n))) => node.rows.min(*n as f64),
            _ => node.rows,
        };
        let mut limit = Node::new("Limit", node.cost, rows, Some(node));
        limit.actual = profile.limit;
        node = limit;
    }
    let mut lines = Vec::new();
    node.render(0, false, &mut lines);
    if let Some(took) = took {
        lines.push(format!("Execution Time: {:.3} ms", took.as_secs_f64() * 1000.0));
    }
    Ok(lines)
}
// ANCHOR_END: explain

fn list(exprs: &[Expr]) -> String {
    exprs.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

fn has_aggregate(expr: &Expr) -> bool {
    let mut found = Vec::new();
    execute::aggregates_in(expr, &mut found).is_err() || !found.is_empty()
}
