//! Sessions of the original API: `Login()` (guest), `Login(ppt)` / `LoginWithPPT(ppt)`, and
//! `Logout(sid)`. A session id is 40 hex characters, lives in memory and expires after an hour
//! without use. Calls may pass a session id as their first argument, as programs written for the
//! original do; it is taken off before the method runs and decides what the call may change.
//! `Register` and `Login(name, pass)` run argon2: registrations are rationed per source address
//! and per node, and hashes run at most `max_concurrent_hashes` at once (docs/passports.md).

mod accounts;

pub use accounts::register_user_info;

use crate::methods::hash_gate::HashGate;
use gateway::api::{ApiError, Registry};
use proto_core::ppt;
use serde_json::{json, Value};
use std::collections::{BTreeMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub const IDLE: Duration = Duration::from_secs(3600);
/// Sessions held at once; the least recently used goes first.
pub const MAX_SESSIONS: usize = 100_000;

#[derive(Clone, Debug)]
pub struct Session {
    /// The user id ("" for a guest).
    pub uid: String,
    /// May change the node (the node's own key logged in).
    pub owner: bool,
    /// The user's public key (`None` for a guest).
    pub pk: Option<[u8; 32]>,
    last: Instant,
}

/// Recent login attempts: the whole node's, and each identity's.
type Attempts = (VecDeque<Instant>, BTreeMap<String, VecDeque<Instant>>);

pub use storage::repo::UserSettings;

const HOUR: Duration = Duration::from_secs(3600);

pub struct Sessions {
    node_id: String,
    /// Where registered users live (name → id and argon2id password hash).
    users: Option<Arc<dyn proto_core::store::KvStore + Send + Sync>>,
    map: Mutex<BTreeMap<String, Session>>,
    attempts: Mutex<Attempts>,
    entropy: Box<dyn Fn() -> [u8; 32] + Send + Sync>,
    settings: UserSettings,
    /// Registrations in the last hour: the whole node's, and each source's.
    registrations: Mutex<Attempts>,
    hashes: HashGate,
    /// Held from the "name is free" check to the account's write.
    accounts: Mutex<()>,
    /// Where an account's key is kept so the node can sign for it.
    keyring: Option<Arc<crate::methods::users::Users>>,
}

fn window(q: &mut VecDeque<Instant>, now: Instant, max: usize) -> bool {
    expire(q, now, Duration::from_secs(60));
    if q.len() >= max {
        return false;
    }
    q.push_back(now);
    true
}

fn expire(q: &mut VecDeque<Instant>, now: Instant, age: Duration) {
    while q.front().is_some_and(|t| now.duration_since(*t) > age) {
        q.pop_front();
    }
}

/// Whom registrations are counted against: an IPv4 address, an IPv6 /64 (one host gets a whole
/// /64), or "local" for calls without an address.
pub fn source(remote: Option<IpAddr>) -> String {
    match remote.map(|ip| ip.to_canonical()) {
        None => "local".into(),
        Some(IpAddr::V4(a)) => a.to_string(),
        Some(IpAddr::V6(a)) => {
            let s = a.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

fn busy() -> ApiError {
    ApiError { status: 503, message: "the node is busy hashing passwords; try again".into() }
}

impl gateway::api::SessionLookup for Sessions {
    fn user(&self, sid: &str) -> Option<gateway::api::SessionUser> {
        self.get(sid).map(|s| gateway::api::SessionUser { uid: s.uid, owner: s.owner, pk: s.pk })
    }
}

impl Sessions {
    pub fn new(node_id: String, entropy: impl Fn() -> [u8; 32] + Send + Sync + 'static) -> Self {
        Sessions {
            node_id,
            users: None,
            map: Mutex::new(BTreeMap::new()),
            attempts: Mutex::new((VecDeque::new(), BTreeMap::new())),
            entropy: Box::new(entropy),
            settings: UserSettings::default(),
            registrations: Mutex::new((VecDeque::new(), BTreeMap::new())),
            hashes: HashGate::new(UserSettings::default().max_concurrent_hashes),
            accounts: Mutex::new(()),
            keyring: None,
        }
    }

    /// Accounts' keys go to `users`' keyring, so the node signs their MiMeis' heads.
    pub fn with_keyring(mut self, users: Arc<crate::methods::users::Users>) -> Self {
        self.keyring = Some(users);
        self
    }

    /// Who may register and how much hashing runs at once (config.json `"users"`).
    pub fn with_settings(mut self, settings: UserSettings) -> Self {
        self.hashes = HashGate::new(settings.max_concurrent_hashes);
        self.settings = settings;
        self
    }

    /// The cap on concurrent password hashes.
    pub fn hash_gate(&self) -> &HashGate {
        &self.hashes
    }

    /// Enables `Register` and `Login(name, pass)`, with accounts kept in `store`.
    pub fn with_users(mut self, store: Arc<dyn proto_core::store::KvStore + Send + Sync>) -> Self {
        self.users = Some(store);
        self
    }

    fn users(&self) -> Result<&Arc<dyn proto_core::store::KvStore + Send + Sync>, ApiError> {
        self.users.as_ref().ok_or_else(|| ApiError::internal("this node keeps no user accounts"))
    }

    /// Makes an account; its id comes from a fresh key pair kept on the node.
    fn register(&self, name: &str, pass: &str, email: &str, remote: Option<IpAddr>) -> Result<Value, ApiError> {
        if !self.settings.registration {
            return Err(ApiError { status: 403, message: "registration is turned off on this node".into() });
        }
        if name.is_empty() || name.len() > 64 || name.contains(['/', '\0']) {
            return Err(ApiError::bad_request("a user name is 1 to 64 characters without '/'"));
        }
        if pass.is_empty() {
            return Err(ApiError::bad_request("an empty password is not allowed"));
        }
        let key = format!("user/{name}");
        let users = self.users()?;
        let taken = || -> Result<(), ApiError> {
            match users.kv_get(key.as_bytes()).map_err(ApiError::internal)? {
                Some(_) => Err(ApiError::bad_request(format!("the user name {name} is taken"))),
                None => Ok(()),
            }
        };
        taken()?;
        let booked = self.book_registration(remote)?;
        let Some(slot) = self.hashes.acquire(Duration::from_millis(self.settings.hash_wait_ms)) else {
            self.unbook_registration(booked);
            return Err(busy());
        };
        let hash = self.hash_with(pass)?;
        drop(slot);
        let id = proto_core::identity::Identity::from_seed((self.entropy)());
        let uid = id.node_id().to_string();
        let seed: String = id.seed().iter().map(|b| format!("{b:02x}")).collect();
        let rec = json!({"uid": uid, "hash": hash, "email": email, "seed": seed});
        // Two registrations of one name may hash at once: only the first to get here writes.
        let _write = self.accounts.lock().map_err(|_| ApiError::internal("account table poisoned"))?;
        taken()?;
        users.kv_put(key.as_bytes(), Some(rec.to_string().as_bytes())).map_err(ApiError::internal)?;
        users.kv_put(format!("uname/{uid}").as_bytes(), Some(name.as_bytes())).map_err(ApiError::internal)?;
        if let Some(k) = &self.keyring {
            k.keyring.keep_key(id.seed())?;
        }
        Ok(Value::String(uid))
    }

    /// Counts a registration against its source's and the node's hourly allowance.
    fn book_registration(&self, remote: Option<IpAddr>) -> Result<(String, Instant), ApiError> {
        let (now, from) = (Instant::now(), source(remote));
        let mut r = self.registrations.lock().map_err(|_| ApiError::internal("registration table poisoned"))?;
        expire(&mut r.0, now, HOUR);
        if r.1.len() > 1000 {
            r.1.retain(|_, q| {
                expire(q, now, HOUR);
                !q.is_empty()
            });
        }
        let per = r.1.entry(from.clone()).or_default();
        expire(per, now, HOUR);
        let too_many =
            |m: &str| ApiError { status: 429, message: format!("too many registrations {m}; try again later") };
        if per.len() >= self.settings.registers_per_source_per_hour {
            return Err(too_many("from this address"));
        }
        if r.0.len() >= self.settings.registers_per_node_per_hour {
            return Err(too_many("on this node"));
        }
        r.0.push_back(now);
        r.1.entry(from.clone()).or_default().push_back(now);
        Ok((from, now))
    }

    /// Gives back a booking whose registration never ran (no hashing slot came free).
    fn unbook_registration(&self, (from, at): (String, Instant)) {
        if let Ok(mut r) = self.registrations.lock() {
            if let Some(i) = r.0.iter().rposition(|t| *t == at) {
                r.0.remove(i);
            }
            if let Some(q) = r.1.get_mut(&from) {
                if let Some(i) = q.iter().rposition(|t| *t == at) {
                    q.remove(i);
                }
            }
        }
    }

    fn login_name(&self, name: &str, pass: &str) -> Result<Value, ApiError> {
        self.allow_login(&format!("name:{name}"))?;
        let refused = || ApiError { status: 401, message: "wrong user name or password".into() };
        let rec =
            self.users()?.kv_get(format!("user/{name}").as_bytes()).map_err(ApiError::internal)?.ok_or_else(refused)?;
        let rec: Value =
            serde_json::from_slice(&rec).map_err(|_| ApiError::internal("a stored account does not decode"))?;
        let hash = rec.get("hash").and_then(Value::as_str).ok_or_else(refused)?;
        if !self.password_is(hash, pass)? {
            return Err(refused());
        }
        let uid = rec.get("uid").and_then(Value::as_str).unwrap_or_default().to_string();
        let seed = rec.get("seed").and_then(Value::as_str).and_then(crate::methods::users::keyring::hex32);
        // An account the node made has its key; a passport holder's name login names its key.
        let pk = seed
            .map(|s| proto_core::identity::Identity::from_seed(s).public_key())
            .or_else(|| rec.get("pk").and_then(Value::as_str).and_then(crate::methods::users::keyring::hex32));
        if let (Some(k), Some(s)) = (&self.keyring, seed) {
            k.keyring.keep_key(s)?;
        }
        self.remember_name(&uid, name)?;
        let sid = self.open(uid.clone(), false, pk)?;
        Ok(json!({"Sid": sid, "Uid": uid}))
    }

    /// The live session with this id (its idle clock restarts).
    pub fn get(&self, sid: &str) -> Option<Session> {
        let mut m = self.map.lock().ok()?;
        let now = Instant::now();
        match m.get_mut(sid) {
            Some(s) if now.duration_since(s.last) < IDLE => {
                s.last = now;
                Some(s.clone())
            }
            Some(_) => {
                m.remove(sid);
                None
            }
            None => None,
        }
    }

    fn allow_login(&self, identity: &str) -> Result<(), ApiError> {
        let now = Instant::now();
        let mut a = self.attempts.lock().map_err(|_| ApiError::internal("session table poisoned"))?;
        let per = a.1.entry(identity.to_string()).or_default();
        let ok_identity = window(per, now, self.settings.logins_per_identity_per_minute);
        if !ok_identity || !window(&mut a.0, now, self.settings.logins_per_node_per_minute) {
            return Err(ApiError { status: 429, message: "login rate limit exceeded".into() });
        }
        if a.1.len() > 10_000 {
            a.1.retain(|_, q| !q.is_empty());
        }
        Ok(())
    }

    fn open(&self, uid: String, owner: bool, pk: Option<[u8; 32]>) -> Result<String, ApiError> {
        let sid: String = (self.entropy)()[..20].iter().map(|b| format!("{b:02x}")).collect();
        let mut m = self.map.lock().map_err(|_| ApiError::internal("session table poisoned"))?;
        if m.len() >= MAX_SESSIONS {
            let oldest = m.iter().min_by_key(|(_, s)| s.last).map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                m.remove(&k);
            }
        }
        m.insert(sid.clone(), Session { uid, owner, pk, last: Instant::now() });
        Ok(sid)
    }

    fn login_ppt(&self, text: &str) -> Result<Value, ApiError> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
        // Rate-limit by claimed signer before the (costlier) verification.
        let claimed = serde_json::from_str::<Value>(text)
            .ok()
            .and_then(|v| v.get("SignerID").and_then(Value::as_str).map(str::to_string))
            .unwrap_or_default();
        self.allow_login(&claimed)?;
        let p = ppt::verify_ppt(text, None, now)
            .map_err(|e| ApiError { status: 401, message: format!("passport refused: {e}") })?;
        if p.pairs.get("CertFor").map(String::as_str) != Some("Self") {
            return Err(ApiError {
                status: 401,
                message: "passport refused: a login passport needs CertFor=Self".into(),
            });
        }
        // A key linked to an account (`SetUserInfo` newppt) logs in as that account's user.
        let (uid, pk) = self.linked(&p.signer.to_string())?.unwrap_or((p.signer.to_string(), p.cert.holder_pk));
        let owner = uid == self.node_id;
        let sid = self.open(uid.clone(), owner, Some(pk))?;
        Ok(json!({"Sid": sid, "Uid": uid}))
    }

    /// Ends a session; its user, if it was one's.
    pub fn logout(&self, sid: &str) -> Option<Session> {
        self.map.lock().ok()?.remove(sid)
    }
}

pub fn register(reg: &mut Registry, sessions: Arc<Sessions>, mail: Arc<crate::methods::mailbox::Mailbox>) {
    let s = sessions.clone();
    reg.register("Login", false, move |call| {
        let arg = |i: usize| call.args.get(i).and_then(Value::as_str).unwrap_or_default().to_string();
        match (call.args.len(), arg(2).as_str()) {
            (0, _) => {
                s.allow_login("guest")?;
                Ok(json!({"Sid": s.open(String::new(), false, None)?, "Uid": ""}))
            }
            (1, _) | (_, "byppt") | (_, "byppt2") => s.login_ppt(&arg(0)),
            _ => s.login_name(&arg(0), &arg(1)),
        }
    });
    let s = sessions.clone();
    reg.register("Register", false, move |call| {
        let arg = |i: usize| call.args.get(i).and_then(Value::as_str).unwrap_or_default().to_string();
        // Register(name, pass, email), or one JSON map string with those keys.
        if call.args.len() == 1 {
            let m: Value = serde_json::from_str(&arg(0))
                .map_err(|_| ApiError::bad_request("Register takes (name, pass, email) or one JSON map"))?;
            let f = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
            return s.register(&f("name"), &f("pass"), &f("email"), call.remote);
        }
        s.register(&arg(0), &arg(1), &arg(2), call.remote)
    });
    let s = sessions.clone();
    reg.register("LoginWithPPT", false, move |call| s.login_ppt(call.str_arg(0, "passport")?));
    let s = sessions;
    // Logout(sid, info): the session the call came with ends, and the user's queue hears
    // `offline` (the original tells the user's other sessions).
    reg.register("Logout", false, move |call| {
        let Some(ended) = call.sid.as_deref().and_then(|sid| s.logout(sid)) else { return Ok(Value::Bool(false)) };
        if !ended.uid.is_empty() {
            mail.post(&ended.uid, "offline".into());
        }
        Ok(Value::Bool(true))
    });
}

/// Keys a caller may not set in a passport the node signs for them.
const NODE_RESERVED: &[&str] =
    &["CertFor", "SignTime", "EndTime", "Userid", "AppID", "NodeId", "CertPK", "CertPKID", "SignerID"];

/// `SignPPT(sid, info, period)`: the node signs a passport for the session's user — `info`'s pairs
/// (reserved keys dropped), `Userid` = the user, `NodeId` = this node, valid for `period`
/// minutes in (0, 10080].
pub fn register_sign(reg: &mut Registry, seed: [u8; 32]) {
    // The owner's passport for programs on the node's own machine (the original's Go examples
    // begin with it): signed by the node's key, for `period` hours (default 24, at most 168).
    reg.register("GetLocalPassport", false, move |call| {
        if !call.remote.is_some_and(|a| a.is_loopback()) {
            return Err(ApiError {
                status: 403,
                message: "GetLocalPassport answers only programs on the node's own machine (loopback)".into(),
            });
        }
        let hours = call.arg("period").and_then(Value::as_u64).unwrap_or(24);
        if hours == 0 || hours > 168 {
            return Err(ApiError::bad_request(format!("period {hours} is out of range: give hours in 1..=168")));
        }
        let node = proto_core::identity::Identity::from_seed(seed);
        let mut pairs = std::collections::BTreeMap::new();
        pairs.insert("CertFor".to_string(), "Self".to_string());
        pairs.insert("Userid".to_string(), node.node_id().to_string());
        node_signed(&node, &pairs, hours * 60)
    });
    reg.register("SignPPT", false, move |call| {
        let uid = call.user.clone().filter(|u| !u.is_empty()).ok_or_else(|| ApiError {
            status: 401,
            message: "SignPPT needs a logged-in session (not a guest's)".into(),
        })?;
        let mut pairs = std::collections::BTreeMap::new();
        match call.args.first() {
            Some(Value::Object(o)) => {
                for (k, v) in o {
                    if !NODE_RESERVED.contains(&k.as_str()) {
                        pairs.insert(k.clone(), v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()));
                    }
                }
            }
            None | Some(Value::Null) => {}
            Some(_) => return Err(ApiError::bad_request("argument 1 (info) must be a map of strings")),
        }
        let period = call.args.get(1).and_then(Value::as_u64).unwrap_or(0);
        if period == 0 || period > 10_080 {
            return Err(ApiError::bad_request(format!("period {period} is out of range: give minutes in 1..=10080")));
        }
        let node = proto_core::identity::Identity::from_seed(seed);
        pairs.insert("Userid".into(), uid);
        pairs.insert("NodeId".into(), node.node_id().to_string());
        node_signed(&node, &pairs, period)
    });
}

/// A passport of `pairs` signed by the node, valid for `minutes` from now.
fn node_signed(
    node: &proto_core::identity::Identity,
    pairs: &std::collections::BTreeMap<String, String>,
    minutes: u64,
) -> Result<Value, ApiError> {
    let cert =
        proto_core::ppt::make_cert(node, node, &Default::default()).map_err(|e| ApiError::internal(e.to_string()))?;
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
    let ppt =
        proto_core::ppt::sign_ppt(&cert, pairs, minutes, now).map_err(|e| ApiError::bad_request(e.to_string()))?;
    Ok(Value::String(ppt.to_string()))
}
