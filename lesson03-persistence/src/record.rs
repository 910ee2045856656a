//! Log records and their framing on disk.
//!
//! Every change of the store becomes one record, framed so that a reader can
//! tell a whole, intact record from a torn or damaged one:
//!
//! ```text
//!   ┌──────────────┬──────────────┬─────────────────────────────┐
//!   │ length: u32  │ crc32: u32   │ payload: `length` bytes      │
//!   │ little-end.  │ of payload   │ bincode of a LogRecord       │
//!   └──────────────┴──────────────┴─────────────────────────────┘
//!      4 bytes        4 bytes        e.g. Put { key, value, expires_at }
//! ```
//!
//! The length says where the record ends; the CRC-32 says whether the
//! payload is what was written. A crash in the middle of a write leaves a
//! record that is too short; a flipped bit on disk leaves one whose checksum
//! does not match. Neither is ever decoded into a wrong value.

use lesson02_kv::Change;
use serde::{Deserialize, Serialize};

/// Bytes of framing before each payload.
pub const HEADER_LEN: usize = 8;

/// The largest payload a record may have. The writer refuses bigger
/// records, so a length field above this is damage, not data.
pub const MAX_PAYLOAD: u32 = 64 << 20;

// ANCHOR: record
/// One change of the store, as written to the log: lesson 2's [`Change`],
/// plus the record that starts every log file. `serde_bytes` makes serde
/// treat the keys and values as byte strings, which bincode copies in one
/// go, instead of as sequences of `u8`, which it would encode one by one
/// (six times slower, measured).
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum LogRecord {
    /// `key` holds `value`, until `expires_at` (ms since the epoch) if set.
    Put {
        #[serde(with = "serde_bytes")]
        key: Vec<u8>,
        #[serde(with = "serde_bytes")]
        value: Vec<u8>,
        expires_at: Option<u64>,
    },
    /// `key` is gone.
    Delete {
        #[serde(with = "serde_bytes")]
        key: Vec<u8>,
    },
    /// Every key is gone.
    Clear,
    /// The first record of every log file: which log this is. A snapshot
    /// names the log and the number of its records it already holds, and
    /// recovery replays only the records after those ([`crate::durable`]).
    Start { log_id: u64 },
    /// `key` expires at `at_ms`, or never.
    Expire {
        #[serde(with = "serde_bytes")]
        key: Vec<u8>,
        at_ms: Option<u64>,
    },
    /// `from` was renamed `to`.
    Rename {
        #[serde(with = "serde_bytes")]
        from: Vec<u8>,
        #[serde(with = "serde_bytes")]
        to: Vec<u8>,
    },
    /// Values pushed at a list's head (`front`) or tail.
    ListPush {
        #[serde(with = "serde_bytes")]
        key: Vec<u8>,
        front: bool,
        #[serde(with = "bytes_list")]
        values: Vec<Vec<u8>>,
    },
    /// `count` values popped from a list's head or tail.
    ListPop {
        #[serde(with = "serde_bytes")]
        key: Vec<u8>,
        front: bool,
        count: u64,
    },
    /// Fields of a hash set to values.
    HashPut {
        #[serde(with = "serde_bytes")]
        key: Vec<u8>,
        #[serde(with = "bytes_pairs")]
        pairs: Vec<(Vec<u8>, Vec<u8>)>,
    },
    /// Fields of a hash removed.
    HashDelete {
        #[serde(with = "serde_bytes")]
        key: Vec<u8>,
        #[serde(with = "bytes_list")]
        fields: Vec<Vec<u8>>,
    },
    /// Members added to a set.
    SetAdd {
        #[serde(with = "serde_bytes")]
        key: Vec<u8>,
        #[serde(with = "bytes_list")]
        members: Vec<Vec<u8>>,
    },
    /// Members removed from a set.
    SetRemove {
        #[serde(with = "serde_bytes")]
        key: Vec<u8>,
        #[serde(with = "bytes_list")]
        members: Vec<Vec<u8>>,
    },
    /// Members of a sorted set given scores.
    SortedPut {
        #[serde(with = "serde_bytes")]
        key: Vec<u8>,
        #[serde(with = "scored_list")]
        pairs: Vec<(f64, Vec<u8>)>,
    },
    /// Members removed from a sorted set.
    SortedRemove {
        #[serde(with = "serde_bytes")]
        key: Vec<u8>,
        #[serde(with = "bytes_list")]
        members: Vec<Vec<u8>>,
    },
}
// ANCHOR_END: record

