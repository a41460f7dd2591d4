//! `SetUserInfo(sid, info)` with the original's keys: the profile (`name`, `email`, `memo`), the
//! name login (`newname`, `newpass`, proved by `pass` or `ppt`), other keys' passports that log
//! in as this user (`newppt`, `delppt`), and `father`, a user who may change this one's info.
//! `userid` picks whose info: the caller's own by default; another user's for the node's owner
//! or that user's father. Every key is checked before anything is written.

use super::Sessions;
use gateway::api::{ApiError, Call, Registry};
use proto_core::ppt;
use serde_json::{json, Map, Value};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

fn forbidden(message: String) -> ApiError {
    ApiError { status: 403, message }
}

fn is_user_id(s: &str) -> bool {
    s.len() == 27 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

const KEYS: &str = "name, email, memo, father, userid, pass, ppt, newname, newpass, newppt, delppt";

/// What one `SetUserInfo` call changes, all of it checked before any of it is written.
#[derive(Default)]
struct Plan {
    profile: Map<String, Value>,
    /// The name login: (old name, new name, new hash).
    login: Option<(Option<String>, String, Option<String>)>,
    link: Option<(String, [u8; 32])>,
    unlink: Option<String>,
}

impl Sessions {
    /// An argon2id hash of `pass` (the caller holds a hashing slot).
    pub(super) fn hash_with(&self, pass: &str) -> Result<String, ApiError> {
        use argon2::password_hash::{PasswordHasher, SaltString};
        let salt = SaltString::encode_b64(&(self.entropy)()[..16]).map_err(|e| ApiError::internal(e.to_string()))?;
        Ok(argon2::Argon2::default()
            .hash_password(pass.as_bytes(), &salt)
            .map_err(|e| ApiError::internal(e.to_string()))?
            .to_string())
    }

    fn hash(&self, pass: &str) -> Result<String, ApiError> {
        let _slot = self.hashes.acquire(Duration::from_millis(self.settings.hash_wait_ms)).ok_or_else(super::busy)?;
        self.hash_with(pass)
    }

    /// Whether `pass` matches the stored argon2id `hash` (waits for a hashing slot).
    pub(super) fn password_is(&self, hash: &str, pass: &str) -> Result<bool, ApiError> {
        use argon2::password_hash::{PasswordHash, PasswordVerifier};
        let parsed =
            PasswordHash::new(hash).map_err(|_| ApiError::internal("a stored password hash does not decode"))?;
        let _slot = self.hashes.acquire(Duration::from_millis(self.settings.hash_wait_ms)).ok_or_else(super::busy)?;
        Ok(argon2::Argon2::default().verify_password(pass.as_bytes(), &parsed).is_ok())
    }

    /// Notes which account name `uid` logs in with (older accounts learn it at their next login).
    pub(super) fn remember_name(&self, uid: &str, name: &str) -> Result<(), ApiError> {
        let key = format!("uname/{uid}");
        if self.users()?.kv_get(key.as_bytes()).map_err(ApiError::internal)?.as_deref() != Some(name.as_bytes()) {
            self.users()?.kv_put(key.as_bytes(), Some(name.as_bytes())).map_err(ApiError::internal)?;
        }
        Ok(())
    }

    fn account_of(&self, uid: &str) -> Result<Option<(String, Value)>, ApiError> {
        let Some(name) = self.users()?.kv_get(format!("uname/{uid}").as_bytes()).map_err(ApiError::internal)? else {
            return Ok(None);
        };
        let name = String::from_utf8_lossy(&name).to_string();
        let rec = self.users()?.kv_get(format!("user/{name}").as_bytes()).map_err(ApiError::internal)?;
        let rec = rec.and_then(|b| serde_json::from_slice::<Value>(&b).ok());
        Ok(rec.filter(|r| r["uid"] == uid).map(|r| (name, r)))
    }

    /// The user a key's passports log in as, when it was linked to one (`newppt`).
    pub(super) fn linked(&self, signer: &str) -> Result<Option<(String, [u8; 32])>, ApiError> {
        let Some(users) = &self.users else { return Ok(None) };
        let got = users.kv_get(format!("pptlink/{signer}").as_bytes()).map_err(ApiError::internal)?;
        let Some(v) = got.and_then(|b| serde_json::from_slice::<Value>(&b).ok()) else { return Ok(None) };
        let pk = v["pk"].as_str().and_then(crate::methods::users::keyring::hex32);
        Ok(v["uid"].as_str().zip(pk).map(|(u, pk)| (u.to_string(), pk)))
    }

    /// Whether `ppt` is a valid passport of `uid` (its own key's, or a key linked to it).
    fn passport_of(&self, text: &str, uid: &str) -> Result<bool, ApiError> {
        let Ok(p) = ppt::verify_ppt(text, None, now_ms()) else { return Ok(false) };
        let signer = p.signer.to_string();
        Ok(signer == uid || self.linked(&signer)?.is_some_and(|(u, _)| u == uid))
    }

    fn set_user_info(&self, call: &Call<'_>) -> Result<Value, ApiError> {
        let caller = call.user.clone().filter(|u| !u.is_empty()).unwrap_or_default();
        if caller.is_empty() && !call.may_write {
            return Err(ApiError {
                status: 401,
                message: "SetUserInfo needs a logged-in session (not a guest's)".into(),
            });
        }
        let Some(Value::Object(info)) = call.arg("info") else {
            return Err(ApiError::bad_request("argument 2 (info) must be a map like {\"name\": \"…\"}"));
        };
        let text = |k: &str| info.get(k).map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()));
        if let Some(k) = info.keys().find(|k| !KEYS.split(", ").any(|known| known == k.as_str())) {
            return Err(ApiError::bad_request(format!("SetUserInfo has no key \"{k}\" (it takes {KEYS})")));
        }
        let users = self.keyring.as_ref().ok_or_else(|| ApiError::internal("this node keeps no user profiles"))?;
        let target = text("userid").filter(|t| !t.is_empty()).unwrap_or_else(|| caller.clone());
        if target.is_empty() {
            return Err(ApiError::bad_request("the node's token changes a user's info: give userid"));
        }
        if !is_user_id(&target) {
            return Err(ApiError::bad_request(format!("userid \"{target}\" is not a user id")));
        }
        let mut profile = users.profile(&target)?;
        let owner = call.may_write;
        let own = target == caller;
        let father = profile.get("father").and_then(Value::as_str) == Some(caller.as_str());
        if !own && !owner && !father {
            return Err(forbidden(format!(
                "only user {target}, their father or the node's owner can change {target}'s info"
            )));
        }
        let mut plan = Plan { profile: Map::new(), ..Plan::default() };
        for k in ["name", "email", "memo"] {
            match text(k) {
                Some(v) if v.len() > 256 => return Err(ApiError::bad_request(format!("{k} is longer than 256 bytes"))),
                Some(v) => drop(plan.profile.insert(k.into(), Value::String(v))),
                None => {}
            }
        }
        if let Some(f) = text("father") {
            if !own && !owner {
                return Err(forbidden("a user's father is set by the user or the node's owner".into()));
            }
            if !f.is_empty() && (!is_user_id(&f) || f == target) {
                return Err(ApiError::bad_request(format!("father \"{f}\" is not another user's id")));
            }
            plan.profile.insert("father".into(), Value::String(f));
        }
        self.plan_login(call, &target, own && !owner, &text, &mut plan)?;
        self.plan_links(call, &target, &text, &mut plan)?;
        // Everything checked: write.
        if let Some((old, new, hash)) = plan.login {
            self.write_login(&target, old, &new, hash, call.user_pk.filter(|_| own))?;
        }
        if let Some((signer, pk)) = plan.link {
            let v = json!({"uid": target, "pk": crate::methods::users::keyring::hex(&pk)}).to_string();
            self.users()?
                .kv_put(format!("pptlink/{signer}").as_bytes(), Some(v.as_bytes()))
                .map_err(ApiError::internal)?;
        }
        if let Some(signer) = plan.unlink {
            self.users()?.kv_put(format!("pptlink/{signer}").as_bytes(), None).map_err(ApiError::internal)?;
        }
        profile.extend(plan.profile);
        users.set_profile(&target, &profile)?;
        Ok(Value::Object(profile))
    }

    /// `newname` / `newpass`: checked against the account (and, for the user's own change, its
    /// current password or a passport of theirs), hashed, not yet written.
    fn plan_login(
        &self,
        call: &Call<'_>,
        target: &str,
        needs_proof: bool,
        text: &dyn Fn(&str) -> Option<String>,
        plan: &mut Plan,
    ) -> Result<(), ApiError> {
        let (new_name, new_pass) = (text("newname"), text("newpass"));
        if new_name.is_none() && new_pass.is_none() {
            return Ok(());
        }
        let account = self.account_of(target)?;
        if let (Some((_, rec)), true) = (&account, needs_proof) {
            let by_pass = match (text("pass"), rec["hash"].as_str()) {
                (Some(p), Some(h)) => self.password_is(h, &p)?,
                _ => false,
            };
            let by_ppt = match text("ppt") {
                Some(p) => self.passport_of(&p, target)?,
                None => false,
            };
            if !by_pass && !by_ppt {
                return Err(forbidden(
                    "changing the name login needs the current password (pass) or a passport of yours (ppt)".into(),
                ));
            }
        }
        if account.is_none() && (new_name.is_none() || new_pass.is_none() || call.user.as_deref() != Some(target)) {
            return Err(ApiError::bad_request(format!(
                "user {target} has no name login: the user makes one with newname and newpass together"
            )));
        }
        if let Some(n) = &new_name {
            if n.is_empty() || n.len() > 64 || n.contains(['/', '\0']) {
                return Err(ApiError::bad_request("a user name is 1 to 64 characters without '/'"));
            }
            let same = account.as_ref().is_some_and(|(old, _)| old == n);
            if !same && self.users()?.kv_get(format!("user/{n}").as_bytes()).map_err(ApiError::internal)?.is_some() {
                return Err(ApiError::bad_request(format!("the user name {n} is taken")));
            }
        }
        let hash = match new_pass {
            Some(p) if p.is_empty() => return Err(ApiError::bad_request("an empty password is not allowed")),
            Some(p) => Some(self.hash(&p)?),
            None => None,
        };
        let old = account.map(|(n, _)| n);
        let name = new_name.or_else(|| old.clone()).unwrap_or_default();
        plan.login = Some((old, name, hash));
        Ok(())
    }

    /// `newppt` (a passport whose `Userid` names the user: its key then logs in as them) and
    /// `delppt` (a key id or a passport: no longer).
    fn plan_links(
        &self,
        call: &Call<'_>,
        target: &str,
        text: &dyn Fn(&str) -> Option<String>,
        plan: &mut Plan,
    ) -> Result<(), ApiError> {
        if let Some(t) = text("newppt") {
            let p = ppt::verify_ppt(&t, None, now_ms())
                .map_err(|e| ApiError::bad_request(format!("newppt is not a valid passport: {e}")))?;
            if p.pairs.get("CertFor").map(String::as_str) != Some("Self")
                || p.pairs.get("Userid").map(String::as_str) != Some(target)
            {
                return Err(ApiError::bad_request(format!(
                    "newppt must be a CertFor=Self passport with Userid={target} (its key's holder agrees to log in as {target})"
                )));
            }
            let signer = p.signer.to_string();
            if signer == target {
                return Err(ApiError::bad_request("newppt is the user's own key: it logs in as them already"));
            }
            let pk = match call.user_pk.filter(|_| call.user.as_deref() == Some(target)) {
                Some(pk) => Some(pk),
                None => self.account_pk(target)?,
            }
            .ok_or_else(|| {
                ApiError::bad_request(format!("user {target}'s key is not known here: the user links keys"))
            })?;
            plan.link = Some((signer, pk));
        }
        if let Some(t) = text("delppt") {
            let signer = match is_user_id(&t) {
                true => t.clone(),
                false => serde_json::from_str::<Value>(&t)
                    .ok()
                    .and_then(|v| v["SignerID"].as_str().map(str::to_string))
                    .ok_or_else(|| ApiError::bad_request("delppt takes a key id or a passport"))?,
            };
            if self.linked(&signer)?.map(|(u, _)| u) != Some(target.to_string()) {
                return Err(ApiError::bad_request(format!("key {signer} does not log in as {target}")));
            }
            plan.unlink = Some(signer);
        }
        Ok(())
    }

    /// The public key of an account's user, from the account's record.
    fn account_pk(&self, uid: &str) -> Result<Option<[u8; 32]>, ApiError> {
        let Some((_, rec)) = self.account_of(uid)? else { return Ok(None) };
        let seed = rec["seed"].as_str().and_then(crate::methods::users::keyring::hex32);
        Ok(seed
            .map(|s| proto_core::identity::Identity::from_seed(s).public_key())
            .or_else(|| rec["pk"].as_str().and_then(crate::methods::users::keyring::hex32)))
    }

    fn write_login(
        &self,
        uid: &str,
        old: Option<String>,
        name: &str,
        hash: Option<String>,
        pk: Option<[u8; 32]>,
    ) -> Result<(), ApiError> {
        let _write = self.accounts.lock().map_err(|_| ApiError::internal("account table poisoned"))?;
        let kv = self.users()?;
        let mut rec = match &old {
            Some(o) => kv
                .kv_get(format!("user/{o}").as_bytes())
                .map_err(ApiError::internal)?
                .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
                .unwrap_or_else(|| json!({"uid": uid})),
            None => json!({"uid": uid, "pk": pk.map(|k| crate::methods::users::keyring::hex(&k))}),
        };
        if old.as_deref() != Some(name)
            && kv.kv_get(format!("user/{name}").as_bytes()).map_err(ApiError::internal)?.is_some()
        {
            return Err(ApiError::bad_request(format!("the user name {name} is taken")));
        }
        if let Some(h) = hash {
            rec["hash"] = Value::String(h);
        }
        kv.kv_put(format!("user/{name}").as_bytes(), Some(rec.to_string().as_bytes())).map_err(ApiError::internal)?;
        if let Some(o) = old.filter(|o| o != name) {
            kv.kv_put(format!("user/{o}").as_bytes(), None).map_err(ApiError::internal)?;
        }
        kv.kv_put(format!("uname/{uid}").as_bytes(), Some(name.as_bytes())).map_err(ApiError::internal)
    }
}

pub fn register_user_info(reg: &mut Registry, sessions: Arc<Sessions>) {
    reg.register("SetUserInfo", false, move |call| sessions.set_user_info(&call));
}
