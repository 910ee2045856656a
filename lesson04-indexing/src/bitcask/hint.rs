//! Hint files: a merged segment's keydir entries, so that opening the store
//! does not have to read every value.
//!
//! Without hints, opening reads every byte of every segment, values and
//! all, to learn where each key's latest record is. A merge knows that
//! already when it writes a segment, so it writes it down next to it:
//!
//! ```text
//!   0000000005.hint
//!   ┌──────────┬──────────────┬─────────┬─────────────────────────┬──────────┐
//!   │ BCHINT01 │ segment_len  │ entries │ entry, entry, …         │ crc32    │
//!   │ 8 bytes  │ u64          │ u64     │                         │ of all   │
//!   └──────────┴──────────────┴─────────┴─────────────────────────┴──────────┘
//!   entry:  ┌─────────────┬────────────────┬─────────────┬───────────┐
//!           │ key_len u32 │ record_len u32 │ offset u64  │ key bytes │
//!           └─────────────┴────────────────┴─────────────┴───────────┘
//!   (integers little-endian)
//! ```
//!
//! No values: a hint file is a few dozen bytes per key where the segment
//! has the values too. One checksum covers the whole file, since it is
//! written once, in one go, and fsynced before the merge commits: a hint
//! file that fails its checksum is not a torn write to be cut, it is damage,
//! and the segment is scanned instead (the segment is the truth; the hint is
//! only a cache of it). `segment_len` ties the hint to its segment: a hint
//! for a segment of another length is stale and rejected too.
//!
//! NB: Riak's Bitcask checksums each hint entry and also keeps a tombstone
//! flag, as its merges may leave older segments unmerged; ours merge every
//! segment, so a merged segment has no tombstones to hint at.

use lesson03_persistence::record::MAX_PAYLOAD;

/// The first bytes of every hint file.
pub const MAGIC: &[u8; 8] = b"BCHINT01";

/// Bytes before the first entry: magic, segment length, entry count.
const HEADER_LEN: usize = 8 + 8 + 8;
/// Bytes of an entry before its key.
const ENTRY_HEADER_LEN: usize = 4 + 4 + 8;

/// One key of a merged segment: where its record is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HintEntry {
    /// The key.
    pub key: Vec<u8>,
    /// Where its framed record starts in the segment.
    pub offset: u64,
    /// The framed record's length.
    pub len: u32,
}

/// A decoded hint file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Hint {
    /// The length of the segment the hint describes.
    pub segment_len: u64,
    /// Its keys, in the order of their records.
    pub entries: Vec<HintEntry>,
}

/// Encodes a hint file.
pub fn encode(hint: &Hint) -> Vec<u8> {
    let keys: usize = hint.entries.iter().map(|e| ENTRY_HEADER_LEN + e.key.len()).sum();
    let mut out = Vec::with_capacity(HEADER_LEN + keys + 4);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&hint.segment_len.to_le_bytes());
    out.extend_from_slice(&(hint.entries.len() as u64).to_le_bytes());
    for entry in &hint.entries {
        let key_len = u32::try_from(entry.key.len()).expect("keys are under the size limit");
        out.extend_from_slice(&key_len.to_le_bytes());
        out.extend_from_slice(&entry.len.to_le_bytes());
        out.extend_from_slice(&entry.offset.to_le_bytes());
        out.extend_from_slice(&entry.key);
    }
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

// ANCHOR: view
/// A checked hint file, read in place: its entries are parsed on the fly,
/// so that opening the store copies each key once, straight into the keydir.
#[derive(Debug, Clone, Copy)]
pub struct HintView<'a> {
    /// The length of the segment the hint describes.
    pub segment_len: u64,
    /// How many entries it has.
    pub count: u64,
    /// The entries' bytes.
    entries: &'a [u8],
}

/// One entry of a [`HintView`], borrowing its key from the file's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HintRef<'a> {
    /// The key.
    pub key: &'a [u8],
    /// Where its framed record starts in the segment.
    pub offset: u64,
    /// The framed record's length.
    pub len: u32,
}
// ANCHOR_END: view

/// Checks a hint file and returns a view of it, or says why it is not one.
/// Never panics, whatever the bytes: the checksum is checked first, then
/// every length against the bytes that are really there, so that iterating
/// over [`HintView::entries`] cannot fail afterwards.
pub fn parse(bytes: &[u8]) -> Result<HintView<'_>, String> {
    if bytes.len() < HEADER_LEN + 4 {
        return Err(format!("{} bytes is too short for a hint file", bytes.len()));
    }
    let (body, crc) = bytes.split_at(bytes.len() - 4);
    if crc32fast::hash(body) != u32::from_le_bytes(crc.try_into().expect("4 bytes")) {
        return Err("a checksum mismatch".into());
    }
    if &body[..8] != MAGIC {
        return Err("not a hint file (wrong magic)".into());
    }
    let mut reader = Reader { bytes: body, at: 8 };
    let segment_len = reader.u64()?;
    let count = reader.u64()?;
    let entries = &body[HEADER_LEN..];
    let mut reader = Reader { bytes: entries, at: 0 };
    for _ in 0..count {
        reader.entry()?;
    }
    if reader.at != entries.len() {
        return Err(format!("{} bytes after the last entry", entries.len() - reader.at));
    }
    Ok(HintView { segment_len, count, entries })
}

