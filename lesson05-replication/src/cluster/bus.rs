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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
pub async fn listen(listener: TcpListener, inbox: std::sync::mpsc::Sender<BusFrame>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let inbox = inbox.clone();
        tokio::spawn(async move {
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
        if stream.is_none() {
            stream = TcpStream::connect(address).await.ok();
            if let Some(s) = &stream {
                let _ = s.set_nodelay(true);
            }
        }
        let Some(s) = &mut stream else { continue };
        if s.write_all(&bytes).await.is_err() {
            stream = None;
        }
    }
}
