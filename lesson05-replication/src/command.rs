//! The commands a server adds to the store's language: the ones about the
//! connection (`HELLO`, `AUTH`, `CLIENT`, `SELECT`, `QUIT`) and the ones
//! clients ask about the server (`COMMAND`, `CONFIG GET`, `INFO`).
//!
//! Everything else goes to the engine, which parses it with its own
//! lesson's parser: lesson 2's `Command` and the commands lessons 3 and 4
//! added. A name neither knows gets Redis's error text, which names the
//! command and its first arguments.

use lesson02_kv::command::CommandSpec;
use lesson02_kv::error::Error as CommandError;

macro_rules! spec {
    ($name:literal, $args:literal, $min:expr, $max:expr, $summary:literal) => {
        CommandSpec { name: $name, args: $args, summary: $summary, min_args: $min, max_args: $max }
    };
}

// ANCHOR: specs
/// The commands the server itself answers.
pub const SERVER_COMMANDS: &[CommandSpec] = &[
    spec!(
        "HELLO",
        "[protover [AUTH username password] [SETNAME clientname]]",
        0,
        None,
        "Choose RESP2 or RESP3, and optionally authenticate."
    ),
    spec!("AUTH", "[username] password", 1, Some(2), "Authenticate the connection."),
    spec!("CLIENT", "SETNAME|GETNAME|ID|SETINFO|LIST ...", 1, None, "About this connection."),
    spec!("SELECT", "index", 1, Some(1), "Choose a database; there is only 0."),
    spec!("COMMAND", "[COUNT|DOCS|INFO ...]", 0, None, "Describe the commands."),
    spec!("CONFIG", "GET parameter [parameter ...]", 1, None, "Read the configuration."),
    spec!("INFO", "[section ...]", 0, None, "Statistics about the server, as text."),
    spec!("QUIT", "", 0, Some(0), "Close the connection."),
    spec!(
        "CLUSTER",
        "SLOTS|SHARDS|NODES|KEYSLOT|INFO|MYID ...",
        1,
        None,
        "The cluster's layout, for cluster clients."
    ),
    spec!("READONLY", "", 0, Some(0), "Let this connection read from a replica."),
    spec!("READWRITE", "", 0, Some(0), "Stop reading from replicas."),
    spec!("ASKING", "", 0, Some(0), "Accepted, for clients that send it."),
];
// ANCHOR_END: specs

/// Commands that change data, for `COMMAND`'s flags: a client that routes
/// reads to replicas (lesson 5, part 2) must know which these are.
const WRITES: &[&str] = &[
    "SET", "DEL", "INCR", "DECR", "INCRBY", "DECRBY", "EXPIRE", "PEXPIRE", "PERSIST", "FLUSHALL",
    "SAVE", "COMPACT", "MERGE", "MSET", "APPEND", "GETDEL", "SETNX", "RENAME", "LPUSH", "RPUSH",
    "LPOP", "RPOP", "HSET", "HDEL", "HINCRBY", "SADD", "SREM", "SPOP", "ZADD", "ZREM", "ZINCRBY",
    "ZPOPMIN",
];

/// Where a command's keys are, as `COMMAND` reports them: the first key's
/// position, the last's (-1: the last argument) and the step between them.
/// Read off the documented syntax: cluster clients route by these.
pub fn key_positions(spec: &CommandSpec) -> (i64, i64, i64) {
    if !spec.args.starts_with("key") {
        (0, 0, 0)
    } else if spec.args.starts_with("key value [key value") {
        (1, -1, 2)
    } else if spec.args.starts_with("key [key") {
        (1, -1, 1)
    } else if spec.args.starts_with("key newkey") {
        (1, 2, 1)
    } else {
        (1, 1, 1)
    }
}

/// Whether the command changes data.
pub fn is_write(spec: &CommandSpec) -> bool {
    WRITES.contains(&spec.name)
}

/// Redis's arity: the number of words including the name, negative when
/// that is a minimum.
pub fn arity(spec: &CommandSpec) -> i64 {
    let words = spec.min_args as i64 + 1;
    if spec.max_args == Some(spec.min_args) { words } else { -words }
}

/// Finds `name` (any case) among `specs`.
pub fn find<'a>(
    specs: impl IntoIterator<Item = &'a CommandSpec>,
    name: &[u8],
) -> Option<&'a CommandSpec> {
    specs.into_iter().find(|s| s.name.as_bytes().eq_ignore_ascii_case(name))
}

/// Redis's reply to a command nobody knows: it names the command and the
/// start of its arguments, so that a typo is easy to spot in a log.
pub fn unknown_command(args: &[Vec<u8>]) -> String {
    let name = args.first().map(|n| String::from_utf8_lossy(n)).unwrap_or_default();
    let mut text = format!("ERR unknown command '{name}', with args beginning with: ");
    for arg in args.iter().skip(1) {
        if text.len() > 128 {
            break;
        }
        text.push_str(&format!("'{}' ", String::from_utf8_lossy(arg)));
    }
    text
}

/// Lesson 2's arity error for `spec`.
pub fn wrong_arity(name: &[u8]) -> String {
    CommandError::WrongArity(String::from_utf8_lossy(name).to_lowercase()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use lesson02_kv::command::COMMANDS;

    #[test]
    fn key_positions_follow_the_documented_syntax() {
        let of = |name: &str| key_positions(find(COMMANDS, name.as_bytes()).unwrap());
        assert_eq!(of("GET"), (1, 1, 1));
        assert_eq!(of("SET"), (1, 1, 1));
        assert_eq!(of("DEL"), (1, -1, 1));
        assert_eq!(of("EXISTS"), (1, -1, 1));
        assert_eq!(of("KEYS"), (0, 0, 0));
        assert_eq!(of("PING"), (0, 0, 0));
        let all = |name: &str| {
            key_positions(find(lesson02_kv::command::all_commands(), name.as_bytes()).unwrap())
        };
        assert_eq!(all("MSET"), (1, -1, 2));
        assert_eq!(all("MGET"), (1, -1, 1));
        assert_eq!(all("SINTER"), (1, -1, 1));
        assert_eq!(all("RENAME"), (1, 2, 1));
        assert_eq!(all("SCAN"), (0, 0, 0));
        assert_eq!(all("ZADD"), (1, 1, 1));
    }

    #[test]
    fn the_writes_are_the_commands_lesson_2_calls_writes() {
        for spec in lesson02_kv::command::all_commands() {
            let mut args = vec![spec.name.as_bytes().to_vec()];
            args.extend(std::iter::repeat_n(b"1".to_vec(), spec.min_args));
            let command = lesson02_kv::command::parse(args).expect("the fewest arguments parse");
            assert_eq!(is_write(spec), command.is_write(), "{}", spec.name);
        }
    }

    #[test]
    fn arity_is_negative_for_a_minimum() {
        assert_eq!(arity(find(COMMANDS, b"get").unwrap()), 2);
        assert_eq!(arity(find(COMMANDS, b"set").unwrap()), -3);
        assert_eq!(arity(find(SERVER_COMMANDS, b"QUIT").unwrap()), 1);
    }

    #[test]
    fn unknown_commands_name_their_first_arguments() {
        let args: Vec<Vec<u8>> = vec![b"FOO".to_vec(), b"a".to_vec(), b"b".to_vec()];
        assert_eq!(
            unknown_command(&args),
            "ERR unknown command 'FOO', with args beginning with: 'a' 'b' "
        );
        let long = vec![b"X".to_vec(); 100];
        assert!(unknown_command(&long).len() < 200);
    }
}
