//! RESP, Redis's protocol: frames as values, and the bytes they travel as.
//!
//! Every frame starts with one byte that says its type and ends its header
//! with `\r\n`:
//!
//! ```text
//!   +OK\r\n                      simple string     _\r\n           null (RESP3)
//!   -ERR unknown command\r\n     error             ,3.5\r\n        double (RESP3)
//!   :42\r\n                      integer           #t\r\n          boolean (RESP3)
//!   $5\r\nhello\r\n              bulk string       %1\r\n…         map (RESP3)
//!   $-1\r\n                      null (RESP2)      ~2\r\n…         set (RESP3)
//!   *2\r\n$3\r\nGET\r\n$1\r\nk\r\n  array of frames  =7\r\ntxt:abc\r\n verbatim (RESP3)
//! ```
//!
//! A client sends each command as an array of bulk strings, or as one
//! *inline* line of text (`PING\r\n`, what you type into `telnet`). The
//! server's replies use the richer types.
//!
//! Parsing is pure: bytes in, a frame (and how many bytes it took) out. TCP
//! delivers a stream, not messages, so a frame may arrive in pieces: the
//! parser then answers [`Parsed::Incomplete`], which is not an error but
//! "read more and call me again". Every element is checked complete before
//! it is parsed, and nothing is allocated from a length the client sent
//! until the bytes of that length have arrived: a client that announces a
//! 500 MB string and sends nothing costs nothing.

// ANCHOR: frame
/// One RESP value.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// `+OK`: a short status line.
    Simple(String),
    /// `-ERR …`: an error; its first word is its kind.
    Error(String),
    /// `:42`
    Integer(i64),
    /// `$5\r\nhello`: binary-safe bytes.
    Bulk(Vec<u8>),
    /// `*2\r\n…`: frames in order.
    Array(Vec<Frame>),
    /// No value: `$-1` in RESP2, `_` in RESP3.
    Null,
    /// No array: `*-1` in RESP2, `_` in RESP3 (`EXEC` after a watched key
    /// changed).
    NullArray,
    /// `,3.5` (RESP3; a bulk string in RESP2).
    Double(f64),
    /// `#t` (RESP3; the integer 1 or 0 in RESP2).
    Boolean(bool),
    /// `%2\r\n…`: pairs (RESP3; a flat array in RESP2).
    Map(Vec<(Frame, Frame)>),
    /// `~2\r\n…`: a set (RESP3; an array in RESP2).
    Set(Vec<Frame>),
    /// `=9\r\ntxt:hello`: text with a format (RESP3; a bulk string in RESP2).
    Verbatim(Vec<u8>),
    /// Pairs, such as members and scores: not a type of its own, but a
    /// shape Redis picks by protocol (RESP3: an array of two-element arrays;
    /// RESP2: one flat array). Never parsed, only sent.
    Pairs(Vec<(Frame, Frame)>),
}
// ANCHOR_END: frame

/// Which version of the protocol a connection speaks; `HELLO` changes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    /// RESP2, every connection's start.
    #[default]
    Resp2,
    /// RESP3, after `HELLO 3`.
    Resp3,
}

/// Limits on what a client may send, checked before anything is allocated.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The longest bulk string (Redis: `proto-max-bulk-len`, 512 MB).
    pub max_bulk: usize,
    /// The most elements in one command. Redis 7 allows any count up to
    /// 2³¹ once a client has authenticated; a million arguments is already
    /// more than any real command sends.
    pub max_array: usize,
    /// The longest inline command line (Redis: 64 KB).
    pub max_inline: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_bulk: 512 << 20, max_array: 1 << 20, max_inline: 64 << 10 }
    }
}

/// What the parser made of the bytes so far.
#[derive(Debug, PartialEq)]
pub enum Parsed<T> {
    /// A whole value, and the number of bytes it took.
    Done(T, usize),
    /// The bytes end inside a value: read more, then parse again.
    Incomplete,
}

/// A protocol error: the bytes can never become a valid frame. The text is
/// Redis's; the server replies with it and closes the connection, since it
/// can no longer tell where the next command starts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("ERR Protocol error: {0}")]
pub struct ProtocolError(pub String);

fn protocol_error<T>(what: impl Into<String>) -> Result<T, ProtocolError> {
    Err(ProtocolError(what.into()))
}

