//! The lexer: SQL text to tokens, each with the byte position it starts at
//! (errors point there).
//!
//! SQL's lexical rules, the subset we speak:
//!
//! - Keywords and unquoted identifiers are case-insensitive: both are
//!   folded to lower case, as PostgreSQL folds them. `"Quoted"`
//!   identifiers keep their case, and `""` inside is one `"`.
//! - Strings are in single quotes; `''` inside is one `'`.
//! - Numbers: digits, with a `.` and more digits for a float, and an
//!   optional exponent (`1.5e3`).
//! - `--` starts a comment to the end of the line.

use super::error::{Error, Result};

/// A kind of token.
#[derive(Debug, Clone, PartialEq)]
pub enum Token {
    /// A keyword or an identifier, folded to lower case (the parser tells
    /// them apart: `SELECT` is a keyword where a statement starts, and a
    /// table may not be called `select` unless quoted).
    Word(String),
    /// A `"quoted"` identifier, as written.
    Quoted(String),
    /// An integer literal's digits.
    Integer(String),
    /// A float literal's text.
    Float(String),
    /// A `'string'` literal, unescaped.
    String(String),
    /// Punctuation and operators: `( ) , ; . * + - / % = != <> < <= > >= ||`.
    Symbol(&'static str),
}

/// The error for a string or quoted name that never ends (in the REPL: a
/// statement that goes on, on the next line).
pub const UNTERMINATED: &str = "unterminated quoted string";

/// A token and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Spanned {
    /// The token.
    pub token: Token,
    /// Its first byte's offset in the statement.
    pub position: usize,
}

/// The symbols, longest first so that `<=` is not read as `<` then `=`.
const SYMBOLS: &[&str] = &[
    "<=", ">=", "!=", "<>", "||", "(", ")", ",", ";", ".", "*", "+", "-", "/", "%", "=", "<", ">",
];

// ANCHOR: tokenize
/// Splits `sql` into tokens.
pub fn tokenize(sql: &str) -> Result<Vec<Spanned>> {
    let bytes = sql.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        let c = bytes[i];
        let token = if c.is_ascii_whitespace() {
            i += 1;
            continue;
        } else if sql[i..].starts_with("--") {
            i = sql[i..].find('\n').map_or(bytes.len(), |n| i + n);
            continue;
        } else if c.is_ascii_alphabetic() || c == b'_' {
            i += word_len(&bytes[i..]);
            Token::Word(sql[start..i].to_ascii_lowercase())
        } else if c.is_ascii_digit() {
            let (len, float) = number_len(&bytes[i..]);
            i += len;
            let text = sql[start..i].to_string();
            if float { Token::Float(text) } else { Token::Integer(text) }
        } else if c == b'\'' || c == b'"' {
            let (text, len) =
                quoted(&sql[i..], c as char).ok_or_else(|| Error::at(start, UNTERMINATED))?;
            i += len;
            if c == b'\'' { Token::String(text) } else { Token::Quoted(text) }
        } else if let Some(symbol) = SYMBOLS.iter().find(|s| sql[i..].starts_with(**s)) {
            i += symbol.len();
            Token::Symbol(symbol)
        } else {
            let ch = sql[i..].chars().next().expect("not at the end");
            return Err(Error::at(start, format!("unexpected character {ch:?}")));
        };
        tokens.push(Spanned { token, position: start });
    }
    Ok(tokens)
}
// ANCHOR_END: tokenize

fn word_len(bytes: &[u8]) -> usize {
    bytes.iter().take_while(|b| b.is_ascii_alphanumeric() || **b == b'_').count()
}

/// The length of the number at the start of `bytes`, and whether it is a
/// float.
fn number_len(bytes: &[u8]) -> (usize, bool) {
    let digits = |from: usize| bytes[from..].iter().take_while(|b| b.is_ascii_digit()).count();
    let mut len = digits(0);
    let mut float = false;
    if bytes.get(len) == Some(&b'.') {
        float = true;
        len += 1 + digits(len + 1);
    }
    if matches!(bytes.get(len), Some(b'e' | b'E')) {
        let sign = usize::from(matches!(bytes.get(len + 1), Some(b'+' | b'-')));
        let exponent = digits(len + 1 + sign);
        if exponent > 0 {
            float = true;
            len += 1 + sign + exponent;
        }
    }
    (len, float)
}

/// The text inside the quotes at the start of `s` (a doubled quote is one
/// quote), and how many bytes it took; `None` if it never ends.
fn quoted(s: &str, quote: char) -> Option<(String, usize)> {
    let mut out = String::new();
    let mut chars = s.char_indices().skip(1).peekable();
    while let Some((i, c)) = chars.next() {
        if c == quote {
            if chars.peek().is_some_and(|(_, next)| *next == quote) {
                chars.next();
            } else {
                return Some((out, i + 1));
            }
        }
        out.push(c);
    }
    None
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn kinds(sql: &str) -> Vec<Token> {
        tokenize(sql).unwrap().into_iter().map(|t| t.token).collect()
    }

    #[test]
    fn words_numbers_strings_and_symbols() {
        use Token::*;
        assert_eq!(
            kinds("SELECT a, \"Mixed Case\" FROM t WHERE x <= 1.5e3 AND y <> 'it''s' -- no\n;"),
            vec![
                Word("select".into()),
                Word("a".into()),
                Symbol(","),
                Quoted("Mixed Case".into()),
                Word("from".into()),
                Word("t".into()),
                Word("where".into()),
                Word("x".into()),
                Symbol("<="),
                Float("1.5e3".into()),
                Word("and".into()),
                Word("y".into()),
                Symbol("<>"),
                String("it's".into()),
                Symbol(";"),
            ]
        );
        assert_eq!(kinds("1e"), vec![Integer("1".into()), Word("e".into())]);
        assert_eq!(kinds("3.x"), vec![Float("3.".into()), Word("x".into())]);
    }

    #[test]
    fn errors_say_where() {
        let err = tokenize("SELECT 'abc").unwrap_err();
        assert_eq!(err.position, Some(7));
        let err = tokenize("SELECT a ? b").unwrap_err();
        assert_eq!((err.position, err.message.as_str()), (Some(9), "unexpected character '?'"));
    }

    proptest! {
        #[test]
        fn never_panics(sql in "\\PC{0,40}") {
            let _ = tokenize(&sql);
        }
    }
}
