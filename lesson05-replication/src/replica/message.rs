//! What replicas say to each other, and what a node answers its clients.
//!
//! The four messages of Raft, plus a snapshot for a follower the leader
//! can no longer catch up from its log. Every message carries the sender's
//! term: that one number is how a deposed leader learns it is deposed.

use lesson02_kv::Reply;
use lesson03_persistence::record::LogRecord;
use serde::{Deserialize, Serialize};

/// A replica's number within its shard.
pub type NodeId = usize;
/// An election term: each term has at most one leader.
pub type Term = u64;
/// A position in the replicated log, from 1; 0 means "before the first".
pub type Index = u64;

// ANCHOR: entry
/// One entry of the replicated log: the records of one command (lesson 3's
/// log records, stating results), at its position, in the term of the
/// leader that appended it. A read has no records: its entry only marks
/// its place in the order of commands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// The leader's term when it appended the entry.
    pub term: Term,
    /// Its position: lesson 3's sequence number, now shared by every replica.
    pub index: Index,
    /// What the command changed.
    pub records: Vec<LogRecord>,
}
// ANCHOR_END: entry

// ANCHOR: message
/// A message between two replicas of a shard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Message {
    /// A candidate asks for a vote.
    RequestVote {
        /// The candidate's term.
        term: Term,
        /// Its last entry's index and term: how up to date its log is.
        last_index: Index,
        /// See `last_index`.
        last_term: Term,
    },
    /// The answer to a `RequestVote`.
    Vote {
        /// The voter's term.
        term: Term,
        /// Whether the vote was given.
        granted: bool,
    },
    /// The leader's log from `prev_index + 1` (possibly nothing: a
    /// heartbeat), and how far it is committed.
    Append {
        /// The leader's term.
        term: Term,
        /// The index of the entry just before `entries`.
        prev_index: Index,
        /// And its term: the follower must have that entry to accept.
        prev_term: Term,
        /// New entries, oldest first.
        entries: Vec<Entry>,
        /// The leader's commit index.
        commit: Index,
    },
    /// The answer to an `Append` or a `Snapshot`.
    Appended {
        /// The follower's term.
        term: Term,
        /// Whether the entries were accepted.
        success: bool,
        /// On success, the last index known to match the leader's log; on
        /// failure, the follower's last index, a hint for where to retry.
        index: Index,
    },
    /// The leader's state up to `last_index`, for a follower that needs
    /// entries the leader has compacted away.
    Snapshot {
        /// The leader's term.
        term: Term,
        /// The snapshot covers the log up to this entry.
        last_index: Index,
        /// And its term.
        last_term: Term,
        /// The whole state, as records (lesson 3's snapshot, one `Put` per
        /// key).
        state: Vec<LogRecord>,
    },
}
// ANCHOR_END: message

impl Message {
    /// The sender's term.
    pub fn term(&self) -> Term {
        match self {
            Message::RequestVote { term, .. }
            | Message::Vote { term, .. }
            | Message::Append { term, .. }
            | Message::Appended { term, .. }
            | Message::Snapshot { term, .. } => *term,
        }
    }
}

/// Who asked: chosen by the caller, handed back with the answer.
pub type RequestId = u64;

/// What became of a client's command.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// It ran (and, for a write, is as durable as the write quorum says).
    Done(Reply),
    /// This replica does not lead: ask the one named, if it knows one. The
    /// command did not run.
    NotLeader(Option<NodeId>),
    /// This replica lost the lead after appending the command: it may yet
    /// be committed by the next leader, or may not. The client cannot know.
    Unknown,
}

/// What a step of a node asks the world to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Send `message` to replica `to`.
    Send {
        /// The receiver.
        to: NodeId,
        /// The message.
        message: Message,
    },
    /// Answer the client request `request`.
    Answer {
        /// The request.
        request: RequestId,
        /// The answer.
        answer: Answer,
    },
}
