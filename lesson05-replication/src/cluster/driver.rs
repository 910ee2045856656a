//! The thread that drives one replica: the edge between the pure [`Node`]
//! and the world.
//!
//! It waits for input (a client's command, a message from the bus) or for
//! the next tick, takes everything that has arrived, and steps the node
//! through all of it. Then, in this order: it writes and fsyncs the
//! node's journal, and only then sends the node's messages and answers
//! its clients. One fsync covers every input of the batch, so this is
//! group commit again, for votes and appends this time.

use std::collections::HashMap;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lesson02_kv::SystemClock;
use lesson03_persistence::record::LogRecord;
use tokio::sync::{mpsc, oneshot};

use super::bus::{self, BusFrame};
use crate::replica::disk::DiskLog;
use crate::replica::{Answer, Node, Output, Persist, RequestId, Role, Term};

/// What the replica's thread is handed.
pub enum Input {
    /// A client's command, and where its answer goes.
    Request {
        /// The command.
        args: Vec<Vec<u8>>,
        /// The answer's way back.
        answer: oneshot::Sender<Answer>,
    },
    /// Records to apply through the log (keys moving between shards).
    Import {
        /// The records.
        records: Vec<LogRecord>,
        /// The answer's way back.
        answer: oneshot::Sender<Answer>,
    },
    /// A frame from the bus.
    Bus(BusFrame),
    /// Stop: the server is shutting down.
    Stop,
}

/// The replica, shared with the sessions behind a lock: they take it for
/// local reads (`READONLY`), to ask the role, and for `INFO`. The thread
/// takes it to step the node, and never holds it across an fsync.
pub struct Replica {
    /// The node.
    pub node: Node<SystemClock>,
    /// Journal fsyncs, for `INFO`.
    pub fsyncs: u64,
}

/// Each shard's leader as far as a node knows: the term it was heard of
/// in, and its replica number.
pub type Leaders = Arc<Mutex<Vec<(Term, Option<usize>)>>>;

/// Where the thread sends things.
pub struct Wiring {
    /// This replica's shard and number in it.
    pub shard: usize,
    /// See `shard`.
    pub replica: usize,
    /// The bus to each replica of this shard, by number (`None`: itself).
    pub peers: Vec<Option<mpsc::Sender<Vec<u8>>>>,
    /// The bus to every node of the other shards (more join when a shard
    /// is added).
    pub others: Arc<Mutex<Vec<mpsc::Sender<Vec<u8>>>>>,
    /// The leader of every shard, as far as this node knows.
    pub leaders: Leaders,
    /// How long a tick is.
    pub tick: Duration,
}

/// Runs the replica until `Input::Stop`, or until its journal cannot be
/// written: a replica that cannot keep its promises stops (fail-stop), and
/// the others carry on without it.
pub fn run(
    replica: Arc<Mutex<Replica>>,
    mut disk: DiskLog,
    inbox: Receiver<Input>,
    wiring: Wiring,
) {
    let mut next_tick = Instant::now() + wiring.tick;
    let mut ticks: u64 = 0;
    let mut was_leading = false;
    let mut waiting: HashMap<RequestId, oneshot::Sender<Answer>> = HashMap::new();
    let mut next_request: RequestId = 1;
    loop {
        let mut batch = Vec::new();
        match inbox.recv_timeout(next_tick.saturating_duration_since(Instant::now())) {
            Ok(input) => batch.push(input),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        batch.extend(inbox.try_iter());
        let mut guard = replica.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let node = &mut guard.node;
        let mut outputs = Vec::new();
        for input in batch {
            match input {
                Input::Request { args, answer } => {
                    waiting.insert(next_request, answer);
                    outputs.extend(node.request(next_request, args));
                    next_request += 1;
                }
                Input::Import { records, answer } => {
                    waiting.insert(next_request, answer);
                    outputs.extend(node.import(next_request, records));
                    next_request += 1;
                }
                Input::Bus(BusFrame::Raft { from, message }) => {
                    outputs.extend(node.step(from, message));
                }
                Input::Bus(BusFrame::Leader { shard, term, replica }) => {
                    let mut leaders = wiring.leaders.lock().expect("never poisoned");
                    if let Some(known) = leaders.get_mut(shard)
                        && term >= known.0
                    {
                        *known = (term, Some(replica));
                    }
                }
                Input::Stop => return,
            }
        }
        let ticked = Instant::now() >= next_tick;
        if ticked {
            next_tick += wiring.tick;
            ticks += 1;
            outputs.extend(node.tick());
        }
        let (term, leader, leading) = (node.term(), node.leader(), node.role() == Role::Leader);
        let journal = node.take_journal();
        // Rewriting the file for a snapshot needs the whole state: a copy,
        // so that the lock is not held while it is written.
        let snapshot = journal.iter().any(|c| matches!(c, Persist::Snapshot(_)));
        let state = snapshot.then(|| node.durable().clone());
        drop(guard);

        // ANCHOR: persist_then_send
        if !journal.is_empty() {
            if let Err(e) = disk.write(&journal, state.as_ref()) {
                eprintln!(
                    "replica {}/{}: journal write failed, stopping: {e}",
                    wiring.shard, wiring.replica
                );
                return;
            }
            replica.lock().unwrap_or_else(std::sync::PoisonError::into_inner).fsyncs += 1;
        }
        for output in outputs {
            match output {
                Output::Send { to, message } => {
                    let frame = BusFrame::Raft { from: wiring.replica, message };
                    if let Some(Some(peer)) = wiring.peers.get(to) {
                        // A full queue means the peer is far behind or
                        // gone: drop, as the network would.
                        let _ = peer.try_send(bus::encode(&frame));
                    }
                }
                Output::Answer { request, answer } => {
                    if let Some(waiting) = waiting.remove(&request) {
                        let _ = waiting.send(answer);
                    }
                }
            }
        }
        // ANCHOR_END: persist_then_send
        // Tell the other shards' nodes who leads this one: at once when it
        // starts to, and ten times a second after that.
        if leading && (!was_leading || (ticked && ticks.is_multiple_of(10))) {
            let frame = bus::encode(&BusFrame::Leader {
                shard: wiring.shard,
                term,
                replica: wiring.replica,
            });
            for other in wiring.others.lock().expect("never poisoned").iter() {
                let _ = other.try_send(frame.clone());
            }
        }
        was_leading = leading;
        let mut leaders = wiring.leaders.lock().expect("never poisoned");
        if term >= leaders[wiring.shard].0 {
            leaders[wiring.shard] = (term, leader);
        }
    }
}
