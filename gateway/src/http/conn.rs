//! One connection as the event loop holds it: what it is doing, its buffers and its deadline.

use super::head::Head;
use super::WsInfo;
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Instant;

pub(crate) enum Phase {
    /// Reading a request head (or idle before one).
    Head,
    /// Reading a body of `need` bytes into the buffer.
    Body {
        head: Head,
        need: usize,
    },
    /// A complete request waiting for a free worker.
    Ready(Ready),
    /// A worker has the socket.
    Busy,
    /// A long poll: the socket waits here for the parked call's answer.
    Parked,
    WebSocket(Box<WsConn>),
    /// Sending what is in `out`, then closing.
    Closing,
}

pub(crate) enum Ready {
    Buffered {
        head: Head,
        body: Vec<u8>,
    },
    /// The worker reads the body; `prefix` is the part that came with the head.
    Stream {
        head: Head,
        prefix: Vec<u8>,
        len: u64,
    },
}

pub(crate) struct WsConn {
    pub decoder: crate::ws::Decoder,
    pub info: Arc<WsInfo>,
    /// Messages waiting for a worker, and calls being run.
    pub queued: std::collections::VecDeque<Vec<u8>>,
    pub inflight: usize,
    /// A close was sent or received: no more messages are taken.
    pub closing: bool,
}

pub(crate) struct Conn {
    pub stream: Option<TcpStream>,
    pub remote: SocketAddr,
    pub phase: Phase,
    /// Bytes read and not yet taken by a phase.
    pub buf: Vec<u8>,
    /// How far `buf` was searched for the end of a head.
    pub scanned: usize,
    /// Bytes to send, from `out_pos`.
    pub out: Vec<u8>,
    pub out_pos: usize,
    /// When the current phase times out.
    pub deadline: Option<Instant>,
    /// The last time a write made progress (or the output was queued).
    pub last_write: Instant,
    /// Body bytes counted against the node-wide buffer budget.
    pub reserved: usize,
    /// The socket is registered with the poller, and what it is armed for (readable,
    /// writable); `None` after an event fired (registrations are one-shot).
    pub registered: bool,
    pub armed: Option<(bool, bool)>,
    /// The peer closed its side.
    pub eof: bool,
}

impl Conn {
    pub(super) fn new(stream: TcpStream, remote: SocketAddr, now: Instant) -> Conn {
        Conn {
            stream: Some(stream),
            remote,
            phase: Phase::Head,
            buf: Vec::new(),
            scanned: 0,
            out: Vec::new(),
            out_pos: 0,
            deadline: None,
            last_write: now,
            reserved: 0,
            registered: false,
            armed: None,
            eof: false,
        }
    }

    pub(super) fn ip(&self) -> IpAddr {
        self.remote.ip()
    }

    pub(super) fn has_output(&self) -> bool {
        self.out_pos < self.out.len()
    }

    pub(super) fn queue_output(&mut self, bytes: &[u8], now: Instant) {
        if !self.has_output() {
            self.out.clear();
            self.out_pos = 0;
            self.last_write = now;
        }
        self.out.extend_from_slice(bytes);
    }
}

/// The offset just past the blank line that ends a head, searching from `from`.
pub(crate) fn head_end(buf: &[u8], from: usize) -> Option<usize> {
    let start = from.saturating_sub(3);
    let mut i = start;
    while i < buf.len() {
        if buf[i] == b'\n' {
            if buf.get(i + 1) == Some(&b'\n') {
                return Some(i + 2);
            }
            if buf.get(i + 1) == Some(&b'\r') && buf.get(i + 2) == Some(&b'\n') {
                return Some(i + 3);
            }
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::head_end;

    #[test]
    fn the_end_of_a_head_is_found_across_reads() {
        let raw = b"GET / HTTP/1.1\r\nA: b\r\n\r\nrest";
        assert_eq!(head_end(raw, 0), Some(raw.len() - 4));
        // Searching resumes just before where the last search stopped.
        for cut in 0..raw.len() - 4 {
            let first = head_end(&raw[..cut], 0);
            assert_eq!(first, None, "cut {cut}");
            assert_eq!(head_end(raw, cut), Some(raw.len() - 4), "cut {cut}");
        }
        assert_eq!(head_end(b"GET / HTTP/1.0\n\nx", 0), Some(16));
    }
}
