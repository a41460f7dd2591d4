//! The simulated network and its event loop: nodes, virtual time, commands, faults and the trace.
//! What a node is — a bare DHT core (`dht_core`) or a whole `Node` machine (`node_sim`) — is the
//! run's `Machine`; everything here is the same for both.

use crate::stream::{StreamEv, Streams};
use proto_core::cid::Cid;
use proto_core::dht::{Addr, Command, CommandId, Config as DhtConfig, Dht, Key, PeerInfo, Reply};
use proto_core::identity::Identity;
use proto_core::maddr::Multiaddr;
use proto_core::node::{self, Node};
use proto_core::rng::{Rng, Seed};
use proto_core::time::{Mono, Now, UnixMs};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

pub type NodeIx = usize;

/// The reply the simulator gives for a command sent to a crashed node.
pub(crate) const NODE_DOWN: &str = "node is down";

/// What each simulated node runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Machine {
    /// The DHT core alone, exchanging datagrams (fast: the 10 000-node runs).
    #[default]
    Dht,
    /// The whole `proto_core::node::Node` the runtimes drive: sessions over simulated TCP
    /// streams, the DHT on top, block exchange, keep-alive and MiMei messages.
    Node,
}

#[derive(Clone, Debug)]
pub struct SimConfig {
    pub seed: u64,
    pub machine: Machine,
    /// One-way latency, uniform in this range (ms).
    pub latency_ms: (u64, u64),
    /// Probability that a message is lost / delivered twice. On whole nodes a lost message
    /// breaks its connection (TCP drops no bytes; it gives up), and nothing is duplicated.
    pub loss: f64,
    pub duplicate: f64,
    /// Each node's wall clock is off by up to this much (ms), either way.
    pub clock_skew_ms: u64,
    /// A stream carries this many bytes per ms (whole nodes; 12 500 is 100 Mbit/s).
    pub bytes_per_ms: u64,
    pub dht: DhtConfig,
}

