//! Choosing an access path: which index, if any, a query reads.
//!
//! A rule, not a cost model (lesson 6 builds one), tried in order:
//!
//! 1. an **equality** (`{"f": v}`, `$eq`, `$in`) on an indexed field: look
//!    the values up, in a hash or a btree index;
//! 2. a **range** (`$gt`, `$gte`, `$lt`, `$lte`) on a btree-indexed field:
//!    scan the index between the bounds;
//! 3. a **sort** on a btree-indexed field: walk that index in order, so that
//!    the documents come sorted and no sort step is needed;
//! 4. else a **collection scan**: read every document.
//!
//! An index only narrows down the documents to fetch; every fetched
//! document is still tested against the whole filter, so an index can never
//! change an answer, only its cost. `EXPLAIN` shows the choice and the
//! counts MongoDB's `executionStats` shows.

use std::cmp::Ordering;
use std::ops::Bound;

use serde_json::Value;

use crate::document::Sort;
use crate::document::filter::{Filter, Op};
use crate::document::index::{Index, IndexKind};
use crate::document::keycode::compare;

/// How a query reads its documents.
#[derive(Debug, Clone, PartialEq)]
pub enum Access {
    /// Every document of the collection, in `_id` order.
    CollectionScan,
    /// The documents an index holds under any of `values`.
    Lookup {
        /// The indexed field.
        field: String,
        /// Hash or btree.
        kind: IndexKind,
        /// The values to look up.
        values: Vec<Value>,
    },
    /// The documents a btree index holds between two bounds.
    Range {
        /// The indexed field.
        field: String,
        /// The lower bound.
        low: Bound<Value>,
        /// The upper bound.
        high: Bound<Value>,
    },
    /// Every document, in the order of a btree index on the sort field.
    IndexOrder {
        /// The indexed field.
        field: String,
        /// Walk it backwards.
        descending: bool,
    },
}

// ANCHOR: choose
/// The access path for `filter` and `sort`, given the collection's indexes.
pub fn choose(filter: &Filter, sort: Option<&Sort>, indexes: &[Index]) -> Access {
    // exercise 4.6: begin
    let index_on = |path: &[String]| indexes.iter().find(|i| i.path == path);
    for condition in &filter.conditions {
        if let (Op::Eq | Op::In, Some(index)) = (condition.op, index_on(&condition.path)) {
            let values = match &condition.value {
                Value::Array(values) if condition.op == Op::In => values.clone(),
                value => vec![value.clone()],
            };
            return Access::Lookup { field: index.field.clone(), kind: index.kind, values };
        }
    }
    for condition in &filter.conditions {
        let Some(index) = index_on(&condition.path).filter(|i| i.kind == IndexKind::BTree) else {
            continue;
        };
        if matches!(condition.op, Op::Gt | Op::Gte | Op::Lt | Op::Lte) {
            let (low, high) = bounds(filter, &condition.path, &condition.value);
            return Access::Range { field: index.field.clone(), low, high };
        }
    }
    if let Some(sort) = sort {
        let path: Vec<String> = sort.field.split('.').map(str::to_string).collect();
        if let Some(index) = index_on(&path).filter(|i| i.kind == IndexKind::BTree) {
            return Access::IndexOrder { field: index.field.clone(), descending: sort.descending };
        }
    }
    Access::CollectionScan
    // exercise 4.6: end
}
// ANCHOR_END: choose

/// The tightest bounds the range conditions on `path` give, among those
/// whose operand has the type of `like` (a value is only ever compared
/// with values of its own type).
fn bounds(filter: &Filter, path: &[String], like: &Value) -> (Bound<Value>, Bound<Value>) {
    let same_type = |v: &Value| std::mem::discriminant(v) == std::mem::discriminant(like);
    let (mut low, mut high) = (Bound::Unbounded, Bound::Unbounded);
    for c in filter.conditions.iter().filter(|c| c.path == path && same_type(&c.value)) {
        match c.op {
            Op::Gt | Op::Gte => {
                let new = if c.op == Op::Gt {
                    Bound::Excluded(c.value.clone())
                } else {
                    Bound::Included(c.value.clone())
                };
                if tighter(&new, &low, Ordering::Greater) {
                    low = new;
                }
            }
            Op::Lt | Op::Lte => {
                let new = if c.op == Op::Lt {
                    Bound::Excluded(c.value.clone())
                } else {
                    Bound::Included(c.value.clone())
                };
                if tighter(&new, &high, Ordering::Less) {
                    high = new;
                }
            }
            _ => {}
        }
    }
    (low, high)
}

