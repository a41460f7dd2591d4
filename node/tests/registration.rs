//! `Register` and `Login(name, pass)` are rationed: per source address and per node in any hour,
//! a switch that turns registration off, and a cap on argon2 hashes at once (with the real
//! argon2 cost, 19 MiB and 2 passes).
#![allow(clippy::unwrap_used, unreachable_pub)] // a test: a failed unwrap is a failed test

use gateway::api::{ApiError, Caller, Registry};
use node::methods::session::{Sessions, UserSettings};
use proto_core::store::MemStore;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

fn node(settings: UserSettings) -> (Arc<Registry>, Arc<Sessions>) {
    let store = Arc::new(MemStore::default());
    let sessions = Arc::new(Sessions::new("n".into(), node::start::entropy).with_users(store).with_settings(settings));
    let mut reg = Registry::default();
    node::methods::session::register(&mut reg, sessions.clone(), Default::default());
    reg.sessions = Some(sessions.clone());
    (Arc::new(reg), sessions)
}

fn from(ip: &str) -> Caller {
    Caller { token: false, remote: Some(ip.parse().unwrap()) }
}

fn register(reg: &Registry, name: &str, ip: &str) -> Result<Value, ApiError> {
    reg.dispatch("Register", vec![json!(name), json!("secret pass"), json!("")], &from(ip), None, BTreeMap::new())
}

fn login(reg: &Registry, name: &str, ip: &str) -> Result<Value, ApiError> {
    reg.dispatch("Login", vec![json!(name), json!("secret pass")], &from(ip), None, BTreeMap::new())
}

fn status(r: Result<Value, ApiError>) -> (u16, String) {
    match r {
        Ok(v) => (200, v.to_string()),
        Err(e) => (e.status, e.message),
    }
}

const FROM_ADDRESS: &str = "too many registrations from this address; try again later";
const ON_NODE: &str = "too many registrations on this node; try again later";
const BUSY: &str = "the node is busy hashing passwords; try again";

#[test]
fn the_eleventh_registration_from_one_address_is_refused() {
    let (reg, _) = node(UserSettings::default());
    for i in 0..10 {
        assert!(register(&reg, &format!("u{i}"), "192.0.2.1").is_ok(), "registration {i}");
    }
    assert_eq!(status(register(&reg, "u10", "192.0.2.1")), (429, FROM_ADDRESS.into()));
    // The same address written as IPv4-mapped IPv6 is the same source.
    assert_eq!(status(register(&reg, "u10", "::ffff:192.0.2.1")), (429, FROM_ADDRESS.into()));
    // Another address still registers, and the refused name was not taken.
    assert!(register(&reg, "u10", "192.0.2.2").is_ok());
    assert!(login(&reg, "u10", "192.0.2.1").is_ok());
}

#[test]
fn an_ipv6_source_is_its_slash_64() {
    let (reg, _) = node(UserSettings { registers_per_source_per_hour: 1, ..Default::default() });
    assert!(register(&reg, "a", "2001:db8:1:2::1").is_ok());
    assert_eq!(status(register(&reg, "b", "2001:db8:1:2:ffff::9")), (429, FROM_ADDRESS.into()));
    assert!(register(&reg, "b", "2001:db8:1:3::1").is_ok());
}

#[test]
fn the_node_allowance_counts_every_source() {
    let (reg, _) = node(UserSettings { registers_per_node_per_hour: 3, ..Default::default() });
    for i in 0..3 {
        assert!(register(&reg, &format!("u{i}"), &format!("198.51.100.{i}")).is_ok());
    }
    assert_eq!(status(register(&reg, "u3", "198.51.100.3")), (429, ON_NODE.into()));
}

#[test]
fn registration_turned_off_is_forbidden() {
    let (reg, _) = node(UserSettings { registration: false, ..Default::default() });
    assert_eq!(status(register(&reg, "alice", "192.0.2.1")), (403, "registration is turned off on this node".into()));
    // Also in the one-map form; and no account was made.
    let map = json!(r#"{"name": "alice", "pass": "secret pass"}"#);
    let r = reg.dispatch("Register", vec![map], &from("192.0.2.1"), None, BTreeMap::new());
    assert_eq!(status(r).0, 403);
    assert_eq!(status(login(&reg, "alice", "192.0.2.1")), (401, "wrong user name or password".into()));
}

#[test]
fn at_most_two_hash_at_once() {
    let settings = UserSettings { max_concurrent_hashes: 2, hash_wait_ms: 60_000, ..Default::default() };
    let (reg, sessions) = node(settings);
    let start = Arc::new(Barrier::new(8));
    let calls: Vec<_> = (0..8)
        .map(|i| {
            let (reg, start) = (reg.clone(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                register(&reg, &format!("u{i}"), &format!("203.0.113.{i}"))
            })
        })
        .collect();
    for c in calls {
        assert!(c.join().unwrap().is_ok());
    }
    let peak = sessions.hash_gate().peak();
    assert!((1..=2).contains(&peak), "{peak} hashes ran at once");
}

#[test]
fn callers_beyond_the_cap_wait_then_get_503() {
    let settings = UserSettings { max_concurrent_hashes: 2, hash_wait_ms: 0, ..Default::default() };
    let (reg, sessions) = node(settings);
    let start = Arc::new(Barrier::new(8));
    let calls: Vec<_> = (0..8)
        .map(|i| {
            let (reg, start) = (reg.clone(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                status(register(&reg, &format!("u{i}"), &format!("203.0.113.{i}")))
            })
        })
        .collect();
    let results: Vec<_> = calls.into_iter().map(|c| c.join().unwrap()).collect();
    let busy = results.iter().filter(|r| **r == (503, BUSY.to_string())).count();
    let ok = results.iter().filter(|r| r.0 == 200).count();
    assert_eq!(ok + busy, 8, "{results:?}");
    assert!(busy >= 1 && ok >= 1, "{results:?}");
    assert!(sessions.hash_gate().peak() <= 2);
}

#[test]
fn a_full_gate_makes_register_and_login_wait_then_refuse() {
    let settings = UserSettings {
        max_concurrent_hashes: 2,
        hash_wait_ms: 300,
        registers_per_node_per_hour: 2,
        ..Default::default()
    };
    let (reg, sessions) = node(settings);
    assert!(register(&reg, "alice", "192.0.2.1").is_ok());
    let held =
        [sessions.hash_gate().acquire(Duration::ZERO).unwrap(), sessions.hash_gate().acquire(Duration::ZERO).unwrap()];
    for _ in 0..3 {
        let t = Instant::now();
        assert_eq!(status(register(&reg, "bob", "192.0.2.2")), (503, BUSY.into()));
        let waited = t.elapsed();
        assert!(waited >= Duration::from_millis(300) && waited < Duration::from_secs(5), "{waited:?}");
    }
    assert_eq!(status(login(&reg, "alice", "192.0.2.1")), (503, BUSY.into()));
    drop(held);
    assert!(login(&reg, "alice", "192.0.2.1").is_ok());
    // The refused attempts did not use up the node's allowance of 2: one is left.
    assert!(register(&reg, "bob", "192.0.2.2").is_ok());
    assert_eq!(status(register(&reg, "carol", "192.0.2.3")), (429, ON_NODE.into()));
}