impl Default for SimConfig {
    fn default() -> Self {
        let dht = DhtConfig { rpc_timeout_ms: 1_000, ..DhtConfig::default() };
        SimConfig {
            seed: 1,
            machine: Machine::Dht,
            latency_ms: (5, 60),
            loss: 0.0,
            duplicate: 0.0,
            clock_skew_ms: 0,
            bytes_per_ms: 12_500,
            dht,
        }
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

/// A command as queued: for the DHT (either machine) or for the whole node.
#[derive(Clone, Debug)]
pub(crate) enum Cmd {
    Dht(Command),
    Node(node::Command),
}

pub(crate) enum Ev {
    /// A DHT datagram (bare DHT cores).
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
        command: Cmd,
    },
    /// A message of a protocol above the DHT (MiMei heads), for the scenario to handle.
    App {
        to: NodeIx,
        from: NodeIx,
        bytes: Vec<u8>,
    },
    /// Something happening on a simulated TCP connection of a whole node, for the incarnation
    /// `epoch` of that node (a restarted node never hears about its old connections).
    Stream {
        to: NodeIx,
        epoch: u64,
        conn: node::ConnId,
        ev: StreamEv,
    },
}

pub(crate) enum Core {
    Dht(Box<Dht>),
    Node(Box<Node>),
}

pub(crate) struct SimNode {
    pub id: Key,
    pub core: Option<Core>,
    pub disk: BTreeMap<Vec<u8>, Vec<u8>>,
    /// The node's block store (whole nodes): survives crashes like a disk.
    pub blocks: BTreeMap<Cid, Vec<u8>>,
    pub timer: Option<u64>,
    /// Offsets of this node's clocks from virtual time.
    pub mono_offset: u64,
    pub skew: i64,
    pub next_cmd: u64,
    /// Incarnation: bumped by every crash.
    pub epoch: u64,
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
    /// False when the asking node was down when the command came (nothing ran), or went down
    /// before it answered.
    pub ran: bool,
    pub rounds: Option<u32>,
    pub rpcs: Option<u32>,
    pub latency_ms: u64,
    /// Simulated time at which the command was issued.
    pub issued_at: u64,
}

/// The answer to a whole-node command (`Sim::node_command`).
#[derive(Clone, Debug)]
pub struct NodeReply {
    pub node: NodeIx,
    pub id: CommandId,
    pub result: Result<node::Reply, String>,
}

pub struct Sim {
    pub cfg: SimConfig,
    pub(crate) net_rng: Rng,
    pub(crate) work_rng: Rng,
    pub(crate) now: u64,
    seq: u64,
    queue: BTreeMap<(u64, u64), Ev>,
    faults: BTreeMap<(u64, u64), Fault>,
    pub(crate) nodes: Vec<SimNode>,
    pub(crate) by_id: BTreeMap<Key, NodeIx>,
    pub(crate) groups: Option<Vec<u32>>,
    pub(crate) issued: BTreeMap<(NodeIx, CommandId), Issued>,
    pub(crate) node_issued: BTreeMap<(NodeIx, CommandId), u64>,
    pub(crate) stats_of: BTreeMap<(NodeIx, CommandId), (u32, u32)>,
    pub(crate) streams: Streams,
    pub outcomes: Vec<Outcome>,
    /// Answers to whole-node commands, in the order they came; the caller takes them.
    pub node_replies: Vec<NodeReply>,
    pub violations: Vec<String>,
    trace: Sha256,
    pub events: u64,
    pub messages: u64,
    pub faults_reported: u64,
    /// Connections broken by loss, partitions or crashes (whole nodes).
    pub broken_conns: u64,
    /// Sessions established (whole nodes: each a full handshake).
    pub sessions: u64,
    /// Delivered application messages (to, from, bytes), for the scenario driving the protocol.
    pub app_inbox: Vec<(NodeIx, NodeIx, Vec<u8>)>,
    /// Events of whole nodes for the scenario (MiMei heads and questions), with the receiver.
    pub node_events: Vec<(NodeIx, node::Event)>,
}

/// A node's address: four bytes for bare DHT cores, `/ip4/10.x.y.z/tcp/4001` for whole nodes
/// (what a runtime listens on; admission reads it).
pub(crate) fn addr_of(machine: Machine, ix: NodeIx) -> Addr {
    match machine {
        Machine::Dht => Addr((ix as u32).to_le_bytes().to_vec()),
        Machine::Node => ip_addr(ix, 4001),
    }
}

pub(crate) fn ip_addr(ix: NodeIx, port: u16) -> Addr {
    let [_, b, c, d] = (ix as u32).to_be_bytes();
    let sa = core::net::SocketAddr::new(core::net::Ipv4Addr::new(10, b, c, d).into(), port);
    Addr(Multiaddr::from_socket(sa).as_bytes().to_vec())
}

pub(crate) fn ix_of(addr: &Addr) -> Option<NodeIx> {
    if let Ok(b) = <[u8; 4]>::try_from(addr.0.as_slice()) {
        return Some(u32::from_le_bytes(b) as NodeIx);
    }
    match Multiaddr::from_bytes(&addr.0).ok()?.to_socket()?.ip() {
        core::net::IpAddr::V4(ip) => {
            let [_, b, c, d] = ip.octets();
            Some(u32::from_be_bytes([0, b, c, d]) as NodeIx)
        }
        core::net::IpAddr::V6(_) => None,
    }
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
            node_issued: BTreeMap::new(),
            stats_of: BTreeMap::new(),
            streams: Streams::default(),
            outcomes: Vec::new(),
            node_replies: Vec::new(),
            violations: Vec::new(),
            trace: Sha256::new(),
            events: 0,
            messages: 0,
            faults_reported: 0,
            broken_conns: 0,
            sessions: 0,
            app_inbox: Vec::new(),
            node_events: Vec::new(),
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
        self.nodes[n].core.is_some()
    }

    pub fn live_nodes(&self) -> Vec<NodeIx> {
        (0..self.nodes.len()).filter(|&n| self.alive(n)).collect()
    }

    pub fn peer_info(&self, n: NodeIx) -> PeerInfo {
        PeerInfo { id: self.nodes[n].id, addrs: vec![addr_of(self.cfg.machine, n)] }
    }

    pub(crate) fn node_now(&self, n: NodeIx) -> Now {
        let node = &self.nodes[n];
        let unix = (EPOCH_UNIX_MS + self.now) as i64 + node.skew;
        Now { mono: Mono(self.now + node.mono_offset), unix: UnixMs(unix.max(0) as u64) }
    }

