//! `leither sim --machine kad`: N IPFS Kademlia machines (`proto_core::libp2p::kad`) exchanging
//! encoded kad messages as request/response pairs over a simulated network with latency, loss
//! and churn, on the 256-bit SHA-256 key space. Each node is driven the way the connection
//! driver drives it: a request that reaches a crashed node fails after one latency (refused),
//! a lost request or answer is left to the machine's own request timeout, the first exchange
//! between two nodes runs "identify" both ways (both list the DHT protocol), and a crash
//! disconnects its peers. Restarted nodes come back empty and bootstrap through a live node.
//!
//! Workload: join, then FIND_NODE lookups of random keys from random live nodes (a success
//! returns the true closest live node first), keys provided at the start and GET_PROVIDERS for
//! them from random live nodes over the run and at the end. One seed gives one trace.

use crate::report::Percentiles;
use proto_core::libp2p::kad::{self, Command, Config, Found, Input, Kad, Key, Message, Output, QueryId, RequestId};
use proto_core::libp2p::PeerId;
use proto_core::maddr::Multiaddr;
use proto_core::rng::{Rng, Seed};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// A kad run: the network, its faults and the workload.
#[derive(Clone, Debug)]
pub struct KadScenario {
    pub nodes: usize,
    pub seed: u64,
    /// Messages lost during the measured phase.
    pub loss: f64,
    /// Fraction of nodes that crash at random times and restart 10 min – 3 h later.
    pub churn: f64,
    /// FIND_NODE lookups of random keys spread over the run.
    pub lookups: usize,
    /// Keys provided at the start, looked for during the run and at the end.
    pub providers: usize,
    pub duration_ms: u64,
    /// One-way latency range (ms).
    pub latency_ms: (u64, u64),
    pub config: Config,
}

impl Default for KadScenario {
    fn default() -> Self {
        KadScenario {
            nodes: 200,
            seed: 1,
            loss: 0.0,
            churn: 0.0,
            lookups: 500,
            providers: 20,
            duration_ms: 10 * 60_000,
            latency_ms: (5, 60),
            config: Config::default(),
        }
    }
}

impl KadScenario {
    pub fn replay(&self) -> String {
        format!(
            "leither sim --machine kad --nodes {} --seed {} --loss {} --churn {} --lookups {} --providers {} --duration {}s",
            self.nodes,
            self.seed,
            self.loss,
            self.churn,
            self.lookups,
            self.providers,
            self.duration_ms / 1000
        )
    }
}

#[derive(Clone, Debug, Default)]
pub struct KadReport {
    pub nodes: usize,
    pub seed: u64,
    pub loss: f64,
    pub churn: f64,
    /// Lookups that ran to an answer on a live node, and those whose first peer was the true
    /// closest live node.
    pub lookups: usize,
    pub lookups_ok: usize,
    pub rounds: Percentiles,
    pub rpcs: Percentiles,
    pub latency_ms: Percentiles,
    /// GET_PROVIDERS during the run and at the end: asked, and found the provider.
    pub provider_checks: usize,
    pub provider_found: usize,
    pub final_checks: usize,
    pub final_found: usize,
    /// Broken contracts (a timer asked for in the past after `handle_timeout`).
    pub violations: Vec<String>,
    pub messages: u64,
    pub lost: u64,
    pub events: u64,
    pub virtual_ms: u64,
    pub wall_ms: Option<u64>,
    pub trace_hash: String,
    pub replay: String,
}

impl KadReport {
    pub fn success_rate(&self) -> f64 {
        ratio(self.lookups_ok, self.lookups)
    }

    pub fn provider_rate(&self) -> f64 {
        ratio(self.provider_found, self.provider_checks)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        1.0
    } else {
        a as f64 / b as f64
    }
}

