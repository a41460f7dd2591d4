//! The standard workload behind `leither sim` and the tests: join N nodes, then run lookups,
//! provider and record traffic under the chosen faults, and check everything at the end.

use crate::files::Files;
use crate::net::{Fault, Machine, Outcome, Sim, SimConfig};
use crate::report::{Percentiles, Report};
use proto_core::dht::{Command, Key, Record, Reply};
use proto_core::identity::Identity;

#[derive(Clone, Debug)]
pub struct Scenario {
    pub nodes: usize,
    pub seed: u64,
    /// Message loss during the measured phase.
    pub loss: f64,
    pub duplicate: f64,
    /// Fraction of nodes that crash at random times and restart after 10 min – 3 h.
    pub churn: f64,
    /// Fraction of nodes that crash for good a third of the way into the run.
    pub crash: f64,
    pub lookups: usize,
    /// Length of the measured phase (ms of simulated time).
    pub duration_ms: u64,
    /// Keys provided at the start and looked for at the end.
    pub providers: usize,
    /// Signed records put at the start and read at the end.
    pub records: usize,
    /// Split the network in two for the middle third of the run.
    pub partition: bool,
    pub clock_skew_ms: u64,
    pub refresh_interval_ms: u64,
    /// What each node runs; runs with files always use whole nodes.
    pub machine: Machine,
    /// Files added on random nodes over the run and fetched by others (whole nodes).
    pub files: usize,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            nodes: 1000,
            seed: 1,
            loss: 0.0,
            duplicate: 0.0,
            churn: 0.0,
            crash: 0.0,
            lookups: 1000,
            duration_ms: 10 * 60 * 1000,
            providers: 0,
            records: 0,
            partition: false,
            clock_skew_ms: 0,
            refresh_interval_ms: 15 * 60 * 1000,
            machine: Machine::Dht,
            files: 0,
        }
    }
}

impl Scenario {
    /// The machine the run uses: whole nodes when there are files to fetch.
    pub fn machine(&self) -> Machine {
        if self.files > 0 {
            Machine::Node
        } else {
            self.machine
        }
    }

    /// The command line that replays this run.
    pub fn replay(&self) -> String {
        format!(
            "SIM_SEED={} leither sim --nodes {} --seed {} --loss {} --duplicate {} --churn {} --crash {} --lookups {} --duration {}s --refresh {}s --providers {} --records {}{}{}",

            self.seed,
            self.nodes,
            self.seed,
            self.loss,
            self.duplicate,
            self.churn,
            self.crash,
            self.lookups,
            self.duration_ms / 1000,
            self.refresh_interval_ms / 1000,
            self.providers,
            self.records,
            if self.partition { " --partition" } else { "" },
            match (self.files, self.machine) {
                (0, Machine::Dht) => String::new(),
                (0, Machine::Node) => " --machine node".to_string(),
                (n, _) => format!(" --files {n}"),
            }
        )
    }
}

/// Provider availability is sampled this many times during the run.
const SAMPLES: u64 = 6;

