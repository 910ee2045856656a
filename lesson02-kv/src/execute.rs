//! Running a parsed [`Command`] against the [`Store`], producing a [`Reply`].
//!
//! Everything that can fail for syntax reasons already failed in the
//! parser; what remains are errors that depend on the data, such as INCR on
//! a value that is not an integer.

use crate::clock::Clock;
use crate::command::{Command, CommandSpec, TimeUnit, all_commands};
use crate::error::Error;
use crate::expiry::Ttl;
use crate::reply::Reply;
use crate::store::{SetTtl, Store};
use crate::zset::commands as zset;
use crate::{glob, hash, keyspace, list, set, strings};

// ANCHOR: execute
/// Executes one command.
pub fn execute<C: Clock>(store: &mut Store<C>, command: Command) -> Reply {
    match command {
        Command::Get { key } => match store.get(&key) {
            Ok(value) => value.map_or(Reply::Nil, Reply::Bulk),
            Err(e) => Reply::error(&e),
        },
        Command::Set { key, value, condition, ttl } => {
            // A deadline must fit in a timestamp, as for EXPIRE.
            if let SetTtl::ExpireInMs(ms) = ttl {
                let at_ms = store.clock().now_ms().checked_add(ms);
                if at_ms.is_none_or(|at| at >= i64::MAX as u64) {
                    return Reply::error(&Error::InvalidExpireTime("set".into()));
                }
            }
            if store.set(key, value, condition, ttl) { Reply::ok() } else { Reply::Nil }
        }
        Command::Del { keys } => count(keys.iter().filter(|k| store.remove(k))),
        Command::Exists { keys } => count(keys.iter().filter(|k| store.contains(k))),
        Command::IncrBy { key, delta } => match store.incr_by(&key, delta) {
            Ok(n) => Reply::Integer(n),
            Err(e) => Reply::error(&e),
        },
        Command::Expire { key, amount, unit } => {
            let (ms, name) = match unit {
                TimeUnit::Seconds => (amount.checked_mul(1000), "expire"),
                TimeUnit::Millis => (Some(amount), "pexpire"),
            };
            match ms.and_then(|ms| store.expire_in(&key, ms)) {
                Some(existed) => Reply::Integer(existed.into()),
                None => Reply::error(&Error::InvalidExpireTime(name.into())),
            }
        }
        Command::Ttl { key, unit } => Reply::Integer(match store.ttl(&key) {
            Ttl::Missing => -2,
            Ttl::Persistent => -1,
            // TTL rounds to the nearest second, as Redis does.
            Ttl::ExpiresInMs(ms) => match unit {
                TimeUnit::Seconds => (ms / 1000 + u64::from(ms % 1000 >= 500)) as i64,
                TimeUnit::Millis => ms as i64,
            },
        }),
        Command::Persist { key } => Reply::Integer(store.persist(&key).into()),
        Command::Keys { pattern } => {
            let mut keys: Vec<Vec<u8>> =
                store.keys().into_iter().filter(|k| glob::matches(&pattern, k)).collect();
            // Redis lists keys in hash-table order; we sort, so that the
            // output is the same on every run.
            keys.sort_unstable();
            Reply::Array(keys.into_iter().map(Reply::Bulk).collect())
        }
        Command::DbSize => Reply::Integer(store.len() as i64),
        Command::FlushAll => {
            store.clear();
            Reply::ok()
        }
        Command::Ping { message: None } => Reply::Simple("PONG".into()),
        Command::Ping { message: Some(message) } | Command::Echo { message } => {
            Reply::Bulk(message)
        }
        Command::Help { command } => help(all_commands(), command.as_deref()),
        Command::Quit => Reply::ok(),
        typed => execute_typed(store, typed),
    }
}
// ANCHOR_END: execute

