//! A deterministic simulation of one shard: its replicas, a network that
//! misbehaves, clients that record what they saw, all in one thread, all
//! from one seed.
//!
//! FoundationDB and TigerBeetle test this way: the code under test is the
//! real replica logic ([`Node`]), and everything around it that could vary
//! (message order, delays, losses, crashes, timeouts) comes from a seeded
//! random number generator. A run explores thousands of interleavings in a
//! second; a failing seed replays exactly, as often as needed to debug it.
//!
//! Each tick the simulation
//! 1. injects faults: crashes a replica (it keeps only its durable state)
//!    or restarts one, partitions the network in two or heals it;
//! 2. delivers the messages due, each one delayed, maybe dropped, maybe
//!    duplicated, so also reordered;
//! 3. ticks every live replica;
//! 4. lets each client give up on a request that took too long (its
//!    outcome is then unknown) and send its next one;
//! 5. checks the invariants: one leader per term, committed entries never
//!    change.
//!
//! At the end, faults stop, the network heals, the replicas that are down
//! restart, and the simulation checks that all replicas converge on the same store, and that the
//! clients' history is linearizable.

use std::collections::BTreeMap;

use lesson02_kv::{ManualClock, Reply};

use crate::linearizability::{self, Kind, Operation};
use crate::replica::{
    self, Answer, Durable, Index, Message, Node, NodeId, Output, RequestId, Role, Term,
};
use crate::rng::Rng;

// ANCHOR: config
/// What to simulate, and how hostile the world is.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Replicas in the shard.
    pub replicas: usize,
    /// How they behave (the seed is set by the simulation).
    pub node: replica::Config,
    /// Clients, each with one request at a time.
    pub clients: usize,
    /// Keys the clients read and write: few, so that they collide.
    pub keys: usize,
    /// Requests per client.
    pub requests: usize,
    /// Ticks with faults; then the world turns kind until the clients are done.
    pub ticks: u64,
    /// A message takes 1 to this many ticks.
    pub max_delay: u64,
    /// The chance a message is lost.
    pub drop: f64,
    /// The chance a message arrives twice.
    pub duplicate: f64,
    /// The chance, per tick, that a replica crashes.
    pub crash: f64,
    /// Replicas down at once, at most.
    pub max_down: usize,
    /// A crashed replica restarts within this many ticks.
    pub down_for: u64,
    /// The chance, per tick, that the network splits in two.
    pub partition: f64,
    /// A partition heals within this many ticks.
    pub partition_for: u64,
    /// A client gives up on a request after this many ticks.
    pub timeout: u64,
    /// Check the invariants every tick (off: leave it all to the
    /// linearizability check at the end).
    pub invariants: bool,
}
// ANCHOR_END: config

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            replicas: 3,
            node: replica::Config { compact_after: 32, ..replica::Config::default() },
            clients: 4,
            keys: 3,
            requests: 60,
            ticks: 1_500,
            max_delay: 3,
            drop: 0.05,
            duplicate: 0.05,
            crash: 0.004,
            max_down: 1,
            down_for: 60,
            partition: 0.004,
            partition_for: 80,
            timeout: 40,
            invariants: true,
        }
    }
}

/// What happened in a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Ticks run.
    pub ticks: u64,
    /// Requests answered.
    pub answered: usize,
    /// Requests whose outcome is unknown.
    pub unknown: usize,
    /// Terms that had a leader.
    pub leaders: usize,
    /// Crashes.
    pub crashes: usize,
    /// Partitions.
    pub partitions: usize,
    /// Messages delivered, dropped, and duplicated.
    pub delivered: usize,
    /// See `delivered`.
    pub dropped: usize,
    /// See `delivered`.
    pub duplicated: usize,
    /// Snapshots sent.
    pub snapshots: usize,
}

/// A run's result.
#[derive(Debug, Clone)]
pub struct Report {
    /// The seed.
    pub seed: u64,
    /// What the clients saw.
    pub history: Vec<Operation>,
    /// What happened.
    pub stats: Stats,
    /// The first thing that went wrong, if anything did.
    pub violation: Option<String>,
}

/// Something in flight.
#[derive(Debug, Clone)]
enum Delivery {
    Message { from: NodeId, to: NodeId, message: Message },
    Request { to: NodeId, request: RequestId, args: Vec<Vec<u8>> },
    Answer { request: RequestId, answer: Answer },
}

/// A client's request in progress.
#[derive(Debug, Clone)]
struct InFlight {
    /// Its operation's place in the history.
    op: usize,
    request: RequestId,
    args: Vec<Vec<u8>>,
    sent: u64,
}