impl fmt::Display for KadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "kad (/ipfs/kad/1.0.0)  nodes {}  seed {}  loss {:.0}%  churn {:.0}%",
            self.nodes,
            self.seed,
            self.loss * 100.0,
            self.churn * 100.0
        )?;
        writeln!(
            f,
            "find_node lookups  {} / {} found the true closest live node ({:.2}%)",
            self.lookups_ok,
            self.lookups,
            self.success_rate() * 100.0
        )?;
        writeln!(
            f,
            "rounds             p50 {:.0}  p95 {:.0}  p99 {:.0}  (mean {:.2})",
            self.rounds.p50, self.rounds.p95, self.rounds.p99, self.rounds.mean
        )?;
        writeln!(
            f,
            "rpcs/lookup        p50 {:.0}  p95 {:.0}  p99 {:.0}  (mean {:.1})",
            self.rpcs.p50, self.rpcs.p95, self.rpcs.p99, self.rpcs.mean
        )?;
        writeln!(
            f,
            "lookup time        p50 {:.0} ms  p99 {:.0} ms (simulated)",
            self.latency_ms.p50, self.latency_ms.p99
        )?;
        if self.provider_checks > 0 {
            writeln!(
                f,
                "get_providers      {} / {} found the provider ({:.1}%); at the end {} / {}",
                self.provider_found,
                self.provider_checks,
                self.provider_rate() * 100.0,
                self.final_found,
                self.final_checks
            )?;
        }
        writeln!(f, "checkers           {} violations", self.violations.len())?;
        for v in self.violations.iter().take(5) {
            writeln!(f, "  violation: {v}")?;
        }
        write!(
            f,
            "events {}  messages {} ({} lost)  simulated {:.1} s",
            self.events,
            self.messages,
            self.lost,
            self.virtual_ms as f64 / 1000.0
        )?;
        if let Some(w) = self.wall_ms {
            write!(f, "  wall {:.2} s", w as f64 / 1000.0)?;
        }
        writeln!(f)?;
        writeln!(f, "trace {}", self.trace_hash)?;
        write!(f, "replay: {}", self.replay)
    }
}

type Ix = usize;

enum Ev {
    /// A request from `from` (incarnation `from_epoch`) arrives at `to`.
    Request {
        to: Ix,
        from: Ix,
        from_epoch: u64,
        req: RequestId,
        bytes: Vec<u8>,
        expect_reply: bool,
    },
    /// The answer (`None`: the request failed) arrives back at `to`.
    Answer {
        to: Ix,
        epoch: u64,
        req: RequestId,
        bytes: Option<Vec<u8>>,
    },
    Timer {
        node: Ix,
        at: u64,
    },
    Command {
        node: Ix,
        cmd: Command,
        tag: Tag,
    },
    Crash(Ix),
    Restart(Ix),
}

/// What a command was for, to check its result.
#[derive(Clone, Copy, Debug)]
enum Tag {
    Join,
    Lookup(Key),
    Providers { key: usize, end: bool },
}

struct Node {
    id: PeerId,
    key: Key,
    addr: Vec<u8>,
    kad: Option<Kad>,
    epoch: u64,
    timer: Option<u64>,
}

struct Net {
    s: KadScenario,
    rng: Rng,
    now: u64,
    seq: u64,
    queue: BTreeMap<(u64, u64), Ev>,
    nodes: Vec<Node>,
    by_id: BTreeMap<PeerId, Ix>,
    /// Pairs that are connected (identify ran), smaller index first.
    conns: BTreeSet<(Ix, Ix)>,
    waiting: BTreeMap<(Ix, QueryId), (Tag, u64)>,
    loss: f64,
    trace: Sha256,
    report: KadReport,
    provided: Vec<(Vec<u8>, Ix)>,
    stats: (Vec<f64>, Vec<f64>, Vec<f64>),
}

