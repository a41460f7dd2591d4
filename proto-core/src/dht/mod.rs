//! The Kademlia DHT as a sans-IO state machine (DESIGN.md §3, §5): the four verbs, time and
//! randomness as inputs, messages and storage writes as outputs. Peers are identified by the
//! transport (`from` is an authenticated id); anything a peer sends that does not decode or
//! breaks a limit is dropped and reported as `Event::PeerFaulted`, never a panic.
//!
//! Run loop: after any `handle_*`, drain `poll_output` until `None`, executing outputs in order
//! (`Persist` before anything after it); then arm one timer at `poll_timeout`.

pub mod config;
pub mod delegation;
pub mod key;
pub mod lookup;
pub mod message;
pub mod record;
pub mod routing;
mod serve;
mod task;

pub use config::Config;
pub use key::{content_key, Distance, Key};
pub use message::{Addr, Msg, Packet, PeerInfo};
pub use record::Record;

use crate::rng::{Rng, Seed};
use crate::time::{Mono, Now};
use crate::wire::{Envelope, Proto};
use lookup::{Lookup, Step};
use record::RecordError;
use routing::{RoutingTable, Update};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use task::{Goal, Kind, Pending, Purpose, PutTask, Task};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CommandId(pub u64);

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Join through these peers (or the restored table when empty): a lookup of our own id.
    Bootstrap(Vec<PeerInfo>),
    /// The addresses of a node.
    FindPeer(Key),
    /// The k live nodes closest to a key.
    FindClosest(Key),
    PutRecord(Record),
    GetRecord(Key),
    /// Announce this node as a provider of a key (and keep re-announcing it).
    Provide(Key),
    /// Stop announcing a key (other nodes forget this provider when its record's time ends).
    Unprovide(Key),
    GetProviders(Key),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    Bootstrapped {
        peers: usize,
    },
    Peer(Option<PeerInfo>),
    Closest(Vec<PeerInfo>),
    /// How many of the closest peers accepted the record or provider announcement.
    Stored {
        peers: usize,
    },
    Record(Option<Record>),
    Providers(Vec<PeerInfo>),
    /// Whether the key was being provided.
    Unprovided {
        was: bool,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommandError {
    TooManyLookups,
    NoPeers,
    BadRecord(RecordError),
    TooManyProvided,
}

impl std::fmt::Display for CommandError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CommandError::TooManyLookups => write!(f, "too many lookups are running; try again shortly"),
            CommandError::NoPeers => write!(f, "no known peers: give bootstrap addresses"),
            CommandError::BadRecord(e) => write!(f, "{e}"),
            CommandError::TooManyProvided => write!(f, "this node already provides the maximum number of keys"),
        }
    }
}

/// Per-lookup figures for reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LookupStats {
    pub rounds: u32,
    pub rpcs: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    PeerFaulted { peer: Key, reason: &'static str },
    LookupFinished { id: Option<CommandId>, stats: LookupStats },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// One message from an authenticated peer.
    Received {
        from: Key,
        bytes: Vec<u8>,
    },
    Command {
        id: CommandId,
        command: Command,
    },
}

/// A durable key/value write (`None` deletes); keys start with `dht/`.
pub type Write = (Vec<u8>, Option<Vec<u8>>);

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    Transmit { to: PeerInfo, bytes: Vec<u8> },
    Persist(Vec<Write>),
    Reply { id: CommandId, result: Result<Reply, CommandError> },
    Event(Event),
}

/// The persisted `dht/` entries, as the storage layer read them back.
#[derive(Clone, Debug, Default)]
pub struct Restored {
    pub entries: Vec<(Vec<u8>, Vec<u8>)>,
}

