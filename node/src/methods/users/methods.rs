//! The users' methods: `RequestService(ppt)`, `AddKey(key)` (loopback only), `AddDelegation(sid,
//! text)`, `PPTStr2Map(ppt)` and `Sign(sid, message)` (`SetUserInfo` is with the accounts, in
//! `session/accounts.rs`).

use super::Users;
use gateway::api::{ApiError, Registry};
use proto_core::dht::delegation::Delegation;
use proto_core::ppt;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

fn refused(e: impl std::fmt::Display) -> ApiError {
    ApiError { status: 401, message: format!("passport refused: {e}") }
}

pub fn register(reg: &mut Registry, users: &Arc<Users>) {
    // RequestService(ppt): the passport's holder asks for a service (`RequestService=<name>` in
    // the passport, default `mimei`); the answer maps each service to what was granted.
    let u = users.clone();
    reg.register("RequestService", false, move |call| {
        let p = ppt::verify_ppt(call.str("ppt")?, None, now_ms()).map_err(refused)?;
        if p.pairs.get("CertFor").map(String::as_str) != Some("Self") {
            return Err(refused("a service is requested with a CertFor=Self passport"));
        }
        let uid = p.signer.to_string();
        let service = p.pairs.get("RequestService").map(String::as_str).unwrap_or("mimei").to_string();
        if service != "mimei" {
            return Err(ApiError::bad_request(format!("this node offers no service \"{service}\" (it offers mimei)")));
        }
        u.grant_service(&uid, &service)?;
        Ok(json!({ service: {"granted": "true", "userid": uid} }))
    });
    // AddKey(key file): the node keeps a user's private key and signs for them. Only over
    // loopback, as the original's `lpki addkey`: the key never crosses a network.
    let u = users.clone();
    reg.register("AddKey", false, move |call| {
        if call.remote.is_some_and(|ip| !ip.to_canonical().is_loopback()) {
            return Err(ApiError {
                status: 403,
                message: "AddKey is accepted only over loopback (run `leither lpki addkey KEY` on the node's machine)"
                    .into(),
            });
        }
        let id = ppt::read_key(call.str("key")?).map_err(|e| ApiError::bad_request(format!("not a key file: {e}")))?;
        let pk = u.keyring.keep_key(id.seed())?;
        Ok(Value::String(proto_core::identity::node_id_of(&pk).to_string()))
    });
    // AddDelegation(sid, text): a user's delegation to this node (`lpki delegate`). It proves
    // itself (the user signed it, naming this node), so anyone may hand it over.
    let u = users.clone();
    reg.register("AddDelegation", false, move |call| {
        let d = Delegation::from_text(call.str("delegation")?)
            .ok_or_else(|| ApiError::bad_request("not a delegation (make one with leither lpki delegate)"))?;
        u.keyring.keep_delegation(&d, now_ms())?;
        Ok(json!({"userid": proto_core::identity::node_id_of(&d.user).to_string(), "until": ppt::rfc3339(d.not_after)}))
    });
    // PPTStr2Map(ppt): a passport's Data as a map, unverified (as the original).
    reg.register("PPTStr2Map", false, move |call| {
        let v: Value = serde_json::from_str(call.str("ppt")?)
            .map_err(|_| ApiError::bad_request("a passport is a JSON object with Data"))?;
        let data =
            v.get("Data").and_then(Value::as_str).ok_or_else(|| ApiError::bad_request("the passport has no Data"))?;
        let pairs = ppt::parse_data(data).map_err(|e| ApiError::bad_request(e.to_string()))?;
        Ok(Value::Object(pairs.into_iter().map(|(k, v)| (k, Value::String(v))).collect()))
    });
    // Sign(sid, message): the session user's ed25519 signature (base64url), when the node holds
    // their key; the owner's session signs with the node's key.
    let u = users.clone();
    reg.register("Sign", false, move |call| {
        let pk = if call.may_write { Some(u.keyring.node_pk()) } else { call.user_pk };
        let pk = pk.ok_or_else(|| ApiError { status: 401, message: "Sign needs a logged-in session".into() })?;
        let msg = match call.arg("message") {
            Some(Value::String(s)) => s.as_bytes().to_vec(),
            Some(Value::Array(a)) => a.iter().map(|b| b.as_u64().unwrap_or(0) as u8).collect(),
            _ => return Err(ApiError::bad_request("argument 2 (message) must be a string or bytes")),
        };
        match u.keyring.signing_for(&pk, now_ms())? {
            super::keyring::Signing::Key(k) => {
                Ok(Value::String(proto_core::multibase::base64url_encode(&k.sign(&msg))))
            }
            super::keyring::Signing::Node(n) => {
                Ok(Value::String(proto_core::multibase::base64url_encode(&n.sign(&msg))))
            }
            super::keyring::Signing::Delegated(..) => Err(ApiError {
                status: 403,
                message: "this node holds no key of yours: a delegation signs MiMei heads, not messages".into(),
            }),
        }
    });
}
