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

use super::ast::{BinaryOp, Expr, Order, Select};
use super::error::Result;
use super::execute::{self, Profile};
use super::join::{Actual, Method, Step};
use super::plan::{Access, Scan, Settings, column_of, cost, sort_cost};
use super::stats::ColumnStats;
use crate::mvcc::Transaction;

/// A node of the plan, as printed.
struct Node {
    title: String,
    cost: f64,
    rows: f64,
    actual: Option<Actual>,
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

    /// Notes what happened, as `EXPLAIN ANALYZE` shows it.
    fn ran(&mut self, rows: usize, time: Duration) {
        self.actual = Some(Actual { rows, time, loops: 1 });
    }

    // ANCHOR: render
    /// The node's lines: its title with the estimates (and, analyzed, the
    /// actual rows and time, per loop, the time its children's included, as
    /// PostgreSQL shows them), its details two columns in, its children
    /// under `->` arrows.
    fn render(&self, indent: usize, child: bool, out: &mut Vec<String>) {
        let arrow = if child { "->  " } else { "" };
        let mut line = format!(
            "{}{arrow}{}  (cost={:.2} rows={:.0})",
            " ".repeat(indent),
            self.title,
            self.cost,
            self.rows.max(1.0)
        );
        if let Some(Actual { rows, loops, .. }) = self.actual {
            let (loops, time) = (loops.max(1), self.time());
            line.push_str(&format!(
                " (actual time={:.3} rows={} loops={loops})",
                time.as_secs_f64() * 1000.0 / loops as f64,
                (rows as f64 / loops as f64).round()
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

    /// The time spent in this node and every node under it.
    fn time(&self) -> Duration {
        self.actual.map_or(Duration::ZERO, |a| a.time)
            + self.children.iter().map(Node::time).sum::<Duration>()
    }
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
    let backward = if scan.descending { " Backward" } else { "" };
    let (title, used) = match &scan.access {
        Access::Sequential => (format!("Seq Scan on {on}"), &[][..]),
        Access::PrimaryKey(bounds) => (
            format!("Index Scan{backward} using {}_pkey on {on}", scan.table.name),
            &bounds.conditions[..],
        ),
        Access::Index { name, bounds, .. } => {
            (format!("Index Scan{backward} using {name} on {on}"), &bounds.conditions[..])
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

/// The statistics of the column `expr` is, among the steps' tables.
fn column_stats<'a>(steps: &'a [Step], expr: &Expr) -> Option<&'a ColumnStats> {
    steps.iter().find_map(|step| {
        let column = column_of(&step.scan.table, &step.scan.name, expr)?;
        step.scan.stats.as_ref().and_then(|s| s.columns.get(column))
    })
}

// ANCHOR: joins
/// The joins' nodes: each step's scan joined to the node of the steps
/// before it.
fn join_nodes(steps: &[Step], profile: &Profile) -> Option<Node> {
    let mut node: Option<Node> = None;
    for (k, step) in steps.iter().enumerate() {
        let actual = profile.steps.get(k);
        let mut inner = scan_node(&step.scan);
        inner.actual = actual.map(|a| a.scan);
        let Some(outer) = node.take() else {
            node = Some(inner);
            continue;
        };
        let outer_rows = outer.actual.map(|a| a.rows);
        let title = match step.method {
            Method::Hash { .. } => "Hash Join",
            _ => "Nested Loop",
        };
        let mut join = Node::new(title, step.cost, step.rows, Some(outer));
        match &step.method {
            Method::Hash { conditions } => {
                let keys: Vec<Expr> = conditions
                    .iter()
                    .map(|(o, i)| {
                        Expr::Binary(BinaryOp::Eq, Box::new(o.clone()), Box::new(i.clone()))
                    })
                    .collect();
                join.details.push(format!("Hash Cond: {}", all(&keys)));
                let mut hash = Node::new("Hash", inner.cost, inner.rows, Some(inner));
                hash.actual = actual.map(|a| a.build);
                inner = hash;
            }
            // The table is read once and kept: each outer row goes through
            // the rows kept, as PostgreSQL's `Materialize` node does.
            Method::NestedLoop => {
                let rows = inner.rows;
                let mut kept = Node::new("Materialize", inner.cost, rows, Some(inner));
                kept.actual = actual.zip(outer_rows).map(|(a, loops)| Actual {
                    rows: a.scan.rows * loops,
                    time: Duration::ZERO,
                    loops,
                });
                inner = kept;
            }
            Method::First | Method::Lookup { .. } => {}
        }
        if !step.conditions.is_empty() {
            join.details.push(format!("Join Filter: {}", all(&step.conditions)));
        }
        join.children.push(inner);
        join.actual = actual.map(|a| a.join);
        node = Some(join);
    }
    node
}
// ANCHOR_END: joins

// ANCHOR: explain
/// The lines of `EXPLAIN` (and, if `analyze`, of `EXPLAIN ANALYZE`, which
/// runs the query) for `select`.
pub fn explain<S: PageStore>(
    txn: &mut Transaction<S>,
    select: &Select,
    settings: Settings,
    analyze: bool,
) -> Result<Vec<String>> {
    let query = execute::prepare(txn, select, settings)?;
    let mut profile = Profile::default();
    let mut took = None;
    if analyze {
        let started = Instant::now();
        execute::run(txn, select, &query, Some(&mut profile))?;
        took = Some(started.elapsed());
    }
    let steps = &query.steps;
    let mut node =
        join_nodes(steps, &profile).unwrap_or_else(|| Node::new("Result", 0.01, 1.0, None));
    if !query.filter.is_empty() {
        node.details.push(format!("One-Time Filter: {}", all(&query.filter)));
        if let Some((rows, time)) = profile.filter {
            node.ran(rows, time);
        }
    }
    if query.grouped {
        let groups = if query.group_by.is_empty() {
            1.0
        } else {
            let distinct: f64 = query
                .group_by
                .iter()
                .map(|g| column_stats(steps, g).map_or(200.0, |s| s.distinct + 1.0))
                .product();
            distinct.min(node.rows)
        };
        let title = if query.group_by.is_empty() { "Aggregate" } else { "HashAggregate" };
        let cost = node.cost + node.rows * cost::CPU_OPERATOR;
        let mut group = Node::new(title, cost, groups, Some(node));
        if !query.group_by.is_empty() {
            group.details.push(format!("Group Key: {}", list(&query.group_by)));
        }
        if let Some(having) = &select.having {
            group.details.push(format!("Filter: {having}"));
        }
        if let Some((rows, time)) = profile.group {
            group.ran(rows, time);
        }
        node = group;
    }
    if !select.order_by.is_empty() && !query.sorted {
        let cost = node.cost + sort_cost(node.rows);
        let rows = node.rows;
        let mut sort = Node::new("Sort", cost, rows, Some(node));
        let keys: Vec<String> = select
            .order_by
            .iter()
            .map(|(e, o)| format!("{e}{}", if *o == Order::Descending { " DESC" } else { "" }))
            .collect();
        sort.details.push(format!("Sort Key: {}", keys.join(", ")));
        if let Some((rows, time)) = profile.sort {
            sort.ran(rows, time);
        }
        node = sort;
    }
    if select.limit.is_some() || select.offset.is_some() {
        // The rows after the offset, up to the limit.
        let rows = (node.rows - query.offset as f64).max(0.0);
        let rows = query.limit.map_or(rows, |n| rows.min(n as f64));
        // A scan that stops early costs only the share of it that is read.
        let cost = match query.stop_after {
            Some(needed) => node.cost * (needed as f64 / node.rows.max(1.0)).min(1.0),
            None => node.cost,
        };
        let mut limit = Node::new("Limit", cost, rows, Some(node));
        if let Some((rows, time)) = profile.limit {
            limit.ran(rows, time);
        }
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
