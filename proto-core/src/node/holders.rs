//! Which version of a MiMei its providers hold (`mimei findprovs`): `Command::AskHolders` sends
//! each given peer an `Ask`, matches the `Holds` that come back to the asks under way (an answer
//! from a peer that was not asked, or about another MiMei, is ignored), asks the silent ones once
//! more after `ASK_RETRY_MS`, and replies with what was heard once every peer answered or the
//! time ran out. A peer's `Ask` is answered from the store through a continuation:
//! `Output::LoadHead` → `Input::HeadLoaded`, then this node sends `Holds` with its HTTP port.

use super::{CommandError, MimeiMsg, Node, Reply};
use crate::dht::{CommandId, Key, PeerInfo};
use crate::time::Mono;
use crate::wire::{Envelope, Proto};
use std::collections::{BTreeMap, BTreeSet};

/// A message can be lost while two nodes replace crossing connections: a peer that has not
/// answered after this long is asked once more.
pub(super) const ASK_RETRY_MS: u64 = 500;
/// Asks under way at once; more are refused as `Busy`.
pub(super) const MAX_ASKS: usize = 256;

/// A provider's answer: the newest version it holds and where browsers reach it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holds {
    pub peer: Key,
    pub version: Option<u64>,
    /// Its HTTP port (at its peer addresses' hosts).
    pub http_port: Option<u16>,
}

struct Ask {
    mid: Key,
    peers: Vec<PeerInfo>,
    answers: BTreeMap<Key, Holds>,
    retry_at: Option<Mono>,
    deadline: Mono,
}

/// The asks under way, and what this node tells askers.
#[derive(Default)]
pub(super) struct Asks {
    under_way: BTreeMap<CommandId, Ask>,
    /// The HTTP port reported in `Holds` (`Command::SetHttpPort`).
    pub(super) http_port: Option<u16>,
}

impl Node {
    pub(super) fn on_ask_holders(&mut self, id: CommandId, mid: Key, peers: Vec<PeerInfo>, timeout_ms: u64) {
        if self.asks.under_way.len() >= MAX_ASKS {
            return self.reply(id, Err(CommandError::Busy));
        }
        let (me, now) = (self.me.id, self.now.mono);
        let mut seen = BTreeSet::new();
        let peers: Vec<PeerInfo> = peers.into_iter().filter(|p| p.id != me && seen.insert(p.id)).collect();
        for p in &peers {
            self.send_ask(p.clone(), mid);
        }
        let retry_at = (timeout_ms > ASK_RETRY_MS).then_some(Mono(now.0 + ASK_RETRY_MS));
        let deadline = Mono(now.0 + timeout_ms);
        self.asks.under_way.insert(id, Ask { mid, peers, answers: BTreeMap::new(), retry_at, deadline });
        self.finish_asks();
    }

    fn send_ask(&mut self, to: PeerInfo, mid: Key) {
        let body = minicbor::to_vec(MimeiMsg::Ask { mid }).expect("encoding to a Vec cannot fail");
        self.transmit(to, Envelope::encode(Proto::Mimei, body));
    }

    /// A peer's `Holds`: counted for every ask under way that asked it about this MiMei.
    pub(super) fn on_holds(&mut self, peer: Key, mid: Key, version: Option<u64>, http_port: Option<u16>) {
        for a in self.asks.under_way.values_mut().filter(|a| a.mid == mid && a.peers.iter().any(|p| p.id == peer)) {
            a.answers.insert(peer, Holds { peer, version, http_port });
        }
        self.finish_asks();
    }

    /// Asks the silent peers once more when their retry is due; replies to asks out of time.
    pub(super) fn expire_asks(&mut self) {
        let now = self.now.mono;
        let mut again = Vec::new();
        for a in self.asks.under_way.values_mut().filter(|a| a.retry_at.is_some_and(|t| t <= now)) {
            a.retry_at = None;
            again.extend(a.peers.iter().filter(|p| !a.answers.contains_key(&p.id)).map(|p| (p.clone(), a.mid)));
        }
        for (p, mid) in again {
            self.send_ask(p, mid);
        }
        self.finish_asks();
    }

    /// Replies to every ask that all its peers answered, or whose time is up: the answers in
    /// the order the peers were given.
    fn finish_asks(&mut self) {
        let now = self.now.mono;
        let done: Vec<CommandId> = self
            .asks
            .under_way
            .iter()
            .filter(|(_, a)| a.answers.len() == a.peers.len() || a.deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in done {
            let mut a = self.asks.under_way.remove(&id).expect("present");
            let holds = a.peers.iter().filter_map(|p| a.answers.remove(&p.id)).collect();
            self.reply(id, Ok(Reply::Holders(holds)));
        }
    }

    pub(super) fn next_ask_deadline(&self) -> Option<Mono> {
        self.asks.under_way.values().map(|a| a.retry_at.map_or(a.deadline, |r| r.min(a.deadline))).min()
    }

    /// The runtime's answer to `LoadHead`: tell the asker.
    pub(super) fn on_head_loaded(&mut self, peer: Key, mid: Key, version: Option<u64>) {
        let msg = MimeiMsg::Holds { mid, version, http_port: self.asks.http_port };
        let body = minicbor::to_vec(msg).expect("encoding to a Vec cannot fail");
        self.transmit(PeerInfo { id: peer, addrs: vec![] }, Envelope::encode(Proto::Mimei, body));
    }
}
