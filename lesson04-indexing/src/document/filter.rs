//! Query filters in MongoDB's syntax: `{"age": {"$gte": 18}, "name": "ada"}`.
//!
//! A filter is an object of conditions, all of which must hold (AND). Each
//! condition names a field by a dotted path into nested objects
//! (`"address.city"`) and is either a value (equality) or an object of
//! operators:
//!
//! ```text
//!   {"name": "ada"}                      equality ($eq)
//!   {"age": {"$gt": 30, "$lte": 40}}     ranges: $gt $gte $lt $lte
//!   {"tags": {"$in": ["db", "rust"]}}    one of several values
//!   {"email": {"$ne": null}}             not equal (a missing field is null)
//! ```
//!
//! The rules follow MongoDB's for the cases we support: a missing field
//! equals `null`; comparisons ($gt …) only match values of the same type as
//! the operand (`{"$gt": 5}` never matches a string); a condition on a field
//! that holds an array matches if the array itself or any element matches.
//! Parsing rejects what it does not understand, with the path in the error:
//! an unknown operator, `$in` without an array, an operator object mixed with
//! plain fields.

use std::cmp::Ordering;

use serde_json::{Map, Value};

use crate::document::keycode::compare;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `$eq`, or a plain value.
    Eq,
    /// `$ne`.
    Ne,
    /// `$gt`.
    Gt,
    /// `$gte`.
    Gte,
    /// `$lt`.
    Lt,
    /// `$lte`.
    Lte,
    /// `$in`: the operand is a list of values.
    In,
}

/// One condition: the field at `path`, compared with `value` by `op`.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// The field's dotted path, split: `["address", "city"]`.
    pub path: Vec<String>,
    /// How to compare.
    pub op: Op,
    /// What to compare with (for `$in`, an array).
    pub value: Value,
}

/// A parsed filter: conditions that must all hold.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Filter {
    /// The conditions, in field-name order (serde_json sorts an object's
    /// keys).
    pub conditions: Vec<Condition>,
}

// ANCHOR: parse
impl Filter {
    /// Parses a filter document, or says what is wrong with it.
    pub fn parse(filter: &Value) -> Result<Filter, String> {
        let Value::Object(fields) = filter else {
            return Err(format!("a filter must be a JSON object, not {filter}"));
        };
        let mut conditions = Vec::new();
        for (path, condition) in fields {
            if path.starts_with('$') {
                return Err(format!("unknown top-level operator {path}"));
            }
            let split: Vec<String> = path.split('.').map(str::to_string).collect();
            if split.iter().any(String::is_empty) {
                return Err(format!("bad field path {path:?}"));
            }
            match operators(condition) {
                None => {
                    let equality = Condition { path: split, op: Op::Eq, value: condition.clone() };
                    conditions.push(equality);
                }
                Some(ops) => {
                    for (name, operand) in ops {
                        let op = match name.as_str() {
                            "$eq" => Op::Eq,
                            "$ne" => Op::Ne,
                            "$gt" => Op::Gt,
                            "$gte" => Op::Gte,
                            "$lt" => Op::Lt,
                            "$lte" => Op::Lte,
                            "$in" if operand.is_array() => Op::In,
                            "$in" => {
                                return Err(format!("$in on {path} needs an array, not {operand}"));
                            }
                            other if other.starts_with('$') => {
                                return Err(format!("unknown operator {other} on {path}"));
                            }
                            other => {
                                return Err(format!(
                                    "{path}: an operator object cannot also hold the field {other:?}"
                                ));
                            }
                        };
                        conditions.push(Condition {
                            path: split.clone(),
                            op,
                            value: operand.clone(),
                        });
                    }
                }
            }
        }
        Ok(Filter { conditions })
    }
}
// ANCHOR_END: parse

/// The operators of a condition, if it is an object whose first key starts
/// with `$`; any other value is a plain value to compare for equality.
fn operators(condition: &Value) -> Option<&Map<String, Value>> {
    match condition {
        Value::Object(ops) if ops.keys().next().is_some_and(|k| k.starts_with('$')) => Some(ops),
        _ => None,
    }
}

/// The value at a dotted path, or `None` if a step is missing.
pub fn lookup<'a>(document: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(document, |value, step| value.as_object()?.get(step))
}

