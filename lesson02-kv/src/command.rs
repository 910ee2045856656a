//! The command language: arguments in, a [`Command`] value out.
//!
//! ```text
//!   line ──tokenize──► [b"SET", b"k", b"v", b"EX", b"10"]
//!        ──parse─────► Command::Set { key: b"k", value: b"v", condition: None, ttl: ExpireInMs(10000) }
//!        ──execute───► Reply::Simple("OK")
//!        ──render────► OK
//! ```
//!
//! Parsing checks everything that can be checked without the store: the
//! command exists, the number of arguments, options and integers. A parsed
//! `Command` can then be executed without any syntax left to go wrong.
//! Command names are case-insensitive (`get`, `GET`, `Get`); keys and values
//! are bytes and kept exactly as typed.

use crate::error::{Error, Result};
use crate::hash::{self, HashCommand};
use crate::integer;
use crate::keyspace::{self, KeyCommand};
use crate::list::{self, ListCommand};
use crate::set::{self, SetCommand};
use crate::store::{SetCondition, SetTtl};
use crate::strings::{self, StringCommand};
use crate::zset::commands::{self as zset, SortedSetCommand};

// ANCHOR: command
/// A parsed command, ready to execute. Each variant's doc gives its syntax;
/// the fields are named after the arguments there.
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// `GET key`
    Get { key: Vec<u8> },
    /// `SET key value [NX|XX] [EX seconds|PX milliseconds|KEEPTTL]`
    Set { key: Vec<u8>, value: Vec<u8>, condition: Option<SetCondition>, ttl: SetTtl },
    /// `DEL key [key ...]`
    Del { keys: Vec<Vec<u8>> },
    /// `EXISTS key [key ...]`
    Exists { keys: Vec<Vec<u8>> },
    /// `INCR`, `DECR`, `INCRBY`, `DECRBY`: all add a delta.
    IncrBy { key: Vec<u8>, delta: i64 },
    /// `EXPIRE key seconds`, `PEXPIRE key milliseconds`
    Expire { key: Vec<u8>, amount: i64, unit: TimeUnit },
    /// `TTL key`, `PTTL key`
    Ttl { key: Vec<u8>, unit: TimeUnit },
    /// `PERSIST key`
    Persist { key: Vec<u8> },
    /// `KEYS pattern`
    Keys { pattern: Vec<u8> },
    /// `DBSIZE`
    DbSize,
    /// `FLUSHALL [ASYNC|SYNC]`
    FlushAll,
    /// `PING [message]`
    Ping { message: Option<Vec<u8>> },
    /// `ECHO message`
    Echo { message: Vec<u8> },
    /// `HELP [command]`
    Help { command: Option<Vec<u8>> },
    /// `QUIT`
    Quit,
    /// `MSET`, `MGET`, `APPEND`, `STRLEN`, `GETDEL`, `SETNX`, `GETRANGE`
    Strings(StringCommand),
    /// `TYPE`, `RENAME`, `SCAN`
    Keyspace(KeyCommand),
    /// `LPUSH`, `RPUSH`, `LPOP`, `RPOP`, `LRANGE`, `LLEN`, `LINDEX`
    Lists(ListCommand),
    /// `HSET`, `HGET`, `HDEL`, `HGETALL`, `HLEN`, `HEXISTS`, `HINCRBY`
    Hashes(HashCommand),
    /// `SADD`, `SREM`, `SMEMBERS`, `SISMEMBER`, `SCARD`, `SPOP`, `SINTER`, `SUNION`
    Sets(SetCommand),
    /// `ZADD`, `ZREM`, `ZSCORE`, `ZINCRBY`, `ZCARD`, `ZRANK`, `ZRANGE`, `ZPOPMIN`
    SortedSets(SortedSetCommand),
}
// ANCHOR_END: command

