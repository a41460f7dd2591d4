//! The client: live wants, the peers they went to, and the sessions that want them.
//!
//! A session's first wants, before any peer answered it, go as want-have (no DONT_HAVE asked)
//! to every connected peer. Peers that say HAVE or send a block join the session; from then on
//! each want goes as want-block (DONT_HAVE asked) to one peer — one that said HAVE if any, else a
//! session peer — and as want-have to the session's other peers. The want-block's peer is the
//! one with the least `(in flight + 1) × latency`, so blocks spread over every peer that has
//! them, each with at most `max_want_blocks_per_peer` in flight. DONT_HAVE, silence for
//! `dont_have_timeout_ms`, a disconnect or a ban moves the want-block on. Blocks are matched by
//! multihash (the data's hash), so a block cannot be what it is not; an unwanted block (not a
//! late duplicate) is a strike, and a peer with `max_strikes` is asked for nothing more.

use super::msg::{Block, Entry, Message, Presence, WantType, Wantlist};
use super::session::Session;
use super::{Config, Output, SessionId, Version};
use crate::cid::{Cid, Multihash, HASH_IDENTITY};
use crate::libp2p::PeerId;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// Banned peers remembered across reconnects.
const MAX_BANNED: usize = 256;

#[derive(Debug)]
struct Peer {
    version: Version,
    /// Want-blocks out to this peer.
    in_flight: usize,
    /// Smoothed want-block → block time (0 until measured).
    latency_ms: u64,
    last_heard_ms: u64,
    strikes: u32,
    banned: bool,
}

#[derive(Debug)]
struct Want {
    /// The CID sent on the wire.
    cid: Cid,
    /// The sessions that want it, each with the CID it asked for.
    waiters: Vec<(SessionId, Cid)>,
    priority: i32,
    /// Peers sent a want for it (they get the CANCEL).
    asked: BTreeSet<PeerId>,
    haves: BTreeSet<PeerId>,
    /// Peers that said DONT_HAVE or let a want-block time out.
    tried: BTreeSet<PeerId>,
    /// The peer with the want-block and when it went.
    block_peer: Option<(PeerId, u64)>,
}

#[derive(Debug, Default)]
pub(super) struct Client {
    peers: BTreeMap<PeerId, Peer>,
    banned: VecDeque<PeerId>,
    wants: BTreeMap<Multihash, Want>,
    sessions: BTreeMap<SessionId, Session>,
    /// Recently received blocks and the sessions that got them.
    recent: BTreeMap<Multihash, Vec<SessionId>>,
    recent_order: VecDeque<Multihash>,
    outbox: BTreeMap<PeerId, Vec<Entry>>,
    issued: u32,
    rebroadcast_at: Option<u64>,
    out: VecDeque<Output>,
}

impl Client {
    pub(super) fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    fn usable(&self, p: &PeerId) -> bool {
        self.peers.get(p).is_some_and(|x| !x.banned)
    }

    fn send(&mut self, to: &PeerId, e: Entry) {
        self.outbox.entry(to.clone()).or_default().push(e);
    }

    /// A want-have to `peer` (a want-block to peers older than 1.2, which have no HAVE).
    fn ask_have(&mut self, peer: &PeerId, mh: &Multihash, send_dont_have: bool) {
        let Some(version) = self.peers.get(peer).map(|p| p.version) else { return };
        let Some(w) = self.wants.get_mut(mh) else { return };
        w.asked.insert(peer.clone());
        let kind = if version == Version::V1_2 { WantType::Have } else { WantType::Block };
        let e = Entry::want(w.cid.clone(), w.priority, kind, send_dont_have && version == Version::V1_2);
        self.send(peer, e);
    }