// ANCHOR: execute_typed
/// Executes a command of the data-type modules. Each module's `execute`
/// returns a `Result`, so that `?` carries a `WRONGTYPE` (or any other
/// error) straight to the reply.
fn execute_typed<C: Clock>(store: &mut Store<C>, command: Command) -> Reply {
    let result = match command {
        Command::Strings(c) => strings::execute(store, c),
        Command::Keyspace(c) => keyspace::execute(store, c),
        Command::Lists(c) => list::execute(store, c),
        Command::Hashes(c) => hash::execute(store, c),
        Command::Sets(c) => set::execute(store, c),
        Command::SortedSets(c) => zset::execute(store, c),
        other => unreachable!("{other:?} is not a typed command"),
    };
    result.unwrap_or_else(|e| Reply::error(&e))
}
// ANCHOR_END: execute_typed

fn count<T>(items: impl Iterator<Item = T>) -> Reply {
    Reply::Integer(items.count() as i64)
}

/// HELP's reply in a language of `specs`: a line for every command, or for
/// the one named, or an error if there is no such command.
pub fn help<'a>(specs: impl IntoIterator<Item = &'a CommandSpec>, command: Option<&[u8]>) -> Reply {
    let mut specs = specs.into_iter();
    match command {
        None => Reply::Array(specs.map(help_line).collect()),
        Some(name) => match specs.find(|s| s.name.as_bytes().eq_ignore_ascii_case(name)) {
            Some(spec) => help_line(spec),
            None => {
                Reply::error(&Error::UnknownCommand(String::from_utf8_lossy(name).into_owned()))
            }
        },
    }
}

/// One line of HELP: the command's syntax and summary.
pub fn help_line(spec: &CommandSpec) -> Reply {
    let usage = if spec.args.is_empty() {
        spec.name.to_string()
    } else {
        format!("{} {}", spec.name, spec.args)
    };
    Reply::Simple(format!("{usage} — {}", spec.summary))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::command::parse;
    use crate::tokenizer::tokenize;

    fn run(store: &mut Store<ManualClock>, line: &str) -> Reply {
        execute(store, parse(tokenize(line.as_bytes()).unwrap()).unwrap())
    }

    #[test]
    fn ttl_rounds_to_the_nearest_second() {
        let clock = ManualClock::default();
        let mut s = Store::with_clock(clock.clone());
        run(&mut s, "SET k v PX 10000");
        // Remaining ms → TTL: 10000 → 10, 9500 → 10, 9499 → 9, 501 → 1, 500 → 1, 499 → 0.
        for (advance, want) in [(0, 10), (500, 10), (1, 9), (8998, 1), (1, 1), (1, 0)] {
            clock.advance(advance);
            assert_eq!(run(&mut s, "TTL k"), Reply::Integer(want), "after +{advance} ms");
        }
    }

    #[test]
    fn expire_overflowing_seconds_names_the_command() {
        let mut s = Store::with_clock(ManualClock::default());
        run(&mut s, "SET k v");
        let reply = run(&mut s, "EXPIRE k 9223372036854775807");
        assert_eq!(reply, Reply::Error("ERR invalid expire time in 'expire' command".into()));
    }

    #[test]
    fn set_with_a_deadline_past_the_timestamp_range_is_refused() {
        let mut s = Store::with_clock(ManualClock::default());
        let reply = run(&mut s, "SET k v PX 9223372036854775807");
        assert_eq!(reply, Reply::Error("ERR invalid expire time in 'set' command".into()));
        assert_eq!(run(&mut s, "EXISTS k"), Reply::Integer(0));
        run(&mut s, "SET k v PX 9000000000000000000");
        assert!(matches!(run(&mut s, "TTL k"), Reply::Integer(n) if n > 0));
    }

    #[test]
    fn del_and_exists_count_each_argument() {
        let mut s = Store::with_clock(ManualClock::default());
        run(&mut s, "SET a 1");
        run(&mut s, "SET b 2");
        assert_eq!(run(&mut s, "EXISTS a a b c"), Reply::Integer(3));
        assert_eq!(run(&mut s, "DEL a a c"), Reply::Integer(1));
    }
}
