//! Database replication in the simulator: replicas converge to the author's keyspace and digest
//! under loss, a partition and crashes; one seed is one run.
#![allow(clippy::unwrap_used, unreachable_pub)] // a test: a failed unwrap is a failed test

use sim::repl::{run_repl, ReplConfig};

#[test]
fn twenty_replicas_converge_under_loss_partition_and_crashes() {
    let cfg = ReplConfig::default();
    let r = run_repl(7, &cfg);
    println!("{r:?}");
    // Most generated commands are reads or refused (WRONGTYPE, bad arguments): no entry.
    assert!(r.author_seq > 500, "the author committed {} transactions", r.author_seq);
    assert_eq!(r.converged, cfg.replicas, "{r:?}");
    assert!(r.lost > 0 && r.wants > 0, "faults must have happened: {r:?}");
    assert!(r.snapshots > 0, "the partitioned replicas fall behind the log and need snapshots: {r:?}");
}

#[test]
fn a_long_log_needs_no_snapshot_after_short_outages() {
    let cfg = ReplConfig { keep: 100_000, partition: None, ..ReplConfig::default() };
    let r = run_repl(11, &cfg);
    assert_eq!(r.converged, cfg.replicas, "{r:?}");
    assert_eq!(r.snapshots, 0, "{r:?}");
}

#[test]
fn same_seed_same_run() {
    let cfg = ReplConfig { replicas: 5, writes: 300, ..ReplConfig::default() };
    assert_eq!(run_repl(3, &cfg), run_repl(3, &cfg));
    assert_ne!(run_repl(3, &cfg).trace, run_repl(4, &cfg).trace);
}

#[test]
fn two_hundred_seed_sweep() {
    let cfg = ReplConfig {
        replicas: 5,
        writes: 200,
        loss: 0.1,
        partition: Some((1_000, 3_000, 2)),
        crashes: 2,
        keep: 32,
        ..ReplConfig::default()
    };
    for seed in 0..200 {
        let r = run_repl(seed, &cfg);
        assert_eq!(r.converged, cfg.replicas, "SIM_SEED={seed}: {r:?}");
    }
}