    pub(super) fn connected(&mut self, now_ms: u64, peer: &PeerId, version: Version) {
        let banned = self.banned.contains(peer);
        let p = self.peers.entry(peer.clone()).or_insert(Peer {
            version,
            in_flight: 0,
            latency_ms: 0,
            last_heard_ms: now_ms,
            strikes: 0,
            banned,
        });
        p.version = version;
        if banned {
            return;
        }
        let searching: Vec<Multihash> = self
            .wants
            .iter()
            .filter(|(_, w)| w.block_peer.is_none() && !w.asked.contains(peer))
            .map(|(mh, _)| mh.clone())
            .collect();
        for mh in searching {
            self.ask_have(peer, &mh, false);
        }
    }

    pub(super) fn disconnected(&mut self, now_ms: u64, cfg: &Config, peer: &PeerId) {
        self.peers.remove(peer);
        self.outbox.remove(peer);
        for w in self.wants.values_mut() {
            w.asked.remove(peer);
            w.haves.remove(peer);
            w.tried.remove(peer);
            if w.block_peer.as_ref().is_some_and(|(p, _)| p == peer) {
                w.block_peer = None;
            }
        }
        for s in self.sessions.values_mut() {
            s.peers.remove(peer);
        }
        self.assign_all(now_ms, cfg);
    }

    pub(super) fn providers(&mut self, now_ms: u64, cfg: &Config, sid: SessionId, peers: Vec<PeerId>) {
        for p in peers {
            self.join(&p, &[sid]);
        }
        self.assign_all(now_ms, cfg);
    }

    /// `peer` answered for these sessions: it joins them and is asked for their live wants.
    fn join(&mut self, peer: &PeerId, sids: &[SessionId]) {
        for sid in sids {
            let usable = self.usable(peer);
            let Some(s) = self.sessions.get_mut(sid) else { continue };
            if !s.peers.insert(peer.clone()) || !usable {
                continue;
            }
            let live: Vec<Multihash> = s.live.iter().cloned().collect();
            for mh in live {
                if self.wants.get(&mh).is_some_and(|w| !w.asked.contains(peer)) {
                    self.ask_have(peer, &mh, true);
                }
            }
        }
    }

    pub(super) fn want(&mut self, now_ms: u64, cfg: &Config, sid: SessionId, cids: Vec<Cid>) {
        if !self.sessions.contains_key(&sid) {
            if self.sessions.len() >= cfg.max_sessions {
                // Make room by forgetting the longest idle session, if there is one.
                let idle = self.sessions.iter().filter(|(_, s)| s.is_idle()).min_by_key(|(_, s)| s.progress_ms);
                if let Some(old) = idle.map(|(id, _)| *id) {
                    self.sessions.remove(&old);
                }
            }
            if self.sessions.len() >= cfg.max_sessions {
                for cid in cids {
                    self.out.push_back(Output::Failed { session: sid, cid, why: "too many sessions".into() });
                }
                return;
            }
            self.sessions.insert(sid, Session::new(now_ms, cfg));
        }
        let Some(s) = self.sessions.get_mut(&sid) else { return };
        if s.is_idle() {
            s.progress(now_ms, cfg);
        }
        for cid in cids {
            if cid.hash().code() == HASH_IDENTITY {
                let data = cid.hash().digest().to_vec();
                self.out.push_back(Output::Received { session: sid, cid, data });
            } else if s.queue.len() >= cfg.max_queued_per_session {
                self.out.push_back(Output::Failed { session: sid, cid, why: "session queue full".into() });
            } else if s.wanted.insert(cid.hash().clone()) {
                s.queue.push_back(cid);
            }
        }
        self.fill(now_ms, cfg, sid);
        if self.rebroadcast_at.is_none() {
            self.rebroadcast_at = Some(now_ms.saturating_add(cfg.rebroadcast_ms));
        }
    }

    fn fill(&mut self, now_ms: u64, cfg: &Config, sid: SessionId) {
        while let Some(cid) = self.sessions.get_mut(&sid).and_then(|s| s.next_to_start(cfg)) {
            self.start(now_ms, cfg, sid, cid);
        }
    }

