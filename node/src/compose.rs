//! The services around the core, the same on every runtime: the method registry with every
//! family of methods, following provided MiMeis (a new head starts a sync), the catch-up after a
//! start, the database service with its replication driver, and the HTTP server. `crate::start`
//! puts them together with the runtime's peer network.

use crate::execute::{HeadHook, NodeEvent};
use std::collections::BTreeMap;

/// The hook a node installs: a new head for a provided MiMei starts a sync at once, on its own
/// thread so the core's loop never waits for content.
pub fn sync_on_head(
    registry: std::sync::Arc<gateway::api::Registry>,
) -> Box<dyn Fn(proto_core::dht::Record) + Send + Sync> {
    Box::new(move |record| {
        let reg = registry.clone();
        let mid = proto_core::mimei::Mid(record.key).to_string();
        let _ = std::thread::Builder::new().name("mimei-sync".into()).spawn(move || {
            let caller = gateway::api::Caller::node();
            if let Err(e) = reg.dispatch(
                "MiMeiSync",
                vec!["".into(), "".into(), mid.clone().into()],
                &caller,
                None,
                BTreeMap::new(),
            ) {
                eprintln!("leither: following {mid}: {}", e.message);
            }
        });
    })
}

/// After a start: every MiMei held here that another node writes is synced once, so a provider
/// that was offline catches up with the versions published meanwhile.
pub fn catch_up<B: crate::Backend>(
    registry: std::sync::Arc<gateway::api::Registry>,
    store: std::sync::Arc<B>,
    me: [u8; 32],
    delay: std::time::Duration,
) {
    let _ = std::thread::Builder::new().name("mimei-catch-up".into()).spawn(move || {
        std::thread::sleep(delay);
        let Ok(all) = store.list_mimeis() else { return };
        let caller = gateway::api::Caller::node();
        for m in all.into_iter().filter(|m| !m.is_home(&me)) {
            let mid = m.mid().to_string();
            if let Err(e) = registry.dispatch(
                "MiMeiSync",
                vec!["".into(), "".into(), mid.clone().into()],
                &caller,
                None,
                BTreeMap::new(),
            ) {
                eprintln!("leither: catching up {mid}: {}", e.message);
            }
        }
    });
}

/// Everything a runtime starts around its peer network, the same on every runtime: the method
/// registry (with sessions, MiMei and network methods), following provided MiMeis, the catch-up
/// after a start, and the HTTP server.
pub struct Services<'a, B: crate::Backend> {
    pub store: std::sync::Arc<B>,
    pub info: crate::methods::node::NodeInfo,
    pub net: std::sync::Arc<dyn crate::net::NetHandle>,
    pub on_head: &'a HeadHook,
    /// The node's identity seed (it signs MiMei heads).
    pub seed: [u8; 32],
    pub token: String,
    pub http_addr: &'a str,
    /// The HTTP server's limits (config.json `http`).
    /// As config.json has them; checked when the server starts.
    pub http: serde_json::Value,
    /// Who may register accounts (config.json `users`).
    pub users: storage::repo::UserSettings,
    /// The store's limits (config.json `storage`): the file API's read size and open files.
    pub storage: storage::repo_storage::StorageSettings,
    pub entropy: fn() -> [u8; 32],
    /// The database store and its periodic flush interval.
    pub db: std::sync::Arc<storage::db::DbStore>,
    pub db_sync_interval_ms: u64,
    /// Where Redis clients connect; empty = no RESP endpoint.
    pub resp_addr: &'a str,
}

/// The node's default DB MiMei (what `SELECT 0` and the API's empty mid name): one per node,
/// made on first start.
pub fn default_db(
    store: &dyn proto_core::store::MimeiStore,
    me: &proto_core::identity::Identity,
) -> Result<proto_core::mimei::Mid, String> {
    use proto_core::mimei::{Info, Kind, Mimei};
    let info = Info { kind: Kind::Db, appid: String::new(), ext: String::new(), mark: "default".into() };
    let mid = info.mid(&me.public_key());
    if store.get_mimei(&mid)?.is_none() {
        store.put_mimei(&Mimei::new(
            me.public_key(),
            info,
            crate::db::engine::now_ms(),
            crate::methods::mimei::DEFAULT_RIGHT,
        ))?;
    }
    Ok(mid)
}

impl<B: crate::Backend> Services<'_, B> {
    /// Starts the database service (and its RESP endpoint unless the address is empty).
    pub fn start_db(&self) -> std::io::Result<std::sync::Arc<crate::db::DbService>> {
        let me = proto_core::identity::Identity::from_seed(self.seed);
        let default_mid = default_db(&*self.store, &me).map_err(std::io::Error::other)?;
        let store = self.store.clone();
        let me_key = me.public_key();
        let is_db: crate::db::server::IsDb = Box::new(move |mid| {
            Ok(store
                .get_mimei(mid)?
                .filter(|m| m.head.info.kind == proto_core::mimei::Kind::Db)
                .map(|m| m.is_home(&me_key)))
        });
        let (repl, rx) = crate::db::repl::channel_pair();
        let pusher = repl.clone();
        let (store, me_pk) = (self.store.clone(), me.public_key());
        let db = crate::db::DbService::start(crate::db::DbOptions {
            store: self.db.clone(),
            sync_interval_ms: self.db_sync_interval_ms,
            resp_addr: self.resp_addr.to_string(),
            default_mid,
            token: self.token.clone(),
            is_db,
            hook: Some(Box::new(move |_, entries| pusher.push(entries))),
            leads: Box::new(move |p| crate::db::repl::leads(&*store, &me_pk, p)),
        })?;
        crate::db::repl::start(rx, self.store.clone(), db.clone(), self.net.clone(), me.public_key())?;
        let _ = db.repl.set(repl);
        Ok(db)
    }

    /// Starts the services; `shutdown` is what the `Shutdown` method calls.
    pub fn start(
        self,
        db: Option<std::sync::Arc<crate::db::DbService>>,
        shutdown: impl Fn() + Send + Sync + 'static,
    ) -> std::io::Result<gateway::server::Running> {
        let users = self.users.clone();
        let registry = crate::methods::node::registry(
            self.store.clone(),
            self.info,
            Some(self.net.clone()),
            self.seed,
            self.entropy,
            db.clone(),
            users,
            &self.storage,
            shutdown,
        );
        let registry = std::sync::Arc::new(registry);
        let on_head = sync_on_head(registry.clone());
        let repl = db.as_ref().and_then(|d| d.repl.get().cloned());
        let _ = self.on_head.set(Box::new(move |ev| match ev {
            NodeEvent::Head(record) => on_head(record),
            NodeEvent::Db { peer, body } => {
                if let Some(r) = &repl {
                    r.incoming(peer, body);
                }
            }
        }));
        let me = proto_core::identity::Identity::from_seed(self.seed).public_key();
        catch_up(registry.clone(), self.store.clone(), me, std::time::Duration::from_secs(2));
        let limits = gateway::http::Limits::from_json(Some(&self.http))
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("config.json: {e}")))?;
        let net = self.net.clone();
        let reads = crate::content::fetching::NetReads { store: self.store.clone(), net: self.net };
        let cfg = gateway::server::ServerConfig { token: self.token, limits, net: Some(std::sync::Arc::new(reads)) };
        let running = gateway::server::start(self.http_addr, self.store, registry, cfg)?;
        // Providers tell askers where browsers reach them.
        let _ = net.call(proto_core::node::Command::SetHttpPort(Some(running.addr.port())));
        Ok(running)
    }
}
