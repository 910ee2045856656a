//! The commands this lesson adds to lesson 4's language: SQL's transaction
//! statements and Redis's, and `VACUUM`.

use lesson02_kv::command::{self, CommandSpec};
use lesson02_kv::error::{Error, Result};
use lesson04_indexing::commands as indexing;

use crate::mvcc::Isolation;

/// A command of this lesson's language.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// `BEGIN [ISOLATION snapshot|serializable]`: start a transaction that
    /// lasts until `COMMIT` or `ROLLBACK`.
    Begin(Isolation),
    /// `COMMIT`.
    Commit,
    /// `ROLLBACK`.
    Rollback,
    /// `MULTI`: queue the commands that follow, until `EXEC` or `DISCARD`.
    Multi,
    /// `EXEC`: run the queued commands as one transaction.
    Exec,
    /// `DISCARD`: drop the queue.
    Discard,
    /// `WATCH key [key …]`: make the next `EXEC` fail if one changes first.
    Watch(Vec<Vec<u8>>),
    /// `UNWATCH`.
    Unwatch,
    /// `VACUUM`: collect every version nobody can see.
    Vacuum,
    /// `HELP [command]`.
    Help(Option<Vec<u8>>),
    /// `QUIT`.
    Quit,
    /// A command of lesson 4's language, run inside a transaction.
    Indexed(indexing::Command),
}

// ANCHOR: specs
/// The commands this lesson adds.
pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "BEGIN",
        args: "[ISOLATION snapshot|serializable]",
        summary: "Start a transaction (snapshot isolation unless told).",
        min_args: 0,
        max_args: Some(2),
    },
    CommandSpec {
        name: "COMMIT",
        args: "",
        summary: "Make the transaction's writes durable and visible, or fail if they conflict.",
        min_args: 0,
        max_args: Some(0),
    },
    CommandSpec {
        name: "ROLLBACK",
        args: "",
        summary: "Forget the transaction's writes.",
        min_args: 0,
        max_args: Some(0),
    },
    CommandSpec {
        name: "MULTI",
        args: "",
        summary: "Queue the commands that follow until EXEC (Redis).",
        min_args: 0,
        max_args: Some(0),
    },
    CommandSpec {
        name: "EXEC",
        args: "",
        summary: "Run the queued commands atomically; nil if a watched key changed.",
        min_args: 0,
        max_args: Some(0),
    },
    CommandSpec {
        name: "DISCARD",
        args: "",
        summary: "Drop the queued commands and the watches.",
        min_args: 0,
        max_args: Some(0),
    },
    CommandSpec {
        name: "WATCH",
        args: "key [key ...]",
        summary: "Make the next EXEC fail if one of the keys changes first.",
        min_args: 1,
        max_args: None,
    },
    CommandSpec {
        name: "UNWATCH",
        args: "",
        summary: "Forget the watched keys.",
        min_args: 0,
        max_args: Some(0),
    },
    CommandSpec {
        name: "VACUUM",
        args: "",
        summary: "Delete every version no running transaction can see.",
        min_args: 0,
        max_args: Some(0),
    },
];
// ANCHOR_END: specs

/// Parses one command line's arguments.
pub fn parse(mut args: Vec<Vec<u8>>) -> Result<Command> {
    let name = args.first().map_or(&[][..], Vec::as_slice);
    if let Some(spec) = command::checked_spec(COMMANDS, name, args.len().saturating_sub(1))? {
        return Ok(match spec.name {
            "BEGIN" => Command::Begin(isolation(&args[1..])?),
            "COMMIT" => Command::Commit,
            "ROLLBACK" => Command::Rollback,
            "MULTI" => Command::Multi,
            "EXEC" => Command::Exec,
            "DISCARD" => Command::Discard,
            "WATCH" => Command::Watch(args.split_off(1)),
            "UNWATCH" => Command::Unwatch,
            _ => Command::Vacuum,
        });
    }
    Ok(match indexing::parse(args)? {
        indexing::Command::Help(command) => Command::Help(command),
        indexing::Command::Kv(lesson02_kv::Command::Quit) => Command::Quit,
        other => Command::Indexed(other),
    })
}

fn isolation(args: &[Vec<u8>]) -> Result<Isolation> {
    match args {
        [] => Ok(Isolation::default()),
        [word, level] if word.eq_ignore_ascii_case(b"ISOLATION") => {
            match level.to_ascii_lowercase().as_slice() {
                b"snapshot" => Ok(Isolation::Snapshot),
                b"serializable" => Ok(Isolation::Serializable),
                _ => Err(Error::Syntax),
            }
        }
        _ => Err(Error::Syntax),
    }
}

/// Every command: lesson 2's, lesson 4's, this lesson's.
pub fn all_specs() -> impl Iterator<Item = &'static CommandSpec> {
    indexing::all_specs().chain(COMMANDS)
}

#[cfg(test)]
mod tests {
    use lesson02_kv::tokenizer::tokenize;

    use super::*;

    fn p(line: &str) -> Result<Command> {
        parse(tokenize(line.as_bytes()).unwrap())
    }

    #[test]
    fn transaction_commands_and_the_earlier_lessons() {
        assert_eq!(p("begin"), Ok(Command::Begin(Isolation::Snapshot)));
        assert_eq!(p("BEGIN isolation SERIALIZABLE"), Ok(Command::Begin(Isolation::Serializable)));
        assert_eq!(p("BEGIN ISOLATION chaos"), Err(Error::Syntax));
        assert_eq!(p("BEGIN serializable"), Err(Error::Syntax));
        assert_eq!(p("WATCH a b"), Ok(Command::Watch(vec![b"a".to_vec(), b"b".to_vec()])));
        assert_eq!(p("WATCH"), Err(Error::WrongArity("watch".into())));
        assert_eq!(p("exec"), Ok(Command::Exec));
        assert_eq!(p("QUIT"), Ok(Command::Quit));
        assert!(matches!(p("SCAN a b"), Ok(Command::Indexed(indexing::Command::Scan { .. }))));
        assert!(matches!(p("GET a"), Ok(Command::Indexed(indexing::Command::Kv(_)))));
        assert_eq!(p("NOPE"), Err(Error::UnknownCommand("NOPE".into())));
    }
}
