//! The PostgreSQL wire protocol: byte by byte with a hand-made client, then
//! with the real ones, psql and psycopg2.

#[path = "../../lesson05-replication/tests/common/tools.rs"]
pub mod tools;

use std::net::SocketAddr;

use lesson04_indexing::btree::BTree;
use lesson05_replication::rng::Rng;
use lesson06_advanced::mvcc::Db;
use lesson06_advanced::pgwire::{self, Config};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

struct Running {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    handle: JoinHandle<Result<(), String>>,
}

async fn start(config: Config) -> Running {
    let db = Db::open(BTree::in_memory(4096)).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let handle = tokio::spawn(pgwire::serve(listener, db, config, async {
        let _ = stopped.await;
    }));
    Running { addr, stop, handle }
}

impl Running {
    async fn stop(self) {
        let _ = self.stop.send(());
        self.handle.await.unwrap().unwrap();
    }
}

/// A message from the server: its type and body.
type Message = (u8, Vec<u8>);

/// A hand-made client: writes messages, reads them back, and keeps a
/// transcript of both directions.
struct Client {
    stream: TcpStream,
    log: String,
}

fn hex(bytes: &[u8]) -> String {
    let shown: Vec<String> = bytes.iter().take(20).map(|b| format!("{b:02x}")).collect();
    let more = if bytes.len() > 20 { " …" } else { "" };
    format!("{}{more}", shown.join(" "))
}