impl From<Change> for LogRecord {
    fn from(change: Change) -> Self {
        match change {
            Change::Put { key, value, expires_at } => LogRecord::Put { key, value, expires_at },
            Change::Delete { key } => LogRecord::Delete { key },
            Change::Clear => LogRecord::Clear,
            Change::Expire { key, at_ms } => LogRecord::Expire { key, at_ms },
            Change::Rename { from, to } => LogRecord::Rename { from, to },
            Change::ListPush { key, front, values } => LogRecord::ListPush { key, front, values },
            Change::ListPop { key, front, count } => LogRecord::ListPop { key, front, count },
            Change::HashPut { key, pairs } => LogRecord::HashPut { key, pairs },
            Change::HashDelete { key, fields } => LogRecord::HashDelete { key, fields },
            Change::SetAdd { key, members } => LogRecord::SetAdd { key, members },
            Change::SetRemove { key, members } => LogRecord::SetRemove { key, members },
            Change::SortedPut { key, pairs } => LogRecord::SortedPut { key, pairs },
            Change::SortedRemove { key, members } => LogRecord::SortedRemove { key, members },
        }
    }
}

impl LogRecord {
    /// The change the record holds; `None` for [`LogRecord::Start`], which
    /// changes nothing. A record from anywhere (a peer, in lesson 5) can be
    /// turned into a change without a panic.
    pub fn into_change(self) -> Option<Change> {
        Some(match self {
            LogRecord::Put { key, value, expires_at } => Change::Put { key, value, expires_at },
            LogRecord::Delete { key } => Change::Delete { key },
            LogRecord::Clear => Change::Clear,
            LogRecord::Start { .. } => return None,
            LogRecord::Expire { key, at_ms } => Change::Expire { key, at_ms },
            LogRecord::Rename { from, to } => Change::Rename { from, to },
            LogRecord::ListPush { key, front, values } => Change::ListPush { key, front, values },
            LogRecord::ListPop { key, front, count } => Change::ListPop { key, front, count },
            LogRecord::HashPut { key, pairs } => Change::HashPut { key, pairs },
            LogRecord::HashDelete { key, fields } => Change::HashDelete { key, fields },
            LogRecord::SetAdd { key, members } => Change::SetAdd { key, members },
            LogRecord::SetRemove { key, members } => Change::SetRemove { key, members },
            // A score read from disk is checked: NaN is never a score.
            LogRecord::SortedPut { key, pairs } => Change::SortedPut {
                key,
                pairs: pairs.into_iter().filter(|(score, _)| !score.is_nan()).collect(),
            },
            LogRecord::SortedRemove { key, members } => Change::SortedRemove { key, members },
        })
    }
}

/// Lists of byte strings, each encoded as bytes (see [`LogRecord`]).
mod bytes_list {
    use serde::{Deserialize, Deserializer, Serializer};
    use serde_bytes::{ByteBuf, Bytes};

    pub(super) fn serialize<S: Serializer>(list: &[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(list.iter().map(|b| Bytes::new(b)))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<u8>>, D::Error> {
        Ok(Vec::<ByteBuf>::deserialize(d)?.into_iter().map(ByteBuf::into_vec).collect())
    }
}

/// Lists of byte-string pairs.
mod bytes_pairs {
    use serde::{Deserialize, Deserializer, Serializer};
    use serde_bytes::{ByteBuf, Bytes};

    pub(super) fn serialize<S: Serializer>(
        list: &[(Vec<u8>, Vec<u8>)],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(list.iter().map(|(a, b)| (Bytes::new(a), Bytes::new(b))))
    }

    type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Pairs, D::Error> {
        let pairs = Vec::<(ByteBuf, ByteBuf)>::deserialize(d)?;
        Ok(pairs.into_iter().map(|(a, b)| (a.into_vec(), b.into_vec())).collect())
    }
}

/// Lists of scores with byte strings.
mod scored_list {
    use serde::{Deserialize, Deserializer, Serializer};
    use serde_bytes::{ByteBuf, Bytes};

    pub(super) fn serialize<S: Serializer>(
        list: &[(f64, Vec<u8>)],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(list.iter().map(|(score, b)| (score, Bytes::new(b))))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<(f64, Vec<u8>)>, D::Error> {
        let pairs = Vec::<(f64, ByteBuf)>::deserialize(d)?;
        Ok(pairs.into_iter().map(|(score, b)| (score, b.into_vec())).collect())
    }
}

/// bincode's standard configuration: little-endian, variable-length integers.
fn config() -> bincode::config::Configuration {
    bincode::config::standard()
}

// ANCHOR: encode
/// Appends the framed record to `out`: length, checksum, payload.
pub fn encode(record: &LogRecord, out: &mut Vec<u8>) {
    // exercise 3.1: begin
    let start = out.len();
    out.extend_from_slice(&[0; HEADER_LEN]); // filled in below
    bincode::serde::encode_into_std_write(record, out, config())
        .expect("writing to a Vec cannot fail");
    let payload = &out[start + HEADER_LEN..];
    let len = u32::try_from(payload.len()).expect("a record fits in 4 GiB");
    let crc = crc32fast::hash(payload);
    out[start..start + 4].copy_from_slice(&len.to_le_bytes());
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
    // exercise 3.1: end
}
// ANCHOR_END: encode

/// Why the bytes at some offset are not a valid record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalid {
    /// Fewer bytes left than a header.
    ShortHeader,
    /// The header's length is impossible.
    BadLength(u32),
    /// The file ends before the payload does.
    ShortPayload {
        /// Bytes the header promised.
        want: u32,
        /// Bytes left.
        have: usize,
    },
    /// The payload does not match its checksum.
    BadChecksum,
    /// The checksum matches but the payload is not a record.
    Undecodable,
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Invalid::ShortHeader => write!(f, "an incomplete record header"),
            Invalid::BadLength(n) => write!(f, "an impossible record length ({n} bytes)"),
            Invalid::ShortPayload { want, have } => {
                write!(f, "an incomplete record ({have} of {want} payload bytes)")
            }
            Invalid::BadChecksum => write!(f, "a checksum mismatch"),
            Invalid::Undecodable => write!(f, "a payload that is not a log record"),
        }
    }
}

