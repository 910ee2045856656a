//! A session: one client's conversation with the store, in a transaction
//! or not.
//!
//! Every command runs in a transaction. Outside `BEGIN` or `MULTI` it is a
//! transaction of its own, committed as soon as it has run (autocommit, as
//! in PostgreSQL); a command that fails changes nothing. Lesson 4's session
//! runs the command itself: a [`Transaction`] is a [`KvStore`], so `GET`,
//! `SET`, `INCR`, `SCAN` and the rest work on it unchanged.
//!
//! Two ways to group commands:
//!
//! - **SQL's**: `BEGIN`, then commands that run at once and see the
//!   transaction's snapshot and its own writes, then `COMMIT` (which may
//!   fail with `ERR serialization failure, retry`) or `ROLLBACK`.
//! - **Redis's**: `MULTI`, then commands that are only queued (`QUEUED`),
//!   then `EXEC`, which runs them all in one transaction and replies with
//!   all their replies. `WATCH key` before `MULTI` makes `EXEC` answer a
//!   null array, and run nothing, if the key changed since: optimistic
//!   concurrency control, done by the client. It maps onto the
//!   transaction's [`watch`](Transaction::watch), checked at commit.
//!
//! [`KvStore`]: lesson01_intro::KvStore

use lesson02_kv::Reply;
use lesson02_kv::execute::help;
use lesson02_kv::repl::LineHandler;
use lesson02_kv::session::parse_line;
use lesson04_indexing::btree::PageStore;
use lesson04_indexing::commands::Command as Indexed;

use crate::cache::Counters;
use crate::commands::{self, Command};
use crate::mvcc::{Db, Error, Isolation, Transaction};

/// How many times a command outside a transaction is retried after a
/// conflict (only possible when other threads use the store directly).
const AUTOCOMMIT_RETRIES: usize = 10;

/// Keys a client watches, each with the commit it was watched at, and a
/// read-only transaction that holds the GC horizon back meanwhile: were a
/// watched key deleted, its tombstone must stay until `EXEC` has seen it.
struct Watching<S: PageStore> {
    keys: Vec<(Vec<u8>, u64)>,
    _horizon: Transaction<S>,
}

/// One client's state.
pub struct Session<S: PageStore + Counters> {
    db: Db<S>,
    /// The transaction `BEGIN` started.
    transaction: Option<Transaction<S>>,
    /// The commands queued since `MULTI`, and whether one was refused.
    queue: Option<(Vec<Indexed>, bool)>,
    /// `WATCH`ed keys, if any.
    watching: Option<Watching<S>>,
    closed: bool,
}

fn error(e: &Error) -> Reply {
    Reply::Error(format!("ERR {e}"))
}

impl<S: PageStore + Counters> Session<S> {
    /// A session on `db`.
    pub fn new(db: Db<S>) -> Self {
        Self { db, transaction: None, queue: None, watching: None, closed: false }
    }

    /// Parses and runs one command.
    pub fn execute(&mut self, args: Vec<Vec<u8>>) -> Reply {
        match commands::parse(args) {
            Ok(command) => self.run(command),
            Err(e) => self.refuse(Reply::error(&e)),
        }
    }

    /// A command that does not parse: inside `MULTI`, `EXEC` will then
    /// refuse the whole queue, as Redis's does.
    fn refuse(&mut self, reply: Reply) -> Reply {
        if let Some((_, refused)) = &mut self.queue {
            *refused = true;
        }
        reply
    }

    /// Whether a `BEGIN` or `MULTI` is open: what psql's prompt shows.
    pub fn in_transaction(&self) -> bool {
        self.transaction.is_some() || self.queue.is_some()
    }