/// The longest header line (`*1048576`, `$536870912`) worth reading: a
/// longer one is garbage, and stops a client from growing the buffer with a
/// header that never ends.
const MAX_HEADER: usize = 32;

// ANCHOR: progress
/// Where a request's parse stopped, so that the next call goes on from
/// there instead of checking again the arguments it already has. Without
/// it, a command of a million arguments arriving in small reads would be
/// re-checked from its start after every read: quadratic work a client
/// could ask for on purpose.
#[derive(Debug, Default)]
pub struct RequestProgress {
    /// The arguments parsed so far, and how many the array announced.
    args: Vec<Vec<u8>>,
    expected: usize,
    /// Bytes of the buffer these arguments took, from the request's start;
    /// for an inline line, how far the search for its end got.
    offset: usize,
}
// ANCHOR_END: progress

// ANCHOR: parse_request
/// Parses one request from the start of `buf`: an array of bulk strings, or
/// an inline line. `Done(args, n)` means the request took `n` bytes; an
/// empty `args` is an empty line, which Redis ignores. After `Incomplete`,
/// call again with the same buffer, grown, and the same `progress`.
pub fn parse_request(
    buf: &[u8],
    progress: &mut RequestProgress,
    limits: &Limits,
) -> Result<Parsed<Vec<Vec<u8>>>, ProtocolError> {
    if buf.is_empty() {
        return Ok(Parsed::Incomplete);
    }
    if buf[0] != b'*' {
        return parse_inline(buf, progress, limits);
    }
    if progress.offset == 0 {
        // The array's header: how many arguments follow.
        let Some((line, used)) = line(buf, 1)? else { return Ok(Parsed::Incomplete) };
        let count = match parse_int(line) {
            Some(n) if n <= limits.max_array as i64 => n,
            _ => return protocol_error("invalid multibulk length"),
        };
        if count <= 0 {
            // `*0` and `*-1` are valid and mean nothing: skip them.
            return Ok(Parsed::Done(Vec::new(), used));
        }
        progress.expected = count as usize;
        progress.offset = used;
    }
    // exercise 5.1: begin
    while progress.args.len() < progress.expected {
        let rest = &buf[progress.offset..];
        let Some(&kind) = rest.first() else { return Ok(Parsed::Incomplete) };
        if kind != b'$' {
            return protocol_error(format!("expected '$', got '{}'", char::from(kind)));
        }
        let Some((line, used)) = line(rest, 1)? else { return Ok(Parsed::Incomplete) };
        let len = match parse_int(line) {
            Some(n) if (0..=limits.max_bulk as i64).contains(&n) => n as usize,
            _ => return protocol_error("invalid bulk length"),
        };
        // Check the whole argument is here before copying it out.
        if rest.len() < used + len + 2 {
            return Ok(Parsed::Incomplete);
        }
        if &rest[used + len..used + len + 2] != b"\r\n" {
            return protocol_error("bulk string not followed by CRLF");
        }
        progress.args.push(rest[used..used + len].to_vec());
        progress.offset += used + len + 2;
    }
    let done = std::mem::take(progress);
    Ok(Parsed::Done(done.args, done.offset))
    // exercise 5.1: end
}
// ANCHOR_END: parse_request

/// An inline command: one line, split into arguments as lesson 2's REPL
/// splits what you type (quotes and escapes included).
/// `progress.offset` remembers how far the search for the newline got, so
/// that a line arriving a byte at a time is not searched from its start
/// after every byte.
fn parse_inline(
    buf: &[u8],
    progress: &mut RequestProgress,
    limits: &Limits,
) -> Result<Parsed<Vec<Vec<u8>>>, ProtocolError> {
    // As in Redis, the limit is on waiting for the end of the line: a
    // whole line that arrived at once is taken whatever its length (the
    // query buffer limit still bounds it).
    let from = progress.offset.min(buf.len());
    let Some(end) = buf[from..].iter().position(|&b| b == b'\n').map(|at| from + at) else {
        if buf.len() > limits.max_inline {
            return protocol_error("too big inline request");
        }
        progress.offset = buf.len();
        return Ok(Parsed::Incomplete);
    };
    *progress = RequestProgress::default();
    let text = buf[..end].strip_suffix(b"\r").unwrap_or(&buf[..end]);
    match lesson02_kv::tokenizer::tokenize(text) {
        Ok(args) => Ok(Parsed::Done(args, end + 1)),
        Err(_) => protocol_error("unbalanced quotes in request"),
    }
}