impl Command {
    /// Whether the command may change the store. A store that cannot accept
    /// writes (lesson 3's, after a failed fsync) refuses exactly these.
    pub fn is_write(&self) -> bool {
        match self {
            Command::Strings(c) => c.is_write(),
            Command::Keyspace(c) => c.is_write(),
            Command::Lists(c) => c.is_write(),
            Command::Hashes(c) => c.is_write(),
            Command::Sets(c) => c.is_write(),
            Command::SortedSets(c) => c.is_write(),
            _ => matches!(
                self,
                Command::Set { .. }
                    | Command::Del { .. }
                    | Command::IncrBy { .. }
                    | Command::Expire { .. }
                    | Command::Persist { .. }
                    | Command::FlushAll
            ),
        }
    }
}

/// Seconds or milliseconds, for the EXPIRE/PEXPIRE and TTL/PTTL pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeUnit {
    /// EXPIRE, TTL, `SET … EX`.
    Seconds,
    /// PEXPIRE, PTTL, `SET … PX`.
    Millis,
}

/// What HELP says about a command, and how many arguments it takes.
#[derive(Debug, Clone, Copy)]
pub struct CommandSpec {
    /// The name, upper-case.
    pub name: &'static str,
    /// The arguments, in Redis's documentation syntax.
    pub args: &'static str,
    /// One line of help.
    pub summary: &'static str,
    /// Fewest arguments after the name.
    pub min_args: usize,
    /// Most arguments after the name; `None` for no limit.
    pub max_args: Option<usize>,
}

macro_rules! spec {
    ($name:literal, $args:literal, $min:expr, $max:expr, $summary:literal) => {
        CommandSpec { name: $name, args: $args, summary: $summary, min_args: $min, max_args: $max }
    };
}

// ANCHOR: specs
/// Every command of the language, in HELP order.
pub const COMMANDS: &[CommandSpec] = &[
    spec!("GET", "key", 1, Some(1), "Get the value of key, or nil."),
    spec!(
        "SET",
        "key value [NX|XX] [EX seconds|PX milliseconds|KEEPTTL]",
        2,
        None,
        "Set key to value."
    ),
    spec!("DEL", "key [key ...]", 1, None, "Delete keys; returns how many existed."),
    spec!("EXISTS", "key [key ...]", 1, None, "Count how many of the keys exist."),
    spec!("INCR", "key", 1, Some(1), "Add 1 to the integer at key."),
    spec!("DECR", "key", 1, Some(1), "Subtract 1 from the integer at key."),
    spec!("INCRBY", "key increment", 2, Some(2), "Add increment to the integer at key."),
    spec!("DECRBY", "key decrement", 2, Some(2), "Subtract decrement from the integer at key."),
    spec!("EXPIRE", "key seconds", 2, Some(2), "Delete key after a number of seconds."),
    spec!("PEXPIRE", "key milliseconds", 2, Some(2), "Delete key after a number of milliseconds."),
    spec!("TTL", "key", 1, Some(1), "Seconds until key expires; -1 if never, -2 if missing."),
    spec!("PTTL", "key", 1, Some(1), "Milliseconds until key expires; -1 if never, -2 if missing."),
    spec!("PERSIST", "key", 1, Some(1), "Remove the expiry of key."),
    spec!(
        "KEYS",
        "pattern",
        1,
        Some(1),
        "List the keys matching a glob pattern (*, ?, [a-z], [^a], \\)."
    ),
    spec!("DBSIZE", "", 0, Some(0), "Count the keys."),
    spec!("FLUSHALL", "[ASYNC|SYNC]", 0, Some(1), "Delete every key."),
    spec!("PING", "[message]", 0, Some(1), "Reply PONG, or the message."),
    spec!("ECHO", "message", 1, Some(1), "Reply the message."),
    spec!("HELP", "[command]", 0, Some(1), "List the commands, or describe one."),
    spec!("QUIT", "", 0, Some(0), "End the session."),
];
// ANCHOR_END: specs

