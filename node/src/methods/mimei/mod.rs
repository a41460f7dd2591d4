//! MiMei API methods with the original's names: `MMCreate`, `MFSetCid`, `MMGetCid`,
//! `MMRelease`, `MMRestore`, `MMDelVers`, `MiMeiPublish`, `MiMeiShow`, `MiMeiSync`, `MiMeiProvide`,
//! `MiMeiFindProvs`.

mod apps;
mod domains;
mod follow;
mod providers;
mod publish;
mod refs;
mod release;
mod rights;
mod versions;

use crate::content::fetching::Fetching;
use crate::methods::ipfs::parse_cid;
use crate::methods::net::addr_text;
use crate::methods::users::Users;
use crate::net::NetHandle;
use crate::Backend;
use gateway::api::{ApiError, Call, Registry};
use proto_core::cid::{Cid, CODEC_DAG_PB};
use proto_core::dagpb::PbNode;
use proto_core::dht::{self, Key};
use proto_core::mimei::{conflicts, read_head, Head, Info, Kind, Mid, Mimei};
use proto_core::node::{Command, Reply};
use proto_core::unixfs::read::BlockRead;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// Empties a DB MiMei's current data (`MMDelVers(mid, "cur")`).
pub type DbWipe = Arc<dyn Fn(&Mid) -> Result<(), String> + Send + Sync>;

/// `host:port` for browsers: the host of a peer multiaddr with an HTTP port.
/// Every HTTP address a provider may answer on: its peer addresses' hosts with its HTTP port.
fn http_addrs(addrs: &[proto_core::dht::Addr], port: u16) -> Vec<String> {
    let mut out: Vec<String> = addrs
        .iter()
        .filter_map(|a| {
            let text = addr_text(a);
            let mut parts = text.split('/').skip(1);
            match (parts.next(), parts.next()) {
                (Some("ip4"), Some(ip)) => Some(format!("{ip}:{port}")),
                (Some("ip6"), Some(ip)) => Some(format!("[{ip}]:{port}")),
                (Some("dns4" | "dns6" | "dns"), Some(host)) => Some(format!("{host}:{port}")),
                _ => None,
            }
        })
        .collect();
    out.dedup();
    out
}

/// The right word new MiMeis get when none is given (the original CLI's default).
pub const DEFAULT_RIGHT: u64 = 0x07276704;

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// The call's `mid` argument, parsed.
pub(crate) fn mid_arg(call: &Call<'_>) -> Result<Mid, ApiError> {
    let t = call.str("mid")?;
    Mid::parse(t).map_err(|e| ApiError::bad_request(format!("invalid mid \"{t}\": {e}")))
}

fn load<B: Backend>(s: &B, mid: &Mid) -> Result<Mimei, ApiError> {
    s.get_mimei(mid)
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::not_found(format!("MiMei {mid} is not on this node (sync it first)")))
}

/// A MiMei this node writes that the caller may change (`what` the caller wants to do with
/// it, for the refusal): its author's or the owner's call.
pub(crate) fn load_own<B: Backend>(
    s: &B,
    users: &Users,
    call: &Call<'_>,
    mid: &Mid,
    what: &str,
) -> Result<Mimei, ApiError> {
    let m = load(s, mid)?;
    users.check_change(call, &m, what)?;
    Ok(m)
}

fn head_json(h: &Head) -> Value {
    let versions: Vec<Value> = h
        .versions
        .iter()
        .map(|(v, c)| json!({"ver": v, "cid": c.cid().map(|c| c.to_string()).unwrap_or_default()}))
        .collect();
    json!({"versions": versions, "last": h.versions.keys().next_back(), "release": h.release})
}

fn net_call(net: &Option<Arc<dyn NetHandle>>, c: Command) -> Result<Reply, ApiError> {
    let n = net.as_ref().ok_or_else(|| ApiError::internal("this node has no peer network"))?;
    n.call(c).map_err(|e| ApiError { status: 502, message: e })
}

/// The newest valid head of `mid` on the network, if any.
fn net_head(net: &Option<Arc<dyn NetHandle>>, mid: &Mid) -> Result<Option<(dht::Record, Head)>, ApiError> {
    match net_call(net, Command::Dht(dht::Command::GetRecord(mid.0)))? {
        Reply::Dht(dht::Reply::Record(Some(r))) => Ok(read_head(&r, mid, now_ms()).map(|h| (r, h))),
        _ => Ok(None),
    }
}

/// Fetches every block of a DAG that is not here yet.
fn fetch_dag<B: Backend>(store: &Arc<B>, net: &Arc<dyn NetHandle>, root: &Cid) -> Result<u64, ApiError> {
    let f = Fetching::new(store.clone(), net.clone(), root.clone());
    let walk = || {
        // Depth first in link order (the order the fetcher reads ahead in).
        let mut stack = vec![root.clone()];
        let mut n = 0;
        while let Some(c) = stack.pop() {
            let b = f
                .get_block(&c)
                .map_err(ApiError::internal)?
                .ok_or_else(|| ApiError::not_found(format!("block {c} of {root} was not found on the network")))?;
            n += 1;
            if c.codec() == CODEC_DAG_PB {
                if let Ok(pb) = PbNode::decode(&b) {
                    stack.extend(pb.links.into_iter().rev().map(|l| l.cid));
                }
            }
        }
        Ok(n)
    };
    let result = walk();
    // Everything fetched ahead is stored before the sync counts as done.
    f.settle();
    result
}

