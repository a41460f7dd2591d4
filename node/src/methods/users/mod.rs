//! Users of a node (docs/users.md): who may make MiMeis here (the owner's policy, the `mimei`
//! service, quotas), who may change a MiMei (its author on the node that writes it, or the
//! node's owner), and how the node signs for its users (`keyring`). The methods: `RequestService`,
//! `AddKey`, `AddDelegation`, `PPTStr2Map`, `Sign`.

pub mod keyring;
mod methods;

use gateway::api::{ApiError, Call};
use keyring::{Keyring, Kv};
use proto_core::identity::node_id_of;
use proto_core::mimei::Mimei;
use std::sync::Arc;
use storage::repo::UserSettings;

pub use methods::register;

pub struct Users {
    pub keyring: Keyring,
    store: Kv,
    settings: UserSettings,
}

fn forbidden(message: String) -> ApiError {
    ApiError { status: 403, message }
}

impl Users {
    pub fn new(store: Kv, node: Arc<proto_core::identity::Identity>, settings: UserSettings) -> Users {
        Users { keyring: Keyring::new(store.clone(), node), store, settings }
    }

    pub fn settings(&self) -> &UserSettings {
        &self.settings
    }

    fn refused(&self, uid: &str) -> Result<(), ApiError> {
        if self.settings.refuse.iter().any(|r| r == uid) {
            return Err(forbidden(format!("user {uid} is refused on this node")));
        }
        Ok(())
    }

    /// Whether `uid` asked for `service` (`RequestService`).
    pub fn has_service(&self, uid: &str, service: &str) -> Result<bool, ApiError> {
        let key = format!("service/{service}/{uid}");
        Ok(self.store.kv_get(key.as_bytes()).map_err(ApiError::internal)?.is_some())
    }

    pub fn grant_service(&self, uid: &str, service: &str) -> Result<(), ApiError> {
        self.refused(uid)?;
        let key = format!("service/{service}/{uid}");
        self.store.kv_put(key.as_bytes(), Some(b"1")).map_err(ApiError::internal)
    }

    /// The author key of a MiMei this caller makes: the node's for the owner, else the user's,
    /// if the node's policy lets the user make MiMeis here.
    pub fn creator(&self, call: &Call<'_>) -> Result<[u8; 32], ApiError> {
        if call.may_write {
            return Ok(self.keyring.node_pk());
        }
        let pk = call.user_pk.ok_or_else(|| ApiError {
            status: 401,
            message: "making a MiMei needs a logged-in user's session or the node's token".into(),
        })?;
        let uid = node_id_of(&pk).to_string();
        self.refused(&uid)?;
        if self.settings.allow.contains(&uid) {
            return Ok(pk);
        }
        match self.settings.mimei_users.as_str() {
            "all" => Ok(pk),
            "none" => Err(forbidden(format!(
                "this node makes MiMeis for its owner only (users.mimei_users = \"none\"); user {uid} is not allowed"
            ))),
            _ if self.has_service(&uid, "mimei")? => Ok(pk),
            _ => Err(forbidden(format!(
                "user {uid} has not requested the mimei service on this node: call RequestService(ppt) first (leither lpki reqservice -c CERT -n URL)"
            ))),
        }
    }

    /// Refuses a user past their MiMei quota (`count` = the MiMeis they have here).
    pub fn check_count(&self, call: &Call<'_>, count: usize) -> Result<(), ApiError> {
        let max = self.settings.max_mimeis_per_user;
        if !call.may_write && count >= max {
            return Err(forbidden(format!(
                "quota exceeded: a user may make {max} MiMeis on this node (users.max_mimeis_per_user)"
            )));
        }
        Ok(())
    }

    /// A user's profile (`SetUserInfo`): name, email, memo.
    pub fn profile(&self, uid: &str) -> Result<serde_json::Map<String, serde_json::Value>, ApiError> {
        let got = self.store.kv_get(format!("profile/{uid}").as_bytes()).map_err(ApiError::internal)?;
        Ok(got.and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default())
    }

    pub fn set_profile(&self, uid: &str, p: &serde_json::Map<String, serde_json::Value>) -> Result<(), ApiError> {
        let bytes = serde_json::to_vec(p).map_err(|e| ApiError::internal(e.to_string()))?;
        self.store.kv_put(format!("profile/{uid}").as_bytes(), Some(&bytes)).map_err(ApiError::internal)
    }

    /// Bytes `pk` has added to this node.
    fn usage(&self, pk: &[u8; 32]) -> Result<u64, ApiError> {
        let key = [b"usage/".as_slice(), pk].concat();
        let v = self.store.kv_get(&key).map_err(ApiError::internal)?;
        Ok(v.and_then(|b| <[u8; 8]>::try_from(b.as_slice()).ok()).map_or(0, u64::from_le_bytes))
    }

    /// Refuses a user whose adds have reached `users.max_bytes_per_user` (an add that starts
    /// under it completes; the next is refused).
    pub fn check_bytes(&self, pk: &[u8; 32]) -> Result<(), ApiError> {
        let max = self.settings.max_bytes_per_user;
        if self.usage(pk)? >= max {
            return Err(forbidden(format!(
                "quota exceeded: a user may add {max} bytes to this node (users.max_bytes_per_user)"
            )));
        }
        Ok(())
    }

    /// Counts `bytes` added by `pk`.
    pub fn charge(&self, pk: &[u8; 32], bytes: u64) -> Result<(), ApiError> {
        let key = [b"usage/".as_slice(), pk].concat();
        let total = self.usage(pk)?.saturating_add(bytes);
        self.store.kv_put(&key, Some(&total.to_le_bytes())).map_err(ApiError::internal)
    }

    /// Whether the caller may `what` MiMei `m`: the node must write it (not hold a replica), and
    /// the caller be its author or the node's owner.
    pub fn check_change(&self, call: &Call<'_>, m: &Mimei, what: &str) -> Result<(), ApiError> {
        let mid = m.mid();
        if !m.is_home(&self.keyring.node_pk()) {
            return Err(forbidden(format!(
                "this node holds a replica of MiMei {mid}; {what} it on the node that writes it"
            )));
        }
        if call.may_write {
            return Ok(());
        }
        let author = m.author_id().to_string();
        match call.user_pk {
            Some(pk) if pk == m.author => self.refused(&author),
            _ => Err(forbidden(format!("only the author ({author}) or the node's owner can {what} MiMei {mid}"))),
        }
    }
}
