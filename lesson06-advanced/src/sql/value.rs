//! Values and types, and SQL's rules for them: `NULL` and three-valued
//! logic, comparisons across integers and floats, arithmetic that refuses
//! to overflow, and floats printed as PostgreSQL prints them.

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
    /// As psql prints values: `t`/`f`, floats as PostgreSQL writes them
    /// (see [`write_float`]), `NULL` as nothing in a table (here `NULL`,
    /// for expressions).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("NULL"),
            Value::Boolean(b) => f.write_str(if *b { "t" } else { "f" }),
            Value::Integer(n) => write!(f, "{n}"),
            Value::Float(x) => write_float(*x, f),
            Value::Text(s) => write!(f, "'{}'", s.replace('\'', "''")),
        }
    }
}

/// A float as PostgreSQL (12 and later) prints it: the fewest digits
/// that read back as the same double, plainly if the decimal exponent is
/// from -4 to 14, else with one: `0.0001`, `123456789012345.6`, but
/// `1e-05`, `2.5e+20`.
fn write_float(x: f64, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    if x.is_nan() {
        return f.write_str("NaN");
    }
    if x.is_sign_negative() {
        f.write_str("-")?;
    }
    if x.is_infinite() {
        return f.write_str("Infinity");
    }
    if x == 0.0 {
        return f.write_str("0");
    }
    let (digits, exponent) = shortest_digits(x.abs());
    if (-4..15).contains(&exponent) {
        return f.write_str(&plain(&digits, exponent));
    }
    let (first, rest) = digits.split_at(1);
    let point = if rest.is_empty() { "" } else { "." };
    let sign = if exponent < 0 { '-' } else { '+' };
    write!(f, "{first}{point}{rest}e{sign}{:02}", exponent.abs())
}

/// The digits PostgreSQL prints for `x` (positive), and the
/// decimal exponent of the first: `("25", 20)` for 2.5e20.
///
/// PostgreSQL's Ryu takes the fewest digits that read back as `x` and, of
/// those, the nearest to `x`, a tie going to the even digit. Rust's `{:e}`
/// says how few, and `{:.Ne}` rounds `x` to N digits, ties to even (where
/// `{:e}` breaks a tie upwards: `1072012167405248.25` is `…48.2` in
/// PostgreSQL, `…48.3` in `{:e}`). But Ryu as PostgreSQL builds it (without
/// `STRICTLY_SHORTEST`) also refuses digits exactly halfway to the next
/// double, which read back as `x` only because a tie rounds to the even
/// double: 1e23 is `9.999999999999999e+22`. And at a power of two the next
/// double below is nearer than the one above, so the nearest N digits may
/// not read back when the next ones up do.
fn shortest_digits(x: f64) -> (String, i32) {
    let rust = format!("{x:e}");
    let fewest = rust.split('e').next().unwrap_or_default().bytes().filter(u8::is_ascii_digit);
    for n in fewest.count()..=17 {
        let (nearest, exponent) = decimal(&format!("{x:.*e}", n - 1));
        // The nearest, else the N digits on the other side of `x`.
        let candidates = [Some(nearest), nearest.checked_sub(1), Some(nearest + 1)];
        if let Some(digits) = candidates.into_iter().flatten().find(|d| reads_as(*d, exponent, x)) {
            let digits = digits.to_string();
            let first = exponent + digits.len() as i32 - 1;
            return (digits.trim_end_matches('0').to_string(), first);
        }
    }
    let (mantissa, exponent) = rust.split_once('e').expect("`{:e}` writes an exponent");
    (mantissa.replace('.', ""), exponent.parse().expect("an integer exponent"))
}

/// `scientific` (`2.5e20`) as digits and the exponent of the last one:
/// `(25, 19)`.
fn decimal(scientific: &str) -> (u64, i32) {
    let (mantissa, exponent) = scientific.split_once('e').expect("scientific");
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{whole}{fraction}").parse().expect("at most 17 digits");
    (digits, exponent.parse::<i32>().expect("an exponent") - fraction.len() as i32)
}

