//! The simulated network and its event loop.

use proto_core::dht::{
    Addr, Command, CommandId, Config as DhtConfig, Dht, Event, Input, Key, Output, PeerInfo, Reply, Restored,
};
use proto_core::identity::Identity;
use proto_core::rng::{Rng, Seed};
use proto_core::time::{Mono, Now, UnixMs};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

pub type NodeIx = usize;

/// The reply the simulator gives for a command sent to a crashed node.
pub const NODE_DOWN: &str = "node is down";

#[derive(Clone, Debug)]
pub struct SimConfig {
    pub seed: u64,
    /// One-way latency, uniform in this range (ms).
    pub latency_ms: (u64, u64),
    /// Probability that a message is lost / delivered twice.
    pub loss: f64,
    pub duplicate: f64,
    /// Each node's wall clock is off by up to this much (ms), either way.
    pub clock_skew_ms: u64,
    pub dht: DhtConfig,
}

impl Default for SimConfig {
    fn default() -> Self {
        let dht = DhtConfig { rpc_timeout_ms: 1_000, ..DhtConfig::default() };
        SimConfig { seed: 1, latency_ms: (5, 60), loss: 0.0, duplicate: 0.0, clock_skew_ms: 0, dht }
    }
}

/// Wall clock of virtual time zero: 2026-01-01.
const EPOCH_UNIX_MS: u64 = 1_767_225_600_000;

/// A fault applied at a point of simulated time.
#[derive(Clone, Debug)]
pub enum Fault {
    Crash(NodeIx),
    Restart(NodeIx),
    /// Nodes only reach nodes with the same group number.
    Partition(Vec<u32>),
    Repair,
    Loss(f64),
}

enum Ev {
    Deliver {
        to: NodeIx,
        from: Key,
        bytes: Vec<u8>,
    },
    Timer {
        node: NodeIx,
        at: u64,
    },
    Command {
        node: NodeIx,
        id: CommandId,
        command: Command,
    },
    /// A message of a protocol above the DHT (MiMei heads), for the scenario to handle.
    App {
        to: NodeIx,
        from: NodeIx,
        bytes: Vec<u8>,
    },
}

struct SimNode {
    id: Key,
    dht: Option<Dht>,
    disk: BTreeMap<Vec<u8>, Vec<u8>>,
    timer: Option<u64>,
    /// Offsets of this node's clocks from virtual time.
    mono_offset: u64,
    skew: i64,
    next_cmd: u64,
}

/// What a command was, for the checkers and the report.
#[derive(Clone, Debug)]
pub(crate) struct Issued {
    pub command: Command,
    pub at: u64,
}

/// A finished command as the checkers saw it.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub node: NodeIx,
    pub command: Command,
    pub reply: Result<Reply, String>,
    pub ok: bool,
    /// For lookups of a node: whether it was alive when the answer came.
    pub target_live: bool,
    /// False when the asking node was down when the command came (nothing ran).
    pub ran: bool,
    pub rounds: Option<u32>,
    pub rpcs: Option<u32>,
    pub latency_ms: u64,
    /// Simulated time at which the command was issued.
    pub issued_at: u64,
}

pub struct Sim {
    pub cfg: SimConfig,
    net_rng: Rng,
    pub(crate) work_rng: Rng,
    now: u64,
    seq: u64,
    queue: BTreeMap<(u64, u64), Ev>,
    faults: BTreeMap<(u64, u64), Fault>,
    nodes: Vec<SimNode>,
    by_id: BTreeMap<Key, NodeIx>,
    groups: Option<Vec<u32>>,
    issued: BTreeMap<(NodeIx, CommandId), Issued>,
    stats_of: BTreeMap<(NodeIx, CommandId), (u32, u32)>,
    pub outcomes: Vec<Outcome>,
    pub violations: Vec<String>,
    trace: Sha256,
    pub events: u64,
    pub messages: u64,
    pub faults_reported: u64,
    /// Delivered application messages (to, from, bytes), for the scenario driving the protocol.
    pub app_inbox: Vec<(NodeIx, NodeIx, Vec<u8>)>,
}

