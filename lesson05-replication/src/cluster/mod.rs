//! A node of the cluster: a RESP server whose store is one replica of one
//! shard.
//!
//! Every node knows the whole layout ([`Topology`]): which shard owns each
//! slot, and every node's addresses. A command for a key goes to the slot's
//! shard; a node that is not that shard's leader answers `-MOVED slot
//! host:port` with the leader's address, and cluster clients (`redis-cli
//! -c`, redis-py's `RedisCluster`) follow it and remember. The leader
//! hands the command to its replica thread ([`driver`]), which replicates
//! it through Raft, and answers once the write quorum has it.

pub mod bus;
pub mod driver;
pub mod local;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::mpsc as std_mpsc;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use lesson02_kv::command::{CommandSpec, all_commands};
use lesson02_kv::{Reply, SystemClock};
use lesson03_persistence::record::LogRecord;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

use crate::command::{find, is_write, key_positions};
use crate::engine::{Backend, Durability};
use crate::frame::Frame;
use crate::partition::{SlotMap, hash64, key_slot};
use crate::replica::disk::DiskLog;
use crate::replica::{self, Answer, Node, Role, Term, WriteQuorum};
use driver::{Input, Replica, Wiring};

/// One node's addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeAddr {
    /// Where clients connect.
    pub client: SocketAddr,
    /// Where the other nodes connect (the cluster bus).
    pub bus: SocketAddr,
}

/// The cluster's layout: shards of `per_shard` replicas each, node `i`
/// being replica `i % per_shard` of shard `i / per_shard`.
#[derive(Debug, Clone)]
pub struct Topology {
    /// Every node, shard by shard.
    pub nodes: Vec<NodeAddr>,
    /// Replicas in each shard.
    pub per_shard: usize,
    /// Which shard owns each slot.
    pub slots: SlotMap,
    /// Slots whose keys are being moved to another shard: commands on them
    /// are refused with `-TRYAGAIN` until the move is done.
    pub migrating: BTreeSet<u16>,
    /// Raised by every change, so a node can tell a newer layout.
    pub epoch: u64,
}

impl Topology {
    /// `nodes.len() / per_shard` shards, the slots spread evenly.
    pub fn new(nodes: Vec<NodeAddr>, per_shard: usize) -> Self {
        assert!(per_shard > 0 && nodes.len().is_multiple_of(per_shard), "whole shards");
        let slots = SlotMap::even(nodes.len() / per_shard);
        Self { nodes, per_shard, slots, migrating: BTreeSet::new(), epoch: 1 }
    }

    /// How many shards.
    pub fn shards(&self) -> usize {
        self.nodes.len() / self.per_shard
    }

    /// Node `replica` of `shard`.
    pub fn node(&self, shard: usize, replica: usize) -> NodeAddr {
        self.nodes[shard * self.per_shard + replica]
    }

    /// A node's 40-character id, as Redis Cluster names nodes: derived
    /// from its address, so the same on every node and every run.
    pub fn node_id(&self, shard: usize, replica: usize) -> String {
        let addr = self.node(shard, replica).client.to_string();
        let a = hash64(addr.as_bytes());
        let b = hash64(format!("{addr}/{shard}/{replica}").as_bytes());
        format!("{a:016x}{b:016x}{:08x}", shard * self.per_shard + replica)
    }
}

/// How one node runs.
#[derive(Debug, Clone)]
pub struct MemberConfig {
    /// The layout.
    pub topology: Topology,
    /// This node's shard.
    pub shard: usize,
    /// Its replica number in the shard.
    pub replica: usize,
    /// Its data directory.
    pub data_dir: PathBuf,
    /// When writes are acknowledged.
    pub quorum: WriteQuorum,
    /// A tick's length: elections wait `election_ticks` of them.
    pub tick: Duration,
    /// The replica's settings.
    pub node: replica::Config,
    /// A command not answered within this time gets an error saying its
    /// outcome is unknown.
    pub request_timeout: Duration,
}

