//! config.json's "users" section rations `Register` on a running node.

use crate::harness::*;

fn set_users(node: &Node, users: serde_json::Value) {
    let path = node.repo().join("config.json");
    let mut c: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    c["users"] = users;
    std::fs::write(&path, serde_json::to_vec_pretty(&c).unwrap()).unwrap();
}

#[test]
fn registration_follows_the_users_config() {
    let node = Node::start();
    set_users(&node, serde_json::json!({"registration": false, "registers_per_source_per_hour": 1}));
    let node = node.restart();
    let (status, body) = api(&node.addr(), "Register", r#"["alice", "secret pass", ""]"#, None);
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("registration is turned off on this node"), "{body}");
    set_users(&node, serde_json::json!({"registration": true, "registers_per_source_per_hour": 1}));
    let node = node.restart();
    let a = node.addr();
    let (status, body) = api(&a, "Register", r#"["alice", "secret pass", ""]"#, None);
    assert_eq!(status, 200, "{body}");
    let (status, body) = api(&a, "Register", r#"["bob", "secret pass", ""]"#, None);
    assert_eq!(status, 429, "{body}");
    assert!(body.contains("too many registrations from this address; try again later"), "{body}");
    let (status, body) = api(&a, "Login", r#"["alice", "secret pass"]"#, None);
    assert_eq!(status, 200, "{body}");
    node.stop();
}