#[derive(Debug, Clone, Default)]
struct Client {
    target: NodeId,
    in_flight: Option<InFlight>,
    sent: usize,
}

struct Sim {
    config: SimConfig,
    rng: Rng,
    now: u64,
    /// Orders the history's calls and returns: one step per event.
    instant: u64,
    clock: ManualClock,
    nodes: Vec<Option<Node<ManualClock>>>,
    disks: Vec<Durable>,
    down_until: Vec<u64>,
    /// Each replica's side of the partition (all 0: no partition).
    side: Vec<u8>,
    healed_at: u64,
    queue: BTreeMap<(u64, u64), Delivery>,
    queued: u64,
    clients: Vec<Client>,
    next_request: RequestId,
    history: Vec<Operation>,
    stats: Stats,
    leaders: BTreeMap<Term, NodeId>,
    committed: BTreeMap<Index, Term>,
    checked: Vec<Index>,
    violation: Option<String>,
}

// ANCHOR: simulate
/// Runs one simulation from `seed`.
pub fn simulate(seed: u64, config: &SimConfig) -> Report {
    let mut sim = Sim::new(seed, config.clone());
    while sim.violation.is_none() && !(sim.now >= config.ticks && sim.clients_done()) {
        if sim.now >= config.ticks + 20 * config.timeout * config.requests as u64 {
            sim.violation = Some("the clients never finished: no progress".into());
            break;
        }
        sim.now += 1;
        sim.clock.advance(1);
        if sim.now < config.ticks {
            sim.inject_faults();
        } else if sim.now == config.ticks {
            sim.end_faults();
        }
        sim.deliver();
        for id in 0..config.replicas {
            let outputs = sim.nodes[id].as_mut().map(Node::tick).unwrap_or_default();
            sim.route(id, outputs);
        }
        sim.run_clients();
        if config.invariants {
            sim.check_invariants();
        }
    }
    if sim.violation.is_none() {
        sim.check_convergence();
    }
    if sim.violation.is_none()
        && let Err(violation) = linearizability::check(&sim.history)
    {
        sim.violation = Some(format!("not linearizable: {violation}"));
    }
    sim.stats.ticks = sim.now;
    sim.stats.leaders = sim.leaders.len();
    Report { seed, history: sim.history, stats: sim.stats, violation: sim.violation }
}
// ANCHOR_END: simulate

impl Sim {
    fn new(seed: u64, config: SimConfig) -> Self {
        let clock = ManualClock::default();
        let n = config.replicas;
        let mut rng = Rng::new(seed);
        let clients: Vec<Client> = (0..config.clients)
            .map(|_| Client { target: rng.below(n as u64) as usize, ..Client::default() })
            .collect();
        let mut sim = Self {
            rng,
            now: 0,
            instant: 0,
            clock,
            nodes: Vec::new(),
            disks: vec![Durable::default(); n],
            down_until: vec![0; n],
            side: vec![0; n],
            healed_at: 0,
            queue: BTreeMap::new(),
            queued: 0,
            clients,
            next_request: 1,
            history: Vec::new(),
            stats: Stats::default(),
            leaders: BTreeMap::new(),
            committed: BTreeMap::new(),
            checked: vec![0; n],
            violation: None,
            config,
        };
        sim.nodes = (0..n).map(|id| Some(sim.start_node(id))).collect();
        sim
    }

    fn start_node(&mut self, id: NodeId) -> Node<ManualClock> {
        let config = replica::Config { seed: self.rng.next_u64(), ..self.config.node.clone() };
        let peers = (0..self.config.replicas).collect();
        Node::restart(id, peers, config, self.disks[id].clone(), self.clock.clone())
    }

    fn up(&self) -> usize {
        self.nodes.iter().filter(|n| n.is_some()).count()
    }

    fn inject_faults(&mut self) {
        for id in 0..self.config.replicas {
            if self.nodes[id].is_none() {
                if self.now >= self.down_until[id] {
                    self.nodes[id] = Some(self.start_node(id));
                    self.checked[id] = 0;
                }
            } else if self.config.replicas - self.up() < self.config.max_down
                && self.rng.chance(self.config.crash)
            {
                // A crash: everything not durable is gone, including the
                // messages it was about to send.
                self.nodes[id] = None;
                self.down_until[id] = self.now + 1 + self.rng.below(self.config.down_for);
                self.stats.crashes += 1;
            }
        }
        if self.side.iter().any(|&s| s != 0) {
            if self.now >= self.healed_at {
                self.side.fill(0);
            }
        } else if self.config.replicas > 1 && self.rng.chance(self.config.partition) {
            // A random split into two non-empty sides.
            while self.side.iter().all(|&s| s == self.side[0]) {
                for side in &mut self.side {
                    *side = self.rng.below(2) as u8;
                }
            }
            self.healed_at = self.now + 1 + self.rng.below(self.config.partition_for);
            self.stats.partitions += 1;
        }
    }

