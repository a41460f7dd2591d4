//! A node's libp2p peer id (`12D3KooW…`) names it wherever its 27-character id does: printed by
//! `lpki id`, accepted by `dht findpeer`, in `/p2p/…` suffixes of `swarm connect` and bootstrap
//! entries, where the handshake must reach exactly that node.

use crate::harness::*;

/// `lpki id`'s two names of the node.
fn names(n: &Node) -> (String, String) {
    let out = n.ok(&["lpki", "id"]);
    let mut it = out.split_whitespace();
    let (short, peer) = (it.next().unwrap().to_string(), it.next().unwrap().to_string());
    assert_eq!(it.next(), None, "{out}");
    (short, peer)
}

#[test]
fn a_peer_id_names_the_node_in_connect_findpeer_and_bootstrap() {
    let a = Node::start();
    let b = Node::start();
    let (a_short, a_peer) = names(&a);
    let (b_short, b_peer) = names(&b);
    assert_eq!((a_short.as_str(), b_short.as_str()), (a.id.as_str(), b.id.as_str()));
    for p in [&a_peer, &b_peer] {
        assert!(p.starts_with("12D3KooW") && p.len() == 52, "{p}");
    }
    assert_ne!(a_peer, b_peer);

    // The right peer id: connected, and the peer is listed by its id.
    let b_addr = peer_addr(&b);
    let out = a.ok(&["swarm", "connect", &format!("{b_addr}/p2p/{b_peer}")]);
    assert!(out.contains(&b.id), "{out}");
    assert!(a.ok(&["swarm", "peers"]).contains(&b.id));
    // Looked up by either name, the same node and address.
    assert_eq!(a.ok(&["dht", "findpeer", &b_peer]).trim(), b_addr);
    assert_eq!(a.ok(&["dht", "findpeer", &b.id]).trim(), b_addr);

    // The address of one node with the peer id of another: refused, saying who answered.
    let c = Node::start();
    let out = c.cli(&["swarm", "connect", &format!("{b_addr}/p2p/{a_peer}")]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("dialed {} but reached {}", a.id, b.id)), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(!c.ok(&["swarm", "peers"]).contains(&b.id));
    // An RSA peer id (kubo's `Qm…`) goes to the libp2p side, whose handshake finds the node's
    // own key instead: refused, saying who answered.
    let rsa = "QmcZf59bWwK5XFi76CZX8cbJ4BhTzzA3gU1ZjYZcYW3dwt";
    let out = c.cli(&["swarm", "connect", &format!("{b_addr}/p2p/{rsa}")]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("dialed {rsa} but reached {b_peer}")), "{err}");
    let out = c.cli(&["dht", "findpeer", "12D3KooWnot-base58"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("invalid node id"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A bootstrap entry with the peer id joins through that node.
    let d = Node::start_with(&[format!("{b_addr}/p2p/{b_peer}")]);
    let found = (0..100)
        .map(|_| {
            std::thread::sleep(std::time::Duration::from_millis(100));
            d.ok(&["swarm", "peers"])
        })
        .find(|p| p.contains(&b.id));
    assert!(found.is_some(), "d joined through b");
    for n in [a, b, c, d] {
        n.stop();
    }
}
