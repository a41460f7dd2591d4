//! Who follows which database, and when (DESIGN.md §7), sans-IO: the subscriptions around
//! [`super::repl`]. An author keeps, per DB MiMei, the replicas that subscribed by sending a
//! `Want`, drops one that has not asked again within `subscriber_ttl_ms`, pushes each committed
//! entry to the others and announces its position to them every `head_every_ms`. A replica
//! follows every DB MiMei held here that another node authors: it checks each one every
//! `tick_every_ms` (asking again when behind) and renews its subscription every
//! `renew_every_ms`. Who may send what is decided here too: entries, snapshots and heads are
//! taken only from the MiMei's author, `Want`s only for MiMeis this node authors.
//!
//! The keyspaces and their replication positions ([`super::repl::Leader`],
//! [`super::repl::Follower`]) live with the store. This machine asks for what it needs through
//! continuations: `ListDbs`, `LoadWant`, `LoadHead`, `Apply` and `Check` each want the matching
//! `Input` back (`Dbs`, `WantLoaded`, `HeadLoaded`, `Applied`, `Checked`), at once or later.
//!
//! # Driving it
//! - [`Subscriptions::handle_input`] for every event: a list of DB MiMeis, committed entries, a
//!   message from a peer, or the answer to a continuation.
//! - [`Subscriptions::handle_timeout`] once the time [`Subscriptions::poll_timeout`] gave has
//!   come (calling it early does nothing harmful).
//! - After each `handle_*`, call [`Subscriptions::poll_output`] until it returns `None`,
//!   executing every output in order.
//! - Then arm one timer at [`Subscriptions::poll_timeout`]; it changes only after a `handle_*`.

use super::repl::{Entry, Msg, Pos, Wire};
use crate::dht::Key;
use crate::mimei::Mid;
use crate::time::{Mono, Now};
use std::collections::{BTreeMap, VecDeque};

/// The schedule (milliseconds).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// How often the author announces its position to subscribers.
    pub head_every_ms: u64,
    /// How often a replica renews its subscription (and so learns what it missed).
    pub renew_every_ms: u64,
    /// A subscriber that has not asked for this long is dropped.
    pub subscriber_ttl_ms: u64,
    /// How often a replica checks each followed MiMei (and the list of DB MiMeis is read).
    pub tick_every_ms: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config { head_every_ms: 2_000, renew_every_ms: 10_000, subscriber_ttl_ms: 60_000, tick_every_ms: 500 }
    }
}

/// Messages about MiMeis not (yet) in the list, kept until the next list comes.
pub const MAX_HELD: usize = 64;

#[derive(Clone, Debug, PartialEq)]
pub enum Input {
    /// Every DB MiMei held here with its author's id (the answer to `Output::ListDbs`, or news).
    Dbs(Vec<(Mid, Key)>),
    /// Entries the local database committed to a keyspace this node authors.
    Committed(Vec<(Mid, Entry)>),
    /// A replication message (an encoded [`Wire`]) from an authenticated peer.
    Received { peer: Key, body: Vec<u8> },
    /// The answer to `Output::LoadWant` (`None`: that MiMei is not replicated).
    WantLoaded { peer: Key, mid: Mid, msg: Option<Msg> },
    /// The answer to `Output::LoadHead` (`None`: that MiMei is not replicated).
    HeadLoaded { mid: Mid, pos: Option<Pos> },
    /// The answer to `Output::Apply`: what to send the author back, if anything.
    Applied { mid: Mid, reply: Option<Msg> },
    /// The answer to `Output::Check`: what to send the author, if anything.
    Checked { mid: Mid, msg: Option<Msg> },
    /// A message for the author of `mid` could not go out (no address for it): the
    /// subscription is renewed at the next check.
    Unreachable { mid: Mid },
}

#[derive(Clone, Debug, PartialEq)]
pub enum Output {
    /// Send an encoded [`Wire`] to a replica (it is connected: it asked).
    Send { to: Key, body: Vec<u8> },
    /// Send an encoded [`Wire`] to the author of `mid`, finding its address first; when there
    /// is none, answer `Input::Unreachable`.
    ToAuthor { mid: Mid, author: Key, body: Vec<u8> },
    /// List the DB MiMeis held here; answer `Input::Dbs`.
    ListDbs,
    /// As the author: answer a replica's `Want(from)` from the store (`Leader::on_want`);
    /// answer `Input::WantLoaded`.
    LoadWant { peer: Key, mid: Mid, from: u64 },
    /// As the author: the position to announce (`Leader::pos`); answer `Input::HeadLoaded`.
    LoadHead { mid: Mid },
    /// As a replica: apply a message from the author to the keyspace (`Follower::on_msg`);
    /// answer `Input::Applied`.
    Apply { mid: Mid, msg: Msg },
    /// As a replica: the periodic check (`Follower::on_tick`, or `Follower::refresh` when
    /// `renew`); answer `Input::Checked`.
    Check { mid: Mid, renew: bool },
}