fn cstrings(body: &[u8]) -> Vec<String> {
    body.split(|b| *b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect()
}

impl Client {
    async fn connect(addr: SocketAddr) -> Self {
        Client { stream: TcpStream::connect(addr).await.unwrap(), log: String::new() }
    }

    async fn send_raw(&mut self, what: &str, bytes: &[u8]) {
        self.log.push_str(&format!("→ {what:<40} {}\n", hex(bytes)));
        self.stream.write_all(bytes).await.unwrap();
    }

    async fn ssl_request(&mut self) -> u8 {
        let mut bytes = 8u32.to_be_bytes().to_vec();
        bytes.extend_from_slice(&80_877_103u32.to_be_bytes());
        self.send_raw("SSLRequest", &bytes).await;
        let answer = self.stream.read_u8().await.unwrap();
        self.log.push_str(&format!("← {:<40} {:02x}\n", format!("{}", answer as char), answer));
        answer
    }

    async fn startup(&mut self, user: &str) {
        let mut body = 196_608u32.to_be_bytes().to_vec();
        body.extend_from_slice(format!("user\0{user}\0database\0shop\0\0").as_bytes());
        let mut bytes = ((body.len() + 4) as u32).to_be_bytes().to_vec();
        bytes.extend_from_slice(&body);
        self.send_raw(&format!("StartupMessage user={user} database=shop"), &bytes).await;
    }

    async fn send(&mut self, kind: u8, body: &[u8], what: &str) {
        let mut bytes = vec![kind];
        bytes.extend_from_slice(&((body.len() + 4) as u32).to_be_bytes());
        bytes.extend_from_slice(body);
        self.send_raw(what, &bytes).await;
    }

    async fn query(&mut self, sql: &str) {
        self.send(b'Q', format!("{sql}\0").as_bytes(), &format!("Query {sql:?}")).await;
    }

    /// Reads one message, or `None` once the server closed.
    async fn read(&mut self) -> Option<Message> {
        let kind = self.stream.read_u8().await.ok()?;
        let len = self.stream.read_u32().await.unwrap() as usize;
        let mut body = vec![0; len - 4];
        self.stream.read_exact(&mut body).await.unwrap();
        let mut bytes = vec![kind];
        bytes.extend_from_slice(&(len as u32).to_be_bytes());
        bytes.extend_from_slice(&body);
        self.log.push_str(&format!("← {:<40} {}\n", describe(kind, &body), hex(&bytes)));
        Some((kind, body))
    }

    /// Reads up to and including ReadyForQuery; returns them all.
    async fn until_ready(&mut self) -> Vec<Message> {
        let mut out = Vec::new();
        while let Some(message) = self.read().await {
            let ready = message.0 == b'Z';
            out.push(message);
            if ready {
                break;
            }
        }
        out
    }
}

/// A message, named and summed up, for the transcript.
fn describe(kind: u8, body: &[u8]) -> String {
    match kind {
        b'R' if body == [0, 0, 0, 0] => "AuthenticationOk".into(),
        b'R' => "AuthenticationCleartextPassword".into(),
        b'S' => format!("ParameterStatus {}", cstrings(body).join("=")),
        b'K' => "BackendKeyData".into(),
        b'Z' => format!("ReadyForQuery {}", body[0] as char),
        b'T' => {
            let names: Vec<String> = cstrings(&body[2..])
                .into_iter()
                .filter(|s| s.chars().all(|c| c.is_alphanumeric() || c == '?' || c == '_'))
                .collect();
            format!("RowDescription {}", names.join(", "))
        }
        b'D' => {
            let mut fields = Vec::new();
            let mut rest = &body[2..];
            while rest.len() >= 4 {
                let len = i32::from_be_bytes(rest[..4].try_into().unwrap());
                rest = &rest[4..];
                if len < 0 {
                    fields.push("NULL".to_string());
                } else {
                    fields.push(String::from_utf8_lossy(&rest[..len as usize]).into_owned());
                    rest = &rest[len as usize..];
                }
            }
            format!("DataRow {}", fields.join(", "))
        }
        b'C' => format!("CommandComplete {}", cstrings(body).join("")),
        b'I' => "EmptyQueryResponse".into(),
        b'E' => {
            let fields: Vec<String> = cstrings(body);
            let get = |c: char| {
                fields
                    .iter()
                    .find(|f| f.starts_with(c))
                    .map(|f| f[1..].to_string())
                    .unwrap_or_default()
            };
            format!(
                "ErrorResponse {} {} {}",
                get('S'),
                get('C'),
                if get('P').is_empty() { String::new() } else { format!("at {}", get('P')) }
            )
        }
        other => format!("{}", other as char),
    }
}

/// The fields of an ErrorResponse, by code.
fn error_field(message: &Message, field: u8) -> Option<String> {
    assert_eq!(message.0, b'E', "an ErrorResponse");
    cstrings(&message.1).into_iter().find(|f| f.as_bytes()[0] == field).map(|f| f[1..].to_string())
}

async fn ready(addr: SocketAddr, user: &str) -> Client {
    let mut client = Client::connect(addr).await;
    assert_eq!(client.ssl_request().await, b'N');
    client.startup(user).await;
    let messages = client.until_ready().await;
    assert_eq!(messages.last().unwrap(), &(b'Z', vec![b'I']));
    client
}

// ANCHOR: byte_by_byte
#[tokio::test]
async fn a_session_byte_by_byte() {
    let server = start(Config::default()).await;
    let mut client = ready(server.addr, "alice").await;
    client.query("CREATE TABLE books (id INTEGER PRIMARY KEY, title TEXT); INSERT INTO books VALUES (1, 'Dune'), (2, NULL)").await;
    client.until_ready().await;
    client.query("SELECT id, title FROM books").await;
    let messages = client.until_ready().await;
    let kinds: Vec<u8> = messages.iter().map(|m| m.0).collect();
    assert_eq!(kinds, b"TDDCZ");
    client.query("BEGIN; SELECT nosuch FROM books").await;
    let messages = client.until_ready().await;
    let error = &messages[1];
    assert_eq!(error_field(error, b'C').as_deref(), Some("42703"));
    assert_eq!(error_field(error, b'P').as_deref(), Some("15"), "the 15th character, from 1");
    assert_eq!(messages.last().unwrap(), &(b'Z', vec![b'E']), "a failed transaction");
    client.query("ROLLBACK").await;
    assert_eq!(client.until_ready().await.last().unwrap(), &(b'Z', vec![b'I']));
    client.query(" ; ").await;
    assert_eq!(client.until_ready().await[0].0, b'I', "EmptyQueryResponse");
    client.send(b'X', b"", "Terminate").await;
    assert!(client.read().await.is_none(), "the server closes after Terminate");
    insta::assert_snapshot!(client.log);
    server.stop().await;
}
// ANCHOR_END: byte_by_byte

#[tokio::test]
async fn startup_parameters_and_the_extended_protocol_refused() {
    let server = start(Config::default()).await;
    let mut client = Client::connect(server.addr).await;
    client.startup("bob").await; // no SSLRequest first: also fine
    let messages = client.until_ready().await;
    let parameters: Vec<String> =
        messages.iter().filter(|m| m.0 == b'S').map(|m| cstrings(&m.1).join("=")).collect();
    for expected in [
        "server_version=15.0",
        "client_encoding=UTF8",
        "DateStyle=ISO, MDY",
        "integer_datetimes=on",
        "standard_conforming_strings=on",
    ] {
        assert!(parameters.iter().any(|p| p == expected), "{expected} in {parameters:?}");
    }
    assert!(messages.iter().any(|m| m.0 == b'K'), "BackendKeyData");
    // Parse, Bind, Execute: one error, the rest skipped until Sync.
    client.send(b'P', b"\0SELECT 1\0\0\0", "Parse").await;
    client.send(b'B', b"\0\0\0\0\0\0\0\0", "Bind").await;
    client.send(b'S', b"", "Sync").await;
    let messages = client.until_ready().await;
    assert_eq!(messages.len(), 2);
    assert_eq!(error_field(&messages[0], b'C').as_deref(), Some("0A000"));
    // The connection still works.
    client.query("SELECT 1 + 1").await;
    let messages = client.until_ready().await;
    assert_eq!(describe(messages[1].0, &messages[1].1), "DataRow 2");
    server.stop().await;
}

#[tokio::test]
async fn passwords_and_the_connection_limit() {
    let server = start(Config { password: Some("secret".into()), max_connections: 1 }).await;
    let mut client = Client::connect(server.addr).await;
    client.startup("carol").await;
    assert_eq!(
        client.read().await.unwrap(),
        (b'R', 3u32.to_be_bytes().to_vec()),
        "send a password"
    );
    client.send(b'p', b"wrong\0", "PasswordMessage").await;
    let refused = client.read().await.unwrap();
    assert_eq!(error_field(&refused, b'C').as_deref(), Some("28P01"));
    assert!(client.read().await.is_none());
    drop(client);
    let mut client = Client::connect(server.addr).await;
    client.startup("carol").await;
    client.read().await.unwrap();
    client.send(b'p', b"secret\0", "PasswordMessage").await;
    assert_eq!(client.until_ready().await.last().unwrap(), &(b'Z', vec![b'I']));
    // A second client, past max_connections, is told so.
    let mut second = Client::connect(server.addr).await;
    let refused = second.read().await.unwrap();
    assert_eq!(error_field(&refused, b'M').as_deref(), Some("sorry, too many clients already"));
    drop(client);
    server.stop().await;
}

#[tokio::test]
async fn hostile_bytes_never_hurt_the_server() {
    let server = start(Config::default()).await;
    let mut rng = Rng::new(6);
    for round in 0..200 {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        let mut bytes: Vec<u8> = (0..rng.below(64)).map(|_| rng.below(256) as u8).collect();
        if round % 2 == 0 {
            // A valid startup, then junk: the query loop's parser gets it.
            let mut startup = 196_608u32.to_be_bytes().to_vec();
            startup.extend_from_slice(b"user\0x\0\0");
            let mut head = ((startup.len() + 4) as u32).to_be_bytes().to_vec();
            head.extend_from_slice(&startup);
            bytes.splice(0..0, head);
        }
        let _ = stream.write_all(&bytes).await;
        let _ = stream.shutdown().await;
        let mut sink = Vec::new();
        let _ =
            tokio::time::timeout(std::time::Duration::from_secs(5), stream.read_to_end(&mut sink))
                .await;
    }
    // Lengths far too big are refused before anything is allocated.
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(&u32::MAX.to_be_bytes()).await.unwrap();
    let mut sink = Vec::new();
    stream.read_to_end(&mut sink).await.unwrap();
    assert_eq!(sink[0], b'E');
    // And a well-behaved client is still served.
    let mut client = ready(server.addr, "dave").await;
    client.query("SELECT 'still here'").await;
    let messages = client.until_ready().await;
    assert_eq!(describe(messages[1].0, &messages[1].1), "DataRow still here");
    server.stop().await;
}

#[tokio::test]
async fn a_shutdown_tells_idle_clients() {
    let server = start(Config::default()).await;
    let mut client = ready(server.addr, "erin").await;
    server.stop().await;
    let last = client.read().await.unwrap();
    assert_eq!(error_field(&last, b'C').as_deref(), Some("57P01"));
}

fn output_text(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

// ANCHOR: psql
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psql_runs_commands_and_scripts() {
    let Some(psql) = tools::tool("psql", &["--version"]) else { return };
    let server = start(Config::default()).await;
    let port = server.addr.port().to_string();
    let connect = [
        "-h",
        "127.0.0.1",
        "-p",
        &port,
        "-U",
        "student",
        "-d",
        "shop",
        "-X",
        "-v",
        "ON_ERROR_STOP=0",
    ];
    let args =
        |more: &[&str]| connect.iter().chain(more).map(ToString::to_string).collect::<Vec<_>>();
    let output = tools::run(
        &psql,
        args(&[
            "-c",
            "CREATE TABLE books (id INTEGER PRIMARY KEY, title TEXT, price FLOAT)",
            "-c",
            "INSERT INTO books VALUES (1, 'Dune', 9.99), (2, 'Emma', NULL)",
        ]),
        "",
    )
    .await;
    assert_eq!(output_text(&output), "CREATE TABLE\nINSERT 0 2\n");
    let script = "SELECT * FROM books ORDER BY id;\nBEGIN;\nUPDATE books SET price = 5 WHERE id = 2;\nSELECT count(*) AS priced FROM books WHERE price IS NOT NULL;\nCOMMIT;\n";
    let output = tools::run(&psql, args(&[]), script).await;
    insta::assert_snapshot!(output_text(&output));
    server.stop().await;
}
// ANCHOR_END: psql

const PSYCOPG2: &str = r#"
# ANCHOR: psycopg2_code
import sys, psycopg2, psycopg2.errors
conn = psycopg2.connect(host="127.0.0.1", port=int(sys.argv[1]), user="student", dbname="shop")
cur = conn.cursor()  # psycopg2 opens a transaction (BEGIN) before the first statement
cur.execute("CREATE TABLE books (id INTEGER PRIMARY KEY, title TEXT, price FLOAT, sold BOOLEAN)")
cur.execute("INSERT INTO books VALUES (%s, %s, %s, %s), (%s, %s, %s, %s)",
            (1, "Dune", 9.99, True, 2, "It's", None, False))
conn.commit()
cur.execute("SELECT id, title, price, sold FROM books ORDER BY id")
assert cur.fetchall() == [(1, "Dune", 9.99, True), (2, "It's", None, False)], cur.fetchall()
assert [d[0] for d in cur.description] == ["id", "title", "price", "sold"]
try:
    cur.execute("INSERT INTO books VALUES (1, 'again', 1, true)")
    raise AssertionError("a duplicate key was accepted")
except psycopg2.errors.UniqueViolation as e:
    assert e.pgcode == "23505"
conn.rollback()
cur.execute("SELECT count(*) FROM books")
assert cur.fetchone() == (2,)
assert conn.server_version == 150000
print("psycopg2", psycopg2.__version__.split()[0], "ok")
# ANCHOR_END: psycopg2_code
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psycopg2_queries_with_parameters_types_and_errors() {
    let python = tools::venv_python();
    let python = python.to_string_lossy();
    let Some(python) = tools::tool(&python, &["-c", "import psycopg2"]) else { return };
    let server = start(Config::default()).await;
    let args = vec!["-c".into(), PSYCOPG2.into(), server.addr.port().to_string()];
    let output = tools::run(&python, args, "").await;
    assert!(output_text(&output).contains(" ok"), "{}", output_text(&output));
    server.stop().await;
}