    /// The faults stop: heal the network, restart every replica.
    fn end_faults(&mut self) {
        self.side.fill(0);
        for id in 0..self.config.replicas {
            if self.nodes[id].is_none() {
                self.nodes[id] = Some(self.start_node(id));
                self.checked[id] = 0;
            }
        }
    }

    fn faulty(&self) -> bool {
        self.now < self.config.ticks
    }

    /// Puts `delivery` on the network: late, maybe lost, maybe (between
    /// replicas) twice. A client's request is not duplicated: it goes over
    /// one TCP connection, which delivers it once or not at all.
    fn send(&mut self, delivery: Delivery) {
        let between_replicas = matches!(delivery, Delivery::Message { .. });
        let copies = if self.faulty() && self.rng.chance(self.config.drop) {
            self.stats.dropped += 1;
            0
        } else if between_replicas && self.faulty() && self.rng.chance(self.config.duplicate) {
            self.stats.duplicated += 1;
            2
        } else {
            1
        };
        for _ in 0..copies {
            let at = self.now + 1 + self.rng.below(self.config.max_delay);
            self.queued += 1;
            self.queue.insert((at, self.queued), delivery.clone());
        }
    }

    fn deliver(&mut self) {
        while let Some(entry) = self.queue.first_entry() {
            if entry.key().0 > self.now {
                break;
            }
            let delivery = entry.remove();
            self.stats.delivered += 1;
            match delivery {
                Delivery::Message { from, to, message } => {
                    if self.side[from] != self.side[to] {
                        self.stats.dropped += 1;
                        continue;
                    }
                    if matches!(message, Message::Snapshot { .. }) {
                        self.stats.snapshots += 1;
                    }
                    let outputs = self.nodes[to].as_mut().map(|n| n.step(from, message));
                    self.route(to, outputs.unwrap_or_default());
                }
                Delivery::Request { to, request, args } => {
                    let outputs = self.nodes[to].as_mut().map(|n| n.request(request, args));
                    self.route(to, outputs.unwrap_or_default());
                }
                Delivery::Answer { request, answer } => self.answered(request, answer),
            }
        }
    }

    fn route(&mut self, from: NodeId, outputs: Vec<Output>) {
        // What the replica made durable in this step reaches its disk
        // before anything it sent reaches anyone.
        if let Some(node) = &mut self.nodes[from] {
            for change in node.take_journal() {
                self.disks[from].apply(change);
            }
        }
        for output in outputs {
            match output {
                Output::Send { to, message } => self.send(Delivery::Message { from, to, message }),
                Output::Answer { request, answer } => {
                    self.send(Delivery::Answer { request, answer });
                }
            }
        }
    }

    fn clients_done(&self) -> bool {
        self.clients.iter().all(|c| c.in_flight.is_none() && c.sent == self.config.requests)
    }

    fn tick_instant(&mut self) -> u64 {
        self.instant += 1;
        self.instant
    }

    // ANCHOR: clients
    fn run_clients(&mut self) {
        for c in 0..self.clients.len() {
            if let Some(flight) = &self.clients[c].in_flight {
                if self.now - flight.sent < self.config.timeout {
                    continue;
                }
                // Gave up: the request may have run, or may yet run. Its
                // operation keeps no return: its outcome is unknown.
                self.stats.unknown += 1;
                self.clients[c].in_flight = None;
                self.clients[c].target = self.rng.below(self.config.replicas as u64) as usize;
            }
            if self.clients[c].sent == self.config.requests {
                continue;
            }
            let key = format!("k{}", self.rng.below(self.config.keys as u64)).into_bytes();
            let sent = self.clients[c].sent;
            let (kind, args) = if self.rng.chance(0.5) {
                (Kind::Get(None), vec![b"GET".to_vec(), key.clone()])
            } else {
                let value = format!("{c}.{sent}").into_bytes();
                (Kind::Set(value.clone()), vec![b"SET".to_vec(), key.clone(), value])
            };
            let call = self.tick_instant();
            self.history.push(Operation { client: c, key, kind, call, ret: None });
            let request = self.next_request;
            self.next_request += 1;
            let op = self.history.len() - 1;
            let flight = InFlight { op, request, args: args.clone(), sent: self.now };
            self.clients[c].in_flight = Some(flight);
            self.clients[c].sent += 1;
            let to = self.clients[c].target;
            self.send(Delivery::Request { to, request, args });
        }
    }
    // ANCHOR_END: clients

