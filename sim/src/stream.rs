//! Simulated TCP connections between whole nodes: a dial reaches the other node's listener
//! after one latency (it accepts, or refuses at once), the dialer hears it is up one latency
//! later, and then each direction is an ordered byte stream — a segment arrives after its
//! latency and the time its bytes take on the link, never before the one sent ahead of it.
//! TCP drops no bytes: a lost segment breaks the connection (both ends hear it closed), as do
//! partitions and crashes; a dial into a partition times out, a dial to a crashed node is
//! refused.

use crate::net::{ip_addr, ix_of, Core, Ev, NodeIx, Sim};
use proto_core::dht::Addr;
use proto_core::node::{ConnId, Input};
use std::collections::BTreeMap;

/// How long a dial into a partition waits before it fails (a runtime's connect timeout).
pub(crate) const DIAL_TIMEOUT_MS: u64 = 5_000;

pub(crate) enum StreamEv {
    /// A dial from `from`'s connection `from_conn` (incarnation `from_epoch`) reaches this
    /// node's listener.
    Syn {
        from: NodeIx,
        from_conn: ConnId,
        from_epoch: u64,
    },
    /// This node's dial is up.
    Connected,
    Bytes(Vec<u8>),
    /// The other end closed, or the connection broke, or (for a dial) it failed.
    Closed,
}

struct End {
    /// The other end once connected; `None` while dialing and once the other end is gone.
    peer: Option<(NodeIx, ConnId)>,
    /// When the last segment sent from this end reaches the other end.
    tail: u64,
}

#[derive(Default)]
pub(crate) struct Streams {
    ends: BTreeMap<(NodeIx, ConnId), End>,
    /// The runtime's counter for accepted connections, per node.
    next_accept: BTreeMap<NodeIx, u64>,
}

impl Sim {
    /// The nodes at the other end of node `a`'s open connections, one entry per connection.
    pub fn connections(&self, a: NodeIx) -> Vec<NodeIx> {
        let mine = self.streams.ends.range((a, ConnId(0))..=(a, ConnId(u64::MAX)));
        mine.filter_map(|(_, e)| e.peer.map(|(b, _)| b)).collect()
    }

    /// `Output::Dial` of node `a`.
    pub(crate) fn stream_dial(&mut self, a: NodeIx, conn: ConnId, addr: Addr) {
        self.streams.ends.insert((a, conn), End { peer: None, tail: self.now });
        let to = ix_of(&addr).filter(|&b| b < self.nodes.len());
        let fail_in = match to {
            None => Some(1),
            Some(b) if self.partitioned(a, b) => Some(DIAL_TIMEOUT_MS),
            Some(b) if !self.alive(b) => Some(2 * self.latency()),
            Some(_) => None,
        };
        if let Some(after) = fail_in {
            return self.push_stream(a, conn, self.now + after, StreamEv::Closed);
        }
        let b = to.expect("checked");
        let syn = StreamEv::Syn { from: a, from_conn: conn, from_epoch: self.nodes[a].epoch };
        let at = self.now + self.latency();
        self.push_stream(b, ConnId(0), at, syn);
    }

    /// `Output::Send` of node `x`: the bytes go down the stream, or the stream breaks.
    pub(crate) fn stream_send(&mut self, x: NodeIx, conn: ConnId, bytes: Vec<u8>) {
        self.messages += 1;
        if self.streams.ends.get(&(x, conn)).and_then(|e| e.peer).is_none() {
            return; // the other end is gone; its close is on the way
        }
        if self.net_rng.chance(self.cfg.loss) {
            return self.break_stream(x, conn);
        }
        self.forward(x, conn, StreamEv::Bytes(bytes));
    }

    /// `Output::Close` of node `x`: the other end hears it after what was sent before it.
    pub(crate) fn stream_close(&mut self, x: NodeIx, conn: ConnId) {
        let Some(peer) = self.streams.ends.get(&(x, conn)).map(|e| e.peer) else { return };
        if let Some(p) = peer {
            self.forward(x, conn, StreamEv::Closed);
            if let Some(e) = self.streams.ends.get_mut(&p) {
                e.peer = None;
            }
        }
        self.streams.ends.remove(&(x, conn));
    }

    /// Node `n` crashed: its connections are gone and their other ends hear so.
    pub(crate) fn streams_lost(&mut self, n: NodeIx) {
        let mine: Vec<ConnId> =
            self.streams.ends.range((n, ConnId(0))..=(n, ConnId(u64::MAX))).map(|((_, c), _)| *c).collect();
        for conn in mine {
            if let Some(p) = self.streams.ends.remove(&(n, conn)).and_then(|e| e.peer) {
                self.broken_conns += 1;
                self.hang_up(p);
            }
        }
    }

