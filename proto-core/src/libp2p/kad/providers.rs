//! The provider store: which peers said they provide a key (a multihash, 1–80 bytes), with the
//! addresses they gave, until `provider_ttl_ms` after the announcement. Bounded in keys and in
//! providers per key: a new key over the limit is refused, a new provider of a full key takes
//! the place of the one expiring soonest.

use super::msg::KadPeer;
use crate::libp2p::PeerId;
use std::collections::BTreeMap;

#[derive(Clone, Debug)]
struct Provider {
    addrs: Vec<Vec<u8>>,
    expires_ms: u64,
}

pub(super) struct Providers {
    max_keys: usize,
    max_per_key: usize,
    by_key: BTreeMap<Vec<u8>, BTreeMap<PeerId, Provider>>,
}

impl Providers {
    pub(super) fn new(max_keys: usize, max_per_key: usize) -> Self {
        Providers { max_keys, max_per_key: max_per_key.max(1), by_key: BTreeMap::new() }
    }

    /// Stores (or renews) `peer` as a provider of `key`; false when the store is full.
    pub(super) fn add(&mut self, key: &[u8], peer: &PeerId, addrs: Vec<Vec<u8>>, expires_ms: u64) -> bool {
        if !self.by_key.contains_key(key) && self.by_key.len() >= self.max_keys {
            return false;
        }
        let list = self.by_key.entry(key.to_vec()).or_default();
        if !list.contains_key(peer) && list.len() >= self.max_per_key {
            let soonest = list.iter().min_by_key(|(_, p)| p.expires_ms).map(|(id, _)| id.clone());
            if let Some(id) = soonest {
                list.remove(&id);
            }
        }
        list.insert(peer.clone(), Provider { addrs, expires_ms });
        true
    }

    /// The live providers of `key` with the addresses they announced.
    pub(super) fn get(&self, key: &[u8], now_ms: u64) -> Vec<KadPeer> {
        let Some(list) = self.by_key.get(key) else { return Vec::new() };
        list.iter()
            .filter(|(_, p)| p.expires_ms > now_ms)
            .map(|(id, p)| KadPeer { id: id.clone(), addrs: p.addrs.clone() })
            .collect()
    }

    /// Drops what expired by `now_ms`.
    pub(super) fn expire(&mut self, now_ms: u64) {
        for list in self.by_key.values_mut() {
            list.retain(|_, p| p.expires_ms > now_ms);
        }
        self.by_key.retain(|_, l| !l.is_empty());
    }

    pub(super) fn keys(&self) -> usize {
        self.by_key.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> PeerId {
        PeerId::from_bytes(&[&[0x12, 0x20][..], &[n; 32]].concat()).unwrap()
    }

    #[test]
    fn bounded_and_expiring() {
        let mut p = Providers::new(2, 2);
        assert!(p.add(b"k1", &id(1), vec![vec![1]], 100));
        assert!(p.add(b"k1", &id(2), vec![], 200));
        assert!(p.add(b"k1", &id(3), vec![], 300), "full key: the soonest to expire gives way");
        let got: Vec<PeerId> = p.get(b"k1", 0).into_iter().map(|k| k.id).collect();
        assert_eq!(got, vec![id(2), id(3)]);
        assert!(p.add(b"k2", &id(1), vec![], 100));
        assert!(!p.add(b"k3", &id(1), vec![], 100), "no third key");
        assert_eq!(p.get(b"k1", 250).len(), 1, "expired entries are not served");
        p.expire(250);
        assert_eq!(p.keys(), 1);
    }
}
