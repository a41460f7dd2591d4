//! Domains (§3.8): `SetDomain(sid, domain, target)` — `http://<domain>/` on this node serves the
//! template page of `target` (`<mid>,<appid>`, `,<appid>` or a mid with a default app; `""`
//! removes it) — `DelDomain(sid, domain)` and `ShowDomain(sid)`. The node's owner sets any
//! domain; a user (a developer) points a free domain, or one of their own, at their own MiMeis
//! and apps, up to `users.max_domains_per_user`. Who holds which domain is kept beside it.

use super::*;
use serde_json::Map;

/// The index of domains: domain → the user who set it ("" = the owner).
const INDEX: &[u8] = b"domains";

fn index<B: Backend>(s: &B) -> Result<Map<String, Value>, ApiError> {
    let got = s.kv_get(INDEX).map_err(ApiError::internal)?;
    Ok(got.and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default())
}

fn host(call: &Call<'_>) -> Result<String, ApiError> {
    let domain = call.str("domain")?.trim().to_ascii_lowercase();
    let valid = !domain.is_empty()
        && domain.len() <= 253
        && domain.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    if !valid {
        return Err(ApiError::bad_request(format!("\"{domain}\" is not a host name")));
    }
    Ok(domain)
}

fn forbidden(message: String) -> ApiError {
    ApiError { status: 403, message }
}

/// Who the call acts for: `""` for the owner, else the user's id (their key must be known).
fn holder(call: &Call<'_>) -> Result<(String, Option<[u8; 32]>), ApiError> {
    if call.may_write {
        return Ok((String::new(), None));
    }
    let pk =
        call.user_pk.ok_or_else(|| ApiError { status: 401, message: "domains need a logged-in session".into() })?;
    Ok((proto_core::identity::node_id_of(&pk).to_string(), Some(pk)))
}

/// A user may change a domain nobody holds, or one they hold.
fn may_hold(index: &Map<String, Value>, domain: &str, uid: &str) -> Result<(), ApiError> {
    match index.get(domain).and_then(Value::as_str) {
        Some(h) if !uid.is_empty() && h != uid => Err(forbidden(format!(
            "domain {domain} is held by {} on this node",
            if h.is_empty() { "the node's owner".to_string() } else { format!("user {h}") }
        ))),
        _ => Ok(()),
    }
}

fn remove<B: Backend>(s: &B, mut idx: Map<String, Value>, domain: &str) -> Result<(), ApiError> {
    s.kv_put(format!("domain/{domain}").as_bytes(), None).map_err(ApiError::internal)?;
    idx.remove(domain);
    save(s, idx)
}

fn save<B: Backend>(s: &B, idx: Map<String, Value>) -> Result<(), ApiError> {
    s.kv_put(INDEX, Some(Value::Object(idx).to_string().as_bytes())).map_err(ApiError::internal)
}

pub(super) fn register<B: Backend>(reg: &mut Registry, store: &Arc<B>, users: &Arc<Users>) {
    // Held from reading the index to writing it back.
    let lock = Arc::new(std::sync::Mutex::new(()));
    let (s, u, l) = (store.clone(), users.clone(), lock.clone());
    reg.register("SetDomain", true, move |call| {
        let domain = host(&call)?;
        let (uid, pk) = holder(&call)?;
        let _held = l.lock().map_err(|_| ApiError::internal("the domain index lock is poisoned"))?;
        let target = match call.arg("info") {
            Some(Value::String(t)) => t.trim().to_string(),
            Some(Value::Object(o)) => o.get("app").and_then(Value::as_str).unwrap_or_default().trim().to_string(),
            _ => return Err(ApiError::bad_request("argument 3 is the target: <mid>, <mid>,<appid> or ,<appid>")),
        };
        let mut idx = index(&*s)?;
        may_hold(&idx, &domain, &uid)?;
        if target.is_empty() {
            remove(&*s, idx, &domain)?;
            return Ok(Value::Null);
        }
        let parts: Vec<&str> = target.split(',').filter(|p| !p.is_empty()).collect();
        let mids: Result<Vec<Mid>, _> = parts.iter().map(|p| Mid::parse(p)).collect();
        let mids = match mids {
            Ok(m) if !m.is_empty() && target.split(',').count() <= 2 => m,
            _ => return Err(ApiError::bad_request(format!("\"{target}\" is not <mid>, <mid>,<appid> or ,<appid>"))),
        };
        if let Some(pk) = pk {
            for mid in &mids {
                let mine = s.get_mimei(mid).map_err(ApiError::internal)?.is_some_and(|m| m.author == pk);
                if !mine {
                    return Err(forbidden(format!(
                        "a user points a domain only at their own MiMeis and apps: {mid} is not {uid}'s on this node"
                    )));
                }
            }
            let held = idx.values().filter(|h| h.as_str() == Some(uid.as_str())).count();
            let max = u.settings().max_domains_per_user;
            if !idx.contains_key(&domain) && held >= max {
                return Err(forbidden(format!(
                    "quota exceeded: a user may hold {max} domains on this node (users.max_domains_per_user)"
                )));
            }
        }
        s.kv_put(format!("domain/{domain}").as_bytes(), Some(target.as_bytes())).map_err(ApiError::internal)?;
        idx.insert(domain.clone(), Value::String(uid.clone()));
        save(&*s, idx)?;
        Ok(json!({"domain": domain, "target": target, "holder": uid}))
    });

    let s = store.clone();
    reg.register("DelDomain", true, move |call| {
        let domain = host(&call)?;
        let (uid, _) = holder(&call)?;
        let _held = lock.lock().map_err(|_| ApiError::internal("the domain index lock is poisoned"))?;
        let idx = index(&*s)?;
        may_hold(&idx, &domain, &uid)?;
        remove(&*s, idx, &domain)?;
        Ok(Value::Bool(true))
    });

    // ShowDomain(sid): the owner sees every domain; a user the ones they hold; a guest none.
    let s = store.clone();
    reg.register("ShowDomain", false, move |call| {
        let idx = index(&*s)?;
        let who = if call.may_write { None } else { Some(call.user.clone().unwrap_or_default()) };
        let mut out = Vec::new();
        for (d, h) in idx {
            if who.as_ref().is_some_and(|w| w.is_empty() || h.as_str() != Some(w.as_str())) {
                continue;
            }
            let target = s.kv_get(format!("domain/{d}").as_bytes()).map_err(ApiError::internal)?;
            out.push(format!("{d} {}", String::from_utf8_lossy(&target.unwrap_or_default())));
        }
        Ok(json!(out))
    });
}
