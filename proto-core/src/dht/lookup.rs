//! One iterative lookup (the shape of libp2p's `ClosestPeersIter`, in our words): candidates
//! ordered by distance, at most α requests in flight, finished when the k closest non-failed
//! candidates have all answered.

use super::key::{Distance, Key};
use super::message::PeerInfo;
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    NotContacted,
    Waiting,
    Succeeded,
    Failed,
}

#[derive(Clone, Debug)]
struct Candidate {
    info: PeerInfo,
    state: State,
    /// Discovery depth: 0 for peers from our own table, d + 1 for peers a depth-d peer named.
    depth: u32,
}

#[derive(Clone, Debug)]
pub struct Lookup {
    pub target: Key,
    k: usize,
    alpha: usize,
    candidates: BTreeMap<Distance, Candidate>,
    waiting: usize,
    pub rpcs: u32,
}

/// What to do next.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Send a request to this peer.
    Query(PeerInfo),
    /// α requests are out, or the rest are out: wait for answers or timeouts.
    Waiting,
    Finished,
}

/// Most candidates a lookup tracks; farther ones are dropped (they can never make the result).
pub const MAX_CANDIDATES: usize = 200;

impl Lookup {
    pub fn new(target: Key, k: usize, alpha: usize, seeds: Vec<PeerInfo>) -> Self {
        let mut l = Lookup { target, k, alpha, candidates: BTreeMap::new(), waiting: 0, rpcs: 0 };
        for s in seeds {
            l.insert(s, 0);
        }
        l
    }

    fn insert(&mut self, info: PeerInfo, depth: u32) {
        let d = info.id.distance(&self.target);
        if self.candidates.contains_key(&d) {
            return;
        }
        self.candidates.insert(d, Candidate { info, state: State::NotContacted, depth });
        while self.candidates.len() > MAX_CANDIDATES {
            // Drop the farthest candidate that is not waiting for an answer.
            let far = self.candidates.iter().rev().find(|(_, c)| c.state != State::Waiting).map(|(d, _)| *d);
            match far {
                Some(d) => {
                    self.candidates.remove(&d);
                }
                None => break,
            }
        }
    }

    /// The next request to send, if any; call until it says `Waiting` or `Finished`.
    pub fn next_step(&mut self) -> Step {
        let mut seen = 0;
        let mut pick = None;
        let mut any_waiting = false;
        for (d, c) in self.candidates.iter() {
            if seen >= self.k {
                break;
            }
            match c.state {
                State::Failed => continue,
                State::Succeeded => {}
                State::Waiting => any_waiting = true,
                State::NotContacted => {
                    if pick.is_none() {
                        pick = Some(*d);
                    }
                }
            }
            seen += 1;
        }
        match pick {
            Some(d) if self.waiting < self.alpha => {
                let c = self.candidates.get_mut(&d).expect("picked from the map");
                c.state = State::Waiting;
                self.waiting += 1;
                self.rpcs += 1;
                Step::Query(c.info.clone())
            }
            Some(_) => Step::Waiting,
            None if any_waiting => Step::Waiting,
            None => Step::Finished,
        }
    }

    fn set(&mut self, peer: &Key, to: State) -> Option<u32> {
        let d = peer.distance(&self.target);
        let c = self.candidates.get_mut(&d)?;
        if c.state != State::Waiting {
            return None;
        }
        c.state = to;
        self.waiting -= 1;
        Some(c.depth)
    }

    /// `peer` answered with `closer` peers.
    pub fn on_success(&mut self, peer: &Key, closer: Vec<PeerInfo>) {
        if let Some(depth) = self.set(peer, State::Succeeded) {
            for p in closer {
                self.insert(p, depth + 1);
            }
        }
    }

    pub fn on_failure(&mut self, peer: &Key) {
        self.set(peer, State::Failed);
    }

    /// The k closest peers that answered, nearest first.
    pub fn closest(&self) -> Vec<PeerInfo> {
        self.candidates.values().filter(|c| c.state == State::Succeeded).take(self.k).map(|c| c.info.clone()).collect()
    }

    /// Rounds: the deepest discovery among the k closest that answered (0 = all from our table).
    pub fn rounds(&self) -> u32 {
        self.candidates
            .values()
            .filter(|c| c.state == State::Succeeded)
            .take(self.k)
            .map(|c| c.depth)
            .max()
            .unwrap_or(0)
    }

    /// A peer this lookup heard of, answered or not.
    pub fn known(&self, peer: &Key) -> Option<PeerInfo> {
        self.candidates.get(&peer.distance(&self.target)).map(|c| c.info.clone())
    }

    /// The discovery depth of a peer, if known.
    pub fn depth_of(&self, peer: &Key) -> Option<u32> {
        self.candidates.get(&peer.distance(&self.target)).map(|c| c.depth)
    }

    pub fn in_flight(&self) -> usize {
        self.waiting
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(b: u8) -> PeerInfo {
        PeerInfo { id: Key([b; 20]), addrs: vec![] }
    }

    #[test]
    fn queries_alpha_then_finishes_on_the_k_closest() {
        let mut l = Lookup::new(Key([0; 20]), 2, 2, vec![p(8), p(4), p(2)]);
        assert_eq!(l.next_step(), Step::Query(p(2)));
        assert_eq!(l.next_step(), Step::Query(p(4)));
        assert_eq!(l.next_step(), Step::Waiting, "alpha reached");
        l.on_success(&p(2).id, vec![p(1)]);
        assert_eq!(l.next_step(), Step::Query(p(1)));
        l.on_failure(&p(4).id);
        l.on_success(&p(1).id, vec![]);
        // k = 2 closest non-failed are 1 and 2, both answered.
        assert_eq!(l.next_step(), Step::Finished);
        assert_eq!(l.closest(), vec![p(1), p(2)]);
        assert_eq!(l.rounds(), 1);
        assert_eq!(l.rpcs, 3);
    }
}
