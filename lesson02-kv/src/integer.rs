//! Values that hold integers.
//!
//! Redis has no integer type for values: INCR reads the value's bytes as a
//! decimal number, adds, and writes the decimal bytes back. "Is an integer"
//! is strict, so that a value round-trips exactly: `"10"` is one, but `" 10"`,
//! `"+10"`, `"010"`, `"-0"` and `"1e3"` are not, because writing the number
//! back would not give the same bytes.

// ANCHOR: parse
/// Parses `bytes` as a 64-bit decimal integer in canonical form, or `None`.
pub fn parse(bytes: &[u8]) -> Option<i64> {
    // exercise 2.1: begin
    let (negative, digits) = match bytes {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, bytes),
    };
    match digits {
        [] => return None,
        [b'0'] if !negative => return Some(0),
        [b'0', ..] => return None, // leading zero, or "-0"
        _ => {}
    }
    // Accumulate as a negative number: i64::MIN has no positive counterpart.
    let mut n: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_sub(i64::from(d - b'0'))?;
    }
    if negative { Some(n) } else { n.checked_neg() }
    // exercise 2.1: end
}
// ANCHOR_END: parse

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn canonical_integers_parse() {
        assert_eq!(parse(b"0"), Some(0));
        assert_eq!(parse(b"42"), Some(42));
        assert_eq!(parse(b"-42"), Some(-42));
        assert_eq!(parse(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse(b"-9223372036854775808"), Some(i64::MIN));
    }

    #[test]
    fn everything_else_is_refused() {
        for bad in [
            &b""[..],
            b"-",
            b"+1",
            b" 1",
            b"1 ",
            b"01",
            b"-0",
            b"1e3",
            b"1.0",
            b"x",
            b"9223372036854775808",
        ] {
            assert_eq!(parse(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    proptest! {
        #[test]
        fn round_trips_every_i64(n: i64) {
            prop_assert_eq!(parse(n.to_string().as_bytes()), Some(n));
        }

        #[test]
        fn accepts_only_what_round_trips(bytes: Vec<u8>) {
            if let Some(n) = parse(&bytes) {
                prop_assert_eq!(n.to_string().into_bytes(), bytes);
            }
        }
    }
}
