//! The repo directory of a node (default `~/.leither`): its config, key, API token, lock and the
//! LMDB store. Secrets are written with mode 0600 and replaced atomically.

use proto_core::identity::Identity;
use serde_json::{json, Value};
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

pub const DEFAULT_HTTP_PORT: u16 = 4800;
pub const DEFAULT_PEER_PORT: u16 = 4801;

#[derive(Debug)]
pub enum RepoError {
    Io(PathBuf, io::Error),
    Corrupt(PathBuf, String),
    Locked(PathBuf, String),
}

impl fmt::Display for RepoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RepoError::Io(p, e) => write!(f, "{}: {e}", p.display()),
            RepoError::Corrupt(p, why) => write!(f, "{} is damaged: {why}", p.display()),
            RepoError::Locked(p, who) => {
                write!(f, "another leither node is already running on the repo {} ({who})", p.display())
            }
        }
    }
}

impl std::error::Error for RepoError {}

/// The node's settings, stored as `config.json`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Address of the HTTP server (API + gateway).
    pub http_addr: String,
    pub peer_port: u16,
    pub bootstrap: Vec<String>,
    /// Limits of the peer network (`"network": {…}` in config.json; absent fields keep defaults).
    pub network: NetLimits,
    /// Where Redis clients connect (`""` = no RESP endpoint). Local by default: reads need no
    /// password.
    pub resp_addr: String,
    /// The database's durability (`"db": {"durability": "process" | "always", "sync_interval_ms": N}`).
    pub db: DbSettings,
    /// The HTTP server's limits (`"http": {…}`), kept as written: the HTTP layer reads and
    /// checks them when the node starts (`gateway::http::limits`).
    pub http: Value,
    /// Accounts made on this node (`"users": {…}`; absent fields keep defaults).
    pub users: UserSettings,
    /// The IPFS network (`"ipfs": {…}`).
    pub ipfs: crate::repo_ipfs::IpfsSettings,
    /// The store's size limit and its garbage collection (`"storage": {…}`).
    pub storage: crate::repo_storage::StorageSettings,
}

/// Who may make an account with `Register`, and how much argon2 hashing the node does at once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserSettings {
    /// `false`: `Register` is refused (403).
    pub registration: bool,
    /// Registrations accepted per source address (an IPv6 /64) in any hour (429 beyond).
    pub registers_per_source_per_hour: usize,
    /// Registrations accepted on the whole node in any hour (429 beyond).
    pub registers_per_node_per_hour: usize,
    /// Password hashes (`Register`, `Login(name, pass)`) running at once on the node.
    pub max_concurrent_hashes: usize,
    /// How long a call waits for a free hashing slot before it is refused (503).
    pub hash_wait_ms: u64,
    /// Who may make MiMeis here: `"service"` (users who asked for the `mimei` service with
    /// `RequestService`), `"all"` (any logged-in user), `"none"` (the owner only).
    pub mimei_users: String,
    /// User ids always allowed to make MiMeis (whatever `mimei_users` says).
    pub allow: Vec<String>,
    /// User ids never allowed to make or change anything here.
    pub refuse: Vec<String>,
    /// MiMeis one user may make on this node.
    pub max_mimeis_per_user: usize,
    /// Bytes one user may add to this node's store (`IpfsAdd`, app uploads).
    pub max_bytes_per_user: u64,
    /// Login attempts one identity may make in any minute (429 beyond).
    pub logins_per_identity_per_minute: usize,
    /// Login attempts the whole node takes in any minute (429 beyond).
    pub logins_per_node_per_minute: usize,
    /// Domains one user may point at their apps on this node (`SetDomain`).
    pub max_domains_per_user: usize,
}

impl Default for UserSettings {
    fn default() -> Self {
        UserSettings {
            registration: true,
            registers_per_source_per_hour: 10,
            registers_per_node_per_hour: 200,
            max_concurrent_hashes: 2,
            hash_wait_ms: 2000,
            mimei_users: "service".into(),
            allow: Vec::new(),
            refuse: Vec::new(),
            max_mimeis_per_user: 100,
            max_bytes_per_user: 1 << 30,
            logins_per_identity_per_minute: 10,
            logins_per_node_per_minute: 120,
            max_domains_per_user: 10,
        }
    }
}

