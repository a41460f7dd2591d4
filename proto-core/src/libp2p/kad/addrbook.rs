//! Addresses of peers we have heard of from the driver (identify, inbound requests, the
//! caller), DHT servers or not: the FIND_NODE and GET_PROVIDERS answers name them with these.
//! A connected peer's addresses stay; a disconnected one's are forgotten `recent_addr_ttl_ms`
//! later (kubo's `RecentlyConnectedAddrTTL`). Bounded: when full, the entry seen longest ago
//! goes.

use crate::libp2p::PeerId;
use std::collections::BTreeMap;

#[derive(Clone, Debug)]
struct Entry {
    addrs: Vec<Vec<u8>>,
    connected: bool,
    seen_ms: u64,
}

pub(super) struct AddrBook {
    max: usize,
    ttl_ms: u64,
    peers: BTreeMap<PeerId, Entry>,
}

impl AddrBook {
    pub(super) fn new(max: usize, ttl_ms: u64) -> Self {
        AddrBook { max, ttl_ms, peers: BTreeMap::new() }
    }

    /// A connected peer and its addresses (empty ones keep the old list).
    pub(super) fn connected(&mut self, peer: &PeerId, addrs: &[Vec<u8>], now_ms: u64) {
        if let Some(e) = self.peers.get_mut(peer) {
            e.connected = true;
            e.seen_ms = now_ms;
            if !addrs.is_empty() {
                e.addrs = addrs.to_vec();
            }
            return;
        }
        if addrs.is_empty() || self.max == 0 {
            return;
        }
        if self.peers.len() >= self.max {
            let oldest = self.peers.iter().min_by_key(|(_, e)| (e.connected, e.seen_ms)).map(|(p, _)| p.clone());
            if let Some(p) = oldest {
                self.peers.remove(&p);
            }
        }
        self.peers.insert(peer.clone(), Entry { addrs: addrs.to_vec(), connected: true, seen_ms: now_ms });
    }

    pub(super) fn disconnected(&mut self, peer: &PeerId, now_ms: u64) {
        if let Some(e) = self.peers.get_mut(peer) {
            e.connected = false;
            e.seen_ms = now_ms;
        }
    }

    /// The addresses of a peer, if still known at `now_ms`.
    pub(super) fn get(&self, peer: &PeerId, now_ms: u64) -> Option<&[Vec<u8>]> {
        let e = self.peers.get(peer)?;
        (e.connected || e.seen_ms.saturating_add(self.ttl_ms) > now_ms).then_some(e.addrs.as_slice())
    }

    pub(super) fn is_connected(&self, peer: &PeerId) -> bool {
        self.peers.get(peer).is_some_and(|e| e.connected)
    }

    pub(super) fn expire(&mut self, now_ms: u64) {
        let ttl = self.ttl_ms;
        self.peers.retain(|_, e| e.connected || e.seen_ms.saturating_add(ttl) > now_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forgets_disconnected_peers_after_the_ttl() {
        let a = PeerId::from_ed25519(&[1; 32]);
        let b = PeerId::from_ed25519(&[2; 32]);
        let c = PeerId::from_ed25519(&[3; 32]);
        let mut book = AddrBook::new(2, 100);
        book.connected(&a, &[vec![1]], 0);
        book.connected(&b, &[vec![2]], 5);
        book.disconnected(&a, 10);
        assert_eq!(book.get(&a, 109), Some(&[vec![1]][..]));
        assert_eq!(book.get(&a, 110), None);
        book.connected(&c, &[vec![3]], 20);
        assert!(book.get(&a, 20).is_none(), "full: the disconnected one went first");
        assert!(book.is_connected(&b) && book.is_connected(&c));
    }
}
