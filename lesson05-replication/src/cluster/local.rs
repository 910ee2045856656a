//! A whole cluster in one process, on 127.0.0.1: what `cargo run -p
//! lesson05-replication -- cluster` starts, and what the tests start, kill
//! and restart.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use lesson03_persistence::FsyncPolicy;
use lesson03_persistence::record::LogRecord;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::{Member, MemberConfig, NodeAddr, Topology};
use crate::partition::key_slot;
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
    port: u16,
}

/// What adding a shard moved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resharding {
    /// Slots given to the new shard.
    pub slots: usize,
    /// Keys they held, copied to it and deleted from their old shards.
    pub keys_moved: usize,
    /// Keys in the cluster.
    pub keys_total: usize,
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
        let mut cluster = Self { topology, nodes: Vec::new(), dir, quorum, port };
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

    // ANCHOR: add_shard
    /// Adds a shard of as many replicas as the others, and moves its fair
    /// share of slots to it, with their keys, one step at a time:
    ///
    /// 1. start the new shard's nodes, and tell every node about them;
    /// 2. mark the moving slots: commands on them get `-TRYAGAIN`;
    /// 3. a barrier through each old shard's log (an empty entry, which
    ///    only a leader can commit), so that every write accepted before
    ///    step 2 is committed;
    /// 4. copy the moving keys into the new shard, through its log;
    /// 5. give the slots to the new shard: clients get `-MOVED` to it;
    /// 6. delete the moved keys from their old shards, through their logs.
    ///
    /// The moving slots are unavailable from step 2 to step 5: this is the
    /// "offline per slot" migration. If a step fails (a leader changed in
    /// the middle), the slots are given back before step 5, and the move
    /// can be tried again. Redis moves keys one at a time while
    /// serving, sending clients of a half-moved slot to the new shard with
    /// `-ASK`.
    pub async fn add_shard(&mut self) -> Result<Resharding, String> {
        let per = self.topology.per_shard;
        let new_shard = self.topology.shards();
        let mut target = self.topology.slots.clone();
        let moving: std::collections::BTreeSet<u16> = target.add_shard().into_iter().collect();
        let owned = |slot: u16| moving.contains(&slot);

        // 1. The new nodes, known to everyone; they own no slot yet.
        let mut listeners = Vec::new();
        let mut layout = self.topology.clone();
        for i in self.nodes.len()..self.nodes.len() + per {
            let port = if self.port == 0 { 0 } else { self.port + i as u16 };
            let client = bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
            let bus_port = if self.port == 0 { 0 } else { port + 10_000 };
            let bus = bind(SocketAddr::from(([127, 0, 0, 1], bus_port))).await?;
            let addr = |l: &TcpListener| l.local_addr().map_err(|e| e.to_string());
            layout.nodes.push(NodeAddr { client: addr(&client)?, bus: addr(&bus)? });
            listeners.push((client, bus));
        }
        layout.epoch += 1;
        self.publish(layout.clone());
        for (i, (client, bus)) in (self.nodes.len()..).zip(listeners) {
            let running = self.launch(i, client, bus)?;
            self.nodes.push(Some(running));
        }
        self.wait_settled().await?;

        // 2. The moving slots refuse commands.
        layout.migrating = moving.clone();
        layout.epoch += 1;
        self.publish(layout.clone());

        // 3 and 4. Each old shard's moving keys, once committed, go to the
        // new shard.
        let copied = self.copy_keys(new_shard, &owned).await;
        let (records, keys_total) = match copied {
            Ok(copied) => copied,
            Err(e) => {
                layout.migrating.clear();
                layout.epoch += 1;
                self.publish(layout);
                return Err(e);
            }
        };
        let keys_moved = records.iter().map(Vec::len).sum();

        // 5. The slots are the new shard's.
        layout.slots = target;
        layout.migrating.clear();
        layout.epoch += 1;
        self.publish(layout);

        // 6. And no longer the old shards'.
        for (shard, moved) in records.into_iter().enumerate() {
            let deletes: Vec<LogRecord> = moved
                .into_iter()
                // A key of any type is rebuilt by a record that names it
                // (a collection with a TTL, by two): one Delete each.
                .filter_map(|r| match r {
                    LogRecord::Expire { .. } => None,
                    other => other
                        .into_change()?
                        .key()
                        .map(|key| LogRecord::Delete { key: key.to_vec() }),
                })
                .collect();
            if !deletes.is_empty() {
                self.leader_member(shard)?.import(deletes).await?;
            }
        }
        Ok(Resharding { slots: moving.len(), keys_moved, keys_total })
    }
    // ANCHOR_END: add_shard

    /// Steps 3 and 4 of `add_shard`: each old shard's keys that `owned`
    /// picks, after a barrier, copied to shard `to`. Returns them, by
    /// shard, and the number of keys in the old shards.
    async fn copy_keys(
        &self,
        to: usize,
        owned: &impl Fn(u16) -> bool,
    ) -> Result<(Vec<Vec<LogRecord>>, usize), String> {
        let mut records = Vec::new();
        let mut keys_total = 0;
        for shard in 0..to {
            let leader = self.leader_member(shard)?;
            leader.import(Vec::new()).await.map_err(|e| format!("shard {shard}'s barrier: {e}"))?;
            keys_total += leader.export(|_| true).len();
            records.push(leader.export(|key| owned(key_slot(key))));
        }
        let receiver = self.leader_member(to)?;
        for batch in records.iter().flatten().cloned().collect::<Vec<_>>().chunks(1000) {
            receiver.import(batch.to_vec()).await?;
        }
        Ok((records, keys_total))
    }

    /// Gives every running node the layout `topology`, and keeps it.
    fn publish(&mut self, topology: Topology) {
        for node in self.nodes.iter().flatten() {
            node.member.set_topology(topology.clone());
        }
        self.topology = topology;
    }

    fn leader_member(&self, shard: usize) -> Result<Arc<Member>, String> {
        let leader = self.leader(shard).ok_or(format!("shard {shard} has no leader"))?;
        Ok(self.nodes[leader].as_ref().expect("a leader is up").member.clone())
    }

    /// Waits (up to 10 s) until every node knows every shard's leader.
    pub async fn wait_settled(&self) -> Result<(), String> {
        let start = std::time::Instant::now();
        while !self.settled() {
            if start.elapsed() > std::time::Duration::from_secs(10) {
                return Err("the cluster did not settle in 10 s".into());
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        Ok(())
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
            // The replica first, so that it acknowledges nothing more.
            let member = node.member.clone();
            let _ = tokio::task::spawn_blocking(move || member.stop()).await;
            node.server.abort();
            let _ = node.server.await;
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
