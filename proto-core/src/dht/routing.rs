//! The routing table: 160 k-buckets with replacement caches. Least recently seen first; a full
//! bucket keeps its old entries (they are pinged) and remembers newcomers as replacements.

use super::key::Key;
use super::message::{Addr, PeerInfo};
use crate::time::Mono;

#[derive(Clone, Debug)]
pub struct Entry {
    pub id: Key,
    pub addrs: Vec<Addr>,
    pub last_seen: Mono,
    /// Consecutive RPC failures; the entry is dropped at `MAX_FAILS`.
    pub fails: u8,
}

/// An entry is dropped after this many consecutive failed RPCs (one loss must not evict).
pub const MAX_FAILS: u8 = 2;

#[derive(Clone, Debug, Default)]
struct Bucket {
    entries: Vec<Entry>,
    replacements: Vec<Entry>,
    last_used: Mono,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Update {
    Refreshed,
    Inserted,
    /// The bucket is full: the newcomer waits as a replacement; ping this oldest entry.
    Full(Key),
    /// The peer is ourselves.
    Ignored,
}

pub struct RoutingTable {
    me: Key,
    k: usize,
    replacement_cap: usize,
    buckets: Vec<Bucket>,
}

impl RoutingTable {
    pub fn new(me: Key, k: usize, replacement_cap: usize) -> Self {
        RoutingTable { me, k, replacement_cap, buckets: vec![Bucket::default(); 160] }
    }

    pub fn me(&self) -> Key {
        self.me
    }

    pub fn len(&self) -> usize {
        self.buckets.iter().map(|b| b.entries.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Records that `peer` was heard from now.
    pub fn update(&mut self, peer: &PeerInfo, now: Mono) -> Update {
        let Some(i) = self.me.bucket_of(&peer.id) else { return Update::Ignored };
        let (k, cap) = (self.k, self.replacement_cap);
        let b = &mut self.buckets[i];
        b.last_used = b.last_used.max(now);
        if let Some(pos) = b.entries.iter().position(|e| e.id == peer.id) {
            let mut e = b.entries.remove(pos);
            e.last_seen = now;
            e.fails = 0;
            if !peer.addrs.is_empty() {
                e.addrs = peer.addrs.clone();
            }
            b.entries.push(e);
            return Update::Refreshed;
        }
        let entry = Entry { id: peer.id, addrs: peer.addrs.clone(), last_seen: now, fails: 0 };
        if b.entries.len() < k {
            b.entries.push(entry);
            return Update::Inserted;
        }
        b.replacements.retain(|e| e.id != peer.id);
        b.replacements.push(entry);
        if b.replacements.len() > cap {
            b.replacements.remove(0);
        }
        Update::Full(b.entries[0].id)
    }

    /// Counts a failed RPC; drops the entry (promoting the newest replacement) at `MAX_FAILS`.
    /// Returns true when the entry was dropped.
    pub fn failed(&mut self, id: &Key) -> bool {
        let Some(i) = self.me.bucket_of(id) else { return false };
        let b = &mut self.buckets[i];
        let Some(pos) = b.entries.iter().position(|e| &e.id == id) else { return false };
        b.entries[pos].fails += 1;
        if b.entries[pos].fails < MAX_FAILS {
            return false;
        }
        b.entries.remove(pos);
        if let Some(r) = b.replacements.pop() {
            b.entries.push(r);
        }
        true
    }

    pub fn contains(&self, id: &Key) -> bool {
        self.me.bucket_of(id).is_some_and(|i| self.buckets[i].entries.iter().any(|e| &e.id == id))
    }

    pub fn get(&self, id: &Key) -> Option<PeerInfo> {
        let i = self.me.bucket_of(id)?;
        self.buckets[i].entries.iter().find(|e| &e.id == id).map(|e| PeerInfo { id: e.id, addrs: e.addrs.clone() })
    }

    /// The `n` known peers closest to `target`, nearest first.
    pub fn closest(&self, target: &Key, n: usize) -> Vec<PeerInfo> {
        let mut all: Vec<&Entry> = self.buckets.iter().flat_map(|b| b.entries.iter()).collect();
        all.sort_by_key(|e| e.id.distance(target));
        all.into_iter().take(n).map(|e| PeerInfo { id: e.id, addrs: e.addrs.clone() }).collect()
    }

    /// Every peer, for persisting the table.
    pub fn peers(&self) -> Vec<PeerInfo> {
        self.buckets
            .iter()
            .flat_map(|b| b.entries.iter())
            .map(|e| PeerInfo { id: e.id, addrs: e.addrs.clone() })
            .collect()
    }

    /// Buckets worth refreshing: from the nearest non-empty one outwards, unused since `before`.
    pub fn stale_buckets(&self, before: Mono) -> Vec<usize> {
        let Some(nearest) = self.buckets.iter().position(|b| !b.entries.is_empty()) else { return Vec::new() };
        (nearest..160).filter(|&i| self.buckets[i].last_used < before).collect()
    }

    pub fn touch_bucket(&mut self, i: usize, now: Mono) {
        self.buckets[i].last_used = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(b: u8, tail: u8) -> PeerInfo {
        let mut id = [0u8; 20];
        id[0] = b;
        id[19] = tail;
        PeerInfo { id: Key(id), addrs: vec![Addr(vec![tail])] }
    }

    #[test]
    fn full_bucket_keeps_old_and_replaces_on_failure() {
        let mut t = RoutingTable::new(Key([0; 20]), 2, 1);
        assert_eq!(t.update(&peer(0x80, 1), Mono(1)), Update::Inserted);
        assert_eq!(t.update(&peer(0x80, 2), Mono(2)), Update::Inserted);
        assert_eq!(t.update(&peer(0x80, 3), Mono(3)), Update::Full(peer(0x80, 1).id));
        assert!(!t.failed(&peer(0x80, 1).id), "one failure is tolerated");
        assert!(t.failed(&peer(0x80, 1).id));
        assert!(t.contains(&peer(0x80, 3).id) && !t.contains(&peer(0x80, 1).id));
        assert_eq!(t.update(&t.get(&peer(0x80, 2).id).unwrap(), Mono(4)), Update::Refreshed);
        assert_eq!(t.update(&PeerInfo { id: Key([0; 20]), addrs: vec![] }, Mono(5)), Update::Ignored);
        let c = t.closest(&peer(0x80, 3).id, 1);
        assert_eq!(c[0].id, peer(0x80, 3).id);
    }
}