/// Both sides of replication's subscriptions for one node.
pub struct Subscriptions {
    cfg: Config,
    me: Key,
    now: Mono,
    /// The DB MiMeis held here, with their authors.
    dbs: BTreeMap<Mid, Key>,
    /// Per MiMei of ours: each subscriber and when it last asked.
    subscribers: BTreeMap<Mid, BTreeMap<Key, Mono>>,
    /// Per followed MiMei: when its subscription is renewed next.
    renew_at: BTreeMap<Mid, Mono>,
    next_head: Mono,
    next_tick: Mono,
    /// A tick asked for the list: its answer runs the checks.
    check_on_list: bool,
    listing: bool,
    held: VecDeque<(Key, Wire)>,
    out: VecDeque<Output>,
}

impl Subscriptions {
    /// `me`: this node's id. The first check is due at once, the first announcement one
    /// `head_every_ms` from `now`.
    pub fn new(cfg: Config, me: Key, now: Mono) -> Self {
        let next_head = Mono(now.0 + cfg.head_every_ms);
        Subscriptions {
            cfg,
            me,
            now,
            dbs: BTreeMap::new(),
            subscribers: BTreeMap::new(),
            renew_at: BTreeMap::new(),
            next_head,
            next_tick: now,
            check_on_list: false,
            listing: false,
            held: VecDeque::new(),
            out: VecDeque::new(),
        }
    }

    /// Takes one event; then drain `poll_output`.
    pub fn handle_input(&mut self, now: Now, input: Input) {
        self.now = self.now.max(now.mono);
        match input {
            Input::Dbs(list) => self.on_dbs(list),
            Input::Committed(entries) => self.push(entries),
            Input::Received { peer, body } => {
                if let Ok(w) = Wire::decode(&body) {
                    self.route(peer, w, true);
                }
            }
            Input::WantLoaded { peer, mid, msg } => {
                if let Some(m) = msg {
                    self.out.push_back(Output::Send { to: peer, body: encode(&mid, m) });
                }
            }
            Input::HeadLoaded { mid, pos } => {
                let (Some(pos), Some(subs)) = (pos, self.subscribers.get(&mid)) else { return };
                let body = encode(&mid, Msg::Head(pos));
                for peer in subs.keys() {
                    self.out.push_back(Output::Send { to: *peer, body: body.clone() });
                }
            }
            Input::Applied { mid, reply: msg } | Input::Checked { mid, msg } => {
                if let Some(m) = msg {
                    self.send_author(mid, m);
                }
            }
            Input::Unreachable { mid } => {
                self.renew_at.remove(&mid);
            }
        }
    }

    /// Runs what is due: the author's announcements (after dropping subscribers past their
    /// TTL) and the replica's checks (which start with a fresh list of DB MiMeis).
    pub fn handle_timeout(&mut self, now: Now) {
        self.now = self.now.max(now.mono);
        if self.now >= self.next_head {
            self.next_head = Mono(self.now.0 + self.cfg.head_every_ms);
            self.announce();
        }
        if self.now >= self.next_tick {
            self.next_tick = Mono(self.now.0 + self.cfg.tick_every_ms);
            self.check_on_list = true;
            self.listing = true;
            self.out.push_back(Output::ListDbs);
        }
    }

    /// The next output to execute; call until `None` after every `handle_*`.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// When `handle_timeout` is due next.
    pub fn poll_timeout(&self) -> Option<Mono> {
        Some(self.next_head.min(self.next_tick))
    }

    /// The replicas subscribed to `mid` now.
    pub fn subscribers(&self, mid: &Mid) -> Vec<Key> {
        self.subscribers.get(mid).map(|s| s.keys().copied().collect()).unwrap_or_default()
    }

    fn on_dbs(&mut self, list: Vec<(Mid, Key)>) {
        self.dbs = list.into_iter().collect();
        self.listing = false;
        let me = self.me;
        let dbs = &self.dbs;
        self.subscribers.retain(|mid, _| dbs.get(mid) == Some(&me));
        self.renew_at.retain(|mid, _| dbs.get(mid).is_some_and(|a| *a != me));
        for (peer, w) in std::mem::take(&mut self.held) {
            self.route(peer, w, false);
        }
        if std::mem::take(&mut self.check_on_list) {
            self.check();
        }
    }

