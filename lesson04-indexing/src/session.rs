//! A session on either engine: lesson 2's REPL drives it unchanged, through
//! [`LineHandler`].
//!
//! Lesson 2's commands become calls of the [`KvStore`] trait, so they work
//! the same on both engines: `SET` is `set`, `KEYS` is a full `scan` and a
//! glob filter, `INCR` is a `get`, an addition and a `set`. Time to live is
//! not part of the trait, so `EX`, `PX`, `EXPIRE`, `TTL` and `PERSIST` get
//! an error that names the engine (lesson 2's store has them).
//!
//! Every write returns only once it is durable: the B+tree commits each
//! command (two fsyncs), Bitcask fsyncs each append. So whatever the REPL
//! acknowledged survives a `kill -9`.

use lesson01_intro::{KeyRange, KvStore};
use lesson02_kv::command::TimeUnit;
use lesson02_kv::error::Error as CommandError;
use lesson02_kv::execute::help;
use lesson02_kv::repl::LineHandler;
use lesson02_kv::session::parse_line;
use lesson02_kv::store::{SetCondition, SetTtl};
use lesson02_kv::{Reply, glob, integer};

use crate::commands::{self, Command};
use crate::error::Result;

// ANCHOR: engine
/// What the session needs of an engine beyond [`KvStore`]: its name, its
/// statistics and views, and its maintenance.
pub trait Engine: KvStore<Error = crate::Error> {
    /// `bitcask` or `btree`, for messages.
    fn name(&self) -> &'static str;
    /// `INFO`: named statistics.
    fn info(&mut self) -> Result<Vec<(String, String)>>;
    /// `DEBUG KEYDIR` / `DEBUG TREE`: the index drawn as text, or `None` if
    /// this engine has no such view.
    fn debug_view(&mut self, view: &[u8]) -> Option<Result<String>>;
    /// `MERGE`: a summary of what it did, or `None` if the engine has no
    /// merge.
    fn merge(&mut self) -> Option<Result<String>>;
    /// `FLUSHALL`: delete every key. One delete at a time unless the engine
    /// can do better.
    fn clear(&mut self) -> Result<()> {
        for (key, _) in self.scan(KeyRange::all())? {
            self.delete(&key)?;
        }
        Ok(())
    }
}
// ANCHOR_END: engine

/// A conversation with one engine.
pub struct Session<E: Engine> {
    engine: E,
    closed: bool,
}

fn engine_error(e: crate::Error) -> Reply {
    Reply::Error(format!("ERR {e}"))
}

fn unsupported(engine: &str, what: &str) -> Reply {
    Reply::Error(format!("ERR the {engine} engine does not support {what}"))
}

impl<E: Engine> Session<E> {
    /// A session on `engine`.
    pub fn new(engine: E) -> Self {
        Self { engine, closed: false }
    }

    /// The engine.
    pub fn engine(&mut self) -> &mut E {
        &mut self.engine
    }

    /// Ends the session and gives the engine back (lesson 6 runs each
    /// command on a transaction this way, then commits it).
    pub fn into_engine(self) -> E {
        self.engine
    }

    /// Executes one command; returns once its changes are durable. An
    /// engine error (I/O, corruption) becomes an `ERR` reply. Lesson 5's
    /// server serves the engines through this.
    pub fn execute(&mut self, command: Command) -> Reply {
        self.try_execute(command).unwrap_or_else(engine_error)
    }

    fn try_execute(&mut self, command: Command) -> Result<Reply> {
        Ok(match command {
            Command::Scan { start, end } => {
                let end = if end.is_empty() {
                    std::ops::Bound::Unbounded
                } else {
                    std::ops::Bound::Excluded(end)
                };
                let range = KeyRange { start: std::ops::Bound::Included(start), end };
                let pairs = self.engine.scan(range)?;
                Reply::Array(
                    pairs.into_iter().flat_map(|(k, v)| [Reply::Bulk(k), Reply::Bulk(v)]).collect(),
                )
            }
            Command::Merge => match self.engine.merge() {
                Some(summary) => Reply::Simple(summary?),
                None => unsupported(self.engine.name(), "MERGE"),
            },
            Command::Info => Reply::Array(
                self.engine
                    .info()?
                    .into_iter()
                    .map(|(name, value)| Reply::Simple(format!("{name}: {value}")))
                    .collect(),
            ),
            Command::Debug(view) => match self.engine.debug_view(&view) {
                // One line of text per reply line, as redis-cli prints DEBUG output.
                Some(text) => {
                    Reply::Array(text?.lines().map(|l| Reply::Simple(l.to_string())).collect())
                }
                None => Reply::Error(format!(
                    "ERR the {} engine has no DEBUG {} view (try DEBUG {})",
                    self.engine.name(),
                    String::from_utf8_lossy(&view),
                    if self.engine.name() == "bitcask" { "KEYDIR" } else { "TREE" }
                )),
            },
            Command::Help(command) => help(commands::all_specs(), command.as_deref()),
            Command::Kv(command) => self.execute_kv(command)?,
        })
    }

