//! One shard's replicas, driven by hand: a network that delivers at once
//! to the replicas that are connected, and loses everything else.

use std::collections::VecDeque;

use lesson02_kv::{ManualClock, Reply};
use lesson05_replication::replica::{
    Answer, Config, Message, Node, NodeId, Output, RequestId, Role, WriteQuorum,
};

struct Shard {
    nodes: Vec<Node<ManualClock>>,
    connected: Vec<bool>,
    queue: VecDeque<(NodeId, NodeId, Message)>,
    answers: Vec<(RequestId, Answer)>,
    config: Config,
}

impl Shard {
    fn new(n: usize, config: Config) -> Self {
        let clock = ManualClock::default();
        let nodes = (0..n)
            .map(|id| Node::new(id, (0..n).collect(), config.clone(), clock.clone()))
            .collect();
        Self {
            nodes,
            connected: vec![true; n],
            queue: VecDeque::new(),
            answers: Vec::new(),
            config,
        }
    }

    fn route(&mut self, from: NodeId, outputs: Vec<Output>) {
        for output in outputs {
            match output {
                Output::Send { to, message } => self.queue.push_back((from, to, message)),
                Output::Answer { request, answer } => self.answers.push((request, answer)),
            }
        }
    }

    /// Delivers until nothing is in flight; messages to or from a
    /// disconnected replica are lost.
    fn settle(&mut self) {
        while let Some((from, to, message)) = self.queue.pop_front() {
            if self.connected[from] && self.connected[to] {
                let outputs = self.nodes[to].step(from, message);
                self.route(to, outputs);
            }
        }
    }

    /// Ticks replica `id` until it stands for election, and lets the
    /// election run.
    fn elect(&mut self, id: NodeId) {
        for _ in 0..1000 {
            let outputs = self.nodes[id].tick();
            self.route(id, outputs);
            if self.nodes[id].role() != Role::Follower {
                self.settle();
                return;
            }
        }
        panic!("replica {id} never stood for election");
    }

    fn request(&mut self, id: NodeId, request: RequestId, args: &[&str]) {
        let args = args.iter().map(|a| a.as_bytes().to_vec()).collect();
        let outputs = self.nodes[id].request(request, args);
        self.route(id, outputs);
        self.settle();
    }

    /// Heartbeats from the leader, so followers learn the commit index.
    fn heartbeat(&mut self, leader: NodeId) {
        for _ in 0..self.config.heartbeat_ticks {
            let outputs = self.nodes[leader].tick();
            self.route(leader, outputs);
        }
        self.settle();
    }

    fn answer(&self, request: RequestId) -> Option<&Answer> {
        self.answers.iter().find(|(r, _)| *r == request).map(|(_, a)| a)
    }

    fn contents(&mut self, id: NodeId) -> Vec<(String, String)> {
        let text = |b: Vec<u8>| String::from_utf8(b).expect("test keys are text");
        self.nodes[id].contents().into_iter().map(|(k, v)| (text(k), text(v))).collect()
    }
}

fn pair(key: &str, value: &str) -> (String, String) {
    (key.to_string(), value.to_string())
}

fn ok() -> Answer {
    Answer::Done(Reply::ok())
}

#[test]
fn a_shard_elects_one_leader_and_every_replica_gets_the_write() {
    let mut shard = Shard::new(3, Config::default());
    shard.elect(1);
    let roles: Vec<Role> = shard.nodes.iter().map(Node::role).collect();
    assert_eq!(roles, [Role::Follower, Role::Leader, Role::Follower]);
    assert!(shard.nodes.iter().all(|n| n.term() == 1 && n.leader() == Some(1)));

    shard.request(1, 7, &["SET", "colour", "blue"]);
    assert_eq!(shard.answer(7), Some(&ok()));
    shard.request(1, 8, &["GET", "colour"]);
    assert_eq!(shard.answer(8), Some(&Answer::Done(Reply::Bulk(b"blue".to_vec()))));
    shard.heartbeat(1);
    for id in 0..3 {
        assert_eq!(shard.contents(id), [pair("colour", "blue")], "replica {id}");
    }
}

#[test]
fn a_follower_names_the_leader_and_runs_nothing() {
    let mut shard = Shard::new(3, Config::default());
    shard.elect(0);
    shard.request(2, 1, &["SET", "k", "v"]);
    assert_eq!(shard.answer(1), Some(&Answer::NotLeader(Some(0))));
    assert!(shard.contents(2).is_empty() && shard.contents(0).is_empty());
}

#[test]
fn a_write_is_acknowledged_once_a_majority_has_it() {
    let mut shard = Shard::new(3, Config::default());
    shard.elect(0);
    // Both followers unreachable: the leader has the write alone.
    shard.connected[1] = false;
    shard.connected[2] = false;
    shard.request(0, 1, &["SET", "k", "v"]);
    assert_eq!(shard.answer(1), None, "acknowledged by one replica of three");
    // One follower comes back: two of three is a majority.
    shard.connected[1] = true;
    shard.heartbeat(0);
    assert_eq!(shard.answer(1), Some(&ok()));
}

#[test]
fn with_a_write_quorum_of_one_the_leader_alone_acknowledges() {
    let config = Config { quorum: WriteQuorum::One, ..Config::default() };
    let mut shard = Shard::new(3, config);
    shard.elect(0);
    shard.connected[1] = false;
    shard.connected[2] = false;
    shard.request(0, 1, &["SET", "k", "v"]);
    assert_eq!(shard.answer(1), Some(&ok()));
}

