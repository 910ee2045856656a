//! Values and types, and SQL's rules for them: `NULL` and three-valued
//! logic, comparisons across integers and floats, arithmetic that refuses
//! to overflow.

use std::cmp::Ordering;
use std::fmt;

use super::error::{Error, Result, code};

/// A column's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum DataType {
    /// `BOOLEAN`
    Boolean,
    /// `INTEGER`: 64 bits, signed; PostgreSQL's `BIGINT` (its `INTEGER` is
    /// 32 bits).
    Integer,
    /// `FLOAT`: a 64-bit IEEE double.
    Float,
    /// `TEXT`: UTF-8.
    Text,
}

impl DataType {
    /// The type's name, as PostgreSQL prints it.
    pub fn name(self) -> &'static str {
        match self {
            DataType::Boolean => "boolean",
            DataType::Integer => "bigint",
            DataType::Float => "double precision",
            DataType::Text => "text",
        }
    }
}

/// A value.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Value {
    /// SQL's `NULL`: unknown.
    Null,
    /// `TRUE` or `FALSE`.
    Boolean(bool),
    /// An integer.
    Integer(i64),
    /// A float.
    Float(f64),
    /// A string.
    Text(String),
}

impl fmt::Display for Value {
    /// As psql prints values: `t`/`f`, floats without a needless `.0`,
    /// `NULL` as nothing in a table (here `NULL`, for expressions).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("NULL"),
            Value::Boolean(b) => f.write_str(if *b { "t" } else { "f" }),
            Value::Integer(n) => write!(f, "{n}"),
            Value::Float(x) if x.is_infinite() => {
                f.write_str(if *x > 0.0 { "Infinity" } else { "-Infinity" })
            }
            Value::Float(x) if x.is_nan() => f.write_str("NaN"),
            Value::Float(x) => write!(f, "{x}"),
            Value::Text(s) => write!(f, "'{}'", s.replace('\'', "''")),
        }
    }
}

impl Value {
    /// The value's type; `None` for `NULL`, which has every type.
    pub fn data_type(&self) -> Option<DataType> {
        match self {
            Value::Null => None,
            Value::Boolean(_) => Some(DataType::Boolean),
            Value::Integer(_) => Some(DataType::Integer),
            Value::Float(_) => Some(DataType::Float),
            Value::Text(_) => Some(DataType::Text),
        }
    }

    /// The value as psql shows it in a result: text without quotes, NULL
    /// as an empty string.
    pub fn to_text(&self) -> String {
        match self {
            Value::Null => String::new(),
            Value::Text(s) => s.clone(),
            other => other.to_string(),
        }
    }