    fn start(&mut self, now_ms: u64, cfg: &Config, sid: SessionId, cid: Cid) {
        let mh = cid.hash().clone();
        let Some(s) = self.sessions.get_mut(&sid) else { return };
        s.live.insert(mh.clone());
        if let Some(w) = self.wants.get_mut(&mh) {
            if !w.waiters.iter().any(|(s, _)| *s == sid) {
                w.waiters.push((sid, cid));
            }
            return;
        }
        s.started += 1;
        let broadcast = s.started <= cfg.broadcast_wants;
        let session_peers: Vec<PeerId> = s.peers.iter().cloned().collect();
        let others: Vec<PeerId> = if broadcast {
            self.peers.iter().filter(|(id, p)| !p.banned && !s.peers.contains(*id)).map(|(id, _)| id.clone()).collect()
        } else {
            Vec::new()
        };
        let peers: Vec<PeerId> = session_peers.into_iter().filter(|p| self.usable(p)).collect();
        self.issued = self.issued.wrapping_add(1);
        let priority = i32::MAX - (self.issued % (i32::MAX as u32)) as i32;
        let w = Want {
            cid: cid.clone(),
            waiters: vec![(sid, cid)],
            priority,
            asked: BTreeSet::new(),
            haves: BTreeSet::new(),
            tried: BTreeSet::new(),
            block_peer: None,
        };
        self.wants.insert(mh.clone(), w);
        if peers.is_empty() {
            let all: Vec<PeerId> = self.peers.iter().filter(|(_, p)| !p.banned).map(|(id, _)| id.clone()).collect();
            for p in all {
                self.ask_have(&p, &mh, false);
            }
            return;
        }
        self.assign(now_ms, cfg, &mh);
        let block_peer = self.wants.get(&mh).and_then(|w| w.block_peer.as_ref().map(|(p, _)| p.clone()));
        for p in peers {
            if block_peer.as_ref() != Some(&p) {
                self.ask_have(&p, &mh, true);
            }
        }
        for p in others {
            self.ask_have(&p, &mh, false);
        }
    }

    /// The peer to send `w`'s want-block to: one that said HAVE if any (waiting while they are
    /// all busy), else one of the sessions' peers; the least loaded and fastest. `Err(true)`
    /// when no peer is left to try at all.
    fn best_peer(&self, cfg: &Config, w: &Want) -> Result<PeerId, bool> {
        let ok = |p: &&PeerId| self.usable(p) && !w.tried.contains(*p);
        let mut pool: Vec<&PeerId> = w.haves.iter().filter(ok).collect();
        if pool.is_empty() {
            let session_peers = w.waiters.iter().filter_map(|(sid, _)| self.sessions.get(sid));
            pool = session_peers.flat_map(|s| s.peers.iter()).filter(ok).collect();
        }
        let exhausted = pool.is_empty();
        pool.into_iter()
            .filter_map(|id| self.peers.get(id).map(|p| (id, p)))
            .filter(|(_, p)| p.in_flight < cfg.max_want_blocks_per_peer)
            .min_by_key(|(id, p)| ((p.in_flight as u64 + 1).saturating_mul(p.latency_ms.max(1)), p.in_flight, *id))
            .map(|(id, _)| id.clone())
            .ok_or(exhausted)
    }

    /// Sends `mh`'s want-block to the best peer; when every known peer is tried, asks all the
    /// connected peers not yet asked whether they have it.
    fn assign(&mut self, now_ms: u64, cfg: &Config, mh: &Multihash) {
        let Some(w) = self.wants.get(mh).filter(|w| w.block_peer.is_none()) else { return };
        let peer = match self.best_peer(cfg, w) {
            Ok(peer) => peer,
            Err(true) => {
                let fresh: Vec<PeerId> = self
                    .peers
                    .iter()
                    .filter(|(id, p)| !p.banned && !w.asked.contains(*id) && !w.tried.contains(*id))
                    .map(|(id, _)| id.clone())
                    .collect();
                for p in fresh {
                    self.ask_have(&p, mh, false);
                }
                return;
            }
            Err(false) => return,
        };
        let e = Entry::want(w.cid.clone(), w.priority, WantType::Block, true);
        if let Some(w) = self.wants.get_mut(mh) {
            w.block_peer = Some((peer.clone(), now_ms));
            w.asked.insert(peer.clone());
        }
        if let Some(p) = self.peers.get_mut(&peer) {
            p.in_flight += 1;
        }
        self.send(&peer, e);
    }