impl Net {
    fn new(s: &KadScenario) -> Net {
        let seed = Seed::from_u64(s.seed);
        let mut nodes = Vec::new();
        let mut by_id = BTreeMap::new();
        for i in 0..s.nodes {
            let id = PeerId::from_ed25519(&seed.derive(&format!("kad-node-{i}")).0);
            let [_, b, c, d] = (i as u32).to_be_bytes();
            let sa = core::net::SocketAddr::new(core::net::Ipv4Addr::new(10, b, c, d).into(), 4001);
            let addr = Multiaddr::from_socket(sa).as_bytes().to_vec();
            by_id.insert(id.clone(), i);
            nodes.push(Node { key: Key::of(id.as_bytes()), id, addr, kad: None, epoch: 0, timer: None });
        }
        Net {
            s: s.clone(),
            rng: seed.derive("kad-net").rng(),
            now: 0,
            seq: 0,
            queue: BTreeMap::new(),
            nodes,
            by_id,
            conns: BTreeSet::new(),
            waiting: BTreeMap::new(),
            loss: 0.0,
            trace: Sha256::new(),
            report: KadReport::default(),
            provided: Vec::new(),
            stats: Default::default(),
        }
    }

    fn push(&mut self, at: u64, ev: Ev) {
        self.seq += 1;
        self.queue.insert((at, self.seq), ev);
    }

    fn latency(&mut self) -> u64 {
        let (lo, hi) = self.s.latency_ms;
        lo + self.rng.below(hi.saturating_sub(lo) + 1)
    }

    fn trace(&mut self, tag: &[u8], node: Ix, bytes: &[u8]) {
        self.trace.update(self.now.to_le_bytes());
        self.trace.update(tag);
        self.trace.update(node.to_le_bytes());
        self.trace.update(bytes);
    }

    fn live(&self) -> Vec<Ix> {
        (0..self.nodes.len()).filter(|&i| self.nodes[i].kad.is_some()).collect()
    }

    fn random_live(&mut self) -> Option<Ix> {
        let live = self.live();
        (!live.is_empty()).then(|| live[self.rng.below(live.len() as u64) as usize])
    }

    /// Starts node `n` empty; it joins through `via`.
    fn boot(&mut self, n: Ix, via: Option<Ix>) {
        let seed = Seed::from_u64(self.s.seed).derive(&format!("kad-boot-{n}-{}", self.nodes[n].epoch));
        let mut kad = Kad::new(self.nodes[n].id.clone(), self.s.config.clone(), seed);
        kad.set_local_addrs(vec![self.nodes[n].addr.clone()]);
        if let Some(v) = via {
            kad.add_address(self.nodes[v].id.clone(), vec![self.nodes[v].addr.clone()], self.now);
        }
        self.nodes[n].kad = Some(kad);
        self.nodes[n].timer = None;
        if via.is_some() {
            let now = self.now;
            self.push(now, Ev::Command { node: n, cmd: Command::Bootstrap, tag: Tag::Join });
        }
        self.drain(n);
    }

    fn crash(&mut self, n: Ix) {
        if self.nodes[n].kad.take().is_none() {
            return;
        }
        self.trace(b"crash", n, &[]);
        self.nodes[n].epoch += 1;
        self.nodes[n].timer = None;
        self.waiting.retain(|(node, _), _| *node != n);
        let peers: Vec<(Ix, Ix)> = self.conns.iter().filter(|(a, b)| *a == n || *b == n).copied().collect();
        for (a, b) in peers {
            self.conns.remove(&(a, b));
            let other = if a == n { b } else { a };
            let peer = self.nodes[n].id.clone();
            self.input(other, Input::PeerDisconnected { peer });
        }
    }

    fn input(&mut self, n: Ix, input: Input) {
        let now = self.now;
        if let Some(k) = self.nodes[n].kad.as_mut() {
            k.handle_input(now, input);
            self.drain(n);
        }
    }