    /// The value converted for a column of type `to`, as `INSERT` and
    /// `UPDATE` store it: an integer fits a float column, a float is
    /// rounded for an integer column, a text that spells a value of the
    /// type becomes one; anything else must already have the type.
    pub fn cast_for(self, to: DataType, column: &str) -> Result<Value> {
        let invalid = |text: &str| {
            let name = to.name();
            Error::new(
                code::INVALID_TEXT,
                format!("invalid input syntax for type {name}: \"{text}\""),
            )
        };
        match (self, to) {
            (Value::Null, _) => Ok(Value::Null),
            (Value::Integer(n), DataType::Float) => Ok(Value::Float(n as f64)),
            // A float stored in an integer column is rounded, as PostgreSQL
            // rounds it (half away from zero).
            (Value::Float(x), DataType::Integer) => {
                let rounded = x.round();
                if rounded.is_nan()
                    || !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&rounded)
                {
                    return Err(Error::new(code::OUT_OF_RANGE, "bigint out of range"));
                }
                Ok(Value::Integer(rounded as i64))
            }
            // A string literal takes the column's type if it spells a value
            // of it: `'42'` in an integer column is 42.
            (Value::Text(text), DataType::Integer) => {
                text.trim().parse().map(Value::Integer).map_err(|_| invalid(&text))
            }
            (Value::Text(text), DataType::Float) => {
                text.trim().parse().map(Value::Float).map_err(|_| invalid(&text))
            }
            (Value::Text(text), DataType::Boolean) => {
                match text.trim().to_ascii_lowercase().as_str() {
                    "t" | "true" | "yes" | "on" | "1" => Ok(Value::Boolean(true)),
                    "f" | "false" | "no" | "off" | "0" => Ok(Value::Boolean(false)),
                    _ => Err(invalid(&text)),
                }
            }
            (value, to) if value.data_type() == Some(to) => Ok(value),
            (value, to) => Err(Error::new(
                code::DATATYPE_MISMATCH,
                format!(
                    "column \"{column}\" is of type {} but expression is of type {}",
                    to.name(),
                    value.data_type().expect("not NULL").name()
                ),
            )),
        }
    }

    // ANCHOR: compare
    /// SQL's comparison: `None` if either side is `NULL` (the answer is
    /// unknown); integers and floats compare as numbers; other types only
    /// with their own kind.
    pub fn compare(&self, other: &Value) -> Result<Option<Ordering>> {
        Ok(Some(match (self, other) {
            (Value::Null, _) | (_, Value::Null) => return Ok(None),
            (Value::Boolean(a), Value::Boolean(b)) => a.cmp(b),
            (Value::Integer(a), Value::Integer(b)) => a.cmp(b),
            (Value::Integer(a), Value::Float(b)) => integer_float(*a, *b),
            (Value::Float(a), Value::Integer(b)) => integer_float(*b, *a).reverse(),
            (Value::Float(a), Value::Float(b)) => float_cmp(*a, *b),
            (Value::Text(a), Value::Text(b)) => a.cmp(b),
            (a, b) => return Err(mismatch("compare", a, b)),
        }))
    }
    // ANCHOR_END: compare

    /// The order `ORDER BY` sorts in: as [`compare`](Value::compare), with
    /// `NULL` after every value (PostgreSQL's default for `ASC`).
    pub fn sort_cmp(&self, other: &Value) -> Ordering {
        match (self, other) {
            (Value::Null, Value::Null) => Ordering::Equal,
            (Value::Null, _) => Ordering::Greater,
            (_, Value::Null) => Ordering::Less,
            // Values of a column share a type; across types, order by type.
            (a, b) => a.compare(b).ok().flatten().unwrap_or_else(|| rank(a).cmp(&rank(b))),
        }
    }

    /// A boolean's truth: `Some(b)`, or `None` for `NULL`; an error for
    /// anything else.
    pub fn truth(&self) -> Result<Option<bool>> {
        match self {
            Value::Null => Ok(None),
            Value::Boolean(b) => Ok(Some(*b)),
            other => Err(Error::new(
                code::DATATYPE_MISMATCH,
                format!(
                    "argument must be type boolean, not type {}",
                    other.data_type().expect("not NULL").name()
                ),
            )),
        }
    }
}

/// Floats as PostgreSQL orders them: `-0 = 0`, and `NaN` equal to itself
/// and above every number.
fn float_cmp(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => a.partial_cmp(&b).expect("neither is NaN"),
    }
}

/// An integer against a float, exactly: through `f64` every integer
/// above 2^53 would round.
fn integer_float(i: i64, x: f64) -> Ordering {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if x.is_nan() || x >= TWO_63 {
        return Ordering::Less;
    }
    if x < -TWO_63 {
        return Ordering::Greater;
    }
    // Now x.trunc() fits an i64: compare the whole parts, then the fraction.
    let whole = x.trunc() as i64;
    i.cmp(&whole).then_with(|| 0.0.partial_cmp(&(x - x.trunc())).expect("not NaN"))
}

fn rank(value: &Value) -> u8 {
    match value {
        Value::Null => 4,
        Value::Boolean(_) => 0,
        Value::Integer(_) | Value::Float(_) => 1,
        Value::Text(_) => 2,
    }
}

fn type_name(value: &Value) -> &'static str {
    value.data_type().map_or("unknown", DataType::name)
}

fn mismatch(what: &str, a: &Value, b: &Value) -> Error {
    Error::new(
        code::DATATYPE_MISMATCH,
        format!("cannot {what} {} and {}", type_name(a), type_name(b)),
    )
}

/// `a op b` for an arithmetic operator: `NULL` if either is; integer
/// arithmetic checked for overflow, as PostgreSQL checks it; a float if
/// either is one.
pub fn arithmetic(op: char, a: &Value, b: &Value) -> Result<Value> {
    let overflow = || Error::new(code::OUT_OF_RANGE, "bigint out of range");
    let zero = || Error::new(code::DIVISION_BY_ZERO, "division by zero");
    Ok(match (a, b) {
        (Value::Null, _) | (_, Value::Null) => Value::Null,
        (Value::Integer(x), Value::Integer(y)) => Value::Integer(match op {
            '+' => x.checked_add(*y).ok_or_else(overflow)?,
            '-' => x.checked_sub(*y).ok_or_else(overflow)?,
            '*' => x.checked_mul(*y).ok_or_else(overflow)?,
            '/' if *y == 0 => return Err(zero()),
            '/' => x.checked_div(*y).ok_or_else(overflow)?,
            '%' if *y == 0 => return Err(zero()),
            _ => x.checked_rem(*y).unwrap_or(0),
        }),
        (Value::Integer(_) | Value::Float(_), Value::Integer(_) | Value::Float(_)) => {
            let (x, y) = (float(a), float(b));
            Value::Float(match op {
                '+' => x + y,
                '-' => x - y,
                '*' => x * y,
                '/' if y == 0.0 => return Err(zero()),
                '/' => x / y,
                '%' if y == 0.0 => return Err(zero()),
                _ => x % y,
            })
        }
        (a, b) => {
            let verb = match op {
                '+' => "add",
                '-' => "subtract",
                '*' => "multiply",
                _ => "divide",
            };
            return Err(mismatch(verb, a, b));
        }
    })
}

