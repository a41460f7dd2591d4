//! One iterative lookup: candidates ordered by XOR distance to the target, at most α requests in
//! flight to the closest not yet asked among the k closest that have not failed; it ends when
//! the `stop` closest candidates that have not failed have all answered (`stop` = β is kubo's
//! termination rule, `stop` = k the classic "the k closest answered"), or when nobody is left
//! to ask.

use super::key::{Distance, Key};
use super::msg::KadPeer;
use crate::libp2p::PeerId;
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    NotAsked,
    Waiting,
    Answered,
    Failed,
}

#[derive(Clone, Debug)]
struct Candidate {
    peer: KadPeer,
    state: State,
    /// Discovery depth: 0 for peers from our table, d + 1 for peers a depth-d peer named.
    depth: u32,
    /// Failed requests so far; asked again while at most `retries`.
    fails: u32,
}

/// What the lookup wants next.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Step {
    Ask(KadPeer),
    Wait,
    Finished,
}

#[derive(Clone, Debug)]
pub(super) struct Lookup {
    target: Key,
    k: usize,
    alpha: usize,
    beta: usize,
    retries: u32,
    max_candidates: usize,
    candidates: BTreeMap<Distance, Candidate>,
    waiting: usize,
    pub(super) rpcs: u32,
    pub(super) failures: u32,
}

impl Lookup {
    pub(super) fn new(target: Key, cfg: &super::Config, stop: usize, seeds: Vec<KadPeer>) -> Self {
        let mut l = Lookup {
            target,
            k: cfg.k.max(1),
            alpha: cfg.alpha.max(1),
            beta: stop.clamp(1, cfg.k.max(1)),
            retries: cfg.lookup_retries,
            max_candidates: cfg.max_candidates.max(cfg.k),
            candidates: BTreeMap::new(),
            waiting: 0,
            rpcs: 0,
            failures: 0,
        };
        for s in seeds {
            l.insert(s, 0);
        }
        l
    }

    fn insert(&mut self, peer: KadPeer, depth: u32) {
        let d = Key::of(peer.id.as_bytes()).distance(&self.target);
        if let Some(c) = self.candidates.get_mut(&d) {
            if c.peer.addrs.is_empty() {
                c.peer.addrs = peer.addrs;
            }
            return;
        }
        self.candidates.insert(d, Candidate { peer, state: State::NotAsked, depth, fails: 0 });
        while self.candidates.len() > self.max_candidates {
            // The farthest one not waiting for an answer can never make the result.
            let far = self.candidates.iter().rev().find(|(_, c)| c.state != State::Waiting).map(|(d, _)| *d);
            match far {
                Some(d) => self.candidates.remove(&d),
                None => break,
            };
        }
    }

    /// The next request to send; call until it says `Wait` or `Finished`.
    pub(super) fn next_step(&mut self) -> Step {
        let mut seen = 0;
        let mut pick = None;
        let mut any_waiting = false;
        let mut head_answered = true;
        for (d, c) in self.candidates.iter() {
            if seen >= self.k {
                break;
            }
            if c.state == State::Failed {
                continue;
            }
            if seen < self.beta && c.state != State::Answered {
                head_answered = false;
            }
            match c.state {
                State::Waiting => any_waiting = true,
                State::NotAsked if pick.is_none() => pick = Some(*d),
                _ => {}
            }
            seen += 1;
        }
        if seen > 0 && head_answered {
            return Step::Finished;
        }
        match pick {
            Some(d) if self.waiting < self.alpha => {
                let Some(c) = self.candidates.get_mut(&d) else { return Step::Wait };
                c.state = State::Waiting;
                self.waiting += 1;
                self.rpcs += 1;
                Step::Ask(c.peer.clone())
            }
            Some(_) => Step::Wait,
            None if any_waiting => Step::Wait,
            None => Step::Finished,
        }
    }

    fn set(&mut self, peer: &PeerId, to: State) -> Option<u32> {
        let d = Key::of(peer.as_bytes()).distance(&self.target);
        let c = self.candidates.get_mut(&d)?;
        if c.state != State::Waiting {
            return None;
        }
        c.state = to;
        self.waiting -= 1;
        Some(c.depth)
    }

    /// `peer` answered, naming `closer` peers.
    pub(super) fn on_answer(&mut self, peer: &PeerId, closer: Vec<KadPeer>) {
        if let Some(depth) = self.set(peer, State::Answered) {
            for p in closer {
                self.insert(p, depth + 1);
            }
        }
    }

