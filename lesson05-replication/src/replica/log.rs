//! The replicated log and the snapshot it starts from: what a replica keeps
//! on disk, and all it has after a crash.

use lesson03_persistence::record::LogRecord;
use serde::{Deserialize, Serialize};

use super::message::{Entry, Index, NodeId, Term};

/// The state up to some entry, standing in for the entries before it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The last entry it includes (0: none).
    pub last_index: Index,
    /// That entry's term.
    pub last_term: Term,
    /// The state, as records.
    pub state: Vec<LogRecord>,
}

// ANCHOR: log
/// A snapshot, then the entries after it: `entries[0].index` is
/// `snapshot.last_index + 1`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Log {
    snapshot: Snapshot,
    entries: Vec<Entry>,
}
// ANCHOR_END: log

impl Log {
    /// The snapshot the log starts from.
    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    /// The index of the last entry (the snapshot's if there are none).
    pub fn last_index(&self) -> Index {
        self.entries.last().map_or(self.snapshot.last_index, |e| e.index)
    }

    /// The term of the last entry.
    pub fn last_term(&self) -> Term {
        self.entries.last().map_or(self.snapshot.last_term, |e| e.term)
    }

    /// The term of the entry at `index`, if the log still knows it: not if
    /// it is past the end, nor compacted into the snapshot (except the
    /// snapshot's last entry, whose term the snapshot keeps).
    pub fn term_at(&self, index: Index) -> Option<Term> {
        if index == self.snapshot.last_index {
            return Some(self.snapshot.last_term);
        }
        self.get(index).map(|e| e.term)
    }

    /// The entry at `index`, unless it is compacted or past the end.
    pub fn get(&self, index: Index) -> Option<&Entry> {
        let offset = index.checked_sub(self.snapshot.last_index + 1)?;
        self.entries.get(usize::try_from(offset).ok()?)
    }

    /// Up to `max` entries from `index` on.
    pub fn entries_from(&self, index: Index, max: usize) -> Vec<Entry> {
        let offset = index.saturating_sub(self.snapshot.last_index + 1) as usize;
        self.entries.iter().skip(offset).take(max).cloned().collect()
    }

    /// The entries in `from..=to`, those the log still has.
    pub fn range(&self, from: Index, to: Index) -> impl Iterator<Item = &Entry> {
        let offset = from.saturating_sub(self.snapshot.last_index + 1) as usize;
        self.entries.iter().skip(offset).take_while(move |e| e.index <= to)
    }

    /// Appends `entry`, which must come next.
    pub fn push(&mut self, entry: Entry) {
        assert_eq!(entry.index, self.last_index() + 1, "log entries are appended in order");
        self.entries.push(entry);
    }

    /// Removes the entries from `index` on: they conflict with the leader's.
    pub fn truncate_from(&mut self, index: Index) {
        assert!(index > self.snapshot.last_index, "entries in the snapshot are committed");
        let keep = (index - self.snapshot.last_index - 1) as usize;
        self.entries.truncate(keep);
    }

    /// Replaces the entries up to `snapshot.last_index` by `snapshot`. The
    /// entries after it stay if the log agrees with the snapshot's last
    /// entry; otherwise they are from a stale leader, and go too.
    pub fn install(&mut self, snapshot: Snapshot) {
        let agrees = self.term_at(snapshot.last_index) == Some(snapshot.last_term);
        if agrees {
            let drop = (snapshot.last_index - self.snapshot.last_index) as usize;
            self.entries.drain(..drop.min(self.entries.len()));
        } else {
            self.entries.clear();
        }
        self.snapshot = snapshot;
    }

    /// The number of entries after the snapshot.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

// ANCHOR: durable
/// What a replica must find again after a crash: Raft's persistent state.
/// A replica writes it durably before sending any message that depends on
/// it: a vote, or an acknowledgement of entries.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Durable {
    /// The latest term it has seen.
    pub term: Term,
    /// Whom it voted for in that term.
    pub vote: Option<NodeId>,
    /// Its log.
    pub log: Log,
}
// ANCHOR_END: durable

// ANCHOR: persist
/// One change to a replica's durable state, in the order it was made. The
/// node lists them as it goes ([`Node::take_journal`](super::Node::take_journal));
/// whoever drives it must make them durable before sending the messages of
/// the same step: a vote promised, or entries acknowledged, and then
/// forgotten in a crash, would break the promise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Persist {
    /// The term, and the vote in it, changed.
    Vote {
        /// The new term.
        term: Term,
        /// The vote in it.
        vote: Option<NodeId>,
    },
    /// An entry was appended.
    Append(Entry),
    /// The entries from this index on were removed.
    TruncateFrom(Index),
    /// A snapshot replaced the entries up to its last index.
    Snapshot(Snapshot),
}
// ANCHOR_END: persist

impl Durable {
    /// Applies `change`, as recovery replays it.
    pub fn apply(&mut self, change: Persist) {
        match change {
            Persist::Vote { term, vote } => {
                self.term = term;
                self.vote = vote;
            }
            Persist::Append(entry) => self.log.push(entry),
            Persist::TruncateFrom(index) => self.log.truncate_from(index),
            Persist::Snapshot(snapshot) => self.log.install(snapshot),
        }
    }
}
