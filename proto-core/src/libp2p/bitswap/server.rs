//! The server engine: a ledger of each peer's wants and the replies to them. A want-block is
//! answered with the block or (if asked) DONT_HAVE; a want-have with HAVE, the block itself when
//! it is at most `replace_have_with_block` bytes, or DONT_HAVE when asked. Answered wants leave
//! the ledger; wants of blocks this node lacks stay, and are served when the block arrives.
//!
//! Storage reads go out as `Load` / `Has` one at a time per peer in turn (at most
//! `max_lookups_per_peer` in flight, none while a peer has a full message of replies waiting),
//! so one peer's thousand wants never starve another's; replies leave as one `Send` per batch of
//! at most `max_message` bytes, again peer by peer in turn.

use super::msg::{field_len, prefix_of, Block, Message, Presence, WantType, Wantlist};
use super::{Config, Output, Version};
use crate::cid::{Cid, HASH_IDENTITY};
use crate::libp2p::PeerId;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Waiting for its storage read to be issued.
    Queued,
    /// A `Load` / `Has` is out.
    Looking,
    /// Its reply waits in the peer's `ready` queue.
    Ready,
    /// Not here; kept until cancelled or the block arrives.
    Missing,
}

#[derive(Debug)]
struct Want {
    kind: WantType,
    send_dont_have: bool,
    state: State,
}

#[derive(Debug)]
enum Reply {
    Block(Cid, Vec<u8>),
    Have(Cid),
    DontHave(Cid),
}

impl Reply {
    fn cid(&self) -> &Cid {
        match self {
            Reply::Block(c, _) | Reply::Have(c) | Reply::DontHave(c) => c,
        }
    }

    /// Bytes it adds to a message (at most: 1.0 peers get no prefix).
    fn wire_len(&self) -> usize {
        match self {
            Reply::Block(c, data) => field_len(field_len(prefix_of(c).len()) + field_len(data.len())),
            Reply::Have(c) => field_len(field_len(c.to_bytes().len())),
            Reply::DontHave(c) => field_len(field_len(c.to_bytes().len()) + 2),
        }
    }
}

#[derive(Debug)]
struct Ledger {
    /// Told apart from an earlier connection's ledger of the same peer by storage answers.
    generation: u64,
    version: Version,
    wants: BTreeMap<Cid, Want>,
    /// CIDs whose read is still to be issued, best first (stale ones are skipped).
    todo: VecDeque<Cid>,
    lookups: usize,
    ready: VecDeque<Reply>,
    ready_bytes: usize,
}

impl Ledger {
    fn drop_ready(&mut self, keep: impl Fn(&Cid) -> bool) {
        self.ready.retain(|r| keep(r.cid()));
        self.ready_bytes = self.ready.iter().map(Reply::wire_len).sum();
    }

    fn reply(&mut self, r: Reply) {
        if let Some(w) = self.wants.get_mut(r.cid()) {
            w.state = State::Ready;
        }
        self.ready_bytes += r.wire_len();
        self.ready.push_back(r);
    }

    /// The block is not here: DONT_HAVE when the peer asked for it, and keep the want.
    fn missing(&mut self, cid: &Cid) {
        let Some(w) = self.wants.get_mut(cid) else { return };
        w.state = State::Missing;
        if w.send_dont_have && self.version == Version::V1_2 {
            self.reply(Reply::DontHave(cid.clone()));
        }
    }
}

type Waiters = BTreeMap<Cid, Vec<(PeerId, u64)>>;

#[derive(Debug, Default)]
pub(super) struct Engine {
    peers: BTreeMap<PeerId, Ledger>,
    /// Round-robin order of the peers.
    order: VecDeque<PeerId>,
    has_waiters: Waiters,
    load_waiters: Waiters,
    generation: u64,
    out: VecDeque<Output>,
}