fn addr_of(ix: NodeIx) -> Addr {
    Addr((ix as u32).to_le_bytes().to_vec())
}

fn ix_of(addr: &Addr) -> Option<NodeIx> {
    Some(u32::from_le_bytes(addr.0.as_slice().try_into().ok()?) as NodeIx)
}

impl Sim {
    pub fn new(cfg: SimConfig) -> Sim {
        let seed = Seed::from_u64(cfg.seed);
        Sim {
            net_rng: seed.derive("net").rng(),
            work_rng: seed.derive("workload").rng(),
            cfg,
            now: 0,
            seq: 0,
            queue: BTreeMap::new(),
            faults: BTreeMap::new(),
            nodes: Vec::new(),
            by_id: BTreeMap::new(),
            groups: None,
            issued: BTreeMap::new(),
            stats_of: BTreeMap::new(),
            outcomes: Vec::new(),
            violations: Vec::new(),
            trace: Sha256::new(),
            events: 0,
            messages: 0,
            faults_reported: 0,
            app_inbox: Vec::new(),
        }
    }

    pub fn now(&self) -> u64 {
        self.now
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    pub fn id(&self, n: NodeIx) -> Key {
        self.nodes[n].id
    }

    pub fn alive(&self, n: NodeIx) -> bool {
        self.nodes[n].dht.is_some()
    }

    pub fn live_nodes(&self) -> Vec<NodeIx> {
        (0..self.nodes.len()).filter(|&n| self.alive(n)).collect()
    }

    pub fn peer_info(&self, n: NodeIx) -> PeerInfo {
        PeerInfo { id: self.nodes[n].id, addrs: vec![addr_of(n)] }
    }

    pub fn table_len(&self, n: NodeIx) -> usize {
        self.nodes[n].dht.as_ref().map_or(0, Dht::table_len)
    }

    fn node_now(&self, n: NodeIx) -> Now {
        let node = &self.nodes[n];
        let unix = (EPOCH_UNIX_MS + self.now) as i64 + node.skew;
        Now { mono: Mono(self.now + node.mono_offset), unix: UnixMs(unix.max(0) as u64) }
    }

    /// The wall clock a node reads now (for checkers).
    pub fn unix_of(&self, n: NodeIx) -> u64 {
        self.node_now(n).unix.0
    }

    /// Adds `n` nodes, each bootstrapping from a random earlier one 2 ms apart, and runs until
    /// they have joined.
    pub fn join(&mut self, n: usize) {
        for i in 0..n {
            self.add_node();
            if i > 0 {
                let via = self.work_rng.below(i as u64) as usize;
                let peer = self.peer_info(via);
                self.command_at(i, Command::Bootstrap(vec![peer]), i as u64 * 2);
            }
        }
        self.run_until_idle(n as u64 * 2 + 120_000);
    }

    /// Node `n`'s key pair (scenarios sign with it).
    pub fn identity(&self, n: NodeIx) -> Identity {
        let mut r = Seed::from_u64(self.cfg.seed).derive(&format!("node-{n}")).rng();
        Identity::from_seed(r.bytes())
    }

    /// Sends an application message over the simulated network (same latency, loss and
    /// partitions as the DHT's); it shows up in `app_inbox` when delivered to a live node.
    pub fn send_app(&mut self, from: NodeIx, to: NodeIx, bytes: Vec<u8>) {
        self.messages += 1;
        if self.groups.as_ref().is_some_and(|g| g.get(from) != g.get(to)) || self.net_rng.chance(self.cfg.loss) {
            return;
        }
        let (lo, hi) = self.cfg.latency_ms;
        let delay = lo + self.net_rng.below(hi.saturating_sub(lo) + 1);
        self.push(self.now + delay, Ev::App { to, from, bytes });
    }

    /// Adds a node (not yet joined); its key comes from the run seed.
    pub fn add_node(&mut self) -> NodeIx {
        let ix = self.nodes.len();
        let seed = Seed::from_u64(self.cfg.seed).derive(&format!("node-{ix}"));
        let mut r = seed.rng();
        let identity = Identity::from_seed(r.bytes());
        let id = Key::from(identity.node_id());
        let skew = if self.cfg.clock_skew_ms == 0 {
            0
        } else {
            r.below(2 * self.cfg.clock_skew_ms + 1) as i64 - self.cfg.clock_skew_ms as i64
        };
        let mono_offset = r.below(1 << 40);
        self.nodes.push(SimNode { id, dht: None, disk: BTreeMap::new(), timer: None, mono_offset, skew, next_cmd: 1 });
        self.by_id.insert(id, ix);
        self.boot(ix);
        ix
    }

    /// Starts a node's core from its disk (a fresh node has an empty disk).
    fn boot(&mut self, n: NodeIx) {
        let restored = Restored { entries: self.nodes[n].disk.iter().map(|(k, v)| (k.clone(), v.clone())).collect() };
        let seed = Seed::from_u64(self.cfg.seed).derive(&format!("node-{n}-boot-{}", self.now));
        let dht = Dht::new(self.cfg.dht.clone(), self.peer_info(n), seed, restored, self.node_now(n));
        self.nodes[n].dht = Some(dht);
        self.nodes[n].timer = None;
        self.after_handle(n, false);
    }

    pub fn crash(&mut self, n: NodeIx) {
        self.nodes[n].dht = None;
        self.nodes[n].timer = None;
        self.trace_line(&format!("crash {n}"));
    }

    /// Restarts a crashed node through its restore path and rejoins through its saved table.
    pub fn restart(&mut self, n: NodeIx) {
        if self.alive(n) {
            return;
        }
        self.trace_line(&format!("restart {n}"));
        self.boot(n);
        self.command(n, Command::Bootstrap(Vec::new()));
    }

    /// Splits the network: nodes only reach nodes of the same group.
    pub fn partition(&mut self, groups: Vec<u32>) {
        self.trace_line("partition");
        self.groups = Some(groups);
    }

    pub fn repair(&mut self) {
        self.trace_line("repair");
        self.groups = None;
    }

    pub fn set_loss(&mut self, p: f64) {
        self.cfg.loss = p;
    }

    /// Queues a command at the current time; returns its id.
    pub fn command(&mut self, n: NodeIx, command: Command) -> CommandId {
        self.command_at(n, command, self.now)
    }

    pub fn command_at(&mut self, n: NodeIx, command: Command, at: u64) -> CommandId {
        let id = CommandId(self.nodes[n].next_cmd);
        self.nodes[n].next_cmd += 1;
        self.issued.insert((n, id), Issued { command: command.clone(), at });
        self.push(at, Ev::Command { node: n, id, command });
        id
    }

    fn push(&mut self, at: u64, ev: Ev) {
        self.seq += 1;
        self.queue.insert((at, self.seq), ev);
    }

    fn trace_line(&mut self, s: &str) {
        self.trace.update(self.now.to_le_bytes());
        self.trace.update(s.as_bytes());
    }

    /// The hash of everything that happened so far; equal runs have equal hashes.
    pub fn trace_hash(&self) -> String {
        self.trace.clone().finalize().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Schedules a fault; faults apply before events at the same time.
    pub fn schedule(&mut self, at: u64, fault: Fault) {
        self.seq += 1;
        self.faults.insert((at.max(self.now), self.seq), fault);
    }

    fn apply(&mut self, f: Fault) {
        match f {
            Fault::Crash(n) => self.crash(n),
            Fault::Restart(n) => self.restart(n),
            Fault::Partition(g) => self.partition(g),
            Fault::Repair => self.repair(),
            Fault::Loss(p) => self.set_loss(p),
        }
    }

    /// Time of the next event or fault.
    fn next_at(&self) -> Option<u64> {
        let e = self.queue.first_key_value().map(|((t, _), _)| *t);
        let f = self.faults.first_key_value().map(|((t, _), _)| *t);
        match (e, f) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Processes the next fault or event; false when nothing is left.
    pub fn step(&mut self) -> bool {
        let fault_first = match (self.faults.first_key_value(), self.queue.first_key_value()) {
            (Some(((tf, _), _)), Some(((te, _), _))) => tf <= te,
            (Some(_), None) => true,
            _ => false,
        };
        if fault_first {
            let ((at, _), f) = self.faults.pop_first().expect("checked");
            self.now = self.now.max(at);
            self.apply(f);
            return true;
        }
        let Some(((at, _), ev)) = self.queue.pop_first() else { return false };
        assert!(at >= self.now, "virtual time never goes back");
        self.now = at;
        self.events += 1;
        match ev {
            Ev::Deliver { to, from, bytes } => {
                self.trace.update(b"d");
                self.trace.update(to.to_le_bytes());
                self.trace.update(&bytes);
                let now = self.node_now(to);
                if let Some(d) = self.nodes[to].dht.as_mut() {
                    d.handle_input(now, Input::Received { from, bytes });
                    self.after_handle(to, false);
                }
            }
            Ev::Timer { node, at } => {
                if self.nodes[node].timer != Some(at) {
                    return true; // re-armed or crashed since
                }
                self.nodes[node].timer = None;
                self.trace.update(b"t");
                self.trace.update(node.to_le_bytes());
                let now = self.node_now(node);
                if let Some(d) = self.nodes[node].dht.as_mut() {
                    d.handle_timeout(now);
                    self.after_handle(node, true);
                }
            }
            Ev::App { to, from, bytes } => {
                self.trace.update(b"a");
                self.trace.update(to.to_le_bytes());
                self.trace.update(&bytes);
                if self.nodes[to].dht.is_some() {
                    self.app_inbox.push((to, from, bytes));
                }
            }
            Ev::Command { node, id, command } => {
                self.trace.update(b"c");
                self.trace.update(node.to_le_bytes());
                let now = self.node_now(node);
                match self.nodes[node].dht.as_mut() {
                    Some(d) => {
                        d.handle_input(now, Input::Command { id, command });
                        self.after_handle(node, false);
                    }
                    None => self.finish(node, id, Err(NODE_DOWN.into())),
                }
            }
        }
        true
    }

    /// Runs until virtual time `t` (events at `t` included).
    pub fn run_until(&mut self, t: u64) {
        while self.next_at().is_some_and(|at| at <= t) {
            self.step();
        }
        self.now = self.now.max(t);
    }

    /// Runs until no command is outstanding, or virtual time `limit`.
    pub fn run_until_idle(&mut self, limit: u64) {
        while !self.issued.is_empty() && self.next_at().is_some_and(|at| at <= limit) {
            self.step();
        }
    }

    /// Drains a node's outputs after a handle_* call, then arms its timer.
    fn after_handle(&mut self, n: NodeIx, was_timeout: bool) {
        while let Some(out) = self.nodes[n].dht.as_mut().and_then(Dht::poll_output) {
            match out {
                Output::Transmit { to, bytes } => self.transmit(n, to, bytes),
                Output::Persist(writes) => {
                    for (k, v) in writes {
                        match v {
                            Some(v) => self.nodes[n].disk.insert(k, v),
                            None => self.nodes[n].disk.remove(&k),
                        };
                    }
                }
                Output::Reply { id, result } => self.finish(n, id, result.map_err(|e| e.to_string())),
                Output::Event(Event::PeerFaulted { .. }) => self.faults_reported += 1,
                Output::Event(Event::LookupFinished { id: Some(id), stats }) => {
                    self.stats_of.insert((n, id), (stats.rounds, stats.rpcs));
                }
                Output::Event(Event::LookupFinished { id: None, .. }) => {}
            }
        }
        let Some(d) = self.nodes[n].dht.as_ref() else { return };
        let now = self.node_now(n).mono;
        let next = d.poll_timeout();
        if was_timeout && next.is_some_and(|t| t <= now) {
            self.violations.push(format!("drain contract: node {n} asked for a timer at {next:?}, not after {now:?}"));
            return;
        }
        if let Some(t) = next {
            let at = t.0.saturating_sub(self.nodes[n].mono_offset).max(self.now);
            if self.nodes[n].timer != Some(at) {
                self.nodes[n].timer = Some(at);
                self.push(at, Ev::Timer { node: n, at });
            }
        }
    }

    fn transmit(&mut self, from: NodeIx, to: PeerInfo, bytes: Vec<u8>) {
        self.messages += 1;
        let Some(dest) = to.addrs.first().and_then(ix_of).filter(|&d| d < self.nodes.len()) else { return };
        if self.nodes[dest].id != to.id {
            return; // a stale address: nobody with that id listens there
        }
        if let Some(g) = &self.groups {
            if g.get(from) != g.get(dest) {
                return;
            }
        }
        if self.net_rng.chance(self.cfg.loss) {
            return;
        }
        let copies = if self.net_rng.chance(self.cfg.duplicate) { 2 } else { 1 };
        let from_id = self.nodes[from].id;
        for _ in 0..copies {
            let (lo, hi) = self.cfg.latency_ms;
            let delay = lo + self.net_rng.below(hi.saturating_sub(lo) + 1);
            self.push(self.now + delay, Ev::Deliver { to: dest, from: from_id, bytes: bytes.clone() });
        }
    }

    /// The k closest live nodes to `target` (the oracle).
    pub fn true_closest(&self, target: &Key, k: usize) -> Vec<Key> {
        let mut ids: Vec<Key> = self.live_nodes().into_iter().map(|n| self.nodes[n].id).collect();
        ids.sort_by_key(|id| id.distance(target));
        ids.truncate(k);
        ids
    }

    fn finish(&mut self, n: NodeIx, id: CommandId, reply: Result<Reply, String>) {
        let Some(issued) = self.issued.remove(&(n, id)) else { return };
        let stats = self.stats_of.remove(&(n, id));
        let ok = self.check(n, &issued.command, &reply);
        let target_live = match &issued.command {
            Command::FindPeer(t) => self.by_id.get(t).is_some_and(|&ix| self.alive(ix)),
            _ => true,
        };
        let ran = !matches!(&reply, Err(e) if e == NODE_DOWN);
        self.outcomes.push(Outcome {
            node: n,
            command: issued.command,
            reply,
            ok,
            target_live,
            ran,
            rounds: stats.map(|s| s.0),
            rpcs: stats.map(|s| s.1),
            latency_ms: self.now - issued.at,
            issued_at: issued.at,
        });
    }

    /// Judges one reply against the oracle; safety violations are recorded separately.
    fn check(&mut self, n: NodeIx, command: &Command, reply: &Result<Reply, String>) -> bool {
        match (command, reply) {
            // Judged for live targets only (the report leaves dead ones out).
            (Command::FindPeer(target), Ok(Reply::Peer(found))) => found.as_ref().is_some_and(|p| {
                p.id == *target && p.addrs.first().and_then(ix_of).is_some_and(|ix| self.by_id.get(target) == Some(&ix))
            }),
            (Command::FindClosest(target), Ok(Reply::Closest(got))) => {
                let truth = self.true_closest(target, self.cfg.dht.k);
                let got: BTreeSet<Key> = got.iter().map(|p| p.id).collect();
                truth.iter().all(|t| got.contains(t))
            }
            (Command::GetRecord(_), Ok(Reply::Record(Some(r)))) => {
                if r.eol <= self.unix_of(n) {
                    self.violations.push(format!("record served past its EOL to node {n}"));
                    return false;
                }
                true
            }
            (Command::GetProviders(_), Ok(Reply::Providers(p))) => !p.is_empty(),
            (_, Ok(_)) => true,
            (_, Err(_)) => false,
        }
    }
}