/// The commands of Redis's data types: more on strings, keys of any type,
/// lists, hashes, sets and sorted sets. Lesson 2's language has these and
/// [`COMMANDS`]; the string engines of lessons 4 and 6 only `COMMANDS`.
pub const TYPE_COMMANDS: &[CommandSpec] = &[
    // Strings, beyond GET and SET.
    spec!("MSET", "key value [key value ...]", 2, None, "Set several keys at once."),
    spec!("MGET", "key [key ...]", 1, None, "Get several values; nil for a missing key."),
    spec!("APPEND", "key value", 2, Some(2), "Append to the string at key; returns its length."),
    spec!("STRLEN", "key", 1, Some(1), "The length of the string at key."),
    spec!("GETDEL", "key", 1, Some(1), "Get the value of key and delete it."),
    spec!("SETNX", "key value", 2, Some(2), "Set key only if it does not exist."),
    spec!("GETRANGE", "key start end", 3, Some(3), "The bytes of the string from start to end."),
    // Keys of any type.
    spec!(
        "TYPE",
        "key",
        1,
        Some(1),
        "The type of the value at key: string, list, hash, set, zset."
    ),
    spec!("RENAME", "key newkey", 2, Some(2), "Rename key, with its value and TTL."),
    spec!(
        "SCAN",
        "cursor [MATCH pattern] [COUNT count] [TYPE type]",
        1,
        None,
        "Walk the keys a few at a time; start and end at cursor 0."
    ),
    // Lists.
    spec!("LPUSH", "key element [element ...]", 2, None, "Push elements at the head of a list."),
    spec!("RPUSH", "key element [element ...]", 2, None, "Push elements at the tail of a list."),
    spec!("LPOP", "key [count]", 1, Some(2), "Pop elements from the head of a list."),
    spec!("RPOP", "key [count]", 1, Some(2), "Pop elements from the tail of a list."),
    spec!(
        "LRANGE",
        "key start stop",
        3,
        Some(3),
        "The elements from start to stop (-1 is the last)."
    ),
    spec!("LLEN", "key", 1, Some(1), "The length of a list."),
    spec!("LINDEX", "key index", 2, Some(2), "The element at index (-1 is the last)."),
    // Hashes.
    spec!("HSET", "key field value [field value ...]", 3, None, "Set fields of a hash."),
    spec!("HGET", "key field", 2, Some(2), "The value of a field."),
    spec!("HDEL", "key field [field ...]", 2, None, "Delete fields of a hash."),
    spec!("HGETALL", "key", 1, Some(1), "Every field and value of a hash."),
    spec!("HLEN", "key", 1, Some(1), "The number of fields of a hash."),
    spec!("HEXISTS", "key field", 2, Some(2), "Whether a field exists."),
    spec!("HINCRBY", "key field increment", 3, Some(3), "Add to the integer in a field."),
    // Sets.
    spec!("SADD", "key member [member ...]", 2, None, "Add members to a set."),
    spec!("SREM", "key member [member ...]", 2, None, "Remove members from a set."),
    spec!("SMEMBERS", "key", 1, Some(1), "Every member of a set."),
    spec!("SISMEMBER", "key member", 2, Some(2), "Whether member is in the set."),
    spec!("SCARD", "key", 1, Some(1), "The number of members of a set."),
    spec!("SPOP", "key [count]", 1, Some(2), "Remove and return random members."),
    spec!("SINTER", "key [key ...]", 1, None, "The members in every one of the sets."),
    spec!("SUNION", "key [key ...]", 1, None, "The members in any of the sets."),
    // Sorted sets.
    spec!(
        "ZADD",
        "key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]",
        3,
        None,
        "Add members with scores, or update their scores."
    ),
    spec!("ZREM", "key member [member ...]", 2, None, "Remove members from a sorted set."),
    spec!("ZSCORE", "key member", 2, Some(2), "The score of a member."),
    spec!("ZINCRBY", "key increment member", 3, Some(3), "Add to the score of a member."),
    spec!("ZCARD", "key", 1, Some(1), "The number of members of a sorted set."),
    spec!("ZRANK", "key member", 2, Some(2), "The rank of a member, lowest score first, from 0."),
    spec!(
        "ZRANGE",
        "key start stop [BYSCORE] [REV] [LIMIT offset count] [WITHSCORES]",
        3,
        None,
        "Members by rank (or score), in order."
    ),
    spec!("ZREVRANGE", "key start stop [WITHSCORES]", 3, Some(4), "ZRANGE … REV, the older way."),
    spec!(
        "ZRANGEBYSCORE",
        "key min max [WITHSCORES] [LIMIT offset count]",
        3,
        Some(7),
        "ZRANGE … BYSCORE, the older way."
    ),
    spec!(
        "ZREVRANGEBYSCORE",
        "key max min [WITHSCORES] [LIMIT offset count]",
        3,
        Some(7),
        "ZRANGE … BYSCORE REV, the older way."
    ),
    spec!("ZPOPMIN", "key [count]", 1, Some(2), "Remove and return the lowest-scored members."),
];