/// The Kademlia machine: routing table, lookups, provider and value records. It does no I/O
/// and reads no clock: every call takes the time, and what it wants done comes out as
/// [`Output`]s (messages to peers, replies to commands, state to persist, events).
///
/// Driving it:
/// - feed each message from a peer and each command with [`Dht::handle_input`];
/// - after each input, call [`Dht::poll_output`] until it returns `None` and execute every output
///   in order (a `Persist` before anything after it);
/// - [`Dht::poll_timeout`] says when it next needs the time (RPC deadlines, refresh, record
///   expiry); at that time call [`Dht::handle_timeout`], then drain `poll_output` again. Calling
///   `handle_timeout` early or late is harmless: it acts on what is due at the time it is given.
pub struct Dht {
    cfg: Config,
    me: PeerInfo,
    table: RoutingTable,
    rng: Rng,
    now: Now,
    next_rid: u64,
    pending: BTreeMap<u64, Pending>,
    deadlines: BTreeSet<(Mono, u64)>,
    tasks: BTreeMap<u64, Task>,
    puts: BTreeMap<u64, PutTask>,
    records: BTreeMap<Key, Record>,
    providers: BTreeMap<Key, BTreeMap<Key, (PeerInfo, u64)>>,
    provided: BTreeMap<Key, Mono>,
    pinging: BTreeSet<Key>,
    next_refresh: Option<Mono>,
    next_gc: Mono,
    out: VecDeque<Output>,
}

impl Dht {
    pub fn new(cfg: Config, me: PeerInfo, seed: Seed, restored: Restored, now: Now) -> Self {
        let table = RoutingTable::new(me.id, cfg.k, cfg.replacement_cache);
        let next_gc = Mono(now.mono.0 + cfg.gc_interval_ms);
        let mut d = Dht {
            cfg,
            me,
            table,
            rng: seed.derive("dht").rng(),
            now,
            next_rid: 1,
            pending: BTreeMap::new(),
            deadlines: BTreeSet::new(),
            tasks: BTreeMap::new(),
            puts: BTreeMap::new(),
            records: BTreeMap::new(),
            providers: BTreeMap::new(),
            provided: BTreeMap::new(),
            pinging: BTreeSet::new(),
            next_refresh: None,
            next_gc,
            out: VecDeque::new(),
        };
        d.restore(restored);
        d
    }

    pub fn id(&self) -> Key {
        self.me.id
    }

    pub fn table_len(&self) -> usize {
        self.table.len()
    }

    /// The transport could not reach `peer` (a refused or failed dial): its requests fail now,
    /// without waiting for their timeouts or a retry.
    pub fn peer_unreachable(&mut self, now: Now, peer: &Key) {
        self.advance(now);
        let rids: Vec<u64> = self.pending.iter().filter(|(_, p)| p.peer == *peer).map(|(r, _)| *r).collect();
        for rid in rids {
            if let Some(mut p) = self.pending.remove(&rid) {
                self.deadlines.remove(&(p.deadline, rid));
                p.retry = None;
                self.on_rpc_failed(p);
            }
        }
    }

    /// Whether this node announces itself as a provider of `key`.
    pub fn provides(&self, key: &Key) -> bool {
        self.provided.contains_key(key)
    }

    /// Every peer in the routing table.
    pub fn known_peers(&self) -> Vec<PeerInfo> {
        self.table.peers()
    }

    pub fn known(&self, id: &Key) -> Option<PeerInfo> {
        self.table.get(id)
    }

    /// Records held for others (for the simulator's checkers).
    pub fn records(&self) -> impl Iterator<Item = &Record> {
        self.records.values()
    }

    /// Takes one input at `now`; then drain [`Dht::poll_output`].
    pub fn handle_input(&mut self, now: Now, input: Input) {
        self.advance(now);
        match input {
            Input::Received { from, bytes } => self.on_bytes(from, &bytes),
            Input::Command { id, command } => self.on_command(id, command),
        }
    }