fn float(value: &Value) -> f64 {
    match value {
        Value::Integer(n) => *n as f64,
        Value::Float(x) => *x,
        _ => unreachable!("checked by the caller"),
    }
}

// ANCHOR: like
/// Whether `text` matches the `LIKE` pattern: `%` any run of characters,
/// `_` exactly one, `\` before either for the character itself.
pub fn like(text: &str, pattern: &str) -> bool {
    // exercise 6.6: begin
    let text: Vec<char> = text.chars().collect();
    let pattern: Vec<char> = pattern.chars().collect();
    // Dynamic programming over (pattern position, text position): no
    // exponential backtracking on patterns like `%a%a%a%b`.
    let mut reachable = vec![false; text.len() + 1];
    reachable[0] = true;
    let mut p = 0;
    while p < pattern.len() {
        let mut next = vec![false; text.len() + 1];
        match pattern[p] {
            '%' => {
                let mut on = false;
                for (t, slot) in next.iter_mut().enumerate() {
                    on |= reachable[t];
                    *slot = on;
                }
            }
            c => {
                let (literal, any) = if c == '\\' && p + 1 < pattern.len() {
                    p += 1;
                    (pattern[p], false)
                } else {
                    (c, c == '_')
                };
                for t in 0..text.len() {
                    if reachable[t] && (any || text[t] == literal) {
                        next[t + 1] = true;
                    }
                }
            }
        }
        reachable = next;
        p += 1;
    }
    reachable[text.len()]
    // exercise 6.6: end
}
// ANCHOR_END: like

// ANCHOR: key_encoding
/// Appends the order-preserving encoding of a primary key's value: the
/// bytes compare as the values do, so rows sit in the B+tree in key order.
/// Lesson 4's [`keycode`](lesson04_indexing::document::keycode) does the
/// work for numbers and strings.
pub fn encode_key(value: &Value, out: &mut Vec<u8>) {
    use lesson04_indexing::document::keycode::{encode_number, encode_string};
    match value {
        Value::Null => out.push(0x00),
        Value::Boolean(b) => out.extend_from_slice(&[0x01, u8::from(*b)]),
        // Integers as themselves, not as doubles: every i64 stays exact.
        Value::Integer(n) => {
            out.push(0x02);
            out.extend_from_slice(&((*n as u64) ^ (1 << 63)).to_be_bytes());
        }
        Value::Float(x) => {
            out.push(0x03);
            // Every NaN as the one NaN, which sorts above every number, as
            // `compare` puts it (a NaN with its sign bit set would sort
            // below); -0 as 0, which it equals: equal values, equal keys.
            let x = if x.is_nan() {
                f64::NAN
            } else if *x == 0.0 {
                0.0
            } else {
                *x
            };
            out.extend_from_slice(&encode_number(x));
        }
        Value::Text(s) => {
            out.push(0x04);
            encode_string(s.as_bytes(), out);
        }
    }
}
// ANCHOR_END: key_encoding

/// Encodes a row's values for storage.
pub fn encode_row(values: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    for value in values {
        match value {
            Value::Null => out.push(0),
            Value::Boolean(b) => out.extend_from_slice(&[1, u8::from(*b)]),
            Value::Integer(n) => {
                out.push(2);
                out.extend_from_slice(&n.to_le_bytes());
            }
            Value::Float(x) => {
                out.push(3);
                out.extend_from_slice(&x.to_le_bytes());
            }
            Value::Text(s) => {
                out.push(4);
                out.extend_from_slice(&(s.len() as u32).to_le_bytes());
                out.extend_from_slice(s.as_bytes());
            }
        }
    }
    out
}

