//! Block exchange: asking providers of a root for the blocks of its DAG, one provider at a time
//! per block but many blocks at once across providers, and answering others' wants. Every
//! received block is checked against its hash before anyone sees it; a peer that sends wrong
//! bytes is reported and the next provider is asked.

use super::{CommandError, Event, Node, Output, Reply};
use crate::cid::Cid;
use crate::dht::{self, content_key, CommandId, Key, PeerInfo};
use crate::time::Mono;
use crate::wire::{Envelope, Proto};
use minicbor::{Decode, Encode};
use std::collections::BTreeSet;

/// How long a provider may take to answer a want.
pub(super) const WANT_TIMEOUT_MS: u64 = 10_000;
/// How long a provider list is reused for a root.
pub(super) const PROVIDER_CACHE_MS: u64 = 60_000;
/// Fetches under way at once.
pub(super) const MAX_FETCHES: usize = 1024;

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum BlockMsg {
    #[n(0)]
    Want {
        #[n(0)]
        rid: u64,
        #[cbor(n(1), with = "minicbor::bytes")]
        cid: Vec<u8>,
    },
    #[n(1)]
    Have {
        #[n(0)]
        rid: u64,
        #[cbor(n(1), with = "minicbor::bytes")]
        data: Vec<u8>,
    },
    #[n(2)]
    DontHave {
        #[n(0)]
        rid: u64,
    },
}

pub(super) struct Fetch {
    pub cid: Cid,
    pub root: Key,
    pub root_cid: Cid,
    pub commands: Vec<CommandId>,
    pub tried: BTreeSet<Key>,
    /// The provider asked now, the request id and its deadline.
    pub asking: Option<(Key, u64, Mono)>,
}

pub(super) struct Providers {
    pub peers: Vec<PeerInfo>,
    pub until: Mono,
    pub looking: bool,
}

/// Internal DHT command ids for provider lookups: the top quarter of the id space.
const INTERNAL: u64 = u64::MAX - (u64::MAX / 4);

impl Node {
    pub(super) fn on_fetch(&mut self, id: CommandId, root: Cid, cid: Cid) {
        if let Some(f) = self.fetches.values_mut().find(|f| f.cid == cid) {
            f.commands.push(id);
            return;
        }
        if self.fetches.len() >= MAX_FETCHES {
            return self.reply(id, Err(CommandError::Busy));
        }
        let fid = self.next_fid;
        self.next_fid += 1;
        let root_cid = root;
        let root = content_key(&root_cid);
        let fresh = self.providers.get(&root).is_some_and(|p| p.until > self.now.mono && !p.peers.is_empty());
        let ipfs = self.ipfs.as_ref().is_some_and(|h| h.can_search());
        if !fresh && ipfs && self.ipfs_roots.get(&root).is_some_and(|t| *t > self.now.mono) {
            // No node provided this root a moment ago: the IPFS network is asked at once.
            return self.ipfs_command(id, crate::libp2p::host::Command::Fetch { root: root_cid, cid });
        }
        self.fetches
            .insert(fid, Fetch { cid, root, root_cid, commands: vec![id], tried: BTreeSet::new(), asking: None });
        if fresh {
            return self.ask_next(fid);
        }
        let looking = self.providers.get(&root).is_some_and(|p| p.looking);
        if !looking {
            self.providers.insert(root, Providers { peers: Vec::new(), until: self.now.mono, looking: true });
            let lid = INTERNAL + self.next_fid;
            self.next_fid += 1;
            self.provider_lookups.insert(lid, root);
            self.dht.handle_input(
                self.now,
                dht::Input::Command { id: CommandId(lid), command: dht::Command::GetProviders(root) },
            );
        }
    }

    /// A provider lookup of ours finished.
    pub(super) fn on_providers(&mut self, lid: u64, found: Vec<PeerInfo>) {
        let Some(root) = self.provider_lookups.remove(&lid) else { return };
        let me = self.me.id;
        let peers: Vec<PeerInfo> = found.into_iter().filter(|p| p.id != me && !p.addrs.is_empty()).collect();
        self.providers
            .insert(root, Providers { peers, until: Mono(self.now.mono.0 + PROVIDER_CACHE_MS), looking: false });
        let waiting: Vec<u64> =
            self.fetches.iter().filter(|(_, f)| f.root == root && f.asking.is_none()).map(|(id, _)| *id).collect();
        for fid in waiting {
            self.ask_next(fid);
        }
    }

    pub(super) fn is_internal(id: CommandId) -> bool {
        id.0 >= INTERNAL
    }

