//! Glob patterns, as KEYS uses them.
//!
//! | pattern  | matches                                   |
//! |----------|-------------------------------------------|
//! | `*`      | any run of bytes, including none          |
//! | `?`      | exactly one byte                          |
//! | `[abc]`  | one of `a`, `b`, `c`                      |
//! | `[a-z]`  | one byte from `a` to `z`                  |
//! | `[^a]`   | one byte that is not `a`                  |
//! | `\x`     | the byte `x` itself, even `*`, `?`, `[`   |
//!
//! A pattern is first cut into tokens, then matched with the classic
//! backtracking algorithm for `*`: remember where the last star was, and
//! when a later token fails, let that star swallow one more byte and retry.
//! Only the last star needs remembering, which keeps matching O(n·m) instead
//! of exponential. Malformed patterns never fail: an unclosed `[` and a
//! trailing `\` match themselves.

/// One piece of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// A byte that must match exactly.
    Byte(u8),
    /// `?`
    AnyByte,
    /// `*`
    Star,
    /// `[...]`: inclusive byte ranges (`a` is `a-a`), possibly negated.
    Class { negated: bool, ranges: Vec<(u8, u8)> },
}

impl Token {
    /// Whether this single-byte token matches `b`. Never called on `Star`.
    fn matches(&self, b: u8) -> bool {
        match self {
            Token::Byte(x) => *x == b,
            Token::AnyByte => true,
            Token::Class { negated, ranges } => {
                ranges.iter().any(|&(lo, hi)| lo <= b && b <= hi) != *negated
            }
            Token::Star => unreachable!("stars are handled by the matcher"),
        }
    }
}

// ANCHOR: tokenize
/// Cuts a pattern into tokens.
fn tokenize(pattern: &[u8]) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < pattern.len() {
        match pattern[i] {
            b'*' => tokens.push(Token::Star),
            b'?' => tokens.push(Token::AnyByte),
            b'\\' if i + 1 < pattern.len() => {
                i += 1;
                tokens.push(Token::Byte(pattern[i]));
            }
            b'[' => match class(&pattern[i + 1..]) {
                Some((token, used)) => {
                    tokens.push(token);
                    i += used;
                }
                None => tokens.push(Token::Byte(b'[')),
            },
            b => tokens.push(Token::Byte(b)),
        }
        i += 1;
    }
    tokens
}

/// Parses a class body (after the `[`). Returns the token and how many
/// bytes it used, including the `]`; `None` if there is no closing `]`.
fn class(body: &[u8]) -> Option<(Token, usize)> {
    let negated = body.first() == Some(&b'^');
    let mut i = usize::from(negated);
    let mut ranges = Vec::new();
    while i < body.len() {
        let lo = match body[i] {
            b']' => return Some((Token::Class { negated, ranges }, i + 1)),
            b'\\' if i + 1 < body.len() => {
                i += 1;
                body[i]
            }
            b => b,
        };
        if body.get(i + 1) == Some(&b'-') && body.get(i + 2).is_some_and(|&b| b != b']') {
            let hi = body[i + 2];
            ranges.push((lo.min(hi), lo.max(hi)));
            i += 3;
        } else {
            ranges.push((lo, lo));
            i += 1;
        }
    }
    None
}
// ANCHOR_END: tokenize

// ANCHOR: matches
/// Whether `text` matches the glob `pattern`.
pub fn matches(pattern: &[u8], text: &[u8]) -> bool {
    // exercise 2.3: begin
    let tokens = tokenize(pattern);
    let (mut t, mut p) = (0, 0); // position in text, in tokens
    // After the last star seen: the token after it, and where in the text
    // that token is being tried.
    let mut backtrack: Option<(usize, usize)> = None;
    while t < text.len() {
        match tokens.get(p) {
            Some(Token::Star) => {
                backtrack = Some((p + 1, t));
                p += 1;
            }
            Some(token) if token.matches(text[t]) => {
                p += 1;
                t += 1;
            }
            // Mismatch: the last star swallows one more byte, and we retry.
            _ => match backtrack {
                Some((after_star, tried_at)) => {
                    p = after_star;
                    t = tried_at + 1;
                    backtrack = Some((after_star, t));
                }
                None => return false,
            },
        }
    }
    // The text is used up: what remains of the pattern must be stars.
    tokens[p..].iter().all(|token| *token == Token::Star)
    // exercise 2.3: end
}
// ANCHOR_END: matches

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn m(pattern: &str, text: &str) -> bool {
        matches(pattern.as_bytes(), text.as_bytes())
    }

    #[test]
    fn stars_and_question_marks() {
        assert!(m("*", ""));
        assert!(m("*", "anything"));
        assert!(m("user:*", "user:42"));
        assert!(!m("user:*", "users"));
        assert!(m("*:*:name", "user:1:name"));
        assert!(m("h?llo", "hello"));
        assert!(!m("h?llo", "hllo"));
        assert!(m("a*b*c", "a-b-b-c"));
        assert!(!m("a*b*c", "a-b-b-d"));
        assert!(m("**x", "x"));
    }

    #[test]
    fn classes_ranges_and_negation() {
        assert!(m("h[ae]llo", "hallo"));
        assert!(!m("h[ae]llo", "hillo"));
        assert!(m("key[0-9]", "key7"));
        assert!(!m("key[0-9]", "keyx"));
        assert!(m("key[9-0]", "key5"), "a reversed range still means the range");
        assert!(m("h[^e]llo", "hallo"));
        assert!(!m("h[^e]llo", "hello"));
        assert!(m("[a-]", "-"), "a '-' before ']' is literal");
        assert!(m("[\\]]", "]"));
    }

    #[test]
    fn escapes_make_special_bytes_literal() {
        assert!(m("a\\*", "a*"));
        assert!(!m("a\\*", "ab"));
        assert!(m("\\?", "?"));
        assert!(m("\\[x]", "[x]"));
    }

    #[test]
    fn malformed_patterns_match_themselves() {
        assert!(m("[abc", "[abc"));
        assert!(!m("[abc", "a"));
        assert!(m("end\\", "end\\"));
    }

    /// A slow, obviously correct matcher for `*`, `?` and literals only.
    fn reference(pattern: &[u8], text: &[u8]) -> bool {
        match pattern.split_first() {
            None => text.is_empty(),
            Some((b'*', rest)) => (0..=text.len()).any(|i| reference(rest, &text[i..])),
            Some((b'?', rest)) => !text.is_empty() && reference(rest, &text[1..]),
            Some((c, rest)) => text.first() == Some(c) && reference(rest, &text[1..]),
        }
    }

    proptest! {
        #[test]
        fn agrees_with_a_slow_reference(pattern in "[ab*?]{0,8}", text in "[ab]{0,10}") {
            prop_assert_eq!(matches(pattern.as_bytes(), text.as_bytes()), reference(pattern.as_bytes(), text.as_bytes()));
        }

        #[test]
        fn never_panics(pattern: Vec<u8>, text: Vec<u8>) {
            let _ = matches(&pattern, &text);
        }
    }
}
