//! What a command answers.
//!
//! [`Reply`] has the shapes of Redis's protocol: a status line, an error, an
//! integer, a bulk string (binary-safe bytes), nil, and an array of replies
//! (RESP2's six), and three that RESP3 adds for the data types: a map
//! (`HGETALL`), a set (`SMEMBERS`) and a double (`ZSCORE`), plus pairs
//! (`ZRANGE … WITHSCORES`). A RESP2 client gets those as the flat arrays and
//! bulk strings Redis sent before RESP3. This lesson renders replies the way
//! redis-cli prints them; lesson 5 will encode the same values as RESP
//! bytes on a socket.

use std::fmt::Write;

// ANCHOR: reply
/// A reply to a command.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// A short status such as `OK` or `PONG`.
    Simple(String),
    /// An error; the text starts with its kind, such as `ERR` or `WRONGTYPE`.
    Error(String),
    /// A 64-bit integer.
    Integer(i64),
    /// Bytes: a value, or a message.
    Bulk(Vec<u8>),
    /// No value (a missing key).
    Nil,
    /// Several replies.
    Array(Vec<Reply>),
    /// No array at all: what `EXEC` answers when a watched key changed
    /// (lesson 6). RESP2 tells it from [`Reply::Nil`]; redis-cli prints both
    /// as `(nil)`.
    NullArray,
    /// Keys and values (RESP3's map; RESP2 sends them as a flat array).
    Map(Vec<(Reply, Reply)>),
    /// Members, each once (RESP3's set; RESP2: an array).
    Set(Vec<Reply>),
    /// A floating-point number (RESP3's double; RESP2: a bulk string).
    Double(f64),
    /// Pairs, such as members and scores (RESP3: an array of two-element
    /// arrays; RESP2: one flat array).
    Pairs(Vec<(Reply, Reply)>),
}
// ANCHOR_END: reply

impl Reply {
    /// The `OK` status.
    pub fn ok() -> Self {
        Reply::Simple("OK".into())
    }

    /// The reply as RESP2 shapes it: maps and pairs flattened, sets as
    /// arrays, doubles as bulk strings. The RESP3 shapes are kept by a
    /// RESP3 encoder; every other reader of replies can use this.
    pub fn flattened(self) -> Reply {
        let flat = |pairs: Vec<(Reply, Reply)>| {
            Reply::Array(
                pairs.into_iter().flat_map(|(k, v)| [k.flattened(), v.flattened()]).collect(),
            )
        };
        match self {
            Reply::Map(pairs) | Reply::Pairs(pairs) => flat(pairs),
            Reply::Set(items) | Reply::Array(items) => {
                Reply::Array(items.into_iter().map(Reply::flattened).collect())
            }
            Reply::Double(value) => Reply::Bulk(format_double(value).into_bytes()),
            other => other,
        }
    }

    /// An error reply from a command-language error.
    pub fn error(err: &crate::error::Error) -> Self {
        Reply::Error(err.to_string())
    }

    // ANCHOR: render
    /// Renders the reply as redis-cli prints it: `OK`, `"value"`, `(nil)`,
    /// `(integer) 3`, `(error) ERR …`, and numbered lines for arrays.
    pub fn render(&self) -> String {
        let mut out = String::new();
        self.render_into(&mut out, 0);
        out
    }

    fn render_into(&self, out: &mut String, indent: usize) {
        match self {
            // redis-cli speaks RESP2 by default: these arrive flattened.
            Reply::Map(_) | Reply::Set(_) | Reply::Pairs(_) | Reply::Double(_) => {
                self.clone().flattened().render_into(out, indent);
            }
            Reply::Simple(s) => out.push_str(s),
            Reply::Error(e) => write!(out, "(error) {e}").unwrap(),
            Reply::Integer(n) => write!(out, "(integer) {n}").unwrap(),
            Reply::Bulk(bytes) => out.push_str(&quote(bytes)),
            Reply::Nil | Reply::NullArray => out.push_str("(nil)"),
            Reply::Array(items) if items.is_empty() => out.push_str("(empty array)"),
            Reply::Array(items) => {
                // Numbers are right-aligned, and nested arrays indented past them.
                let width = items.len().to_string().len();
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push('\n');
                        out.push_str(&" ".repeat(indent));
                    }
                    write!(out, "{:>width$}) ", i + 1).unwrap();
                    item.render_into(out, indent + width + 2);
                }
            }
        }
    }
}

