//! Files over block exchange, on whole nodes: each file (seeded random bytes: some tiny, some one
//! block, some many) is chunked into UnixFS/dag-pb blocks by proto-core's importer on a live
//! node, kept in that node's block store and provided on the DHT (as `leither add` does); a few
//! seconds later another live node fetches it with `Command::Fetch` — the root, then the links
//! of every dag-pb block it gets, a window of blocks at once, as the gateway's fetching store
//! does — keeps what arrives in its own store, and at the end reassembles the file from it and
//! compares it byte for byte with the original. A failed block fetch is asked again after
//! `RETRY_MS` (a new fetch looks for providers again), until the run is over; when the fetching
//! node goes down, its user goes to another live node, which fetches the file from the start.

use crate::net::{NodeIx, Sim};
use crate::report::Percentiles;
use proto_core::cid::{Cid, CODEC_DAG_PB};
use proto_core::dagpb::PbNode;
use proto_core::dht::{content_key, Command, CommandId};
use proto_core::node;
use proto_core::rng::{Rng, Seed};
use proto_core::unixfs::file::import_bytes;
use proto_core::unixfs::read::{read_all, BlockRead};
use proto_core::unixfs::Profile;
use std::collections::BTreeMap;

/// Largest file (bytes): twelve 256 KiB blocks and a root, or three 1 MiB raw leaves.
pub const MAX_FILE: u64 = 3 << 20;
/// Block fetches under way at once per file (the gateway's prefetch window).
const WINDOW: usize = 32;
/// A failed block fetch is asked again after this long.
pub const RETRY_MS: u64 = 2_000;
/// A file is fetched this long after it was added, plus up to as much again.
const FETCH_AFTER_MS: u64 = 5_000;

/// How the file fetches went.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FilesSummary {
    pub files: usize,
    /// Reassembled and equal to the original, byte for byte.
    pub identical: usize,
    /// Reassembled but different (must be 0).
    pub corrupt: usize,
    /// Block fetches that failed and were asked again.
    pub retries: u64,
    /// Fetches that moved to another node because the fetching one went down.
    pub fetchers_replaced: u64,
    /// From the first request to the last block (simulated ms), over identical files.
    pub time_ms: Percentiles,
    pub bytes: u64,
}

struct Job {
    data: Vec<u8>,
    profile: Profile,
    holder: Option<NodeIx>,
    root: Option<Cid>,
    fetcher: Option<NodeIx>,
    started_at: u64,
    /// Blocks to ask for, and how many requests are out.
    todo: Vec<Cid>,
    asking: usize,
    /// `Some(identical)` once reassembled.
    result: Option<bool>,
    done_at: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    Add,
    Fetch,
}

/// The file workload of one run.
pub struct Files {
    rng: Rng,
    jobs: Vec<Job>,
    /// What happens next: (time, sequence) → (step, job).
    plan: BTreeMap<(u64, usize), (Step, usize)>,
    asked: BTreeMap<(NodeIx, CommandId), (usize, Cid)>,
    give_up_at: u64,
    retries: u64,
    fetchers_replaced: u64,
}

/// A node's block store as the UnixFS reader sees it.
struct View<'a>(&'a BTreeMap<Cid, Vec<u8>>);

impl BlockRead for View<'_> {
    fn get_block(&self, cid: &Cid) -> Result<Option<Vec<u8>>, proto_core::store::StoreError> {
        Ok(self.0.get(cid).cloned())
    }
}

impl Files {
    /// `count` files added at even intervals over `[start, end)`; fetches still failing at
    /// `give_up_at` stay failed.
    pub fn new(seed: u64, count: usize, start: u64, end: u64, give_up_at: u64) -> Files {
        let mut rng = Seed::from_u64(seed).derive("files").rng();
        let mut jobs = Vec::new();
        let mut plan = BTreeMap::new();
        for i in 0..count {
            let size = match rng.below(10) {
                0..=1 => rng.below(1_025),
                2..=4 => 1_025 + rng.below(256 * 1024),
                _ => 256 * 1024 + rng.below(MAX_FILE - 256 * 1024),
            } as usize;
            let mut data = Vec::with_capacity(size + 8);
            while data.len() < size {
                data.extend_from_slice(&rng.next_u64().to_le_bytes());
            }
            data.truncate(size);
            let profile = if rng.chance(0.25) { Profile::UNIXFS_V1_2025 } else { Profile::UNIXFS_V0_2015 };
            let at = start + (end - start) * i as u64 / count.max(1) as u64;
            plan.insert((at, i), (Step::Add, i));
            jobs.push(Job {
                data,
                profile,
                holder: None,
                root: None,
                fetcher: None,
                started_at: 0,
                todo: Vec::new(),
                asking: 0,
                result: None,
                done_at: 0,
            });
        }
        Files { rng, jobs, plan, asked: BTreeMap::new(), give_up_at, retries: 0, fetchers_replaced: 0 }
    }

    /// Runs the simulation to time `t`, adding and fetching files on the way.
    pub fn run_until(&mut self, sim: &mut Sim, t: u64) {
        loop {
            let next = self.plan.first_key_value().map(|((at, _), _)| *at).filter(|&at| at <= t);
            sim.run_until_with(next.unwrap_or(t), |sim| self.on_replies(sim));
            if next.is_none() {
                return;
            }
            let (_, (step, job)) = self.plan.pop_first().expect("checked");
            match step {
                Step::Add => self.add(sim, job),
                Step::Fetch => self.start_fetch(sim, job),
            }
        }
    }