    /// Gives every want without a want-block a peer, if one can take it, best priority first.
    fn assign_all(&mut self, now_ms: u64, cfg: &Config) {
        let mut waiting: Vec<(i32, Multihash)> =
            self.wants.iter().filter(|(_, w)| w.block_peer.is_none()).map(|(mh, w)| (w.priority, mh.clone())).collect();
        waiting.sort_by_key(|w| std::cmp::Reverse(w.0));
        for (_, mh) in waiting {
            self.assign(now_ms, cfg, &mh);
        }
    }

    /// The want-block of `w` is off its peer (answered, refused, timed out).
    fn release(peers: &mut BTreeMap<PeerId, Peer>, w: &mut Want) -> Option<(PeerId, u64)> {
        let (p, sent) = w.block_peer.take()?;
        if let Some(peer) = peers.get_mut(&p) {
            peer.in_flight = peer.in_flight.saturating_sub(1);
        }
        Some((p, sent))
    }

    /// Blocks and presences from `from`; returns the CIDs of the blocks that were wanted.
    pub(super) fn handle_reply(
        &mut self,
        now_ms: u64,
        cfg: &Config,
        from: &PeerId,
        blocks: Vec<Vec<u8>>,
        payload: Vec<Block>,
        presences: Vec<Presence>,
    ) -> Vec<Cid> {
        if blocks.is_empty() && payload.is_empty() && presences.is_empty() {
            return Vec::new();
        }
        let p = self.peers.entry(from.clone()).or_insert(Peer {
            version: Version::V1_2,
            in_flight: 0,
            latency_ms: 0,
            last_heard_ms: now_ms,
            strikes: 0,
            banned: false,
        });
        p.last_heard_ms = now_ms;
        if p.banned {
            return Vec::new();
        }
        let mut got = Vec::new();
        for data in blocks {
            let mh = Multihash::sha2_256(&data);
            self.on_block(now_ms, cfg, from, mh, data, &mut got);
        }
        for b in payload {
            match b.cid() {
                Ok(cid) => self.on_block(now_ms, cfg, from, cid.hash().clone(), b.data, &mut got),
                Err(_) => self.strike(cfg, from),
            }
        }
        for pr in presences {
            self.on_presence(from, pr);
        }
        self.assign_all(now_ms, cfg);
        got
    }

    fn on_block(&mut self, now_ms: u64, cfg: &Config, from: &PeerId, mh: Multihash, data: Vec<u8>, got: &mut Vec<Cid>) {
        if data.len() > cfg.max_block {
            return self.strike(cfg, from);
        }
        let Some(mut w) = self.wants.remove(&mh) else {
            match self.recent.get(&mh).cloned() {
                Some(sids) => self.join(from, &sids),
                None => self.strike(cfg, from),
            }
            return;
        };
        if let Some((p, sent)) = Self::release(&mut self.peers, &mut w) {
            if let Some(peer) = self.peers.get_mut(&p).filter(|_| p == *from) {
                let sample = now_ms.saturating_sub(sent);
                peer.latency_ms = if peer.latency_ms == 0 { sample } else { (3 * peer.latency_ms + sample) / 4 };
            }
        }
        for p in &w.asked {
            if p != from {
                self.outbox.entry(p.clone()).or_default().push(Entry::cancel(w.cid.clone()));
            }
        }
        let sids: Vec<SessionId> = w.waiters.iter().map(|(s, _)| *s).collect();
        let mut data = Some(data);
        let last = w.waiters.len().saturating_sub(1);
        for (i, (sid, cid)) in w.waiters.into_iter().enumerate() {
            if let Some(s) = self.sessions.get_mut(&sid) {
                s.live.remove(&mh);
                s.wanted.remove(&mh);
                s.progress(now_ms, cfg);
            }
            got.push(cid.clone());
            let data = if i == last { data.take() } else { data.clone() }.unwrap_or_default();
            self.out.push_back(Output::Received { session: sid, cid, data });
        }
        self.remember(cfg, mh, sids.clone());
        self.join(from, &sids);
        for sid in sids {
            self.fill(now_ms, cfg, sid);
        }
    }

