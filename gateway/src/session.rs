//! Sessions of the original API: `Login()` (guest), `Login(ppt)` / `LoginWithPPT(ppt)`, and
//! `Logout(sid)`. A session id is 40 hex characters, lives in memory and expires after an hour
//! without use. Calls may pass a session id as their first argument, as programs written for the
//! original do; it is taken off before the method runs and decides what the call may change.

use crate::api::{ApiError, Registry};
use proto_core::ppt;
use serde_json::{json, Value};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub const IDLE: Duration = Duration::from_secs(3600);
/// Sessions held at once; the least recently used goes first.
pub const MAX_SESSIONS: usize = 100_000;
/// Login attempts allowed per minute for one identity, and for the whole node.
pub const LOGINS_PER_IDENTITY: usize = 10;
pub const LOGINS_PER_NODE: usize = 120;

#[derive(Clone, Debug)]
pub struct Session {
    /// The user id ("" for a guest).
    pub uid: String,
    /// May change the node (the node's own key logged in).
    pub owner: bool,
    last: Instant,
}

/// Recent login attempts: the whole node's, and each identity's.
type Attempts = (VecDeque<Instant>, BTreeMap<String, VecDeque<Instant>>);

pub struct Sessions {
    node_id: String,
    map: Mutex<BTreeMap<String, Session>>,
    attempts: Mutex<Attempts>,
    entropy: Box<dyn Fn() -> [u8; 32] + Send + Sync>,
}

fn window(q: &mut VecDeque<Instant>, now: Instant, max: usize) -> bool {
    while q.front().is_some_and(|t| now.duration_since(*t) > Duration::from_secs(60)) {
        q.pop_front();
    }
    if q.len() >= max {
        return false;
    }
    q.push_back(now);
    true
}

pub fn is_sid(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl Sessions {
    pub fn new(node_id: String, entropy: impl Fn() -> [u8; 32] + Send + Sync + 'static) -> Self {
        Sessions {
            node_id,
            map: Mutex::new(BTreeMap::new()),
            attempts: Mutex::new((VecDeque::new(), BTreeMap::new())),
            entropy: Box::new(entropy),
        }
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
        let ok_identity = window(per, now, LOGINS_PER_IDENTITY);
        if !ok_identity || !window(&mut a.0, now, LOGINS_PER_NODE) {
            return Err(ApiError { status: 429, message: "login rate limit exceeded".into() });
        }
        if a.1.len() > 10_000 {
            a.1.retain(|_, q| !q.is_empty());
        }
        Ok(())
    }

    fn open(&self, uid: String, owner: bool) -> Result<String, ApiError> {
        let sid: String = (self.entropy)()[..20].iter().map(|b| format!("{b:02x}")).collect();
        let mut m = self.map.lock().map_err(|_| ApiError::internal("session table poisoned"))?;
        if m.len() >= MAX_SESSIONS {
            let oldest = m.iter().min_by_key(|(_, s)| s.last).map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                m.remove(&k);
            }
        }
        m.insert(sid.clone(), Session { uid, owner, last: Instant::now() });
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
        let uid = p.signer.to_string();
        let owner = uid == self.node_id;
        let sid = self.open(uid.clone(), owner)?;
        Ok(json!({"Sid": sid, "Uid": uid}))
    }

    pub fn logout(&self, sid: &str) -> bool {
        self.map.lock().map(|mut m| m.remove(sid).is_some()).unwrap_or(false)
    }
}

pub fn register(reg: &mut Registry, sessions: Arc<Sessions>) {
    let s = sessions.clone();
    reg.register("Login", false, move |call| {
        let arg = |i: usize| call.args.get(i).and_then(Value::as_str).unwrap_or_default().to_string();
        match (call.args.len(), arg(2).as_str()) {
            (0, _) => {
                s.allow_login("guest")?;
                Ok(json!({"Sid": s.open(String::new(), false)?, "Uid": ""}))
            }
            (1, _) | (_, "byppt") | (_, "byppt2") => s.login_ppt(&arg(0)),
            _ => Err(ApiError {
                status: 401,
                message: "login with a name and password needs a registered user; use a passport (Login(ppt))".into(),
            }),
        }
    });
    let s = sessions.clone();
    reg.register("LoginWithPPT", false, move |call| s.login_ppt(call.str_arg(0, "passport")?));
    let s = sessions;
    reg.register("Logout", false, move |call| Ok(Value::Bool(s.logout(call.str_arg(0, "session id")?))));
}