impl Engine {
    fn ledger(&mut self, peer: &PeerId) -> &mut Ledger {
        if !self.peers.contains_key(peer) {
            self.generation += 1;
            self.order.push_back(peer.clone());
        }
        let generation = self.generation;
        self.peers.entry(peer.clone()).or_insert_with(|| Ledger {
            generation,
            version: Version::V1_2,
            wants: BTreeMap::new(),
            todo: VecDeque::new(),
            lookups: 0,
            ready: VecDeque::new(),
            ready_bytes: 0,
        })
    }

    pub(super) fn connected(&mut self, peer: &PeerId, version: Version) {
        self.ledger(peer).version = version;
    }

    pub(super) fn disconnected(&mut self, peer: &PeerId) {
        self.peers.remove(peer);
        self.order.retain(|p| p != peer);
    }

    pub(super) fn handle_wantlist(&mut self, cfg: &Config, from: &PeerId, wl: Wantlist) {
        if wl.entries.is_empty() && !wl.full {
            return;
        }
        let l = self.ledger(from);
        if wl.full {
            let keep: BTreeSet<&Cid> = wl.entries.iter().filter(|e| !e.cancel).map(|e| &e.cid).collect();
            l.wants.retain(|c, _| keep.contains(c));
            l.drop_ready(|c| keep.contains(c));
        }
        let mut entries = wl.entries;
        entries.sort_by_key(|e| std::cmp::Reverse(e.priority));
        for e in entries {
            // kubo drops the connection over identity CIDs; there is nothing to send for them.
            if e.cid.hash().code() == HASH_IDENTITY {
                continue;
            }
            if e.cancel {
                if l.wants.remove(&e.cid).is_some_and(|w| w.state == State::Ready) {
                    l.drop_ready(|c| *c != e.cid);
                }
                continue;
            }
            let full = l.wants.len() >= cfg.max_wants_per_peer;
            match l.wants.get_mut(&e.cid) {
                Some(w) => {
                    if e.want == WantType::Block {
                        w.kind = WantType::Block;
                    }
                    w.send_dont_have = e.send_dont_have;
                    if w.state == State::Missing {
                        w.state = State::Queued;
                        l.todo.push_back(e.cid);
                    }
                }
                None if full => {}
                None => {
                    let w = Want { kind: e.want, send_dont_have: e.send_dont_have, state: State::Queued };
                    l.wants.insert(e.cid.clone(), w);
                    l.todo.push_back(e.cid);
                }
            }
        }
        if l.todo.len() > 2 * cfg.max_wants_per_peer {
            let wants = &l.wants;
            let mut seen = BTreeSet::new();
            l.todo.retain(|c| wants.get(c).is_some_and(|w| w.state == State::Queued) && seen.insert(c.clone()));
        }
    }

    /// A block this node now has (fetched by its client): serve the peers that wait for it.
    pub(super) fn block_added(&mut self, cid: &Cid) {
        for l in self.peers.values_mut() {
            if let Some(w) = l.wants.get_mut(cid) {
                if w.state == State::Missing {
                    w.state = State::Queued;
                    l.todo.push_front(cid.clone());
                }
            }
        }
    }

    pub(super) fn held(&mut self, cfg: &Config, cid: &Cid, have: bool, size: usize) {
        let Some(waiters) = self.has_waiters.remove(cid) else { return };
        for (peer, generation) in waiters {
            let Some(l) = self.peers.get_mut(&peer).filter(|l| l.generation == generation) else { continue };
            l.lookups = l.lookups.saturating_sub(1);
            let Some(w) = l.wants.get_mut(cid).filter(|w| w.state == State::Looking) else { continue };
            if !have || size > cfg.max_block {
                l.missing(cid);
            } else if w.kind == WantType::Block || size <= cfg.replace_have_with_block {
                l.lookups += 1;
                let list = self.load_waiters.entry(cid.clone()).or_default();
                list.push((peer, generation));
                if list.len() == 1 {
                    self.out.push_back(Output::Load { cid: cid.clone() });
                }
            } else {
                l.reply(Reply::Have(cid.clone()));
            }
        }
    }

