//! `GetVar` names about the machine and the node (leither-facts §3.2): `cpu` (busy % per CPU
//! over 200 ms, from /proc/stat), `virtualmemory` (/proc/meminfo), `disk` (the repo's
//! filesystem), `peerid`, `nodeinfo`, `systemvars` (the repo's config.json), `userinfo`, `mid`
//! (a MiMei id computed from its creation fields) and `ppt` (a passport the node signs: the
//! owner's, so only for the token or the owner's session).

use gateway::api::{ApiError, Call};
use proto_core::mimei::{Info, Kind};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::Duration;

pub struct NodeVars {
    pub node_id: String,
    pub node_pk: [u8; 32],
    pub seed: [u8; 32],
    pub version: &'static str,
    pub repo: PathBuf,
    /// Users' profiles (`SetUserInfo`).
    pub users: std::sync::Arc<crate::methods::users::Users>,
}

/// Per-CPU (idle, total) jiffies.
fn cpu_times() -> Option<Vec<(u64, u64)>> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    let rows = text.lines().filter(|l| l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit));
    Some(
        rows.map(|l| {
            let n: Vec<u64> = l.split_whitespace().skip(1).filter_map(|x| x.parse().ok()).collect();
            // idle + iowait are not busy.
            let idle = n.get(3).copied().unwrap_or(0) + n.get(4).copied().unwrap_or(0);
            (idle, n.iter().sum())
        })
        .collect(),
    )
}

fn cpu() -> Value {
    let Some(a) = cpu_times() else { return json!([]) };
    std::thread::sleep(Duration::from_millis(200));
    let b = cpu_times().unwrap_or_default();
    let busy = a.iter().zip(&b).map(|((i0, t0), (i1, t1))| {
        let (di, dt) = (i1.saturating_sub(*i0), t1.saturating_sub(*t0));
        if dt == 0 {
            0.0
        } else {
            100.0 * (dt - di.min(dt)) as f64 / dt as f64
        }
    });
    Value::Array(busy.map(|p| json!((p * 10.0).round() / 10.0)).collect())
}

fn memory() -> Value {
    let text = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let kib = |k: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(k)?.strip_prefix(':'))
            .and_then(|r| r.split_whitespace().next()?.parse::<u64>().ok())
            .unwrap_or(0)
            * 1024
    };
    let (total, avail) = (kib("MemTotal"), kib("MemAvailable"));
    let used = total.saturating_sub(avail);
    json!({"total": total, "available": avail, "used": used, "usedPercent": percent(used, total)})
}

/// `part` of `whole` in percent, one decimal.
fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        (1000.0 * part as f64 / whole as f64).round() / 10.0
    }
}

fn disk(repo: &std::path::Path) -> Value {
    match storage::space::fs_space(repo) {
        Ok(s) => {
            let used = s.total.saturating_sub(s.free);
            json!({"total": s.total, "free": s.avail, "usedPercent": percent(used, s.total)})
        }
        Err(_) => Value::String(String::new()),
    }
}

impl NodeVars {
    /// The public key behind a 27-character id the node knows (its own, the caller's), or a
    /// public key given as base64url.
    fn key_of(&self, uid: &str, call: &Call<'_>) -> Option<[u8; 32]> {
        if uid == self.node_id {
            return Some(self.node_pk);
        }
        if let Some(pk) = call.user_pk.filter(|pk| proto_core::identity::node_id_of(pk).to_string() == uid) {
            return Some(pk);
        }
        proto_core::multibase::base64url_decode(uid).and_then(|b| <[u8; 32]>::try_from(b).ok())
    }

    /// The value of `name` (lower case), or `None` when it is not one of these.
    pub fn get(&self, name: &str, args: &[Value], call: &Call<'_>) -> Option<Result<Value, ApiError>> {
        let arg = |i: usize| args.get(i).and_then(Value::as_str).unwrap_or_default();
        Some(Ok(match name {
            "cpu" => cpu(),
            "virtualmemory" => memory(),
            "disk" => disk(&self.repo),
            "peerid" => Value::String(proto_core::peer_id::to_text(&self.node_pk)),
            "nodeinfo" => {
                json!({"id": self.node_id, "peerid": proto_core::peer_id::to_text(&self.node_pk), "ver": self.version})
            }
            "systemvars" => std::fs::read_to_string(self.repo.join("config.json"))
                .ok()
                .and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or(Value::String(String::new())),
            "userinfo" => {
                let uid = match (&call.user, call.may_write) {
                    (Some(u), _) if !u.is_empty() => u.clone(),
                    (_, true) => self.node_id.clone(),
                    _ => return Some(Ok(Value::String(String::new()))),
                };
                let mut info = match self.users.profile(&uid) {
                    Ok(p) => p,
                    Err(e) => return Some(Err(e)),
                };
                info.insert("userid".into(), json!(uid));
                info.insert("owner".into(), json!(call.may_write));
                Value::Object(info)
            }
            // mid(uid, aid, ext, mark, tp): the id a MiMei with these creation fields has.
            "mid" => {
                let Some(pk) = self.key_of(arg(0), call) else { return Some(Ok(Value::String(String::new()))) };
                let kind = if args.get(4).and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok())) == Some(2) {
                    Kind::Db
                } else {
                    Kind::File
                };
                let info = Info { kind, appid: arg(1).into(), ext: arg(2).into(), mark: arg(3).into() };
                Value::String(info.mid(&pk).to_string())
            }
            "ppt" => return Some(self.ppt(args, call)),
            _ => return None,
        }))
    }

    /// `ppt(period)`: a login passport signed with the node's key — the owner's, so it is given
    /// only to callers that already have the owner's rights (the token, the owner's session).
    fn ppt(&self, args: &[Value], call: &Call<'_>) -> Result<Value, ApiError> {
        if !call.may_write {
            return Err(ApiError {
                status: 401,
                message: "GetVar ppt gives the owner's passport: it needs the node's API token".into(),
            });
        }
        let period = match args.first() {
            None => 60,
            Some(v) => v.as_u64().or_else(|| v.as_str()?.parse().ok()).unwrap_or(0),
        };
        if period == 0 || period > 10_080 {
            return Err(ApiError::bad_request(format!("period {period} is out of range: give minutes in 1..=10080")));
        }
        let node = proto_core::identity::Identity::from_seed(self.seed);
        let cert = proto_core::ppt::make_cert(&node, &node, &Default::default())
            .map_err(|e| ApiError::internal(e.to_string()))?;
        let mut pairs = std::collections::BTreeMap::new();
        pairs.insert("CertFor".to_string(), "Self".to_string());
        let now =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        let p = proto_core::ppt::sign_ppt(&cert, &pairs, period, now).map_err(|e| ApiError::internal(e.to_string()))?;
        Ok(Value::String(p.to_string()))
    }
}