    fn remember(&mut self, cfg: &Config, mh: Multihash, sids: Vec<SessionId>) {
        if self.recent.insert(mh.clone(), sids).is_none() {
            self.recent_order.push_back(mh);
        }
        while self.recent_order.len() > cfg.recent_blocks {
            if let Some(old) = self.recent_order.pop_front() {
                self.recent.remove(&old);
            }
        }
    }

    fn on_presence(&mut self, from: &PeerId, pr: Presence) {
        let mh = pr.cid.hash();
        let Some(w) = self.wants.get_mut(mh) else {
            if let Some(sids) = self.recent.get(mh).filter(|_| pr.have).cloned() {
                self.join(from, &sids);
            }
            return;
        };
        if pr.have {
            w.haves.insert(from.clone());
            let sids: Vec<SessionId> = w.waiters.iter().map(|(s, _)| *s).collect();
            self.join(from, &sids);
        } else {
            w.haves.remove(from);
            w.tried.insert(from.clone());
            if w.block_peer.as_ref().is_some_and(|(p, _)| p == from) {
                Self::release(&mut self.peers, w);
            }
        }
    }

    fn strike(&mut self, cfg: &Config, from: &PeerId) {
        let Some(p) = self.peers.get_mut(from) else { return };
        p.strikes += 1;
        if p.strikes < cfg.max_strikes || p.banned {
            return;
        }
        p.banned = true;
        p.in_flight = 0;
        self.banned.push_back(from.clone());
        if self.banned.len() > MAX_BANNED {
            self.banned.pop_front();
        }
        for w in self.wants.values_mut() {
            w.haves.remove(from);
            w.tried.insert(from.clone());
            if w.block_peer.as_ref().is_some_and(|(p, _)| p == from) {
                w.block_peer = None;
            }
        }
        for s in self.sessions.values_mut() {
            s.peers.remove(from);
        }
    }

    /// CIDs the session still waits for (queued or live); 0 for an unknown session.
    pub(super) fn pending(&self, sid: SessionId) -> usize {
        self.sessions.get(&sid).map_or(0, |s| s.wanted.len())
    }

    /// Ends a session, failing what it still wanted with `why`.
    pub(super) fn cancel(&mut self, now_ms: u64, cfg: &Config, sid: SessionId, why: &str) {
        let Some(s) = self.sessions.remove(&sid) else { return };
        for cid in s.queue {
            self.out.push_back(Output::Failed { session: sid, cid, why: why.into() });
        }
        for mh in s.live {
            let Some(w) = self.wants.get_mut(&mh) else { continue };
            if let Some(i) = w.waiters.iter().position(|(s, _)| *s == sid) {
                let (_, cid) = w.waiters.remove(i);
                self.out.push_back(Output::Failed { session: sid, cid, why: why.into() });
            }
            if w.waiters.is_empty() {
                if let Some(mut w) = self.wants.remove(&mh) {
                    Self::release(&mut self.peers, &mut w);
                    for p in &w.asked {
                        self.outbox.entry(p.clone()).or_default().push(Entry::cancel(w.cid.clone()));
                    }
                }
            }
        }
        self.assign_all(now_ms, cfg);
    }

    fn block_deadline(&self, cfg: &Config, w: &Want) -> Option<u64> {
        let (p, sent) = w.block_peer.as_ref()?;
        let heard = self.peers.get(p).map_or(0, |p| p.last_heard_ms);
        Some((*sent).max(heard).saturating_add(cfg.dont_have_timeout_ms))
    }