/// The header line at the start of `buf` after `skip` type bytes, without
/// its `\r\n`, and the bytes it took including them; `None` if it has not
/// all arrived.
fn line(buf: &[u8], skip: usize) -> Result<Option<(&[u8], usize)>, ProtocolError> {
    line_within(buf, skip, MAX_HEADER)
}

/// [`line`] for lines up to `max` bytes long.
fn line_within(
    buf: &[u8],
    skip: usize,
    max: usize,
) -> Result<Option<(&[u8], usize)>, ProtocolError> {
    let window = &buf[..buf.len().min(max)];
    match window.windows(2).position(|w| w == b"\r\n") {
        Some(end) if end >= skip => Ok(Some((&buf[skip..end], end + 2))),
        Some(_) => protocol_error("empty header line"),
        None if buf.len() >= max => protocol_error("header line too long"),
        None => Ok(None),
    }
}

/// A strict decimal integer, as RESP writes lengths and integers: an
/// optional `-` and digits, nothing else (Rust's parser would also take a
/// `+`, Redis's does not).
fn parse_int(digits: &[u8]) -> Option<i64> {
    if digits.first() == Some(&b'+') {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// How deep [`Frame::parse`] follows nested aggregates: replies nest two or
/// three levels; a hostile peer could nest a million and overflow the stack.
const MAX_DEPTH: usize = 32;

impl Frame {
    // ANCHOR: parse
    /// Parses any one frame from the start of `buf`: what a client reads.
    /// Aggregates nested deeper than 32 levels are refused.
    pub fn parse(buf: &[u8], limits: &Limits) -> Result<Parsed<Frame>, ProtocolError> {
        parse_frame(buf, limits, 0)
    }
    // ANCHOR_END: parse

    /// The frame as bytes, in `protocol`'s encoding.
    pub fn encode(&self, protocol: Protocol) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(protocol, &mut out);
        out
    }

    // ANCHOR: encode
    /// Appends the frame's bytes to `out`. RESP2 has no nulls, doubles,
    /// booleans, maps, sets or verbatim text, so under RESP2 each becomes
    /// the nearest RESP2 type, exactly as Redis downgrades them.
    pub fn encode_into(&self, protocol: Protocol, out: &mut Vec<u8>) {
        // exercise 5.2: begin
        let resp3 = protocol == Protocol::Resp3;
        match self {
            Frame::Simple(s) => header(out, b'+', s),
            Frame::Error(e) => header(out, b'-', e),
            Frame::Integer(n) => number(out, b':', *n),
            Frame::Bulk(bytes) => bulk(out, b'$', bytes),
            Frame::Array(items) => aggregate(out, b'*', items, protocol),
            Frame::Null | Frame::NullArray if resp3 => out.extend_from_slice(b"_\r\n"),
            Frame::Null => out.extend_from_slice(b"$-1\r\n"),
            Frame::NullArray => out.extend_from_slice(b"*-1\r\n"),
            Frame::Double(x) if resp3 => header(out, b',', format_double(*x)),
            Frame::Double(x) => bulk(out, b'$', format_double(*x).as_bytes()),
            Frame::Boolean(b) if resp3 => header(out, b'#', if *b { 't' } else { 'f' }),
            Frame::Boolean(b) => number(out, b':', i64::from(*b)),
            Frame::Map(pairs) => {
                let kind = if resp3 { b'%' } else { b'*' };
                let count = if resp3 { pairs.len() } else { pairs.len() * 2 };
                number(out, kind, count as i64);
                for (key, value) in pairs {
                    key.encode_into(protocol, out);
                    value.encode_into(protocol, out);
                }
            }
            Frame::Set(items) => aggregate(out, if resp3 { b'~' } else { b'*' }, items, protocol),
            Frame::Verbatim(text) if resp3 => {
                let mut body = b"txt:".to_vec();
                body.extend_from_slice(text);
                bulk(out, b'=', &body);
            }
            Frame::Verbatim(text) => bulk(out, b'$', text),
            Frame::Pairs(pairs) => {
                number(out, b'*', (if resp3 { pairs.len() } else { pairs.len() * 2 }) as i64);
                for (first, second) in pairs {
                    if resp3 {
                        number(out, b'*', 2);
                    }
                    first.encode_into(protocol, out);
                    second.encode_into(protocol, out);
                }
            }
        }
        // exercise 5.2: end
    }
    // ANCHOR_END: encode
}

/// A header line holding a number: a length, a count, an integer. Every
/// element of every reply has one, so the digits are written by hand:
/// `format!`'s machinery took a tenth of the server's time on an
/// `LRANGE` of 600 elements.
fn number(out: &mut Vec<u8>, kind: u8, n: i64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = n.unsigned_abs();
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    out.push(kind);
    if n < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&digits[at..]);
    out.extend_from_slice(b"\r\n");
}