    /// Executes node `n`'s outputs, then arms its timer.
    fn drain(&mut self, n: Ix) {
        loop {
            let Some(k) = self.nodes[n].kad.as_mut() else { return };
            let Some(out) = k.poll_output() else { break };
            match out {
                Output::Send { req, to, addrs, msg, expect_reply } => self.send(n, req, to, addrs, msg, expect_reply),
                Output::Done { query, result } => self.done(n, query, result),
                // Inbound requests are answered inside `deliver`.
                Output::Respond { .. } | Output::Reset { .. } => {}
            }
        }
        let Some(k) = self.nodes[n].kad.as_ref() else { return };
        if let Some(t) = k.poll_timeout() {
            let at = t.max(self.now);
            if self.nodes[n].timer != Some(at) {
                self.nodes[n].timer = Some(at);
                self.push(at, Ev::Timer { node: n, at });
            }
        }
    }

    fn send(&mut self, from: Ix, req: RequestId, to: PeerId, addrs: Vec<Vec<u8>>, msg: Message, expect_reply: bool) {
        self.report.messages += 1;
        let epoch = self.nodes[from].epoch;
        let dest = self.by_id.get(&to).copied();
        // Reachable at a given address, or over a connection that is up.
        let reachable = dest.filter(|&d| addrs.contains(&self.nodes[d].addr) || self.conns.contains(&pair(from, d)));
        let delay = self.latency();
        let Some(d) = reachable else {
            if expect_reply {
                self.push(self.now + delay, Ev::Answer { to: from, epoch, req, bytes: None });
            }
            return;
        };
        if self.rng.chance(self.loss) {
            self.report.lost += 1;
            return;
        }
        let bytes = msg.encode();
        self.push(self.now + delay, Ev::Request { to: d, from, from_epoch: epoch, req, bytes, expect_reply });
    }

    fn deliver(&mut self, to: Ix, from: Ix, from_epoch: u64, req: RequestId, bytes: Vec<u8>, expect_reply: bool) {
        let delay = self.latency();
        let back = self.now + delay;
        if self.nodes[to].kad.is_none() {
            if expect_reply {
                self.push(back, Ev::Answer { to: from, epoch: from_epoch, req, bytes: None });
            }
            return;
        }
        if self.nodes[from].epoch == from_epoch && self.conns.insert(pair(from, to)) {
            for (a, b) in [(to, from), (from, to)] {
                let (peer, addrs) = (self.nodes[b].id.clone(), vec![self.nodes[b].addr.clone()]);
                self.input(a, Input::PeerIdentified { peer, addrs, serves_dht: true });
            }
        }
        let Ok(msg) = Message::decode_limited(&bytes, self.s.config.max_peers_per_message) else { return };
        let (peer, from_addrs) = (self.nodes[from].id.clone(), vec![self.nodes[from].addr.clone()]);
        let now = self.now;
        let Some(k) = self.nodes[to].kad.as_mut() else { return };
        k.handle_input(now, Input::Request { req: RequestId(0), from: peer, from_addrs, msg });
        let mut answer = None;
        let mut rest = Vec::new();
        while let Some(o) = k.poll_output() {
            match o {
                Output::Respond { req: RequestId(0), msg } => answer = Some(Some(msg.encode())),
                Output::Reset { req: RequestId(0) } => answer = Some(None),
                other => rest.push(other),
            }
        }
        // Outputs the request caused besides its answer (none today) would be lost: keep them.
        debug_assert!(rest.is_empty());
        self.drain(to);
        if !expect_reply {
            return;
        }
        self.report.messages += 1;
        match answer {
            Some(Some(_)) if self.rng.chance(self.loss) => self.report.lost += 1,
            Some(bytes) => self.push(back, Ev::Answer { to: from, epoch: from_epoch, req, bytes }),
            None => {}
        }
    }

    fn answer(&mut self, to: Ix, epoch: u64, req: RequestId, bytes: Option<Vec<u8>>) {
        if self.nodes[to].epoch != epoch {
            return;
        }
        let msg = bytes.and_then(|b| Message::decode_limited(&b, self.s.config.max_peers_per_message).ok());
        let input = match msg {
            Some(msg) => Input::Response { req, msg },
            None => Input::Failed { req },
        };
        self.input(to, input);
    }