    /// A partition began: every connection across it breaks.
    pub(crate) fn streams_split(&mut self) {
        let across: Vec<(NodeIx, ConnId)> = self
            .streams
            .ends
            .iter()
            .filter(|(&(x, _), e)| e.peer.is_some_and(|(y, _)| x < y && self.partitioned(x, y)))
            .map(|(k, _)| *k)
            .collect();
        for (x, conn) in across {
            self.break_stream(x, conn);
        }
    }

    /// Both ends of a connection hear it closed, after a latency each.
    fn break_stream(&mut self, x: NodeIx, conn: ConnId) {
        self.broken_conns += 1;
        if let Some(p) = self.streams.ends.get(&(x, conn)).and_then(|e| e.peer) {
            self.hang_up(p);
        }
        self.hang_up((x, conn));
    }

    /// This end's peer is gone: it hears `Closed` after a latency.
    fn hang_up(&mut self, (y, conn): (NodeIx, ConnId)) {
        if let Some(e) = self.streams.ends.get_mut(&(y, conn)) {
            e.peer = None;
            let at = self.now + self.latency();
            self.push_stream(y, conn, at, StreamEv::Closed);
        }
    }

    /// Sends `ev` from end `(x, conn)` to its peer, in order behind what was sent before.
    fn forward(&mut self, x: NodeIx, conn: ConnId, ev: StreamEv) {
        let latency = self.latency();
        let len = if let StreamEv::Bytes(b) = &ev { b.len() as u64 } else { 0 };
        let on_link = len / self.cfg.bytes_per_ms.max(1);
        let Some(e) = self.streams.ends.get_mut(&(x, conn)) else { return };
        let Some((y, peer_conn)) = e.peer else { return };
        e.tail = (self.now + latency).max(e.tail) + on_link;
        let at = e.tail;
        self.push_stream(y, peer_conn, at, ev);
    }

    fn push_stream(&mut self, to: NodeIx, conn: ConnId, at: u64, ev: StreamEv) {
        let epoch = self.nodes[to].epoch;
        self.push(at, Ev::Stream { to, epoch, conn, ev });
    }

    /// A stream event reaches live node `to`.
    pub(crate) fn on_stream(&mut self, to: NodeIx, conn: ConnId, ev: StreamEv) {
        let open = self.streams.ends.contains_key(&(to, conn));
        let (tag, input): (&[u8], Input) = match ev {
            StreamEv::Syn { from, from_conn, from_epoch } => return self.on_syn(to, from, from_conn, from_epoch),
            // An end that closed itself meanwhile hears nothing more.
            _ if !open => return,
            StreamEv::Connected => (b"C", Input::Connected { conn }),
            StreamEv::Bytes(bytes) => {
                self.trace_event(b"", to, &bytes);
                (b"B", Input::Bytes { conn, bytes })
            }
            StreamEv::Closed => {
                self.streams.ends.remove(&(to, conn));
                (b"X", Input::Closed { conn })
            }
        };
        self.trace_event(tag, to, &conn.0.to_le_bytes());
        self.feed(to, input);
    }

    /// A dial arrives: the node accepts (or refuses) it as a runtime's listener would.
    fn on_syn(&mut self, b: NodeIx, a: NodeIx, a_conn: ConnId, a_epoch: u64) {
        let dialing = self.nodes[a].epoch == a_epoch
            && self.alive(a)
            && self.streams.ends.get(&(a, a_conn)).is_some_and(|e| e.peer.is_none());
        if !dialing || self.partitioned(a, b) {
            return; // the dialer gave up or died, or the way is cut: its dial times out
        }
        let counter = self.streams.next_accept.entry(b).or_insert(0);
        *counter += 1;
        let conn = ConnId(*counter);
        self.trace_event(b"S", b, &conn.0.to_le_bytes());
        let remote = ip_addr(a, 40_000 + (conn.0 % 20_000) as u16);
        let now = self.node_now(b);
        let Some(Core::Node(m)) = self.nodes[b].core.as_mut() else { return };
        m.handle_input(now, Input::Accepted { conn, remote });
        if m.is_open(conn) {
            self.streams.ends.insert((b, conn), End { peer: Some((a, a_conn)), tail: self.now });
            if let Some(e) = self.streams.ends.get_mut(&(a, a_conn)) {
                e.peer = Some((b, conn));
            }
            self.forward(b, conn, StreamEv::Connected);
        } else {
            let at = self.now + self.latency();
            self.push_stream(a, a_conn, at, StreamEv::Closed);
        }
        self.after_handle(b, false);
    }
}
