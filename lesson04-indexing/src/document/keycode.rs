//! Order-preserving keys: JSON values encoded so that comparing the bytes
//! compares the values.
//!
//! A B+tree orders its keys by their bytes. An index on a field must order
//! its entries by the field's *values*: `9 < 10` as numbers, though `"9" >
//! "10"` as text; `-1 < 0`, though `-1`'s IEEE-754 bits are bigger. So an
//! index key is not the value's JSON text but an encoding built for the
//! purpose, as toydb's keycode and FoundationDB's tuple layer do:
//!
//! ```text
//!   null      05
//!   number    10  + 8 bytes: the f64, sign bit flipped (negatives: all bits)
//!   string    20  + the UTF-8 bytes, each 00 as 00 FF, then 00
//!   object    30  + for each field: 01, its name as a string (no tag), its value; then 00
//!   array     40  + each element; then 00
//!   false     50 00
//!   true      50 01
//! ```
//!
//! - **Types first.** The tag byte puts values of different types in the
//!   order MongoDB compares BSON types (for the types JSON has): null,
//!   numbers, strings, objects, arrays, booleans.
//! - **Numbers** compare as numbers, across JSON's integers and floats: an
//!   IEEE-754 double's bits, big-endian, already sort positive numbers; flip
//!   the sign bit so that positives sort above negatives, and flip every bit
//!   of a negative so that bigger magnitudes sort lower. `-0.0` is `0.0`.
//! - **Strings** compare byte by byte, a prefix first (`"ab" < "abc"`): the
//!   terminator `00` is lower than any byte that can follow, and a `00` in the
//!   string is escaped as `00 FF` so that it is not taken for the end.
//! - **Arrays and objects** compare element by element (objects: field name,
//!   then value, in the order the fields appear), a prefix first: every
//!   element starts with a tag or `01`, above the terminator `00`. Because
//!   every encoding knows where it ends, encodings can be concatenated
//!   (a field's value, then the document's `_id`) and still compare
//!   part by part.
//!
//! NB: numbers are compared as doubles, so two integers beyond 2^53 that
//! round to the same double encode alike; MongoDB compares `NumberLong`s
//! exactly. And MongoDB compares object fields by type before name; we
//! compare names first. [`compare`] is the order we implement, stated
//! directly; the tests check that the bytes agree with it.

use std::cmp::Ordering;

use serde_json::Value;

/// Tag bytes, in type order.
const NULL: u8 = 0x05;
const NUMBER: u8 = 0x10;
const STRING: u8 = 0x20;
const OBJECT: u8 = 0x30;
const ARRAY: u8 = 0x40;
const BOOLEAN: u8 = 0x50;
/// Ends a string, an array or an object: lower than any byte that can follow.
const END: u8 = 0x00;
/// Starts each field of an object.
const FIELD: u8 = 0x01;

// ANCHOR: encode
/// Appends the order-preserving encoding of `value` to `out`.
pub fn encode(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.push(NULL),
        Value::Number(n) => {
            out.push(NUMBER);
            // JSON numbers that serde_json cannot hold as f64 do not exist:
            // it parses every number as i64, u64 or f64.
            out.extend_from_slice(&encode_number(n.as_f64().unwrap_or(0.0)));
        }
        Value::String(s) => {
            out.push(STRING);
            encode_string(s.as_bytes(), out);
        }
        Value::Object(fields) => {
            out.push(OBJECT);
            for (name, value) in fields {
                out.push(FIELD);
                encode_string(name.as_bytes(), out);
                encode(value, out);
            }
            out.push(END);
        }
        Value::Array(items) => {
            out.push(ARRAY);
            for item in items {
                encode(item, out);
            }
            out.push(END);
        }
        Value::Bool(b) => out.extend_from_slice(&[BOOLEAN, u8::from(*b)]),
    }
}
// ANCHOR_END: encode

/// The encoding of `value`, as a new `Vec`.
pub fn encoded(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    encode(value, &mut out);
    out
}

// ANCHOR: number
/// Eight bytes that sort as `n` does: for any `a < b`, the bytes of `a`
/// are smaller than those of `b`.
pub fn encode_number(n: f64) -> [u8; 8] {
    // exercise 4.5: begin
    let n = if n == 0.0 { 0.0 } else { n }; // -0.0 and 0.0 are equal
    let bits = n.to_bits();
    let sortable = if bits >> 63 == 1 {
        !bits // negative: flip everything, so that -2 sorts below -1
    } else {
        bits | 1 << 63 // positive: set the sign bit, so it sorts above negatives
    };
    sortable.to_be_bytes()
    // exercise 4.5: end
}
// ANCHOR_END: number

/// A string's bytes, `00` escaped as `00 FF`, then the terminator `00`.
pub fn encode_string(bytes: &[u8], out: &mut Vec<u8>) {
    for &b in bytes {
        out.push(b);
        if b == 0 {
            out.push(0xff);
        }
    }
    out.push(END);
}