fn header(out: &mut Vec<u8>, kind: u8, value: impl std::fmt::Display) {
    out.push(kind);
    // Straight into the buffer, without a `String` in between: this runs for
    // every reply. Writing into a Vec cannot fail.
    let _ = std::io::Write::write_fmt(out, format_args!("{value}"));
    out.extend_from_slice(b"\r\n");
}

fn bulk(out: &mut Vec<u8>, kind: u8, bytes: &[u8]) {
    number(out, kind, bytes.len() as i64);
    out.extend_from_slice(bytes);
    out.extend_from_slice(b"\r\n");
}

fn aggregate(out: &mut Vec<u8>, kind: u8, items: &[Frame], protocol: Protocol) {
    number(out, kind, items.len() as i64);
    for item in items {
        item.encode_into(protocol, out);
    }
}

/// A double as Redis writes one (lesson 2's [`format_double`](
/// lesson02_kv::reply::format_double)), and `nan`, which a score never is
/// but a frame from elsewhere may be.
fn format_double(x: f64) -> String {
    if x.is_nan() { "nan".into() } else { lesson02_kv::reply::format_double(x) }
}

fn parse_frame(buf: &[u8], limits: &Limits, depth: usize) -> Result<Parsed<Frame>, ProtocolError> {
    let Some(&kind) = buf.first() else { return Ok(Parsed::Incomplete) };
    // Status lines and errors are text, as long as an inline command may be;
    // every other header is a number.
    let max = if matches!(kind, b'+' | b'-') { limits.max_inline } else { MAX_HEADER };
    let Some((line, used)) = line_within(buf, 1, max)? else { return Ok(Parsed::Incomplete) };
    let text = || String::from_utf8_lossy(line).into_owned();
    let int = || parse_int(line).map_or_else(|| protocol_error("invalid integer"), Ok);
    let frame = match kind {
        b'+' => Frame::Simple(text()),
        b'-' => Frame::Error(text()),
        b':' => Frame::Integer(int()?),
        b'_' => Frame::Null,
        b'#' => match line {
            b"t" => Frame::Boolean(true),
            b"f" => Frame::Boolean(false),
            _ => return protocol_error("invalid boolean"),
        },
        b',' => match text().parse::<f64>() {
            Ok(x) => Frame::Double(x),
            Err(_) => return protocol_error("invalid double"),
        },
        b'$' | b'=' => {
            let len = int()?;
            if len == -1 && kind == b'$' {
                return Ok(Parsed::Done(Frame::Null, used));
            }
            if !(0..=limits.max_bulk as i64).contains(&len) {
                return protocol_error("invalid bulk length");
            }
            let len = len as usize;
            if buf.len() < used + len + 2 {
                return Ok(Parsed::Incomplete);
            }
            if &buf[used + len..used + len + 2] != b"\r\n" {
                return protocol_error("bulk string not followed by CRLF");
            }
            let body = &buf[used..used + len];
            let frame = if kind == b'$' {
                Frame::Bulk(body.to_vec())
            } else {
                // Verbatim text starts with a three-letter format and ':'.
                match body.get(3) {
                    Some(b':') => Frame::Verbatim(body[4..].to_vec()),
                    _ => return protocol_error("invalid verbatim string"),
                }
            };
            return Ok(Parsed::Done(frame, used + len + 2));
        }
        b'*' | b'~' | b'%' => {
            let count = int()?;
            if count == -1 && kind == b'*' {
                return Ok(Parsed::Done(Frame::NullArray, used));
            }
            if !(0..=limits.max_array as i64).contains(&count) {
                return protocol_error("invalid multibulk length");
            }
            if depth >= MAX_DEPTH {
                return protocol_error("too deeply nested");
            }
            let elements = if kind == b'%' { count as usize * 2 } else { count as usize };
            // Every element takes at least three bytes: never reserve more
            // room than the bytes that have arrived could fill.
            let mut items = Vec::with_capacity(elements.min((buf.len() - used) / 3));
            let mut offset = used;
            for _ in 0..elements {
                match parse_frame(&buf[offset..], limits, depth + 1)? {
                    Parsed::Done(item, n) => {
                        items.push(item);
                        offset += n;
                    }
                    Parsed::Incomplete => return Ok(Parsed::Incomplete),
                }
            }
            let frame = match kind {
                b'*' => Frame::Array(items),
                b'~' => Frame::Set(items),
                _ => {
                    let mut pairs = Vec::with_capacity(items.len() / 2);
                    let mut items = items.into_iter();
                    while let (Some(k), Some(v)) = (items.next(), items.next()) {
                        pairs.push((k, v));
                    }
                    Frame::Map(pairs)
                }
            };
            return Ok(Parsed::Done(frame, offset));
        }
        other => return protocol_error(format!("unknown frame type '{}'", char::from(other))),
    };
    Ok(Parsed::Done(frame, used))
}

