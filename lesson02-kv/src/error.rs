//! Errors of the command language, worded after Redis's so that a Redis user
//! recognises them, and so that Redis clients (lesson 5) can parse them.
//!
//! Every error becomes an error reply (`(error) ERR …`); none ends a session.

// ANCHOR: errors
/// What went wrong with a command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The command name is not one we know.
    #[error("ERR unknown command '{0}'")]
    UnknownCommand(String),
    /// Too few or too many arguments; holds the command name, lower-case.
    #[error("ERR wrong number of arguments for '{0}' command")]
    WrongArity(String),
    /// Options that do not parse or do not go together.
    #[error("ERR syntax error")]
    Syntax,
    /// A value or argument that should be a 64-bit integer is not one.
    #[error("ERR value is not an integer or out of range")]
    NotAnInteger,
    /// INCR and friends would leave the range of a 64-bit integer.
    #[error("ERR increment or decrement would overflow")]
    Overflow,
    /// An expire time that is not positive (SET) or overflows (EXPIRE);
    /// holds the command name.
    #[error("ERR invalid expire time in '{0}' command")]
    InvalidExpireTime(String),
    /// A command for one type on a key that holds another.
    #[error("WRONGTYPE Operation against a key holding the wrong kind of value")]
    WrongType,
    /// A score or increment that is not a number (`ZADD`, `ZINCRBY`).
    #[error("ERR value is not a valid float")]
    NotAFloat,
    /// An addition whose result is not a number (`ZINCRBY` of `-inf` on `+inf`).
    #[error("ERR resulting score is not a number (NaN)")]
    NaNResult,
    /// A command-specific error, worded as Redis words it.
    #[error("ERR {0}")]
    Other(&'static str),
    /// A quote was opened and not closed, or a closing quote was followed by
    /// something other than a space.
    #[error("ERR unbalanced quotes in request")]
    UnbalancedQuotes,
}
// ANCHOR_END: errors

/// The result type of the command language.
pub type Result<T> = std::result::Result<T, Error>;