#[test]
fn a_deposed_leader_acknowledges_nothing_and_forgets_what_it_ran_ahead() {
    let mut shard = Shard::new(3, Config::default());
    shard.elect(0);
    shard.request(0, 1, &["SET", "k", "old"]);
    shard.heartbeat(0);
    // Replica 0 is cut off; the other two elect replica 1 in term 2.
    shard.connected[0] = false;
    shard.request(0, 2, &["SET", "k", "lost"]);
    shard.elect(1);
    assert_eq!(shard.nodes[1].role(), Role::Leader);
    assert_eq!(shard.nodes[0].role(), Role::Leader, "it has not heard yet");
    shard.request(0, 3, &["SET", "k", "also lost"]);
    assert_eq!((shard.answer(2), shard.answer(3)), (None, None));
    assert_eq!(shard.contents(0), [pair("k", "also lost")], "its store ran ahead");

    // The network heals; the first message from term 2 deposes it.
    shard.connected[0] = true;
    shard.heartbeat(1);
    assert_eq!(shard.nodes[0].role(), Role::Follower);
    assert_eq!(shard.nodes[0].term(), 2);
    assert_eq!(shard.answer(2), Some(&Answer::Unknown));
    assert_eq!(shard.answer(3), Some(&Answer::Unknown));
    shard.heartbeat(1);
    assert_eq!(shard.contents(0), [pair("k", "old")]);
    assert_eq!(shard.contents(1), [pair("k", "old")]);
}

#[test]
fn votes_go_once_per_term_and_only_to_logs_at_least_as_up_to_date() {
    let mut shard = Shard::new(3, Config::default());
    shard.elect(0);
    // Replica 2 misses a write the other two have.
    shard.connected[2] = false;
    shard.request(0, 1, &["SET", "k", "v"]);
    assert_eq!(shard.answer(1), Some(&ok()));
    // Replica 0 fails. Replica 2, behind, stands first: replica 1 refuses.
    shard.connected[0] = false;
    shard.connected[2] = true;
    shard.elect(2);
    assert_eq!(shard.nodes[2].role(), Role::Candidate);
    assert_eq!(shard.nodes[1].role(), Role::Follower);
    // Replica 1 stands in a later term and wins: 2's log is no newer.
    shard.elect(1);
    assert_eq!(shard.nodes[1].role(), Role::Leader);
    assert_eq!(shard.nodes[2].leader(), Some(1));
    shard.heartbeat(1);
    assert_eq!(shard.contents(2), [pair("k", "v")], "the write survived");

    // One vote per term: a second candidate in the same term is refused.
    let term = shard.nodes[0].term() + 10;
    let last =
        (shard.nodes[0].durable().log.last_index(), shard.nodes[0].durable().log.last_term());
    let ask = Message::RequestVote { term, last_index: last.0 + 5, last_term: last.1 + 5 };
    let first = shard.nodes[0].step(1, ask.clone());
    let second = shard.nodes[0].step(2, ask);
    let granted = |outputs: &[Output]| matches!(outputs, [Output::Send { message: Message::Vote { granted, .. }, .. }] if *granted);
    assert!(granted(&first) && !granted(&second));
}

#[test]
fn a_restarted_replica_keeps_its_durable_state_and_catches_up() {
    let mut shard = Shard::new(3, Config::default());
    shard.elect(0);
    shard.request(0, 1, &["SET", "a", "1"]);
    shard.heartbeat(0);
    // Replica 2 crashes: only its durable state survives.
    let disk = shard.nodes[2].durable().clone();
    shard.connected[2] = false;
    shard.request(0, 2, &["SET", "b", "2"]);
    let clock = ManualClock::default();
    shard.nodes[2] = Node::restart(2, vec![0, 1, 2], Config::default(), disk, clock);
    assert_eq!(shard.nodes[2].term(), 1, "the term is durable");
    assert!(shard.contents(2).is_empty(), "committed entries replay once a leader says so");
    shard.connected[2] = true;
    shard.heartbeat(0);
    shard.heartbeat(0);
    assert_eq!(shard.contents(2), [pair("a", "1"), pair("b", "2")]);
}

#[test]
fn a_replica_behind_the_compacted_log_is_sent_a_snapshot() {
    let config = Config { compact_after: 4, ..Config::default() };
    let mut shard = Shard::new(3, config);
    shard.elect(0);
    shard.connected[2] = false;
    for i in 0..10 {
        shard.request(0, i, &["SET", &format!("k{i}"), &i.to_string()]);
    }
    shard.heartbeat(0);
    let leader_log = &shard.nodes[0].durable().log;
    assert!(leader_log.snapshot().last_index >= 8, "the leader compacted");
    assert!(leader_log.len() < 4);
    shard.connected[2] = true;
    shard.heartbeat(0);
    shard.heartbeat(0);
    let expected = shard.contents(0);
    assert_eq!(expected.len(), 10);
    assert_eq!(shard.contents(2), expected);
    assert_eq!(shard.nodes[2].commit_index(), shard.nodes[0].commit_index());
}

#[test]
fn a_single_replica_shard_leads_itself_and_commits_alone() {
    let mut shard = Shard::new(1, Config::default());
    shard.elect(0);
    assert_eq!(shard.nodes[0].role(), Role::Leader);
    shard.request(0, 1, &["INCR", "n"]);
    assert_eq!(shard.answer(1), Some(&Answer::Done(Reply::Integer(1))));
    shard.request(0, 2, &["NOSUCH"]);
    assert!(matches!(shard.answer(2), Some(Answer::Done(Reply::Error(_)))));
}