// ANCHOR: matches
impl Filter {
    /// Whether `document` satisfies every condition.
    pub fn matches(&self, document: &Value) -> bool {
        self.conditions.iter().all(|c| c.matches(lookup(document, &c.path)))
    }
}

impl Condition {
    /// Whether the field's value (`None`: missing) satisfies the condition.
    fn matches(&self, field: Option<&Value>) -> bool {
        let null = Value::Null;
        let field = field.unwrap_or(&null);
        if self.op == Op::Ne {
            // Not equal: to the array itself, and to every element.
            return !Condition { op: Op::Eq, ..self.clone() }.matches(Some(field));
        }
        if self.test(field) {
            return true;
        }
        // An array field matches if any of its elements does.
        match field {
            Value::Array(items) => items.iter().any(|item| self.test(item)),
            _ => false,
        }
    }

    /// The condition on one value.
    fn test(&self, value: &Value) -> bool {
        let same_type =
            |a: &Value, b: &Value| std::mem::discriminant(a) == std::mem::discriminant(b);
        let cmp = || compare(value, &self.value);
        match self.op {
            Op::Eq | Op::Ne => cmp() == Ordering::Equal,
            Op::In => self.value.as_array().is_some_and(|options| {
                options.iter().any(|option| compare(value, option) == Ordering::Equal)
            }),
            Op::Gt => same_type(value, &self.value) && cmp() == Ordering::Greater,
            Op::Gte => same_type(value, &self.value) && cmp() != Ordering::Less,
            Op::Lt => same_type(value, &self.value) && cmp() == Ordering::Less,
            Op::Lte => same_type(value, &self.value) && cmp() != Ordering::Greater,
        }
    }
}
// ANCHOR_END: matches

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn matches(filter: Value, document: Value) -> bool {
        Filter::parse(&filter).unwrap().matches(&document)
    }

    #[test]
    fn equality_ranges_and_paths() {
        let ada = json!({"name": "ada", "age": 36, "address": {"city": "London"}, "tags": ["math", "engines"]});
        assert!(matches(json!({}), ada.clone()));
        assert!(matches(json!({"name": "ada"}), ada.clone()));
        assert!(!matches(json!({"name": "Ada"}), ada.clone()));
        assert!(matches(json!({"age": {"$gt": 30, "$lte": 36}}), ada.clone()));
        assert!(!matches(json!({"age": {"$gt": 36}}), ada.clone()));
        assert!(matches(json!({"age": 36.0}), ada.clone()), "numbers compare as numbers");
        assert!(matches(json!({"address.city": "London"}), ada.clone()));
        assert!(!matches(json!({"address.city.zip": 1}), ada.clone()));
        assert!(matches(json!({"tags": "engines"}), ada.clone()), "any element of an array");
        assert!(matches(json!({"tags": ["math", "engines"]}), ada.clone()), "or the array itself");
        assert!(matches(json!({"name": {"$in": ["bob", "ada"]}}), ada.clone()));
        assert!(matches(json!({"name": "ada", "age": {"$lt": 40}}), ada.clone()), "AND");
        assert!(!matches(json!({"name": "ada", "age": {"$lt": 30}}), ada));
    }

    #[test]
    fn missing_fields_are_null_and_comparisons_keep_to_their_type() {
        let doc = json!({"age": "thirty"});
        assert!(matches(json!({"email": null}), doc.clone()));
        assert!(!matches(json!({"email": {"$ne": null}}), doc.clone()));
        assert!(matches(json!({"age": {"$ne": 30}}), doc.clone()));
        assert!(!matches(json!({"age": {"$gt": 5}}), doc.clone()), "a string is not > a number");
        assert!(matches(json!({"age": {"$gt": "a"}}), doc));
        assert!(!matches(json!({"tags": {"$ne": "x"}}), json!({"tags": ["x", "y"]})));
    }

    #[test]
    fn bad_filters_are_refused_with_the_path() {
        let err = |f: Value| Filter::parse(&f).unwrap_err();
        assert!(err(json!([1])).contains("JSON object"));
        assert!(err(json!({"age": {"$regex": "a"}})).contains("unknown operator $regex on age"));
        assert!(err(json!({"age": {"$in": 5}})).contains("needs an array"));
        assert!(err(json!({"age": {"$gt": 1, "x": 2}})).contains("cannot also hold"));
        assert!(err(json!({"$or": []})).contains("top-level"));
        assert!(err(json!({"a..b": 1})).contains("bad field path"));
    }
}