impl UserSettings {
    fn to_json(&self) -> Value {
        json!({
            "registration": self.registration,
            "registers_per_source_per_hour": self.registers_per_source_per_hour,
            "registers_per_node_per_hour": self.registers_per_node_per_hour,
            "max_concurrent_hashes": self.max_concurrent_hashes,
            "hash_wait_ms": self.hash_wait_ms,
            "mimei_users": self.mimei_users,
            "allow": self.allow,
            "refuse": self.refuse,
            "max_mimeis_per_user": self.max_mimeis_per_user,
            "max_bytes_per_user": self.max_bytes_per_user,
            "logins_per_identity_per_minute": self.logins_per_identity_per_minute,
            "logins_per_node_per_minute": self.logins_per_node_per_minute,
            "max_domains_per_user": self.max_domains_per_user,
        })
    }

    fn from_json(o: &Value) -> Result<Self, String> {
        let mut u = UserSettings::default();
        if let Some(x) = o.get("registration") {
            u.registration = x.as_bool().ok_or("users.registration must be true or false")?;
        }
        let positive = |k: &str, d: usize| positive_field(o, "users", k, d);
        u.registers_per_source_per_hour = positive("registers_per_source_per_hour", u.registers_per_source_per_hour)?;
        u.registers_per_node_per_hour = positive("registers_per_node_per_hour", u.registers_per_node_per_hour)?;
        u.max_concurrent_hashes = positive("max_concurrent_hashes", u.max_concurrent_hashes)?;
        if let Some(x) = o.get("hash_wait_ms") {
            u.hash_wait_ms = x.as_u64().ok_or("users.hash_wait_ms must be a number of milliseconds")?;
        }
        if let Some(x) = o.get("mimei_users") {
            u.mimei_users = match x.as_str() {
                Some(m @ ("service" | "all" | "none")) => m.to_string(),
                _ => return Err("users.mimei_users must be \"service\", \"all\" or \"none\"".into()),
            };
        }
        let ids = |k: &str| -> Result<Vec<String>, String> {
            match o.get(k) {
                None => Ok(Vec::new()),
                Some(Value::Array(a)) => a
                    .iter()
                    .map(|v| v.as_str().map(str::to_string).ok_or(format!("users.{k} must be a list of user ids")))
                    .collect(),
                Some(_) => Err(format!("users.{k} must be a list of user ids")),
            }
        };
        u.allow = ids("allow")?;
        u.refuse = ids("refuse")?;
        u.max_mimeis_per_user = positive("max_mimeis_per_user", u.max_mimeis_per_user)?;
        u.logins_per_identity_per_minute =
            positive("logins_per_identity_per_minute", u.logins_per_identity_per_minute)?;
        u.logins_per_node_per_minute = positive("logins_per_node_per_minute", u.logins_per_node_per_minute)?;
        u.max_domains_per_user = positive("max_domains_per_user", u.max_domains_per_user)?;
        if let Some(x) = o.get("max_bytes_per_user") {
            u.max_bytes_per_user =
                x.as_u64().filter(|n| *n > 0).ok_or("users.max_bytes_per_user must be a positive number of bytes")?;
        }
        Ok(u)
    }
}

/// How the database store commits (see storage::db).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DbSettings {
    pub durability: crate::db::Durability,
    pub sync_interval_ms: u64,
}

impl Default for DbSettings {
    fn default() -> Self {
        DbSettings { durability: crate::db::Durability::Process, sync_interval_ms: 1000 }
    }
}

/// Redis's port.
pub const DEFAULT_RESP_ADDR: &str = "127.0.0.1:6379";

/// The peer network's limits that an operator may change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetLimits {
    pub max_conns: usize,
    /// Connections accepted from one IP address at once.
    pub max_conns_per_ip: usize,
    /// Accepted connections still in their handshake at once.
    pub max_handshakes: usize,
    pub handshake_timeout_ms: u64,
    pub idle_timeout_ms: u64,
    pub keepalive_ms: u64,
    pub max_pending_per_peer: usize,
}

impl Default for NetLimits {
    fn default() -> Self {
        let n = proto_core::node::Config::default();
        NetLimits {
            max_conns: n.max_conns,
            max_conns_per_ip: n.max_conns_per_ip,
            max_handshakes: n.max_handshakes,
            handshake_timeout_ms: n.handshake_timeout_ms,
            idle_timeout_ms: n.idle_timeout_ms,
            keepalive_ms: n.keepalive_ms,
            max_pending_per_peer: n.dht.max_pending_per_peer,
        }
    }
}

