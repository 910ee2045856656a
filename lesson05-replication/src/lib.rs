//! # Lesson 5 — the store on the network, then a cluster of them
//!
//! A Redis-compatible server: lessons 2–4's stores, shared by many clients
//! over TCP, spoken to by `redis-cli`, `redis-benchmark` and redis-py as if
//! it were Redis. Built on tokio, in the layers of tokio's mini-redis:
//!
//! ```text
//!   bytes on a socket
//!        │ frame       ─ RESP2/RESP3: parse requests, encode replies (pure)
//!        │ connection  ─ buffered socket: read many requests, write many replies
//!        │ session     ─ one client: HELLO, AUTH, CLIENT, COMMAND, CONFIG, INFO
//!        │ command     ─ the server's commands, and what COMMAND says of each
//!        │ engine      ─ the shared store behind one lock  (commit: group commit)
//!        ▼ server      ─ accept within the limits, one task per client, shutdown
//!   lesson 3's DurableStore, or lesson 4's Bitcask or B+tree
//! ```
//!
//! [`client`] is a small RESP client for tests and the book's transcripts.
//!
//! Part 2, the cluster, so far:
//!
//! ```text
//!   partition        ─ hash slots, as Redis Cluster assigns keys to shards,
//!                      and a consistent-hash ring to compare
//!   replica          ─ one shard's replica: Raft's elections and log
//!                      replication, as pure logic (step, request, tick)
//!   simulation       ─ a whole shard in one thread, from a seed: delays,
//!                      losses, duplicates, crashes, partitions
//!   linearizability  ─ does some order explain what the clients saw?
//!   cluster          ─ a node on the network: the replica's thread and
//!                      journal, the cluster bus, routing by slot (MOVED),
//!                      the CLUSTER commands, and a whole local cluster
//! ```

pub mod client;
pub mod cluster;
pub mod command;
pub mod commit;
pub mod connection;
pub mod engine;
pub mod frame;
pub mod linearizability;
pub mod partition;
pub mod replica;
pub mod rng;
pub mod server;
pub mod session;
pub mod simulation;

pub use engine::Engine;
pub use frame::{Frame, Protocol};
pub use server::{Config, EngineConfig, EngineKind, Server, run};
