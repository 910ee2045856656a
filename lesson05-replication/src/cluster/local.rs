//! A whole cluster in one process, on 127.0.0.1: what `cargo run -p
//! lesson05-replication -- cluster` starts, and what the tests start, kill
//! and restart.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use lesson03_persistence::FsyncPolicy;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::{Member, MemberConfig, NodeAddr, Topology};
use crate::replica::{Role, WriteQuorum};
use crate::server::{Config, EngineConfig, EngineKind, Server};

/// A node that is up: its replica, and its server's task.
struct Running {
    member: Arc<Member>,
    stop: oneshot::Sender<()>,
    server: JoinHandle<Result<(), String>>,
}

/// The nodes of a cluster, each a RESP server and a replica.
pub struct LocalCluster {
    /// The layout.
    pub topology: Topology,
    nodes: Vec<Option<Running>>,
    dir: PathBuf,
    quorum: WriteQuorum,
}

async fn bind(address: SocketAddr) -> Result<TcpListener, String> {
    TcpListener::bind(address).await.map_err(|e| format!("cannot listen on {address}: {e}"))
}

impl LocalCluster {
    /// Starts `shards` shards of `per_shard` replicas, each node with its
    /// data in `dir/node-N`. Client ports are `port`, `port + 1`, …, bus
    /// ports the same plus 10000 (Redis's rule); `port` 0 picks free ports.
    pub async fn start(
        shards: usize,
        per_shard: usize,
        port: u16,
        dir: PathBuf,
        quorum: WriteQuorum,
    ) -> Result<Self, String> {
        let n = shards * per_shard;
        let mut listeners = Vec::with_capacity(n);
        for i in 0..n {
            let (client, bus) = if port == 0 {
                (0, 0)
            } else {
                let p = port + i as u16;
                (p, p + 10_000)
            };
            let client = bind(SocketAddr::from(([127, 0, 0, 1], client))).await?;
            let bus = bind(SocketAddr::from(([127, 0, 0, 1], bus))).await?;
            listeners.push((client, bus));
        }
        let nodes = listeners
            .iter()
            .map(|(c, b)| {
                Ok(NodeAddr {
                    client: c.local_addr().map_err(|e| e.to_string())?,
                    bus: b.local_addr().map_err(|e| e.to_string())?,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        let topology = Topology::new(nodes, per_shard);
        let mut cluster = Self { topology, nodes: Vec::new(), dir, quorum };
        for (i, (client, bus)) in listeners.into_iter().enumerate() {
            let running = cluster.launch(i, client, bus)?;
            cluster.nodes.push(Some(running));
        }
        Ok(cluster)
    }

    fn launch(&self, i: usize, client: TcpListener, bus: TcpListener) -> Result<Running, String> {
        let (shard, replica) = (i / self.topology.per_shard, i % self.topology.per_shard);
        let data_dir = self.dir.join(format!("node-{i}"));
        let mut config = MemberConfig::new(self.topology.clone(), shard, replica, data_dir.clone());
        config.quorum = self.quorum;
        let (member, _recovered) = Member::start(config, bus)?;
        let engine =
            EngineConfig { kind: EngineKind::Durable, data_dir, fsync: FsyncPolicy::Always };
        let server = Server::clustered(member.clone(), Config::new(engine));
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(server.serve(client, async move {
            let _ = stopped.await;
        }));
        Ok(Running { member, stop, server })
    }

    /// How many nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Node `i`'s client address.
    pub fn address(&self, i: usize) -> SocketAddr {
        self.topology.nodes[i].client
    }

    /// The node that leads `shard` now, if one does (the one in the
    /// highest term, should a deposed leader not know yet).
    pub fn leader(&self, shard: usize) -> Option<usize> {
        let per = self.topology.per_shard;
        (shard * per..(shard + 1) * per)
            .filter_map(|i| self.nodes[i].as_ref().map(|n| (i, &n.member)))
            .filter(|(_, m)| m.role() == Role::Leader)
            .max_by_key(|(_, m)| m.term())
            .map(|(i, _)| i)
    }

    /// Whether every node that is up knows every shard's leader.
    pub fn settled(&self) -> bool {
        let per = self.topology.per_shard;
        (0..self.topology.shards()).all(|shard| {
            let Some(leader) = self.leader(shard) else { return false };
            self.nodes.iter().flatten().all(|n| n.member.leader_of(shard) == Some(leader % per))
        })
    }

    /// Node `i`'s replica, if it is up.
    pub fn member(&self, i: usize) -> Option<&Arc<Member>> {
        self.nodes[i].as_ref().map(|n| &n.member)
    }

    /// Node `i`'s term, if it is up.
    pub fn term(&self, i: usize) -> Option<u64> {
        self.nodes[i].as_ref().map(|n| n.member.term())
    }

    /// Kills node `i` as a crash would: its connections and ports close at
    /// once, and only what its replica fsynced survives.
    pub async fn kill(&mut self, i: usize) {
        if let Some(node) = self.nodes[i].take() {
            node.server.abort();
            let _ = node.server.await;
            let member = node.member.clone();
            let _ = tokio::task::spawn_blocking(move || member.stop()).await;
        }
    }

    /// Restarts node `i` on its ports, from its data directory.
    pub async fn restart(&mut self, i: usize) -> Result<(), String> {
        let addr = self.topology.nodes[i];
        let (client, bus) = (bind(addr.client).await?, bind(addr.bus).await?);
        let running = self.launch(i, client, bus)?;
        self.nodes[i] = Some(running);
        Ok(())
    }

    /// Stops every node gracefully: each answers what it has read.
    pub async fn stop(mut self) -> Result<(), String> {
        for node in self.nodes.iter_mut().filter_map(Option::take) {
            let _ = node.stop.send(());
            node.server.await.map_err(|e| e.to_string())??;
        }
        Ok(())
    }

    /// The layout as a table, for people.
    pub fn describe(&self) -> String {
        let mut text = String::from("shard  slots          node  client           role\n");
        for shard in 0..self.topology.shards() {
            let ranges = self.topology.slots.ranges(shard);
            let slots =
                ranges.iter().map(|(a, b)| format!("{a}-{b}")).collect::<Vec<_>>().join(",");
            for replica in 0..self.topology.per_shard {
                let i = shard * self.topology.per_shard + replica;
                let role = match &self.nodes[i] {
                    Some(n) => format!("{:?}", n.member.role()).to_lowercase(),
                    None => "down".into(),
                };
                let slots = if replica == 0 { slots.as_str() } else { "" };
                text.push_str(&format!(
                    "{:<6} {slots:<14} {i:<5} {:<16} {role}\n",
                    if replica == 0 { shard.to_string() } else { String::new() },
                    self.address(i).to_string(),
                ));
            }
        }
        text
    }
}