pub fn register<B: Backend>(
    reg: &mut Registry,
    store: Arc<B>,
    users: &Arc<Users>,
    net: Option<Arc<dyn NetHandle>>,
    entropy: fn() -> [u8; 32],
    db_wipe: Option<DbWipe>,
) {
    versions::register(reg, &store, users, entropy);
    release::register(reg, &store, users, db_wipe);
    apps::register(reg, &store, users);
    domains::register(reg, &store, users);
    rights::register(reg, &store, users);
    refs::register(reg, &store, users);
    publish::register(reg, &store, users, &net);
    follow::register(reg, &store, &net);
    providers::register(reg, &store, users, net);
}

/// An app MiMei (mark `app:<developer>:<name>`) as the original's `App{ID, Name, Author, Release,
/// Last}`, plus its working copy's CID.
fn app_json(m: &Mimei) -> Option<Value> {
    let rest = m.head.info.mark.strip_prefix("app:")?;
    let (developer, name) = rest.split_once(':')?;
    if m.head.info.kind != Kind::File || m.head.info.ext != "app" {
        return None;
    }
    Some(json!({"ID": m.mid().to_string(), "Name": name, "Author": developer, "Release": m.head.release,
        "Last": m.last(), "Cur": m.cid_of("cur").ok().map(|c| c.to_string())}))
}

/// Answers `GetVar` names beyond the node's own (`mminfo`, `nodeaddrs`, …), or `None`.
pub type MoreVars = Arc<dyn Fn(&str, &[Value]) -> Option<Value> + Send + Sync>;

/// `GetVar` names about MiMeis and the network: `mminfo`, `mmversions` (`mimeiversions`,
/// `appversions`), `mmvernamed`, `mmprovs`, `appinfo` (a mid as the next argument), `appinfos`,
/// `appids`, `domainaddr` (a domain) and `nodeaddrs`.
pub fn more_vars<B: Backend>(store: Arc<B>, net: Option<Arc<dyn NetHandle>>) -> MoreVars {
    Arc::new(move |name: &str, args: &[Value]| {
        let mid = || args.first().and_then(Value::as_str).and_then(|t| Mid::parse(t).ok());
        match name {
            "nodeaddrs" => net
                .as_ref()
                .map(|n| Value::Array(n.listen_addrs().iter().map(|a| Value::String(addr_text(a))).collect())),
            "mminfo" => {
                let m = store.get_mimei(&mid()?).ok()??;
                Some(
                    json!({"Author": m.author_id().to_string(), "AppType": m.head.info.appid, "Ext": m.head.info.ext, "Mark": m.head.info.mark,
                    "DataType": if m.head.info.kind == Kind::Db { 2 } else { 1 }, "Create": proto_core::ppt::rfc3339(m.head.created), "Right": m.head.right}),
                )
            }
            "mmversions" | "mimeiversions" | "appversions" => {
                let m = store.get_mimei(&mid()?).ok()??;
                Some(head_json(&m.head))
            }
            // mmvernamed(mid, name): the number a version name (last, release, cur) stands for.
            "mmvernamed" => {
                let m = store.get_mimei(&mid()?).ok()??;
                m.resolve(args.get(1).and_then(Value::as_str).unwrap_or("last")).ok().map(|v| json!(v))
            }
            "appids" => Some(Value::Array(
                store
                    .list_mimeis()
                    .ok()?
                    .iter()
                    .filter(|m| app_json(m).is_some())
                    .map(|m| json!(m.mid().to_string()))
                    .collect(),
            )),
            // domainaddr(domain): what `SetDomain` serves there.
            "domainaddr" => {
                let d = args.first().and_then(Value::as_str)?.trim().to_ascii_lowercase();
                let t = store.kv_get(format!("domain/{d}").as_bytes()).ok()??;
                Some(Value::String(String::from_utf8_lossy(&t).into_owned()))
            }
            // The original's app variables: one app (`appinfo <appid>`) or every app held here.
            "appinfo" => {
                let m = store.get_mimei(&mid()?).ok()??;
                app_json(&m)
            }
            "appinfos" => Some(Value::Array(store.list_mimeis().ok()?.iter().filter_map(app_json).collect())),
            "mmprovs" => match net_call(&net, Command::Dht(dht::Command::GetProviders(mid()?.0))).ok()? {
                Reply::Dht(dht::Reply::Providers(p)) => Some(Value::Array(
                    p.iter().map(|p| Value::String(proto_core::id::NodeId::from(p.id).to_string())).collect(),
                )),
                _ => None,
            },
            _ => None,
        }
    })
}
