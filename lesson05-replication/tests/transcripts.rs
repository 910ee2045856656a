//! Sessions with the real server over a real connection, printed as
//! redis-cli prints them, and snapshotted for the book.
//!
//! Script lines: a command (printed after the prompt, then its reply as
//! redis-cli renders it); `# comment`; `@raw COMMAND` (print the bytes that
//! go out and the bytes that come back, escaped).

mod common;

use lesson05_replication::Config;
use lesson05_replication::client::encode_command;

/// The prompt the book shows: the port of the chapter's command line, not
/// the random one the test server got.
const PROMPT: &str = "127.0.0.1:6380> ";

/// Runs `script` on a fresh server with `change` applied to its settings.
async fn transcript(change: impl FnOnce(&mut Config), script: &str) -> String {
    let server = common::start(change).await;
    let mut client = server.client().await;
    let mut out = String::new();
    for line in script.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if line.starts_with('#') {
            out.push_str(line);
        } else if let Some(command) = line.strip_prefix("@raw ") {
            let args = lesson02_kv::tokenizer::tokenize(command.as_bytes()).unwrap();
            let args: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
            let request = encode_command(&args);
            client.send_raw(&request).await.unwrap();
            let (_, bytes) = client.read_with_bytes().await.unwrap().unwrap();
            out.push_str(&format!("→ {}\n← {}", request.escape_ascii(), bytes.escape_ascii()));
        } else {
            out.push_str(PROMPT);
            out.push_str(line);
            out.push('\n');
            out.push_str(&client.call_line(line).await.unwrap());
        }
        out.push('\n');
    }
    out
}

#[tokio::test]
async fn redis_cli_session() {
    let text = transcript(
        |_| {},
        "
        PING
        SET greeting \"hello world\"
        GET greeting
        INCR visits
        INCRBY visits 10
        SET session:1 alice EX 60
        TTL session:1
        KEYS *
        DEL greeting nosuch
        GET greeting
        DBSIZE
        FLY me to the moon
        GET
        CLIENT SETNAME book
        CLIENT GETNAME
        CONFIG GET append*
        HELP HELLO
        ",
    )
    .await;
    insta::assert_snapshot!("redis_cli_session", text);
}

#[tokio::test]
async fn resp_on_the_wire() {
    let text = transcript(
        |_| {},
        "
        @raw SET k hello
        @raw GET k
        @raw GET nosuch
        @raw INCR counter
        @raw KEYS *
        @raw NOSUCH
        # HELLO 3 switches this connection to RESP3: a map, and `_` for null.
        @raw HELLO 3
        @raw GET nosuch
        ",
    )
    .await;
    insta::assert_snapshot!("resp_on_the_wire", text);
}

#[tokio::test]
async fn data_types_on_the_wire() {
    let text = transcript(
        |_| {},
        "
        @raw HSET user:1 name ada
        @raw SADD tags red
        @raw ZADD board 1.5 ada 2 grace
        @raw HGETALL user:1
        @raw SMEMBERS tags
        @raw ZSCORE board ada
        @raw ZRANGE board 0 -1 WITHSCORES
        # The same replies in RESP3: a map, a set, a double, pairs.
        HELLO 3
        @raw HGETALL user:1
        @raw SMEMBERS tags
        @raw ZSCORE board ada
        @raw ZRANGE board 0 -1 WITHSCORES
        ",
    )
    .await;
    insta::assert_snapshot!("data_types_on_the_wire", text);
}

#[tokio::test]
async fn resp3_session() {
    let text = transcript(
        |_| {},
        "
        HELLO 3
        GET nosuch
        CONFIG GET maxclients
        SET k v
        INFO keyspace
        ",
    )
    .await;
    insta::assert_snapshot!("resp3_session", text);
}

#[tokio::test]
async fn auth_session() {
    let text = transcript(
        |c| c.requirepass = Some(b"s3cret".to_vec()),
        "
        GET k
        AUTH wrong
        AUTH s3cret
        GET k
        ",
    )
    .await;
    insta::assert_snapshot!("auth_session", text);
}
