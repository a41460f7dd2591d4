use crate::net;
use ::node::methods::node::NodeInfo;
use proto_core::identity::Identity;
use std::sync::{mpsc, Arc, Mutex};
use storage::repo::Repo;

pub use ::node::compose::{entropy, NodeError, RunOptions, Started};

/// Runs a node until `Shutdown` is called. `on_start` is told the node's id and API address.
pub fn run(opts: RunOptions, on_start: impl FnOnce(&Started)) -> Result<(), NodeError> {
    let repo = Repo::new(&opts.repo);
    let opened = repo.open_node(entropy)?;
    let node_id = opened.identity.node_id().to_string();
    let store = Arc::new(opened.store);
    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    let stop_tx = Mutex::new(stop_tx);
    let info = NodeInfo {
        node_id: node_id.clone(),
        version: env!("CARGO_PKG_VERSION"),
        repo: opts.repo.display().to_string(),
    };
    let addr = opts.http_addr.clone().unwrap_or_else(|| opened.config.http_addr.clone());
    let resp_addr = opts.resp_addr.clone().unwrap_or_else(|| opened.config.resp_addr.clone());
    let boot = opened.config.bootstrap_addrs(&opts.bootstrap)?;
    let peer_addr = opened.config.peer_socket(&addr, opts.peer_port)?;
    let network = net::start(
        {
            // The session cipher for this CPU, from ring.
            let mut c = opened.config.network.node_config();
            ::node::net::ciphers::tune(&mut c);
            c
        },
        Identity::from_seed(opened.identity.seed()),
        peer_addr,
        boot,
        store.clone(),
        entropy(),
    )?;
    let services = ::node::compose::Services {
        store: store.clone(),
        info,
        net: network.handle.clone(),
        on_head: &network.handle.on_head,
        seed: opened.identity.seed(),
        token: opened.token,
        http_addr: &addr,
        http: opened.config.http.clone(),
        users: opened.config.users.clone(),
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
    network.join();
    repo.clear_daemon_info();
    drop(opened.lock);
    Ok(())
}