/// The order the encoding implements, stated on values: type first (null,
/// numbers, strings, objects, arrays, booleans), then the values.
pub fn compare(a: &Value, b: &Value) -> Ordering {
    fn rank(v: &Value) -> u8 {
        match v {
            Value::Null => NULL,
            Value::Number(_) => NUMBER,
            Value::String(_) => STRING,
            Value::Object(_) => OBJECT,
            Value::Array(_) => ARRAY,
            Value::Bool(_) => BOOLEAN,
        }
    }
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap_or(0.0), y.as_f64().unwrap_or(0.0));
            x.partial_cmp(&y).unwrap_or(Ordering::Equal)
        }
        (Value::String(x), Value::String(y)) => x.as_bytes().cmp(y.as_bytes()),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Array(x), Value::Array(y)) => {
            let pairs = x.iter().zip(y);
            pairs.map(|(x, y)| compare(x, y)).find(|o| o.is_ne()).unwrap_or(x.len().cmp(&y.len()))
        }
        (Value::Object(x), Value::Object(y)) => {
            let pairs = x.iter().zip(y);
            pairs
                .map(|((xk, xv), (yk, yv))| xk.as_bytes().cmp(yk.as_bytes()).then(compare(xv, yv)))
                .find(|o| o.is_ne())
                .unwrap_or(x.len().cmp(&y.len()))
        }
        _ => rank(a).cmp(&rank(b)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn order_of(values: &[Value]) -> Vec<Vec<u8>> {
        values.iter().map(encoded).collect()
    }

    #[test]
    fn numbers_sort_as_numbers_not_as_text_or_bits() {
        let values = [-1e300, -10.0, -2.5, -1.0, -1e-300, 0.0, 1e-300, 1.0, 2.5, 9.0, 10.0, 1e300];
        let keys: Vec<[u8; 8]> = values.iter().map(|&n| encode_number(n)).collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "{keys:02x?}");
        assert_eq!(encode_number(-0.0), encode_number(0.0));
        assert_eq!(encoded(&json!(3)), encoded(&json!(3.0)), "integers and floats compare");
    }

    #[test]
    fn the_book_examples() {
        assert_eq!(encoded(&json!(-1)), [NUMBER, 0x40, 0x0f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(encoded(&json!(9)), [NUMBER, 0xc0, 0x22, 0, 0, 0, 0, 0, 0]);
        assert_eq!(encoded(&json!(10)), [NUMBER, 0xc0, 0x24, 0, 0, 0, 0, 0, 0]);
        assert_eq!(encoded(&json!("a")), [STRING, b'a', END]);
        assert_eq!(encoded(&json!("ab")), [STRING, b'a', b'b', END]);
    }

    #[test]
    fn types_sort_in_bson_order() {
        let keys = order_of(&[
            json!(null),
            json!(-5),
            json!(7),
            json!(""),
            json!("a"),
            json!({}),
            json!({"a": 1}),
            json!([]),
            json!([1]),
            json!(false),
            json!(true),
        ]);
        assert!(keys.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn strings_sort_by_bytes_with_a_prefix_first_even_with_zero_bytes() {
        let keys = order_of(&[
            json!("a"),
            json!("a\u{0}"),
            json!("a\u{0}b"),
            json!("a\u{1}"),
            json!("ab"),
        ]);
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "{keys:02x?}");
        assert_eq!(encoded(&json!("a\u{0}")), [STRING, b'a', 0, 0xff, END]);
    }

    #[test]
    fn an_encoding_followed_by_more_bytes_still_compares_by_its_value() {
        // Index keys are a value's encoding, then the document's id.
        let mut short = encoded(&json!("ab"));
        short.extend(encoded(&json!(99)));
        let mut long = encoded(&json!("abc"));
        long.extend(encoded(&json!(1)));
        assert!(short < long);
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            (-1e6f64..1e6).prop_map(|n| json!(n)),
            prop::sample::select(vec![-0.0, 0.0, 1.0, -1.0, 1e300, -1e300]).prop_map(|n| json!(n)),
            "[a-c\u{0}\u{1}é]{0,4}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::vec(("[a-c\u{0}]{0,2}", inner), 0..3)
                    .prop_map(|fields| Value::Object(fields.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn byte_order_is_value_order(a in json_value(), b in json_value()) {
            prop_assert_eq!(encoded(&a).cmp(&encoded(&b)), compare(&a, &b), "{} vs {}", a, b);
        }

        #[test]
        fn number_order_is_kept_for_any_doubles(a in any::<f64>(), b in any::<f64>()) {
            prop_assume!(!a.is_nan() && !b.is_nan());
            let (x, y) = (encode_number(a), encode_number(b));
            prop_assert_eq!(x.cmp(&y), a.partial_cmp(&b).unwrap());
        }
    }
}
