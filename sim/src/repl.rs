//! Database replication under faults: one author writes random Redis commands; its replicas
//! follow through `proto_core::db::repl` messages over a simulated network with latency, loss,
//! a partition and crash/restarts. Every node runs the production subscription machine
//! (`proto_core::db::subs`): replicas subscribe by asking, renew, and are dropped when they stop;
//! the author pushes and announces only to its subscribers. Every message goes through its wire
//! encoding. At the end every replica must hold exactly the author's keyspace, at the author's
//! position, with a digest that matches its contents. One seed reproduces one run (the trace
//! hash shows it).

use crate::redis_gen::RedisGen;
use proto_core::db::repl::{digest_of, Follower, Leader, Msg, Recorder};
use proto_core::db::subs::{self, Input, Output, Subscriptions};
use proto_core::db::txn::MemKv;
use proto_core::db::{self, Ctx};
use proto_core::dht::Key;
use proto_core::mimei::Mid;
use proto_core::rng::{Rng, Seed};
use proto_core::time::{Mono, Now, UnixMs};
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
    /// When the author announces and replicas check and renew (the production schedule).
    pub schedule: subs::Config,
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
            schedule: subs::Config::default(),
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

/// The replicated DB MiMei.
const MID: Mid = Mid(Key([0xdb; 20]));

/// Node `n`'s id (0 = author, i + 1 = replica i).
fn key(n: usize) -> Key {
    let mut k = [0u8; 20];
    k[12..].copy_from_slice(&(n as u64 + 1).to_be_bytes());
    Key(k)
}

fn node_of(k: &Key) -> usize {
    let mut b = [0u8; 8];
    b.copy_from_slice(&k.0[12..]);
    u64::from_be_bytes(b) as usize - 1
}

enum Ev {
    Write,
    /// Node `n`'s timer, armed for this time.
    Wake(usize, u64),
    /// A message to node `to`.
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
    /// Each node's subscription machine, and when its timer is armed.
    subs: Vec<Subscriptions>,
    armed: Vec<Option<u64>>,
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

    fn clock(&self) -> Now {
        Now { mono: Mono(self.now), unix: UnixMs(1_700_000_000_000 + self.now) }
    }

    fn up(&self, n: usize) -> bool {
        n == 0 || self.replicas[n - 1].up
    }

    fn send(&mut self, from: usize, to: usize, bytes: Vec<u8>) {
        self.report.messages += 1;
        if from != 0 {
            self.report.wants += 1;
        }
        let replica = from.max(to) - 1;
        if self.rng.chance(self.cfg.loss) || self.cut_off(replica) {
            self.report.lost += 1;
            return;
        }
        let (lo, hi) = self.cfg.latency_ms;
        let t = self.now + lo + self.rng.below(hi - lo + 1);
        self.at(t, Ev::Deliver { to, from, bytes });
    }

    /// Executes node `n`'s outputs (answering its continuations from its keyspace), then arms
    /// its timer.
    fn drain(&mut self, n: usize) {
        while let Some(o) = self.subs[n].poll_output() {
            let answer = match o {
                Output::Send { to, body } => {
                    self.send(n, node_of(&to), body);
                    None
                }
                Output::ToAuthor { author, body, .. } => {
                    self.send(n, node_of(&author), body);
                    None
                }
                Output::ListDbs => Some(Input::Dbs(vec![(MID, key(0))])),
                Output::LoadWant { peer, mid, from } => {
                    let answer = self.leader.on_want(&self.author, from).expect("memory");
                    if matches!(answer, Msg::Snapshot(..)) {
                        self.report.snapshots += 1;
                    }
                    Some(Input::WantLoaded { peer, mid, msg: Some(answer) })
                }
                Output::LoadHead { mid } => Some(Input::HeadLoaded { mid, pos: Some(self.leader.pos) }),
                Output::Apply { mid, msg } => {
                    let r = &mut self.replicas[n - 1];
                    Some(Input::Applied { mid, reply: r.f.on_msg(&mut r.kv, self.now, msg).expect("memory") })
                }
                Output::Check { mid, renew } => {
                    let f = &mut self.replicas[n - 1].f;
                    Some(Input::Checked {
                        mid,
                        msg: if renew { Some(f.refresh(self.now)) } else { f.on_tick(self.now) },
                    })
                }
            };
            if let Some(input) = answer {
                let now = self.clock();
                self.subs[n].handle_input(now, input);
            }
        }
        if let Some(t) = self.subs[n].poll_timeout() {
            let t = t.0.max(self.now);
            if self.armed[n] != Some(t) {
                self.armed[n] = Some(t);
                self.at(t, Ev::Wake(n, t));
            }
        }
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
                    let now = self.clock();
                    self.subs[0].handle_input(now, Input::Committed(vec![(MID, e)]));
                    self.drain(0);
                }
                *writes_left -= 1;
                if *writes_left > 0 {
                    let dt = 1 + self.rng.below(2 * self.cfg.write_every_ms);
                    self.at(self.now + dt, Ev::Write);
                }
            }
            Ev::Wake(n, t) => {
                if self.armed[n] == Some(t) && self.up(n) {
                    self.armed[n] = None;
                    let now = self.clock();
                    self.subs[n].handle_timeout(now);
                    self.drain(n);
                }
            }
            Ev::Deliver { to, from, bytes } => {
                self.trace.update([to as u8, from as u8]);
                self.trace.update(&bytes[..bytes.len().min(64)]);
                if !self.up(to) {
                    return;
                }
                let now = self.clock();
                self.subs[to].handle_input(now, Input::Received { peer: key(from), body: bytes });
                self.drain(to);
            }
            Ev::Crash(i) => {
                self.replicas[i].up = false;
                let down = 1_000 + self.rng.below(9_000);
                self.at(self.now + down, Ev::Restart(i));
            }
            Ev::Restart(i) => {
                // The keyspace and its position are durable; what was in flight is not, nor
                // the node's subscriptions.
                let r = &mut self.replicas[i];
                r.up = true;
                r.f = Follower { pos: r.f.pos, known: r.f.pos.seq, asked_at: None };
                self.subs[i + 1] = Subscriptions::new(self.cfg.schedule.clone(), key(i + 1), Mono(self.now));
                self.armed[i + 1] = None;
                self.trace.update(b"restart");
                self.drain(i + 1);
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
        subs: (0..=cfg.replicas).map(|n| Subscriptions::new(cfg.schedule.clone(), key(n), Mono(0))).collect(),
        armed: vec![None; cfg.replicas + 1],
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
    // Every node starts at a random moment within its first check interval.
    w.drain(0);
    for i in 1..=cfg.replicas {
        let t = w.rng.below(cfg.schedule.tick_every_ms);
        w.subs[i] = Subscriptions::new(cfg.schedule.clone(), key(i), Mono(t));
        w.drain(i);
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
