//! Simulator scenarios with fixed seeds (`SIM_SEED` overrides the seed, `SIM_SEEDS` the sweep
//! size). Every failure prints the report and the command that replays it.
#![allow(clippy::unwrap_used, unreachable_pub)] // a test: a failed unwrap is a failed test

use proto_core::dht::{Command, Key, Record, Reply};
use proto_core::identity::Identity;
use sim::{run_scenario, Report, Scenario, Sim, SimConfig};

fn seed(default: u64) -> u64 {
    std::env::var("SIM_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

fn run(s: &Scenario) -> Report {
    let r = run_scenario(s);
    assert!(r.violations.is_empty(), "checker violations:\n{r}");
    println!("{r}\n");
    r
}

#[test]
fn same_seed_same_trace_other_seed_other_trace() {
    let s = Scenario {
        nodes: 150,
        seed: seed(3),
        lookups: 100,
        loss: 0.05,
        churn: 0.1,
        providers: 3,
        records: 3,
        ..Scenario::default()
    };
    let a = run_scenario(&s);
    let b = run_scenario(&s);
    assert_eq!(a.trace_hash, b.trace_hash, "one seed must replay exactly");
    assert_eq!((a.events, a.messages, a.lookups_ok), (b.events, b.messages, b.lookups_ok));
    let c = run_scenario(&Scenario { seed: s.seed + 1, ..s });
    assert_ne!(a.trace_hash, c.trace_hash);
}

#[test]
fn ten_thousand_nodes_no_faults() {
    let r = run(&Scenario { nodes: 10_000, seed: seed(7), lookups: 10_000, ..Scenario::default() });
    assert_eq!(r.lookups, 10_000);
    assert_eq!(r.lookups_ok, r.lookups, "every lookup succeeds\n{r}");
    assert!(r.rounds.p50 <= 3.0 && r.rounds.p99 <= 5.0, "rounds\n{r}");
    assert!(r.closest_lookups >= 900 && r.closest_exact * 100 >= r.closest_lookups * 99, "true k closest\n{r}");
}

#[test]
fn ten_thousand_nodes_loss_and_crashes() {
    let r = run(&Scenario {
        nodes: 10_000,
        seed: seed(7),
        lookups: 10_000,
        loss: 0.10,
        crash: 0.20,
        ..Scenario::default()
    });
    assert!(r.lookups > 5_000, "most lookups ran\n{r}");
    assert!(r.success_rate() >= 0.99, "≥ 99 % under 10 % loss and 20 % crashed\n{r}");
}

#[test]
fn providers_survive_a_day_of_churn() {
    let r = run(&Scenario {
        nodes: 300,
        seed: seed(11),
        lookups: 200,
        churn: 0.20,
        providers: 30,
        records: 10,
        duration_ms: 24 * 3_600_000,
        refresh_interval_ms: 3_600_000,
        ..Scenario::default()
    });
    assert_eq!(r.provider_found, r.provider_checks, "every provided key is found after 24 h\n{r}");
    for (t, found, asked) in &r.availability_over_time {
        assert_eq!(found, asked, "providers available at {t} ms\n{r}");
    }
    assert_eq!(r.record_found, r.record_checks, "every record is found\n{r}");
}

#[test]
fn partition_heals() {
    let r = run(&Scenario {
        nodes: 400,
        seed: seed(5),
        lookups: 400,
        partition: true,
        providers: 10,
        ..Scenario::default()
    });
    assert_eq!(r.provider_found, r.provider_checks, "{r}");
    assert!(r.success_rate() > 0.5, "{r}");
}

#[test]
fn records_are_never_served_past_their_eol() {
    let mut sim = Sim::new(SimConfig { seed: seed(9), ..SimConfig::default() });
    for i in 0..60 {
        sim.add_node();
        if i > 0 {
            let p = sim.peer_info(0);
            sim.command(i, Command::Bootstrap(vec![p]));
        }
    }
    sim.run_until_idle(600_000);
    let author = Identity::from_seed([4; 32]);
    let eol = sim.unix_of(3) + 10 * 60_000;
    let rec = Record::sign(&author, b"short-lived", b"v".to_vec(), 1, eol);
    let key = rec.key;
    sim.command(3, Command::PutRecord(rec));
    sim.run_until_idle(sim.now() + 60_000);
    sim.command(40, Command::GetRecord(key));
    sim.run_until_idle(sim.now() + 60_000);
    assert!(matches!(sim.outcomes.last().unwrap().reply, Ok(Reply::Record(Some(_)))), "found before its EOL");
    sim.run_until(sim.now() + 15 * 60_000);
    for asker in [3, 40, 59] {
        sim.command(asker, Command::GetRecord(key));
        sim.run_until_idle(sim.now() + 60_000);
        assert!(matches!(sim.outcomes.last().unwrap().reply, Ok(Reply::Record(None))), "not served after its EOL");
    }
    assert!(sim.violations.is_empty(), "{:?}", sim.violations);
}

#[test]
fn sweep_of_random_faults_passes_every_checker() {
    let n: u64 = std::env::var("SIM_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(200);
    let first = seed(1000);
    for s in first..first + n {
        // Swarm testing: the seed picks the fault mix too.
        let mut r = proto_core::rng::Seed::from_u64(s).rng();
        let sc = Scenario {
            nodes: 20 + r.below(40) as usize,
            seed: s,
            loss: r.below(30) as f64 / 100.0,
            duplicate: r.below(10) as f64 / 100.0,
            churn: r.below(30) as f64 / 100.0,
            crash: r.below(20) as f64 / 100.0,
            lookups: 30,
            duration_ms: 5 * 60_000,
            providers: 2,
            records: 2,
            partition: r.chance(0.3),
            clock_skew_ms: r.below(5_000),
            refresh_interval_ms: 60_000,
            ..Scenario::default()
        };
        let rep = run_scenario(&sc);
        assert!(rep.violations.is_empty(), "seed {s} broke a checker:\n{rep}\nreplay: SIM_SEED={s} SIM_SEEDS=1 cargo test -p sim --test scenarios sweep");
    }
}

#[test]
fn hostile_bytes_are_reported_not_fatal() {
    use proto_core::dht::{Config, Dht, Event, Input, Output, PeerInfo, Restored};
    use proto_core::time::{Mono, Now, UnixMs};
    let now = Now { mono: Mono(1), unix: UnixMs(1_700_000_000_000) };
    let me = PeerInfo { id: Key([1; 20]), addrs: vec![proto_core::dht::Addr(vec![1])] };
    let mut d = Dht::new(Config::default(), me, proto_core::rng::Seed::from_u64(1), Restored::default(), now);
    let evil = Key([9; 20]);
    let mut inputs: Vec<Vec<u8>> = vec![vec![], vec![0xff; 10], vec![0x82, 0x01, 0x40], vec![0; 70_000]];
    // A well-formed envelope carrying an answer to a request we never made.
    let pkt = proto_core::dht::Packet { addrs: vec![], msg: proto_core::dht::Msg::Pong { rid: 77 } };
    inputs.push(proto_core::wire::Envelope::encode(proto_core::wire::Proto::Dht, pkt.encode()));
    let count = inputs.len();
    for bytes in inputs {
        d.handle_input(now, Input::Received { from: evil, bytes });
    }
    let mut faults = 0;
    while let Some(o) = d.poll_output() {
        if matches!(o, Output::Event(Event::PeerFaulted { .. })) {
            faults += 1;
        }
    }
    assert_eq!(faults, count);
    assert_eq!(d.table_len(), 0, "a faulty peer is not added");
}
