//! A replica of one shard: Raft's leader election and log replication, as
//! pure logic.
//!
//! A [`Node`] does no I/O and reads no clock of its own. The world hands it
//! a message ([`Node::step`]), a client's command ([`Node::request`]) or the
//! passing of time ([`Node::tick`]), and it answers with [`Output`]s: send
//! this message, answer that client. Whoever drives it owns delivery: the
//! TCP transport in a real cluster, or the [simulator](crate::simulation),
//! which delivers late, twice, or never, and crashes nodes, all from a
//! seed. The same code runs in both.
//!
//! The state machine is lesson 2's store. The leader executes a command on
//! its store at once, and appends the records the command produced (lesson
//! 3's log records, which state results) to the replicated log; followers
//! apply records once they are committed. A leader's store can therefore
//! run ahead of the commit index; if it loses the lead before those
//! entries commit, it rebuilds its store from the committed log.

pub mod disk;
pub mod log;
pub mod message;

use std::collections::{BTreeMap, BTreeSet};

use lesson02_kv::{Change, Clock, Reply, Store};
use lesson03_persistence::record::LogRecord;

use crate::rng::Rng;
pub use log::{Durable, Log, Persist, Snapshot};
pub use message::{Answer, Entry, Index, Message, NodeId, Output, RequestId, Term};

// ANCHOR: quorum
/// When a write is acknowledged to its client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum WriteQuorum {
    /// As soon as the leader has it durably (asynchronous replication, as
    /// Redis does by default): fast, but a leader that fails before its
    /// followers have the write takes it with it.
    #[value(name = "1")]
    One,
    /// Once a majority of the shard's replicas have it durably: then any
    /// replica that can win an election has it too.
    #[default]
    Majority,
}
// ANCHOR_END: quorum

/// A mistake planted on purpose, to show that the simulation catches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bug {
    /// Acknowledge a write once the leader has it, while promising a
    /// majority.
    AckBeforeQuorum,
    /// Vote for a candidate without checking that its log is at least as up
    /// to date as the voter's.
    VoteWithoutLogCheck,
}

/// How a replica behaves; the same on every replica of a shard.
#[derive(Debug, Clone)]
pub struct Config {
    /// A follower that hears from no leader for this many ticks, plus a
    /// random number of ticks below it, starts an election.
    pub election_ticks: u64,
    /// The leader sends a heartbeat every this many ticks: well under the
    /// election timeout, so that a live leader is never voted out.
    pub heartbeat_ticks: u64,
    /// When writes are acknowledged.
    pub quorum: WriteQuorum,
    /// Entries in one `Append`, at most.
    pub max_batch: usize,
    /// Compact the log into a snapshot once this many committed entries
    /// follow the last snapshot.
    pub compact_after: usize,
    /// Seeds the election timeouts.
    pub seed: u64,
    /// A planted bug, for the simulation's own tests.
    pub bug: Option<Bug>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            election_ticks: 10,
            heartbeat_ticks: 2,
            quorum: WriteQuorum::Majority,
            max_batch: 256,
            compact_after: 10_000,
            seed: 0,
            bug: None,
        }
    }
}

/// A replica's role in its current term.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Follows a leader (or waits for one).
    Follower,
    /// Asks for votes.
    Candidate,
    /// Leads: takes commands, replicates them.
    Leader,
}

// ANCHOR: leading
/// What the leader knows of its followers, and whom it owes an answer.
#[derive(Debug, Default)]
struct Leading {
    /// The next entry to send to each follower.
    next: BTreeMap<NodeId, Index>,
    /// The last entry each follower is known to have.
    matched: BTreeMap<NodeId, Index>,
    /// Commands appended but not yet answered, by their entry's index.
    pending: BTreeMap<Index, (RequestId, Reply)>,
    /// Ticks since the last heartbeat.
    since_heartbeat: u64,
}
// ANCHOR_END: leading

/// One replica: its durable state, its role, and its copy of the store.
pub struct Node<C: Clock + Clone> {
    id: NodeId,
    peers: Vec<NodeId>,
    config: Config,
    durable: Durable,
    role: Role,
    leading: Leading,
    votes: BTreeSet<NodeId>,
    leader: Option<NodeId>,
    /// The last entry known to be committed.
    commit: Index,
    /// The last entry applied to `store`: at most `commit`, except on a
    /// leader, whose store runs ahead.
    applied: Index,
    store: Store<C>,
    clock: C,
    rng: Rng,
    /// Ticks since the last sign of a leader (or since the last election).
    elapsed: u64,
    /// This term's election timeout, randomized.
    timeout: u64,
    outputs: Vec<Output>,
    /// Changes to `durable` not yet taken by the driver.
    journal: Vec<Persist>,
}

