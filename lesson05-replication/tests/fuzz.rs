//! Hostile bytes: generated frames, mutated frames and random bytes never
//! panic the parser, never take the server down, and never disturb another
//! client.

mod common;

use std::cell::{Cell, RefCell};
use std::time::Duration;

use lesson05_replication::client::{Client, encode_command};
use lesson05_replication::frame::{Frame, Limits, Parsed, RequestProgress, parse_request};
use proptest::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn command() -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 1..6)
}

/// A valid command's bytes, then damaged: bytes flipped, cut, or inserted.
fn hostile_bytes() -> impl Strategy<Value = Vec<u8>> {
    let valid = || {
        command().prop_map(|args| {
            let args: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
            encode_command(&args)
        })
    };
    let mutated = (valid(), prop::collection::vec((any::<usize>(), any::<u8>(), 0..3u8), 1..4))
        .prop_map(|(mut bytes, edits)| {
            for (at, byte, kind) in edits {
                let at = at % (bytes.len() + 1);
                match kind {
                    0 if at < bytes.len() => bytes[at] = byte,
                    1 => bytes.truncate(at),
                    _ => bytes.insert(at, byte),
                }
            }
            bytes
        });
    let random = prop::collection::vec(any::<u8>(), 0..200);
    // Plausible headers with wild numbers: the lengths a parser must doubt.
    let headers =
        (prop::sample::select(vec![b'*', b'$', b'+', b'-', b':', b'%', b'~']), any::<i64>())
            .prop_map(|(kind, n)| format!("{}{n}\r\n", char::from(kind)).into_bytes());
    prop_oneof![valid(), mutated, random, headers]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Any bytes: an answer, never a panic, and the same answer however
    /// the bytes are split into reads.
    #[test]
    fn the_request_parser_never_panics_and_resumes_exactly(bytes in hostile_bytes(), split in any::<usize>()) {
        let limits = Limits::default();
        let whole = parse_request(&bytes, &mut RequestProgress::default(), &limits);
        let split = split % (bytes.len() + 1);
        let mut progress = RequestProgress::default();
        let first = parse_request(&bytes[..split], &mut progress, &limits);
        let resumed = match first {
            Ok(Parsed::Incomplete) => parse_request(&bytes, &mut progress, &limits),
            other => other,
        };
        // A result found in the first part is the whole's, unless the whole
        // went on to find an error further on... which it cannot: parsing
        // stops at the first complete request.
        prop_assert_eq!(resumed, whole);
        let _ = Frame::parse(&bytes, &limits);
    }

    /// Commands survive the trip through encoding and parsing unchanged.
    #[test]
    fn commands_round_trip(args in command()) {
        let refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
        let bytes = encode_command(&refs);
        let parsed = parse_request(&bytes, &mut RequestProgress::default(), &Limits::default());
        prop_assert_eq!(parsed, Ok(Parsed::Done(args, bytes.len())));
    }
}

// ANCHOR: fuzz_server
/// One server takes 256 hostile connections; after each, a well-behaved
/// client on the same server still gets right answers.
#[test]
fn hostile_connections_never_disturb_the_others() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(common::start(|c| {
        c.limits.max_bulk = 1 << 20;
        c.query_buffer_limit = 4 << 20;
    }));
    let checker = RefCell::new(runtime.block_on(Client::connect(server.addr)).unwrap());
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(256));
    let case = Cell::new(0u32);
    runner
        .run(&hostile_bytes(), |bytes| {
            case.set(case.get() + 1);
            let case = case.get();
            let mut checker = checker.borrow_mut();
            runtime.block_on(async {
                let mut hostile = TcpStream::connect(server.addr).await.unwrap();
                let _ = hostile.write_all(&bytes).await;
                // Close our half: a server waiting for the rest of a frame
                // sees the end, and must close its side too.
                let _ = hostile.shutdown().await;
                let mut sink = Vec::new();
                let closed =
                    tokio::time::timeout(Duration::from_secs(10), hostile.read_to_end(&mut sink))
                        .await;
                assert!(closed.is_ok(), "the server kept a dead connection open");

                let key = format!("checker:{case}");
                let value = format!("value {case}");
                let set = checker.call(&["SET", &key, &value]).await.unwrap();
                assert_eq!(set, Frame::Simple("OK".into()));
                let get = checker.call(&["GET", &key]).await.unwrap();
                assert_eq!(get, Frame::Bulk(value.into_bytes()));
            });
            Ok(())
        })
        .unwrap();
}
// ANCHOR_END: fuzz_server
