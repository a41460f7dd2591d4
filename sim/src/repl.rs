//! Database replication under faults: one author writes random Redis commands; its replicas
//! follow through `proto_core::db::repl` messages over a simulated network with latency, loss,
//! a partition and crash/restarts. Every message goes through its wire encoding. At the end
//! every replica must hold exactly the author's keyspace, at the author's position, with a
//! digest that matches its contents. One seed reproduces one run (the trace hash shows it).

use crate::redis_gen::RedisGen;
use proto_core::db::repl::{digest_of, Follower, Leader, Msg, Recorder};
use proto_core::db::txn::MemKv;
use proto_core::db::{self, Ctx};
use proto_core::rng::{Rng, Seed};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BinaryHeap};

#[derive(Clone, Debug)]
pub struct ReplConfig {
    pub replicas: usize,
    pub writes: usize,
    /// Mean time between the author's commands (ms).
    pub write_every_ms: u64,
    pub loss: f64,
    pub latency_ms: (u64, u64),
    /// Replicas cut off from the author between these times (ms).
    pub partition: Option<(u64, u64, usize)>,
    /// Crash/restart events (each: a random replica is down for 1–10 s).
    pub crashes: usize,
    /// Entries the author keeps for replay; older gaps are filled with snapshots.
    pub keep: usize,
    /// How often the author announces its position (ms).
    pub head_every_ms: u64,
}

