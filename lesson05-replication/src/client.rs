//! A minimal RESP client: for tests, for the book's transcripts, and for
//! the cluster in part 2. It prints replies the way `redis-cli` does.

use std::io;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, ToSocketAddrs};

use crate::frame::{Frame, Limits, Parsed};

/// A connection to a RESP server.
pub struct Client {
    stream: TcpStream,
    input: BytesMut,
}

impl Client {
    /// Connects to `address`.
    pub async fn connect(address: impl ToSocketAddrs) -> io::Result<Self> {
        let stream = TcpStream::connect(address).await?;
        stream.set_nodelay(true)?;
        Ok(Self { stream, input: BytesMut::new() })
    }

    /// A client on a stream already connected.
    pub fn from_stream(stream: TcpStream) -> Self {
        Self { stream, input: BytesMut::new() }
    }

    /// Sends one command, as an array of bulk strings, without waiting.
    pub async fn send(&mut self, args: &[&[u8]]) -> io::Result<()> {
        self.stream.write_all(&encode_command(args)).await
    }

    /// Sends raw bytes.
    pub async fn send_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes).await
    }

    /// Reads one reply; `None` if the server closed the connection.
    pub async fn read(&mut self) -> io::Result<Option<Frame>> {
        Ok(self.read_with_bytes().await?.map(|(frame, _)| frame))
    }

    /// Reads one reply, and the bytes it came as.
    pub async fn read_with_bytes(&mut self) -> io::Result<Option<(Frame, Vec<u8>)>> {
        loop {
            match Frame::parse(&self.input, &Limits::default()) {
                Ok(Parsed::Done(frame, used)) => {
                    let bytes = self.input.split_to(used).to_vec();
                    return Ok(Some((frame, bytes)));
                }
                Ok(Parsed::Incomplete) => {}
                Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e)),
            }
            if self.stream.read_buf(&mut self.input).await? == 0 {
                return if self.input.is_empty() {
                    Ok(None)
                } else {
                    Err(io::ErrorKind::UnexpectedEof.into())
                };
            }
        }
    }

    /// Sends a command and reads its reply.
    pub async fn call(&mut self, args: &[&str]) -> io::Result<Frame> {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.send(&args).await?;
        self.read().await?.ok_or_else(|| io::ErrorKind::UnexpectedEof.into())
    }

    /// Splits `line` as redis-cli does, runs it, and renders the reply as
    /// redis-cli prints it.
    pub async fn call_line(&mut self, line: &str) -> io::Result<String> {
        let args = lesson02_kv::tokenizer::tokenize(line.as_bytes())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let args: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
        self.send(&args).await?;
        let reply = self.read().await?.ok_or(io::ErrorKind::UnexpectedEof)?;
        Ok(render(&reply))
    }
}

/// A command as RESP: an array of bulk strings.
pub fn encode_command(args: &[&[u8]]) -> Vec<u8> {
    let frame = Frame::Array(args.iter().map(|a| Frame::Bulk(a.to_vec())).collect());
    frame.encode(crate::Protocol::Resp2)
}

// ANCHOR: render
/// Renders a reply as redis-cli prints it. RESP2's shapes are lesson 2's
/// [`Reply`](lesson02_kv::Reply), rendered by it; RESP3 adds `(double)`,
/// `(true)`, maps as `key => value` lines and verbatim text printed raw.
pub fn render(frame: &Frame) -> String {
    let mut out = String::new();
    render_into(frame, &mut out, 0);
    out
}
// ANCHOR_END: render

/// The frame as lesson 2's `Reply`, if it has only RESP2's shapes.
fn to_reply(frame: &Frame) -> Option<lesson02_kv::Reply> {
    use lesson02_kv::Reply;
    Some(match frame {
        Frame::Simple(s) => Reply::Simple(s.clone()),
        Frame::Error(e) => Reply::Error(e.clone()),
        Frame::Integer(n) => Reply::Integer(*n),
        Frame::Bulk(b) => Reply::Bulk(b.clone()),
        Frame::Null => Reply::Nil,
        Frame::NullArray => Reply::NullArray,
        Frame::Array(items) => Reply::Array(items.iter().map(to_reply).collect::<Option<_>>()?),
        _ => return None,
    })
}

fn render_into(frame: &Frame, out: &mut String, indent: usize) {
    if let Some(reply) = to_reply(frame) {
        // Lesson 2 renders RESP2's shapes; nested lines need our indent.
        let text = reply.render();
        out.push_str(&text.replace('\n', &format!("\n{}", " ".repeat(indent))));
        return;
    }
    match frame {
        Frame::Simple(_)
        | Frame::Error(_)
        | Frame::Integer(_)
        | Frame::Bulk(_)
        | Frame::Null
        | Frame::NullArray => {
            unreachable!("RESP2 shapes are rendered by lesson 2")
        }
        Frame::Double(x) => out.push_str(&format!("(double) {x}")),
        // Pairs are only sent, never parsed; as RESP3 sends them, nested.
        Frame::Pairs(pairs) => {
            let nested = pairs.iter().map(|(a, b)| Frame::Array(vec![a.clone(), b.clone()]));
            render_into(&Frame::Array(nested.collect()), out, indent);
        }
        Frame::Boolean(b) => out.push_str(&format!("({b})")),
        Frame::Verbatim(text) => out.push_str(String::from_utf8_lossy(text).trim_end()),
        Frame::Array(items) | Frame::Set(items) if items.is_empty() => {
            out.push_str("(empty array)");
        }
        Frame::Map(pairs) if pairs.is_empty() => out.push_str("(empty hash)"),
        Frame::Array(items) | Frame::Set(items) => {
            let width = items.len().to_string().len();
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push('\n');
                    out.push_str(&" ".repeat(indent));
                }
                out.push_str(&format!("{:>width$}) ", i + 1));
                render_into(item, out, indent + width + 2);
            }
        }
        Frame::Map(pairs) => {
            let width = pairs.len().to_string().len();
            for (i, (key, value)) in pairs.iter().enumerate() {
                if i > 0 {
                    out.push('\n');
                    out.push_str(&" ".repeat(indent));
                }
                out.push_str(&format!("{:>width$}# ", i + 1));
                render_into(key, out, indent + width + 2);
                out.push_str(" => ");
                render_into(value, out, indent + width + 2);
            }
        }
    }
}
