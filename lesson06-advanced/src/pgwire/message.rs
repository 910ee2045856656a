//! PostgreSQL's wire protocol, version 3: the messages, as bytes.
//!
//! After the first, every message is a type byte, a 32-bit big-endian
//! length that counts itself and the body but not the type byte, and the
//! body. Strings inside end with a zero byte, like C's.
//!
//! ```text
//!   'Q' 00 00 00 0d  S E L E C T 20 31 00        Query "SELECT 1"
//!   ─┬─ ─────┬─────  ─────────┬──────────
//!   type  length 13     the SQL, zero-terminated
//! ```
//!
//! The first message a client sends has no type byte (the server cannot
//! yet know which protocol it speaks): a length, then a code. 196608
//! (3 << 16) is a startup message for protocol 3.0; three magic codes ask
//! for TLS, for GSSAPI encryption, or cancel a query.

use super::super::sql::value::{DataType, Value};

/// Protocol 3.0.
pub const PROTOCOL_3: u32 = 196_608;
/// "Let us speak TLS": answered `N`, no.
pub const SSL_REQUEST: u32 = 80_877_103;
/// "Let us speak GSSAPI encryption": answered `N`, no.
pub const GSSENC_REQUEST: u32 = 80_877_104;
/// "Cancel the query running on another connection": not supported.
pub const CANCEL_REQUEST: u32 = 80_877_102;

/// The longest message we accept from a client: 16 MiB.
pub const MAX_MESSAGE: usize = 16 << 20;

/// What a client's first message asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Startup {
    /// Protocol 3.0 with these parameters (`user`, `database`, …).
    Start(Vec<(String, String)>),
    /// TLS, or GSSAPI encryption: we answer `N` and wait for the startup.
    Encryption,
    /// A cancel request.
    Cancel,
}

/// Parses a startup message's body (after its length): an error for
/// anything else.
pub fn parse_startup(body: &[u8]) -> Result<Startup, String> {
    let code = body.get(..4).ok_or("startup packet too short")?;
    let code = u32::from_be_bytes(code.try_into().expect("4 bytes"));
    match code {
        SSL_REQUEST | GSSENC_REQUEST => return Ok(Startup::Encryption),
        CANCEL_REQUEST => return Ok(Startup::Cancel),
        PROTOCOL_3 => {}
        other => {
            return Err(format!(
                "unsupported frontend protocol {}.{}: server supports 3.0 to 3.0",
                other >> 16,
                other & 0xffff
            ));
        }
    }
    let mut strings = body[4..].split(|b| *b == 0);
    let mut parameters = Vec::new();
    loop {
        match strings.next() {
            Some([]) | None => break,
            Some(name) => {
                let value = strings.next().ok_or("startup parameter without a value")?;
                parameters.push((
                    String::from_utf8_lossy(name).into_owned(),
                    String::from_utf8_lossy(value).into_owned(),
                ));
            }
        }
    }
    Ok(Startup::Start(parameters))
}

/// A message from the client after the startup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frontend {
    /// `Q`: a simple query, one or more statements.
    Query(String),
    /// `p`: a password, after we asked for one.
    Password(String),
    /// `X`: goodbye.
    Terminate,
    /// `S`: the end of an extended-protocol batch.
    Sync,
    /// Any other message (the extended protocol's Parse, Bind, …).
    Other(u8),
}

/// Parses a message of type `kind` with body `body`.
pub fn parse_frontend(kind: u8, body: &[u8]) -> Result<Frontend, String> {
    let string = || -> Result<String, String> {
        match body.split_last() {
            Some((0, text)) if !text.contains(&0) => String::from_utf8(text.to_vec())
                .map_err(|_| "invalid UTF-8 in a string".to_string()),
            _ => Err("a string is not terminated by a zero byte".into()),
        }
    };
    Ok(match kind {
        b'Q' => Frontend::Query(string()?),
        b'p' => Frontend::Password(string()?),
        b'X' => Frontend::Terminate,
        b'S' => Frontend::Sync,
        other => Frontend::Other(other),
    })
}