    // ANCHOR: run
    /// Runs one command.
    pub fn run(&mut self, command: Command) -> Reply {
        if let Some((queue, _)) = &mut self.queue {
            match command {
                Command::Exec
                | Command::Discard
                | Command::Multi
                | Command::Watch(_)
                | Command::Quit => {}
                Command::Indexed(command) => {
                    queue.push(command);
                    return Reply::Simple("QUEUED".into());
                }
                _ => {
                    let refused = "ERR only data commands can be queued by MULTI";
                    return self.refuse(Reply::Error(refused.into()));
                }
            }
        }
        match command {
            Command::Begin(isolation) => self.begin(isolation),
            Command::Commit => match self.transaction.take() {
                None => Reply::Error("ERR no transaction in progress".into()),
                Some(transaction) => match transaction.commit() {
                    Ok(_) => Reply::ok(),
                    Err(e) => error(&e),
                },
            },
            Command::Rollback => match self.transaction.take() {
                None => Reply::Error("ERR no transaction in progress".into()),
                Some(transaction) => {
                    transaction.rollback();
                    Reply::ok()
                }
            },
            Command::Multi => self.multi(),
            Command::Exec => self.exec(),
            Command::Discard => match self.queue.take() {
                None => Reply::Error("ERR DISCARD without MULTI".into()),
                Some(_) => {
                    self.watching = None;
                    Reply::ok()
                }
            },
            Command::Watch(keys) => self.watch(keys),
            Command::Unwatch => {
                self.watching = None;
                Reply::ok()
            }
            Command::Vacuum => match self.db.vacuum() {
                Ok(n) => Reply::Simple(format!("vacuumed {n} versions")),
                Err(e) => error(&e),
            },
            Command::Help(command) => help(commands::all_specs(), command.as_deref()),
            Command::Quit => {
                self.closed = true;
                Reply::ok()
            }
            Command::Indexed(lesson04_indexing::commands::Command::Info) => self.info(),
            Command::Indexed(command) => match self.transaction.take() {
                Some(transaction) => {
                    let (transaction, reply) = run_in(transaction, command);
                    self.transaction = Some(transaction);
                    reply
                }
                None => self.autocommit(command),
            },
        }
    }
    // ANCHOR_END: run

    fn begin(&mut self, isolation: Isolation) -> Reply {
        if self.transaction.is_some() {
            return Reply::Error("ERR there is already a transaction in progress".into());
        }
        let mut transaction = self.db.begin(isolation);
        // Keys watched before BEGIN guard its COMMIT, as they would an EXEC.
        let watching = self.watching.take();
        watch_in(&mut transaction, watching.as_ref());
        self.transaction = Some(transaction);
        Reply::Simple("BEGIN".into())
    }

    /// One command as a transaction of its own.
    fn autocommit(&mut self, command: Indexed) -> Reply {
        for _ in 0..AUTOCOMMIT_RETRIES {
            let (transaction, reply) = run_in(self.db.begin(Isolation::Snapshot), command.clone());
            if let Reply::Error(_) = reply {
                return reply; // dropped: rolled back, nothing changed
            }
            match transaction.commit() {
                Ok(_) => return reply,
                Err(Error::Serialization) => continue,
                Err(e) => return error(&e),
            }
        }
        error(&Error::Serialization)
    }

    fn multi(&mut self) -> Reply {
        if self.queue.is_some() {
            return Reply::Error("ERR MULTI calls can not be nested".into());
        }
        if self.transaction.is_some() {
            return Reply::Error("ERR MULTI inside BEGIN: COMMIT or ROLLBACK first".into());
        }
        self.queue = Some((Vec::new(), false));
        Reply::ok()
    }

    fn watch(&mut self, keys: Vec<Vec<u8>>) -> Reply {
        if self.queue.is_some() {
            return Reply::Error("ERR WATCH inside MULTI is not allowed".into());
        }
        let db = &self.db;
        let watching = self.watching.get_or_insert_with(|| Watching {
            keys: Vec::new(),
            _horizon: db.begin(Isolation::Snapshot),
        });
        let now = db.last_commit();
        watching.keys.extend(keys.into_iter().map(|key| (key, now)));
        Reply::ok()
    }

