//! The server side (go-libp2p-kad-dht `handlers.go`): each inbound request is answered at once.
//! FIND_NODE: the k closest table peers with addresses, never the requester; ourselves when
//! asked for our own id (the lookup check needs one peer); the target too when its addresses
//! are known. GET_PROVIDERS (1–80 byte multihash key, echoed): stored providers, closer peers.
//! ADD_PROVIDER: entries whose id is the sender and that carry addresses are stored, the rest
//! ignored; no answer. GET_VALUE: the stored record, closer peers. PUT_VALUE: a valid `/pk/` or
//! `/ipns/` record whose key is the message key is stored and the request echoed. PING: echoed.
//! Anything else (bad key, bad record, client mode) resets the stream. `clusterLevelRaw` is set
//! as kubo's `NewMessage(type, key, level)` does: level = raw − 1 (at least 0), raw = level + 1.

use super::msg::{KadPeer, Message, MessageType};
use super::records;
use super::{Kad, Key, Mode, Output, RequestId};
use crate::libp2p::PeerId;

/// Provider keys kubo accepts (`handlers.go`: a multihash, at most 80 bytes).
pub(super) const MAX_PROVIDER_KEY: usize = 80;

pub(super) fn provider_key_ok(key: &[u8]) -> bool {
    (1..=MAX_PROVIDER_KEY).contains(&key.len())
}

/// The cluster level kubo answers with, from the request's.
fn answer_level(raw: i32) -> i32 {
    raw.saturating_sub(1).max(0).saturating_add(1)
}

impl Kad {
    pub(super) fn on_request(&mut self, req: RequestId, from: PeerId, mut from_addrs: Vec<Vec<u8>>, msg: Message) {
        if self.cfg.mode == Mode::Client || from == self.local {
            return self.out.push_back(Output::Reset { req });
        }
        from_addrs.truncate(self.cfg.max_addrs_per_peer);
        self.book.connected(&from, &from_addrs, self.now_ms);
        if self.table.contains(&from) {
            self.table.insert(&from, &[]); // it is alive: forgive its failures
        }
        let level = answer_level(msg.cluster_level);
        let answer = match msg.typ {
            MessageType::FindNode => {
                let closer = self.find_node_answer(&msg.key, &from);
                Some(Message { closer, cluster_level: level, ..Message::new(MessageType::FindNode, Vec::new()) })
            }
            MessageType::GetProviders if provider_key_ok(&msg.key) => {
                let providers = self.providers_of(&msg.key);
                let closer = self.closer_with_addrs(&Key::of(&msg.key), &from);
                Some(Message { providers, closer, cluster_level: level, ..Message::new(msg.typ, msg.key) })
            }
            MessageType::AddProvider if provider_key_ok(&msg.key) => {
                self.add_providers(&from, &msg);
                return;
            }
            MessageType::GetValue if !msg.key.is_empty() => {
                let record = self.records.get(&msg.key, self.now_ms).cloned();
                let closer = self.closer_with_addrs(&Key::of(&msg.key), &from);
                Some(Message { record, closer, cluster_level: level, ..Message::new(msg.typ, msg.key) })
            }
            MessageType::PutValue => self.put_value(msg),
            MessageType::Ping => Some(msg),
            _ => None,
        };
        self.out.push_back(match answer {
            Some(msg) => Output::Respond { req, msg },
            None => Output::Reset { req },
        });
    }

    fn find_node_answer(&self, key: &[u8], from: &PeerId) -> Vec<KadPeer> {
        if key == self.local.as_bytes() {
            return vec![self.local_peer_entry()];
        }
        let mut closer = self.closer_with_addrs(&Key::of(key), from);
        // kubo adds the target itself when it knows where it is (a connected client, say).
        if let Ok(target) = PeerId::from_bytes(key) {
            if &target != from && closer.iter().all(|p| p.id != target) {
                if let Some(addrs) = self.addrs_of(&target) {
                    closer.push(KadPeer { id: target, addrs });
                }
            }
        }
        closer
    }

    /// The k table peers closest to `key` that have addresses, leaving out the requester.
    fn closer_with_addrs(&self, key: &Key, from: &PeerId) -> Vec<KadPeer> {
        self.table
            .closest(key, self.cfg.k, Some(from))
            .into_iter()
            .filter_map(|mut p| {
                if let Some(a) = self.book.get(&p.id, self.now_ms) {
                    p.addrs = a.to_vec();
                }
                p.addrs.truncate(self.cfg.max_addrs_per_peer);
                (!p.addrs.is_empty()).then_some(p)
            })
            .collect()
    }

    /// Where a peer is, as far as we know: the address book first, then the table.
    pub(super) fn addrs_of(&self, peer: &PeerId) -> Option<Vec<Vec<u8>>> {
        if let Some(a) = self.book.get(peer, self.now_ms) {
            return Some(a.to_vec());
        }
        self.table.get(peer).map(|e| e.addrs.clone()).filter(|a| !a.is_empty())
    }

    /// The live providers of `key`, with their freshest known addresses.
    pub(super) fn providers_of(&self, key: &[u8]) -> Vec<KadPeer> {
        let mut list = self.providers.get(key, self.now_ms);
        for p in &mut list {
            if p.id == self.local {
                p.addrs = self.local_addrs.clone();
            } else if let Some(a) = self.book.get(&p.id, self.now_ms) {
                p.addrs = a.to_vec();
            }
        }
        list.truncate(self.cfg.max_peers_per_message);
        list
    }

    fn add_providers(&mut self, from: &PeerId, msg: &Message) {
        let expires = self.now_ms.saturating_add(self.cfg.provider_ttl_ms);
        for p in msg.providers.iter().take(self.cfg.max_peers_per_message) {
            if &p.id != from || p.addrs.is_empty() {
                continue; // kubo: only the sender, and only with addresses
            }
            let mut addrs = p.addrs.clone();
            addrs.truncate(self.cfg.max_addrs_per_peer);
            self.providers.add(&msg.key, from, addrs, expires);
        }
    }

    fn put_value(&mut self, msg: Message) -> Option<Message> {
        let r = msg.record.as_ref()?;
        if r.key != msg.key || records::validate(r, self.cfg.max_record_size, &*self.rsa).is_err() {
            return None;
        }
        let expires = self.now_ms.saturating_add(self.cfg.max_record_age_ms);
        self.records.put(r.clone(), expires).then_some(msg)
    }

    pub(super) fn on_identified(&mut self, peer: PeerId, mut addrs: Vec<Vec<u8>>, serves_dht: bool) {
        if peer == self.local {
            return;
        }
        addrs.truncate(self.cfg.max_addrs_per_peer);
        self.book.connected(&peer, &addrs, self.now_ms);
        if !serves_dht {
            self.table.remove(&peer);
            return;
        }
        if self.table.contains(&peer) || !self.cfg.lookup_check {
            self.table.insert(&peer, &addrs);
            self.arm_refresh();
            return;
        }
        if self.checking.len() < self.cfg.max_pending / 4 && self.checking.insert(peer.clone()) {
            let msg = Message::new(MessageType::FindNode, peer.as_bytes().to_vec());
            let sent = self.request(peer.clone(), addrs, msg, super::client::Purpose::Check);
            if !sent {
                self.checking.remove(&peer);
            }
        }
    }
}
