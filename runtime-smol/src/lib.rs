//! The leither-rs node on smol. The HTTP server (`gateway::http`: its own event loop and
//! workers) runs on its own threads; the peer network and shutdown are async tasks.
#![forbid(unsafe_code)]

pub mod net;

pub mod node {
    use ::node::methods::node::NodeInfo;
    use std::sync::Arc;
    use storage::repo::Repo;

    pub use ::node::compose::{entropy, NodeError, RunOptions, Started};

    pub fn run(opts: RunOptions, on_start: impl FnOnce(&Started)) -> Result<(), NodeError> {
        let repo = Repo::new(&opts.repo);
        let opened = repo.open_node(entropy)?;
        let node_id = opened.identity.node_id().to_string();
        let store = Arc::new(opened.store);
        let (stop_tx, stop_rx) = smol::channel::bounded::<()>(1);
        let info = NodeInfo {
            node_id: node_id.clone(),
            version: env!("CARGO_PKG_VERSION"),
            repo: opts.repo.display().to_string(),
        };
        let addr = opts.http_addr.clone().unwrap_or_else(|| opened.config.http_addr.clone());
        let resp_addr = opts.resp_addr.clone().unwrap_or_else(|| opened.config.resp_addr.clone());
        let boot = opened.config.bootstrap_addrs(&opts.bootstrap)?;
        let peer_addr = opened.config.peer_socket(&addr, opts.peer_port)?;
        let identity = proto_core::identity::Identity::from_seed(opened.identity.seed());
        let network = crate::net::start(
            {
                // The session cipher for this CPU, from ring.
                let mut c = opened.config.network.node_config();
                ::node::net::ciphers::tune(&mut c);
                c
            },
            identity,
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
            let _ = stop_tx.try_send(());
        })?;
        let api = running.api_url();
        repo.write_daemon_info(std::process::id(), &api)?;
        let resp = db.resp_addr.map(|a| a.to_string());
        on_start(&Started { node_id, api, resp });
        smol::block_on(async {
            let _ = stop_rx.recv().await;
            smol::Timer::after(std::time::Duration::from_millis(50)).await;
        });
        running.shutdown();
        db.stop();
        network.join();
        repo.clear_daemon_info();
        drop(opened.lock);
        Ok(())
    }
}

pub use node::{run, NodeError, RunOptions, Started};
