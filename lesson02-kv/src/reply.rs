//! What a command answers.
//!
//! [`Reply`] has exactly the shapes of Redis's protocol (RESP2): a status
//! line, an error, an integer, a bulk string (binary-safe bytes), nil, and an
//! array of replies. This lesson renders replies the way redis-cli prints
//! them; lesson 5 will encode the same values as RESP bytes on a socket.

use std::fmt::Write;

// ANCHOR: reply
/// A reply to a command.
#[derive(Debug, Clone, PartialEq, Eq)]
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
}
// ANCHOR_END: reply

impl Reply {
    /// The `OK` status.
    pub fn ok() -> Self {
        Reply::Simple("OK".into())
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

    proptest! {
        #[test]
        fn quoted_bytes_tokenize_back_to_the_same_bytes(bytes: Vec<u8>) {
            prop_assert_eq!(tokenize(quote(&bytes).as_bytes()).unwrap(), vec![bytes]);
        }
    }
}
