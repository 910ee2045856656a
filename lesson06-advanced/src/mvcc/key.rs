//! Versioned keys: a user's key and a commit timestamp in one B+tree key.
//!
//! ```text
//!   version   01 ‖ the key, each 00 as 00 FF ‖ 00 00 ‖ !timestamp (8 bytes, big-endian)
//!   meta      00 ‖ "last_commit"                       → the newest commit's timestamp
//! ```
//!
//! The B+tree orders keys by their bytes, and we want two orders from it at
//! once: user keys in their own byte order, and a key's versions **newest
//! first**, so that a read at snapshot `s` is one seek, to `(key, s)`: the
//! first entry at or after it is the newest version with a timestamp no
//! later than `s`.
//!
//! - The timestamp is stored inverted (`!ts`): big-endian bytes sort as
//!   numbers, and inverting them reverses the order.
//! - The user key must end somewhere the timestamp cannot be mistaken for
//!   more key: escape each `00` in it as `00 FF` and end it with `00 00`. A
//!   `00` is then always followed by `FF` (more key) or `00` (the end), and
//!   the end sorts below any byte of a longer key: `"a" < "a\0" < "ab"`
//!   stays true of the encodings, whatever timestamps follow. (Lesson 4's
//!   [`encode_string`](lesson04_indexing::document::keycode::encode_string)
//!   ends a string with a single `00`; that is enough when a type tag
//!   follows, which is never `FF`, but not before a timestamp, whose first
//!   byte is almost always `FF`.)
//! - Versions live under the prefix `01`, above the one meta key under `00`.
//!
//! toydb's MVCC uses the same idea (its `Key::Version(key, version)` in its
//! keycode encoding), ordering versions oldest first and reading backwards.

use std::ops::Bound;

use lesson01_intro::KeyRange;

/// The key that holds the newest commit's timestamp.
pub const LAST_COMMIT: &[u8] = b"\x00last_commit";

/// The first byte of every version's key.
const VERSION: u8 = 0x01;

// ANCHOR: encode
/// What every version of `key` starts with: the tag and the escaped key.
pub fn prefix(key: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(key.len() + 11);
    out.push(VERSION);
    for &byte in key {
        out.push(byte);
        if byte == 0 {
            out.push(0xff);
        }
    }
    out.extend_from_slice(&[0, 0]);
    out
}

/// The B+tree key of `key`'s version committed at `ts`.
pub fn encode(key: &[u8], ts: u64) -> Vec<u8> {
    let mut out = prefix(key);
    out.extend_from_slice(&(!ts).to_be_bytes());
    out
}
// ANCHOR_END: encode

/// The user key and timestamp of a version's B+tree key; `None` if it is
/// not one (the meta key, or damage).
pub fn decode(bytes: &[u8]) -> Option<(Vec<u8>, u64)> {
    let (&VERSION, mut rest) = bytes.split_first()? else { return None };
    let mut key = Vec::new();
    loop {
        match rest {
            [0, 0, ts @ ..] => {
                let ts: [u8; 8] = ts.try_into().ok()?;
                return Some((key, !u64::from_be_bytes(ts)));
            }
            [0, 0xff, tail @ ..] => {
                key.push(0);
                rest = tail;
            }
            [byte, tail @ ..] if *byte != 0 => {
                key.push(*byte);
                rest = tail;
            }
            _ => return None,
        }
    }
}

/// The B+tree range holding every version of every key in `range`.
pub fn versions_of(range: &KeyRange) -> KeyRange {
    // A key's versions lie between `encode(key, u64::MAX)` (its prefix and
    // eight 00 bytes) and `encode(key, 0)` (eight FF bytes), inclusive.
    let start = match &range.start {
        Bound::Included(key) => Bound::Included(prefix(key)),
        Bound::Excluded(key) => Bound::Excluded(encode(key, 0)),
        Bound::Unbounded => Bound::Included(vec![VERSION]),
    };
    let end = match &range.end {
        Bound::Included(key) => Bound::Included(encode(key, 0)),
        Bound::Excluded(key) => Bound::Excluded(prefix(key)),
        Bound::Unbounded => Bound::Excluded(vec![VERSION + 1]),
    };
    KeyRange { start, end }
}

/// A version's value: a tombstone (`00`), or `01` and the bytes.
pub fn encode_value(value: Option<&[u8]>) -> Vec<u8> {
    match value {
        None => vec![0],
        Some(bytes) => [&[1][..], bytes].concat(),
    }
}

/// The bytes of a version's value, or `None` for a tombstone; an error for
/// bytes that are neither.
pub fn decode_value(bytes: &[u8]) -> Result<Option<&[u8]>, String> {
    match bytes.split_first() {
        Some((0, [])) => Ok(None),
        Some((1, value)) => Ok(Some(value)),
        _ => Err(format!("a version's value starts with {:02x?}", bytes.first())),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn versions_sort_by_key_then_newest_first() {
        let mut keys = [
            encode(b"a", 1),
            encode(b"a", 9),
            encode(b"a\0", 5),
            encode(b"ab", 2),
            encode(b"", 7),
            encode(b"a\0\0", 3),
        ];
        keys.sort();
        let decoded: Vec<_> = keys.iter().map(|k| decode(k).unwrap()).collect();
        let expected: Vec<(Vec<u8>, u64)> = vec![
            (b"".to_vec(), 7),
            (b"a".to_vec(), 9),
            (b"a".to_vec(), 1),
            (b"a\0".to_vec(), 5),
            (b"a\0\0".to_vec(), 3),
            (b"ab".to_vec(), 2),
        ];
        assert_eq!(decoded, expected);
        assert!(LAST_COMMIT < encode(b"", u64::MAX).as_slice());
    }

    proptest! {
        #[test]
        fn encoding_preserves_order_and_round_trips(
            a in proptest::collection::vec(prop_oneof![Just(0u8), Just(0xff), any::<u8>()], 0..6),
            b in proptest::collection::vec(prop_oneof![Just(0u8), Just(0xff), any::<u8>()], 0..6),
            ta: u64,
            tb: u64,
        ) {
            let (ea, eb) = (encode(&a, ta), encode(&b, tb));
            prop_assert_eq!(decode(&ea), Some((a.clone(), ta)));
            let expected = a.cmp(&b).then(tb.cmp(&ta));
            prop_assert_eq!(ea.cmp(&eb), expected);
            // Every version of a key lies inside the range built for it, and
            // no version of another key does.
            let range = versions_of(&KeyRange {
                start: Bound::Included(a.clone()),
                end: Bound::Included(a.clone()),
            });
            prop_assert!(range.contains(&ea));
            prop_assert_eq!(range.contains(&eb), a == b);
        }

        #[test]
        fn decoding_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..24)) {
            let _ = decode(&bytes);
            let _ = decode_value(&bytes);
        }
    }
}