    /// Who may send what: `Want`s to the author (they subscribe), everything else from it.
    fn route(&mut self, peer: Key, w: Wire, hold: bool) {
        let mid = Mid(Key(w.mid));
        let Some(&author) = self.dbs.get(&mid) else {
            // Perhaps a MiMei made since the last list: it waits for the next one.
            if hold && self.held.len() < MAX_HELD {
                self.held.push_back((peer, w));
                if !self.listing {
                    self.listing = true;
                    self.out.push_back(Output::ListDbs);
                }
            }
            return;
        };
        match w.msg {
            Msg::Want(from) if author == self.me => {
                self.subscribers.entry(mid).or_default().insert(peer, self.now);
                self.out.push_back(Output::LoadWant { peer, mid, from });
            }
            Msg::Want(_) => {}
            msg if peer == author && author != self.me => self.out.push_back(Output::Apply { mid, msg }),
            _ => {}
        }
    }

    fn push(&mut self, entries: Vec<(Mid, Entry)>) {
        let mut by_mid: BTreeMap<Mid, Vec<Entry>> = BTreeMap::new();
        for (mid, e) in entries {
            by_mid.entry(mid).or_default().push(e);
        }
        for (mid, es) in by_mid {
            let Some(subs) = self.subscribers.get(&mid) else { continue };
            let body = encode(&mid, Msg::Entries(es));
            for peer in subs.keys() {
                self.out.push_back(Output::Send { to: *peer, body: body.clone() });
            }
        }
    }

    fn announce(&mut self) {
        let (now, ttl) = (self.now, self.cfg.subscriber_ttl_ms);
        for subs in self.subscribers.values_mut() {
            subs.retain(|_, seen| now.0 < seen.0 + ttl);
        }
        self.subscribers.retain(|_, s| !s.is_empty());
        for mid in self.subscribers.keys() {
            self.out.push_back(Output::LoadHead { mid: *mid });
        }
    }

    /// Every DB MiMei another node authors: checked, and renewed when its time has come.
    fn check(&mut self) {
        let me = self.me;
        for mid in self.dbs.iter().filter(|(_, a)| **a != me).map(|(m, _)| *m) {
            let renew = self.renew_at.get(&mid).is_none_or(|t| self.now >= *t);
            if renew {
                self.renew_at.insert(mid, Mono(self.now.0 + self.cfg.renew_every_ms));
            }
            self.out.push_back(Output::Check { mid, renew });
        }
    }

    fn send_author(&mut self, mid: Mid, msg: Msg) {
        match self.dbs.get(&mid) {
            Some(&author) if author != self.me => {
                self.out.push_back(Output::ToAuthor { mid, author, body: encode(&mid, msg) })
            }
            _ => {}
        }
    }
}

