//! The real server on 127.0.0.1:0, spoken to with raw RESP bytes.

mod common;

use std::time::Duration;

use common::{load, start};
use lesson05_replication::Frame;
use lesson05_replication::client::{Client, encode_command};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn bulk(s: &str) -> Frame {
    Frame::Bulk(s.as_bytes().to_vec())
}

fn ok() -> Frame {
    Frame::Simple("OK".into())
}

/// Reads until the server closes the connection; everything it sent.
async fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    let mut all = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut all))
        .await
        .expect("the server should close the connection")
        .unwrap_or_default();
    all
}

// ANCHOR: pipelining
#[tokio::test]
async fn pipelined_commands_are_answered_in_order() {
    let server = start(|_| {}).await;
    let mut client = server.client().await;
    // A thousand commands in one write, before reading any reply.
    let mut batch = Vec::new();
    for i in 0..500 {
        let (key, value) = (format!("k{i}"), format!("v{i}"));
        batch.extend(encode_command(&[b"SET", key.as_bytes(), value.as_bytes()]));
        batch.extend(encode_command(&[b"GET", key.as_bytes()]));
    }
    client.send_raw(&batch).await.unwrap();
    for i in 0..500 {
        assert_eq!(client.read().await.unwrap(), Some(ok()));
        assert_eq!(client.read().await.unwrap(), Some(bulk(&format!("v{i}"))));
    }
    assert_eq!(client.call(&["DBSIZE"]).await.unwrap(), Frame::Integer(500));
}
// ANCHOR_END: pipelining

#[tokio::test]
async fn a_command_delivered_one_byte_at_a_time() {
    let server = start(|_| {}).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let bytes = [
        encode_command(&[b"SET", b"key", b"a value\r\nwith CRLF inside"]),
        encode_command(&[b"GET", b"key"]),
    ]
    .concat();
    for byte in &bytes {
        stream.write_all(&[*byte]).await.unwrap();
        stream.flush().await.unwrap();
    }
    let mut client = Client::from_stream(stream);
    assert_eq!(client.read().await.unwrap(), Some(ok()));
    assert_eq!(client.read().await.unwrap(), Some(bulk("a value\r\nwith CRLF inside")));
}

#[tokio::test]
async fn inline_commands_work_like_telnet() {
    let server = start(|_| {}).await;
    let mut client = server.client().await;
    client.send_raw(b"SET greeting \"hello world\"\r\n\r\nGET greeting\n").await.unwrap();
    assert_eq!(client.read().await.unwrap(), Some(ok()));
    assert_eq!(client.read().await.unwrap(), Some(bulk("hello world")));
}

// ANCHOR: max_clients
#[tokio::test]
async fn the_connection_past_max_clients_gets_redis_error() {
    let server = start(|c| c.max_clients = 2).await;
    let mut first = server.client().await;
    let mut second = server.client().await;
    assert_eq!(first.call(&["PING"]).await.unwrap(), Frame::Simple("PONG".into()));
    assert_eq!(second.call(&["PING"]).await.unwrap(), Frame::Simple("PONG".into()));

    let mut third = TcpStream::connect(server.addr).await.unwrap();
    let said = read_to_close(&mut third).await;
    assert_eq!(said, b"-ERR max number of clients reached\r\n");
    assert_eq!(load(&server.stats.rejected), 1);

    // A slot frees when a client leaves.
    drop(first);
    server.until(|s| load(&s.connected) == 1).await;
    let mut fourth = server.client().await;
    assert_eq!(fourth.call(&["PING"]).await.unwrap(), Frame::Simple("PONG".into()));
}
// ANCHOR_END: max_clients

#[tokio::test]
async fn lengths_past_the_limits_are_refused_before_the_bytes_arrive() {
    let server = start(|c| {
        c.limits.max_bulk = 1024;
        c.limits.max_array = 8;
    })
    .await;
    for (bytes, error) in [
        (&b"*2\r\n$3\r\nGET\r\n$1025\r\n"[..], "invalid bulk length"),
        (b"*9\r\n", "invalid multibulk length"),
        (b"*1\r\n$-5\r\n", "invalid bulk length"),
        (b"*2\r\n:1\r\n", "expected '$', got ':'"),
    ] {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream.write_all(bytes).await.unwrap();
        let said = read_to_close(&mut stream).await;
        assert_eq!(said, format!("-ERR Protocol error: {error}\r\n").as_bytes());
    }
    assert_eq!(load(&server.stats.protocol_errors), 4);
    // Within the limits, all is well.
    let mut client = server.client().await;
    let value = "x".repeat(1024);
    assert_eq!(client.call(&["SET", "k", &value]).await.unwrap(), ok());
}