// ANCHOR: decode
/// Reads the record at the start of `bytes`. Returns it and the number of
/// bytes it takes, or why it is not a valid record.
pub fn decode(bytes: &[u8]) -> Result<(LogRecord, usize), Invalid> {
    // exercise 3.1: begin
    let header = bytes.get(..HEADER_LEN).ok_or(Invalid::ShortHeader)?;
    let len = u32::from_le_bytes(header[..4].try_into().expect("4 bytes"));
    let crc = u32::from_le_bytes(header[4..].try_into().expect("4 bytes"));
    if len == 0 || len > MAX_PAYLOAD {
        return Err(Invalid::BadLength(len));
    }
    let end = HEADER_LEN + len as usize;
    let payload = bytes
        .get(HEADER_LEN..end)
        .ok_or(Invalid::ShortPayload { want: len, have: bytes.len() - HEADER_LEN })?;
    if crc32fast::hash(payload) != crc {
        return Err(Invalid::BadChecksum);
    }
    match bincode::serde::decode_from_slice(payload, config()) {
        Ok((record, used)) if used == payload.len() => Ok((record, end)),
        _ => Err(Invalid::Undecodable),
    }
    // exercise 3.1: end
}
// ANCHOR_END: decode

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn framed(record: &LogRecord) -> Vec<u8> {
        let mut out = Vec::new();
        encode(record, &mut out);
        out
    }

    #[test]
    fn a_record_round_trips_and_says_how_long_it_is() {
        let record =
            LogRecord::Put { key: b"k".to_vec(), value: b"v".to_vec(), expires_at: Some(5) };
        let mut bytes = framed(&record);
        let len = bytes.len();
        bytes.extend(framed(&LogRecord::Clear));
        assert_eq!(decode(&bytes), Ok((record, len)));
        assert_eq!(decode(&bytes[len..]), Ok((LogRecord::Clear, bytes.len() - len)));
    }

    #[test]
    fn every_kind_of_damage_is_named() {
        let bytes = framed(&LogRecord::Delete { key: b"key".to_vec() });
        assert_eq!(decode(&bytes[..5]), Err(Invalid::ShortHeader));
        assert!(matches!(decode(&bytes[..bytes.len() - 1]), Err(Invalid::ShortPayload { .. })));
        let mut flipped = bytes.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert_eq!(decode(&flipped), Err(Invalid::BadChecksum));
        let mut huge = bytes.clone();
        huge[3] = 0xff;
        assert!(matches!(decode(&huge), Err(Invalid::BadLength(_))));
        let mut zero = bytes;
        zero[..4].copy_from_slice(&[0; 4]);
        assert_eq!(decode(&zero), Err(Invalid::BadLength(0)));
    }

    #[test]
    fn a_checksummed_payload_that_is_not_a_record_is_refused() {
        let payload = [0xff, 0xff, 0xff];
        let mut bytes = (payload.len() as u32).to_le_bytes().to_vec();
        bytes.extend(crc32fast::hash(&payload).to_le_bytes());
        bytes.extend(payload);
        assert_eq!(decode(&bytes), Err(Invalid::Undecodable));
    }

    proptest! {
        #[test]
        fn decoding_any_bytes_never_panics(bytes: Vec<u8>) {
            let _ = decode(&bytes);
        }

        #[test]
        fn any_record_round_trips(key: Vec<u8>, value: Vec<u8>, expires_at: Option<u64>) {
            let record = LogRecord::Put { key, value, expires_at };
            let bytes = framed(&record);
            prop_assert_eq!(decode(&bytes), Ok((record, bytes.len())));
        }
    }
}
