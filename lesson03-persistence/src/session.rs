//! A session on the durable store: lesson 2's line handling, with the
//! persistence commands. The REPL of lesson 2 drives it unchanged, through
//! [`LineHandler`].

use lesson02_kv::execute::help;
use lesson02_kv::repl::LineHandler;
use lesson02_kv::session::parse_line;
use lesson02_kv::{Clock, Reply};

use crate::commands::{self, Command};
use crate::durable::DurableStore;
use crate::fs::FileSystem;

/// A conversation with one durable store.
pub struct Session<F: FileSystem, C: Clock> {
    store: DurableStore<F, C>,
    closed: bool,
}

impl<F: FileSystem, C: Clock> Session<F, C> {
    /// A session on `store`.
    pub fn new(store: DurableStore<F, C>) -> Self {
        Self { store, closed: false }
    }

    /// The store.
    pub fn store(&mut self) -> &mut DurableStore<F, C> {
        &mut self.store
    }

    fn execute(&mut self, command: Command) -> Reply {
        match command {
            Command::Kv(command) => {
                if command == lesson02_kv::Command::Quit {
                    self.closed = true;
                }
                self.store.execute(command)
            }
            other => self.execute_other(other),
        }
    }

    /// Executes `command` but leaves its log records buffered: returns the
    /// reply and the log sequence number the reply must wait for (see
    /// [`DurableStore::execute_unsynced`]). Lesson 5's server uses this to
    /// make one fsync acknowledge many clients' writes. Unlike the REPL, it
    /// runs no active-expiry cycle: the caller calls [`DurableStore::tick`]
    /// on its own schedule.
    pub fn execute_unsynced(&mut self, command: Command) -> (Reply, Option<u64>) {
        match command {
            Command::Kv(command) => self.store.execute_unsynced(command),
            other => (self.execute_other(other), None),
        }
    }

    /// The commands this lesson adds, which write no log records.
    fn execute_other(&mut self, command: Command) -> Reply {
        match command {
            Command::Save => self
                .store
                .save()
                .map_or_else(|e| Reply::Error(format!("ERR {e}")), |()| Reply::ok()),
            Command::Compact => self
                .store
                .compact()
                .map_or_else(|e| Reply::Error(format!("ERR {e}")), |()| Reply::ok()),
            Command::Info => Reply::Array(
                self.store
                    .info()
                    .into_iter()
                    .map(|(name, value)| Reply::Simple(format!("{name}: {value}")))
                    .collect(),
            ),
            Command::Help(command) => help(commands::all_specs(), command.as_deref()),
            Command::Kv(command) => self.store.execute(command),
        }
    }
}

impl<F: FileSystem, C: Clock> LineHandler for Session<F, C> {
    fn handle_line(&mut self, line: &[u8]) -> Option<Reply> {
        let command = match parse_line(line, commands::parse) {
            Ok(Some(command)) => command,
            Ok(None) => return None,
            Err(reply) => return Some(reply),
        };
        self.store.tick();
        Some(self.execute(command))
    }

    fn is_closed(&self) -> bool {
        self.closed
    }
}