    fn answered(&mut self, request: RequestId, answer: Answer) {
        let Some(c) = self
            .clients
            .iter()
            .position(|c| c.in_flight.as_ref().is_some_and(|f| f.request == request))
        else {
            return; // An answer to a request its client gave up on.
        };
        let flight = self.clients[c].in_flight.clone().expect("found by its request");
        match answer {
            Answer::Done(reply) => {
                let ret = self.tick_instant();
                let op = &mut self.history[flight.op];
                op.ret = Some(ret);
                match (&mut op.kind, reply) {
                    (Kind::Get(seen), Reply::Bulk(value)) => *seen = Some(value),
                    (Kind::Get(_), Reply::Nil) => {}
                    (Kind::Set(_), Reply::Simple(s)) if s == "OK" => {}
                    (_, other) => {
                        self.violation = Some(format!("unexpected reply {other:?} to {op:?}"));
                    }
                }
                self.stats.answered += 1;
                self.clients[c].in_flight = None;
            }
            Answer::NotLeader(hint) => {
                // Not run: try the replica named, or another one.
                let n = self.config.replicas as u64;
                let to = hint.unwrap_or_else(|| self.rng.below(n) as usize);
                self.clients[c].target = to;
                let args = flight.args.clone();
                self.send(Delivery::Request { to, request, args });
            }
            Answer::Unknown => {
                self.stats.unknown += 1;
                self.clients[c].in_flight = None;
                self.clients[c].target = self.rng.below(self.config.replicas as u64) as usize;
            }
        }
    }

    // ANCHOR: invariants
    /// Election safety (at most one leader per term) and state machine
    /// safety (an entry, once committed, is the same on every replica
    /// forever); and, first, that each replica's journal, applied to its
    /// "disk", gives exactly its durable state (else a crash would restart
    /// it from something else).
    fn check_invariants(&mut self) {
        for id in 0..self.config.replicas {
            let Some(node) = &self.nodes[id] else { continue };
            if self.disks[id] != *node.durable() {
                self.violation = Some(format!(
                    "tick {}: replica {id}'s journal does not rebuild its durable state",
                    self.now
                ));
                return;
            }
            if node.role() == Role::Leader {
                let leader = *self.leaders.entry(node.term()).or_insert(id);
                if leader != id {
                    self.violation = Some(format!(
                        "tick {}: replicas {leader} and {id} both lead term {}",
                        self.now,
                        node.term()
                    ));
                    return;
                }
            }
            let log = &node.durable().log;
            let from = self.checked[id].min(node.commit_index()).max(log.snapshot().last_index);
            for index in from + 1..=node.commit_index() {
                let term = log.term_at(index).expect("committed entries are in the log");
                let first = *self.committed.entry(index).or_insert(term);
                if first != term {
                    self.violation = Some(format!(
                        "tick {}: entry {index} was committed in term {first}, \
                         and replica {id} has it committed in term {term}",
                        self.now
                    ));
                    return;
                }
            }
            self.checked[id] = node.commit_index();
        }
    }
    // ANCHOR_END: invariants

    /// Once the clients are done, every replica must catch up with the
    /// leader and hold the same store.
    fn check_convergence(&mut self) {
        for _ in 0..50 * self.config.node.election_ticks {
            self.now += 1;
            self.deliver();
            for id in 0..self.config.replicas {
                let outputs = self.nodes[id].as_mut().map(Node::tick).unwrap_or_default();
                self.route(id, outputs);
            }
            let nodes = self.nodes.iter().flatten();
            let commits: Vec<Index> = nodes.map(Node::commit_index).collect();
            let last = self.nodes.iter().flatten().map(|n| n.durable().log.last_index()).max();
            if commits.iter().all(|&c| Some(c) == last) {
                let mut contents = self.nodes.iter_mut().flatten().map(Node::contents);
                let first = contents.next().expect("a shard has replicas");
                if let Some(other) = contents.find(|c| *c != first) {
                    self.violation = Some(format!(
                        "replicas committed the same log but hold different stores: \
                         {first:?} and {other:?}"
                    ));
                }
                return;
            }
        }
        self.violation = Some("the replicas never caught up with each other".into());
    }
}