    fn command(&mut self, n: Ix, cmd: Command, tag: Tag) {
        let now = self.now;
        let Some(k) = self.nodes[n].kad.as_mut() else { return };
        let q = k.command(now, cmd);
        self.waiting.insert((n, q), (tag, now));
        self.drain(n);
    }

    fn done(&mut self, n: Ix, query: QueryId, result: kad::QueryResult) {
        let Some((tag, at)) = self.waiting.remove(&(n, query)) else { return };
        self.trace(b"done", n, &query.0.to_le_bytes());
        match (tag, result.found) {
            (Tag::Join, _) => {}
            (Tag::Lookup(target), Found::Peers(peers)) => {
                self.report.lookups += 1;
                let ok = peers.first().is_some_and(|p| Some(&p.id) == self.true_closest(n, &target).as_ref());
                self.report.lookups_ok += usize::from(ok);
                self.stats.0.push(f64::from(result.stats.rounds));
                self.stats.1.push(f64::from(result.stats.rpcs));
                self.stats.2.push((self.now - at) as f64);
            }
            (Tag::Providers { key, end }, Found::Providers(list)) => {
                let provider = &self.nodes[self.provided[key].1].id;
                let found = list.iter().any(|p| &p.id == provider);
                self.report.provider_checks += 1;
                self.report.provider_found += usize::from(found);
                if end {
                    self.report.final_checks += 1;
                    self.report.final_found += usize::from(found);
                }
            }
            _ => {}
        }
    }

    /// The live node closest to `target`, other than `n`.
    fn true_closest(&self, n: Ix, target: &Key) -> Option<PeerId> {
        (0..self.nodes.len())
            .filter(|&i| i != n && self.nodes[i].kad.is_some())
            .min_by_key(|&i| self.nodes[i].key.distance(target))
            .map(|i| self.nodes[i].id.clone())
    }

    fn step(&mut self) -> bool {
        let Some(((at, _), ev)) = self.queue.pop_first() else { return false };
        self.now = self.now.max(at);
        self.report.events += 1;
        match ev {
            Ev::Request { to, from, from_epoch, req, bytes, expect_reply } => {
                self.trace(b"req", to, &bytes);
                self.deliver(to, from, from_epoch, req, bytes, expect_reply);
            }
            Ev::Answer { to, epoch, req, bytes } => {
                self.trace(b"ans", to, bytes.as_deref().unwrap_or_default());
                self.answer(to, epoch, req, bytes);
            }
            Ev::Timer { node, at } => {
                if self.nodes[node].timer == Some(at) {
                    self.nodes[node].timer = None;
                    self.trace(b"timer", node, &[]);
                    let now = self.now;
                    if let Some(k) = self.nodes[node].kad.as_mut() {
                        k.handle_timeout(now);
                        self.drain(node);
                        // The drain contract: after a timeout the next one is later.
                        if self.nodes[node].kad.as_ref().and_then(Kad::poll_timeout).is_some_and(|t| t <= now) {
                            self.report.violations.push(format!("node {node} asked for a timer at or before {now}"));
                        }
                    }
                }
            }
            Ev::Command { node, cmd, tag } => {
                self.trace(b"cmd", node, &[]);
                self.command(node, cmd, tag);
            }
            Ev::Crash(n) => self.crash(n),
            Ev::Restart(n) => {
                if self.nodes[n].kad.is_none() {
                    self.trace(b"restart", n, &[]);
                    let via = self.random_live();
                    self.boot(n, via);
                }
            }
        }
        true
    }

    fn run_until(&mut self, t: u64) {
        while self.queue.first_key_value().is_some_and(|((at, _), _)| *at <= t) {
            self.step();
        }
        self.now = self.now.max(t);
    }

