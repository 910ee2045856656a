//! The PostgreSQL wire protocol (version 3, the simple query flow), so that
//! `psql`, psycopg2 and every other PostgreSQL client can talk to the
//! engine.
//!
//! ```text
//!   client                                   server
//!   SSLRequest                      ──►
//!                                   ◄──      N              (no TLS here)
//!   StartupMessage user=… database=… ──►
//!                                   ◄──      AuthenticationOk
//!                                   ◄──      ParameterStatus server_version=15.0, …
//!                                   ◄──      BackendKeyData
//!                                   ◄──      ReadyForQuery I
//!   Query "SELECT …"                ──►
//!                                   ◄──      RowDescription, DataRow…, CommandComplete
//!                                   ◄──      ReadyForQuery I
//!   Terminate                       ──►
//! ```
//!
//! Each connection has a SQL [`Session`], which holds its transaction; the
//! ReadyForQuery after every query tells the client where it stands: `I`
//! idle, `T` in a transaction, `E` in a failed one. A query runs on
//! tokio's blocking threads, since a commit waits for an fsync.

pub mod message;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use lesson04_indexing::btree::PageStore;
use lesson05_replication::server::accept;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use self::message::{Frontend, MAX_MESSAGE, Startup, Writer, parse_frontend, parse_startup};
use crate::mvcc::Db;
use crate::sql::value::DataType;
use crate::sql::{Output, Session, Status};

/// The server's settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// A password every client must send (in clear: there is no TLS
    /// either), or none.
    pub password: Option<String>,
    /// Connections served at once; the next gets PostgreSQL's `sorry, too
    /// many clients already` (its `max_connections` is 100).
    pub max_connections: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self { password: None, max_connections: 100 }
    }
}

/// The version we tell clients we are. psql warns below 9.2; what we speak
/// is a small part of 15.
pub const SERVER_VERSION: &str = "15.0";

/// The longest startup message PostgreSQL accepts.
const MAX_STARTUP: usize = 10_000;

/// Serves `db` to PostgreSQL clients on `listener` until `shutdown`
/// completes; then closes idle connections and waits for busy ones.
pub async fn serve<S: PageStore + Send + 'static>(
    listener: TcpListener,
    db: Db<S>,
    config: Config,
    shutdown: impl Future<Output = ()>,
) -> Result<(), String> {
    let slots = Arc::new(Semaphore::new(config.max_connections));
    let config = Arc::new(config);
    let (stop, stopping) = watch::channel(false);
    let next_id = AtomicU32::new(1);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    // Lesson 5's accept: a failed one pauses, and shutdown ends the loop.
    while let Some(stream) = accept(&listener, &mut shutdown).await {
        let _ = stream.set_nodelay(true);
        let id = next_id.fetch_add(1, Ordering::Relaxed);
        let (db, config, stopping) = (db.clone(), config.clone(), stopping.clone());
        let slot = slots.clone().try_acquire_owned();
        connections.spawn(async move {
            let mut stream = stream;
            let Ok(_slot) = slot else {
                let mut w = Writer::default();
                w.error("FATAL", "53300", "sorry, too many clients already", None);
                let _ = stream.write_all(&w.out).await;
                return;
            };
            let _ = Connection { stream, id }.run(db, &config, stopping).await;
        });
        // Forget the connections that have ended.
        while connections.try_join_next().is_some() {}
    }
    let _ = stop.send(true);
    while connections.join_next().await.is_some() {}
    Ok(())
}

struct Connection {
    stream: TcpStream,
    id: u32,
}

/// Why a connection ends.
enum End {
    /// The client left, or broke the protocol (told so first if it can be).
    Closed,
}

impl From<std::io::Error> for End {
    fn from(_: std::io::Error) -> Self {
        End::Closed
    }
}