fn encode(mid: &Mid, msg: Msg) -> Vec<u8> {
    Wire { mid: mid.0 .0, msg }.encode()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::UnixMs;

    const MID: Mid = Mid(Key([7; 20]));
    const AUTHOR: Key = Key([1; 20]);
    const REPLICA: Key = Key([2; 20]);
    const OTHER: Key = Key([3; 20]);

    fn at(ms: u64) -> Now {
        Now { mono: Mono(ms), unix: UnixMs(1_700_000_000_000 + ms) }
    }

    fn drain(s: &mut Subscriptions) -> Vec<Output> {
        std::iter::from_fn(|| s.poll_output()).collect()
    }

    fn wire(msg: Msg) -> Vec<u8> {
        encode(&MID, msg)
    }

    fn entry(seq: u64) -> Entry {
        Entry { seq, prev: [0; 32], ops: vec![], digest: [0; 32] }
    }

    /// An author's machine that holds `MID`, listed.
    fn author() -> Subscriptions {
        let mut s = Subscriptions::new(Config::default(), AUTHOR, Mono(0));
        s.handle_timeout(at(0));
        assert_eq!(drain(&mut s), vec![Output::ListDbs]);
        s.handle_input(at(0), Input::Dbs(vec![(MID, AUTHOR)]));
        assert_eq!(drain(&mut s), vec![], "the author follows nothing");
        s
    }

    /// Runs every timeout up to `to`, collecting the outputs (each list answered with `MID`).
    fn run_until(s: &mut Subscriptions, to: u64, author: Key) -> Vec<(u64, Output)> {
        let mut seen = Vec::new();
        while let Some(t) = s.poll_timeout().filter(|t| t.0 <= to) {
            s.handle_timeout(at(t.0));
            for o in drain(s) {
                if o == Output::ListDbs {
                    s.handle_input(at(t.0), Input::Dbs(vec![(MID, author)]));
                    seen.extend(drain(s).into_iter().map(|o| (t.0, o)));
                } else {
                    seen.push((t.0, o));
                }
            }
        }
        seen
    }

    fn sends(outs: &[Output]) -> Vec<Key> {
        outs.iter().filter_map(|o| if let Output::Send { to, .. } = o { Some(*to) } else { None }).collect()
    }

    #[test]
    fn a_want_subscribes_and_is_answered_from_the_store() {
        let mut s = author();
        s.handle_input(at(10), Input::Received { peer: REPLICA, body: wire(Msg::Want(1)) });
        assert_eq!(drain(&mut s), vec![Output::LoadWant { peer: REPLICA, mid: MID, from: 1 }]);
        let answer = Msg::Entries(vec![entry(1)]);
        s.handle_input(at(11), Input::WantLoaded { peer: REPLICA, mid: MID, msg: Some(answer.clone()) });
        assert_eq!(drain(&mut s), vec![Output::Send { to: REPLICA, body: wire(answer) }]);
        s.handle_input(at(12), Input::Committed(vec![(MID, entry(2)), (MID, entry(3))]));
        let pushed = Msg::Entries(vec![entry(2), entry(3)]);
        assert_eq!(drain(&mut s), vec![Output::Send { to: REPLICA, body: wire(pushed) }]);
    }

    #[test]
    fn a_subscriber_that_does_not_renew_is_dropped_after_the_ttl() {
        let mut s = author();
        s.handle_input(at(0), Input::Received { peer: REPLICA, body: wire(Msg::Want(1)) });
        drain(&mut s);
        s.handle_input(at(0), Input::Received { peer: OTHER, body: wire(Msg::Want(1)) });
        drain(&mut s);
        // OTHER renews at 30 s; REPLICA never does.
        run_until(&mut s, 30_000, AUTHOR);
        s.handle_input(at(30_000), Input::Received { peer: OTHER, body: wire(Msg::Want(1)) });
        drain(&mut s);
        let before = run_until(&mut s, 59_999, AUTHOR);
        assert!(before.iter().any(|(_, o)| *o == Output::LoadHead { mid: MID }));
        assert_eq!(s.subscribers(&MID), vec![REPLICA, OTHER]);
        // The first announcement at or after 60 s drops REPLICA.
        run_until(&mut s, 60_000, AUTHOR);
        assert_eq!(s.subscribers(&MID), vec![OTHER]);
        s.handle_input(at(60_001), Input::Committed(vec![(MID, entry(1))]));
        assert_eq!(sends(&drain(&mut s)), vec![OTHER]);
        // OTHER's TTL ends at 90 s: then nobody is left, and nothing is announced.
        run_until(&mut s, 90_000, AUTHOR);
        assert_eq!(s.subscribers(&MID), Vec::<Key>::new());
        assert!(run_until(&mut s, 100_000, AUTHOR).is_empty(), "no announcements without subscribers");
    }

    #[test]
    fn heads_are_announced_every_interval_to_subscribers_only() {
        let mut s = author();
        assert!(run_until(&mut s, 5_000, AUTHOR).is_empty(), "no subscribers, no announcement");
        s.handle_input(at(5_000), Input::Received { peer: REPLICA, body: wire(Msg::Want(1)) });
        drain(&mut s);
        let heads: Vec<u64> = run_until(&mut s, 11_000, AUTHOR)
            .into_iter()
            .filter(|(_, o)| *o == Output::LoadHead { mid: MID })
            .map(|(t, _)| t)
            .collect();
        assert_eq!(heads, vec![6_000, 8_000, 10_000]);
        let pos = Pos { seq: 4, ..Pos::default() };
        s.handle_input(at(11_000), Input::HeadLoaded { mid: MID, pos: Some(pos) });
        assert_eq!(drain(&mut s), vec![Output::Send { to: REPLICA, body: wire(Msg::Head(pos)) }]);
        // A MiMei that is not replicated has no position: nothing goes out.
        s.handle_input(at(11_000), Input::HeadLoaded { mid: MID, pos: None });
        assert_eq!(drain(&mut s), vec![]);
    }

    #[test]
    fn a_replica_checks_every_tick_and_renews_every_renewal_interval() {
        let mut s = Subscriptions::new(Config::default(), REPLICA, Mono(0));
        let outs = run_until(&mut s, 21_000, AUTHOR);
        let checks: Vec<(u64, bool)> = outs
            .iter()
            .filter_map(|(t, o)| if let Output::Check { renew, .. } = o { Some((*t, *renew)) } else { None })
            .collect();
        assert_eq!(checks.len(), 43, "one check every 500 ms from 0 to 21 s");
        assert!(checks.iter().all(|(t, _)| t % 500 == 0));
        let renewals: Vec<u64> = checks.iter().filter(|(_, r)| *r).map(|(t, _)| *t).collect();
        assert_eq!(renewals, vec![0, 10_000, 20_000]);
        // What a check answers goes to the author.
        s.handle_input(at(21_000), Input::Checked { mid: MID, msg: Some(Msg::Want(5)) });
        let body = wire(Msg::Want(5));
        assert_eq!(drain(&mut s), vec![Output::ToAuthor { mid: MID, author: AUTHOR, body }]);
        s.handle_input(at(21_000), Input::Checked { mid: MID, msg: None });
        assert_eq!(drain(&mut s), vec![]);
    }

    #[test]
    fn an_unreachable_author_is_renewed_at_the_next_check() {
        let mut s = Subscriptions::new(Config::default(), REPLICA, Mono(0));
        run_until(&mut s, 1_000, AUTHOR);
        s.handle_input(at(1_000), Input::Unreachable { mid: MID });
        let renewals: Vec<u64> = run_until(&mut s, 2_000, AUTHOR)
            .into_iter()
            .filter_map(|(t, o)| (o == Output::Check { mid: MID, renew: true }).then_some(t))
            .collect();
        assert_eq!(renewals, vec![1_500], "renewed at the next tick, not 10 s later");
    }

    #[test]
    fn only_the_author_is_followed_and_wants_reach_only_authors() {
        let mut s = Subscriptions::new(Config::default(), REPLICA, Mono(0));
        run_until(&mut s, 0, AUTHOR);
        let entries = Msg::Entries(vec![entry(1)]);
        // From someone who is not the author: ignored.
        s.handle_input(at(1), Input::Received { peer: OTHER, body: wire(entries.clone()) });
        assert_eq!(drain(&mut s), vec![]);
        // A `Want` for a MiMei this node does not author: ignored, and nobody subscribes.
        s.handle_input(at(1), Input::Received { peer: AUTHOR, body: wire(Msg::Want(1)) });
        assert_eq!(drain(&mut s), vec![]);
        assert!(s.subscribers(&MID).is_empty());
        // Junk: ignored.
        s.handle_input(at(1), Input::Received { peer: AUTHOR, body: vec![0xff, 0] });
        assert_eq!(drain(&mut s), vec![]);
        // From the author: applied, and the answer goes back.
        s.handle_input(at(2), Input::Received { peer: AUTHOR, body: wire(entries.clone()) });
        assert_eq!(drain(&mut s), vec![Output::Apply { mid: MID, msg: entries.clone() }]);
        s.handle_input(at(3), Input::Applied { mid: MID, reply: Some(Msg::Want(1)) });
        assert!(matches!(&drain(&mut s)[..], [Output::ToAuthor { author: AUTHOR, .. }]));
        // The author's own machine takes entries from nobody.
        let mut a = author();
        a.handle_input(at(1), Input::Received { peer: REPLICA, body: wire(entries) });
        assert_eq!(drain(&mut a), vec![]);
    }

    #[test]
    fn messages_about_unlisted_mimeis_wait_for_the_next_list() {
        let mut s = Subscriptions::new(Config::default(), AUTHOR, Mono(0));
        s.handle_timeout(at(0));
        assert_eq!(drain(&mut s), vec![Output::ListDbs]);
        s.handle_input(at(0), Input::Dbs(vec![]));
        s.handle_input(at(100), Input::Received { peer: REPLICA, body: wire(Msg::Want(1)) });
        s.handle_input(at(100), Input::Received { peer: REPLICA, body: wire(Msg::Want(2)) });
        assert_eq!(drain(&mut s), vec![Output::ListDbs], "one list for both");
        s.handle_input(at(101), Input::Dbs(vec![(MID, AUTHOR)]));
        assert_eq!(
            drain(&mut s),
            vec![
                Output::LoadWant { peer: REPLICA, mid: MID, from: 1 },
                Output::LoadWant { peer: REPLICA, mid: MID, from: 2 }
            ]
        );
        // Still not listed after the next list: dropped.
        s.handle_input(at(200), Input::Received { peer: REPLICA, body: encode(&Mid(OTHER), Msg::Want(1)) });
        assert_eq!(drain(&mut s), vec![Output::ListDbs]);
        s.handle_input(at(201), Input::Dbs(vec![(MID, AUTHOR)]));
        assert_eq!(drain(&mut s), vec![]);
    }
}