/// Builds the server's messages into a buffer.
#[derive(Debug, Default)]
pub struct Writer {
    /// The bytes so far.
    pub out: Vec<u8>,
}

// ANCHOR: writer
impl Writer {
    /// A message of type `kind` whose body `body` writes.
    fn message(&mut self, kind: u8, body: impl FnOnce(&mut Vec<u8>)) {
        self.out.push(kind);
        let at = self.out.len();
        self.out.extend_from_slice(&[0; 4]); // the length, known once the body is in
        body(&mut self.out);
        let len = (self.out.len() - at) as u32;
        self.out[at..at + 4].copy_from_slice(&len.to_be_bytes());
    }

    /// `R` 0: AuthenticationOk.
    pub fn authentication_ok(&mut self) {
        self.message(b'R', |b| b.extend_from_slice(&0u32.to_be_bytes()));
    }

    /// `R` 3: AuthenticationCleartextPassword, "send your password".
    pub fn ask_password(&mut self) {
        self.message(b'R', |b| b.extend_from_slice(&3u32.to_be_bytes()));
    }

    /// `S`: ParameterStatus, a setting the client should know.
    pub fn parameter(&mut self, name: &str, value: &str) {
        self.message(b'S', |b| {
            cstring(b, name);
            cstring(b, value);
        });
    }

    /// `K`: BackendKeyData, what a CancelRequest would quote.
    pub fn key_data(&mut self, process: u32, secret: u32) {
        self.message(b'K', |b| {
            b.extend_from_slice(&process.to_be_bytes());
            b.extend_from_slice(&secret.to_be_bytes());
        });
    }

    /// `Z`: ReadyForQuery, with the transaction status: `I` idle, `T` in
    /// a transaction, `E` in a failed one.
    pub fn ready(&mut self, status: u8) {
        self.message(b'Z', |b| b.push(status));
    }

    /// `T`: RowDescription, a result's columns and their types.
    pub fn row_description(&mut self, columns: &[(String, DataType)]) {
        // exercise 6.7: begin
        self.message(b'T', |b| {
            b.extend_from_slice(&(columns.len() as u16).to_be_bytes());
            for (name, data_type) in columns {
                let (oid, size) = type_oid(*data_type);
                cstring(b, name);
                b.extend_from_slice(&0u32.to_be_bytes()); // not a table's column
                b.extend_from_slice(&0u16.to_be_bytes()); // (nor its number)
                b.extend_from_slice(&oid.to_be_bytes());
                b.extend_from_slice(&size.to_be_bytes());
                b.extend_from_slice(&(-1i32).to_be_bytes()); // no type modifier
                b.extend_from_slice(&0u16.to_be_bytes()); // text format
            }
        });
        // exercise 6.7: end
    }

    /// `D`: DataRow, one row's values as text; `NULL` as length -1.
    pub fn data_row(&mut self, row: &[Value]) {
        self.message(b'D', |b| {
            b.extend_from_slice(&(row.len() as u16).to_be_bytes());
            for value in row {
                if *value == Value::Null {
                    b.extend_from_slice(&(-1i32).to_be_bytes());
                } else {
                    let text = value.to_text();
                    b.extend_from_slice(&(text.len() as u32).to_be_bytes());
                    b.extend_from_slice(text.as_bytes());
                }
            }
        });
    }

    /// `C`: CommandComplete, with the command's tag (`SELECT 3`, `INSERT 0 1`).
    pub fn command_complete(&mut self, tag: &str) {
        self.message(b'C', |b| cstring(b, tag));
    }

    /// `I`: EmptyQueryResponse, for a query of no statements.
    pub fn empty_query(&mut self) {
        self.message(b'I', |_| {});
    }

