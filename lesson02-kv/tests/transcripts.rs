//! Scripted sessions, snapshotted. Each script runs through
//! `Session::handle_line`, the same code path as the REPL, on a store with a
//! manual clock; the book's "Run it" sections include the snapshot files.
//!
//! Script lines:
//! - a command, printed after the `kv> ` prompt, followed by its reply;
//! - `# comment`, printed as is (an annotation, not something to type);
//! - `@sleep MS`, which moves the manual clock forward (the REPL has no such
//!   command; in real life, time just passes).

use lesson02_kv::command::COMMANDS;
use lesson02_kv::repl::transcript_line;
use lesson02_kv::{ManualClock, Session, Store};

/// Runs a script and returns the transcript.
fn transcript(script: &str) -> String {
    let clock = ManualClock::default();
    let mut session = Session::new(Store::with_clock(clock.clone()));
    let mut out = String::new();
    for line in script.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if line.starts_with('#') {
            out.push_str(line);
        } else if let Some(ms) = line.strip_prefix("@sleep ") {
            clock.advance(ms.parse().expect("@sleep takes milliseconds"));
            out.push_str(&format!("-- {ms} ms later --"));
        } else {
            out.push_str(&transcript_line(&mut session, line));
        }
        out.push('\n');
    }
    out
}

const BASICS: &str = r#"
    SET greeting "hello world"
    GET greeting
    GET nobody
    SET empty ""
    GET empty
    EXISTS greeting empty nobody
    SET bytes "caf\xc3\xa9\x00\xff"
    GET bytes
    SET greeting 'overwritten, it\'s "single-quoted"'
    GET greeting
    SET greeting "only if new" NX
    SET fresh "only if new" nx
    SET missing "only if present" XX
    GET missing
    DBSIZE
    DEL greeting nobody empty
    DBSIZE
    PING
    PING "are you there?"
    ECHO "echo\tthis"
    FLUSHALL
    DBSIZE
    HELP GET
    QUIT
"#;

const INTEGERS: &str = r#"
    INCR visits
    INCR visits
    INCRBY visits 40
    DECR visits
    DECRBY visits 100
    GET visits
    SET price "9.99"
    INCR price
    SET padded " 7"
    INCR padded
    INCRBY visits ten
    SET big 9223372036854775807
    INCR big
    DECRBY big -1
    GET big
    SET small -9223372036854775808
    DECR small
"#;

const EXPIRY: &str = r#"
    # A session token that lives 10 seconds:
    SET session:ada "token" EX 10
    TTL session:ada
    PTTL session:ada
    @sleep 4500
    TTL session:ada
    GET session:ada
    @sleep 5500
    # Its deadline has passed. The active cycle, which runs before a command
    # when 100 ms have passed since the last one, removes it before GET runs.
    GET session:ada
    TTL session:ada
    # Lazy expiry: this key dies 50 ms after SET, too soon for another
    # active cycle, so it is GET that finds it expired and removes it.
    SET flash "gone soon" PX 50
    @sleep 50
    GET flash
    SET cache:page "<html>" PX 1500
    PEXPIRE cache:page 60000
    TTL cache:page
    PERSIST cache:page
    TTL cache:page
    PERSIST cache:page
    EXPIRE cache:page 2
    # A plain SET clears the TTL; KEEPTTL keeps it.
    SET cache:page "<html v2>"
    TTL cache:page
    EXPIRE cache:page 5
    SET cache:page "<html v3>" KEEPTTL
    TTL cache:page
    EXPIRE nobody 10
    EXPIRE cache:page 0
    EXISTS cache:page
    SET k v EX 0
    SET k v EX soon
    SET k v PX 100 EX 1
"#;

const KEYS: &str = r#"
    SET user:1:name ada
    SET user:2:name grace
    SET user:10:name edsger
    SET user:1:email ada@example.com
    SET users:count 3
    SET "star*key" literal
    KEYS *
    KEYS user:*
    KEYS user:?:name
    KEYS user:*:name
    KEYS user:[12]:*
    KEYS user:[^1]:*
    KEYS user:[0-9][0-9]:*
    KEYS star\*key
    KEYS nothing*
    SET temp:1 x PX 100
    KEYS temp:*
    @sleep 100
    KEYS temp:*
"#;

const ERRORS: &str = r#"
    FOO bar
    get
    GET a b
    SET onlykey
    SET k v NX XX
    SET k v EX
    SET k v SOMETIMES
    INCRBY k
    EXPIRE k soon
    EXPIRE k 9223372036854775807
    PEXPIRE
    TTL
    KEYS
    FLUSHALL later
    ECHO
    SET k "unclosed
    SET k "closed"but-not-separated
    HELP NOSUCH
    # The session goes on after every error:
    PING
"#;

#[test]
fn basics() {
    insta::assert_snapshot!("basics", transcript(BASICS));
}

#[test]
fn integers() {
    insta::assert_snapshot!("integers", transcript(INTEGERS));
}

#[test]
fn expiry() {
    insta::assert_snapshot!("expiry", transcript(EXPIRY));
}

#[test]
fn keys() {
    insta::assert_snapshot!("keys", transcript(KEYS));
}

#[test]
fn errors() {
    insta::assert_snapshot!("errors", transcript(ERRORS));
}

#[test]
fn help() {
    insta::assert_snapshot!("help", transcript("HELP"));
}

/// Every command of the language appears in some transcript, so the book
/// shows each one working.
#[test]
fn every_command_is_in_a_transcript() {
    let all = [BASICS, INTEGERS, EXPIRY, KEYS, ERRORS].join("\n").to_ascii_uppercase();
    for spec in COMMANDS {
        let used = all.lines().any(|l| l.trim().split(' ').next() == Some(spec.name));
        assert!(used, "{} is in no transcript", spec.name);
    }
}

/// Every kind of error reply appears in some transcript.
#[test]
fn every_error_is_in_a_transcript() {
    let all: String = [BASICS, INTEGERS, EXPIRY, KEYS, ERRORS].map(transcript).concat();
    let errors = [
        "ERR unknown command 'FOO'",
        "ERR wrong number of arguments for 'get' command",
        "ERR syntax error",
        "ERR value is not an integer or out of range",
        "ERR increment or decrement would overflow",
        "ERR invalid expire time in 'set' command",
        "ERR invalid expire time in 'expire' command",
        "ERR unbalanced quotes in request",
    ];
    for error in errors {
        assert!(all.contains(&format!("(error) {error}")), "no transcript shows {error}");
    }
}