    // ANCHOR: execute_kv
    /// Lesson 2's commands, as calls of the [`KvStore`] trait.
    fn execute_kv(&mut self, command: lesson02_kv::Command) -> Result<Reply> {
        use lesson02_kv::Command as Kv;
        let name = self.engine.name();
        let store = &mut self.engine;
        Ok(match command {
            Kv::Get { key } => store.get(&key)?.map_or(Reply::Nil, Reply::Bulk),
            Kv::Set { ttl: SetTtl::ExpireInMs(_) | SetTtl::Keep, .. } => {
                unsupported(name, "TTLs (EX, PX, KEEPTTL)")
            }
            Kv::Set { key, value, condition, ttl: SetTtl::Clear } => {
                if let Some(condition) = condition {
                    let exists = store.get(&key)?.is_some();
                    if exists != (condition == SetCondition::IfPresent) {
                        return Ok(Reply::Nil);
                    }
                }
                store.set(key, value)?;
                Reply::ok()
            }
            Kv::Del { keys } => {
                let mut deleted = 0;
                for key in keys {
                    deleted += i64::from(store.delete(&key)?);
                }
                Reply::Integer(deleted)
            }
            Kv::Exists { keys } => {
                let mut found = 0;
                for key in keys {
                    found += i64::from(store.get(&key)?.is_some());
                }
                Reply::Integer(found)
            }
            Kv::IncrBy { key, delta } => {
                let old = match store.get(&key)? {
                    None => 0,
                    Some(value) => match integer::parse(&value) {
                        Some(n) => n,
                        None => return Ok(Reply::error(&CommandError::NotAnInteger)),
                    },
                };
                match old.checked_add(delta) {
                    Some(new) => {
                        store.set(key, new.to_string().into_bytes())?;
                        Reply::Integer(new)
                    }
                    None => Reply::error(&CommandError::Overflow),
                }
            }
            Kv::Expire { unit: TimeUnit::Seconds, .. } => unsupported(name, "EXPIRE"),
            Kv::Expire { .. } => unsupported(name, "PEXPIRE"),
            Kv::Ttl { unit: TimeUnit::Seconds, .. } => unsupported(name, "TTL"),
            Kv::Ttl { .. } => unsupported(name, "PTTL"),
            Kv::Persist { .. } => unsupported(name, "PERSIST"),
            Kv::Keys { pattern } => {
                let keys = store.scan(KeyRange::all())?;
                Reply::Array(
                    keys.into_iter()
                        .filter(|(k, _)| glob::matches(&pattern, k))
                        .map(|(k, _)| Reply::Bulk(k))
                        .collect(),
                )
            }
            Kv::DbSize => Reply::Integer(store.len()? as i64),
            Kv::FlushAll => {
                store.clear()?;
                Reply::ok()
            }
            Kv::Ping { message: None } => Reply::Simple("PONG".into()),
            Kv::Ping { message: Some(message) } | Kv::Echo { message } => Reply::Bulk(message),
            Kv::Help { command } => return self.try_execute(Command::Help(command)),
            Kv::Quit => {
                self.closed = true;
                Reply::ok()
            }
            // The parser refuses these; a caller that builds one gets this.
            _ => unsupported(name, "Redis's data types beyond strings (lesson 2's store has them)"),
        })
    }
    // ANCHOR_END: execute_kv
}

impl<E: Engine> LineHandler for Session<E> {
    fn handle_line(&mut self, line: &[u8]) -> Option<Reply> {
        let command = match parse_line(line, commands::parse) {
            Ok(Some(command)) => command,
            Ok(None) => return None,
            Err(reply) => return Some(reply),
        };
        Some(self.execute(command))
    }

    fn is_closed(&self) -> bool {
        self.closed
    }
}
