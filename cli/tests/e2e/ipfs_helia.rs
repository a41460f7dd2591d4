//! A leither node as a peer of real helia 7 (js-libp2p) nodes on loopback: helia dials the node
//! (identify, ping), bitswap both ways, and the IPFS DHT on `/ipfs/kad/1.0.0`: helia finds the
//! node with FIND_NODE and the node finds helia; content the node provides is found by a helia
//! that is connected only to another helia, which then fetches it from the node.

use crate::harness::{bytes, http, peer_addr, Node};
use crate::ipfs_peers::{HeliaOpts, HeliaPeer};

fn peer_id(n: &Node) -> String {
    n.ok(&["lpki", "id"]).split_whitespace().nth(1).unwrap().to_string()
}

fn p2p_addr(n: &Node) -> String {
    format!("{}/p2p/{}", peer_addr(n), peer_id(n))
}

#[test]
fn helia_dials_the_node_identifies_and_pings() {
    let dir = tempfile::tempdir().unwrap();
    let n = Node::start();
    let h = HeliaPeer::start(&dir.path().join("h"), HeliaOpts::default());
    let c = h.connect(&p2p_addr(&n)).unwrap();
    assert_eq!(c.id, peer_id(&n));
    assert!(c.in_dht, "the node serves /ipfs/kad/1.0.0 and is in helia's routing table");
    let id = h.identify(&peer_id(&n)).unwrap();
    assert!(id.agent.starts_with("leither/"), "helia read the node's agent: {id:?}");
    for p in ["/ipfs/id/1.0.0", "/ipfs/ping/1.0.0", "/ipfs/bitswap/1.2.0", "/ipfs/kad/1.0.0"] {
        assert!(id.protocols.iter().any(|x| x == p), "the node lists {p}: {:?}", id.protocols);
    }
    assert!(id.listen_addrs.iter().any(|a| *a == peer_addr(&n)), "{:?}", id.listen_addrs);
    assert!(h.ping(&peer_id(&n)).unwrap() >= 0.0);
    // The node sees helia with its agent, and pings it too.
    let peers = n.ok(&["swarm", "peers"]);
    let line = peers.lines().find(|l| l.starts_with(&h.id)).unwrap_or_else(|| panic!("{peers}"));
    assert!(line.contains("helia") || line.contains("js-libp2p"), "{line}");
    assert!(n.ok(&["swarm", "ping", &h.id]).starts_with("pong from"));
}

#[test]
fn bitswap_both_ways_with_helia() {
    let dir = tempfile::tempdir().unwrap();
    let n = Node::start();
    let h = HeliaPeer::start(&dir.path().join("h"), HeliaOpts::default());
    h.connect(&p2p_addr(&n)).unwrap();
    // The node's file, fetched by helia.
    let data = bytes(5 << 20, 31);
    let f = dir.path().join("from-node");
    std::fs::write(&f, &data).unwrap();
    let cid = n.add(&f);
    let dest = dir.path().join("got");
    assert_eq!(h.cat(&cid, &dest, 60).unwrap(), data.len() as u64);
    assert!(std::fs::read(&dest).unwrap() == data, "helia got the node's file byte-identical");
    // Helia's file (same chunking as kubo: the same CID the node would make), fetched by the
    // node's gateway.
    let theirs = bytes(3 << 20, 32);
    let f = dir.path().join("from-helia");
    std::fs::write(&f, &theirs).unwrap();
    let cid = h.add(&f).unwrap();
    let r = http(&n.addr(), "GET", &format!("/ipfs/{cid}"), &[], b"");
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.body == theirs, "the node's gateway serves helia's file byte-identical");
}

#[test]
fn the_ipfs_dht_with_helia() {
    let dir = tempfile::tempdir().unwrap();
    let n = Node::start();
    let a = HeliaPeer::start(&dir.path().join("a"), HeliaOpts::default());
    let b = HeliaPeer::start(&dir.path().join("b"), HeliaOpts::default());
    // a knows the node and b; b knows only a.
    a.connect(&p2p_addr(&n)).unwrap();
    assert!(b.connect(&a.maddr()).unwrap().in_dht);
    // b finds the node through a's DHT (FIND_NODE on /ipfs/kad/1.0.0). js-kad-dht pings a new
    // peer before its routing table takes it, so b's first query may still see an empty
    // table ("running query with no peers"): ask again then.
    let mut found = Vec::new();
    for _ in 0..20 {
        match b.findpeer(&peer_id(&n), 20) {
            Ok(f) => {
                found = f;
                break;
            }
            Err(e) if e.contains("NotFound") => std::thread::sleep(std::time::Duration::from_millis(100)),
            Err(e) => panic!("{e}"),
        }
    }
    assert!(found.iter().any(|x| x.starts_with(&peer_addr(&n))), "helia found the node: {found:?}");
    // The node finds b through a.
    // Until a has identified b, a knows b only by the port b dialed from; ask again then.
    let listed = |out: &str| out.lines().any(|l| b.addrs.iter().any(|x| x.starts_with(l)));
    let mut out = n.ok(&["dht", "findpeer", &b.id]);
    for _ in 0..20 {
        if listed(&out) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        out = n.ok(&["dht", "findpeer", &b.id]);
    }
    assert!(listed(&out), "the node found helia b at its listen address: {out}");
    // Content the node provides is found by b, which fetches it from the node.
    let data = bytes(2 << 20, 33);
    let f = dir.path().join("f");
    std::fs::write(&f, &data).unwrap();
    let cid = n.add(&f);
    let out = n.ok(&["dht", "provide", &cid]);
    assert!(out.starts_with(&format!("provided {cid}")), "{out}");
    let provs = b.findprovs(&cid, 20).unwrap();
    assert!(provs.iter().any(|p| p.id == peer_id(&n)), "b found the node as a provider: {provs:?}");
    let dest = dir.path().join("got");
    assert_eq!(b.cat(&cid, &dest, 60).unwrap(), data.len() as u64);
    assert!(std::fs::read(&dest).unwrap() == data);
    // A provider record helia stores on the node is served by the node: b provides, the node
    // (which a and b both reach) returns b.
    let theirs = bytes(100_000, 34);
    std::fs::write(&f, &theirs).unwrap();
    let cid = b.add(&f).unwrap();
    b.provide(&cid, 20).unwrap();
    let out = n.ok(&["dht", "findprovs", &cid]);
    assert!(out.lines().any(|l| l == b.id), "the node lists helia b as a provider: {out}");
}