    /// Some live node imports the file, keeps its blocks and provides its root.
    fn add(&mut self, sim: &mut Sim, i: usize) {
        let Some(holder) = self.pick_live(sim, None) else { return };
        let job = &mut self.jobs[i];
        let (root, blocks) = import_bytes(job.profile, &job.data);
        sim.put_blocks(holder, blocks.into_iter().map(|b| (b.cid, b.bytes)));
        sim.command(holder, Command::Provide(content_key(&root.cid)));
        job.holder = Some(holder);
        job.root = Some(root.cid);
        let at = sim.now() + FETCH_AFTER_MS + self.rng.below(FETCH_AFTER_MS);
        self.plan.insert((at, i), (Step::Fetch, i));
    }

    /// Another live node starts fetching the file from its root.
    fn start_fetch(&mut self, sim: &mut Sim, i: usize) {
        let Some(fetcher) = self.pick_live(sim, self.jobs[i].holder) else { return };
        let job = &mut self.jobs[i];
        let Some(root) = job.root.clone() else { return };
        if job.fetcher.is_none() {
            job.started_at = sim.now();
        }
        job.fetcher = Some(fetcher);
        job.todo.push(root);
        self.pump(sim, i);
    }

    fn pick_live(&mut self, sim: &Sim, not: Option<NodeIx>) -> Option<NodeIx> {
        let live: Vec<NodeIx> = sim.live_nodes().into_iter().filter(|&n| Some(n) != not).collect();
        (!live.is_empty()).then(|| live[self.rng.below(live.len() as u64) as usize])
    }

    /// Asks for more blocks while the window has room; reassembles when nothing is left.
    fn pump(&mut self, sim: &mut Sim, i: usize) {
        let job = &mut self.jobs[i];
        let (Some(fetcher), Some(root)) = (job.fetcher, job.root.clone()) else { return };
        while job.asking < WINDOW {
            let Some(cid) = job.todo.pop() else { break };
            let id =
                sim.node_command_at(fetcher, node::Command::Fetch { root: root.clone(), cid: cid.clone() }, sim.now());
            self.asked.insert((fetcher, id), (i, cid));
            job.asking += 1;
        }
        if job.asking == 0 && job.todo.is_empty() && job.result.is_none() {
            let got = read_all(&View(sim.blocks(fetcher)), &root, u64::MAX);
            let identical = got.is_ok_and(|d| d == job.data);
            if !identical {
                sim.violations.push(format!("file {i} as node {fetcher} reassembled it differs from the original"));
            }
            job.result = Some(identical);
            job.done_at = sim.now();
        }
    }

    /// Takes the answers to this workload's fetches.
    fn on_replies(&mut self, sim: &mut Sim) {
        for r in std::mem::take(&mut sim.node_replies) {
            let Some((i, cid)) = self.asked.remove(&(r.node, r.id)) else { continue };
            if self.jobs[i].fetcher != Some(r.node) {
                continue; // asked of a fetcher that went down since
            }
            self.jobs[i].asking -= 1;
            match r.result {
                Ok(node::Reply::Block(data)) => {
                    if cid.codec() == CODEC_DAG_PB {
                        let links = PbNode::decode(&data).map(|pb| pb.links).unwrap_or_default();
                        let job = &mut self.jobs[i];
                        job.todo.extend(links.into_iter().rev().map(|l| l.cid).filter(|c| !sim.has_block(r.node, c)));
                    }
                    sim.put_blocks(r.node, [(cid, data)]);
                    self.pump(sim, i);
                }
                _ if sim.now() + RETRY_MS >= self.give_up_at => {}
                // The fetching node went down: its user goes to another node, which starts over.
                Err(_) if !sim.alive(r.node) => {
                    self.fetchers_replaced += 1;
                    self.jobs[i].todo.clear();
                    self.jobs[i].asking = 0;
                    self.start_fetch(sim, i);
                }
                _ => {
                    self.retries += 1;
                    let root = self.jobs[i].root.clone().expect("a fetched file has a root");
                    let at = sim.now() + RETRY_MS;
                    let id = sim.node_command_at(r.node, node::Command::Fetch { root, cid: cid.clone() }, at);
                    self.asked.insert((r.node, id), (i, cid));
                    self.jobs[i].asking += 1;
                }
            }
        }
    }

    pub fn summary(&self) -> FilesSummary {
        let ok: Vec<&Job> = self.jobs.iter().filter(|j| j.result == Some(true)).collect();
        FilesSummary {
            files: self.jobs.len(),
            identical: ok.len(),
            corrupt: self.jobs.iter().filter(|j| j.result == Some(false)).count(),
            retries: self.retries,
            fetchers_replaced: self.fetchers_replaced,
            time_ms: Percentiles::of(ok.iter().map(|j| (j.done_at - j.started_at) as f64).collect()),
            bytes: self.jobs.iter().map(|j| j.data.len() as u64).sum(),
        }
    }
}