/// Whether `digits` × 10^`exponent` reads back as `x` (positive), and not
/// only by a tie: a decimal exactly halfway to a neighbouring double reads
/// as the even one of the two, and then a hair above it, or a hair below,
/// reads as the neighbour. (Halfway points of 17 digits or fewer are
/// integers: only an `x` above 2^53 has them.)
fn reads_as(digits: u64, exponent: i32, x: f64) -> bool {
    if format!("{digits}e{exponent}").parse() != Ok(x) {
        return false;
    }
    if x < 9_007_199_254_740_992.0 {
        return true;
    }
    // A hair: 400 zeros on. Halfway points here are integers, and these
    // digits a multiple of 0.1 at least: off one, they are further from it.
    let above = format!("{digits}.{}1e{exponent}", "0".repeat(400));
    let below = format!("{}.{}e{exponent}", digits - 1, "9".repeat(400));
    above.parse() == Ok(x) && below.parse() == Ok(x)
}

/// `digits` with their first at decimal `exponent`, written out:
/// `("25", 1)` is `25`, `("25", 3)` is `2500`, `("25", -2)` is `0.025`.
fn plain(digits: &str, exponent: i32) -> String {
    if exponent < 0 {
        return format!("0.{}{digits}", "0".repeat(exponent.unsigned_abs() as usize - 1));
    }
    let whole = exponent as usize + 1;
    if digits.len() <= whole {
        format!("{digits}{}", "0".repeat(whole - digits.len()))
    } else {
        format!("{}.{}", &digits[..whole], &digits[whole..])
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

    /// The value cast to text, as `||` and a `TEXT` column take it: as
    /// psql shows it, but a boolean as `true` or `false` (PostgreSQL's
    /// cast to text; `t` and `f` are its output form).
    pub fn cast_to_text(&self) -> String {
        match self {
            Value::Boolean(b) => b.to_string(),
            other => other.to_text(),
        }
    }

    /// The value converted for a column of type `to`, as `INSERT` and
    /// `UPDATE` store it (PostgreSQL's *assignment cast*): an integer fits
    /// a float column, a float is rounded for an integer column, any value
    /// becomes its text in a text column, a text that spells a value of
    /// the type becomes one; anything else must already have the type.
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
            // A float stored in an integer column is rounded half away from
            // zero, as PostgreSQL rounds a `numeric` such as the literal
            // `2.5`. (A `double precision` it rounds half to even: `UPDATE`
            // rounds those itself first, in `execute::assigned`.)
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
            (Value::Text(text), DataType::Float) => parse_float(&text).map(Value::Float),
            (Value::Text(text), DataType::Boolean) => {
                parse_bool(&text).map(Value::Boolean).ok_or_else(|| invalid(&text))
            }
            (value @ (Value::Integer(_) | Value::Float(_) | Value::Boolean(_)), DataType::Text) => {
                Ok(Value::Text(value.cast_to_text()))
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

/// A text as a double, as PostgreSQL's `float8in` reads it: a number,
/// `NaN`, `Infinity`, `-inf`; a number too large for a double, or too
/// small but not zero, is out of range, not an infinity or a zero.
fn parse_float(text: &str) -> Result<f64> {
    let invalid = || {
        let message = format!("invalid input syntax for type double precision: \"{text}\"");
        Error::new(code::INVALID_TEXT, message)
    };
    let trimmed = text.trim();
    let x: f64 = trimmed.parse().map_err(|_| invalid())?;
    let mantissa = trimmed.split(['e', 'E']).next().unwrap_or_default();
    let spells_infinity = mantissa.to_ascii_lowercase().contains("inf");
    let nonzero = mantissa.bytes().any(|b| (b'1'..=b'9').contains(&b));
    if (x.is_infinite() && !spells_infinity) || (x == 0.0 && nonzero) {
        let message = format!("\"{text}\" is out of range for type double precision");
        return Err(Error::new(code::OUT_OF_RANGE, message));
    }
    Ok(x)
}

/// A text as a boolean, as PostgreSQL's `boolin` reads it: ignoring case
/// and surrounding spaces, `true`, `yes`, `on`, `1`, their opposites
/// `false`, `no`, `off`, `0`, or a prefix of a word that only it begins
/// (`t`, `tr`, `n`, `of`; not `o`).
fn parse_bool(text: &str) -> Option<bool> {
    let word = text.trim().to_ascii_lowercase();
    match word.as_str() {
        "1" => return Some(true),
        "0" => return Some(false),
        "" | "o" => return None,
        _ => {}
    }
    const WORDS: [(&str, bool); 6] = [
        ("true", true),
        ("false", false),
        ("yes", true),
        ("no", false),
        ("on", true),
        ("off", false),
    ];
    WORDS.iter().find(|(spelled, _)| spelled.starts_with(&word)).map(|(_, b)| *b)
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

/// PostgreSQL's error for an operator that its operands' types do not
/// have: `operator does not exist: bigint || bigint`.
fn no_operator(op: &str, a: &Value, b: &Value) -> Error {
    let message = format!("operator does not exist: {} {op} {}", type_name(a), type_name(b));
    Error::new(code::UNDEFINED_FUNCTION, message)
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
        // PostgreSQL has `%` for integers and numerics, not for doubles.
        (Value::Integer(_) | Value::Float(_), Value::Integer(_) | Value::Float(_)) if op == '%' => {
            return Err(no_operator("%", a, b));
        }
        (Value::Integer(_) | Value::Float(_), Value::Integer(_) | Value::Float(_)) => {
            Value::Float(float_arithmetic(op, float(a), float(b))?)
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

/// `x op y` in doubles, checked as PostgreSQL's `float8` operators check
/// it: an infinity from finite operands is an overflow, and a zero from a
/// product or quotient of non-zero finite ones an underflow, both errors
/// rather than wrong answers; `NaN / 0` is `NaN`, any other `/ 0` an error.
fn float_arithmetic(op: char, x: f64, y: f64) -> Result<f64> {
    let result = match op {
        '+' => x + y,
        '-' => x - y,
        '*' => x * y,
        _ if y == 0.0 && !x.is_nan() => {
            return Err(Error::new(code::DIVISION_BY_ZERO, "division by zero"));
        }
        _ => x / y,
    };
    if result.is_infinite() && x.is_finite() && y.is_finite() {
        return Err(Error::new(code::OUT_OF_RANGE, "value out of range: overflow"));
    }
    let underflow = match op {
        '*' => x != 0.0 && y != 0.0,
        '/' => x != 0.0 && !y.is_infinite(),
        _ => false,
    };
    if result == 0.0 && underflow {
        return Err(Error::new(code::OUT_OF_RANGE, "value out of range: underflow"));
    }
    Ok(result)
}

/// `a || b`: a text joined to another value's text (a boolean's is `true`
/// or `false`); `NULL` if either is. Two values neither of which is a text
/// have no `||` in PostgreSQL: `1 || 2` is an error, not `12`.
pub fn concat(a: &Value, b: &Value) -> Result<Value> {
    match (a, b) {
        (Value::Null, _) | (_, Value::Null) => Ok(Value::Null),
        (Value::Text(_), _) | (_, Value::Text(_)) => {
            Ok(Value::Text(a.cast_to_text() + &b.cast_to_text()))
        }
        _ => Err(no_operator("||", a, b)),
    }
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
        // Doubles: overflow and underflow are errors, as in PostgreSQL.
        let f = Value::Float;
        let message = |r: Result<Value>| r.unwrap_err().message;
        assert_eq!(message(arithmetic('*', &f(1e300), &f(1e300))), "value out of range: overflow");
        assert_eq!(
            message(arithmetic('/', &f(1e-300), &f(1e300))),
            "value out of range: underflow"
        );
        assert_eq!(arithmetic('*', &f(f64::INFINITY), &i(2)).unwrap(), f(f64::INFINITY));
        assert_eq!(arithmetic('*', &f(0.0), &f(1e-300)).unwrap(), f(0.0));
        assert!(
            matches!(arithmetic('/', &f(f64::NAN), &i(0)).unwrap(), Value::Float(x) if x.is_nan())
        );
        let remainder = message(arithmetic('%', &f(5.5), &i(2)));
        assert_eq!(remainder, "operator does not exist: double precision % bigint");
    }

    #[test]
    fn concat_casts_to_text() {
        let text = |s: &str| Value::Text(s.into());
        assert_eq!(concat(&text("x"), &Value::Boolean(true)).unwrap(), text("xtrue"));
        assert_eq!(concat(&Value::Float(2.5e20), &text("")).unwrap(), text("2.5e+20"));
        assert_eq!(concat(&Value::Integer(1), &Value::Null).unwrap(), Value::Null);
        let err = concat(&Value::Integer(1), &Value::Integer(2)).unwrap_err();
        assert_eq!(
            (err.code, err.message.as_str()),
            ("42883", "operator does not exist: bigint || bigint")
        );
    }

    #[test]
    fn floats_print_as_postgresql_prints_them() {
        for (x, text) in [
            (2.5e20, "2.5e+20"),
            (2.5e-10, "2.5e-10"),
            (9_007_199_254_740_994.0, "9.007199254740994e+15"),
            (1e301, "1e+301"),
            (1e-5, "1e-05"),
            (1e15, "1e+15"),
            (1e14, "100000000000000"),
            (123_456_789_012_345.6, "123456789012345.6"),
            (0.0001, "0.0001"),
            (-1.5e-5, "-1.5e-05"),
            (5e-324, "5e-324"),
            (0.1 + 0.2, "0.30000000000000004"),
            (-0.0, "-0"),
            // Rust's shortest digits are halfway to the next double here.
            (1e23, "9.999999999999999e+22"),
            (-2e23, "-1.9999999999999998e+23"),
            (6.438495732e19, "6.4384957319999996e+19"),
            (9_007_199_254_740_993.0, "9.007199254740992e+15"),
            // Two nearest 17 digits: the even one.
            (-1_072_012_167_405_248.2, "-1.0720121674052482e+15"),
            (999_999_999_999_999.9, "999999999999999.9"),
            (12.0, "12"),
            (0.0, "0"),
            (f64::INFINITY, "Infinity"),
            (f64::NEG_INFINITY, "-Infinity"),
            (f64::NAN, "NaN"),
        ] {
            assert_eq!(Value::Float(x).to_text(), text);
        }
    }

    #[test]
    fn text_becomes_a_value_as_postgresql_reads_it() {
        let cast = |text: &str, to| Value::Text(text.into()).cast_for(to, "c");
        for (text, b) in [("t", true), (" TRUE ", true), ("tr", true), ("y", true), ("on", true)]
            .into_iter()
            .chain([("1", true), ("f", false), ("No", false), ("of", false), ("0", false)])
        {
            assert_eq!(cast(text, DataType::Boolean).unwrap(), Value::Boolean(b), "{text}");
        }
        for text in ["o", "", "truex", "10", "yess"] {
            assert_eq!(
                cast(text, DataType::Boolean).unwrap_err().code,
                code::INVALID_TEXT,
                "{text}"
            );
        }
        assert_eq!(cast("-inf", DataType::Float).unwrap(), Value::Float(f64::NEG_INFINITY));
        assert_eq!(cast("1e-310", DataType::Float).unwrap(), Value::Float(1e-310));
        for text in ["1e400", "-1e400", "1e-400"] {
            let message = format!("\"{text}\" is out of range for type double precision");
            assert_eq!(cast(text, DataType::Float).unwrap_err().message, message);
        }
        let stored = |value: Value| value.cast_for(DataType::Text, "c").unwrap();
        assert_eq!(stored(Value::Integer(42)), Value::Text("42".into()));
        assert_eq!(stored(Value::Boolean(false)), Value::Text("false".into()));
    }
}