    /// `E`: ErrorResponse: fields, each a code byte and a string: `S`
    /// severity, `C` the SQLSTATE, `M` the message, `P` the position (in
    /// characters, from 1).
    pub fn error(&mut self, severity: &str, code: &str, message: &str, position: Option<usize>) {
        self.message(b'E', |b| {
            for (field, value) in
                [(b'S', severity), (b'V', severity), (b'C', code), (b'M', message)]
            {
                b.push(field);
                cstring(b, value);
            }
            if let Some(position) = position {
                b.push(b'P');
                cstring(b, &position.to_string());
            }
            b.push(0);
        });
    }
}
// ANCHOR_END: writer

fn cstring(out: &mut Vec<u8>, s: &str) {
    // A zero byte inside would end the string early: drop it.
    out.extend(s.bytes().filter(|b| *b != 0));
    out.push(0);
}

/// A type's object id in PostgreSQL's catalog, and its size: what a client
/// reads to convert a column's text (psycopg2 makes an `int8` a Python
/// `int`).
pub fn type_oid(data_type: DataType) -> (u32, i16) {
    match data_type {
        DataType::Boolean => (16, 1),
        DataType::Integer => (20, 8),
        DataType::Float => (701, 8),
        DataType::Text => (25, -1),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn startup_messages() {
        let mut body = PROTOCOL_3.to_be_bytes().to_vec();
        body.extend_from_slice(b"user\0alice\0database\0shop\0\0");
        let parameters = vec![("user".into(), "alice".into()), ("database".into(), "shop".into())];
        assert_eq!(parse_startup(&body), Ok(Startup::Start(parameters)));
        assert_eq!(parse_startup(&SSL_REQUEST.to_be_bytes()), Ok(Startup::Encryption));
        assert_eq!(parse_startup(&GSSENC_REQUEST.to_be_bytes()), Ok(Startup::Encryption));
        assert!(parse_startup(&(2u32 << 16).to_be_bytes()).unwrap_err().contains("2.0"));
        assert!(parse_startup(b"ab").is_err());
    }

    #[test]
    fn a_message_is_type_length_body() {
        let mut w = Writer::default();
        w.command_complete("SELECT 1");
        assert_eq!(w.out, b"C\0\0\0\x0dSELECT 1\0");
        let mut w = Writer::default();
        w.data_row(&[Value::Integer(7), Value::Null]);
        assert_eq!(w.out, b"D\0\0\0\x0f\0\x02\0\0\0\x017\xff\xff\xff\xff");
        assert_eq!(parse_frontend(b'Q', b"SELECT 1\0"), Ok(Frontend::Query("SELECT 1".into())));
        assert!(parse_frontend(b'Q', b"SELECT 1").is_err());
        assert!(parse_frontend(b'Q', b"a\0b\0").is_err());
    }

    #[test]
    fn a_row_description_names_each_column_with_its_type() {
        let mut w = Writer::default();
        w.row_description(&[("id".into(), DataType::Integer), ("title".into(), DataType::Text)]);
        let mut expected = b"T\0\0\0\x33\0\x02".to_vec();
        // name, table oid 0, column 0, type oid, size, modifier -1, text format
        expected.extend_from_slice(b"id\0\0\0\0\0\0\0\0\0\0\x14\0\x08\xff\xff\xff\xff\0\0");
        expected.extend_from_slice(b"title\0\0\0\0\0\0\0\0\0\0\x19\xff\xff\xff\xff\xff\xff\0\0");
        assert_eq!(w.out, expected);
        for (data_type, oid) in [
            (DataType::Boolean, 16),
            (DataType::Integer, 20),
            (DataType::Float, 701),
            (DataType::Text, 25),
        ] {
            let mut w = Writer::default();
            w.row_description(&[("x".into(), data_type)]);
            assert_eq!(w.out[15..19], (oid as u32).to_be_bytes(), "{data_type:?}");
        }
    }

    proptest! {
        #[test]
        fn parsing_never_panics(kind: u8, body in prop::collection::vec(any::<u8>(), 0..40)) {
            let _ = parse_startup(&body);
            let _ = parse_frontend(kind, &body);
        }
    }
}