// ANCHOR: format_double
/// A double as Redis writes one: the shortest digits that read back as the
/// same number (`1.5`, `0.1`, `3`), `inf` and `-inf`, and an exponent for
/// the very large and very small (`1e+20`).
pub fn format_double(value: f64) -> String {
    if value.is_infinite() {
        return if value > 0.0 { "inf" } else { "-inf" }.into();
    }
    let magnitude = value.abs();
    if magnitude != 0.0 && !(1e-5..1e17).contains(&magnitude) {
        // Rust writes `1e20`; C's printf, and so Redis, `1e+20`.
        let text = format!("{value:e}");
        return match text.split_once('e') {
            Some((digits, exp)) if !exp.starts_with('-') => format!("{digits}e+{exp}"),
            _ => text,
        };
    }
    format!("{value}")
}
// ANCHOR_END: format_double

/// Quotes bytes as redis-cli does: printable ASCII as is, `"` and `\`
/// escaped, common control characters as `\n` and friends, any other byte
/// as `\xNN`. The result can be pasted back into a command line.
pub fn quote(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    for &b in bytes {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x07 => out.push_str("\\a"),
            0x08 => out.push_str("\\b"),
            b if b.is_ascii_graphic() || b == b' ' => out.push(b as char),
            b => write!(out, "\\x{b:02x}").unwrap(),
        }
    }
    out.push('"');
    out
}
// ANCHOR_END: render

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokenizer::tokenize;
    use proptest::prelude::*;

    #[test]
    fn scalars_render_like_redis_cli() {
        assert_eq!(Reply::ok().render(), "OK");
        assert_eq!(Reply::Integer(-3).render(), "(integer) -3");
        assert_eq!(Reply::Nil.render(), "(nil)");
        assert_eq!(Reply::Bulk(b"a \"b\"\n\xff".to_vec()).render(), r#""a \"b\"\n\xff""#);
        assert_eq!(Reply::Error("ERR syntax error".into()).render(), "(error) ERR syntax error");
    }

    #[test]
    fn arrays_number_their_items_and_align_them() {
        let items: Vec<Reply> =
            (0..10).map(|i| Reply::Bulk(format!("k{i}").into_bytes())).collect();
        let text = Reply::Array(items).render();
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(lines[0], r#" 1) "k0""#);
        assert_eq!(lines[9], r#"10) "k9""#);
        assert_eq!(Reply::Array(vec![]).render(), "(empty array)");
    }

    #[test]
    fn nested_arrays_are_indented() {
        let nested =
            Reply::Array(vec![Reply::Integer(1), Reply::Array(vec![Reply::Nil, Reply::ok()])]);
        assert_eq!(nested.render(), "1) (integer) 1\n2) 1) (nil)\n   2) OK");
    }

    #[test]
    fn resp3_shapes_render_as_redis_cli_shows_them_over_resp2() {
        let map = Reply::Map(vec![(Reply::Bulk(b"f".to_vec()), Reply::Bulk(b"v".to_vec()))]);
        assert_eq!(map.render(), "1) \"f\"\n2) \"v\"");
        assert_eq!(Reply::Double(1.5).render(), "\"1.5\"");
        let pairs = Reply::Pairs(vec![(Reply::Bulk(b"m".to_vec()), Reply::Double(2.0))]);
        assert_eq!(
            pairs.flattened(),
            Reply::Array(vec![Reply::Bulk(b"m".to_vec()), Reply::Bulk(b"2".to_vec())])
        );
    }

    #[test]
    fn doubles_are_written_as_redis_writes_them() {
        for (value, text) in [
            (1.5, "1.5"),
            (3.0, "3"),
            (-0.25, "-0.25"),
            (0.1, "0.1"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (1e20, "1e+20"),
            (1.5e-7, "1.5e-7"),
            (0.0, "0"),
        ] {
            assert_eq!(format_double(value), text);
        }
    }

    proptest! {
        #[test]
        fn quoted_bytes_tokenize_back_to_the_same_bytes(bytes: Vec<u8>) {
            prop_assert_eq!(tokenize(quote(&bytes).as_bytes()).unwrap(), vec![bytes]);
        }
    }
}