    /// Acts on what is due at `now` (timed-out RPCs, refreshes, expiry); then drain
    /// [`Dht::poll_output`].
    pub fn handle_timeout(&mut self, now: Now) {
        self.advance(now);
        let now = self.now.mono;
        while let Some(&(at, rid)) = self.deadlines.first() {
            if at > now {
                break;
            }
            self.deadlines.pop_first();
            if let Some(p) = self.pending.remove(&rid) {
                self.on_rpc_failed(p);
            }
        }
        if self.next_refresh.is_some_and(|t| t <= now) {
            self.next_refresh = Some(Mono(now.0 + self.cfg.refresh_interval_ms));
            self.refresh();
        }
        if self.next_gc <= now {
            self.next_gc = Mono(now.0 + self.cfg.gc_interval_ms);
            self.gc();
        }
        let due: Vec<Key> = self.provided.iter().filter(|(_, &t)| t <= now).map(|(k, _)| *k).collect();
        for key in due {
            self.provided.insert(key, Mono(now.0 + self.cfg.provider_republish_ms));
            self.start(Kind::FindNode, key, Goal::Provide(key, None));
        }
    }

    /// The next thing to do, oldest first; `None` once there is nothing until the next input or
    /// timeout.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// When [`Dht::handle_timeout`] is next needed (`None`: only when an input comes).
    pub fn poll_timeout(&self) -> Option<Mono> {
        let mut t = self.deadlines.first().map(|(m, _)| *m);
        for c in [self.next_refresh, Some(self.next_gc), self.provided.values().min().copied()].into_iter().flatten() {
            t = Some(t.map_or(c, |x| x.min(c)));
        }
        t
    }

    fn advance(&mut self, now: Now) {
        // Time never runs backwards inside the core.
        self.now.mono = self.now.mono.max(now.mono);
        self.now.unix = self.now.unix.max(now.unix);
    }

    fn fault(&mut self, peer: Key, reason: &'static str) {
        self.out.push_back(Output::Event(Event::PeerFaulted { peer, reason }));
    }

    fn reply(&mut self, id: CommandId, result: Result<Reply, CommandError>) {
        self.out.push_back(Output::Reply { id, result });
    }

    fn send(&mut self, to: PeerInfo, msg: Msg) {
        let bytes = Envelope::encode(Proto::Dht, Packet { addrs: self.me.addrs.clone(), msg }.encode());
        self.out.push_back(Output::Transmit { to, bytes });
    }

    /// Sends a request and remembers it until its answer or deadline.
    fn request(&mut self, to: PeerInfo, purpose: Purpose, make: impl FnOnce(u64) -> Msg) -> bool {
        self.request_with(to, purpose, make, true)
    }

    fn request_with(&mut self, to: PeerInfo, purpose: Purpose, make: impl FnOnce(u64) -> Msg, may_retry: bool) -> bool {
        if self.pending.len() >= self.cfg.max_pending
            || self.pending.values().filter(|p| p.peer == to.id).count() >= self.cfg.max_pending_per_peer
        {
            return false;
        }
        let rid = self.next_rid;
        self.next_rid += 1;
        let deadline = Mono(self.now.mono.0 + self.cfg.rpc_timeout_ms);
        let msg = make(rid);
        let retry = (may_retry && matches!(purpose, Purpose::Lookup(_))).then(|| (to.clone(), msg.clone()));
        self.pending.insert(rid, Pending { peer: to.id, deadline, purpose, retry });
        self.deadlines.insert((deadline, rid));
        self.send(to, msg);
        true
    }

    fn on_bytes(&mut self, from: Key, bytes: &[u8]) {
        if bytes.len() > message::MAX_DHT_MESSAGE {
            return self.fault(from, "undecodable or oversized message");
        }
        let packet = match Envelope::decode(bytes) {
            Ok(env) if env.proto == Proto::Dht as u8 => Packet::decode(&env.body),
            _ => None,
        };
        let Some(packet) = packet else { return self.fault(from, "undecodable or oversized message") };
        let sender = PeerInfo { id: from, addrs: packet.addrs };
        if packet.msg.is_request() {
            self.learn(&sender);
            self.serve(sender, packet.msg);
            return;
        }
        let rid = packet.msg.rid();
        match self.pending.get(&rid) {
            Some(p) if p.peer == from => {}
            _ => return self.fault(from, "answer to no request of ours"),
        }
        let p = self.pending.remove(&rid).expect("checked above");
        self.deadlines.remove(&(p.deadline, rid));
        self.learn(&sender);
        self.on_answer(sender, p.purpose, packet.msg);
    }

