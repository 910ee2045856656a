//! The read-eval-print loop, in its two modes.
//!
//! - **Interactive** (stdin is a terminal): a prompt, line editing and
//!   history from rustyline.
//! - **Pipe** (stdin is a file or a pipe): read a line, print its reply,
//!   flush, repeat; exit at end of input. No prompt, so the output is only
//!   the replies, one per command, as `redis-cli` prints them in a pipe.
//!
//! Both modes hand each line to a [`LineHandler`]: this lesson's
//! [`Session`], or a later lesson's session with more commands.

use std::io::{self, BufRead, IsTerminal, Write};
use std::process::ExitCode;

use rustyline::DefaultEditor;
use rustyline::error::ReadlineError;

use crate::clock::Clock;
use crate::reply::Reply;
use crate::session::Session;

/// Something that answers lines of input: what the REPL drives.
pub trait LineHandler {
    /// The reply to one line, or `None` for a blank line.
    fn handle_line(&mut self, line: &[u8]) -> Option<Reply>;
    /// Whether the conversation is over (QUIT).
    fn is_closed(&self) -> bool;
    /// The interactive prompt: `kv> ` unless the session says otherwise
    /// (lesson 6's SQL shows whether a statement is unfinished).
    fn prompt(&self) -> String {
        PROMPT.to_string()
    }
}

impl<C: Clock> LineHandler for Session<C> {
    fn handle_line(&mut self, line: &[u8]) -> Option<Reply> {
        Session::handle_line(self, line)
    }

    fn is_closed(&self) -> bool {
        Session::is_closed(self)
    }
}

/// The prompt of the interactive mode.
pub const PROMPT: &str = "kv> ";

/// What the interactive mode says first.
pub const BANNER: &str =
    "lesson02-kv: an in-memory key-value store. Type HELP for commands, QUIT to leave.";

// ANCHOR: pipe
/// Pipe mode: every line of `input` is a command; each reply is written to
/// `output` and flushed at once, so a program on the other end of a pipe
/// sees it before sending the next command. Returns at end of input or QUIT.
pub fn run_pipe(
    session: &mut impl LineHandler,
    input: impl BufRead,
    mut output: impl Write,
) -> io::Result<()> {
    // Lines are bytes, not strings: a value may be any bytes.
    for line in input.split(b'\n') {
        let mut line = line?;
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        if let Some(reply) = session.handle_line(&line) {
            writeln!(output, "{}", reply.render())?;
            output.flush()?;
        }
        if session.is_closed() {
            break;
        }
    }
    Ok(())
}
// ANCHOR_END: pipe

/// Interactive mode: `banner`, then a prompt with line editing and history
/// (kept for the session only) until QUIT, Ctrl-D or end of input. Ctrl-C
/// clears the line.
pub fn run_interactive(session: &mut impl LineHandler, banner: &str) -> rustyline::Result<()> {
    let mut editor = DefaultEditor::new()?;
    println!("{banner}");
    loop {
        match editor.readline(&session.prompt()) {
            Ok(line) => {
                if !line.trim().is_empty() {
                    editor.add_history_entry(line.as_str())?;
                }
                if let Some(reply) = session.handle_line(line.as_bytes()) {
                    println!("{}", reply.render());
                }
                if session.is_closed() {
                    return Ok(());
                }
            }
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}

/// What a binary's `main` does with a session: interactive on a terminal,
/// pipe mode otherwise. `name` prefixes error messages.
pub fn run(session: &mut impl LineHandler, name: &str, banner: &str) -> ExitCode {
    let result = if io::stdin().is_terminal() {
        run_interactive(session, banner).map_err(|e| e.to_string())
    } else {
        run_pipe(session, io::stdin().lock(), io::stdout().lock()).map_err(|e| e.to_string())
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // A closed stdout (`| head`) is how pipes end; not worth a message.
        Err(e) if e.contains("Broken pipe") => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{name}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// One line of a transcript, as the book shows it: the prompt and the
/// input, then the reply (if any), rendered. Tests that script sessions use it.
pub fn transcript_line(session: &mut impl LineHandler, line: &str) -> String {
    let mut out = format!("{PROMPT}{line}");
    if let Some(reply) = session.handle_line(line.as_bytes()) {
        out.push('\n');
        out.push_str(&reply.render());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::store::Store;

    fn pipe(input: &[u8]) -> String {
        let mut session = Session::new(Store::with_clock(ManualClock::default()));
        let mut out = Vec::new();
        run_pipe(&mut session, input, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn one_reply_per_command_and_none_for_blank_lines() {
        assert_eq!(pipe(b"SET a 1\n\nINCR a\nGET a\n"), "OK\n(integer) 2\n\"2\"\n");
    }

    #[test]
    fn crlf_line_endings_and_a_missing_final_newline() {
        assert_eq!(pipe(b"SET a 1\r\nGET a"), "OK\n\"1\"\n");
    }

    #[test]
    fn quit_stops_reading() {
        assert_eq!(pipe(b"PING\nQUIT\nPING\n"), "PONG\nOK\n");
    }

    #[test]
    fn non_utf8_input_is_just_bytes() {
        assert_eq!(pipe(b"SET k \xff\xfe\nGET k\n"), "OK\n\"\\xff\\xfe\"\n");
    }
}
