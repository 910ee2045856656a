//! Lesson 2's command language, plus what indexes on disk add: ordered
//! `SCAN`, Bitcask's `MERGE`, `INFO`, and the `DEBUG` views of the index.
//! Lesson 2's parser does the rest. The engines here store strings: the
//! commands of Redis's other data types (lesson 2's
//! [`TYPE_COMMANDS`](lesson02_kv::command::TYPE_COMMANDS)) are not in this
//! language, and `SCAN` is this lesson's ordered one, not lesson 2's cursor.

use lesson02_kv::command::{self, COMMANDS as KV_COMMANDS, CommandSpec};
use lesson02_kv::error::{Error, Result};

/// A command of this lesson's language.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// `SCAN start end`: the pairs with `start <= key < end`, in key order;
    /// an empty `end` means no end.
    Scan {
        /// The first key.
        start: Vec<u8>,
        /// The key after the last; empty for none.
        end: Vec<u8>,
    },
    /// `MERGE`: rewrite Bitcask's immutable segments without stale records.
    Merge,
    /// `INFO`: the engine's statistics.
    Info,
    /// `DEBUG KEYDIR` or `DEBUG TREE`: the index, drawn.
    Debug(Vec<u8>),
    /// `HELP [command]`, knowing both lessons' commands.
    Help(Option<Vec<u8>>),
    /// Any command of lesson 2.
    Kv(lesson02_kv::Command),
}

// ANCHOR: specs
/// The commands this lesson adds.
pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "SCAN",
        args: "start end",
        summary: "Pairs with start <= key < end, in key order (\"\" as end: no end).",
        min_args: 2,
        max_args: Some(2),
    },
    CommandSpec {
        name: "MERGE",
        args: "",
        summary: "Bitcask: rewrite the old segments without stale records.",
        min_args: 0,
        max_args: Some(0),
    },
    CommandSpec {
        name: "INFO",
        args: "",
        summary: "Show the engine's files, sizes and shape.",
        min_args: 0,
        max_args: Some(0),
    },
    CommandSpec {
        name: "DEBUG",
        args: "KEYDIR|TREE",
        summary: "Draw the index: Bitcask's keydir, or the B+tree's pages.",
        min_args: 1,
        max_args: Some(1),
    },
];
// ANCHOR_END: specs

/// Parses one command line's arguments.
pub fn parse(mut args: Vec<Vec<u8>>) -> Result<Command> {
    let name = args.first().map_or(&[][..], Vec::as_slice);
    if let Some(spec) = command::checked_spec(COMMANDS, name, args.len().saturating_sub(1))? {
        return Ok(match spec.name {
            "SCAN" => {
                let end = args.pop().expect("two arguments");
                let start = args.pop().expect("two arguments");
                Command::Scan { start, end }
            }
            "MERGE" => Command::Merge,
            "INFO" => Command::Info,
            _ => Command::Debug(args.pop().expect("one argument").to_ascii_uppercase()),
        });
    }
    if command::is_type_command(name) {
        return Err(Error::UnknownCommand(String::from_utf8_lossy(name).into_owned()));
    }
    match command::parse(args)? {
        lesson02_kv::Command::Help { command } => Ok(Command::Help(command)),
        other => Ok(Command::Kv(other)),
    }
}

/// Every command, lesson 2's then this lesson's, for HELP.
pub fn all_specs() -> impl Iterator<Item = &'static CommandSpec> {
    KV_COMMANDS.iter().chain(COMMANDS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lesson02_kv::error::Error;
    use lesson02_kv::tokenizer::tokenize;

    fn p(line: &str) -> Result<Command> {
        parse(tokenize(line.as_bytes()).unwrap())
    }

    #[test]
    fn new_commands_and_old_ones() {
        assert_eq!(p("scan a \"\""), Ok(Command::Scan { start: b"a".to_vec(), end: Vec::new() }));
        assert_eq!(p("MERGE"), Ok(Command::Merge));
        assert_eq!(p("debug tree"), Ok(Command::Debug(b"TREE".to_vec())));
        assert_eq!(p("GET k"), Ok(Command::Kv(lesson02_kv::Command::Get { key: b"k".to_vec() })));
        assert_eq!(p("HELP SCAN"), Ok(Command::Help(Some(b"SCAN".to_vec()))));
        assert_eq!(p("SCAN a"), Err(Error::WrongArity("scan".into())));
        assert_eq!(p("DEBUG"), Err(Error::WrongArity("debug".into())));
        assert_eq!(p("INFO x"), Err(Error::WrongArity("info".into())));
        assert_eq!(p("NOPE"), Err(Error::UnknownCommand("NOPE".into())));
    }
}
