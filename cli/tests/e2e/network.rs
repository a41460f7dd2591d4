//! Real node processes on loopback finding each other through the DHT.

use crate::harness::*;

/// Runs `f` until `ok` holds or 10 s pass (joins take longer on a loaded machine); returns the
/// last output for the assertion that follows.
fn eventually(f: impl Fn() -> String, ok: impl Fn(&str) -> bool) -> String {
    let t0 = std::time::Instant::now();
    loop {
        let out = f();
        if ok(&out) || t0.elapsed() > std::time::Duration::from_secs(10) {
            return out;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// Every node in `from` looks up every node in `to`; returns the failures.
fn find_all(from: &[&Node], to: &[(String, String)]) -> Vec<String> {
    std::thread::scope(|s| {
        let handles: Vec<_> = from
            .iter()
            .map(|n| {
                s.spawn(move || {
                    let mut bad = Vec::new();
                    for (id, addr) in to {
                        if *id == n.id {
                            continue;
                        }
                        let (status, body) = api(&n.addr(), "DhtFindPeer", &format!("[\"\", \"{id}\"]"), None);
                        if status != 200 || !body.contains(addr.as_str()) {
                            bad.push(format!("{} → {id}: {status} {body}", n.id));
                        }
                    }
                    bad
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    })
}

#[test]
fn twenty_nodes_find_each_other_and_survive_five_crashes() {
    let first = Node::start();
    let boot = peer_addr(&first);
    let mut nodes = vec![first];
    for _ in 1..20 {
        nodes.push(Node::start_with(std::slice::from_ref(&boot)));
    }
    // Joining is a lookup of one's own id; give the last ones a moment.
    std::thread::sleep(std::time::Duration::from_millis(500));
    let ids: Vec<(String, String)> = nodes.iter().map(|n| (n.id.clone(), peer_addr(n))).collect();
    let refs: Vec<&Node> = nodes.iter().collect();
    let bad = find_all(&refs, &ids);
    assert!(bad.is_empty(), "{} of 380 lookups failed:\n{}", bad.len(), bad.join("\n"));

    // 100 MiB added on node 1 downloads byte-identical from node 20's gateway.
    let work = tempfile::tempdir().unwrap();
    let f = work.path().join("hundred.bin");
    let data = bytes(100 << 20, 7);
    std::fs::write(&f, &data).unwrap();
    let cid = nodes[1].add(&f);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let r = http(&nodes[19].addr(), "GET", &format!("/ipfs/{cid}"), &[], b"");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(sha256_hex(&r.body), sha256_hex(&data), "byte-identical");
    // The download's buffers went back to the system (they once stayed in the heaps).
    std::thread::sleep(std::time::Duration::from_millis(300));
    let kib = nodes[19].rss_anon_kib();
    eprintln!("fetching node's anonymous memory after the download: {kib} KiB");
    assert!(kib < 32 << 10, "the fetching node keeps {kib} KiB of heap after a 100 MiB download");

    // Kill five (not the bootstrap node) with SIGKILL; the rest still find each other.
    for n in nodes.iter_mut().skip(3).step_by(4).take(5) {
        n.kill9();
    }
    let live: Vec<&Node> = nodes.iter().filter(|n| n.child.is_some()).collect();
    assert_eq!(live.len(), 15);
    let live_ids: Vec<(String, String)> = live.iter().map(|n| (n.id.clone(), peer_addr(n))).collect();
    let bad = find_all(&live, &live_ids);
    assert!(bad.is_empty(), "{} lookups failed after the crashes:\n{}", bad.len(), bad.join("\n"));
    for n in nodes.into_iter().filter(|n| n.child.is_some()) {
        n.stop();
    }
}

#[test]
fn swarm_commands_and_provider_records() {
    let a = Node::start();
    let boot = peer_addr(&a);
    let b = Node::start_with(std::slice::from_ref(&boot));
    let c = Node::start_with(std::slice::from_ref(&boot));
    std::thread::sleep(std::time::Duration::from_millis(300));
    let local = a.ok(&["swarm", "local"]);
    assert_eq!(local.trim(), boot);
    let addrs = eventually(|| b.ok(&["swarm", "addrs"]), |o| o.contains(&format!("{} (1)\n\t{boot}\n", a.id)));
    assert!(addrs.contains(&format!("{} (1)\n\t{boot}\n", a.id)), "{addrs}");
    let peers = b.ok(&["swarm", "peers"]);
    assert!(peers.contains(&a.id), "{peers}");
    let c_addr = peer_addr(&c);
    let found = eventually(|| b.ok(&["dht", "findpeer", &c.id]), |o| o.trim() == c_addr);
    assert_eq!(found.trim(), c_addr);

    let work = tempfile::tempdir().unwrap();
    let f = work.path().join("x");
    std::fs::write(&f, b"provided by a\n").unwrap();
    let cid = a.add(&f);
    let out = a.ok(&["dht", "provide", &cid]);
    assert!(out.starts_with(&format!("provided {cid} to ")), "{out}");
    let provs = eventually(|| c.ok(&["dht", "findprovs", &cid]), |o| o.starts_with(&a.id));
    assert!(provs.starts_with(&a.id), "{provs}");

    // Bad input: an unknown id, a malformed id, a bad multiaddr.
    let out = b.cli(&["dht", "findpeer", "AAAAAAAAAAAAAAAAAAAAAAAAAAA"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not found"));
    // Ids are base64url: one starting with '-' is an id, not an option.
    let out = b.cli(&["dht", "findpeer", "-AAAAAAAAAAAAAAAAAAAAAAAAAA"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("not found"), "{}", String::from_utf8_lossy(&out.stderr));
    let out = b.cli(&["dht", "findpeer", "short"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid node id"));
    let out = b.cli(&["swarm", "connect", "/ip4/1.2.3/tcp/1"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid multiaddr"));

    b.ok(&["swarm", "disconnect", &a.id]);
    for n in [a, b, c] {
        n.stop();
    }
}

#[test]
fn content_added_on_one_node_downloads_from_another_despite_a_corrupting_provider() {
    let a = Node::start();
    let boot = vec![peer_addr(&a)];
    let honest = Node::start_with(&boot);
    let liar = Node::start_env(&boot, &[("LEITHER_TEST_CORRUPT_BLOCKS", "1")]);
    let fetcher = Node::start_with(&boot);
    let work = tempfile::tempdir().unwrap();
    let f = work.path().join("hundred.bin");
    let data = bytes(100 << 20, 42);
    std::fs::write(&f, &data).unwrap();

    // Only the liar has it: nothing it sends is accepted, so the download fails cleanly.
    let small = work.path().join("small.bin");
    std::fs::write(&small, bytes(600_000, 5)).unwrap();
    let only_liar = liar.add(&small);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let r = http(&fetcher.addr(), "GET", &format!("/ipfs/{only_liar}"), &[], b"");
    assert_eq!(r.status, 404, "corrupted blocks must never be served: {}", r.text());

    // Both have the big file: the download completes byte for byte from the honest one.
    let cid = honest.add(&f);
    assert_eq!(liar.add(&f), cid);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let r = http(&fetcher.addr(), "GET", &format!("/ipfs/{cid}"), &[], b"");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.body.len(), data.len());
    assert_eq!(sha256_hex(&r.body), sha256_hex(&data), "byte-identical");
    // And now it is served locally, with the node stopped for nothing.
    honest.stop();
    liar.stop();
    let again = http(&fetcher.addr(), "GET", &format!("/ipfs/{cid}"), &[("Range", "bytes=0-99")], b"");
    assert_eq!(again.body, &data[..100]);
    fetcher.stop();
    a.stop();
}

#[test]
fn hostile_peers_are_dropped_and_others_keep_being_served() {
    use std::io::{Read, Write};
    let a = Node::start();
    let boot = vec![peer_addr(&a)];
    let b = Node::start_with(&boot);
    let c = Node::start_with(&boot);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let target = peer_addr(&a).trim_start_matches("/ip4/").replace("/tcp/", ":");

    // Garbage instead of a handshake, an oversized frame, and a flood of idle connections.
    let mut garbage = std::net::TcpStream::connect(&target).unwrap();
    garbage.write_all(&[0, 0, 0, 5, 1, 2, 3, 4, 5]).unwrap();
    let mut oversize = std::net::TcpStream::connect(&target).unwrap();
    oversize.write_all(&u32::MAX.to_be_bytes()).unwrap();
    let flood: Vec<std::net::TcpStream> = (0..300).filter_map(|_| std::net::TcpStream::connect(&target).ok()).collect();
    for s in [&mut garbage, &mut oversize] {
        s.set_read_timeout(Some(std::time::Duration::from_secs(5))).unwrap();
        let mut buf = [0u8; 64];
        // The node closes the offender: a read ends (0 bytes or an error), it does not hang.
        assert!(matches!(s.read(&mut buf), Ok(0) | Err(_)), "offender not dropped");
    }
    // Meanwhile the others still use it.
    assert_eq!(b.ok(&["dht", "findpeer", &c.id]).trim(), peer_addr(&c));
    let (status, _) = api(&a.addr(), "SwarmPeers", "[]", None);
    assert_eq!(status, 200);
    drop(flood);
    for n in [a, b, c] {
        n.stop();
    }
}