    /// Asks the next untried provider, or fails the fetch.
    fn ask_next(&mut self, fid: u64) {
        let Some(f) = self.fetches.get(&fid) else { return };
        let peers = self.providers.get(&f.root).map(|p| p.peers.clone()).unwrap_or_default();
        let untried: Vec<PeerInfo> = peers.into_iter().filter(|p| !f.tried.contains(&p.id)).collect();
        if untried.is_empty() && self.ipfs.as_ref().is_some_and(|h| h.can_search()) {
            // No node has it: the IPFS network may.
            let f = self.fetches.remove(&fid).expect("present");
            if self.ipfs_roots.len() < MAX_FETCHES * 16 {
                self.ipfs_roots.insert(f.root, Mono(self.now.mono.0 + PROVIDER_CACHE_MS));
            }
            for id in f.commands {
                let cmd = crate::libp2p::host::Command::Fetch { root: f.root_cid.clone(), cid: f.cid.clone() };
                self.ipfs_command(id, cmd);
            }
            return;
        }
        if untried.is_empty() {
            let f = self.fetches.remove(&fid).expect("present");
            let why = if f.tried.is_empty() { "no provider was found" } else { "no provider could send it" };
            for id in f.commands {
                self.reply(id, Err(CommandError::NotFound(format!("block {}: {why}", f.cid))));
            }
            return;
        }
        // Spread blocks over providers: start at a place that depends on the block.
        let start = (f.cid.hash().digest().first().copied().unwrap_or(0) as usize) % untried.len();
        let p = untried[start].clone();
        let rid = self.next_fid;
        self.next_fid += 1;
        let deadline = Mono(self.now.mono.0 + WANT_TIMEOUT_MS);
        let cid = f.cid.to_bytes();
        if let Some(f) = self.fetches.get_mut(&fid) {
            f.asking = Some((p.id, rid, deadline));
            f.tried.insert(p.id);
        }
        self.wants.insert(rid, fid);
        let body = minicbor::to_vec(BlockMsg::Want { rid, cid }).expect("encoding to a Vec cannot fail");
        self.transmit(p, Envelope::encode(Proto::Block, body));
    }

    pub(super) fn on_block_msg(&mut self, peer: Key, body: &[u8]) {
        let Ok(msg) = minicbor::decode::<BlockMsg>(body) else {
            return self.out.push_back(Output::Event(Event::Dht(dht::Event::PeerFaulted {
                peer,
                reason: "undecodable block message",
            })));
        };
        match msg {
            BlockMsg::Want { rid, cid } => match Cid::from_bytes(&cid) {
                Ok(cid) => self.out.push_back(Output::LoadBlock { peer, rid, cid }),
                Err(_) => self.send_block_msg(peer, BlockMsg::DontHave { rid }),
            },
            BlockMsg::Have { rid, data } => self.on_answer(peer, rid, Some(data)),
            BlockMsg::DontHave { rid } => self.on_answer(peer, rid, None),
        }
    }

    fn on_answer(&mut self, peer: Key, rid: u64, data: Option<Vec<u8>>) {
        let Some(&fid) = self.wants.get(&rid) else { return };
        let Some(f) = self.fetches.get(&fid) else { return };
        if f.asking.map(|a| (a.0, a.1)) != Some((peer, rid)) {
            return; // not who we asked
        }
        self.wants.remove(&rid);
        match data {
            Some(d) if f.cid.hash().verifies(&d) => {
                let mut commands = self.fetches.remove(&fid).expect("present").commands;
                // Each waiting command gets the block; the last one takes it without a copy.
                let last = commands.pop();
                for id in commands {
                    self.reply(id, Ok(Reply::Block(d.clone())));
                }
                if let Some(id) = last {
                    self.reply(id, Ok(Reply::Block(d)));
                }
            }
            Some(_) => {
                self.out.push_back(Output::Event(Event::PeerFaulted {
                    conn: super::ConnId(0),
                    peer: Some(peer),
                    reason: format!("sent bytes that do not match block {}", f.cid),
                }));
                if let Some(f) = self.fetches.get_mut(&fid) {
                    f.asking = None;
                }
                self.ask_next(fid);
            }
            None => {
                if let Some(f) = self.fetches.get_mut(&fid) {
                    f.asking = None;
                }
                self.ask_next(fid);
            }
        }
    }

    /// The runtime's answer to `LoadBlock`.
    pub(super) fn on_block_loaded(&mut self, peer: Key, rid: u64, data: Option<Vec<u8>>) {
        let msg = match data {
            Some(data) => BlockMsg::Have { rid, data },
            None => BlockMsg::DontHave { rid },
        };
        self.send_block_msg(peer, msg);
    }

    fn send_block_msg(&mut self, peer: Key, msg: BlockMsg) {
        let Some(&conn) = self.by_peer.get(&peer) else { return };
        let body = minicbor::to_vec(msg).expect("encoding to a Vec cannot fail");
        self.send_to(conn, &Envelope::encode(Proto::Block, body));
    }

    /// Wants whose provider did not answer in time move on to the next provider.
    pub(super) fn expire_wants(&mut self) {
        let now = self.now.mono;
        self.ipfs_roots.retain(|_, until| *until > now);
        let late: Vec<u64> =
            self.fetches.iter().filter(|(_, f)| f.asking.is_some_and(|a| a.2 <= now)).map(|(id, _)| *id).collect();
        for fid in late {
            if let Some(f) = self.fetches.get_mut(&fid) {
                if let Some((_, rid, _)) = f.asking.take() {
                    self.wants.remove(&rid);
                }
            }
            self.ask_next(fid);
        }
    }

    pub(super) fn next_want_deadline(&self) -> Option<Mono> {
        self.fetches.values().filter_map(|f| f.asking.map(|a| a.2)).min()
    }
}
