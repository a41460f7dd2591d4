//! `leither sim`: the deterministic simulator's front end.

use crate::args::SimArgs;
use crate::client::CliError;
use sim::kad_sim::{run_kad, KadScenario};
use sim::{run_scenario, Machine, Scenario};
use std::time::Instant;

/// Parses `600s`, `10m`, `24h`, `1500ms` or plain seconds into milliseconds.
pub(crate) fn parse_duration(s: &str) -> Result<u64, CliError> {
    let bad = || CliError(format!("cannot read the duration \"{s}\" (use e.g. 600s, 10m, 24h)"));
    let (num, mul) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1_000)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60_000)
    } else if let Some(n) = s.strip_suffix('h') {
        (n, 3_600_000)
    } else {
        (s, 1_000)
    };
    let v: f64 = num.trim().parse().map_err(|_| bad())?;
    if !(v.is_finite() && v >= 0.0) {
        return Err(bad());
    }
    Ok((v * mul as f64) as u64)
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

pub(crate) fn sim(a: SimArgs) -> Result<(), CliError> {
    for (name, p) in [("--loss", a.loss), ("--duplicate", a.duplicate), ("--churn", a.churn), ("--crash", a.crash)] {
        if !(0.0..=1.0).contains(&p) {
            return Err(CliError(format!("{name} is a fraction between 0 and 1, not {p}")));
        }
    }
    if a.nodes < 2 {
        return Err(CliError("--nodes must be at least 2".into()));
    }
    let first = a.seed.or_else(|| env_u64("SIM_SEED")).unwrap_or(1);
    let count = a.seeds.or_else(|| env_u64("SIM_SEEDS")).unwrap_or(1).max(1);
    let machine = match a.machine.as_deref() {
        None | Some("dht") if a.files == 0 => Machine::Dht,
        None | Some("node") => Machine::Node,
        Some("kad") if a.files == 0 => return sim_kad(&a, first, count),
        Some("dht" | "kad") => {
            return Err(CliError("--files runs on whole nodes: leave out --machine".into()));
        }
        Some(m) => return Err(CliError(format!("--machine is dht, node or kad, not \"{m}\""))),
    };
    let base = Scenario {
        nodes: a.nodes,
        seed: first,
        loss: a.loss,
        duplicate: a.duplicate,
        churn: a.churn,
        crash: a.crash,
        lookups: a.lookups,
        duration_ms: parse_duration(&a.duration)?,
        providers: a.providers,
        records: a.records,
        partition: a.partition,
        clock_skew_ms: 0,
        refresh_interval_ms: parse_duration(&a.refresh)?.max(1_000),
        machine,
        files: a.files,
    };
    run_seeds(first, count, |seed| {
        let s = Scenario { seed, ..base.clone() };
        let t = Instant::now();
        let mut r = run_scenario(&s);
        r.wall_ms = Some(t.elapsed().as_millis() as u64);
        (r.to_string(), (!r.violations.is_empty()).then(|| s.replay()))
    })
}

/// Runs seeds `first..first + count`, each giving its report and, when a checker broke, its
/// replay command; prints the reports and fails naming every replay.
fn run_seeds(first: u64, count: u64, one: impl Fn(u64) -> (String, Option<String>)) -> Result<(), CliError> {
    let mut failed = Vec::new();
    for seed in first..first + count {
        let (report, replay) = one(seed);
        println!("{report}");
        if count > 1 {
            println!();
        }
        failed.extend(replay);
    }
    if !failed.is_empty() {
        return Err(CliError(format!("{} run(s) broke a checker; replay with: {}", failed.len(), failed.join(" ; "))));
    }
    Ok(())
}

/// `--machine kad`: the IPFS Kademlia machines (loss, churn, lookups, providers, duration).
fn sim_kad(a: &SimArgs, first: u64, count: u64) -> Result<(), CliError> {
    let base = KadScenario {
        nodes: a.nodes,
        seed: first,
        loss: a.loss,
        churn: a.churn,
        lookups: a.lookups,
        providers: a.providers,
        duration_ms: parse_duration(&a.duration)?,
        ..KadScenario::default()
    };
    run_seeds(first, count, |seed| {
        let s = KadScenario { seed, ..base.clone() };
        let t = Instant::now();
        let mut r = run_kad(&s);
        r.wall_ms = Some(t.elapsed().as_millis() as u64);
        (r.to_string(), (!r.violations.is_empty()).then(|| s.replay()))
    })
}
