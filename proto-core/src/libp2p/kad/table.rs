//! The routing table: 256 k-buckets indexed by common prefix length with our key, each with a
//! small replacement cache. Only peers known to serve the DHT get in (identified with the
//! protocol and past the lookup check, answered one of our requests, or given by the caller).
//! A full bucket evicts an entry that has failed before, else keeps the newcomer as a
//! replacement; an entry is dropped after `max_failures` consecutive failures and the newest
//! replacement takes its place.

use super::key::Key;
use super::msg::KadPeer;
use crate::libp2p::PeerId;

#[derive(Clone, Debug)]
pub(super) struct Entry {
    pub(super) id: PeerId,
    pub(super) key: Key,
    pub(super) addrs: Vec<Vec<u8>>,
    /// Consecutive failed requests.
    pub(super) fails: u32,
}

#[derive(Clone, Debug, Default)]
struct Bucket {
    entries: Vec<Entry>,
    replacements: Vec<Entry>,
}

pub(super) struct Table {
    me: Key,
    k: usize,
    max_failures: u32,
    buckets: Vec<Bucket>,
}

impl Table {
    pub(super) fn new(me: Key, k: usize, max_failures: u32) -> Self {
        Table { me, k: k.max(1), max_failures: max_failures.max(1), buckets: vec![Bucket::default(); 256] }
    }

    pub(super) fn len(&self) -> usize {
        self.buckets.iter().map(|b| b.entries.len()).sum()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.buckets.iter().all(|b| b.entries.is_empty())
    }

    /// Adds or refreshes a peer that serves the DHT (its failures are forgiven; non-empty
    /// `addrs` replace the old ones). False when it only made the replacement cache.
    pub(super) fn insert(&mut self, id: &PeerId, addrs: &[Vec<u8>]) -> bool {
        let key = Key::of(id.as_bytes());
        let Some(i) = self.me.bucket_of(&key) else { return false };
        let k = self.k;
        let b = &mut self.buckets[i];
        if let Some(e) = b.entries.iter_mut().find(|e| &e.id == id) {
            e.fails = 0;
            if !addrs.is_empty() {
                e.addrs = addrs.to_vec();
            }
            return true;
        }
        let entry = Entry { id: id.clone(), key, addrs: addrs.to_vec(), fails: 0 };
        if b.entries.len() >= k {
            if let Some(pos) = b.entries.iter().position(|e| e.fails > 0) {
                b.entries.remove(pos);
            }
        }
        if b.entries.len() < k {
            b.replacements.retain(|e| &e.id != id);
            b.entries.push(entry);
            return true;
        }
        b.replacements.retain(|e| &e.id != id);
        b.replacements.push(entry);
        if b.replacements.len() > k {
            b.replacements.remove(0);
        }
        false
    }

    /// Removes a peer (it stopped serving the DHT).
    pub(super) fn remove(&mut self, id: &PeerId) {
        let Some(i) = self.me.bucket_of(&Key::of(id.as_bytes())) else { return };
        let b = &mut self.buckets[i];
        b.replacements.retain(|e| &e.id != id);
        if let Some(pos) = b.entries.iter().position(|e| &e.id == id) {
            b.entries.remove(pos);
            if let Some(r) = b.replacements.pop() {
                b.entries.push(r);
            }
        }
    }

    /// Counts a failed request; true when the peer was dropped for it.
    pub(super) fn failed(&mut self, id: &PeerId) -> bool {
        let Some(i) = self.me.bucket_of(&Key::of(id.as_bytes())) else { return false };
        let max = self.max_failures;
        let Some(e) = self.buckets[i].entries.iter_mut().find(|e| &e.id == id) else { return false };
        e.fails += 1;
        if e.fails < max {
            return false;
        }
        self.remove(id);
        true
    }

    pub(super) fn contains(&self, id: &PeerId) -> bool {
        self.get(id).is_some()
    }

    pub(super) fn get(&self, id: &PeerId) -> Option<&Entry> {
        let i = self.me.bucket_of(&Key::of(id.as_bytes()))?;
        self.buckets[i].entries.iter().find(|e| &e.id == id)
    }

    /// The `n` peers closest to `target`, nearest first, leaving out `except`.
    pub(super) fn closest(&self, target: &Key, n: usize, except: Option<&PeerId>) -> Vec<KadPeer> {
        let mut all: Vec<&Entry> =
            self.buckets.iter().flat_map(|b| b.entries.iter()).filter(|e| Some(&e.id) != except).collect();
        all.sort_by_key(|e| e.key.distance(target));
        all.into_iter().take(n).map(|e| KadPeer { id: e.id.clone(), addrs: e.addrs.clone() }).collect()
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.buckets.iter().flat_map(|b| b.entries.iter())
    }

    /// The deepest non-empty bucket (the longest common prefix with a known peer).
    pub(super) fn max_cpl(&self) -> Option<usize> {
        self.buckets.iter().rposition(|b| !b.entries.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u32) -> PeerId {
        let mut b = vec![0x12, 0x20];
        b.extend([0u8; 28]);
        b.extend(n.to_be_bytes());
        PeerId::from_bytes(&b).unwrap()
    }

    #[test]
    fn buckets_fill_replace_and_drop() {
        let me = Key([0; 32]);
        let mut t = Table::new(me, 2, 2);
        // Peers in bucket 0 (first bit differs from our all-zero key).
        let far: Vec<PeerId> = (0..100).map(id).filter(|p| me.bucket_of(&Key::of(p.as_bytes())) == Some(0)).collect();
        assert!(far.len() >= 4);
        assert!(t.insert(&far[0], &[vec![1]]));
        assert!(t.insert(&far[1], &[]));
        assert!(!t.insert(&far[2], &[]), "full: a replacement");
        assert_eq!(t.len(), 2);
        assert!(!t.failed(&far[0]), "one failure is tolerated");
        assert!(t.failed(&far[0]), "the second drops it");
        assert!(t.contains(&far[2]), "the replacement took its place");
        // An entry that failed once gives way to a newcomer.
        t.failed(&far[1]);
        assert!(t.insert(&far[3], &[]));
        assert!(!t.contains(&far[1]));
        // closest: sorted by XOR distance of sha256 keys, leaving out the requester.
        let target = Key::of(far[3].as_bytes());
        let c = t.closest(&target, 5, None);
        assert_eq!(c[0].id, far[3]);
        assert!(t.closest(&target, 5, Some(&far[3])).iter().all(|p| p.id != far[3]));
        assert_eq!(t.max_cpl(), Some(0));
    }
}
