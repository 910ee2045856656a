//! No input makes the command language panic: arbitrary text and arbitrary
//! bytes, as lines, as argument lists, and as whole sessions.

use lesson02_kv::command::{all_commands, parse};
use lesson02_kv::{ManualClock, Reply, Session, Store};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

fn session() -> Session<ManualClock> {
    Session::new(Store::with_clock(ManualClock::default()))
}

/// Lines that look like commands: a real command name (any case) followed
/// by a few words, numbers, quotes and options, so that the parser's deeper
/// branches are reached, not only "unknown command".
fn commandish_line() -> impl Strategy<Value = String> {
    let names: Vec<String> =
        all_commands().flat_map(|c| [c.name.to_string(), c.name.to_lowercase()]).collect();
    let word = prop_oneof![
        "[a-z]{0,3}",
        "-?[0-9]{1,20}",
        Just("NX".to_string()),
        Just("XX".to_string()),
        Just("EX".to_string()),
        Just("PX".to_string()),
        Just("KEEPTTL".to_string()),
        prop::sample::select(vec![
            "BYSCORE",
            "REV",
            "LIMIT",
            "WITHSCORES",
            "GT",
            "LT",
            "CH",
            "INCR",
            "MATCH",
            "COUNT",
            "TYPE",
            "inf",
            "-inf",
            "(1",
            "+inf",
            "1.5",
            "nan",
            "0",
            "-1",
        ])
        .prop_map(str::to_string),
        "\"[a-z\\\\x0-9\"]{0,6}\"?",
        "'[a-z\\\\']{0,4}'?",
        "[*?\\[\\]^a-z\\\\-]{0,6}",
    ];
    (prop::sample::select(names), prop::collection::vec(word, 0..5)).prop_map(|(name, words)| {
        let mut line = name;
        for w in words {
            line.push(' ');
            line.push_str(&w);
        }
        line
    })
}

/// Redis's error lines start with their kind: `ERR`, or `WRONGTYPE` for a
/// command on a key of another type.
fn is_redis_error(e: &str) -> bool {
    e.starts_with("ERR ") || e.starts_with("WRONGTYPE ")
}

/// A blank line gets no reply; any other line gets one, and an error reply
/// is a Redis-style `ERR …` line.
fn check_reply(line: &[u8], reply: Option<Reply>) -> Result<(), TestCaseError> {
    let blank = line.iter().all(u8::is_ascii_whitespace);
    prop_assert_eq!(
        reply.is_none(),
        blank,
        "line {:?} got {:?}",
        String::from_utf8_lossy(line),
        reply
    );
    if let Some(Reply::Error(e)) = reply {
        prop_assert!(is_redis_error(&e), "{}", e);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_text_gets_a_reply_not_a_panic(line in "\\PC{0,40}") {
        check_reply(line.as_bytes(), session().handle_line(line.as_bytes()))?;
    }

    #[test]
    fn any_bytes_get_a_reply_not_a_panic(line in prop::collection::vec(any::<u8>(), 0..64)) {
        check_reply(&line, session().handle_line(&line))?;
    }

    #[test]
    fn any_argument_list_parses_or_errors(args in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..8), 0..6)) {
        let _ = parse(args);
    }

    #[test]
    fn any_session_of_commandish_lines_runs_to_the_end(lines in prop::collection::vec(commandish_line(), 1..30)) {
        let mut s = session();
        for line in &lines {
            if let Some(Reply::Error(e)) = s.handle_line(line.as_bytes()) {
                // Every error is a Redis-style error line.
                prop_assert!(is_redis_error(&e), "{e}");
            }
            if s.is_closed() {
                break;
            }
        }
        // Whatever happened, the store is still usable.
        prop_assert_eq!(s.handle_line(b"PING"), Some(Reply::Simple("PONG".into())));
    }
}
