//! Scripted sessions, snapshotted. Each script runs through
//! `Session::handle_line`, the same code path as the REPL, on a store with a
//! manual clock; the book's "Run it" sections include the snapshot files.
//!
//! Script lines:
//! - a command, printed after the `kv> ` prompt, followed by its reply;
//! - `# comment`, printed as is (an annotation, not something to type);
//! - `@sleep MS`, which moves the manual clock forward (the REPL has no such
//!   command; in real life, time just passes).

use lesson02_kv::command::all_commands;
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

const STRINGS: &str = r#"
    MSET a 1 b 2 c 3
    MGET a b nobody c
    APPEND a "23"
    APPEND fresh "new"
    GET a
    STRLEN a
    STRLEN nobody
    SET word "hello world"
    GETRANGE word 0 4
    GETRANGE word -5 -1
    GETRANGE word 0 -100
    GETRANGE word 20 30
    SETNX word "again"
    SETNX other "first"
    GETDEL word
    EXISTS word
    MSET odd
"#;

const KEYSPACE: &str = r#"
    SET name "ada"
    RPUSH queue job1 job2
    HSET user:1 name ada
    SADD tags red
    ZADD board 10 ada
    TYPE name
    TYPE queue
    TYPE user:1
    TYPE tags
    TYPE board
    TYPE nobody
    EXPIRE queue 100
    RENAME queue jobs
    TTL jobs
    LRANGE jobs 0 -1
    RENAME nobody other
    # SCAN walks the keys a slice at a time: each reply is the next
    # cursor and the keys found; cursor 0 again means done.
    SCAN 0 COUNT 3
    SCAN 11068046444225730969 COUNT 3
    SCAN 0 COUNT 100
    SCAN 0 MATCH user:* COUNT 100
    SCAN 0 TYPE zset COUNT 100
    SCAN notanumber
"#;

const LISTS: &str = r#"
    RPUSH queue a b c
    LPUSH queue z
    LRANGE queue 0 -1
    LRANGE queue 1 -2
    LRANGE queue -100 100
    LRANGE queue 3 1
    LLEN queue
    LINDEX queue 0
    LINDEX queue -1
    LINDEX queue 10
    LPOP queue
    RPOP queue 2
    LPOP queue 5
    # The last element popped: the list, and its key, are gone.
    EXISTS queue
    LPOP queue
    LPOP queue 2
    LPOP queue -1
    SET text "a string"
    LPUSH text x
    GET text
"#;

const HASHES: &str = r#"
    HSET user:1 name ada born 1815
    HSET user:1 born 1816 field "x"
    HGET user:1 name
    HGET user:1 nobody
    HGETALL user:1
    HLEN user:1
    HEXISTS user:1 born
    HINCRBY user:1 born -1
    HINCRBY user:1 visits 1
    HINCRBY user:1 name 1
    HDEL user:1 field nobody
    HGETALL user:1
    HDEL user:1 name born visits
    EXISTS user:1
    HSET user:1 name
    HGETALL nobody
"#;

const SETS: &str = r#"
    SADD tags red green blue
    SADD tags red yellow
    SMEMBERS tags
    SISMEMBER tags red
    SISMEMBER tags pink
    SCARD tags
    SREM tags green pink
    SADD more blue yellow black
    SINTER tags more
    SUNION tags more
    SINTER tags nobody
    SPOP tags
    SPOP tags 5
    EXISTS tags
    SPOP tags
    SADD text x
    SET text "a string"
    SADD text x
"#;

const SORTED_SETS: &str = r#"
    ZADD board 10 ada 20 grace 15 alan
    ZRANGE board 0 -1 WITHSCORES
    ZSCORE board alan
    ZRANK board grace
    ZRANK board nobody
    ZCARD board
    ZINCRBY board 7.5 ada
    ZADD board NX 0 ada 5 linus
    ZADD board XX CH 30 ada 1 nobody
    ZADD board GT CH 1 grace 25 alan
    ZADD board LT 0 grace
    ZADD board INCR 1 grace
    ZADD board NX INCR 1 grace
    ZRANGE board 0 -1 WITHSCORES
    ZRANGE board 0 1 REV
    ZRANGE board 10 +inf BYSCORE WITHSCORES
    ZRANGE board (10 25 BYSCORE
    ZRANGE board +inf -inf BYSCORE REV LIMIT 1 2
    # The older forms of the same, which clients still send:
    ZREVRANGE board 0 1
    ZRANGEBYSCORE board (10 25 WITHSCORES
    ZREVRANGEBYSCORE board +inf -inf LIMIT 1 2
    ZADD board inf top -inf bottom
    ZRANGE board 0 -1 WITHSCORES
    ZINCRBY board -inf top
    ZREM board top bottom nobody
    ZPOPMIN board
    ZPOPMIN board 10
    EXISTS board
    ZADD board NX XX 1 a
    ZADD board GT LT 1 a
    ZADD board INCR 1 a 2 b
    ZADD board 1
    ZADD board one a
    ZRANGE board 0 1 LIMIT 0 1
    ZRANGE board x 1 BYSCORE
"#;

#[test]
fn strings() {
    insta::assert_snapshot!("strings", transcript(STRINGS));
}

#[test]
fn keyspace() {
    insta::assert_snapshot!("keyspace", transcript(KEYSPACE));
}

#[test]
fn lists() {
    insta::assert_snapshot!("lists", transcript(LISTS));
}

#[test]
fn hashes() {
    insta::assert_snapshot!("hashes", transcript(HASHES));
}

#[test]
fn sets() {
    insta::assert_snapshot!("sets", transcript(SETS));
}

#[test]
fn sorted_sets() {
    insta::assert_snapshot!("sorted_sets", transcript(SORTED_SETS));
}

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

/// Every script.
const ALL: [&str; 11] =
    [BASICS, INTEGERS, EXPIRY, KEYS, ERRORS, STRINGS, KEYSPACE, LISTS, HASHES, SETS, SORTED_SETS];

/// Every command of the language appears in some transcript, so the book
/// shows each one working.
#[test]
fn every_command_is_in_a_transcript() {
    let all = ALL.join("\n").to_ascii_uppercase();
    for spec in all_commands() {
        let used = all.lines().any(|l| l.trim().split(' ').next() == Some(spec.name));
        assert!(used, "{} is in no transcript", spec.name);
    }
}

/// Every kind of error reply appears in some transcript.
#[test]
fn every_error_is_in_a_transcript() {
    let all: String = ALL.map(transcript).concat();
    let errors = [
        "ERR unknown command 'FOO'",
        "ERR wrong number of arguments for 'get' command",
        "ERR syntax error",
        "ERR value is not an integer or out of range",
        "ERR increment or decrement would overflow",
        "ERR invalid expire time in 'set' command",
        "ERR invalid expire time in 'expire' command",
        "ERR unbalanced quotes in request",
        "WRONGTYPE Operation against a key holding the wrong kind of value",
        "ERR value is not a valid float",
        "ERR resulting score is not a number (NaN)",
        "ERR hash value is not an integer",
        "ERR no such key",
        "ERR invalid cursor",
        "ERR value is out of range, must be positive",
        "ERR min or max is not a float",
    ];
    for error in errors {
        assert!(all.contains(&format!("(error) {error}")), "no transcript shows {error}");
    }
}