#[tokio::test]
async fn the_query_buffer_is_bounded() {
    let server = start(|c| c.query_buffer_limit = 64 << 10).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    // A 1 MB argument is within the bulk limit, but more than the server
    // will hold for one client.
    stream.write_all(b"*2\r\n$3\r\nGET\r\n$1000000\r\n").await.unwrap();
    let chunk = vec![b'x'; 16 << 10];
    for _ in 0..16 {
        if stream.write_all(&chunk).await.is_err() {
            break;
        }
    }
    let said = read_to_close(&mut stream).await;
    assert_eq!(said, b"-ERR query buffer limit exceeded\r\n");
    assert_eq!(load(&server.stats.closed_for_limits), 1);
}

#[tokio::test(start_paused = true)]
async fn an_idle_client_is_disconnected() {
    let server = start(|c| c.idle_timeout = Some(Duration::from_secs(300))).await;
    let mut client = server.client().await;
    assert_eq!(client.call(&["PING"]).await.unwrap(), Frame::Simple("PONG".into()));
    // Paused time jumps ahead while everyone waits: the timeout fires.
    let next = client.read().await;
    assert!(matches!(next, Ok(None)), "closed without a word, as Redis does: {next:?}");
    assert_eq!(load(&server.stats.closed_for_limits), 1);
}

// ANCHOR: never_reads
#[tokio::test(start_paused = true)]
async fn a_client_that_never_reads_is_disconnected() {
    let server = start(|c| c.output_timeout = Duration::from_secs(30)).await;
    let mut setup = server.client().await;
    let big = "v".repeat(64 << 10);
    assert_eq!(setup.call(&["SET", "big", &big]).await.unwrap(), ok());

    // Ask for the 64 KB value 10,000 times (640 MB of replies) and never
    // read: the socket's buffers fill, the server's write stops moving.
    let mut greedy = TcpStream::connect(server.addr).await.unwrap();
    let request = encode_command(&[b"GET", b"big"]).repeat(10_000);
    let writer = tokio::spawn(async move {
        let _ = greedy.write_all(&request).await;
        greedy // kept open, never read
    });
    server.until(|s| load(&s.closed_for_limits) == 1).await;

    // Everyone else is served as before.
    assert_eq!(setup.call(&["GET", "big"]).await.unwrap(), bulk(&big));
    drop(writer);
}
// ANCHOR_END: never_reads

// ANCHOR: auth
#[tokio::test]
async fn auth_comes_first_when_a_password_is_set() {
    let server = start(|c| c.requirepass = Some(b"s3cret".to_vec())).await;
    let mut client = server.client().await;
    let noauth = Frame::Error("NOAUTH Authentication required.".into());
    assert_eq!(client.call(&["GET", "k"]).await.unwrap(), noauth);
    assert_eq!(client.call(&["CONFIG", "GET", "save"]).await.unwrap(), noauth);
    assert_eq!(
        client.call(&["AUTH", "wrong"]).await.unwrap(),
        Frame::Error("WRONGPASS invalid username-password pair or user is disabled.".into())
    );
    assert!(
        matches!(client.call(&["HELLO", "3"]).await.unwrap(), Frame::Error(e) if e.starts_with("NOAUTH"))
    );
    assert_eq!(client.call(&["AUTH", "default", "s3cret"]).await.unwrap(), ok());
    assert_eq!(client.call(&["GET", "k"]).await.unwrap(), Frame::Null);

    // HELLO can authenticate and switch protocol at once, as redis-py does.
    let mut other = server.client().await;
    let hello = other.call(&["HELLO", "3", "AUTH", "default", "s3cret"]).await.unwrap();
    assert!(matches!(hello, Frame::Map(_)), "{hello:?}");
    assert_eq!(other.call(&["GET", "k"]).await.unwrap(), Frame::Null);
}
// ANCHOR_END: auth

#[tokio::test]
async fn auth_without_a_password_says_so() {
    let server = start(|_| {}).await;
    let mut client = server.client().await;
    let Frame::Error(e) = client.call(&["AUTH", "x"]).await.unwrap() else { panic!() };
    assert!(e.starts_with("ERR AUTH <password> called without any password configured"), "{e}");
}

#[tokio::test]
async fn hello_switches_between_resp2_and_resp3() {
    let server = start(|_| {}).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let mut exchange = async |request: &[&[u8]], expect: &[u8]| {
        stream.write_all(&encode_command(request)).await.unwrap();
        let mut got = vec![0; expect.len()];
        stream.read_exact(&mut got).await.unwrap();
        assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(expect));
    };
    exchange(&[b"GET", b"nope"], b"$-1\r\n").await;
    exchange(&[b"HELLO", b"4"], b"-NOPROTO unsupported protocol version\r\n").await;
    exchange(
        &[b"HELLO", b"3"],
        b"%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$5\r\n7.0.0\r\n\
          $5\r\nproto\r\n:3\r\n$2\r\nid\r\n:1\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n\
          $4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n",
    )
    .await;
    exchange(&[b"GET", b"nope"], b"_\r\n").await;
    exchange(&[b"CONFIG", b"GET", b"appendonly"], b"%1\r\n$10\r\nappendonly\r\n$3\r\nyes\r\n")
        .await;
    exchange(&[b"HELLO", b"2", b"SETNAME", b"me"], b"*14\r\n").await;
}

