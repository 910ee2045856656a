//! Lesson 2's command language, plus the persistence commands: SAVE,
//! COMPACT and INFO. Lesson 2's parser does the rest; an unknown command is
//! still lesson 2's `ERR unknown command`.

use lesson02_kv::command::{self, CommandSpec};
use lesson02_kv::error::Result;

/// A command of this lesson's language.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// `SAVE`: write a snapshot.
    Save,
    /// `COMPACT`: write a snapshot and empty the log.
    Compact,
    /// `INFO`: persistence statistics.
    Info,
    /// `HELP [command]`, knowing both lessons' commands.
    Help(Option<Vec<u8>>),
    /// Any command of lesson 2.
    Kv(lesson02_kv::Command),
}

// ANCHOR: specs
/// The commands this lesson adds.
pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "SAVE",
        args: "",
        summary: "Write a snapshot of every key.",
        min_args: 0,
        max_args: Some(0),
    },
    CommandSpec {
        name: "COMPACT",
        args: "",
        summary: "Write a snapshot and start a new log.",
        min_args: 0,
        max_args: Some(0),
    },
    CommandSpec {
        name: "INFO",
        args: "",
        summary: "Show the log, the snapshot and the fsync policy.",
        min_args: 0,
        max_args: Some(0),
    },
];
// ANCHOR_END: specs

/// Parses one command line's arguments.
pub fn parse(args: Vec<Vec<u8>>) -> Result<Command> {
    let name = args.first().map_or(&[][..], Vec::as_slice);
    if let Some(spec) = command::checked_spec(COMMANDS, name, args.len().saturating_sub(1))? {
        return Ok(match spec.name {
            "SAVE" => Command::Save,
            "COMPACT" => Command::Compact,
            _ => Command::Info,
        });
    }
    match command::parse(args)? {
        lesson02_kv::Command::Help { command } => Ok(Command::Help(command)),
        other => Ok(Command::Kv(other)),
    }
}

/// Every command, lesson 2's then this lesson's, for HELP.
pub fn all_specs() -> impl Iterator<Item = &'static CommandSpec> {
    command::all_commands().chain(COMMANDS)
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
        assert_eq!(p("save"), Ok(Command::Save));
        assert_eq!(p("COMPACT"), Ok(Command::Compact));
        assert_eq!(p("Info"), Ok(Command::Info));
        assert_eq!(p("GET k"), Ok(Command::Kv(lesson02_kv::Command::Get { key: b"k".to_vec() })));
        assert_eq!(p("HELP SAVE"), Ok(Command::Help(Some(b"SAVE".to_vec()))));
        assert_eq!(p("SAVE now"), Err(Error::WrongArity("save".into())));
        assert_eq!(p("NOPE"), Err(Error::UnknownCommand("NOPE".into())));
    }
}