/// Whether bound `new` narrows the range more than `old`: further in the
/// direction `inward` (Greater for a lower bound, Less for an upper one).
fn tighter(new: &Bound<Value>, old: &Bound<Value>, inward: Ordering) -> bool {
    match (new, old) {
        (_, Bound::Unbounded) => true,
        (Bound::Included(n) | Bound::Excluded(n), Bound::Included(o) | Bound::Excluded(o)) => {
            match compare(n, o) {
                Ordering::Equal => matches!(new, Bound::Excluded(_)),
                order => order == inward,
            }
        }
        (Bound::Unbounded, _) => false,
    }
}

impl std::fmt::Display for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Access::CollectionScan => write!(f, "COLLSCAN"),
            Access::Lookup { field, kind, values } => {
                let values: Vec<String> = values.iter().map(Value::to_string).collect();
                write!(f, "FETCH <- IXSCAN {field} ({}) = {}", kind.name(), values.join(" | "))
            }
            Access::Range { field, low, high } => {
                let low = match low {
                    Bound::Included(v) => format!("[{v}"),
                    Bound::Excluded(v) => format!("({v}"),
                    Bound::Unbounded => "(".into(),
                };
                let high = match high {
                    Bound::Included(v) => format!("{v}]"),
                    Bound::Excluded(v) => format!("{v})"),
                    Bound::Unbounded => ")".into(),
                };
                write!(f, "FETCH <- IXSCAN {field} (btree) {low}, {high}")
            }
            Access::IndexOrder { field, descending } => {
                let direction = if *descending { "backward" } else { "forward" };
                write!(f, "FETCH <- IXSCAN {field} (btree), every entry, {direction}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::index::IndexKind;
    use serde_json::json;
    use std::collections::HashMap;

    fn index(field: &str, kind: IndexKind) -> Index {
        Index { field: field.into(), path: vec![field.into()], kind, map: HashMap::new() }
    }

    fn plan(filter: Value, sort: Option<&str>, indexes: &[Index]) -> Access {
        let sort = sort.map(|f| Sort { field: f.into(), descending: false });
        choose(&Filter::parse(&filter).unwrap(), sort.as_ref(), indexes)
    }

    #[test]
    fn the_rule_in_order() {
        let both = [index("age", IndexKind::BTree), index("name", IndexKind::Hash)];
        assert_eq!(plan(json!({"age": {"$gt": 3}}), None, &[]), Access::CollectionScan);
        assert!(matches!(
            plan(json!({"name": "ada"}), None, &both),
            Access::Lookup { kind: IndexKind::Hash, .. }
        ));
        assert!(
            matches!(plan(json!({"age": {"$in": [1, 2]}}), None, &both), Access::Lookup { values, .. } if values.len() == 2)
        );
        assert_eq!(
            plan(json!({"age": {"$gt": 3, "$gte": 5, "$lt": 9, "$lte": "z"}}), None, &both),
            Access::Range {
                field: "age".into(),
                low: Bound::Included(json!(5)),
                high: Bound::Excluded(json!(9))
            }
        );
        assert_eq!(
            plan(json!({"name": {"$gt": "a"}}), None, &both),
            Access::CollectionScan,
            "a hash index has no order"
        );
        assert!(matches!(plan(json!({}), Some("age"), &both), Access::IndexOrder { .. }));
        assert_eq!(plan(json!({}), Some("name"), &both), Access::CollectionScan, "nor a sort");
        assert_eq!(plan(json!({"age": {"$ne": 3}}), None, &both), Access::CollectionScan);
    }
}