impl Default for ReplConfig {
    fn default() -> Self {
        ReplConfig {
            replicas: 20,
            writes: 5_000,
            write_every_ms: 10,
            loss: 0.05,
            latency_ms: (5, 80),
            partition: Some((10_000, 25_000, 5)),
            crashes: 5,
            keep: 100,
            head_every_ms: 2_000,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ReplReport {
    pub seed: u64,
    pub author_seq: u64,
    /// Replicas at the author's position with an identical keyspace and a true digest.
    pub converged: usize,
    pub replicas: usize,
    pub messages: u64,
    pub lost: u64,
    pub snapshots: u64,
    pub wants: u64,
    /// Virtual time when the last replica caught up (ms).
    pub settled_ms: u64,
    pub trace: String,
}

enum Ev {
    Write,
    Head,
    Tick(usize),
    /// A message to node `to` (0 = author, i + 1 = replica i).
    Deliver {
        to: usize,
        from: usize,
        bytes: Vec<u8>,
    },
    Crash(usize),
    Restart(usize),
}

struct Replica {
    kv: MemKv,
    f: Follower,
    up: bool,
}

struct World {
    cfg: ReplConfig,
    rng: Rng,
    now: u64,
    queue: BinaryHeap<std::cmp::Reverse<(u64, u64)>>,
    events: BTreeMap<u64, Ev>,
    next_id: u64,
    author: MemKv,
    leader: Leader,
    replicas: Vec<Replica>,
    trace: Sha256,
    report: ReplReport,
}

impl World {
    fn at(&mut self, t: u64, ev: Ev) {
        let id = self.next_id;
        self.next_id += 1;
        self.queue.push(std::cmp::Reverse((t, id)));
        self.events.insert(id, ev);
    }

    fn cut_off(&self, replica: usize) -> bool {
        self.cfg.partition.is_some_and(|(a, b, n)| replica < n && (a..b).contains(&self.now))
    }

    fn send(&mut self, from: usize, to: usize, msg: &Msg) {
        self.report.messages += 1;
        let replica = from.max(to) - 1;
        if self.rng.chance(self.cfg.loss) || self.cut_off(replica) {
            self.report.lost += 1;
            return;
        }
        let (lo, hi) = self.cfg.latency_ms;
        let t = self.now + lo + self.rng.below(hi - lo + 1);
        self.at(t, Ev::Deliver { to, from, bytes: msg.encode() });
    }

    fn step(&mut self, ev: Ev, gen: &mut RedisGen, writes_left: &mut usize) {
        match ev {
            Ev::Write => {
                let cmd = gen.next_command();
                let args: Vec<Vec<u8>> = cmd.iter().map(|s| s.as_bytes().to_vec()).collect();
                let mut rec = Recorder::new(&mut self.author, self.leader.pos.digest);
                db::run_write(&mut rec, &Ctx { now_ms: 1_700_000_000_000 + self.now }, &args).expect("memory");
                let (ops, digest) = (rec.ops, rec.digest);
                if let Some(e) = self.leader.commit(ops, digest) {
                    self.trace.update(e.chain());
                    let msg = Msg::Entries(vec![e]);
                    for i in 0..self.replicas.len() {
                        self.send(0, i + 1, &msg);
                    }
                }
                *writes_left -= 1;
                if *writes_left > 0 {
                    let dt = 1 + self.rng.below(2 * self.cfg.write_every_ms);
                    self.at(self.now + dt, Ev::Write);
                }
            }
            Ev::Head => {
                let msg = Msg::Head(self.leader.pos);
                for i in 0..self.replicas.len() {
                    self.send(0, i + 1, &msg);
                }
                self.at(self.now + self.cfg.head_every_ms, Ev::Head);
            }
            Ev::Tick(i) => {
                if self.replicas[i].up {
                    if let Some(m) = self.replicas[i].f.on_tick(self.now) {
                        self.report.wants += 1;
                        self.send(i + 1, 0, &m);
                    }
                }
                self.at(self.now + 500, Ev::Tick(i));
            }
            Ev::Deliver { to, from, bytes } => {
                let msg = Msg::decode(&bytes).expect("our own encoding decodes");
                self.trace.update([to as u8, from as u8]);
                self.trace.update(&bytes[..bytes.len().min(64)]);
                if to == 0 {
                    if let Msg::Want(from_seq) = msg {
                        let answer = self.leader.on_want(&self.author, from_seq).expect("memory");
                        if matches!(answer, Msg::Snapshot(..)) {
                            self.report.snapshots += 1;
                        }
                        self.send(0, from, &answer);
                    }
                    return;
                }
                let r = &mut self.replicas[to - 1];
                if !r.up {
                    return;
                }
                if let Some(reply) = r.f.on_msg(&mut r.kv, self.now, msg).expect("memory") {
                    self.report.wants += 1;
                    self.send(to, 0, &reply);
                }
            }
            Ev::Crash(i) => {
                self.replicas[i].up = false;
                let down = 1_000 + self.rng.below(9_000);
                self.at(self.now + down, Ev::Restart(i));
            }
            Ev::Restart(i) => {
                // The keyspace and its position are durable; what was in flight is not.
                let r = &mut self.replicas[i];
                r.up = true;
                r.f = Follower { pos: r.f.pos, known: r.f.pos.seq, asked_at: None };
                self.trace.update(b"restart");
            }
        }
    }

    fn converged(&self) -> usize {
        self.replicas.iter().filter(|r| r.f.pos == self.leader.pos && r.kv == self.author).count()
    }
}

/// Runs one replication scenario.
pub fn run_repl(seed: u64, cfg: &ReplConfig) -> ReplReport {
    let root = Seed::from_u64(seed);
    let mut w = World {
        cfg: cfg.clone(),
        rng: root.derive("net").rng(),
        now: 0,
        queue: BinaryHeap::new(),
        events: BTreeMap::new(),
        next_id: 0,
        author: MemKv::default(),
        leader: Leader::new(cfg.keep),
        replicas: (0..cfg.replicas)
            .map(|_| Replica { kv: MemKv::default(), f: Follower::default(), up: true })
            .collect(),
        trace: Sha256::new(),
        report: ReplReport {
            seed,
            author_seq: 0,
            converged: 0,
            replicas: cfg.replicas,
            messages: 0,
            lost: 0,
            snapshots: 0,
            wants: 0,
            settled_ms: 0,
            trace: String::new(),
        },
    };
    let mut gen = RedisGen::new(root.derive("commands").rng());
    let mut writes_left = cfg.writes;
    w.at(1, Ev::Write);
    w.at(cfg.head_every_ms, Ev::Head);
    for i in 0..cfg.replicas {
        let t = w.rng.below(500);
        w.at(t, Ev::Tick(i));
    }
    let span = cfg.writes as u64 * cfg.write_every_ms;
    for _ in 0..cfg.crashes {
        let (t, i) = (w.rng.below(span.max(1)), w.rng.below(cfg.replicas as u64) as usize);
        w.at(t, Ev::Crash(i));
    }
    // Run until the writes are done and every replica has caught up (or a generous deadline).
    let deadline = span + 120_000;
    while let Some(std::cmp::Reverse((t, id))) = w.queue.pop() {
        if t > deadline {
            break;
        }
        w.now = t;
        let ev = w.events.remove(&id).expect("scheduled");
        w.step(ev, &mut gen, &mut writes_left);
        if writes_left == 0 && w.replicas.iter().all(|r| r.up) && w.converged() == cfg.replicas {
            w.report.settled_ms = w.now;
            break;
        }
    }
    w.report.author_seq = w.leader.pos.seq;
    w.report.converged = w
        .replicas
        .iter()
        .filter(|r| r.f.pos == w.leader.pos && r.kv == w.author && digest_of(&r.kv).ok() == Some(r.f.pos.digest))
        .count();
    w.report.trace = w.trace.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect();
    w.report
}