/// Runs the scenario to the end and reports.
pub fn run_scenario(s: &Scenario) -> Report {
    let mut cfg = SimConfig {
        seed: s.seed,
        machine: s.machine(),
        clock_skew_ms: s.clock_skew_ms,
        duplicate: s.duplicate,
        ..SimConfig::default()
    };
    cfg.dht.refresh_interval_ms = s.refresh_interval_ms;
    let mut sim = Sim::new(cfg);

    // Join: node i bootstraps from a random earlier node, 2 ms apart.
    sim.join(s.nodes);
    let start = sim.now() + 1_000;
    let end = start + s.duration_ms;
    sim.run_until(start);
    sim.set_loss(s.loss);

    // Faults.
    if s.crash > 0.0 {
        let n = (s.nodes as f64 * s.crash) as usize;
        let at = start + s.duration_ms / 3;
        for _ in 0..n {
            let v = sim.work_rng.below(s.nodes as u64) as usize;
            sim.schedule(at, Fault::Crash(v));
        }
    }
    if s.churn > 0.0 {
        let n = (s.nodes as f64 * s.churn) as usize;
        for _ in 0..n {
            let v = sim.work_rng.below(s.nodes as u64) as usize;
            let down = start + sim.work_rng.below(s.duration_ms.max(1));
            let up = down + 600_000 + sim.work_rng.below(3 * 3_600_000 - 600_000);
            sim.schedule(down, Fault::Crash(v));
            if up < end {
                sim.schedule(up, Fault::Restart(v));
            }
        }
    }
    if s.partition {
        // Two halves of the key space.
        let groups = (0..sim.len()).map(|i| u32::from(sim.id(i).0[0] >> 7)).collect();
        sim.schedule(start + s.duration_ms / 3, Fault::Partition(groups));
        sim.schedule(start + 2 * s.duration_ms / 3, Fault::Repair);
    }

    // Files added over the run, each fetched soon after by another node; a fetch not done when
    // the run has settled has failed.
    let settle = end + 120_000;
    let mut files = Files::new(s.seed, s.files, start, end, settle);

    // Provider keys and records, put at the start.
    let mut provided = Vec::new();
    for i in 0..s.providers {
        let node = sim.work_rng.below(s.nodes as u64) as usize;
        let key = Key(sim.work_rng.bytes());
        sim.command_at(node, Command::Provide(key), start + i as u64);
        provided.push((node, key));
    }
    let mut records = Vec::new();
    for i in 0..s.records {
        let node = sim.work_rng.below(s.nodes as u64) as usize;
        let author = Identity::from_seed(sim.work_rng.bytes());
        let eol = sim.unix_of(node) + s.duration_ms + 3_600_000;
        let r = Record::sign(&author, format!("rec-{i}").as_bytes(), vec![i as u8; 64], 1, eol);
        records.push(r.key);
        sim.command_at(node, Command::PutRecord(r), start + i as u64);
    }

    // Lookups spread over the run, from random nodes for random nodes; every tenth asks for the
    // k closest to a random key instead (checked against the oracle).
    let lookups_from = sim.outcomes.len();
    for i in 0..s.lookups {
        let at = start + s.duration_ms * i as u64 / s.lookups.max(1) as u64;
        let from = sim.work_rng.below(s.nodes as u64) as usize;
        let t = sim.work_rng.below(s.nodes as u64) as usize;
        let target = sim.id(t);
        sim.command_at(from, Command::FindPeer(target), at);
        if i % 10 == 0 {
            let key = Key(sim.work_rng.bytes());
            sim.command_at(from, Command::FindClosest(key), at);
        }
    }
    // Provider availability sampled over the run: every provided key, from a random node.
    let mut samples = Vec::new();
    if !provided.is_empty() {
        for q in 1..=SAMPLES {
            let at = start + s.duration_ms * q / (SAMPLES + 1);
            files.run_until(&mut sim, at);
            let first = sim.outcomes.len();
            let live = sim.live_nodes();
            for (_, key) in &provided {
                let from = live[sim.work_rng.below(live.len() as u64) as usize];
                sim.command(from, Command::GetProviders(*key));
            }
            samples.push((at - start, first));
        }
    }
    files.run_until(&mut sim, end);

    // At the end: look for every provided key and record from random live nodes.
    let checks_from = sim.outcomes.len();
    let live = sim.live_nodes();
    for (_, key) in &provided {
        let from = live[sim.work_rng.below(live.len() as u64) as usize];
        sim.command(from, Command::GetProviders(*key));
    }
    for key in &records {
        let from = live[sim.work_rng.below(live.len() as u64) as usize];
        sim.command(from, Command::GetRecord(*key));
    }
    files.run_until(&mut sim, settle);
    sim.run_until_idle(settle + 600_000);

    let is_lookup = |o: &&Outcome| matches!(o.command, Command::FindPeer(_)) && o.target_live && o.ran;
    let closest: Vec<&Outcome> =
        sim.outcomes[lookups_from..].iter().filter(|o| matches!(o.command, Command::FindClosest(_)) && o.ran).collect();
    let availability_over_time = samples
        .iter()
        .map(|&(t, _)| {
            let asked: Vec<&Outcome> = sim.outcomes[lookups_from..]
                .iter()
                .filter(|o| matches!(o.command, Command::GetProviders(_)) && o.ran && o.issued_at == start + t)
                .collect();
            let found = asked.iter().filter(|o| o.ok).count();
            (t, found, asked.len())
        })
        .collect();
    let lookups: Vec<&Outcome> = sim.outcomes[lookups_from..].iter().filter(is_lookup).collect();
    let checks = &sim.outcomes[checks_from..];
    let stats = |f: fn(&Outcome) -> Option<f64>| Percentiles::of(lookups.iter().filter_map(|o| f(o)).collect());
    Report {
        nodes: s.nodes,
        seed: s.seed,
        loss: s.loss,
        churn: s.churn,
        crashed: s.crash,
        lookups: lookups.len(),
        lookups_ok: lookups.iter().filter(|o| o.ok).count(),
        rounds: stats(|o| o.rounds.map(f64::from)),
        rpcs: stats(|o| o.rpcs.map(f64::from)),
        latency_ms: stats(|o| Some(o.latency_ms as f64)),
        closest_lookups: closest.len(),
        closest_exact: closest.iter().filter(|o| o.ok).count(),
        availability_over_time,
        provider_checks: checks.iter().filter(|o| matches!(o.command, Command::GetProviders(_))).count(),
        provider_found: checks.iter().filter(|o| matches!(o.command, Command::GetProviders(_)) && o.ok).count(),
        record_checks: checks.iter().filter(|o| matches!(o.command, Command::GetRecord(_))).count(),
        record_found: checks.iter().filter(|o| matches!(&o.reply, Ok(Reply::Record(Some(_))))).count(),
        violations: sim.violations.clone(),
        faults_reported: sim.faults_reported,
        messages: sim.messages,
        events: sim.events,
        virtual_ms: sim.now(),
        wall_ms: None,
        files: (s.files > 0).then(|| files.summary()),
        machine: s.machine(),
        sessions: sim.sessions,
        broken_conns: sim.broken_conns,
        trace_hash: sim.trace_hash(),
        replay: s.replay(),
    }
}
