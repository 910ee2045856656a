//! The cluster bus: replicas' messages over TCP, between processes.
//!
//! Each node listens on a second port (Redis's is the client port plus
//! 10000) and keeps one outgoing connection to every other node, made on
//! demand and remade when it breaks. A frame is a 4-byte length and the
//! bincode of a [`BusFrame`]. The bus promises nothing: a message to a
//! node that is down, or sent while its connection is being remade, is
//! lost, which Raft tolerates by design (the leader resends).

use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use crate::replica::{Message, Term};

/// The largest frame the bus accepts: a snapshot of a big shard fits; a
/// garbage length does not make us allocate gigabytes.
const MAX_FRAME: usize = 256 << 20;

/// What travels on the bus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum BusFrame {
    /// A Raft message between replicas of one shard.
    Raft {
        /// The sender's replica number within the shard.
        from: usize,
        /// The message.
        message: Message,
    },
    /// A leader says so, to the other shards' nodes, so that each node can
    /// send clients to any shard's leader (`-MOVED`, `CLUSTER SLOTS`).
    Leader {
        /// Its shard.
        shard: usize,
        /// Its term.
        term: Term,
        /// Its replica number.
        replica: usize,
    },
}

fn config() -> bincode::config::Configuration {
    bincode::config::standard()
}

/// Encodes a frame: length, then payload.
pub fn encode(frame: &BusFrame) -> Vec<u8> {
    let mut out = vec![0; 4];
    bincode::serde::encode_into_std_write(frame, &mut out, config())
        .expect("a Vec takes any write");
    let len = u32::try_from(out.len() - 4).expect("frames are far below 4 GiB");
    out[..4].copy_from_slice(&len.to_le_bytes());
    out
}

/// Accepts connections from other nodes and hands every frame to `inbox`.
/// The connections' tasks belong to this one: when it is aborted (the
/// node stops), they go too, and the other nodes see their connections
/// close at once.
pub async fn listen(listener: TcpListener, inbox: std::sync::mpsc::Sender<BusFrame>) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            // Reap the finished ones, so the set does not grow.
            Some(_) = connections.join_next() => continue,
        };
        let Ok((stream, _)) = accepted else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let inbox = inbox.clone();
        connections.spawn(async move {
            let _ = receive(stream, inbox).await;
        });
    }
}

async fn receive(
    mut stream: TcpStream,
    inbox: std::sync::mpsc::Sender<BusFrame>,
) -> std::io::Result<()> {
    let mut payload = Vec::new();
    loop {
        let len = stream.read_u32_le().await? as usize;
        if len > MAX_FRAME {
            return Err(std::io::Error::other("bus frame too long"));
        }
        payload.resize(len, 0);
        stream.read_exact(&mut payload).await?;
        let Ok((frame, _)) = bincode::serde::decode_from_slice(&payload, config()) else {
            return Err(std::io::Error::other("bad bus frame"));
        };
        if inbox.send(frame).is_err() {
            return Ok(()); // The node stopped.
        }
    }
}

/// Keeps a connection to the node at `address` and writes what `outbox`
/// receives; while there is no connection, frames are dropped.
pub async fn send_to(address: SocketAddr, mut outbox: mpsc::Receiver<Vec<u8>>) {
    let mut stream: Option<TcpStream> = None;
    while let Some(bytes) = outbox.recv().await {
        // A connection the other side closed (it restarted) still takes a
        // write, and loses it: the kernel learns of the loss too late. We
        // never read from this connection, so if it is readable, it is
        // closed: reconnect first. (Found by measuring failovers: a
        // follower's votes went into such a socket, and each election
        // took two more.)
        if stream.as_ref().is_some_and(|s| !open(s)) {
            stream = None;
        }
        for _attempt in 0..2 {
            if stream.is_none() {
                stream = TcpStream::connect(address).await.ok();
                if let Some(s) = &stream {
                    let _ = s.set_nodelay(true);
                }
            }
            let Some(s) = &mut stream else { break };
            if s.write_all(&bytes).await.is_ok() {
                break;
            }
            stream = None; // Broken: one more try on a new connection.
        }
    }
}

/// Whether an outgoing connection is still open: nothing is ever sent
/// back on it, so anything to read means the other side closed it.
fn open(stream: &TcpStream) -> bool {
    matches!(stream.try_read(&mut [0u8; 1]), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
}
