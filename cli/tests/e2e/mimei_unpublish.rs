//! `mimei unpublish`: a newer record without a head replaces the published one, so other nodes
//! find nothing to show or sync until the author publishes again; `mimei unprovide`.

use crate::harness::{peer_addr, Node};

#[test]
fn an_unpublished_mimei_is_gone_from_the_network_until_published_again() {
    let work = tempfile::tempdir().unwrap();
    let a = Node::start();
    let b = Node::start_with(&[peer_addr(&a)]);
    let c = Node::start_with(&[peer_addr(&a)]);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let f = work.path().join("f");
    std::fs::write(&f, b"published\n").unwrap();
    let out = a.ok(&["mimei", "create", "-m", "withdrawn"]);
    let mid = out.lines().find_map(|l| l.strip_prefix("mid= ")).unwrap().to_string();
    a.ok(&["mimei", "add", &mid, f.to_str().unwrap()]);
    a.ok(&["mimei", "publish", &mid]);
    assert!(b.ok(&["mimei", "show", &mid]).contains("from net"));
    assert_eq!(a.ok(&["mimei", "unpublish", &mid]), format!("MiMeiUnpublish mids= [{mid}]\nMiMeiUnpublish ok\n"));
    let out = b.cli(&["mimei", "sync", &mid]);
    assert!(!out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stderr), format!("error: MiMei {mid} is not published on the network\n"));
    let out = c.cli(&["mimei", "show", &mid]);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!("error: MiMei {mid} is neither here nor on the network\n")
    );
    assert_eq!(a.ok(&["mimei", "unprovide", &mid]), "MiMeiUnprovide ok (it was not provided)\n");
    // Published again: a newer record than the withdrawal, and the MiMei is back.
    a.ok(&["mimei", "publish", &mid]);
    c.ok(&["mimei", "sync", &mid]);
    assert_eq!(c.ok(&["mimei", "get", &mid]), "published\n");
    assert_eq!(a.ok(&["mimei", "unprovide", &mid]), "MiMeiUnprovide ok\n");
}