impl MemberConfig {
    /// Defaults for node `replica` of `shard`: ticks of 10 ms, heartbeats
    /// every 20 ms, and an election after 300–600 ms without a leader.
    /// Shorter timeouts fail over faster, but on a busy machine a late
    /// heartbeat then starts an election nobody needed (Redis waits 15 s,
    /// its `cluster-node-timeout`).
    pub fn new(topology: Topology, shard: usize, replica: usize, data_dir: PathBuf) -> Self {
        Self {
            topology,
            shard,
            replica,
            data_dir,
            quorum: WriteQuorum::Majority,
            tick: Duration::from_millis(10),
            node: replica::Config { election_ticks: 30, ..replica::Config::default() },
            request_timeout: Duration::from_secs(2),
        }
    }
}

/// A running node of the cluster.
pub struct Member {
    topology: RwLock<Arc<Topology>>,
    shard: usize,
    replica: usize,
    state: Arc<Mutex<Replica>>,
    inbox: std_mpsc::Sender<Input>,
    leaders: driver::Leaders,
    /// The bus to the other shards' nodes, and which nodes those are.
    others: Arc<Mutex<Vec<mpsc::Sender<Vec<u8>>>>>,
    connected: Mutex<BTreeSet<usize>>,
    runtime: tokio::runtime::Handle,
    request_timeout: Duration,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// The bus's tasks, aborted when the node stops, which closes its port.
    bus_tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

/// The error for a command whose outcome is unknown. Not `-TRYAGAIN`,
/// which in Redis means "not done, send it again": this one may have been
/// done, and sending an `INCR` again would count twice.
const UNKNOWN: &str = "ERR the shard's leader changed before the command was committed: it may or may not have taken effect";

impl Member {
    /// Recovers the replica from its data directory and starts its thread
    /// and its bus. Call from within a tokio runtime.
    pub fn start(
        config: MemberConfig,
        bus_listener: TcpListener,
    ) -> Result<(Arc<Self>, String), String> {
        let (disk, durable, recovered) = DiskLog::open(&config.data_dir)
            .map_err(|e| format!("{}: {e}", config.data_dir.display()))?;
        let topology = config.topology.clone();
        let per_shard = topology.per_shard;
        let node_config = replica::Config {
            quorum: config.quorum,
            seed: hash64(topology.node(config.shard, config.replica).client.to_string().as_bytes())
                ^ std::process::id() as u64,
            ..config.node.clone()
        };
        let node = Node::restart(
            config.replica,
            (0..per_shard).collect(),
            node_config,
            durable,
            SystemClock,
        );
        let state = Arc::new(Mutex::new(Replica { node, fsyncs: 0 }));
        let (inbox, inputs) = std_mpsc::channel();

        // The bus: one sender task per other node, one listener.
        let mut peers = Vec::new();
        let mut others = Vec::new();
        let mut connected = BTreeSet::new();
        let mut bus_tasks = Vec::new();
        for shard in 0..topology.shards() {
            for replica in 0..per_shard {
                let me = shard == config.shard && replica == config.replica;
                let sender = (!me).then(|| {
                    let (tx, rx) = mpsc::channel(4096);
                    bus_tasks
                        .push(tokio::spawn(bus::send_to(topology.node(shard, replica).bus, rx)));
                    tx
                });
                if shard == config.shard {
                    peers.push(sender);
                } else if let Some(sender) = sender {
                    others.push(sender);
                    connected.insert(shard * per_shard + replica);
                }
            }
        }
        let bus_inbox = inbox.clone();
        let (bus_tx, bus_rx) = std_mpsc::channel();
        bus_tasks.push(tokio::spawn(bus::listen(bus_listener, bus_tx)));
        // Frames from the bus go to the replica's inbox, as inputs.
        std::thread::spawn(move || {
            for frame in bus_rx {
                if bus_inbox.send(Input::Bus(frame)).is_err() {
                    return;
                }
            }
        });

        let leaders = Arc::new(Mutex::new(vec![(0, None); topology.shards()]));
        let others = Arc::new(Mutex::new(others));
        let wiring = Wiring {
            shard: config.shard,
            replica: config.replica,
            peers,
            others: others.clone(),
            leaders: leaders.clone(),
            tick: config.tick,
        };
        let thread_state = state.clone();
        let thread = std::thread::Builder::new()
            .name(format!("replica-{}-{}", config.shard, config.replica))
            .spawn(move || driver::run(thread_state, disk, inputs, wiring))
            .map_err(|e| e.to_string())?;
        let member = Arc::new(Self {
            topology: RwLock::new(Arc::new(topology)),
            shard: config.shard,
            replica: config.replica,
            state,
            inbox,
            leaders,
            others,
            connected: Mutex::new(connected),
            runtime: tokio::runtime::Handle::current(),
            request_timeout: config.request_timeout,
            thread: Mutex::new(Some(thread)),
            bus_tasks: Mutex::new(bus_tasks),
        });
        Ok((member, recovered.to_string()))
    }

