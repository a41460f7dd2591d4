//! Bitswap machines wired back to back: every `Send` is encoded, decoded and delivered at once;
//! storage reads are answered from each node's map; received blocks are stored, and a node may
//! walk a "DAG" by wanting the children listed for a block in the same session.

use super::super::*;
use crate::cid::{Cid, Version as CidVersion, CODEC_RAW};
use std::collections::{BTreeMap, VecDeque};

pub(super) fn peer(n: u8) -> PeerId {
    PeerId::from_ed25519(&[n; 32])
}

/// A raw block of `len` pseudo-random bytes.
pub(super) fn raw_block(seed: u64, len: usize) -> (Cid, Vec<u8>) {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let data: Vec<u8> = (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    (Cid::of_block(CidVersion::V1, CODEC_RAW, &data), data)
}

pub(super) struct Node {
    pub(super) id: PeerId,
    pub(super) bs: Bitswap,
    pub(super) store: BTreeMap<Cid, Vec<u8>>,
    pub(super) received: Vec<(SessionId, Cid)>,
    pub(super) last_received_ms: u64,
    pub(super) failed: Vec<(SessionId, Cid, String, u64)>,
    pub(super) searches: Vec<(SessionId, Cid, u64)>,
    /// Blocks this node put in its messages.
    pub(super) blocks_sent: usize,
    /// Every message this node sent, with its receiver.
    pub(super) sent: Vec<(PeerId, Message)>,
    /// Sends nothing at all.
    pub(super) silent: bool,
    /// Sends every block with its data altered.
    pub(super) liar: bool,
    /// The DAG walk: a received block's children, wanted in the same session.
    pub(super) children: BTreeMap<Cid, Vec<Cid>>,
}

pub(super) struct Net {
    pub(super) nodes: Vec<Node>,
    pub(super) now: u64,
    queue: VecDeque<(usize, usize, Vec<u8>)>,
    keep_sent: bool,
}

impl Net {
    pub(super) fn new(n: usize, cfg: &Config) -> Net {
        let nodes = (0..n)
            .map(|i| Node {
                id: peer(i as u8 + 1),
                bs: Bitswap::new(cfg.clone()),
                store: BTreeMap::new(),
                received: Vec::new(),
                last_received_ms: 0,
                failed: Vec::new(),
                searches: Vec::new(),
                blocks_sent: 0,
                sent: Vec::new(),
                silent: false,
                liar: false,
                children: BTreeMap::new(),
            })
            .collect();
        Net { nodes, now: 0, queue: VecDeque::new(), keep_sent: true }
    }

    /// Stops logging whole messages (for big fetches).
    pub(super) fn forget_messages(&mut self) {
        self.keep_sent = false;
    }

    pub(super) fn connect(&mut self, a: usize, b: usize, version: Version) {
        let (ia, ib) = (self.nodes[a].id.clone(), self.nodes[b].id.clone());
        self.nodes[a].bs.handle_input(self.now, Input::Connected { peer: ib, version });
        self.nodes[b].bs.handle_input(self.now, Input::Connected { peer: ia, version });
    }

    pub(super) fn disconnect(&mut self, a: usize, b: usize) {
        let (ia, ib) = (self.nodes[a].id.clone(), self.nodes[b].id.clone());
        self.nodes[a].bs.handle_input(self.now, Input::Disconnected { peer: ib });
        self.nodes[b].bs.handle_input(self.now, Input::Disconnected { peer: ia });
        self.queue.retain(|(f, t, _)| !((*f == a && *t == b) || (*f == b && *t == a)));
    }

    pub(super) fn want(&mut self, i: usize, session: SessionId, cids: Vec<Cid>) {
        self.nodes[i].bs.want(self.now, session, cids);
    }

    fn index_of(&self, id: &PeerId) -> usize {
        self.nodes.iter().position(|n| n.id == *id).expect("a node of the net")
    }

    fn drain(&mut self, i: usize) {
        let now = self.now;
        while let Some(out) = self.nodes[i].bs.poll_output() {
            let node = &mut self.nodes[i];
            match out {
                Output::Send { to, mut msg } => {
                    if node.silent {
                        continue;
                    }
                    if node.liar {
                        for b in &mut msg.payload {
                            b.data.push(0xff);
                        }
                    }
                    node.blocks_sent += msg.payload.len() + msg.blocks.len();
                    let bytes = msg.encode();
                    assert!(bytes.len() <= MAX_MESSAGE);
                    if self.keep_sent {
                        node.sent.push((to.clone(), msg));
                    }
                    let t = self.index_of(&to);
                    self.queue.push_back((i, t, bytes));
                }
                Output::Load { cid } => {
                    let data = node.store.get(&cid).cloned();
                    node.bs.handle_input(now, Input::Loaded { cid, data });
                }
                Output::Has { cid } => {
                    let (have, size) = node.store.get(&cid).map_or((false, 0), |d| (true, d.len()));
                    node.bs.handle_input(now, Input::Held { cid, have, size });
                }
                Output::Received { session, cid, data } => {
                    assert!(cid.hash().verifies(&data), "only verified blocks are handed out");
                    node.store.insert(cid.clone(), data);
                    node.received.push((session, cid.clone()));
                    node.last_received_ms = now;
                    if let Some(kids) = node.children.get(&cid).cloned() {
                        node.bs.want(now, session, kids);
                    }
                }
                Output::FindProviders { session, cid } => node.searches.push((session, cid, now)),
                Output::Failed { session, cid, why } => node.failed.push((session, cid, why, now)),
            }
        }
    }

    /// Delivers the oldest message in flight; false when there is none.
    pub(super) fn deliver_one(&mut self) -> bool {
        for i in 0..self.nodes.len() {
            self.drain(i);
        }
        let Some((f, t, bytes)) = self.queue.pop_front() else { return false };
        let msg = Message::decode(&bytes).expect("our own messages decode");
        let from = self.nodes[f].id.clone();
        self.nodes[t].bs.handle_input(self.now, Input::Message { from, msg });
        self.drain(t);
        true
    }

    /// Delivers messages until no node has anything more to say.
    pub(super) fn settle(&mut self) {
        while self.deliver_one() {}
    }

    /// Settles, then moves the clock from timer to timer until `until_ms`.
    pub(super) fn run(&mut self, until_ms: u64) {
        loop {
            self.settle();
            let next = self.nodes.iter().filter_map(|n| n.bs.poll_timeout()).min();
            match next {
                Some(t) if t <= until_ms => {
                    self.now = self.now.max(t);
                    for n in &mut self.nodes {
                        if n.bs.poll_timeout().is_some_and(|t| t <= self.now) {
                            n.bs.handle_timeout(self.now);
                        }
                    }
                }
                _ => return,
            }
        }
    }
}
