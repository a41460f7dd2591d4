//! A request as a worker sees it: the parsed head, the client's address and the body — read
//! already by the event loop, or streamed from the socket under a deadline.

use super::head::Head;
use std::io::{self, Cursor, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

pub struct Request {
    pub head: Head,
    pub remote: SocketAddr,
    pub(crate) body: Body,
}

pub(crate) enum Body {
    Buffered(Cursor<Vec<u8>>),
    /// Read from the socket as the method consumes it: `prefix` came with the head.
    Stream(StreamBody),
}

pub(crate) struct StreamBody {
    pub prefix: Cursor<Vec<u8>>,
    pub stream: TcpStream,
    pub remaining: u64,
    /// A read that gets nothing for this long fails (the socket's read timeout).
    pub stall: Duration,
    pub continue_sent: bool,
    pub expect_continue: bool,
}

impl Read for StreamBody {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // `remaining` counts what is still in the socket; the prefix is already here.
        let n = self.prefix.read(buf)?;
        if n > 0 {
            return Ok(n);
        }
        if self.remaining == 0 || buf.is_empty() {
            return Ok(0);
        }
        if self.expect_continue && !self.continue_sent {
            self.continue_sent = true;
            self.stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        }
        let want = buf.len().min(self.remaining.min(usize::MAX as u64) as usize);
        let started = Instant::now();
        match self.stream.read(&mut buf[..want]) {
            Ok(0) => Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the client closed before the body ended")),
            Ok(n) => {
                self.remaining -= n as u64;
                Ok(n)
            }
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("the request body stalled for {} s", started.elapsed().max(self.stall).as_secs()),
            )),
            Err(e) => Err(e),
        }
    }
}

impl Request {
    pub fn method(&self) -> &str {
        &self.head.method
    }

    pub fn url(&self) -> &str {
        &self.head.target
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.header(name)
    }

    pub fn remote_addr(&self) -> SocketAddr {
        self.remote
    }

    /// The body's declared length.
    pub fn body_length(&self) -> Option<u64> {
        match &self.body {
            Body::Buffered(c) => Some(c.get_ref().len() as u64),
            Body::Stream(s) => Some(s.remaining + s.prefix.get_ref().len() as u64 - s.prefix.position()),
        }
    }

    pub fn as_reader(&mut self) -> &mut dyn Read {
        match &mut self.body {
            Body::Buffered(c) => c,
            Body::Stream(s) => s,
        }
    }

    /// A request made in a test, with a buffered body.
    pub fn for_test(head: Head, remote: SocketAddr, body: Vec<u8>) -> Request {
        Request { head, remote, body: Body::Buffered(Cursor::new(body)) }
    }
}