/// Every command of lesson 2's language, in HELP order.
pub fn all_commands() -> impl Iterator<Item = &'static CommandSpec> + Clone {
    COMMANDS.iter().chain(TYPE_COMMANDS)
}

/// Whether `name` (any case) is one of [`TYPE_COMMANDS`].
pub fn is_type_command(name: &[u8]) -> bool {
    TYPE_COMMANDS.iter().any(|c| c.name.as_bytes().eq_ignore_ascii_case(name))
}

/// Looks up a command by name, ignoring case.
pub fn spec(name: &[u8]) -> Option<&'static CommandSpec> {
    all_commands().find(|c| c.name.as_bytes().eq_ignore_ascii_case(name))
}

/// The command of `specs` called `name` (any case), if there is one, with
/// the number of arguments after the name (`given`) checked against it.
/// Later lessons, which add commands of their own, look theirs up with it.
pub fn checked_spec(
    specs: &'static [CommandSpec],
    name: &[u8],
    given: usize,
) -> Result<Option<&'static CommandSpec>> {
    let Some(spec) = specs.iter().find(|c| c.name.as_bytes().eq_ignore_ascii_case(name)) else {
        return Ok(None);
    };
    if given < spec.min_args || spec.max_args.is_some_and(|max| given > max) {
        return Err(Error::WrongArity(spec.name.to_ascii_lowercase()));
    }
    Ok(Some(spec))
}

// ANCHOR: parse
/// Parses the arguments of one command line (the first is the name).
pub fn parse(args: Vec<Vec<u8>>) -> Result<Command> {
    let mut args = args.into_iter();
    let name = args.next().unwrap_or_default();
    let args: Vec<Vec<u8>> = args.collect();
    let spec = match checked_spec(COMMANDS, &name, args.len())? {
        Some(spec) => spec,
        None => checked_spec(TYPE_COMMANDS, &name, args.len())?
            .ok_or_else(|| Error::UnknownCommand(String::from_utf8_lossy(&name).into_owned()))?,
    };
    if let Some(command) = parse_typed(spec.name, &args)? {
        return Ok(command);
    }
    let mut args = args.into_iter();
    // `arg!()` takes the next argument. Arity is checked, so it cannot run out.
    macro_rules! arg {
        () => {
            args.next().expect("arity checked")
        };
    }
    Ok(match spec.name {
        "GET" => Command::Get { key: arg!() },
        "SET" => {
            let (key, value) = (arg!(), arg!());
            let (condition, ttl) = set_options(&mut args)?;
            Command::Set { key, value, condition, ttl }
        }
        "DEL" => Command::Del { keys: args.by_ref().collect() },
        "EXISTS" => Command::Exists { keys: args.by_ref().collect() },
        "INCR" => Command::IncrBy { key: arg!(), delta: 1 },
        "DECR" => Command::IncrBy { key: arg!(), delta: -1 },
        "INCRBY" => Command::IncrBy { key: arg!(), delta: int(&arg!())? },
        "DECRBY" => Command::IncrBy {
            key: arg!(),
            delta: int(&arg!())?.checked_neg().ok_or(Error::Overflow)?,
        },
        "EXPIRE" => Command::Expire { key: arg!(), amount: int(&arg!())?, unit: TimeUnit::Seconds },
        "PEXPIRE" => Command::Expire { key: arg!(), amount: int(&arg!())?, unit: TimeUnit::Millis },
        "TTL" => Command::Ttl { key: arg!(), unit: TimeUnit::Seconds },
        "PTTL" => Command::Ttl { key: arg!(), unit: TimeUnit::Millis },
        "PERSIST" => Command::Persist { key: arg!() },
        "KEYS" => Command::Keys { pattern: arg!() },
        "DBSIZE" => Command::DbSize,
        "FLUSHALL" => match args.next() {
            Some(mode)
                if !(mode.eq_ignore_ascii_case(b"ASYNC") || mode.eq_ignore_ascii_case(b"SYNC")) =>
            {
                return Err(Error::Syntax);
            }
            _ => Command::FlushAll,
        },
        "PING" => Command::Ping { message: args.next() },
        "ECHO" => Command::Echo { message: arg!() },
        "HELP" => Command::Help { command: args.next() },
        "QUIT" => Command::Quit,
        other => unreachable!("{other} is in COMMANDS but has no parser"),
    })
}
// ANCHOR_END: parse