    // ANCHOR: exec
    /// `EXEC`: the queue as one transaction, committed if no watched key
    /// changed; a null array (and nothing done) if one did.
    fn exec(&mut self) -> Reply {
        let Some((queue, refused)) = self.queue.take() else {
            return Reply::Error("ERR EXEC without MULTI".into());
        };
        let watching = self.watching.take();
        if refused {
            return Reply::Error(
                "EXECABORT Transaction discarded because of previous errors.".into(),
            );
        }
        let mut transaction = self.db.begin(Isolation::Snapshot);
        watch_in(&mut transaction, watching.as_ref());
        let mut replies = Vec::with_capacity(queue.len());
        for command in queue {
            // As in Redis, a command that fails does not stop the others.
            let (next, reply) = run_in(transaction, command);
            transaction = next;
            replies.push(reply);
        }
        match transaction.commit() {
            Ok(_) => Reply::Array(replies),
            Err(Error::Serialization) => Reply::NullArray,
            Err(e) => error(&e),
        }
    }
    // ANCHOR_END: exec

    /// `INFO`: the transactions' counters, and the page cache's.
    fn info(&mut self) -> Reply {
        let lines = info(&self.db);
        Reply::Array(lines.into_iter().map(|(k, v)| Reply::Simple(format!("{k}: {v}"))).collect())
    }
}

/// The store's statistics: versions, transactions, the page cache.
pub fn info<S: PageStore + Counters>(db: &Db<S>) -> Vec<(String, String)> {
    let stats = db.stats();
    let mut out: Vec<(String, String)> = vec![
        ("last_commit".into(), db.last_commit().to_string()),
        ("running_transactions".into(), db.running().to_string()),
        ("gc_horizon".into(), db.horizon().to_string()),
        ("commits".into(), stats.commits.to_string()),
        ("read_only".into(), stats.read_only.to_string()),
        ("conflicts".into(), stats.conflicts.to_string()),
        ("rollbacks".into(), stats.rollbacks.to_string()),
        ("versions_collected".into(), stats.collected.to_string()),
    ];
    match db.versions() {
        Ok((versions, keys)) => {
            out.push(("versions".into(), versions.to_string()));
            out.push(("keys".into(), keys.to_string()));
        }
        Err(e) => out.push(("error".into(), e.to_string())),
    }
    out.extend(db.with_tree(|tree| tree.store().counters()));
    out
}

/// Hands the watched keys to `transaction`, which holds the horizon back
/// for them from then on; the caller drops `watching` only after.
fn watch_in<S: PageStore>(transaction: &mut Transaction<S>, watching: Option<&Watching<S>>) {
    for (key, since) in watching.into_iter().flat_map(|w| &w.keys) {
        transaction.watch(key.clone(), *since);
    }
}

/// Runs one of lesson 4's commands in `transaction`, through lesson 4's
/// session.
fn run_in<S: PageStore>(transaction: Transaction<S>, command: Indexed) -> (Transaction<S>, Reply) {
    let mut session = lesson04_indexing::Session::new(transaction);
    let reply = session.execute(command);
    (session.into_engine(), reply)
}

/// What lesson 4's session needs of a transaction besides [`KvStore`]:
/// [`KvStore`]: lesson01_intro::KvStore
impl<S: PageStore> lesson04_indexing::Engine for Transaction<S> {
    fn name(&self) -> &'static str {
        "mvcc"
    }

    fn info(&mut self) -> lesson04_indexing::Result<Vec<(String, String)>> {
        Ok(vec![("snapshot".into(), self.snapshot().to_string())])
    }

    fn debug_view(&mut self, view: &[u8]) -> Option<lesson04_indexing::Result<String>> {
        (view == b"TREE").then(|| self.db().with_tree(lesson04_indexing::btree::BTree::dump))
    }

    fn merge(&mut self) -> Option<lesson04_indexing::Result<String>> {
        None
    }
}

impl<S: PageStore + Counters> LineHandler for Session<S> {
    fn handle_line(&mut self, line: &[u8]) -> Option<Reply> {
        match parse_line(line, commands::parse) {
            Ok(Some(command)) => Some(self.run(command)),
            Ok(None) => None,
            Err(reply) => Some(self.refuse(reply)),
        }
    }

    fn is_closed(&self) -> bool {
        self.closed
    }
}