impl<'a> HintView<'a> {
    /// The entries, in the order of their records.
    pub fn entries(&self) -> impl Iterator<Item = HintRef<'a>> + use<'a> {
        let mut reader = Reader { bytes: self.entries, at: 0 };
        // `parse` walked every entry already: none fails here.
        std::iter::from_fn(move || reader.entry().ok())
    }
}

/// Decodes a hint file into owned entries (see [`parse`]).
pub fn decode(bytes: &[u8]) -> Result<Hint, String> {
    let view = parse(bytes)?;
    let entries = view
        .entries()
        .map(|e| HintEntry { key: e.key.to_vec(), offset: e.offset, len: e.len })
        .collect();
    Ok(Hint { segment_len: view.segment_len, entries })
}

/// Reads integers and byte strings off a slice, failing instead of
/// panicking when the slice ends.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.at.checked_add(n).filter(|&end| end <= self.bytes.len());
        let end =
            end.ok_or_else(|| format!("the file ends inside an entry at byte {}", self.at))?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }

    fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }

    fn entry(&mut self) -> Result<HintRef<'a>, String> {
        let key_len = self.u32()? as usize;
        let len = self.u32()?;
        let offset = self.u64()?;
        if len > MAX_PAYLOAD + 8 {
            return Err(format!("an impossible record length ({len} bytes)"));
        }
        let key = self.take(key_len)?;
        Ok(HintRef { key, offset, len })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> Hint {
        Hint {
            segment_len: 4096,
            entries: vec![
                HintEntry { key: b"apple".to_vec(), offset: 0, len: 30 },
                HintEntry { key: Vec::new(), offset: 30, len: 12 },
                HintEntry { key: vec![0xff; 300], offset: 42, len: 330 },
            ],
        }
    }

    #[test]
    fn a_hint_round_trips() {
        let hint = sample();
        let bytes = encode(&hint);
        assert_eq!(&bytes[..8], MAGIC);
        assert_eq!(bytes.len(), HEADER_LEN + 3 * ENTRY_HEADER_LEN + 5 + 300 + 4);
        assert_eq!(decode(&bytes), Ok(hint));
        assert_eq!(decode(&encode(&Hint::default())), Ok(Hint::default()));
    }

    #[test]
    fn every_flipped_byte_is_refused() {
        let bytes = encode(&sample());
        for at in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[at] ^= 0x20;
            assert!(decode(&damaged).is_err(), "a flip at byte {at} was accepted");
        }
        assert!(decode(&bytes[..bytes.len() - 1]).is_err(), "a cut hint was accepted");
    }

    #[test]
    fn a_checksummed_lie_about_lengths_is_refused() {
        // The checksum is right, the contents are not: decode must not trust
        // the count or a key length to size anything.
        let mut body = MAGIC.to_vec();
        body.extend(7u64.to_le_bytes());
        body.extend(u64::MAX.to_le_bytes());
        let crc = crc32fast::hash(&body);
        body.extend(crc.to_le_bytes());
        assert!(decode(&body).unwrap_err().contains("the file ends inside an entry"));
    }

    proptest! {
        #[test]
        fn decoding_any_bytes_never_panics(bytes: Vec<u8>) {
            let _ = decode(&bytes);
        }

        #[test]
        fn decoding_checksummed_garbage_never_panics(body: Vec<u8>, count in 0u64..4) {
            // Past the checksum, with a real magic: the parser itself is tried.
            let mut bytes = MAGIC.to_vec();
            bytes.extend(0u64.to_le_bytes());
            bytes.extend(count.to_le_bytes());
            bytes.extend(body);
            let crc = crc32fast::hash(&bytes);
            bytes.extend(crc.to_le_bytes());
            let _ = decode(&bytes);
        }

        #[test]
        fn any_hint_round_trips(
            entries in proptest::collection::vec(
                (proptest::collection::vec(any::<u8>(), 0..20), any::<u64>(), 0u32..1000), 0..20),
            segment_len: u64,
        ) {
            let entries = entries
                .into_iter()
                .map(|(key, offset, len)| HintEntry { key, offset, len })
                .collect();
            let hint = Hint { segment_len, entries };
            prop_assert_eq!(decode(&encode(&hint)), Ok(hint));
        }
    }
}
