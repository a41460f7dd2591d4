//! Methods about the node itself: `GetVar`, `Id`, `Shutdown`.

use crate::api::{ApiError, Registry};
use crate::net_methods::NetHandle;
use proto_core::cid::Cid;
use proto_core::node::Command;
use serde_json::{json, Value};
use std::sync::Arc;

pub struct NodeInfo {
    pub node_id: String,
    pub version: &'static str,
    pub repo: String,
}

/// The full method table of a node: node methods, IPFS methods and, with a network, the
/// swarm and DHT methods.
pub fn registry<B: crate::Backend>(
    store: Arc<B>,
    info: NodeInfo,
    net: Option<Arc<dyn NetHandle>>,
    seed: [u8; 32],
    entropy: fn() -> [u8; 32],
    shutdown: impl Fn() + Send + Sync + 'static,
) -> Registry {
    let mut reg = Registry::default();
    let sessions = Arc::new(crate::session::Sessions::new(info.node_id.clone(), entropy));
    crate::session::register(&mut reg, sessions.clone());
    reg.sessions = Some(sessions);
    // Every stored add announces its root on the DHT, without making the add wait for it.
    let announce = net.clone().map(|n| {
        Arc::new(move |cid: Cid| {
            let n = n.clone();
            let key = proto_core::dht::content_key(&cid);
            let _ = std::thread::Builder::new().name("provide".into()).spawn(move || {
                let _ = n.call(Command::Dht(proto_core::dht::Command::Provide(key)));
            });
        }) as Arc<dyn Fn(Cid) + Send + Sync>
    });
    crate::mimei_methods::register(&mut reg, store.clone(), seed, net.clone(), entropy);
    crate::ipfs_methods::register(&mut reg, store, announce);
    if let Some(n) = net {
        crate::net_methods::register(&mut reg, n);
    }
    register(&mut reg, info, shutdown);
    reg
}

/// `shutdown` is called once the reply has been produced; the runtime then stops the node.
pub fn register(reg: &mut Registry, info: NodeInfo, shutdown: impl Fn() + Send + Sync + 'static) {
    let (id, ver) = (info.node_id.clone(), info.version);
    reg.register("GetVar", false, move |call| {
        let name = call.str_arg(0, "variable name")?;
        // Unknown names give an empty string, as the original does.
        Ok(Value::String(match name.to_ascii_lowercase().as_str() {
            "ver" => ver.to_string(),
            "nodeid" => id.clone(),
            _ => String::new(),
        }))
    });
    reg.register("Id", false, move |_| Ok(json!({"id": info.node_id, "version": info.version, "repo": info.repo})));
    reg.register("Shutdown", true, move |call| {
        if !call.args.is_empty() {
            return Err(ApiError::bad_request("Shutdown takes no arguments"));
        }
        shutdown();
        Ok(Value::String("stopping".into()))
    });
}
