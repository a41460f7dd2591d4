//! Every method that changes the node refuses callers without the API token or the owner's
//! session — no session, a guest's, a logged-out one — and the store is unchanged afterwards.
#![allow(clippy::unwrap_used, unreachable_pub)] // a test: a failed unwrap is a failed test

use gateway::api::Caller;
use proto_core::store::{MemStore, MimeiStore, PinStore};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

#[test]
fn write_methods_refuse_callers_without_rights() {
    let store = Arc::new(MemStore::default());
    let info = node::methods::node::NodeInfo { node_id: "n".into(), node_pk: [0; 32], version: "0", repo: "r".into() };
    let users = node::methods::session::UserSettings::default();
    let reg = node::methods::node::registry(
        store.clone(),
        info,
        None,
        [7; 32],
        || [9; 32],
        None,
        users,
        &Default::default(),
        || {},
    );
    let nobody = Caller { token: false, remote: None };
    let guest =
        reg.dispatch("Login", vec![], &nobody, None, BTreeMap::new()).unwrap()["Sid"].as_str().unwrap().to_string();
    let owner = Caller::node();
    let gone =
        reg.dispatch("Login", vec![], &nobody, None, BTreeMap::new()).unwrap()["Sid"].as_str().unwrap().to_string();
    reg.dispatch("Logout", vec![json!(gone)], &nobody, None, BTreeMap::new()).unwrap();

    let writes: Vec<&str> = reg.names().filter(|n| reg.get(n).is_some_and(|m| m.write)).collect();
    assert!(writes.len() >= 10, "write methods: {writes:?}");
    for name in &writes {
        for (who, args) in [
            ("no session", vec![json!(""), json!("x"), json!("y")]),
            ("an unknown session", vec![json!("x"), json!("y")]),
            ("a guest session", vec![json!(guest), json!("x"), json!("y")]),
        ] {
            let e = reg.dispatch(name, args, &nobody, None, BTreeMap::new()).expect_err(name);
            assert_eq!(e.status, 401, "{name} with {who}: {}", e.message);
        }
        let e = reg.dispatch(name, vec![json!(gone), json!("x")], &nobody, None, BTreeMap::new()).expect_err(name);
        assert_eq!(e.status, 401, "{name} with a logged-out session: {}", e.message);
    }
    assert!(store.list_mimeis().unwrap().is_empty() && store.pin_ls().unwrap().is_empty(), "nothing changed");
    // The same calls with the token get past the check (and fail, if at all, on their arguments).
    let e = reg.dispatch(
        "MMCreate",
        vec![json!(""), json!(""), json!(""), json!("m"), json!(2), json!(0)],
        &owner,
        None,
        BTreeMap::new(),
    );
    assert!(matches!(e, Ok(Value::String(_))), "{e:?}");
}