impl NetLimits {
    /// The core's configuration with these limits.
    pub fn node_config(&self) -> proto_core::node::Config {
        let mut c = proto_core::node::Config {
            max_conns: self.max_conns,
            max_conns_per_ip: self.max_conns_per_ip,
            max_handshakes: self.max_handshakes,
            handshake_timeout_ms: self.handshake_timeout_ms,
            idle_timeout_ms: self.idle_timeout_ms,
            keepalive_ms: self.keepalive_ms,
            ..Default::default()
        };
        c.dht.max_pending_per_peer = self.max_pending_per_peer;
        c
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            http_addr: format!("0.0.0.0:{DEFAULT_HTTP_PORT}"),
            peer_port: DEFAULT_PEER_PORT,
            bootstrap: Vec::new(),
            network: NetLimits::default(),
            resp_addr: DEFAULT_RESP_ADDR.into(),
            db: DbSettings::default(),
            http: json!({}),
            users: UserSettings::default(),
            ipfs: crate::repo_ipfs::IpfsSettings::default(),
            storage: crate::repo_storage::StorageSettings::default(),
        }
    }
}

impl Config {
    /// The configured bootstrap nodes plus `extra`, parsed; a bad one is an error that names it.
    pub fn bootstrap_addrs(&self, extra: &[String]) -> Result<Vec<proto_core::maddr::Multiaddr>, String> {
        self.bootstrap
            .iter()
            .chain(extra)
            .map(|b| proto_core::maddr::Multiaddr::parse(b).map_err(|e| format!("bootstrap address {b}: {e}")))
            .collect()
    }

    /// Where to listen for peers: the HTTP host with the peer port (or `port` for this run).
    pub fn peer_socket(&self, http_addr: &str, port: Option<u16>) -> Result<std::net::SocketAddr, String> {
        let host = http_addr.rsplit_once(':').map(|(h, _)| h).unwrap_or("0.0.0.0");
        let port = port.unwrap_or(self.peer_port);
        format!("{host}:{port}").parse().map_err(|e| format!("peer address {host}:{port}: {e}"))
    }

    fn to_json(&self) -> Value {
        let n = &self.network;
        json!({
            "http_addr": self.http_addr,
            "peer_port": self.peer_port,
            "bootstrap": self.bootstrap,
            "network": {
                "max_conns": n.max_conns,
                "max_conns_per_ip": n.max_conns_per_ip,
                "max_handshakes": n.max_handshakes,
                "handshake_timeout_ms": n.handshake_timeout_ms,
                "idle_timeout_ms": n.idle_timeout_ms,
                "keepalive_ms": n.keepalive_ms,
                "max_pending_per_peer": n.max_pending_per_peer,
            },
            "resp_addr": self.resp_addr,
            "db": {"durability": self.db.durability.name(), "sync_interval_ms": self.db.sync_interval_ms},
            "http": self.http,
            "users": self.users.to_json(),
            "ipfs": self.ipfs.to_json(),
            "storage": self.storage.to_json(),
        })
    }