    /// Adds or refreshes a peer we heard from; a full bucket pings its oldest entry.
    fn learn(&mut self, peer: &PeerInfo) {
        if peer.addrs.is_empty() {
            return; // not reachable: a client, never routed to
        }
        if let Update::Full(oldest) = self.table.update(peer, self.now.mono) {
            if self.pinging.insert(oldest) {
                if let Some(info) = self.table.get(&oldest) {
                    self.request(info, Purpose::Ping, |rid| Msg::Ping { rid });
                }
            }
        }
    }

    fn on_rpc_failed(&mut self, p: Pending) {
        self.table.failed(&p.peer);
        if let (Some((to, msg)), Purpose::Lookup(tid)) = (p.retry, p.purpose) {
            if self.tasks.contains_key(&tid) {
                let resend = move |rid| with_rid(msg, rid);
                if self.request_with(to, p.purpose, resend, false) {
                    if let Some(t) = self.tasks.get_mut(&tid) {
                        t.lookup.rpcs += 1;
                    }
                    return;
                }
            }
        }
        match p.purpose {
            Purpose::Ping => {
                // An unanswered ping evicts the entry at once: a newcomer waits for its place.
                self.table.failed(&p.peer);
                self.pinging.remove(&p.peer);
            }
            Purpose::Lookup(tid) => {
                if let Some(t) = self.tasks.get_mut(&tid) {
                    t.lookup.on_failure(&p.peer);
                    self.drive(tid);
                }
            }
            Purpose::Put(pid) => self.put_answered(pid, false),
        }
    }

    fn on_command(&mut self, id: CommandId, command: Command) {
        let busy = self.tasks.len() >= self.cfg.max_lookups;
        let (kind, target, goal) = match command {
            Command::Bootstrap(peers) => {
                for p in &peers {
                    self.table.update(p, self.now.mono);
                }
                if self.table.is_empty() {
                    return self.reply(id, Err(CommandError::NoPeers));
                }
                (Kind::FindNode, self.me.id, Goal::Bootstrap(Some(id)))
            }
            Command::FindPeer(k) if k == self.me.id => return self.reply(id, Ok(Reply::Peer(Some(self.me.clone())))),
            Command::FindPeer(k) => (Kind::FindNode, k, Goal::FindPeer(id)),
            Command::FindClosest(k) => (Kind::FindNode, k, Goal::FindClosest(id)),
            Command::GetRecord(k) => (Kind::GetValue, k, Goal::GetRecord(id)),
            Command::GetProviders(k) => (Kind::GetProviders, k, Goal::GetProviders(id)),
            Command::Unprovide(k) => {
                let was = self.provided.remove(&k).is_some();
                if was {
                    self.out.push_back(Output::Persist(vec![(persist_key(b"dht/provided/", &k), None)]));
                }
                return self.reply(id, Ok(Reply::Unprovided { was }));
            }
            Command::PutRecord(r) => {
                if let Err(e) = r.verify(self.now.unix.0) {
                    return self.reply(id, Err(CommandError::BadRecord(e)));
                }
                self.store_record(r.clone());
                (Kind::FindNode, r.key, Goal::Put(r, Some(id)))
            }
            Command::Provide(k) => {
                if !self.provided.contains_key(&k) && self.provided.len() >= self.cfg.max_provided {
                    return self.reply(id, Err(CommandError::TooManyProvided));
                }
                self.provided.insert(k, Mono(self.now.mono.0 + self.cfg.provider_republish_ms));
                self.out.push_back(Output::Persist(vec![(persist_key(b"dht/provided/", &k), Some(Vec::new()))]));
                (Kind::FindNode, k, Goal::Provide(k, Some(id)))
            }
        };
        if busy {
            return self.reply(id, Err(CommandError::TooManyLookups));
        }
        if self.table.is_empty() {
            return self.reply(id, Err(CommandError::NoPeers));
        }
        self.start(kind, target, goal);
    }