    pub(super) fn loaded(&mut self, cfg: &Config, cid: &Cid, data: Option<Vec<u8>>) {
        let Some(waiters) = self.load_waiters.remove(cid) else { return };
        let mut data = data.filter(|d| d.len() <= cfg.max_block);
        let last = waiters.len().saturating_sub(1);
        for (i, (peer, generation)) in waiters.into_iter().enumerate() {
            let Some(l) = self.peers.get_mut(&peer).filter(|l| l.generation == generation) else { continue };
            l.lookups = l.lookups.saturating_sub(1);
            let Some(w) = l.wants.get(cid).filter(|w| w.state == State::Looking) else { continue };
            let Some(len) = data.as_ref().map(Vec::len) else {
                l.missing(cid);
                continue;
            };
            if w.kind == WantType::Have && len > cfg.replace_have_with_block && l.version == Version::V1_2 {
                l.reply(Reply::Have(cid.clone()));
            } else {
                // The last waiter takes the bytes; earlier ones get copies.
                let d = if i == last { data.take() } else { data.clone() };
                l.reply(Reply::Block(cid.clone(), d.unwrap_or_default()));
            }
        }
    }

    /// The next output: a queued one, else the next storage read in turn, else the next batch.
    pub(super) fn poll(&mut self, cfg: &Config) -> Option<Output> {
        if let Some(o) = self.out.pop_front() {
            return Some(o);
        }
        for _ in 0..self.order.len() {
            self.order.rotate_left(1);
            let peer = self.order.back()?.clone();
            if let Some(o) = self.next_lookup(cfg, &peer) {
                return Some(o);
            }
        }
        for _ in 0..self.order.len() {
            self.order.rotate_left(1);
            let peer = self.order.back()?.clone();
            if let Some(o) = self.next_batch(cfg, &peer) {
                return Some(o);
            }
        }
        None
    }

    fn next_lookup(&mut self, cfg: &Config, peer: &PeerId) -> Option<Output> {
        let l = self.peers.get_mut(peer)?;
        while l.lookups < cfg.max_lookups_per_peer && l.ready_bytes < cfg.max_message {
            let cid = l.todo.pop_front()?;
            let Some(w) = l.wants.get_mut(&cid).filter(|w| w.state == State::Queued) else { continue };
            w.state = State::Looking;
            l.lookups += 1;
            let has = w.kind == WantType::Have && l.version == Version::V1_2;
            let map = if has { &mut self.has_waiters } else { &mut self.load_waiters };
            let list = map.entry(cid.clone()).or_default();
            list.push((peer.clone(), l.generation));
            if list.len() == 1 {
                return Some(if has { Output::Has { cid } } else { Output::Load { cid } });
            }
        }
        None
    }

    fn next_batch(&mut self, cfg: &Config, peer: &PeerId) -> Option<Output> {
        let l = self.peers.get_mut(peer)?;
        if l.ready.is_empty() {
            return None;
        }
        let mut msg = Message::default();
        let mut size = 2;
        while let Some(r) = l.ready.front() {
            let n = r.wire_len();
            if size > 2 && size + n > cfg.max_message {
                break;
            }
            size += n;
            l.ready_bytes = l.ready_bytes.saturating_sub(n);
            match l.ready.pop_front() {
                Some(Reply::Block(cid, data)) => {
                    l.wants.remove(&cid);
                    if l.version == Version::V1_0 {
                        msg.blocks.push(data);
                    } else {
                        msg.payload.push(Block::new(&cid, data));
                    }
                }
                Some(Reply::Have(cid)) => {
                    l.wants.remove(&cid);
                    msg.presences.push(Presence { cid, have: true });
                }
                Some(Reply::DontHave(cid)) => {
                    if let Some(w) = l.wants.get_mut(&cid) {
                        w.state = State::Missing;
                    }
                    msg.presences.push(Presence { cid, have: false });
                }
                None => break,
            }
        }
        msg.pending_bytes = i32::try_from(l.ready_bytes).unwrap_or(i32::MAX);
        Some(Output::Send { to: peer.clone(), msg })
    }
}