/// The commands of the data-type modules: each parses its own.
fn parse_typed(name: &str, args: &[Vec<u8>]) -> Result<Option<Command>> {
    let args = || args.to_vec();
    Ok(Some(match name {
        "MSET" | "MGET" | "APPEND" | "STRLEN" | "GETDEL" | "SETNX" | "GETRANGE" => {
            Command::Strings(strings::parse(name, args())?)
        }
        "TYPE" | "RENAME" | "SCAN" => Command::Keyspace(keyspace::parse(name, args())?),
        "LPUSH" | "RPUSH" | "LPOP" | "RPOP" | "LRANGE" | "LLEN" | "LINDEX" => {
            Command::Lists(list::parse(name, args())?)
        }
        "HSET" | "HGET" | "HDEL" | "HGETALL" | "HLEN" | "HEXISTS" | "HINCRBY" => {
            Command::Hashes(hash::parse(name, args())?)
        }
        "SADD" | "SREM" | "SMEMBERS" | "SISMEMBER" | "SCARD" | "SPOP" | "SINTER" | "SUNION" => {
            Command::Sets(set::parse(name, args())?)
        }
        "ZADD" | "ZREM" | "ZSCORE" | "ZINCRBY" | "ZCARD" | "ZRANK" | "ZRANGE" | "ZREVRANGE"
        | "ZRANGEBYSCORE" | "ZREVRANGEBYSCORE" | "ZPOPMIN" => {
            Command::SortedSets(zset::parse(name, args())?)
        }
        _ => return Ok(None),
    }))
}

/// Arguments taken two by two (`MSET`'s keys and values, `HSET`'s fields
/// and values); an odd number is an arity error of command `name`.
pub(crate) fn pairs(name: &str, args: Vec<Vec<u8>>) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
    if !args.len().is_multiple_of(2) {
        return Err(Error::WrongArity(name.into()));
    }
    let mut args = args.into_iter();
    Ok(std::iter::from_fn(|| Some((args.next()?, args.next()?))).collect())
}

/// An integer argument.
pub(crate) fn int(arg: &[u8]) -> Result<i64> {
    integer::parse(arg).ok_or(Error::NotAnInteger)
}