    fn start(&mut self, kind: Kind, target: Key, goal: Goal) {
        if self.tasks.len() >= self.cfg.max_lookups {
            if let Some(id) = goal.command() {
                self.reply(id, Err(CommandError::TooManyLookups));
            }
            return;
        }
        let seeds = self.table.closest(&target, self.cfg.k);
        let tid = self.next_rid;
        self.next_rid += 1;
        if let Some(i) = self.me.id.bucket_of(&target) {
            self.table.touch_bucket(i, self.now.mono);
        }
        self.tasks.insert(tid, Task::new(Lookup::new(target, self.cfg.k, self.cfg.alpha, seeds), kind, goal));
        self.drive(tid);
    }

    /// Sends what the lookup wants next, or completes it.
    fn drive(&mut self, tid: u64) {
        loop {
            let Some(t) = self.tasks.get_mut(&tid) else { return };
            if t.done_early(self.cfg.enough_providers) {
                return self.complete(tid);
            }
            match t.lookup.next_step() {
                Step::Query(peer) => {
                    let (kind, target) = (t.kind, t.lookup.target);
                    let sent = self.request(peer.clone(), Purpose::Lookup(tid), |rid| match kind {
                        Kind::FindNode => Msg::FindNode { rid, target },
                        Kind::GetValue => Msg::GetValue { rid, key: target },
                        Kind::GetProviders => Msg::GetProviders { rid, key: target },
                    });
                    if !sent {
                        if let Some(t) = self.tasks.get_mut(&tid) {
                            t.lookup.on_failure(&peer.id);
                        }
                    }
                }
                Step::Waiting => return,
                Step::Finished => return self.complete(tid),
            }
        }
    }
}

/// The same request under a new request id.
fn with_rid(msg: Msg, rid: u64) -> Msg {
    match msg {
        Msg::FindNode { target, .. } => Msg::FindNode { rid, target },
        Msg::GetValue { key, .. } => Msg::GetValue { rid, key },
        Msg::GetProviders { key, .. } => Msg::GetProviders { rid, key },
        Msg::AddProvider { key, .. } => Msg::AddProvider { rid, key },
        Msg::PutValue { record, .. } => Msg::PutValue { rid, record },
        Msg::Ping { .. } => Msg::Ping { rid },
        other => other,
    }
}

fn persist_key(prefix: &[u8], key: &Key) -> Vec<u8> {
    let mut k = prefix.to_vec();
    k.extend_from_slice(&key.0);
    k
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::UnixMs;

    #[test]
    fn one_peer_gets_at_most_its_share_of_requests() {
        let now = Now { mono: Mono(1), unix: UnixMs(1_700_000_000_000) };
        let cfg = Config { max_pending_per_peer: 2, ..Config::default() };
        let me = PeerInfo { id: Key([1; 20]), addrs: vec![Addr(vec![1])] };
        let mut d = Dht::new(cfg, me, Seed::from_u64(1), Restored::default(), now);
        let only = PeerInfo { id: Key([2; 20]), addrs: vec![Addr(vec![2])] };
        d.handle_input(now, Input::Command { id: CommandId(1), command: Command::Bootstrap(vec![only]) });
        for i in 2..6 {
            d.handle_input(
                now,
                Input::Command { id: CommandId(i), command: Command::FindPeer(Key([i as u8 + 10; 20])) },
            );
        }
        let mut sent = 0;
        let mut failed = 0;
        while let Some(o) = d.poll_output() {
            match o {
                Output::Transmit { .. } => sent += 1,
                Output::Reply { result: Ok(Reply::Peer(None)), .. } => failed += 1,
                _ => {}
            }
        }
        assert_eq!(sent, 2, "two requests in flight to the one peer");
        assert_eq!(failed, 3, "the other lookups end at once instead of queueing without bound");
    }
}
