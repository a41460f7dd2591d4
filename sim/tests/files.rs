//! Whole nodes in the simulator: files fetched through block exchange over simulated sessions
//! and compared byte for byte, under loss and churn; lookups on whole nodes; two nodes dialing
//! each other at once. `SIM_SEED` overrides the seeds.

use proto_core::dht::{Command, Reply};
use sim::{run_scenario, Machine, Report, Scenario, Sim, SimConfig};

fn seed(default: u64) -> u64 {
    std::env::var("SIM_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

fn files_run(loss: f64, churn: f64) -> Report {
    let s = Scenario { nodes: 500, files: 50, seed: seed(9), loss, churn, ..Scenario::default() };
    let r = run_scenario(&s);
    println!("{r}\n");
    assert!(r.violations.is_empty(), "checker violations:\n{r}");
    r
}

#[test]
fn fifty_files_fetched_byte_identical() {
    let r = files_run(0.0, 0.0);
    let f = r.files.clone().expect("a run with files reports them");
    assert_eq!((f.files, f.identical, f.corrupt), (50, 50, 0), "{r}");
    assert!(f.bytes > 10 << 20, "multi-block files were fetched: {r}");
    assert_eq!(r.lookups_ok, r.lookups, "lookups on whole nodes\n{r}");
    assert!(r.sessions > 1_000, "every node set up sessions: {r}");
}

#[test]
fn files_survive_loss_and_churn_and_one_seed_replays_exactly() {
    let a = files_run(0.05, 0.1);
    let f = a.files.clone().expect("files");
    assert!(f.identical >= 49 && f.corrupt == 0, "at least 49 of 50 files under 5 % loss and 10 % churn\n{a}");
    assert!(a.broken_conns > 0 && f.retries > 0, "loss broke connections and fetches were retried\n{a}");
    let b = files_run(0.05, 0.1);
    assert_eq!(a.trace_hash, b.trace_hash, "one seed must replay exactly");
    assert_eq!((a.events, a.messages, a.files, a.lookups_ok), (b.events, b.messages, b.files, b.lookups_ok));
}

#[test]
fn whole_node_runs_depend_on_their_seed() {
    let s = Scenario { nodes: 40, files: 4, lookups: 40, seed: seed(3), duration_ms: 60_000, ..Scenario::default() };
    let a = run_scenario(&s);
    assert_eq!(a.files.as_ref().map(|f| f.identical), Some(4), "{a}");
    assert_eq!(run_scenario(&s).trace_hash, a.trace_hash);
    assert_ne!(run_scenario(&Scenario { seed: s.seed + 1, ..s }).trace_hash, a.trace_hash);
}

#[test]
fn dht_on_whole_nodes_finds_peers_providers_and_records_across_a_partition() {
    let r = run_scenario(&Scenario {
        nodes: 200,
        seed: seed(5),
        lookups: 300,
        partition: true,
        providers: 10,
        records: 5,
        machine: Machine::Node,
        ..Scenario::default()
    });
    println!("{r}");
    assert!(r.violations.is_empty(), "{r}");
    assert_eq!(r.provider_found, r.provider_checks, "{r}");
    assert_eq!(r.record_found, r.record_checks, "{r}");
    assert!(r.success_rate() > 0.5, "{r}");
    assert!(r.broken_conns > 0, "the partition broke connections: {r}");
}

#[test]
fn two_nodes_dialing_each_other_at_once_keep_one_connection() {
    let mut sim = Sim::new(SimConfig { seed: seed(1), machine: Machine::Node, ..SimConfig::default() });
    let (a, b) = (sim.add_node(), sim.add_node());
    let (pa, pb) = (sim.peer_info(a), sim.peer_info(b));
    sim.command(a, Command::Bootstrap(vec![pb]));
    sim.command(b, Command::Bootstrap(vec![pa]));
    sim.run_until(10_000);
    assert_eq!(sim.sessions, 2, "both dials became sessions");
    for o in &sim.outcomes {
        assert!(matches!(o.reply, Ok(Reply::Bootstrapped { peers: 1 })), "{:?}", o.reply);
    }
    assert_eq!((sim.connections(a), sim.connections(b)), (vec![b], vec![a]), "one of the two is kept, by both");
}