// ANCHOR: set_options
/// The options after `SET key value`: at most one of NX/XX, at most one of
/// EX/PX/KEEPTTL, in any order.
fn set_options(args: &mut impl Iterator<Item = Vec<u8>>) -> Result<(Option<SetCondition>, SetTtl)> {
    let mut condition = None;
    let mut ttl = None;
    while let Some(option) = args.next() {
        match option.to_ascii_uppercase().as_slice() {
            b"NX" if condition.is_none() => condition = Some(SetCondition::IfAbsent),
            b"XX" if condition.is_none() => condition = Some(SetCondition::IfPresent),
            b"KEEPTTL" if ttl.is_none() => ttl = Some(SetTtl::Keep),
            unit @ (b"EX" | b"PX") if ttl.is_none() => {
                let amount = int(&args.next().ok_or(Error::Syntax)?)?;
                let ms = match unit {
                    b"EX" => amount.checked_mul(1000),
                    _ => Some(amount),
                };
                match ms {
                    Some(ms) if ms > 0 => ttl = Some(SetTtl::ExpireInMs(ms as u64)),
                    _ => return Err(Error::InvalidExpireTime("set".into())),
                }
            }
            _ => return Err(Error::Syntax),
        }
    }
    Ok((condition, ttl.unwrap_or(SetTtl::Clear)))
}
// ANCHOR_END: set_options

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokenizer::tokenize;

    fn p(line: &str) -> Result<Command> {
        parse(tokenize(line.as_bytes()).unwrap())
    }

    #[test]
    fn names_are_case_insensitive_and_keys_are_not() {
        assert_eq!(p("get Key"), Ok(Command::Get { key: b"Key".to_vec() }));
        assert_eq!(p("GeT Key"), p("GET Key"));
    }

    #[test]
    fn unknown_commands_are_named_as_typed() {
        assert_eq!(p("FOO bar"), Err(Error::UnknownCommand("FOO".into())));
        assert_eq!(p("foo").unwrap_err().to_string(), "ERR unknown command 'foo'");
    }

    #[test]
    fn arity_errors_name_the_command_in_lower_case() {
        assert_eq!(
            p("GET").unwrap_err().to_string(),
            "ERR wrong number of arguments for 'get' command"
        );
        assert_eq!(p("GET a b"), Err(Error::WrongArity("get".into())));
        assert_eq!(p("SET a"), Err(Error::WrongArity("set".into())));
        assert_eq!(p("DEL"), Err(Error::WrongArity("del".into())));
        assert_eq!(p("DBSIZE x"), Err(Error::WrongArity("dbsize".into())));
    }

    #[test]
    fn set_options_in_any_order_and_case() {
        let set = |condition, ttl| {
            Ok(Command::Set { key: b"k".to_vec(), value: b"v".to_vec(), condition, ttl })
        };
        assert_eq!(p("SET k v"), set(None, SetTtl::Clear));
        assert_eq!(
            p("SET k v nx ex 10"),
            set(Some(SetCondition::IfAbsent), SetTtl::ExpireInMs(10_000))
        );
        assert_eq!(p("SET k v PX 5 XX"), set(Some(SetCondition::IfPresent), SetTtl::ExpireInMs(5)));
        assert_eq!(p("SET k v KEEPTTL"), set(None, SetTtl::Keep));
    }

    #[test]
    fn conflicting_or_unknown_set_options_are_syntax_errors() {
        for line in [
            "SET k v NX XX",
            "SET k v EX 1 PX 1",
            "SET k v EX 1 KEEPTTL",
            "SET k v EX",
            "SET k v FAST",
        ] {
            assert_eq!(p(line), Err(Error::Syntax), "{line}");
        }
    }

    #[test]
    fn set_expire_times_must_be_positive_integers_that_fit() {
        assert_eq!(p("SET k v EX ten"), Err(Error::NotAnInteger));
        assert_eq!(
            p("SET k v EX 0").unwrap_err().to_string(),
            "ERR invalid expire time in 'set' command"
        );
        assert_eq!(p("SET k v PX -1"), Err(Error::InvalidExpireTime("set".into())));
        assert_eq!(
            p("SET k v EX 9223372036854775807"),
            Err(Error::InvalidExpireTime("set".into()))
        );
    }

    #[test]
    fn integer_arguments() {
        assert_eq!(p("INCRBY n 5"), Ok(Command::IncrBy { key: b"n".to_vec(), delta: 5 }));
        assert_eq!(p("DECRBY n 5"), Ok(Command::IncrBy { key: b"n".to_vec(), delta: -5 }));
        assert_eq!(p("INCRBY n five"), Err(Error::NotAnInteger));
        assert_eq!(p("DECRBY n -9223372036854775808"), Err(Error::Overflow));
    }

    #[test]
    fn flushall_takes_only_its_modes() {
        assert_eq!(p("FLUSHALL async"), Ok(Command::FlushAll));
        assert_eq!(p("FLUSHALL now"), Err(Error::Syntax));
    }

    #[test]
    fn every_spec_has_a_parser() {
        for spec in all_commands() {
            let args = std::iter::repeat_n("1", spec.min_args).collect::<Vec<_>>().join(" ");
            let line = format!("{} {args}", spec.name);
            assert!(p(&line).is_ok(), "{line}: {:?}", p(&line));
        }
    }
}