#[tokio::test]
async fn unknown_commands_and_wrong_arity_get_redis_errors() {
    let server = start(|_| {}).await;
    let mut client = server.client().await;
    assert_eq!(
        client.call(&["NOSUCH", "a", "b"]).await.unwrap(),
        Frame::Error("ERR unknown command 'NOSUCH', with args beginning with: 'a' 'b' ".into())
    );
    assert_eq!(
        client.call(&["get"]).await.unwrap(),
        Frame::Error("ERR wrong number of arguments for 'get' command".into())
    );
    assert_eq!(
        client.call(&["client", "nosuch"]).await.unwrap(),
        Frame::Error("ERR unknown subcommand 'nosuch'. Try CLIENT HELP.".into())
    );
    assert_eq!(
        client.call(&["SELECT", "1"]).await.unwrap(),
        Frame::Error("ERR DB index is out of range".into())
    );
    // Names are case-insensitive; keys are not.
    assert_eq!(client.call(&["sEt", "K", "1"]).await.unwrap(), ok());
    assert_eq!(client.call(&["get", "k"]).await.unwrap(), Frame::Null);
}

#[tokio::test]
async fn client_and_command_introspection() {
    let server = start(|_| {}).await;
    let mut client = server.client().await;
    let Frame::Integer(id) = client.call(&["CLIENT", "ID"]).await.unwrap() else { panic!() };
    assert!(id >= 1);
    assert_eq!(client.call(&["CLIENT", "GETNAME"]).await.unwrap(), Frame::Null);
    assert_eq!(client.call(&["CLIENT", "SETNAME", "worker-1"]).await.unwrap(), ok());
    assert_eq!(client.call(&["CLIENT", "GETNAME"]).await.unwrap(), bulk("worker-1"));
    assert_eq!(client.call(&["CLIENT", "SETINFO", "LIB-NAME", "redis-py"]).await.unwrap(), ok());

    let Frame::Integer(count) = client.call(&["COMMAND", "COUNT"]).await.unwrap() else { panic!() };
    let Frame::Array(all) = client.call(&["COMMAND"]).await.unwrap() else { panic!() };
    assert_eq!(all.len() as i64, count);
    let mut names: Vec<&Frame> = all
        .iter()
        .map(|c| match c {
            Frame::Array(fields) => &fields[0],
            other => panic!("{other:?}"),
        })
        .collect();
    names.sort_by_key(|n| format!("{n:?}"));
    names.dedup();
    assert_eq!(names.len() as i64, count, "each command once");
    // INFO is the server's, which takes sections.
    let Frame::Array(info) = client.call(&["COMMAND", "INFO", "info"]).await.unwrap() else {
        panic!()
    };
    assert!(matches!(&info[0], Frame::Array(f) if f[1] == Frame::Integer(-1)), "{info:?}");
    let Frame::Array(info) = client.call(&["COMMAND", "INFO", "get", "nosuch"]).await.unwrap()
    else {
        panic!()
    };
    let Frame::Array(get) = &info[0] else { panic!() };
    assert_eq!(get[0], bulk("get"));
    assert_eq!(&get[1..2], &[Frame::Integer(2)]);
    assert_eq!(&get[3..6], &[Frame::Integer(1), Frame::Integer(1), Frame::Integer(1)]);
    assert_eq!(info[1], Frame::Null);

    let Frame::Bulk(text) = client.call(&["INFO"]).await.unwrap() else { panic!() };
    let text = String::from_utf8(text).unwrap();
    assert!(text.starts_with("# Server\r\nredis_version:7.0.0\r\n"), "{text}");
    assert!(text.contains("connected_clients:1\r\n"), "{text}");
}

#[tokio::test]
async fn quit_answers_then_closes() {
    let server = start(|_| {}).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let bytes = [encode_command(&[b"QUIT"]), encode_command(&[b"PING"])].concat();
    stream.write_all(&bytes).await.unwrap();
    assert_eq!(read_to_close(&mut stream).await, b"+OK\r\n");
}

#[tokio::test]
async fn commands_before_bad_bytes_are_answered_first() {
    let server = start(|_| {}).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let mut bytes = encode_command(&[b"SET", b"k", b"v"]);
    bytes.extend_from_slice(b"*1\r\n!oops\r\n");
    stream.write_all(&bytes).await.unwrap();
    assert_eq!(
        read_to_close(&mut stream).await,
        b"+OK\r\n-ERR Protocol error: expected '$', got '!'\r\n"
    );
    let mut client = server.client().await;
    assert_eq!(client.call(&["GET", "k"]).await.unwrap(), bulk("v"));
}