impl From<lesson02_kv::Reply> for Frame {
    fn from(reply: lesson02_kv::Reply) -> Self {
        use lesson02_kv::Reply;
        match reply {
            Reply::Simple(s) => Frame::Simple(s),
            Reply::Error(e) => Frame::Error(e),
            Reply::Integer(n) => Frame::Integer(n),
            Reply::Bulk(b) => Frame::Bulk(b),
            Reply::Nil => Frame::Null,
            Reply::NullArray => Frame::NullArray,
            Reply::Array(items) => Frame::Array(items.into_iter().map(Frame::from).collect()),
            Reply::Map(pairs) => Frame::Map(pairs_of(pairs)),
            Reply::Set(items) => Frame::Set(items.into_iter().map(Frame::from).collect()),
            Reply::Double(x) => Frame::Double(x),
            Reply::Pairs(pairs) => Frame::Pairs(pairs_of(pairs)),
        }
    }
}

fn pairs_of(pairs: Vec<(lesson02_kv::Reply, lesson02_kv::Reply)>) -> Vec<(Frame, Frame)> {
    pairs.into_iter().map(|(a, b)| (Frame::from(a), Frame::from(b))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(bytes: &[u8]) -> Result<Parsed<Vec<Vec<u8>>>, ProtocolError> {
        parse_request(bytes, &mut RequestProgress::default(), &Limits::default())
    }

    fn args(words: &[&str]) -> Vec<Vec<u8>> {
        words.iter().map(|w| w.as_bytes().to_vec()).collect()
    }

    #[test]
    fn a_request_is_an_array_of_bulk_strings() {
        let bytes = b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n$4\r\nPING\r\n";
        assert_eq!(request(bytes), Ok(Parsed::Done(args(&["GET", "k"]), 20)));
        assert_eq!(request(&bytes[20..]), Ok(Parsed::Done(args(&["PING"]), 14)));
    }

    #[test]
    fn every_prefix_of_a_request_is_incomplete_and_resumes() {
        let bytes = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n";
        let limits = Limits::default();
        let mut progress = RequestProgress::default();
        for end in 0..bytes.len() {
            assert_eq!(
                parse_request(&bytes[..end], &mut progress, &limits),
                Ok(Parsed::Incomplete)
            );
        }
        assert_eq!(
            parse_request(bytes, &mut progress, &limits),
            Ok(Parsed::Done(args(&["SET", "k", "hello"]), bytes.len()))
        );
    }

    #[test]
    fn inline_commands_split_like_the_repl() {
        assert_eq!(request(b"PING\r\n"), Ok(Parsed::Done(args(&["PING"]), 6)));
        assert_eq!(request(b"set k \"a b\"\n"), Ok(Parsed::Done(args(&["set", "k", "a b"]), 12)));
        assert_eq!(request(b"\r\n"), Ok(Parsed::Done(vec![], 2)));
        assert_eq!(request(b"GET k"), Ok(Parsed::Incomplete));
        assert_eq!(
            request(b"GET \"k\r\n").unwrap_err().to_string(),
            "ERR Protocol error: unbalanced quotes in request"
        );
    }

    #[test]
    fn lengths_beyond_the_limits_are_refused_before_any_byte_arrives() {
        let limits = Limits { max_bulk: 10, max_array: 4, max_inline: 8 };
        let parse = |b: &[u8]| parse_request(b, &mut RequestProgress::default(), &limits);
        let err = |b: &[u8]| parse(b).unwrap_err().0;
        assert_eq!(err(b"*5\r\n"), "invalid multibulk length");
        assert_eq!(err(b"*1\r\n$11\r\n"), "invalid bulk length");
        assert_eq!(err(b"*1\r\n$-1\r\n"), "invalid bulk length");
        assert_eq!(err(b"*x\r\n"), "invalid multibulk length");
        assert_eq!(err(b"*1\r\n:1\r\n"), "expected '$', got ':'");
        assert_eq!(err(b"GET aaaaaaaaa"), "too big inline request");
        // As in Redis, a whole line is taken whatever its length.
        assert!(matches!(parse(b"GET aaaaaaaaa\r\n"), Ok(Parsed::Done(_, 15))));
        assert_eq!(err(b"*1\r\n$1\r\nab\r\n"), "bulk string not followed by CRLF");
        assert_eq!(err(b"*11111111111111111111111111111111111"), "header line too long");
        assert_eq!(err(b"*+1\r\n"), "invalid multibulk length");
        assert_eq!(err(b"*1\r\n$+1\r\n"), "invalid bulk length");
        // Within the limits, a big announced length is only a promise.
        assert_eq!(parse(b"*4\r\n$10\r\n"), Ok(Parsed::Incomplete));
        assert_eq!(parse(b"*0\r\n"), Ok(Parsed::Done(vec![], 4)));
    }

    fn round_trip(frame: Frame, protocol: Protocol) -> Frame {
        let bytes = frame.encode(protocol);
        match Frame::parse(&bytes, &Limits::default()).unwrap() {
            Parsed::Done(parsed, n) => {
                assert_eq!(n, bytes.len());
                parsed
            }
            Parsed::Incomplete => panic!("incomplete: {bytes:?}"),
        }
    }

    #[test]
    fn resp3_types_encode_natively_and_downgrade_under_resp2() {
        let map = Frame::Map(vec![
            (Frame::Bulk(b"proto".to_vec()), Frame::Integer(3)),
            (Frame::Bulk(b"ok".to_vec()), Frame::Boolean(true)),
        ]);
        assert_eq!(map.encode(Protocol::Resp3), b"%2\r\n$5\r\nproto\r\n:3\r\n$2\r\nok\r\n#t\r\n");
        assert_eq!(map.encode(Protocol::Resp2), b"*4\r\n$5\r\nproto\r\n:3\r\n$2\r\nok\r\n:1\r\n");
        assert_eq!(Frame::Null.encode(Protocol::Resp3), b"_\r\n");
        assert_eq!(Frame::Null.encode(Protocol::Resp2), b"$-1\r\n");
        assert_eq!(Frame::Double(1.5).encode(Protocol::Resp3), b",1.5\r\n");
        for n in [0, 7, -7, 10, 1234567890, i64::MAX, i64::MIN] {
            assert_eq!(Frame::Integer(n).encode(Protocol::Resp2), format!(":{n}\r\n").into_bytes());
        }
        assert_eq!(Frame::Double(f64::INFINITY).encode(Protocol::Resp2), b"$3\r\ninf\r\n");
        assert_eq!(Frame::Verbatim(b"a".to_vec()).encode(Protocol::Resp3), b"=5\r\ntxt:a\r\n");
        for frame in [
            map,
            Frame::Set(vec![Frame::Simple("x".into())]),
            Frame::Double(-0.25),
            Frame::Verbatim(b"# Server\r\n".to_vec()),
            Frame::Array(vec![Frame::Null, Frame::Error("ERR no".into()), Frame::Array(vec![])]),
        ] {
            assert_eq!(round_trip(frame.clone(), Protocol::Resp3), frame);
        }
    }

    #[test]
    fn nesting_is_bounded() {
        let mut bytes = b"*1\r\n".repeat(MAX_DEPTH + 1);
        bytes.extend_from_slice(b":1\r\n");
        assert_eq!(Frame::parse(&bytes, &Limits::default()).unwrap_err().0, "too deeply nested");
        let ok = b"*1\r\n".repeat(MAX_DEPTH);
        assert_eq!(Frame::parse(&ok, &Limits::default()), Ok(Parsed::Incomplete));
    }
}
