//! A connection: a socket, the bytes read from it but not yet parsed, and
//! the replies not yet written.
//!
//! Reading and writing are batched. One `read` may bring many commands (a
//! client that *pipelines* sends them without waiting for replies), and
//! their replies leave in one `write`: a round trip and two system calls for
//! the lot instead of for each. That is where pipelining's speed comes from.

use std::io;
use std::time::Duration;

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::frame::{
    Frame, Limits, Parsed, Protocol, ProtocolError, RequestProgress, parse_request,
};

/// Bytes asked of the socket per read, at least.
const READ_CHUNK: usize = 16 << 10;

// ANCHOR: connection
/// One client's socket, with its input and output buffers.
pub struct Connection {
    stream: TcpStream,
    /// Bytes read and not yet parsed into a request.
    input: BytesMut,
    /// How far the parse of the request at the front of `input` got.
    progress: RequestProgress,
    /// Encoded replies waiting to be written.
    output: Vec<u8>,
    limits: Limits,
}

impl Connection {
    /// Wraps `stream`.
    pub fn new(stream: TcpStream, limits: Limits) -> Self {
        Self {
            stream,
            input: BytesMut::with_capacity(READ_CHUNK),
            progress: RequestProgress::default(),
            output: Vec::new(),
            limits,
        }
    }

    /// The next whole request already read, if there is one. Empty inline
    /// lines are skipped, as Redis skips them.
    pub fn next_request(&mut self) -> Result<Option<Vec<Vec<u8>>>, ProtocolError> {
        loop {
            match parse_request(&self.input, &mut self.progress, &self.limits)? {
                Parsed::Done(args, used) => {
                    self.input.advance(used);
                    if !args.is_empty() {
                        return Ok(Some(args));
                    }
                }
                Parsed::Incomplete => return Ok(None),
            }
        }
    }

    /// Reads more bytes from the socket. `Ok(false)` when the client has
    /// closed its side.
    pub async fn read_more(&mut self) -> io::Result<bool> {
        self.input.reserve(READ_CHUNK);
        Ok(self.stream.read_buf(&mut self.input).await? > 0)
    }
    // ANCHOR_END: connection

    /// Bytes read and not yet parsed: what the query buffer limit bounds.
    pub fn buffered_input(&self) -> usize {
        self.input.len()
    }

    /// Encodes `frame` in `protocol` after the replies already waiting.
    /// The protocol is the session's when the command ran: a pipelined
    /// `HELLO 3` switches the replies after its own, not the ones before.
    pub fn push(&mut self, frame: &Frame, protocol: Protocol) {
        frame.encode_into(protocol, &mut self.output);
    }

    /// Writes every waiting reply, in one system call when the socket takes
    /// them all. Fails with [`io::ErrorKind::TimedOut`] if the socket takes
    /// nothing for `stall`: the client is not reading. A client that reads
    /// slowly but steadily is never cut off.
    pub async fn write_out(&mut self, stall: Duration) -> io::Result<()> {
        let mut written = 0;
        while written < self.output.len() {
            match tokio::time::timeout(stall, self.stream.write(&self.output[written..])).await {
                Ok(Ok(0)) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(Ok(n)) => written += n,
                Ok(Err(e)) => return Err(e),
                Err(_) => return Err(io::ErrorKind::TimedOut.into()),
            }
        }
        self.output.clear();
        Ok(())
    }

    /// Writes `bytes` now, if the socket takes them without waiting; for
    /// goodbyes that must not hold anything up.
    pub fn try_write_now(&self, bytes: &[u8]) {
        let _ = self.stream.try_write(bytes);
    }
}