    fn from_json(v: &Value) -> Result<Self, String> {
        let d = Config::default();
        let http_addr = match v.get("http_addr") {
            None => d.http_addr,
            Some(Value::String(s)) => s.clone(),
            Some(_) => return Err("http_addr must be a string like \"0.0.0.0:4800\"".into()),
        };
        let peer_port = match v.get("peer_port") {
            None => d.peer_port,
            Some(p) => p.as_u64().and_then(|p| u16::try_from(p).ok()).ok_or("peer_port must be a port number")?,
        };
        let bootstrap = match v.get("bootstrap") {
            None => Vec::new(),
            Some(Value::Array(a)) => a
                .iter()
                .map(|b| b.as_str().map(str::to_string).ok_or("bootstrap entries must be strings"))
                .collect::<Result<_, _>>()?,
            Some(_) => return Err("bootstrap must be a list of multiaddrs".into()),
        };
        let mut network = NetLimits::default();
        if let Some(n) = v.get("network") {
            let num = |k: &str, d: u64| -> Result<u64, String> {
                match n.get(k) {
                    None => Ok(d),
                    Some(x) => x.as_u64().filter(|v| *v > 0).ok_or(format!("network.{k} must be a positive number")),
                }
            };
            network.max_conns = num("max_conns", network.max_conns as u64)? as usize;
            network.max_conns_per_ip = num("max_conns_per_ip", network.max_conns_per_ip as u64)? as usize;
            network.max_handshakes = num("max_handshakes", network.max_handshakes as u64)? as usize;
            network.handshake_timeout_ms = num("handshake_timeout_ms", network.handshake_timeout_ms)?;
            network.idle_timeout_ms = num("idle_timeout_ms", network.idle_timeout_ms)?;
            network.keepalive_ms = num("keepalive_ms", network.keepalive_ms)?;
            network.max_pending_per_peer = num("max_pending_per_peer", network.max_pending_per_peer as u64)? as usize;
        }
        let resp_addr = match v.get("resp_addr") {
            None => d.resp_addr,
            Some(Value::String(s)) => s.clone(),
            Some(_) => return Err("resp_addr must be a string like \"127.0.0.1:6379\" (or \"\" for none)".into()),
        };
        let mut db = DbSettings::default();
        if let Some(o) = v.get("db") {
            if let Some(x) = o.get("durability") {
                db.durability = x
                    .as_str()
                    .and_then(crate::db::Durability::parse)
                    .ok_or("db.durability must be \"process\" or \"always\"")?;
            }
            if let Some(x) = o.get("sync_interval_ms") {
                db.sync_interval_ms =
                    x.as_u64().filter(|v| *v > 0).ok_or("db.sync_interval_ms must be a positive number")?;
            }
        }
        let http = match v.get("http") {
            None => json!({}),
            Some(o) if o.is_object() => o.clone(),
            Some(_) => return Err("http must be an object of limits like {\"max_conns\": 1024}".into()),
        };
        let users = match v.get("users") {
            None => UserSettings::default(),
            Some(o) if o.is_object() => UserSettings::from_json(o)?,
            Some(_) => return Err("users must be an object like {\"registration\": false}".into()),
        };
        let ipfs = match v.get("ipfs") {
            None => crate::repo_ipfs::IpfsSettings::default(),
            Some(o) => crate::repo_ipfs::IpfsSettings::from_json(o)?,
        };
        let storage = match v.get("storage") {
            None => crate::repo_storage::StorageSettings::default(),
            Some(o) => crate::repo_storage::StorageSettings::from_json(o)?,
        };
        Ok(Config { http_addr, peer_port, bootstrap, network, resp_addr, db, http, users, ipfs, storage })
    }
}

pub struct Repo {
    pub dir: PathBuf,
}

fn io_at(p: &Path) -> impl Fn(io::Error) -> RepoError + '_ {
    move |e| RepoError::Io(p.to_path_buf(), e)
}

/// Writes `bytes` to `path` through a temp file + rename, so a crash never leaves half a file.
fn write_atomic(path: &Path, bytes: &[u8], secret: bool) -> Result<(), RepoError> {
    let tmp = path.with_extension("tmp");
    let mut opts = OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let _ = secret;
    let mut f = opts.open(&tmp).map_err(io_at(&tmp))?;
    f.write_all(bytes).map_err(io_at(&tmp))?;
    f.sync_all().map_err(io_at(&tmp))?;
    fs::rename(&tmp, path).map_err(io_at(path))?;
    Ok(())
}

/// Overwrites an existing file from its start without giving up its blocks (no truncation
/// to zero), so a small file can be rewritten on a full disk.
fn write_in_place(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut f = OpenOptions::new().write(true).open(path)?;
    f.write_all(bytes)?;
    f.set_len(bytes.len() as u64)?;
    f.sync_all()
}