impl<C: Clock + Clone> Node<C> {
    /// A new replica `id` in a shard with `peers`, with an empty log.
    pub fn new(id: NodeId, peers: Vec<NodeId>, config: Config, clock: C) -> Self {
        Self::restart(id, peers, config, Durable::default(), clock)
    }

    /// A replica coming back from a crash with what it had made durable.
    /// It starts as a follower; its store is the snapshot's, and the
    /// entries after it are applied once a leader says they are committed.
    pub fn restart(
        id: NodeId,
        peers: Vec<NodeId>,
        config: Config,
        durable: Durable,
        clock: C,
    ) -> Self {
        let rng = Rng::new(config.seed ^ (id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let committed = durable.log.snapshot().last_index;
        let mut node = Self {
            id,
            peers: peers.into_iter().filter(|&p| p != id).collect(),
            config,
            durable,
            role: Role::Follower,
            leading: Leading::default(),
            votes: BTreeSet::new(),
            leader: None,
            commit: committed,
            applied: committed,
            store: Store::with_clock(clock.clone()),
            clock,
            rng,
            elapsed: 0,
            timeout: 0,
            outputs: Vec::new(),
            journal: Vec::new(),
        };
        node.rebuild(committed);
        node.reset_timeout();
        node
    }

    /// Its id.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// Its role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Its current term.
    pub fn term(&self) -> Term {
        self.durable.term
    }

    /// The leader it follows, if it knows one (itself, if it leads).
    pub fn leader(&self) -> Option<NodeId> {
        self.leader
    }

    /// The last committed entry it knows of.
    pub fn commit_index(&self) -> Index {
        self.commit
    }

    /// Its durable state: what survives a crash.
    pub fn durable(&self) -> &Durable {
        &self.durable
    }

    /// The changes made to its durable state since the last call, oldest
    /// first: to be made durable before the outputs of the same calls are
    /// acted on.
    pub fn take_journal(&mut self) -> Vec<Persist> {
        std::mem::take(&mut self.journal)
    }

    fn save_vote(&mut self) {
        let (term, vote) = (self.durable.term, self.durable.vote);
        self.journal.push(Persist::Vote { term, vote });
    }

    fn push_entry(&mut self, entry: Entry) {
        self.journal.push(Persist::Append(entry.clone()));
        self.durable.log.push(entry);
    }

    fn install_snapshot(&mut self, snapshot: Snapshot) {
        self.journal.push(Persist::Snapshot(snapshot.clone()));
        self.durable.log.install(snapshot);
    }

    /// Its store's contents, sorted: for comparing replicas. A string is
    /// its bytes; any other value, the record that rebuilds it, written out.
    pub fn contents(&mut self) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut pairs: Vec<_> = self
            .store
            .dump()
            .into_iter()
            .filter_map(|change| match change {
                Change::Put { key, value, .. } => Some((key, value)),
                other => Some((other.key()?.to_vec(), format!("{other:?}").into_bytes())),
            })
            .collect();
        let _ = self.store.take_changes();
        pairs.sort();
        pairs
    }

    fn majority(&self) -> usize {
        // More than half of the shard: the peers and this replica.
        let replicas = self.peers.len() + 1;
        replicas / 2 + 1
    }

    fn send(&mut self, to: NodeId, message: Message) {
        self.outputs.push(Output::Send { to, message });
    }

    fn answer(&mut self, request: RequestId, answer: Answer) {
        self.outputs.push(Output::Answer { request, answer });
    }

    fn reset_timeout(&mut self) {
        self.elapsed = 0;
        self.timeout = self.config.election_ticks + self.rng.below(self.config.election_ticks);
    }

    // ANCHOR: tick
    /// One unit of time passes: a leader may owe a heartbeat, anyone else
    /// may have waited long enough to stand for election.
    pub fn tick(&mut self) -> Vec<Output> {
        self.elapsed += 1;
        if self.role == Role::Leader {
            self.leading.since_heartbeat += 1;
            if self.leading.since_heartbeat >= self.config.heartbeat_ticks {
                self.leading.since_heartbeat = 0;
                for peer in self.peers.clone() {
                    self.send_append(peer);
                }
            }
        } else if self.elapsed >= self.timeout {
            self.campaign();
        }
        std::mem::take(&mut self.outputs)
    }
    // ANCHOR_END: tick

    /// Stands for election: a new term, a vote for itself, and a request
    /// for the others' votes.
    fn campaign(&mut self) {
        self.step_down(self.durable.term + 1, None);
        self.reset_timeout();
        self.role = Role::Candidate;
        self.durable.vote = Some(self.id);
        self.save_vote();
        self.votes = BTreeSet::from([self.id]);
        let (last_index, last_term) = (self.durable.log.last_index(), self.durable.log.last_term());
        let term = self.durable.term;
        for peer in self.peers.clone() {
            self.send(peer, Message::RequestVote { term, last_index, last_term });
        }
        if self.votes.len() >= self.majority() {
            self.become_leader();
        }
    }

    // ANCHOR: step_down
    /// Becomes a follower in `term` (a later one, or the same), following
    /// `leader` if known. A leader stepping down answers its waiting
    /// clients "unknown", and forgets what it ran ahead of the commit index.
    fn step_down(&mut self, term: Term, leader: Option<NodeId>) {
        if term > self.durable.term {
            self.durable.term = term;
            self.durable.vote = None;
            self.save_vote();
        }
        if self.role == Role::Leader {
            for (_, (request, _)) in std::mem::take(&mut self.leading.pending) {
                self.answer(request, Answer::Unknown);
            }
            self.leading = Leading::default();
            // A leader's election clock was not running: start it now.
            self.reset_timeout();
        }
        if self.applied > self.commit {
            self.rebuild(self.commit);
        }
        self.role = Role::Follower;
        self.leader = leader;
        // Otherwise the clock runs on. Hearing of a later term is no sign
        // of a leader: a follower that reset its clock for every refused
        // candidate would keep the one that could win from standing.
    }

    /// Makes the store the snapshot plus the log's entries up to `upto`.
    fn rebuild(&mut self, upto: Index) {
        self.store = Store::with_clock(self.clock.clone());
        let snapshot = self.durable.log.snapshot();
        for record in &snapshot.state {
            if let Some(change) = record.clone().into_change() {
                self.store.apply(change);
            }
        }
        let from = snapshot.last_index + 1;
        for entry in self.durable.log.range(from, upto) {
            for record in &entry.records {
                if let Some(change) = record.clone().into_change() {
                    self.store.apply(change);
                }
            }
        }
        self.store.record_changes();
        self.applied = upto;
    }
    // ANCHOR_END: step_down

    // ANCHOR: become_leader
    /// Wins an election: every follower is assumed to be up to date until
    /// it says otherwise.
    fn become_leader(&mut self) {
        self.role = Role::Leader;
        self.leader = Some(self.id);
        let next = self.durable.log.last_index() + 1;
        self.leading = Leading {
            next: self.peers.iter().map(|&p| (p, next)).collect(),
            matched: self.peers.iter().map(|&p| (p, 0)).collect(),
            ..Leading::default()
        };
        // Run ahead over the entries of earlier terms that may not be
        // committed yet: the commands to come follow them in the log.
        self.apply_up_to(self.durable.log.last_index());
        // An entry of its own term: entries of earlier terms are committed
        // only by committing one of the current term (Raft, §5.4.2).
        self.append(Vec::new());
        for peer in self.peers.clone() {
            self.send_append(peer);
        }
        self.advance_commit();
    }
    // ANCHOR_END: become_leader

    fn append(&mut self, records: Vec<LogRecord>) -> Index {
        let index = self.durable.log.last_index() + 1;
        self.push_entry(Entry { term: self.durable.term, index, records });
        self.applied = index;
        index
    }

    fn apply_up_to(&mut self, upto: Index) {
        while self.applied < upto {
            let Some(entry) = self.durable.log.get(self.applied + 1) else { break };
            for record in entry.records.clone() {
                if let Some(change) = record.into_change() {
                    self.store.apply(change);
                }
            }
            self.applied += 1;
        }
    }

    // ANCHOR: request
    /// A client's command. The leader runs it on its store, appends what it
    /// changed, and answers once the write quorum has the entry; anyone
    /// else names the leader instead.
    pub fn request(&mut self, request: RequestId, args: Vec<Vec<u8>>) -> Vec<Output> {
        if self.role != Role::Leader {
            self.answer(request, Answer::NotLeader(self.leader));
            return std::mem::take(&mut self.outputs);
        }
        let reply = match lesson02_kv::command::parse(args) {
            Ok(command) => lesson02_kv::execute::execute(&mut self.store, command),
            Err(e) => {
                self.answer(request, Answer::Done(Reply::error(&e)));
                return std::mem::take(&mut self.outputs);
            }
        };
        let records: Vec<LogRecord> =
            self.store.take_changes().into_iter().map(LogRecord::from).collect();
        // A read appends an entry too, with no records: it is answered when
        // that entry commits, which proves this node still led when it
        // read (a deposed leader's entries never commit).
        let is_write = !records.is_empty();
        let index = self.append(records);
        let early = self.config.quorum == WriteQuorum::One
            || (is_write && self.config.bug == Some(Bug::AckBeforeQuorum));
        if early {
            self.answer(request, Answer::Done(reply));
        } else {
            self.leading.pending.insert(index, (request, reply));
        }
        for peer in self.peers.clone() {
            self.send_append(peer);
        }
        self.advance_commit();
        std::mem::take(&mut self.outputs)
    }
    // ANCHOR_END: request

    // ANCHOR: export_import
    /// The records that rebuild the keys `wanted` picks: what moving those
    /// keys to another shard copies. On a leader, only meaningful once the
    /// keys are no longer written and their entries are committed.
    pub fn export(&mut self, wanted: impl Fn(&[u8]) -> bool) -> Vec<LogRecord> {
        let state = self.store.dump();
        if self.role != Role::Leader {
            let _ = self.store.take_changes();
        }
        state
            .into_iter()
            .filter(|change| change.key().is_some_and(&wanted))
            .map(LogRecord::from)
            .collect()
    }

    /// Applies `records` through the log, as a command would: how a shard
    /// takes keys moved to it (`Put`s) and gives them up (`Delete`s).
    pub fn import(&mut self, request: RequestId, records: Vec<LogRecord>) -> Vec<Output> {
        if self.role != Role::Leader {
            self.answer(request, Answer::NotLeader(self.leader));
            return std::mem::take(&mut self.outputs);
        }
        for record in &records {
            if let Some(change) = record.clone().into_change() {
                self.store.apply(change);
            }
        }
        let index = self.append(records);
        if self.config.quorum == WriteQuorum::One {
            self.answer(request, Answer::Done(Reply::ok()));
        } else {
            self.leading.pending.insert(index, (request, Reply::ok()));
        }
        for peer in self.peers.clone() {
            self.send_append(peer);
        }
        self.advance_commit();
        std::mem::take(&mut self.outputs)
    }
    // ANCHOR_END: export_import

    /// Runs a read on this replica's store as it is, without the log: on a
    /// follower, the committed state as far as it has heard, which may be
    /// behind the leader's (Redis's `READONLY` reads from replicas). A write
    /// is refused: only the leader changes the store.
    pub fn read_local(&mut self, args: Vec<Vec<u8>>) -> Reply {
        let reply = match lesson02_kv::command::parse(args) {
            Ok(command) if command.is_write() => {
                Reply::Error("READONLY You can't write against a read only replica.".into())
            }
            Ok(command) => lesson02_kv::execute::execute(&mut self.store, command),
            Err(e) => Reply::error(&e),
        };
        // Expired keys the read removed: every replica removes them itself,
        // since their deadlines came with the records.
        if self.role != Role::Leader {
            let _ = self.store.take_changes();
        }
        reply
    }

    // ANCHOR: send_append
    /// Sends `to` what it lacks: entries from its next index, or the
    /// snapshot if those entries are compacted away. The next index moves
    /// on at once, so a stream of commands is sent as a stream; a lost
    /// message shows as a refusal, which moves it back.
    fn send_append(&mut self, to: NodeId) {
        let next = self.leading.next[&to];
        let log = &self.durable.log;
        let term = self.durable.term;
        let message = if next <= log.snapshot().last_index {
            let snapshot = log.snapshot().clone();
            self.leading.next.insert(to, snapshot.last_index + 1);
            Message::Snapshot {
                term,
                last_index: snapshot.last_index,
                last_term: snapshot.last_term,
                state: snapshot.state,
            }
        } else {
            let prev_index = next - 1;
            let prev_term = log.term_at(prev_index).expect("the leader has its own log");
            let entries = log.entries_from(next, self.config.max_batch);
            self.leading.next.insert(to, next + entries.len() as Index);
            Message::Append { term, prev_index, prev_term, entries, commit: self.commit }
        };
        self.send(to, message);
    }
    // ANCHOR_END: send_append

    // ANCHOR: step
    /// A message from replica `from`. Any message from a later term makes
    /// this replica a follower in that term first: that is how a deposed
    /// leader learns it no longer leads, and stops acknowledging writes.
    pub fn step(&mut self, from: NodeId, message: Message) -> Vec<Output> {
        if message.term() > self.durable.term {
            self.step_down(message.term(), None);
        }
        let stale = message.term() < self.durable.term;
        match message {
            Message::RequestVote { last_index, last_term, .. } => {
                let granted = !stale && self.grants_vote(from, last_index, last_term);
                if granted {
                    self.durable.vote = Some(from);
                    self.save_vote();
                    self.reset_timeout();
                }
                self.send(from, Message::Vote { term: self.durable.term, granted });
            }
            Message::Vote { granted, .. } => {
                if !stale && self.role == Role::Candidate && granted {
                    self.votes.insert(from);
                    if self.votes.len() >= self.majority() {
                        self.become_leader();
                    }
                }
            }
            Message::Append { prev_index, prev_term, entries, commit, .. } => {
                let reply = if stale {
                    (false, self.durable.log.last_index())
                } else {
                    self.follow(from);
                    self.accept(prev_index, prev_term, entries, commit)
                };
                let (success, index) = reply;
                self.send(from, Message::Appended { term: self.durable.term, success, index });
            }
            Message::Snapshot { last_index, last_term, state, .. } => {
                if !stale {
                    self.follow(from);
                    self.install(Snapshot { last_index, last_term, state });
                }
                let (term, success) = (self.durable.term, !stale);
                let index = if stale { self.durable.log.last_index() } else { last_index };
                self.send(from, Message::Appended { term, success, index });
            }
            Message::Appended { success, index, .. } => {
                if !stale && self.role == Role::Leader {
                    self.acknowledged(from, success, index);
                }
            }
        }
        std::mem::take(&mut self.outputs)
    }
    // ANCHOR_END: step

    // ANCHOR: vote
    /// Whether to vote for `candidate`, whose term is this replica's
    /// current term: one vote per term, and only for a log at least as up
    /// to date as ours (a later last term, or the same term and at least as
    /// long). A committed entry is on a majority; a candidate needs a
    /// majority's votes; so every winner has every committed entry.
    fn grants_vote(&self, candidate: NodeId, last_index: Index, last_term: Term) -> bool {
        // exercise 5.6: begin
        let free = self.durable.vote.is_none_or(|v| v == candidate);
        let ours = (self.durable.log.last_term(), self.durable.log.last_index());
        let up_to_date = (last_term, last_index) >= ours;
        free && (up_to_date || self.config.bug == Some(Bug::VoteWithoutLogCheck))
        // exercise 5.6: end
    }
    // ANCHOR_END: vote

    /// Hears from the leader of the current term.
    fn follow(&mut self, leader: NodeId) {
        if self.role != Role::Follower {
            self.step_down(self.durable.term, Some(leader));
        }
        self.leader = Some(leader);
        self.reset_timeout();
    }

    // ANCHOR: accept
    /// A follower's part of `Append`: take the entries if the log has the
    /// one before them, drop any of ours they contradict, and commit what
    /// the leader has committed. Answers with success and the last index
    /// known to match, or failure and a hint where to retry.
    fn accept(
        &mut self,
        prev_index: Index,
        prev_term: Term,
        entries: Vec<Entry>,
        leader_commit: Index,
    ) -> (bool, Index) {
        let log = &self.durable.log;
        if prev_index > log.last_index() {
            return (false, log.last_index());
        }
        // Entries up to the snapshot are committed, so they match.
        let snapshot = log.snapshot().last_index;
        let matched = prev_index + entries.len() as Index;
        if prev_index >= snapshot && log.term_at(prev_index) != Some(prev_term) {
            return (false, prev_index - 1);
        }
        for entry in entries.into_iter().filter(|e| e.index > snapshot) {
            match self.durable.log.term_at(entry.index) {
                Some(term) if term == entry.term => continue,
                Some(_) => {
                    // A stale leader's entry: never committed (else the
                    // leader would have it), so it can go. A follower
                    // applies only committed entries, so in correct Raft
                    // this entry is not applied yet; if a broken leader
                    // (a planted bug) overwrites one that is, rebuild, and
                    // leave it to the simulation's invariants to object.
                    if entry.index <= self.applied {
                        self.commit = self.commit.min(entry.index - 1);
                        self.rebuild(entry.index - 1);
                    }
                    self.durable.log.truncate_from(entry.index);
                    self.journal.push(Persist::TruncateFrom(entry.index));
                }
                None => {}
            }
            self.push_entry(entry);
        }
        let matched = matched.max(snapshot);
        if leader_commit.min(matched) > self.commit {
            self.commit = leader_commit.min(matched);
            self.apply_up_to(self.commit);
            self.maybe_compact();
        }
        (true, matched)
    }
    // ANCHOR_END: accept

    /// A follower's part of `Snapshot`.
    fn install(&mut self, snapshot: Snapshot) {
        if snapshot.last_index <= self.commit {
            return; // We have all of it already.
        }
        let last = snapshot.last_index;
        self.install_snapshot(snapshot);
        self.commit = last;
        self.rebuild(last);
    }

    // ANCHOR: acknowledged
    /// The leader hears back from `from`.
    fn acknowledged(&mut self, from: NodeId, success: bool, index: Index) {
        if success {
            // Never beyond our own log: only a broken replica could claim
            // that, but a claim is no reason to crash.
            let index = index.min(self.durable.log.last_index());
            let matched = self.leading.matched.entry(from).or_default();
            *matched = (*matched).max(index);
            let next = self.leading.next.entry(from).or_default();
            *next = (*next).max(index + 1);
            let before = self.commit;
            self.advance_commit();
            if self.commit > before {
                // Tell every follower at once, rather than at the next
                // heartbeat: a follower read (`READONLY`) then lags by a
                // round trip, not by up to a heartbeat interval.
                for peer in self.peers.clone() {
                    self.send_append(peer);
                }
            } else if self.leading.next[&from] <= self.durable.log.last_index() {
                self.send_append(from);
            }
        } else if index + 1 < self.leading.next[&from] {
            self.leading.next.insert(from, index + 1);
            self.send_append(from);
        }
    }
    // ANCHOR_END: acknowledged

    // ANCHOR: advance_commit
    /// Commits what a majority has, then answers the clients waiting on
    /// those entries.
    fn advance_commit(&mut self) {
        self.commit = self.commit.max(self.majority_has());
        let later = self.leading.pending.split_off(&(self.commit + 1));
        for (_, (request, reply)) in std::mem::replace(&mut self.leading.pending, later) {
            self.answer(request, Answer::Done(reply));
        }
        self.maybe_compact();
    }

    /// The last entry of this term that a majority of replicas has,
    /// counting the leader's own log; 0 if there is none.
    fn majority_has(&self) -> Index {
        // exercise 5.7: begin
        let mut matched: Vec<Index> = self.leading.matched.values().copied().collect();
        matched.push(self.durable.log.last_index());
        matched.sort_unstable_by(|a, b| b.cmp(a));
        // The majority-th highest: that many replicas have at least it.
        let agreed = matched[self.majority() - 1];
        // Only an entry of the current term is committed by counting.
        if self.durable.log.term_at(agreed) == Some(self.durable.term) { agreed } else { 0 }
        // exercise 5.7: end
    }
    // ANCHOR_END: advance_commit

    /// Folds the committed entries into a snapshot once there are enough
    /// of them. Only when the store holds exactly the committed state,
    /// which it does not while a leader runs ahead.
    fn maybe_compact(&mut self) {
        let log = &self.durable.log;
        if self.applied != self.commit
            || (self.commit - log.snapshot().last_index) < self.config.compact_after as Index
        {
            return;
        }
        let last_term = log.term_at(self.commit).expect("committed entries are in the log");
        let state = self.store.dump().into_iter().map(LogRecord::from).collect();
        let _ = self.store.take_changes();
        self.install_snapshot(Snapshot { last_index: self.commit, last_term, state });
    }
}