impl Connection {
    async fn run<S: PageStore + Send + 'static>(
        mut self,
        db: Db<S>,
        config: &Config,
        stopping: watch::Receiver<bool>,
    ) -> Result<(), End> {
        let Some(parameters) = self.startup().await? else { return Ok(()) };
        let user = parameters
            .iter()
            .find(|(k, _)| k == "user")
            .map_or("", |(_, v)| v.as_str())
            .to_string();
        if let Some(expected) = &config.password {
            let mut w = Writer::default();
            w.ask_password();
            self.stream.write_all(&w.out).await?;
            let (kind, body) = read_message(&mut self.stream).await?;
            if parse_frontend(kind, &body).ok() != Some(Frontend::Password(expected.clone())) {
                let message = format!("password authentication failed for user \"{user}\"");
                return self.fatal("28P01", &message).await;
            }
        }
        let mut w = Writer::default();
        w.authentication_ok();
        for (name, value) in [
            ("server_version", SERVER_VERSION),
            ("server_encoding", "UTF8"),
            ("client_encoding", "UTF8"),
            ("DateStyle", "ISO, MDY"),
            ("integer_datetimes", "on"),
            ("standard_conforming_strings", "on"),
            ("TimeZone", "UTC"),
            ("session_authorization", &user),
        ] {
            w.parameter(name, value);
        }
        w.key_data(self.id, self.id.wrapping_mul(2_654_435_761));
        w.ready(b'I');
        self.stream.write_all(&w.out).await?;
        self.serve_queries(Session::new(db), stopping).await
    }

    /// Reads the startup message, answering encryption requests `N` first;
    /// `None` for a cancel request.
    async fn startup(&mut self) -> Result<Option<Vec<(String, String)>>, End> {
        loop {
            let len = self.stream.read_u32().await? as usize;
            if !(8..=MAX_STARTUP).contains(&len) {
                return self
                    .fatal("08P01", "invalid length of startup packet")
                    .await
                    .map(|()| None);
            }
            let mut body = vec![0; len - 4];
            self.stream.read_exact(&mut body).await?;
            match parse_startup(&body) {
                Ok(Startup::Encryption) => self.stream.write_all(b"N").await?,
                Ok(Startup::Cancel) => return Ok(None),
                Ok(Startup::Start(parameters)) => return Ok(Some(parameters)),
                Err(e) => return self.fatal("08P01", &e).await.map(|()| None),
            }
        }
    }

    /// Sends a FATAL error; the connection then ends.
    async fn fatal(&mut self, code: &str, message: &str) -> Result<(), End> {
        let mut w = Writer::default();
        w.error("FATAL", code, message, None);
        let _ = self.stream.write_all(&w.out).await;
        Ok(())
    }

    // ANCHOR: serve_queries
    async fn serve_queries<S: PageStore + Send + 'static>(
        &mut self,
        session: Session<S>,
        mut stopping: watch::Receiver<bool>,
    ) -> Result<(), End> {
        let mut session = Some(session);
        let mut skipping = false; // after a refused extended-protocol message, until Sync
        loop {
            let (kind, body) = tokio::select! {
                message = read_message(&mut self.stream) => message?,
                _ = stopping.changed() => {
                    return self.fatal("57P01", "terminating connection due to administrator command").await;
                }
            };
            let mut w = Writer::default();
            match parse_frontend(kind, &body) {
                Err(e) => return self.fatal("08P01", &e).await,
                Ok(Frontend::Terminate) => return Ok(()),
                Ok(Frontend::Query(sql)) => {
                    let mut moved = session.take().expect("the session is back between queries");
                    let (moved, results) = tokio::task::spawn_blocking(move || {
                        let results = moved.execute(&sql);
                        (moved, (sql, results))
                    })
                    .await
                    .map_err(|_| End::Closed)?;
                    let (sql, results) = results;
                    if results.is_empty() {
                        w.empty_query();
                    }
                    for result in &results {
                        respond(&mut w, result, &sql);
                    }
                    w.ready(status(&moved));
                    session = Some(moved);
                }
                Ok(Frontend::Sync) => {
                    skipping = false;
                    w.ready(status(session.as_ref().expect("between queries")));
                }
                Ok(Frontend::Other(kind)) => {
                    if !skipping {
                        let message = format!(
                            "only the simple query protocol is supported (got message '{}')",
                            kind.escape_ascii()
                        );
                        w.error("ERROR", "0A000", &message, None);
                        skipping = true;
                    }
                }
                Ok(Frontend::Password(_)) => {
                    return self.fatal("08P01", "unexpected password message").await;
                }
            }
            self.stream.write_all(&w.out).await?;
        }
    }
    // ANCHOR_END: serve_queries
}

// ANCHOR: respond
/// The messages for one statement's result.
fn respond(w: &mut Writer, result: &crate::sql::Result<Output>, sql: &str) {
    match result {
        Ok(Output::Rows { columns, rows }) => {
            // A column's type is its values' type (text if all are NULL).
            let types = (0..columns.len())
                .map(|i| rows.iter().find_map(|r| r[i].data_type()).unwrap_or(DataType::Text));
            let described: Vec<(String, DataType)> = columns.iter().cloned().zip(types).collect();
            w.row_description(&described);
            for row in rows {
                w.data_row(row);
            }
            w.command_complete(&format!("SELECT {}", rows.len()));
        }
        Ok(Output::Tag(tag)) => w.command_complete(tag),
        Err(e) => {
            // PostgreSQL counts the position in characters, from 1.
            let position = e.position.map(|p| sql[..p.min(sql.len())].chars().count() + 1);
            w.error("ERROR", e.code, &e.message, position);
        }
    }
}
// ANCHOR_END: respond

/// Reads one message: its type, and its body.
async fn read_message(stream: &mut TcpStream) -> Result<(u8, Vec<u8>), End> {
    let kind = stream.read_u8().await?;
    let len = stream.read_u32().await? as usize;
    if !(4..=MAX_MESSAGE).contains(&len) {
        let mut w = Writer::default();
        w.error("FATAL", "08P01", &format!("invalid message length {len}"), None);
        let _ = stream.write_all(&w.out).await;
        return Err(End::Closed);
    }
    let mut body = vec![0; len - 4];
    stream.read_exact(&mut body).await?;
    Ok((kind, body))
}

fn status<S: PageStore>(session: &Session<S>) -> u8 {
    match session.status() {
        Status::Idle => b'I',
        Status::InTransaction => b'T',
        Status::Failed => b'E',
    }
}