    /// Queues a GET_PROVIDERS of every provided key from random live nodes at `at`.
    fn check_providers(&mut self, at: u64, end: bool) {
        for key in 0..self.provided.len() {
            let Some(node) = self.random_live() else { return };
            let cmd = Command::GetProviders { key: self.provided[key].0.clone(), limit: 1 };
            self.push(at, Ev::Command { node, cmd, tag: Tag::Providers { key, end } });
        }
    }
}

fn pair(a: Ix, b: Ix) -> (Ix, Ix) {
    (a.min(b), a.max(b))
}

/// A random key as a FIND_NODE carries it: a sha2-256 style peer id.
fn random_peer_id(rng: &mut Rng) -> PeerId {
    let bytes = [&[0x12, 0x20][..], &rng.bytes::<32>()].concat();
    PeerId::from_bytes(&bytes).unwrap_or_else(|_| PeerId::from_ed25519(&[0; 32]))
}

/// Runs a kad scenario to the end and reports.
pub fn run_kad(s: &KadScenario) -> KadReport {
    let mut net = Net::new(s);
    let mut work = Seed::from_u64(s.seed).derive("kad-workload").rng();
    // Join: node i bootstraps through a random earlier node, 2 ms apart.
    net.boot(0, None);
    for i in 1..s.nodes {
        net.run_until(i as u64 * 2);
        let via = work.below(i as u64) as usize;
        net.boot(i, Some(via));
    }
    let start = s.nodes as u64 * 2 + 120_000;
    let end = start + s.duration_ms;
    net.run_until(start);
    net.loss = s.loss;

    if s.churn > 0.0 && s.nodes > 0 {
        for _ in 0..(s.nodes as f64 * s.churn) as usize {
            let v = work.below(s.nodes as u64) as usize;
            let down = start + work.below(s.duration_ms.max(1));
            let up = down + 600_000 + work.below(3 * 3_600_000 - 600_000);
            net.push(down, Ev::Crash(v));
            if up < end {
                net.push(up, Ev::Restart(v));
            }
        }
    }
    for i in 0..s.providers.min(s.nodes) {
        let node = work.below(s.nodes as u64) as usize;
        let key = [&[0x12, 0x20][..], &work.bytes::<32>()].concat();
        let addrs = vec![net.nodes[node].addr.clone()];
        net.provided.push((key.clone(), node));
        net.push(start + i as u64, Ev::Command { node, cmd: Command::Provide { key, addrs }, tag: Tag::Join });
    }
    for i in 0..s.lookups {
        let at = start + s.duration_ms * i as u64 / s.lookups.max(1) as u64;
        let node = work.below(s.nodes.max(1) as u64) as usize;
        let target = random_peer_id(&mut work);
        let key = Key::of(target.as_bytes());
        net.push(at, Ev::Command { node, cmd: Command::FindNode(target), tag: Tag::Lookup(key) });
    }
    // Provider checks a third and two thirds into the run, and at the end.
    for q in 1..=2u64 {
        net.run_until(start + s.duration_ms * q / 3);
        let now = net.now;
        net.check_providers(now, false);
    }
    net.run_until(end);
    net.check_providers(end, true);
    net.run_until(end + s.config.query_timeout_ms + s.config.request_timeout_ms);

    let mut r = std::mem::take(&mut net.report);
    let (rounds, rpcs, lat) = std::mem::take(&mut net.stats);
    r.rounds = Percentiles::of(rounds);
    r.rpcs = Percentiles::of(rpcs);
    r.latency_ms = Percentiles::of(lat);
    r.nodes = s.nodes;
    r.seed = s.seed;
    r.loss = s.loss;
    r.churn = s.churn;
    r.virtual_ms = net.now;
    r.trace_hash = net.trace.clone().finalize().iter().map(|b| format!("{b:02x}")).collect();
    r.replay = s.replay();
    r
}