    /// The wall clock a node reads now (for checkers).
    pub fn unix_of(&self, n: NodeIx) -> u64 {
        self.node_now(n).unix.0
    }

    /// One-way latency of one message, from the run's range.
    pub(crate) fn latency(&mut self) -> u64 {
        let (lo, hi) = self.cfg.latency_ms;
        lo + self.net_rng.below(hi.saturating_sub(lo) + 1)
    }

    pub(crate) fn partitioned(&self, a: NodeIx, b: NodeIx) -> bool {
        self.groups.as_ref().is_some_and(|g| g.get(a) != g.get(b))
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
        if self.partitioned(from, to) || self.net_rng.chance(self.cfg.loss) {
            return;
        }
        let delay = self.latency();
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
        self.nodes.push(SimNode {
            id,
            core: None,
            disk: BTreeMap::new(),
            blocks: BTreeMap::new(),
            timer: None,
            mono_offset,
            skew,
            next_cmd: 1,
            epoch: 0,
        });
        self.by_id.insert(id, ix);
        self.boot(ix);
        ix
    }

    /// Starts a node's machine from its disk (a fresh node has an empty disk).
    fn boot(&mut self, n: NodeIx) {
        let restored = proto_core::dht::Restored {
            entries: self.nodes[n].disk.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        };
        let seed = Seed::from_u64(self.cfg.seed).derive(&format!("node-{n}-boot-{}", self.now));
        let now = self.node_now(n);
        let core = match self.cfg.machine {
            Machine::Dht => Core::Dht(Box::new(Dht::new(self.cfg.dht.clone(), self.peer_info(n), seed, restored, now))),
            Machine::Node => {
                let cfg = node::Config { dht: self.cfg.dht.clone(), ..node::Config::default() };
                let listen = vec![addr_of(Machine::Node, n)];
                Core::Node(Box::new(Node::new(cfg, self.identity(n), listen, seed, restored, now)))
            }
        };
        self.nodes[n].core = Some(core);
        self.nodes[n].timer = None;
        self.after_handle(n, false);
    }

