//! Cutting a command line into arguments, the way redis-cli does.
//!
//! ```text
//!   SET greeting "hello\tworld" 'it''s'   ──►  [SET] [greeting] [hello<TAB>world] ✗
//!   SET greeting "hello\tworld" 'it\'s'   ──►  [SET] [greeting] [hello<TAB>world] [it's]
//! ```
//!
//! - Arguments are separated by spaces (and tabs).
//! - `"double quotes"` allow escapes: `\n \r \t \b \a \\ \"` and `\xNN`
//!   (two hex digits) for any byte, so binary values can be typed.
//! - `'single quotes'` take everything literally except `\'`.
//! - A closing quote must be followed by a space or the end of the line;
//!   `"a"b` is an error, as is a quote that is never closed.
//!
//! Arguments are bytes, not strings: `"\xff"` is one byte that is not UTF-8.

use crate::error::{Error, Result};

// ANCHOR: tokenize
/// Splits one line into arguments.
pub fn tokenize(line: &[u8]) -> Result<Vec<Vec<u8>>> {
    let mut args = Vec::new();
    let mut i = 0;
    loop {
        while i < line.len() && line[i].is_ascii_whitespace() {
            i += 1;
        }
        if i == line.len() {
            return Ok(args);
        }
        let (arg, next) = match line[i] {
            b'"' => double_quoted(line, i + 1)?,
            b'\'' => single_quoted(line, i + 1)?,
            _ => bare(line, i),
        };
        args.push(arg);
        i = next;
    }
}
// ANCHOR_END: tokenize

/// An unquoted argument: everything up to the next space.
fn bare(line: &[u8], start: usize) -> (Vec<u8>, usize) {
    let end =
        line[start..].iter().position(u8::is_ascii_whitespace).map_or(line.len(), |n| start + n);
    (line[start..end].to_vec(), end)
}

/// The quote at `i - 1` was closed at `i - 1`: what follows must be a space
/// or the end of the line.
fn after_closing_quote(line: &[u8], i: usize) -> Result<usize> {
    match line.get(i) {
        None => Ok(i),
        Some(b) if b.is_ascii_whitespace() => Ok(i),
        Some(_) => Err(Error::UnbalancedQuotes),
    }
}

// ANCHOR: double_quoted
/// A `"…"` argument starting after the opening quote. Returns the bytes and
/// where the next argument may start.
fn double_quoted(line: &[u8], mut i: usize) -> Result<(Vec<u8>, usize)> {
    // exercise 2.2: begin
    let mut arg = Vec::new();
    loop {
        match line.get(i) {
            None => return Err(Error::UnbalancedQuotes),
            Some(b'"') => return Ok((arg, after_closing_quote(line, i + 1)?)),
            Some(b'\\') => {
                let hex = |b: Option<&u8>| b.and_then(|&b| (b as char).to_digit(16));
                match (line.get(i + 1), hex(line.get(i + 2)), hex(line.get(i + 3))) {
                    (Some(b'x'), Some(hi), Some(lo)) => {
                        arg.push((hi * 16 + lo) as u8);
                        i += 4;
                        continue;
                    }
                    (Some(&c), _, _) => arg.push(match c {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'a' => 0x07,
                        other => other, // `\"`, `\\`, and any other byte as itself
                    }),
                    (None, _, _) => return Err(Error::UnbalancedQuotes),
                }
                i += 2;
            }
            Some(&b) => {
                arg.push(b);
                i += 1;
            }
        }
    }
    // exercise 2.2: end
}
// ANCHOR_END: double_quoted

/// A `'…'` argument starting after the opening quote: literal except `\'`.
fn single_quoted(line: &[u8], mut i: usize) -> Result<(Vec<u8>, usize)> {
    let mut arg = Vec::new();
    loop {
        match (line.get(i), line.get(i + 1)) {
            (None, _) => return Err(Error::UnbalancedQuotes),
            (Some(b'\\'), Some(b'\'')) => {
                arg.push(b'\'');
                i += 2;
            }
            (Some(b'\''), _) => return Ok((arg, after_closing_quote(line, i + 1)?)),
            (Some(&b), _) => {
                arg.push(b);
                i += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn split(line: &str) -> Result<Vec<String>> {
        tokenize(line.as_bytes()).map(|args| {
            args.into_iter().map(|a| String::from_utf8_lossy(&a).into_owned()).collect()
        })
    }

    #[test]
    fn spaces_separate_arguments() {
        assert_eq!(split("  SET   a  1 "), Ok(vec!["SET".into(), "a".into(), "1".into()]));
        assert_eq!(split(""), Ok(vec![]));
        assert_eq!(split(" \t "), Ok(vec![]));
    }

    #[test]
    fn double_quotes_keep_spaces_and_decode_escapes() {
        assert_eq!(split(r#"SET k "hello world""#).unwrap()[2], "hello world");
        assert_eq!(split(r#""a\nb\tc\"d\\e""#).unwrap()[0], "a\nb\tc\"d\\e");
        assert_eq!(
            split(r#""""#),
            Ok(vec![String::new()]),
            "an empty quoted argument is an argument"
        );
    }

    #[test]
    fn hex_escapes_give_any_byte() {
        assert_eq!(tokenize(br#""\x00\xff\x41""#), Ok(vec![vec![0x00, 0xff, b'A']]));
        // Not two hex digits: the backslash escapes the `x` only.
        assert_eq!(tokenize(br#""\xg1""#), Ok(vec![b"xg1".to_vec()]));
    }

    #[test]
    fn single_quotes_are_literal_but_for_an_escaped_quote() {
        assert_eq!(split(r"'a\nb'").unwrap()[0], r"a\nb");
        assert_eq!(split(r"'it\'s'").unwrap()[0], "it's");
    }

    #[test]
    fn unbalanced_quotes_are_an_error() {
        for bad in [r#"GET "a"#, "GET 'a", r#"GET "a"b"#, "GET 'a'b", r#"GET "a\"#] {
            assert_eq!(split(bad), Err(Error::UnbalancedQuotes), "{bad}");
        }
    }

    #[test]
    fn quotes_inside_a_bare_word_are_plain_bytes() {
        assert_eq!(split(r#"a"b"#).unwrap()[0], r#"a"b"#);
    }

    proptest! {
        #[test]
        fn never_panics_on_any_bytes(line: Vec<u8>) {
            let _ = tokenize(&line);
        }

        #[test]
        fn quoting_any_bytes_round_trips(arg: Vec<u8>) {
            // Quote the way redis-cli prints values: every byte as \xNN.
            let mut line = b"SET k \"".to_vec();
            for b in &arg {
                line.extend(format!("\\x{b:02x}").bytes());
            }
            line.push(b'"');
            prop_assert_eq!(tokenize(&line).unwrap(), vec![b"SET".to_vec(), b"k".to_vec(), arg]);
        }
    }
}