    /// `peer` did not answer: asked again up to `lookup_retries` times, then given up.
    pub(super) fn on_failure(&mut self, peer: &PeerId) {
        if self.set(peer, State::Failed).is_none() {
            return;
        }
        self.failures += 1;
        let d = Key::of(peer.as_bytes()).distance(&self.target);
        if let Some(c) = self.candidates.get_mut(&d) {
            c.fails += 1;
            if c.fails <= self.retries {
                c.state = State::NotAsked;
            }
        }
    }

    /// `peer` cannot be asked at all (no room for the request): given up at once.
    pub(super) fn give_up(&mut self, peer: &PeerId) {
        if self.set(peer, State::Failed).is_some() {
            self.failures += 1;
        }
    }

    /// The k closest peers that answered, nearest first.
    pub(super) fn closest(&self) -> Vec<KadPeer> {
        self.candidates.values().filter(|c| c.state == State::Answered).take(self.k).map(|c| c.peer.clone()).collect()
    }

    /// Rounds: the deepest discovery among the k closest that answered (0 = all from our table).
    pub(super) fn rounds(&self) -> u32 {
        self.candidates.values().filter(|c| c.state == State::Answered).take(self.k).map(|c| c.depth).max().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::libp2p::kad::Config;

    fn peer(n: u32) -> KadPeer {
        let mut b = vec![0x12, 0x20];
        b.extend([0u8; 28]);
        b.extend(n.to_be_bytes());
        KadPeer { id: PeerId::from_bytes(&b).unwrap(), addrs: vec![] }
    }

    /// Peers 0..n sorted by distance to `target`.
    fn by_distance(target: &Key, n: u32) -> Vec<KadPeer> {
        let mut v: Vec<KadPeer> = (0..n).map(peer).collect();
        v.sort_by_key(|p| Key::of(p.id.as_bytes()).distance(target));
        v
    }

    #[test]
    fn alpha_in_flight_and_beta_closest_end_it() {
        let target = Key([0; 32]);
        let p = by_distance(&target, 40);
        let cfg = Config { k: 4, alpha: 2, beta: 2, lookup_retries: 0, ..Config::default() };
        // Seeds: the 3rd..6th closest.
        let mut l = Lookup::new(target, &cfg, cfg.beta, p[2..6].to_vec());
        assert_eq!(l.next_step(), Step::Ask(p[2].clone()));
        assert_eq!(l.next_step(), Step::Ask(p[3].clone()));
        assert_eq!(l.next_step(), Step::Wait, "alpha = 2 in flight");
        // p[2] names the two closest; they are asked before p[4].
        l.on_answer(&p[2].id, vec![p[0].clone(), p[1].clone()]);
        assert_eq!(l.next_step(), Step::Ask(p[0].clone()));
        l.on_failure(&p[3].id);
        assert_eq!(l.next_step(), Step::Ask(p[1].clone()));
        l.on_answer(&p[0].id, vec![]);
        // p[1] (among the beta closest) is not in yet; the window of k has room for p[4].
        assert_eq!(l.next_step(), Step::Ask(p[4].clone()));
        assert_eq!(l.next_step(), Step::Wait);
        l.on_answer(&p[1].id, vec![]);
        assert_eq!(l.next_step(), Step::Finished, "the two closest answered");
        assert_eq!(l.closest(), vec![p[0].clone(), p[1].clone(), p[2].clone()]);
        assert_eq!(l.rounds(), 1);
        assert_eq!((l.rpcs, l.failures), (5, 1));
    }

    #[test]
    fn ends_when_nobody_is_left() {
        let target = Key([0xff; 32]);
        let p = by_distance(&target, 3);
        let cfg = Config { k: 20, lookup_retries: 1, ..Config::default() };
        let mut l = Lookup::new(target, &cfg, cfg.k, p.clone());
        for round in 0..2 {
            for q in &p {
                assert_eq!(l.next_step(), Step::Ask(q.clone()), "round {round}");
            }
            assert_eq!(l.next_step(), Step::Wait);
            for q in &p {
                l.on_failure(&q.id);
            }
        }
        assert_eq!(l.next_step(), Step::Finished, "each asked twice, then given up");
        assert_eq!(l.failures, 6);
        assert!(l.closest().is_empty());
    }
}