fn is_no_space(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::StorageFull || e.kind() == io::ErrorKind::QuotaExceeded
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

/// The lock held by a running node; released when dropped or when the process dies.
pub struct RepoLock {
    _file: File,
}

impl Repo {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Repo { dir: dir.into() }
    }

    pub fn create_dir(&self) -> Result<(), RepoError> {
        fs::create_dir_all(&self.dir).map_err(io_at(&self.dir))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&self.dir, fs::Permissions::from_mode(0o700)).map_err(io_at(&self.dir))?;
        }
        Ok(())
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.join("config.json")
    }
    pub fn key_path(&self) -> PathBuf {
        self.dir.join("identity.key")
    }
    pub fn token_path(&self) -> PathBuf {
        self.dir.join("api.token")
    }
    pub fn store_dir(&self) -> PathBuf {
        self.dir.join("store")
    }
    /// Written by a running node: its pid and API address.
    pub fn daemon_path(&self) -> PathBuf {
        self.dir.join("daemon.json")
    }

    pub fn write_config(&self, c: &Config) -> Result<(), RepoError> {
        self.create_dir()?;
        let text = serde_json::to_string_pretty(&c.to_json()).expect("json of plain values");
        write_atomic(&self.config_path(), text.as_bytes(), false)
    }

    /// The config, or the defaults when there is no config file yet.
    pub fn config(&self) -> Result<Config, RepoError> {
        let p = self.config_path();
        match fs::read(&p) {
            Ok(b) => {
                let v: Value = serde_json::from_slice(&b).map_err(|e| RepoError::Corrupt(p.clone(), e.to_string()))?;
                Config::from_json(&v).map_err(|e| RepoError::Corrupt(p, e))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Config::default()),
            Err(e) => Err(RepoError::Io(p, e)),
        }
    }

    /// Loads the node key, or makes one from `fresh_seed` on first start.
    pub fn identity(&self, fresh_seed: impl FnOnce() -> [u8; 32]) -> Result<Identity, RepoError> {
        let p = self.key_path();
        match fs::read_to_string(&p) {
            Ok(text) => {
                let bytes = unhex(text.trim()).ok_or_else(|| RepoError::Corrupt(p.clone(), "not hex".into()))?;
                let seed: [u8; 32] =
                    bytes.try_into().map_err(|_| RepoError::Corrupt(p.clone(), "not a 32-byte ed25519 seed".into()))?;
                Ok(Identity::from_seed(seed))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.create_dir()?;
                let id = Identity::from_seed(fresh_seed());
                write_atomic(&p, format!("{}\n", hex(&id.seed())).as_bytes(), true)?;
                Ok(id)
            }
            Err(e) => Err(RepoError::Io(p, e)),
        }
    }

    /// Loads the API token, or makes one from `fresh` on first start.
    pub fn token(&self, fresh: impl FnOnce() -> [u8; 32]) -> Result<String, RepoError> {
        let p = self.token_path();
        match fs::read_to_string(&p) {
            Ok(t) if !t.trim().is_empty() => Ok(t.trim().to_string()),
            Ok(_) => Err(RepoError::Corrupt(p, "empty token".into())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.create_dir()?;
                let t = hex(&fresh());
                write_atomic(&p, format!("{t}\n").as_bytes(), true)?;
                Ok(t)
            }
            Err(e) => Err(RepoError::Io(p, e)),
        }
    }

    /// Takes the exclusive lock of a running node. Fails at once if another process holds it.
    pub fn lock(&self) -> Result<RepoLock, RepoError> {
        self.create_dir()?;
        let p = self.dir.join("repo.lock");
        let file = OpenOptions::new().create(true).truncate(false).write(true).open(&p).map_err(io_at(&p))?;
        match file.try_lock() {
            Ok(()) => Ok(RepoLock { _file: file }),
            Err(fs::TryLockError::WouldBlock) => {
                let who = self
                    .daemon_info()
                    .map(|(pid, api)| format!("pid {pid}, API {api}"))
                    .unwrap_or_else(|| "pid unknown".into());
                Err(RepoError::Locked(self.dir.clone(), who))
            }
            Err(fs::TryLockError::Error(e)) => Err(RepoError::Io(p, e)),
        }
    }

    /// Written atomically; on a full disk, in place over the file a stopped node left (see
    /// `clear_daemon_info`), and when even that cannot be written the node runs on without it,
    /// reachable with `-n`.
    pub fn write_daemon_info(&self, pid: u32, api: &str) -> Result<(), RepoError> {
        let text = json!({"pid": pid, "api": api}).to_string();
        let p = self.daemon_path();
        match write_atomic(&p, text.as_bytes(), false) {
            Err(RepoError::Io(_, e)) if is_no_space(&e) => {
                let _ = fs::remove_file(p.with_extension("tmp"));
                if write_in_place(&p, text.as_bytes()).is_err() {
                    eprintln!(
                        "leither: {}: cannot write {}; the CLI reaches this node with -n {api}",
                        crate::space::full_message(&self.dir),
                        p.display()
                    );
                }
                Ok(())
            }
            other => other,
        }
    }

    /// (pid, API URL) of the node that last ran here, if its file is present.
    pub fn daemon_info(&self) -> Option<(u64, String)> {
        let v: Value = serde_json::from_slice(&fs::read(self.daemon_path()).ok()?).ok()?;
        Some((v.get("pid")?.as_u64()?, v.get("api")?.as_str()?.to_string()))
    }

    /// Marks the node as stopped. The file stays (emptied to `{}`), so its disk block is there
    /// for the next start even when the disk has filled up meanwhile.
    pub fn clear_daemon_info(&self) {
        if write_in_place(&self.daemon_path(), b"{}").is_err() {
            let _ = fs::remove_file(self.daemon_path());
        }
    }
}