    /// Stops the replica's thread; what it acknowledged is on disk already.
    pub fn stop(&self) {
        for task in self.bus_tasks.lock().expect("never poisoned").drain(..) {
            task.abort();
        }
        let _ = self.inbox.send(Input::Stop);
        if let Some(thread) = self.thread.lock().expect("never poisoned").take() {
            let _ = thread.join();
        }
    }

    /// The layout this node knows.
    pub fn topology(&self) -> Arc<Topology> {
        self.topology.read().expect("never poisoned").clone()
    }

    /// Learns a newer layout (an older one is ignored): new nodes to talk
    /// to, slots that moved or are moving.
    pub fn set_topology(&self, topology: Topology) {
        let mut current = self.topology.write().expect("never poisoned");
        if topology.epoch <= current.epoch {
            return;
        }
        let mut connected = self.connected.lock().expect("never poisoned");
        for (i, node) in topology.nodes.iter().enumerate() {
            if i / topology.per_shard != self.shard && connected.insert(i) {
                let (tx, rx) = mpsc::channel(4096);
                let task = self.runtime.spawn(bus::send_to(node.bus, rx));
                self.bus_tasks.lock().expect("never poisoned").push(task);
                self.others.lock().expect("never poisoned").push(tx);
            }
        }
        let mut leaders = self.leaders.lock().expect("never poisoned");
        leaders.resize(topology.shards(), (0, None));
        *current = Arc::new(topology);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Replica> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// This node's role in its shard.
    pub fn role(&self) -> Role {
        self.lock().node.role()
    }

    /// Its term.
    pub fn term(&self) -> Term {
        self.lock().node.term()
    }

    /// The last entry it knows to be committed.
    pub fn commit_index(&self) -> crate::replica::Index {
        self.lock().node.commit_index()
    }

    /// The replica this node believes leads `shard`.
    pub fn leader_of(&self, shard: usize) -> Option<usize> {
        if shard == self.shard {
            return self.lock().node.leader();
        }
        self.leaders.lock().expect("never poisoned")[shard].1
    }

    fn moved(&self, topology: &Topology, slot: u16, shard: usize, hint: Option<usize>) -> Frame {
        // Not knowing the leader, send the client to some replica of the
        // shard: it knows better, or will say MOVED again.
        let replica = hint.or_else(|| self.leader_of(shard)).unwrap_or(0);
        let replica = if shard == self.shard && replica == self.replica {
            (replica + 1) % topology.per_shard
        } else {
            replica
        };
        Frame::Error(format!("MOVED {slot} {}", topology.node(shard, replica).client))
    }

    // ANCHOR: execute
    /// Runs a command of the store's language: here if this node leads the
    /// key's shard (or may read it locally), else `-MOVED` to the node
    /// that does.
    pub async fn execute(&self, args: Vec<Vec<u8>>, readonly: bool) -> Frame {
        let (slot, wait) = match self.dispatch(args, readonly) {
            Ok(sent) => sent,
            Err(answered) => return answered,
        };
        // Handed over, then the replica stopped, or took too long: the
        // command may have been replicated, or not.
        let Ok(Ok(answer)) = tokio::time::timeout(self.request_timeout, wait).await else {
            return Frame::Error(UNKNOWN.into());
        };
        match (answer, slot) {
            (Answer::Done(reply), _) => reply.into(),
            (Answer::NotLeader(hint), Some(slot)) => {
                self.moved(&self.topology(), slot, self.shard, hint)
            }
            (Answer::NotLeader(_), None) => {
                Frame::Error("READONLY You can't write against a read only replica.".into())
            }
            (Answer::Unknown, _) => Frame::Error(UNKNOWN.into()),
        }
    }

    /// Answers the command at once (`-MOVED`, `-TRYAGAIN`, a local read),
    /// or hands it to the replica thread and returns its slot and where
    /// its answer will come. All under the layout's read lock: a change of
    /// layout (a slot starting to move) waits for the commands being
    /// handed over, so each command was either handed over before the
    /// change, or is judged by the new layout.
    fn dispatch(
        &self,
        args: Vec<Vec<u8>>,
        readonly: bool,
    ) -> Result<(Option<u16>, oneshot::Receiver<Answer>), Frame> {
        let Some(spec) = find(all_commands(), &args[0]) else {
            return Err(Frame::Error(crate::command::unknown_command(&args)));
        };
        let slot = key_slot_of(spec, &args).map_err(Frame::Error)?;
        let write = is_write(spec);
        let topology = self.topology.read().expect("never poisoned");
        if let Some(slot) = slot {
            if topology.migrating.contains(&slot) {
                return Err(Frame::Error(format!(
                    "TRYAGAIN slot {slot} is moving to another shard"
                )));
            }
            let shard = topology.slots.owner(slot);
            if shard != self.shard {
                return Err(self.moved(&topology, slot, shard, None));
            }
        }
        // Reads a follower may answer from its own store: with `READONLY`
        // (possibly stale: see the book), and commands about no key. The
        // role is asked under the same lock as the read: a follower
        // promoted in between would read its store running ahead.
        let mut replica = self.lock();
        let leader = replica.node.role() == Role::Leader;
        let local = !leader && !write && (readonly || slot.is_none());
        if local || (slot.is_none() && matches!(spec.name, "PING" | "ECHO" | "HELP")) {
            return Err(replica.node.read_local(args).into());
        }
        drop(replica);
        let (answer, wait) = oneshot::channel();
        if self.inbox.send(Input::Request { args, answer }).is_err() {
            return Err(Frame::Error("ERR this replica has stopped".into()));
        }
        Ok((slot, wait))
    }
    // ANCHOR_END: execute

    /// The records of this replica's keys that `wanted` picks.
    pub fn export(&self, wanted: impl Fn(&[u8]) -> bool) -> Vec<LogRecord> {
        self.lock().node.export(wanted)
    }

    /// Applies `records` through this shard's log; this node must lead it.
    /// With no records, a barrier: once it returns, every write this
    /// leader took before it is committed.
    pub async fn import(&self, records: Vec<LogRecord>) -> Result<(), String> {
        let (answer, wait) = oneshot::channel();
        self.inbox.send(Input::Import { records, answer }).map_err(|_| "stopped".to_string())?;
        match wait.await {
            Ok(Answer::Done(_)) => Ok(()),
            Ok(other) => Err(format!("import failed: {other:?}")),
            Err(_) => Err("the replica stopped".into()),
        }
    }

    /// `CLUSTER …`: what cluster clients ask to learn the layout.
    pub fn cluster_command(&self, args: &[Vec<u8>]) -> Frame {
        let bulk = |s: String| Frame::Bulk(s.into_bytes());
        let sub = args[0].to_ascii_uppercase();
        match (&sub[..], &args[1..]) {
            (b"KEYSLOT", [key]) => Frame::Integer(i64::from(key_slot(key))),
            (b"MYID", []) => bulk(self.topology().node_id(self.shard, self.replica)),
            (b"INFO", []) => bulk(self.info_text()),
            (b"SLOTS", []) => self.slots(),
            (b"SHARDS", []) => self.shards(),
            (b"NODES", []) => bulk(self.nodes_text()),
            (b"KEYSLOT" | b"MYID" | b"INFO" | b"SLOTS" | b"SHARDS" | b"NODES", _) => {
                Frame::Error(crate::command::wrong_arity(
                    format!("cluster|{}", String::from_utf8_lossy(&sub).to_lowercase()).as_bytes(),
                ))
            }
            _ => Frame::Error(format!(
                "ERR unknown subcommand '{}'. Try CLUSTER HELP.",
                String::from_utf8_lossy(&args[0])
            )),
        }
    }

    /// The shard's replicas, the leader first (or replica 0 while there is
    /// none).
    fn replicas_leader_first(&self, shard: usize) -> Vec<usize> {
        let leader = self.leader_of(shard).unwrap_or(0);
        std::iter::once(leader)
            .chain((0..self.topology().per_shard).filter(|&r| r != leader))
            .collect()
    }

    fn node_frame(&self, shard: usize, replica: usize) -> Frame {
        let addr = self.topology().node(shard, replica).client;
        Frame::Array(vec![
            Frame::Bulk(addr.ip().to_string().into_bytes()),
            Frame::Integer(i64::from(addr.port())),
            Frame::Bulk(self.topology().node_id(shard, replica).into_bytes()),
        ])
    }

    // ANCHOR: cluster_slots
    /// `CLUSTER SLOTS`: for each run of slots, its first and last slot, the
    /// leader's address, then the other replicas'.
    fn slots(&self) -> Frame {
        let mut ranges = Vec::new();
        for shard in 0..self.topology().shards() {
            for (first, last) in self.topology().slots.ranges(shard) {
                let mut entry =
                    vec![Frame::Integer(i64::from(first)), Frame::Integer(i64::from(last))];
                entry.extend(
                    self.replicas_leader_first(shard)
                        .into_iter()
                        .map(|r| self.node_frame(shard, r)),
                );
                ranges.push(Frame::Array(entry));
            }
        }
        Frame::Array(ranges)
    }
    // ANCHOR_END: cluster_slots

    /// `CLUSTER SHARDS`: each shard's slots and nodes, as maps.
    fn shards(&self) -> Frame {
        let bulk = |s: &str| Frame::Bulk(s.as_bytes().to_vec());
        let shards = (0..self.topology().shards())
            .map(|shard| {
                let slots = self
                    .topology()
                    .slots
                    .ranges(shard)
                    .into_iter()
                    .flat_map(|(a, b)| [Frame::Integer(i64::from(a)), Frame::Integer(i64::from(b))])
                    .collect();
                let leader = self.leader_of(shard).unwrap_or(0);
                let nodes = (0..self.topology().per_shard)
                    .map(|replica| {
                        let addr = self.topology().node(shard, replica).client;
                        Frame::Map(vec![
                            (bulk("id"), bulk(&self.topology().node_id(shard, replica))),
                            (bulk("port"), Frame::Integer(i64::from(addr.port()))),
                            (bulk("ip"), bulk(&addr.ip().to_string())),
                            (bulk("endpoint"), bulk(&addr.ip().to_string())),
                            (
                                bulk("role"),
                                bulk(if replica == leader { "master" } else { "replica" }),
                            ),
                            (bulk("replication-offset"), Frame::Integer(0)),
                            (bulk("health"), bulk("online")),
                        ])
                    })
                    .collect();
                Frame::Map(vec![
                    (bulk("slots"), Frame::Array(slots)),
                    (bulk("nodes"), Frame::Array(nodes)),
                ])
            })
            .collect();
        Frame::Array(shards)
    }

    /// `CLUSTER NODES`: one line per node, in Redis's format:
    /// `id ip:port@bus flags leader-id ping pong epoch link slots…`.
    fn nodes_text(&self) -> String {
        let mut text = String::new();
        for shard in 0..self.topology().shards() {
            let leader = self.leader_of(shard).unwrap_or(0);
            let term = if shard == self.shard {
                self.term()
            } else {
                self.leaders.lock().expect("never poisoned")[shard].0
            };
            for replica in 0..self.topology().per_shard {
                let addr = self.topology().node(shard, replica);
                let myself = shard == self.shard && replica == self.replica;
                let role = if replica == leader { "master" } else { "slave" };
                let flags = if myself { format!("myself,{role}") } else { role.to_string() };
                let master = if replica == leader {
                    "-".to_string()
                } else {
                    self.topology().node_id(shard, leader)
                };
                let slots = if replica == leader {
                    self.topology()
                        .slots
                        .ranges(shard)
                        .iter()
                        .map(|(a, b)| if a == b { format!(" {a}") } else { format!(" {a}-{b}") })
                        .collect::<String>()
                } else {
                    String::new()
                };
                text.push_str(&format!(
                    "{} {}@{} {flags} {master} 0 0 {term} connected{slots}\n",
                    self.topology().node_id(shard, replica),
                    addr.client,
                    addr.bus.port(),
                ));
            }
        }
        text
    }

    fn info_text(&self) -> String {
        let shards = self.topology().shards();
        format!(
            "cluster_enabled:1\r\ncluster_state:ok\r\ncluster_slots_assigned:16384\r\n\
             cluster_slots_ok:16384\r\ncluster_slots_pfail:0\r\ncluster_slots_fail:0\r\n\
             cluster_known_nodes:{}\r\ncluster_size:{shards}\r\ncluster_current_epoch:{}\r\n\
             cluster_my_epoch:{}\r\n",
            self.topology().nodes.len(),
            self.term(),
            self.term(),
        )
    }
}

/// The slot of the command's keys: `None` if it has none, an error if they
/// are in different slots (a command runs on one shard).
fn key_slot_of(spec: &CommandSpec, args: &[Vec<u8>]) -> Result<Option<u16>, String> {
    let (first, last, step) = key_positions(spec);
    if first == 0 {
        return Ok(None);
    }
    let last = if last < 0 { args.len() as i64 + last } else { last };
    let mut slot = None;
    let mut at = first;
    while at <= last && (at as usize) < args.len() {
        let s = key_slot(&args[at as usize]);
        if slot.is_some_and(|slot| slot != s) {
            return Err("CROSSSLOT Keys in request don't hash to the same slot".into());
        }
        slot = Some(s);
        at += step;
    }
    Ok(slot)
}

/// The member as the server's engine: the commands it knows, its `INFO`,
/// and a local read for anything the session sends it directly.
pub struct MemberBackend(pub Arc<Member>);

impl Backend for MemberBackend {
    fn name(&self) -> &'static str {
        "replica"
    }

    fn specs(&self) -> Vec<&'static CommandSpec> {
        all_commands().collect()
    }

    fn execute(&mut self, args: Vec<Vec<u8>>) -> (Reply, Durability) {
        (self.0.lock().node.read_local(args), Durability::Done)
    }

    fn info(&mut self) -> Vec<(String, String)> {
        let member = &self.0;
        let r = member.lock();
        let node = &r.node;
        vec![
            ("shard".into(), member.shard.to_string()),
            ("replica".into(), member.replica.to_string()),
            ("role".into(), format!("{:?}", node.role()).to_lowercase()),
            ("term".into(), node.term().to_string()),
            ("leader".into(), node.leader().map_or("none".into(), |l| l.to_string())),
            ("commit_index".into(), node.commit_index().to_string()),
            ("last_index".into(), node.durable().log.last_index().to_string()),
            ("snapshot_index".into(), node.durable().log.snapshot().last_index.to_string()),
            ("journal_fsyncs".into(), r.fsyncs.to_string()),
        ]
    }

    fn keys(&mut self) -> (usize, usize) {
        (self.0.lock().node.contents().len(), 0)
    }

    fn close(&mut self) -> Result<(), String> {
        self.0.stop();
        Ok(())
    }
}