/// Decodes a row of `columns` values; an error, never a panic, for bytes
/// that are not one.
pub fn decode_row(mut bytes: &[u8], columns: usize) -> Result<Vec<Value>> {
    let corrupt = || Error::new(code::INTERNAL, "a stored row does not decode");
    let take = |n: usize, bytes: &mut &[u8]| -> Result<Vec<u8>> {
        if bytes.len() < n {
            return Err(corrupt());
        }
        let (head, tail) = bytes.split_at(n);
        *bytes = tail;
        Ok(head.to_vec())
    };
    let mut out = Vec::with_capacity(columns);
    for _ in 0..columns {
        let tag = take(1, &mut bytes)?[0];
        out.push(match tag {
            0 => Value::Null,
            1 => Value::Boolean(take(1, &mut bytes)?[0] != 0),
            2 => Value::Integer(i64::from_le_bytes(
                take(8, &mut bytes)?.try_into().expect("8 bytes"),
            )),
            3 => {
                Value::Float(f64::from_le_bytes(take(8, &mut bytes)?.try_into().expect("8 bytes")))
            }
            4 => {
                let len = u32::from_le_bytes(take(4, &mut bytes)?.try_into().expect("4 bytes"));
                String::from_utf8(take(len as usize, &mut bytes)?)
                    .map(Value::Text)
                    .map_err(|_| corrupt())?
            }
            _ => return Err(corrupt()),
        });
    }
    if bytes.is_empty() { Ok(out) } else { Err(corrupt()) }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn value() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Boolean),
            any::<i64>().prop_map(Value::Integer),
            any::<f64>().prop_filter("not NaN", |x| !x.is_nan()).prop_map(Value::Float),
            "\\PC{0,8}".prop_map(Value::Text),
        ]
    }

    proptest! {
        #[test]
        fn rows_round_trip_and_damage_never_panics(values in prop::collection::vec(value(), 0..6), junk in prop::collection::vec(any::<u8>(), 0..20)) {
            let bytes = encode_row(&values);
            prop_assert_eq!(decode_row(&bytes, values.len()).unwrap(), values.clone());
            let _ = decode_row(&junk, values.len());
        }

        #[test]
        fn keys_sort_as_their_values(a in any::<i64>(), b in any::<i64>(), s in "\\PC{0,6}", t in "\\PC{0,6}") {
            let key = |v: &Value| { let mut out = Vec::new(); encode_key(v, &mut out); out };
            prop_assert_eq!(key(&Value::Integer(a)).cmp(&key(&Value::Integer(b))), a.cmp(&b));
            prop_assert_eq!(key(&Value::Text(s.clone())).cmp(&key(&Value::Text(t.clone()))), s.cmp(&t));
        }
    }

    #[test]
    fn like_patterns() {
        for (text, pattern, expected) in [
            ("Dune", "D%", true),
            ("Dune", "%un%", true),
            ("Dune", "D_ne", true),
            ("Dune", "d%", false),
            ("Dune", "Dun", false),
            ("", "%", true),
            ("50%", "50\\%", true),
            ("500", "50\\%", false),
            ("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaab", "%a%a%a%a%a%a%a%b", true),
            // No match, which backtracking would take years to be sure of.
            (&"a".repeat(60), "%a%a%a%a%a%a%a%a%a%a%b", false),
            ("é", "_", true),
            ("é", "__", false),
            ("a_c", "a\\_c", true),
            ("abc", "a\\_c", false),
            ("a\\c", "a\\\\c", true),
        ] {
            assert_eq!(like(text, pattern), expected, "{text:?} LIKE {pattern:?}");
        }
    }

    #[test]
    fn arithmetic_follows_postgresql() {
        let i = Value::Integer;
        assert_eq!(arithmetic('+', &i(2), &Value::Float(0.5)).unwrap(), Value::Float(2.5));
        assert_eq!(arithmetic('/', &i(7), &i(2)).unwrap(), i(3));
        assert_eq!(arithmetic('%', &i(-7), &i(2)).unwrap(), i(-1));
        assert_eq!(arithmetic('*', &Value::Null, &i(2)).unwrap(), Value::Null);
        assert_eq!(arithmetic('+', &i(i64::MAX), &i(1)).unwrap_err().code, code::OUT_OF_RANGE);
        assert_eq!(arithmetic('/', &i(1), &i(0)).unwrap_err().code, code::DIVISION_BY_ZERO);
        assert_eq!(arithmetic('/', &i(i64::MIN), &i(-1)).unwrap_err().code, code::OUT_OF_RANGE);
        assert!(arithmetic('+', &i(1), &Value::Text("a".into())).is_err());
    }
}