/// Everything a runtime needs from the repo to start a node.
pub struct Opened {
    pub lock: RepoLock,
    pub config: Config,
    pub identity: Identity,
    pub token: String,
    pub store: crate::Store,
    pub db: crate::db::DbStore,
}

impl Repo {
    /// Locks the repo, then loads (or makes) its config, key, token and store, in that order, so
    /// a second node on the same repo fails before touching anything.
    pub fn open_node(&self, entropy: fn() -> [u8; 32]) -> Result<Opened, Box<dyn std::error::Error + Send + Sync>> {
        let lock = self.lock()?;
        let config = self.config()?;
        let identity = self.identity(entropy)?;
        let token = self.token(entropy)?;
        let store = crate::Store::open(&self.store_dir())?;
        let db = crate::db::DbStore::open(&self.dir.join("db"), config.db.durability)?;
        Ok(Opened { lock, config, identity, token, store, db })
    }
}

/// `section.k` of a config object: `d` when absent, else a positive integer or the error naming it.
pub(crate) fn positive_field(o: &serde_json::Value, section: &str, k: &str, d: usize) -> Result<usize, String> {
    match o.get(k) {
        None => Ok(d),
        Some(x) => x
            .as_u64()
            .filter(|v| *v > 0)
            .and_then(|v| usize::try_from(v).ok())
            .ok_or(format!("{section}.{k} must be a positive number")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_is_stable_and_secret() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repo::new(dir.path().join("r"));
        let a = repo.identity(|| [7; 32]).unwrap().node_id();
        let b = repo.identity(|| panic!("must not make a second key")).unwrap().node_id();
        assert_eq!(a, b);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(fs::metadata(repo.key_path()).unwrap().permissions().mode() & 0o777, 0o600);
        }
        fs::write(repo.key_path(), "zz").unwrap();
        assert!(matches!(repo.identity(|| [0; 32]), Err(RepoError::Corrupt(..))));
    }

    #[test]
    fn second_lock_fails_clearly() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repo::new(dir.path());
        let _held = repo.lock().unwrap();
        let err = repo.lock().err().unwrap().to_string();
        assert!(err.contains("already running"), "{err}");
    }

    #[test]
    fn daemon_file_is_emptied_not_removed() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repo::new(dir.path());
        repo.create_dir().unwrap();
        repo.write_daemon_info(42, "http://127.0.0.1:1").unwrap();
        assert_eq!(repo.daemon_info(), Some((42, "http://127.0.0.1:1".into())));
        repo.clear_daemon_info();
        assert_eq!(repo.daemon_info(), None);
        assert_eq!(fs::read(repo.daemon_path()).unwrap(), b"{}");
        // In place, as on a full disk: the longer text replaces the short one whole.
        write_in_place(&repo.daemon_path(), b"{\"pid\": 7, \"api\": \"http://h:2\"}").unwrap();
        assert_eq!(repo.daemon_info(), Some((7, "http://h:2".into())));
        write_in_place(&repo.daemon_path(), b"{}").unwrap();
        assert_eq!(fs::read(repo.daemon_path()).unwrap(), b"{}");
    }

    #[test]
    fn config_round_trips_and_rejects_junk() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repo::new(dir.path());
        assert_eq!(repo.config().unwrap(), Config::default());
        let mut c = Config {
            http_addr: "127.0.0.1:5000".into(),
            peer_port: 5001,
            bootstrap: vec!["/ip4/1.2.3.4/tcp/4801".into()],
            network: NetLimits::default(),
            resp_addr: "".into(),
            db: DbSettings { durability: crate::db::Durability::Always, sync_interval_ms: 50 },
            http: json!({"max_conns_per_ip": 9}),
            users: UserSettings::default(),
            ipfs: crate::repo_ipfs::IpfsSettings::default(),
            storage: crate::repo_storage::StorageSettings { storage_max: Some(1 << 30), ..Default::default() },
        };
        c.network.max_conns = 17;
        c.network.max_conns_per_ip = 3;
        c.network.max_handshakes = 5;
        repo.write_config(&c).unwrap();
        assert_eq!(repo.config().unwrap(), c);
        let core = repo.config().unwrap().network.node_config();
        assert_eq!((core.max_conns, core.max_conns_per_ip, core.max_handshakes), (17, 3, 5));
        // The defaults, as documented.
        assert_eq!((NetLimits::default().max_conns_per_ip, NetLimits::default().max_handshakes), (16, 64));
        fs::write(repo.config_path(), "{\"network\": {\"max_conns_per_ip\": 0}}").unwrap();
        assert!(repo.config().unwrap_err().to_string().contains("network.max_conns_per_ip"));
        fs::write(repo.config_path(), "{\"peer_port\": \"x\"}").unwrap();
        assert!(repo.config().is_err());
        fs::write(repo.config_path(), "{\"network\": {\"keepalive_ms\": 0}}").unwrap();
        assert!(repo.config().unwrap_err().to_string().contains("network.keepalive_ms"));
        fs::write(repo.config_path(), "{\"db\": {\"durability\": \"never\"}}").unwrap();
        assert!(repo.config().unwrap_err().to_string().contains("db.durability"));
    }

    #[test]
    fn user_settings_default_round_trip_and_reject_junk() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repo::new(dir.path());
        let d = repo.config().unwrap().users;
        assert_eq!((d.registration, d.registers_per_source_per_hour, d.registers_per_node_per_hour), (true, 10, 200));
        assert_eq!((d.max_concurrent_hashes, d.hash_wait_ms), (2, 2000));
        // A written config names every field; a partial one keeps the defaults of the others.
        repo.write_config(&Config::default()).unwrap();
        let text = fs::read_to_string(repo.config_path()).unwrap();
        for k in ["registration", "registers_per_source_per_hour", "registers_per_node_per_hour"] {
            assert!(text.contains(&format!("\"{k}\"")), "{k} missing from {text}");
        }
        fs::write(repo.config_path(), r#"{"users": {"registration": false, "hash_wait_ms": 0}}"#).unwrap();
        let u = repo.config().unwrap().users;
        assert!(!u.registration);
        assert_eq!((u.hash_wait_ms, u.registers_per_source_per_hour, u.max_concurrent_hashes), (0, 10, 2));
        let c = Config {
            users: UserSettings {
                registration: false,
                registers_per_source_per_hour: 3,
                registers_per_node_per_hour: 7,
                max_concurrent_hashes: 1,
                hash_wait_ms: 250,
                mimei_users: "all".into(),
                allow: vec!["a".into()],
                refuse: vec!["b".into()],
                max_mimeis_per_user: 5,
                max_bytes_per_user: 1000,
                logins_per_identity_per_minute: 3,
                logins_per_node_per_minute: 4,
                max_domains_per_user: 2,
            },
            ..Config::default()
        };
        repo.write_config(&c).unwrap();
        assert_eq!(repo.config().unwrap(), c);
        for (bad, field) in [
            (r#"{"users": {"registration": "no"}}"#, "users.registration"),
            (r#"{"users": {"max_concurrent_hashes": 0}}"#, "users.max_concurrent_hashes"),
            (r#"{"users": {"registers_per_node_per_hour": -1}}"#, "users.registers_per_node_per_hour"),
            (r#"{"users": {"hash_wait_ms": "2s"}}"#, "users.hash_wait_ms"),
            (r#"{"users": true}"#, "users must be an object"),
            (r#"{"users": {"mimei_users": "some"}}"#, "users.mimei_users"),
            (r#"{"users": {"refuse": "x"}}"#, "users.refuse"),
            (r#"{"users": {"max_bytes_per_user": 0}}"#, "users.max_bytes_per_user"),
        ] {
            fs::write(repo.config_path(), bad).unwrap();
            let e = repo.config().unwrap_err().to_string();
            assert!(e.contains(field), "{bad}: {e}");
        }
    }
}
