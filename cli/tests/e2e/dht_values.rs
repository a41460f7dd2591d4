//! `dht put|get`: a value signed by the node that put it, read on another node; a later put
//! replaces it.

use crate::harness::{api, peer_addr, Node};

#[test]
fn a_value_put_on_one_node_is_read_on_another() {
    let a = Node::start();
    let b = Node::start_with(&[peer_addr(&a)]);
    let c = Node::start_with(&[peer_addr(&a)]);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let out = a.ok(&["dht", "put", "greeting", "hello there"]);
    let key = out.split_whitespace().next().unwrap().to_string();
    assert_eq!(key.len(), 27, "{out}");
    assert_eq!(b.ok(&["dht", "get", &key]), "hello there\n");
    assert_eq!(a.ok(&["dht", "get", "greeting"]), "hello there\n", "a node's own key by name");
    std::thread::sleep(std::time::Duration::from_millis(5));
    assert!(a.ok(&["dht", "put", "greeting", "second"]).starts_with(&key), "the same record key");
    assert_eq!(c.ok(&["dht", "get", &key]), "second\n");
    let (status, body) = api(&b.addr(), "DhtGetValue", r#"["", "greeting"]"#, None);
    assert_eq!(status, 404, "b has no value of its own under that name: {body}");
    let (_, body) = api(&b.addr(), "DhtGetValue", &format!(r#"["", "{key}"]"#), None);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["result"]["Author"], a.id, "signed by the node that put it");
    // Writing needs the owner; an empty key is refused with the reason.
    let (status, _) = api(&b.addr(), "DhtPutValue", r#"["", "k", "v"]"#, None);
    assert_eq!(status, 401);
    let out = a.cli(&["dht", "put", "", "v"]);
    assert_eq!(String::from_utf8_lossy(&out.stderr), "error: a key has 1 to 256 bytes\n");
}