    pub(super) fn handle_timeout(&mut self, now_ms: u64, cfg: &Config) {
        let late: Vec<Multihash> = self
            .wants
            .iter()
            .filter(|(_, w)| self.block_deadline(cfg, w).is_some_and(|d| d <= now_ms))
            .map(|(mh, _)| mh.clone())
            .collect();
        for mh in late {
            if let Some(w) = self.wants.get_mut(&mh) {
                if let Some((p, _)) = Self::release(&mut self.peers, w) {
                    w.haves.remove(&p);
                    w.tried.insert(p);
                }
            }
        }
        let due: Vec<SessionId> =
            self.sessions.iter().filter(|(_, s)| s.deadline(cfg) <= now_ms).map(|(id, _)| *id).collect();
        for sid in due {
            let Some(s) = self.sessions.get_mut(&sid) else { continue };
            if s.is_idle() {
                self.sessions.remove(&sid);
                continue;
            }
            if s.give_up_ms(cfg) <= now_ms {
                let why = format!("no block for {} ms", cfg.session_idle_timeout_ms);
                self.cancel(now_ms, cfg, sid, &why);
                continue;
            }
            s.next_search_ms = now_ms.saturating_add(cfg.search_interval_ms);
            let stuck =
                s.live.iter().filter_map(|mh| self.wants.get(mh)).max_by_key(|w| (w.block_peer.is_none(), w.priority));
            if let Some(cid) = stuck.and_then(|w| w.waiters.iter().find(|(s, _)| *s == sid)).map(|(_, c)| c.clone()) {
                self.out.push_back(Output::FindProviders { session: sid, cid });
            }
        }
        if self.rebroadcast_at.is_some_and(|t| t <= now_ms) {
            self.rebroadcast();
            self.rebroadcast_at = (!self.wants.is_empty()).then(|| now_ms.saturating_add(cfg.rebroadcast_ms));
        }
        self.assign_all(now_ms, cfg);
    }

    /// Every live want again: want-blocks to their peers, the others as want-have to everyone.
    fn rebroadcast(&mut self) {
        let all: Vec<PeerId> = self.peers.iter().filter(|(_, p)| !p.banned).map(|(id, _)| id.clone()).collect();
        let mhs: Vec<Multihash> = self.wants.keys().cloned().collect();
        for mh in mhs {
            let Some(w) = self.wants.get_mut(&mh) else { continue };
            match &w.block_peer {
                Some((p, _)) => {
                    let (p, e) = (p.clone(), Entry::want(w.cid.clone(), w.priority, WantType::Block, true));
                    self.send(&p, e);
                }
                None => {
                    w.tried.clear();
                    for p in &all {
                        self.ask_have(p, &mh, false);
                    }
                }
            }
        }
    }

    pub(super) fn poll_timeout(&self, cfg: &Config) -> Option<u64> {
        let wants = self.wants.values().filter_map(|w| self.block_deadline(cfg, w));
        let sessions = self.sessions.values().map(|s| s.deadline(cfg));
        let rebroadcast = self.rebroadcast_at.filter(|_| !self.wants.is_empty());
        wants.chain(sessions).chain(rebroadcast).min()
    }

    /// Turns the entries gathered for each peer into `Send`s (the last entry for a CID wins).
    pub(super) fn flush(&mut self, cfg: &Config) {
        for (to, entries) in std::mem::take(&mut self.outbox) {
            let mut seen = BTreeSet::new();
            let mut kept: Vec<Entry> = entries.into_iter().rev().filter(|e| seen.insert(e.cid.clone())).collect();
            kept.reverse();
            let mut batch = Vec::new();
            let mut size = 4;
            for e in kept {
                let n = e.wire_len();
                if !batch.is_empty() && size + n > cfg.max_message {
                    self.push_wants(&to, std::mem::take(&mut batch));
                    size = 4;
                }
                size += n;
                batch.push(e);
            }
            if !batch.is_empty() {
                self.push_wants(&to, batch);
            }
        }
    }

    fn push_wants(&mut self, to: &PeerId, entries: Vec<Entry>) {
        let msg = Message { wantlist: Wantlist { entries, full: false }, ..Message::default() };
        self.out.push_back(Output::Send { to: to.clone(), msg });
    }
}
