//! MiMei publication in the simulator (issue 5): 200 nodes, 20 providers, 50 versions under 5 %
//! loss and a partition that heals; a forging node; a conflicting second device.
#![allow(clippy::unwrap_used, unreachable_pub)] // a test: a failed unwrap is a failed test

use sim::mimei::{run_mimei, MimeiScenario};

#[test]
fn providers_hold_the_newest_version_after_the_partition_heals() {
    let s = MimeiScenario::default();
    let r = run_mimei(&s);
    println!("{r:?}");
    assert_eq!(r.current, s.providers, "{r:?}");
    // Bounded: at most one DHT poll period (plus delivery) after the last publication.
    assert!(r.settled_ms.is_some_and(|t| t <= s.poll_ms + 1_000), "{r:?}");
    assert_eq!(r.forged_taken, 0, "{r:?}");
    assert!(r.forged_rejected > 0, "the forger's heads reached providers and were refused: {r:?}");
    assert!(r.conflicts_reported > 0, "{r:?}");
}

#[test]
fn without_faults_every_provider_reports_the_conflict() {
    let s = MimeiScenario { loss: 0.0, partitioned: 0, ..MimeiScenario::default() };
    let r = run_mimei(&s);
    assert_eq!(r.current, s.providers, "{r:?}");
    assert_eq!(r.conflicts_reported, s.providers, "{r:?}");
    assert_eq!(r.forged_taken, 0, "{r:?}");
}

#[test]
fn same_seed_same_run() {
    let s = MimeiScenario { nodes: 60, providers: 8, versions: 15, ..MimeiScenario::default() };
    assert_eq!(run_mimei(&s), run_mimei(&s));
    assert_ne!(run_mimei(&s).trace, run_mimei(&MimeiScenario { seed: 2, ..s.clone() }).trace);
}

#[test]
fn seed_sweep() {
    for seed in 0..20 {
        let s =
            MimeiScenario { seed, nodes: 60, providers: 8, versions: 30, partitioned: 3, ..MimeiScenario::default() };
        let r = run_mimei(&s);
        assert_eq!(r.current, s.providers, "seed {seed}: {r:?}");
        assert_eq!(r.forged_taken, 0, "seed {seed}: {r:?}");
    }
}

#[test]
fn on_whole_nodes_notices_go_over_sessions_and_nodes_refuse_forged_heads() {
    let s = MimeiScenario { machine: sim::Machine::Node, ..MimeiScenario::default() };
    let r = run_mimei(&s);
    println!("{r:?}");
    assert_eq!(r.current, s.providers, "{r:?}");
    assert!(r.settled_ms.is_some_and(|t| t <= s.poll_ms + 1_000), "{r:?}");
    assert_eq!(r.forged_taken, 0, "{r:?}");
    assert!(r.faults_reported > 0, "the heads signed by the forger for the author's MiMei were refused: {r:?}");
    assert!(r.conflicts_reported > 0, "{r:?}");
}
