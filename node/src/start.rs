//! Starting a node, the same on every runtime: open the repo, start the peer network (the one
//! thing the runtime supplies), the database service and the HTTP services around it, then wait
//! for `Shutdown` and stop them in order. OS entropy is read here and nowhere else.

use crate::compose::Services;
use crate::methods::node::NodeInfo;
use crate::peer::{NetStart, Network};
use proto_core::identity::Identity;
use std::sync::{mpsc, Arc, Mutex};
use storage::repo::Repo;

/// How a runtime is asked to run a node (the CLI's `run`).
pub struct RunOptions {
    pub repo: std::path::PathBuf,
    /// Overrides the config's HTTP address (e.g. `127.0.0.1:0` in tests).
    pub http_addr: Option<String>,
    /// Overrides the peer listen port (0 = any free port).
    pub peer_port: Option<u16>,
    /// Extra bootstrap multiaddrs for this run.
    pub bootstrap: Vec<String>,
    /// Overrides the config's RESP address (`127.0.0.1:0` in tests, `""` = none).
    pub resp_addr: Option<String>,
}

pub type NodeError = Box<dyn std::error::Error + Send + Sync>;

/// What a started node tells its caller (the CLI prints it).
pub struct Started {
    pub node_id: String,
    pub api: String,
    /// Where Redis clients connect, when the endpoint runs.
    pub resp: Option<String>,
}

/// 32 bytes of OS entropy (key generation, tokens, session ids, the core's seed).
pub fn entropy() -> [u8; 32] {
    let mut b = [0u8; 32];
    // No entropy source means no safe key: stopping is the only correct answer.
    getrandom::fill(&mut b).expect("the OS entropy source failed");
    b
}

/// Runs a node until `Shutdown` is called; `start_net` is the runtime's peer network, and
/// `on_start` is told the node's id and API address.
pub fn run(
    opts: RunOptions,
    start_net: fn(NetStart) -> std::io::Result<Network>,
    on_start: impl FnOnce(&Started),
) -> Result<(), NodeError> {
    let repo = Repo::new(&opts.repo);
    let opened = repo.open_node(entropy)?;
    let node_id = opened.identity.node_id().to_string();
    let store = Arc::new(opened.store);
    // The store's limit, and the collector that keeps it there (config.json `storage`).
    let collector = crate::methods::repo::start_collector(store.clone(), opened.config.storage.clone())?;
    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    let stop_tx = Mutex::new(stop_tx);
    let info = NodeInfo {
        node_id: node_id.clone(),
        node_pk: opened.identity.public_key(),
        version: env!("CARGO_PKG_VERSION"),
        repo: opts.repo.display().to_string(),
    };
    let addr = opts.http_addr.clone().unwrap_or_else(|| opened.config.http_addr.clone());
    let resp_addr = opts.resp_addr.clone().unwrap_or_else(|| opened.config.resp_addr.clone());
    let mut config = opened.config.network.node_config();
    // The session cipher for this CPU, from ring.
    crate::net::ciphers::tune(&mut config);
    let network = start_net(NetStart {
        config,
        identity: Identity::from_seed(opened.identity.seed()),
        listen_on: opened.config.peer_socket(&addr, opts.peer_port)?,
        bootstrap: opened.config.bootstrap_addrs(&opts.bootstrap)?,
        store: store.clone(),
        seed: entropy(),
        ipfs: opened.config.ipfs.enabled.then(|| opened.config.ipfs.clone()),
    })?;
    let services = Services {
        store: store.clone(),
        info,
        net: network.handle.clone(),
        on_head: &network.on_head,
        seed: opened.identity.seed(),
        token: opened.token,
        http_addr: &addr,
        http: opened.config.http.clone(),
        users: opened.config.users.clone(),
        storage: opened.config.storage.clone(),
        entropy,
        db: Arc::new(opened.db),
        db_sync_interval_ms: opened.config.db.sync_interval_ms,
        resp_addr: &resp_addr,
    };
    let db = services.start_db()?;
    let running = services.start(Some(db.clone()), move || {
        if let Ok(tx) = stop_tx.lock() {
            let _ = tx.send(());
        }
    })?;
    let api = running.api_url();
    repo.write_daemon_info(std::process::id(), &api)?;
    let resp = db.resp_addr.map(|a| a.to_string());
    on_start(&Started { node_id, api, resp });

    // Block until Shutdown. Give the worker a moment to finish sending its reply.
    let _ = stop_rx.recv();
    std::thread::sleep(std::time::Duration::from_millis(50));
    running.shutdown();
    db.stop();
    collector.stop();
    network.join();
    repo.clear_daemon_info();
    drop(opened.lock);
    Ok(())
}
