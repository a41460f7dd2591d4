//! Methods about the node itself: `GetVar`, `Id`, `Shutdown`.

use crate::api::{ApiError, Registry};
use serde_json::{json, Value};

pub struct NodeInfo {
    pub node_id: String,
    pub version: &'static str,
    pub repo: String,
}

/// The full method table of a node: node methods plus IPFS methods.
pub fn registry<B: crate::Backend>(
    store: std::sync::Arc<B>,
    info: NodeInfo,
    shutdown: impl Fn() + Send + Sync + 'static,
) -> Registry {
    let mut reg = Registry::default();
    crate::ipfs_methods::register(&mut reg, store);
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