    pub fn crash(&mut self, n: NodeIx) {
        if self.nodes[n].core.take().is_some() {
            self.nodes[n].epoch += 1;
            self.streams_lost(n);
            // Whoever waited for a command the node had taken hears that it went down (later
            // ones are answered so when they come).
            let (range, now) = ((n, CommandId(0))..=(n, CommandId(u64::MAX)), self.now);
            let mut waiting: Vec<CommandId> =
                self.issued.range(range.clone()).filter(|(_, i)| i.at <= now).map(|((_, id), _)| *id).collect();
            waiting.extend(self.node_issued.range(range).filter(|(_, &at)| at <= now).map(|((_, id), _)| *id));
            for id in waiting {
                self.node_reply(n, id, Err(NODE_DOWN.into()));
            }
        }
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

    /// Splits the network: nodes only reach nodes of the same group (connections across the
    /// split break).
    pub fn partition(&mut self, groups: Vec<u32>) {
        self.trace_line("partition");
        self.groups = Some(groups);
        self.streams_split();
    }

    pub fn repair(&mut self) {
        self.trace_line("repair");
        self.groups = None;
    }

    pub fn set_loss(&mut self, p: f64) {
        self.cfg.loss = p;
    }

    /// Queues a DHT command at the current time; returns its id.
    pub fn command(&mut self, n: NodeIx, command: Command) -> CommandId {
        self.command_at(n, command, self.now)
    }

    pub fn command_at(&mut self, n: NodeIx, command: Command, at: u64) -> CommandId {
        let id = self.next_id(n);
        self.issued.insert((n, id), Issued { command: command.clone(), at });
        self.push(at, Ev::Command { node: n, id, command: Cmd::Dht(command) });
        id
    }

    /// Queues a whole-node command (block fetches, MiMei messages) at time `at`; its answer
    /// lands in `node_replies`. Bare DHT cores answer every such command with an error.
    pub fn node_command_at(&mut self, n: NodeIx, command: node::Command, at: u64) -> CommandId {
        let id = self.next_id(n);
        self.node_issued.insert((n, id), at);
        self.push(at.max(self.now), Ev::Command { node: n, id, command: Cmd::Node(command) });
        id
    }

    fn next_id(&mut self, n: NodeIx) -> CommandId {
        let id = CommandId(self.nodes[n].next_cmd);
        self.nodes[n].next_cmd += 1;
        id
    }

    pub(crate) fn push(&mut self, at: u64, ev: Ev) {
        self.seq += 1;
        self.queue.insert((at, self.seq), ev);
    }

    pub(crate) fn trace_line(&mut self, s: &str) {
        self.trace.update(self.now.to_le_bytes());
        self.trace.update(s.as_bytes());
    }

    pub(crate) fn trace_event(&mut self, tag: &[u8], node: NodeIx, bytes: &[u8]) {
        self.trace.update(tag);
        self.trace.update(node.to_le_bytes());
        self.trace.update(bytes);
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
                self.trace_event(b"d", to, &bytes);
                self.deliver_datagram(to, from, bytes);
            }
            Ev::Timer { node, at } => {
                if self.nodes[node].timer != Some(at) {
                    return true; // re-armed or crashed since
                }
                self.nodes[node].timer = None;
                self.trace_event(b"t", node, &[]);
                let now = self.node_now(node);
                match self.nodes[node].core.as_mut() {
                    Some(Core::Dht(d)) => d.handle_timeout(now),
                    Some(Core::Node(m)) => m.handle_timeout(now),
                    None => return true,
                }
                self.after_handle(node, true);
            }
            Ev::App { to, from, bytes } => {
                self.trace_event(b"a", to, &bytes);
                if self.alive(to) {
                    self.app_inbox.push((to, from, bytes));
                }
            }
            Ev::Command { node, id, command } => {
                self.trace_event(b"c", node, &[]);
                self.run_command(node, id, command);
            }
            Ev::Stream { to, epoch, conn, ev } => {
                if self.nodes[to].epoch == epoch && self.alive(to) {
                    self.on_stream(to, conn, ev);
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

    /// `run_until`, calling `f` whenever whole-node replies are waiting in `node_replies`.
    pub fn run_until_with(&mut self, t: u64, mut f: impl FnMut(&mut Sim)) {
        while self.next_at().is_some_and(|at| at <= t) {
            self.step();
            if !self.node_replies.is_empty() {
                f(self);
            }
        }
        self.now = self.now.max(t);
    }

    /// Runs until no command is outstanding, or virtual time `limit`.
    pub fn run_until_idle(&mut self, limit: u64) {
        while !(self.issued.is_empty() && self.node_issued.is_empty()) && self.next_at().is_some_and(|at| at <= limit) {
            self.step();
        }
    }

    fn run_command(&mut self, n: NodeIx, id: CommandId, command: Cmd) {
        let now = self.node_now(n);
        match (self.nodes[n].core.as_mut(), command) {
            (None, Cmd::Dht(_)) => return self.finish(n, id, Err(NODE_DOWN.into())),
            (None, Cmd::Node(_)) => return self.node_reply(n, id, Err(NODE_DOWN.into())),
            (Some(Core::Dht(_)), Cmd::Node(_)) => {
                return self.node_reply(n, id, Err("a bare DHT core runs no node commands".into()))
            }
            (Some(Core::Dht(d)), Cmd::Dht(c)) => {
                d.handle_input(now, proto_core::dht::Input::Command { id, command: c })
            }
            (Some(Core::Node(m)), Cmd::Dht(c)) => {
                m.handle_input(now, node::Input::Command { id, command: node::Command::Dht(c) })
            }
            (Some(Core::Node(m)), Cmd::Node(c)) => m.handle_input(now, node::Input::Command { id, command: c }),
        }
        self.after_handle(n, false);
    }

    /// Drains a node's outputs after a handle_* call, then arms its timer.
    pub(crate) fn after_handle(&mut self, n: NodeIx, was_timeout: bool) {
        let next = match self.nodes[n].core {
            Some(Core::Dht(_)) => self.drain_dht(n),
            Some(Core::Node(_)) => self.drain_node(n),
            None => return,
        };
        let now = self.node_now(n).mono;
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

    /// Writes a node's `Persist` output to its disk.
    pub(crate) fn persist(&mut self, n: NodeIx, writes: Vec<proto_core::dht::Write>) {
        for (k, v) in writes {
            match v {
                Some(v) => self.nodes[n].disk.insert(k, v),
                None => self.nodes[n].disk.remove(&k),
            };
        }
    }
}
