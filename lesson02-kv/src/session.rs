//! A session: one line of input in, one reply out, with the store's
//! periodic work done in between. The interactive REPL, the pipe mode and
//! the transcript tests all go through [`Session::handle_line`], so the
//! book's transcripts show exactly what the binary does.

use crate::clock::Clock;
use crate::command::{self, Command};
use crate::execute::execute;
use crate::reply::Reply;
use crate::store::Store;
use crate::tokenizer::tokenize;

/// The longest line a session accepts. Longer input gets an error instead
/// of being parsed, so a runaway paste cannot make the store allocate
/// without bound. (Redis's limit for one argument is 512 MB; ours is for a
/// terminal.)
pub const MAX_LINE_BYTES: usize = 1 << 20;

// ANCHOR: session
/// The first steps of handling a line, in every lesson's session: refuse an
/// oversized line, tokenize, and `parse` the arguments into a command of
/// the lesson's language. `Ok(None)` for a blank line; `Err` holds the error
/// reply for bad input.
pub fn parse_line<C>(
    line: &[u8],
    parse: impl FnOnce(Vec<Vec<u8>>) -> crate::error::Result<C>,
) -> Result<Option<C>, Reply> {
    if line.len() > MAX_LINE_BYTES {
        return Err(Reply::Error(format!("ERR line longer than {MAX_LINE_BYTES} bytes")));
    }
    match tokenize(line) {
        Ok(args) if args.is_empty() => Ok(None),
        Ok(args) => parse(args).map(Some).map_err(|e| Reply::error(&e)),
        Err(e) => Err(Reply::error(&e)),
    }
}

/// A conversation with one store.
pub struct Session<C: Clock> {
    store: Store<C>,
    closed: bool,
}

impl<C: Clock> Session<C> {
    /// A session on `store`.
    pub fn new(store: Store<C>) -> Self {
        Self { store, closed: false }
    }

    /// Handles one line of input. Returns `None` for a blank line, else the
    /// reply, which is an error reply for any bad input.
    pub fn handle_line(&mut self, line: &[u8]) -> Option<Reply> {
        let command = match parse_line(line, command::parse) {
            Ok(Some(command)) => command,
            Ok(None) => return None,
            Err(reply) => return Some(reply),
        };
        // The periodic active-expiry cycle runs between commands, as it
        // runs between events in Redis's event loop.
        self.store.tick();
        if command == Command::Quit {
            self.closed = true;
        }
        Some(execute(&mut self.store, command))
    }
}
// ANCHOR_END: session

impl<C: Clock> Session<C> {
    /// Whether QUIT ended the session.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// The store, for tests and for lessons that build on this one.
    pub fn store(&mut self) -> &mut Store<C> {
        &mut self.store
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    #[test]
    fn blank_lines_have_no_reply_and_errors_do_not_end_the_session() {
        let mut s = Session::new(Store::with_clock(ManualClock::default()));
        assert_eq!(s.handle_line(b"   "), None);
        assert!(matches!(s.handle_line(b"NOPE"), Some(Reply::Error(_))));
        assert!(matches!(s.handle_line(b"GET \"open"), Some(Reply::Error(_))));
        assert_eq!(s.handle_line(b"PING"), Some(Reply::Simple("PONG".into())));
        assert!(!s.is_closed());
        assert_eq!(s.handle_line(b"quit"), Some(Reply::ok()));
        assert!(s.is_closed());
    }

    #[test]
    fn an_oversized_line_is_refused_without_parsing() {
        let mut s = Session::new(Store::with_clock(ManualClock::default()));
        let mut line = b"SET k ".to_vec();
        line.resize(MAX_LINE_BYTES + 1, b'x');
        assert!(matches!(s.handle_line(&line), Some(Reply::Error(e)) if e.contains("longer than")));
        assert_eq!(s.store().len(), 0);
    }

    #[test]
    fn a_key_that_dies_between_cycles_is_removed_lazily() {
        // The scenario of the expiry transcript's "flash" key.
        let clock = ManualClock::default();
        let mut s = Session::new(Store::with_clock(clock.clone()));
        clock.advance(100);
        s.handle_line(b"SET flash x PX 50"); // a cycle runs just before this SET
        clock.advance(50);
        assert_eq!(s.handle_line(b"GET flash"), Some(Reply::Nil));
        let stats = s.store().expiry_stats();
        assert_eq!((stats.lazy, stats.active), (1, 0));
    }

    #[test]
    fn the_active_cycle_runs_between_commands() {
        let clock = ManualClock::default();
        let mut s = Session::new(Store::with_clock(clock.clone()));
        s.handle_line(b"SET k v PX 50");
        clock.advance(100);
        s.handle_line(b"PING");
        assert_eq!(s.store().expiry_stats().active, 1, "PING's tick removed the expired key");
    }
}
