//! Methods about the node itself: `GetVar`, `Id`, `Shutdown`.

use crate::methods::mimei::MoreVars;
use crate::net::NetHandle;
use gateway::api::{ApiError, Registry};
use proto_core::cid::Cid;
use proto_core::node::Command;
use serde_json::{json, Value};
use std::sync::Arc;

pub struct NodeInfo {
    pub node_id: String,
    /// The node's public key.
    pub node_pk: [u8; 32],
    pub version: &'static str,
    pub repo: String,
}

/// The full method table of a node: node methods, IPFS methods and, with a network, the
/// swarm and DHT methods. `users` rations registrations and password hashing.
#[allow(clippy::too_many_arguments)]
pub fn registry<B: crate::Backend>(
    store: Arc<B>,
    info: NodeInfo,
    net: Option<Arc<dyn NetHandle>>,
    seed: [u8; 32],
    entropy: fn() -> [u8; 32],
    db: Option<Arc<crate::db::DbService>>,
    users: crate::methods::session::UserSettings,
    limits: &storage::repo_storage::StorageSettings,
    shutdown: impl Fn() + Send + Sync + 'static,
) -> Registry {
    let mut reg = Registry::default();
    let node_key = Arc::new(proto_core::identity::Identity::from_seed(seed));
    let people = Arc::new(crate::methods::users::Users::new(store.clone(), node_key, users.clone()));
    crate::methods::users::register(&mut reg, &people);
    let sessions = crate::methods::session::Sessions::new(info.node_id.clone(), entropy).with_users(store.clone());
    let sessions = Arc::new(sessions.with_settings(users).with_keyring(people.clone()));
    let mail = Arc::new(crate::methods::mailbox::Mailbox::default());
    crate::methods::session::register(&mut reg, sessions.clone(), mail.clone());
    crate::methods::session::register_sign(&mut reg, seed);
    crate::methods::session::register_user_info(&mut reg, sessions.clone());
    reg.sessions = Some(sessions);
    // Every stored add announces its root on the DHT, without making the add wait for it.
    let announce = net.clone().map(|n| {
        Arc::new(move |cid: Cid| {
            let n = n.clone();
            let key = proto_core::dht::content_key(&cid);
            let _ = std::thread::Builder::new().name("provide".into()).spawn(move || {
                let _ = n.call(Command::Dht(proto_core::dht::Command::Provide(key)));
                // And on the IPFS DHT, by the root's multihash as kubo announces it.
                let _ = crate::methods::ipfs_net::provide(&*n, &cid);
            });
        }) as Arc<dyn Fn(Cid) + Send + Sync>
    });
    let wipe = db.clone().map(|d| {
        Arc::new(move |mid: &proto_core::mimei::Mid| {
            d.submit(&crate::db::prefix(mid, 0), vec![vec![b"FLUSHDB".to_vec()]]).map(|_| ()).map_err(|f| f.0)
        }) as crate::methods::mimei::DbWipe
    });
    crate::methods::mimei::register(&mut reg, store.clone(), &people, net.clone(), entropy, wipe);
    let files = crate::methods::files::register(&mut reg, store.clone(), net.clone(), limits.max_read_bytes);
    let file_sessions = crate::methods::mfile::FileSessions::new(
        store.clone(),
        std::path::Path::new(&info.repo),
        entropy,
        people.clone(),
        limits.max_open_files as usize,
    );
    crate::methods::mfile::register(&mut reg, &file_sessions, &files, limits.max_read_bytes);
    reg.files = Some(file_sessions.clone());
    if let Some(db) = db {
        let fs = Some(file_sessions.clone());
        crate::methods::db::register(&mut reg, store.clone(), db, people.clone(), entropy, announce.clone(), mail, fs);
    }
    let (store_for_vars, net_for_vars) = (store.clone(), net.clone());
    crate::methods::ipfs_dag::register(&mut reg, store.clone(), net.clone());
    crate::methods::repo::register(&mut reg, store.clone());
    crate::methods::ipfs::register(&mut reg, store, announce, net.clone(), people.clone());
    if let Some(n) = net {
        crate::methods::dht_values::register(&mut reg, n.clone(), seed);
        crate::methods::net::register(&mut reg, n);
    }
    let more = crate::methods::mimei::more_vars(store_for_vars, net_for_vars);
    let vars = crate::methods::vars::NodeVars {
        node_id: info.node_id.clone(),
        node_pk: info.node_pk,
        seed,
        version: info.version,
        repo: info.repo.clone().into(),
        users: people.clone(),
    };
    register(&mut reg, info, Some(more), Some(vars), shutdown);
    reg
}

/// `shutdown` is called once the reply has been produced; the runtime then stops the node.
pub fn register(
    reg: &mut Registry,
    info: NodeInfo,
    more: Option<MoreVars>,
    vars: Option<crate::methods::vars::NodeVars>,
    shutdown: impl Fn() + Send + Sync + 'static,
) {
    let (id, ver, pk) = (info.node_id.clone(), info.version, info.node_pk);
    reg.register("GetVar", false, move |call| {
        let name = call.str_arg(0, "variable name")?.to_ascii_lowercase();
        Ok(match name.as_str() {
            "ver" => Value::String(ver.to_string()),
            "nodeid" => Value::String(id.clone()),
            "nodepk" => Value::String(proto_core::multibase::base64url_encode(&pk)),
            // The session's user; the node's owner when the local token is used.
            "userid" => Value::String(call.user.clone().unwrap_or_default()),
            n => match vars.as_ref().and_then(|v| v.get(n, &call.args[1..], &call)) {
                Some(answer) => answer?,
                // Unknown names give an empty string, as the original does.
                None => {
                    more.as_ref().and_then(|f| f(n, &call.args[1..])).unwrap_or_else(|| Value::String(String::new()))
                }
            },
        })
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
