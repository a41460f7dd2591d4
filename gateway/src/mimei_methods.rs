//! MiMei API methods with the original's names: `MMCreate`, `MFSetCid`, `MMGetCid`,
//! `MMRelease`, `MMRestore`, `MMDelVers`, `MiMeiPublish`, `MiMeiShow`, `MiMeiSync`, `MiMeiProvide`,
//! `MiMeiFindProvs`.

use crate::api::{ApiError, Call, Registry};
use crate::fetching::Fetching;
use crate::ipfs_methods::parse_cid;
use crate::net_methods::{addr_text, NetHandle};
use crate::Backend;
use proto_core::cid::{Cid, CODEC_DAG_PB};
use proto_core::dagpb::PbNode;
use proto_core::dht::{self, Key};
use proto_core::identity::Identity;
use proto_core::mimei::{conflicts, read_head, Head, Info, Kind, Mid, Mimei};
use proto_core::node::{Command, Reply};
use proto_core::unixfs::read::BlockRead;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// Empties a DB MiMei's current data (`MMDelVers(mid, "cur")`).
pub type DbWipe = Arc<dyn Fn(&Mid) -> Result<(), String> + Send + Sync>;

/// (version, HTTP port, when)
type Answers = std::collections::BTreeMap<(Key, Key), (Option<u64>, Option<u16>, std::time::Instant)>;

/// Providers' answers to `Ask` (peer, mid) → (version, when), for `MiMeiFindProvs`.
fn answers() -> &'static std::sync::Mutex<Answers> {
    static A: std::sync::OnceLock<std::sync::Mutex<Answers>> = std::sync::OnceLock::new();
    A.get_or_init(Default::default)
}

/// A provider told us which version it holds.
pub fn heard_version(peer: Key, mid: Key, version: Option<u64>, http_port: Option<u16>) {
    if let Ok(mut a) = answers().lock() {
        a.insert((peer, mid), (version, http_port, std::time::Instant::now()));
        if a.len() > 10_000 {
            a.pop_first();
        }
    }
}

/// A provider's answer received after `since`: (version, HTTP port).
fn answer_since(peer: Key, mid: Key, since: std::time::Instant) -> Option<(Option<u64>, Option<u16>)> {
    let a = answers().lock().ok()?;
    a.get(&(peer, mid)).filter(|(_, _, at)| *at >= since).map(|(v, p, _)| (*v, *p))
}

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

fn mid_arg(call: &Call<'_>, i: usize) -> Result<Mid, ApiError> {
    let t = call.str_arg(i, "mid")?;
    Mid::parse(t).map_err(|e| ApiError::bad_request(format!("invalid mid \"{t}\": {e}")))
}

fn load<B: Backend>(s: &B, mid: &Mid) -> Result<Mimei, ApiError> {
    s.get_mimei(mid)
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::not_found(format!("MiMei {mid} is not on this node (sync it first)")))
}

/// A MiMei this node authors (`what` the caller wants to do with it, for the refusal).
pub(crate) fn load_own<B: Backend>(s: &B, me: &[u8; 32], mid: &Mid, what: &str) -> Result<Mimei, ApiError> {
    let m = load(s, mid)?;
    if m.author != *me {
        return Err(ApiError { status: 403, message: format!("only the author can {what} MiMei {mid}") });
    }
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
    seed: [u8; 32],
    net: Option<Arc<dyn NetHandle>>,
    entropy: fn() -> [u8; 32],
    db_wipe: Option<DbWipe>,
) {
    let me = Arc::new(Identity::from_seed(seed));
    let (s, id) = (store.clone(), me.clone());
    reg.register("MMCreate", true, move |call| {
        let arg = |i: usize| call.args.get(i).and_then(Value::as_str).unwrap_or_default().to_string();
        let kind = match call.args.get(3).and_then(Value::as_u64).unwrap_or(1) {
            1 => Kind::File,
            2 => Kind::Db,
            t => return Err(ApiError::bad_request(format!("MiMei type {t} is unknown (1 = file, 2 = database)"))),
        };
        let mut mark = arg(2);
        if mark.is_empty() || mark == "{{auto}}" {
            // Creation seconds and a random number, as the original's CLI makes them.
            let r = u64::from_le_bytes(entropy()[..8].try_into().expect("8 bytes")) >> 1;
            mark = format!("{}{:019}", now_ms() / 1000, r);
        }
        let right = call.args.get(4).and_then(Value::as_u64).unwrap_or(DEFAULT_RIGHT);
        let info = Info { kind, appid: arg(0), ext: arg(1), mark };
        let mid = info.mid(&id.public_key());
        if s.get_mimei(&mid).map_err(ApiError::internal)?.is_none() {
            s.put_mimei(&Mimei::new(&id, info, now_ms(), right)).map_err(ApiError::internal)?;
        }
        Ok(Value::String(mid.to_string()))
    });
    let (s, id) = (store.clone(), me.clone());
    reg.register("MFSetCid", true, move |call| {
        let mid = mid_arg(&call, 0)?;
        let cid = parse_cid(call.str_arg(1, "cid")?)?;
        let mut m = load(&*s, &mid)?;
        if m.author != id.public_key() {
            return Err(ApiError {
                status: 403,
                message: format!("only the author ({}) can change MiMei {mid}", m.author_id()),
            });
        }
        let v = m.set_cid(&cid).map_err(|e| ApiError::bad_request(e.to_string()))?;
        s.put_mimei(&m).map_err(ApiError::internal)?;
        Ok(json!({"mid": mid.to_string(), "cid": cid.to_string(), "ver": v}))
    });
    let s = store.clone();
    reg.register("MMGetCid", false, move |call| {
        let m = load(&*s, &mid_arg(&call, 0)?)?;
        let ver = call.args.get(1).and_then(Value::as_str).unwrap_or("last");
        let cid = m.cid_of(ver).map_err(|e| ApiError::not_found(e.to_string()))?;
        // `cur` may be a working copy that is no numbered version.
        let v = if matches!(ver, "" | "cur") && m.cur.is_some() {
            json!("cur")
        } else {
            json!(m.resolve(ver).map_err(|e| ApiError::not_found(e.to_string()))?)
        };
        Ok(json!({"ver": v, "cid": cid.to_string()}))
    });
    let (s, id) = (store.clone(), me.clone());
    reg.register("MMRelease", true, move |call| {
        let mid = mid_arg(&call, 0)?;
        let mut m = load_own(&*s, &id.public_key(), &mid, "change")?;
        let v = m.release(call.str_arg(1, "version")?).map_err(|e| ApiError::bad_request(e.to_string()))?;
        s.put_mimei(&m).map_err(ApiError::internal)?;
        Ok(json!(v))
    });
    // LappUpload(ppt, cid[, appid]): a developer passport (verified; `AppName=<name>`) names the app; its
    // MiMei is this node's, one per developer and name (mark `app:<developer>:<name>`), and the
    // uploaded directory becomes its next version. Another developer's app is refused.
    let (s, id) = (store.clone(), me.clone());
    reg.register("LappUpload", true, move |call| {
        let text = call.str_arg(0, "passport")?;
        let ppt = proto_core::ppt::verify_ppt(text, None, now_ms())
            .map_err(|e| ApiError::bad_request(format!("not a valid developer passport: {e}")))?;
        let name = ppt.pairs.get("AppName").filter(|n| !n.is_empty()).ok_or_else(|| {
            ApiError::bad_request("not a developer passport: it has no AppName=<name> (lpki signppt -m AppName=…)")
        })?;
        if name.contains(':') || name.len() > 64 {
            return Err(ApiError::bad_request(format!(
                "app name \"{name}\" must be at most 64 characters without ':'"
            )));
        }
        let cid = parse_cid(call.str_arg(1, "cid")?)?;
        let developer = ppt.signer.to_string();
        let info =
            Info { kind: Kind::File, appid: String::new(), ext: "app".into(), mark: format!("app:{developer}:{name}") };
        let mid = info.mid(&id.public_key());
        if let Some(want) = call.args.get(2).and_then(Value::as_str).filter(|a| !a.is_empty()) {
            if want != mid.to_string() {
                return Err(ApiError {
                    status: 403,
                    message: format!(
                        "app {want} is not {developer}'s app \"{name}\" ({mid}); a developer can only upload into their own app"
                    ),
                });
            }
        }
        let mut m = match s.get_mimei(&mid).map_err(ApiError::internal)? {
            Some(m) => m,
            None => Mimei::new(&id, info, now_ms(), DEFAULT_RIGHT),
        };
        // An upload writes the working copy; `MMBackup` makes it a version others can sync.
        m.set_cur(&cid).map_err(|e| ApiError::bad_request(e.to_string()))?;
        s.put_mimei(&m).map_err(ApiError::internal)?;
        Ok(json!({"appid": mid.to_string(), "name": name, "developer": developer, "ver": "cur", "cid": cid.to_string()}))
    });

    // SetDomain(domain, target): `http://<domain>/` on this node serves the template page of
    // `target` (`<mid>,<appid>`, `,<appid>` or a mid with a default app); "" removes it.
    let s2 = store.clone();
    reg.register("SetDomain", true, move |call| {
        let domain = call.str_arg(0, "domain")?.trim().to_ascii_lowercase();
        let valid = !domain.is_empty()
            && domain.len() <= 253
            && domain.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
        if !valid {
            return Err(ApiError::bad_request(format!("\"{domain}\" is not a host name")));
        }
        let target = call.str_arg(1, "app")?.trim().to_string();
        let key = format!("domain/{domain}");
        if target.is_empty() {
            s2.kv_put(key.as_bytes(), None).map_err(ApiError::internal)?;
            return Ok(Value::Null);
        }
        let ok = target.split(',').filter(|p| !p.is_empty()).all(|p| Mid::parse(p).is_ok())
            && !target.split(',').all(str::is_empty);
        if !ok {
            return Err(ApiError::bad_request(format!("\"{target}\" is not <mid>, <mid>,<appid> or ,<appid>")));
        }
        s2.kv_put(key.as_bytes(), Some(target.as_bytes())).map_err(ApiError::internal)?;
        Ok(json!({"domain": domain, "target": target}))
    });

    // MMSetRight(mid, member, word): "" = the default word; MMGetRight(mid, uid) → the word.
    let (s, id) = (store.clone(), me.clone());
    reg.register("MMSetRight", true, move |call| {
        let mid = mid_arg(&call, 0)?;
        let mut m = load_own(&*s, &id.public_key(), &mid, "change")?;
        let member = call.str_arg(1, "member")?.to_string();
        let word =
            call.args.get(2).and_then(Value::as_u64).ok_or_else(|| {
                ApiError::bad_request("argument 3 (right) must be a number like 0x07276705 = 120022789")
            })?;
        m.set_right(&member, word);
        s.put_mimei(&m).map_err(ApiError::internal)?;
        Ok(Value::Null)
    });
    let s = store.clone();
    reg.register("MMGetRight", false, move |call| {
        let mid = mid_arg(&call, 0)?;
        let m = load(&*s, &mid)?;
        let uid = call.args.get(1).and_then(Value::as_str).unwrap_or_default();
        Ok(json!(m.right_of(uid).0))
    });
    let (s, id) = (store.clone(), me.clone());
    reg.register("MMDelVers", true, move |call| {
        let mid = mid_arg(&call, 0)?;
        let mut m = load_own(&*s, &id.public_key(), &mid, "change")?;
        let mut names: Vec<String> =
            call.args[1..].iter().map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())).collect();
        // `cur` of a database: wipe its current data (its numbered versions stay).
        if m.head.info.kind == Kind::Db && names.iter().any(|n| n == "cur") {
            names.retain(|n| n != "cur");
            let wipe = db_wipe.as_ref().ok_or_else(|| ApiError::internal("the database is not running"))?;
            wipe(&mid).map_err(ApiError::internal)?;
            if names.is_empty() {
                return Ok(json!(["cur"]));
            }
        }
        let gone = m.delete(&names).map_err(|e| ApiError::bad_request(e.to_string()))?;
        s.put_mimei(&m).map_err(ApiError::internal)?;
        Ok(json!(gone))
    });
    let (s, id, n) = (store.clone(), me.clone(), net.clone());
    reg.register("MiMeiPublish", true, move |call| {
        let mid = mid_arg(&call, 0)?;
        let mut m = load_own(&*s, &id.public_key(), &mid, "publish")?;
        let rec = m.head_record(&id, now_ms());
        s.put_mimei(&m).map_err(ApiError::internal)?;
        let stored = match net_call(&n, Command::Dht(dht::Command::PutRecord(rec.clone())))? {
            Reply::Dht(dht::Reply::Stored { peers }) => peers,
            _ => 0,
        };
        // The author is a provider of its own MiMei.
        let _ = net_call(&n, Command::Dht(dht::Command::Provide(mid.0)));
        // …and of its newest versions' content, announced before anyone is told to fetch it.
        for cid in m.head.versions.values().rev().take(8).filter_map(|c| c.cid()) {
            let _ = net_call(&n, Command::Dht(dht::Command::Provide(proto_core::dht::content_key(&cid))));
        }
        // Providers hear of the new head at once and fetch it (no polling).
        let notified = match net_call(&n, Command::Dht(dht::Command::GetProviders(mid.0)))? {
            Reply::Dht(dht::Reply::Providers(p)) => match net_call(&n, Command::Notify { to: p, record: rec })? {
                Reply::Dht(dht::Reply::Stored { peers }) => peers,
                _ => 0,
            },
            _ => 0,
        };
        Ok(json!({"mids": [mid.to_string()], "eol": "168h", "peers": stored, "notified": notified, "version": m.published}))
    });
    let (s, n) = (store.clone(), net.clone());
    reg.register("MiMeiShow", false, move |call| {
        let mid = mid_arg(&call, 0)?;
        let local = s.get_mimei(&mid).map_err(ApiError::internal)?;
        let remote = net_head(&n, &mid).ok().flatten();
        let Some(head) = local.as_ref().map(|m| m.head.clone()).or_else(|| remote.as_ref().map(|r| r.1.clone())) else {
            return Err(ApiError::not_found(format!("MiMei {mid} is neither here nor on the network")));
        };
        let author = local
            .as_ref()
            .map(|m| m.author_id().to_string())
            .or_else(|| remote.as_ref().map(|r| proto_core::identity::node_id_of(&r.0.author).to_string()))
            .unwrap_or_default();
        let conflict: Vec<u64> = match (&local, &remote) {
            (Some(l), Some(r)) => conflicts(&l.head, &r.1),
            _ => Vec::new(),
        };
        let compare = match (&local, &remote) {
            (Some(l), Some(r)) => match l.head.versions.keys().next_back().cmp(&r.1.versions.keys().next_back()) {
                std::cmp::Ordering::Equal => "local version is same with net",
                std::cmp::Ordering::Greater => "local version is newer than net",
                std::cmp::Ordering::Less => "net version is newer than local",
            },
            (Some(_), None) => "not published",
            (None, _) => "not on this node",
        };
        Ok(json!({
            "mid": mid.to_string(),
            "author": author,
            "apptype": head.info.appid,
            "ext": head.info.ext,
            "mark": head.info.mark,
            "type": if head.info.kind == Kind::Db { "db" } else { "file" },
            "create": proto_core::ppt::rfc3339(head.created),
            "right": format!("{:x}", head.right),
            "local": local.as_ref().map(|m| head_json(&m.head)),
            "net": remote.as_ref().map(|r| head_json(&r.1)),
            "conflicts": conflict,
            "kept": local.as_ref().and_then(|m| m.conflicts.as_ref()).map(|k| k.iter().map(|(v, cs)| json!({"ver": v, "cids": cs.iter().filter_map(|c| c.cid()).map(|c| c.to_string()).collect::<Vec<_>>()})).collect::<Vec<_>>()).unwrap_or_default(),
            "compare": compare,
        }))
    });
    let (s, n) = (store.clone(), net.clone());
    let sync = move |mid: &Mid| -> Result<Value, ApiError> {
        let (rec, head) = net_head(&n, mid)?
            .ok_or_else(|| ApiError::not_found(format!("MiMei {mid} is not published on the network")))?;
        let net = n.clone().ok_or_else(|| ApiError::internal("this node has no peer network"))?;
        let mut blocks = 0;
        for c in head.versions.values().filter_map(|c| c.cid()) {
            blocks += fetch_dag(&s, &net, &c)?;
        }
        let local = s.get_mimei(mid).map_err(ApiError::internal)?;
        // The follower decides (the same machine the simulator runs): only a newer publication by
        // the author replaces what is held; an older or forged one never does.
        let mut f = proto_core::mimei::follow::HeadFollower::new(*mid);
        if let Some(l) = &local {
            f.head = Some(l.head.clone());
            f.record_version = l.published;
        }
        let keep = f.on_record(&rec, now_ms()) == proto_core::mimei::follow::Seen::Newer;
        if keep {
            let mut m = Mimei {
                author: rec.author,
                head: head.clone(),
                published: rec.version,
                members: None,
                conflicts: None,
                cur: None,
            };
            if let Some(l) = &local {
                // What the replaced head said differently stays, as a conflict.
                m.keep_conflicts_with(&l.head, l.conflicts.as_ref());
                m.members = l.members.clone();
                m.cur = l.cur.clone();
            }
            s.put_mimei(&m).map_err(ApiError::internal)?;
        } else if let Some(mut l) = local.clone().filter(|l| !conflicts(&l.head, &head).is_empty()) {
            // An older publication that disagrees: kept as a conflict too.
            let earlier = l.conflicts.clone();
            l.keep_conflicts_with(&head, earlier.as_ref());
            s.put_mimei(&l).map_err(ApiError::internal)?;
        }
        Ok(json!({"mid": mid.to_string(), "versions": head.versions.len(), "blocks": blocks}))
    };
    let sync = Arc::new(sync);
    let sy = sync.clone();
    reg.register("MiMeiSync", true, move |call| sy(&mid_arg(&call, 0)?));
    let (sy, n) = (sync, net.clone());
    reg.register("MiMeiProvide", true, move |call| {
        let mid = mid_arg(&call, 0)?;
        let r = sy(&mid)?;
        let peers = match net_call(&n, Command::Dht(dht::Command::Provide(mid.0)))? {
            Reply::Dht(dht::Reply::Stored { peers }) => peers,
            _ => 0,
        };
        Ok(json!({"mid": mid.to_string(), "versions": r["versions"], "peers": peers}))
    });
    let (n, s, id) = (net, store.clone(), me.clone());
    reg.register("MiMeiFindProvs", false, move |call| {
        let mid = mid_arg(&call, 0)?;
        let provs = match net_call(&n, Command::Dht(dht::Command::GetProviders(Key(mid.0 .0))))? {
            Reply::Dht(dht::Reply::Providers(p)) => p,
            other => return Err(ApiError::internal(format!("unexpected reply {other:?}"))),
        };
        // Ask each provider which version it holds; wait a moment for the answers.
        let asked = std::time::Instant::now();
        for p in &provs {
            let _ = net_call(&n, Command::SendMimei { to: p.clone(), msg: Box::new(proto_core::node::MimeiMsg::Ask { mid: mid.0 }) });
        }
        let me = Key::from(id.node_id());
        let answered = |p: &dht::PeerInfo| p.id == me || answer_since(p.id, mid.0, asked).is_some();
        let mut retried = false;
        while !provs.iter().all(answered) && asked.elapsed() < std::time::Duration::from_millis(2000) {
            // A message can be lost while two nodes replace crossing connections: ask once more.
            if !retried && asked.elapsed() > std::time::Duration::from_millis(500) {
                retried = true;
                for p in provs.iter().filter(|p| !answered(p)) {
                    let ask = Box::new(proto_core::node::MimeiMsg::Ask { mid: mid.0 });
                    let _ = net_call(&n, Command::SendMimei { to: p.clone(), msg: ask });
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let local = s.get_mimei(&mid).ok().flatten().and_then(|m| m.last());
        Ok(Value::Array(
            provs
                .iter()
                .map(|p| {
                    let (ver, port) = if p.id == me { (local, None) } else { answer_since(p.id, mid.0, asked).unwrap_or((None, None)) };
                    let all = port.map(|port| http_addrs(&p.addrs, port)).unwrap_or_default();
                    // `http`: the address for anyone (a public one when there is one); `https_all`:
                    // every address, LAN ones too, for clients behind the same NAT.
                    let http = all.iter().find(|a| !crate::template::is_private(a)).or(all.first()).cloned();
                    json!({"id": proto_core::id::NodeId::from(p.id).to_string(), "addrs": p.addrs.iter().map(addr_text).collect::<Vec<_>>(), "ver": ver, "http": http, "http_all": all})
                })
                .collect(),
        ))
    });
    let _ = store;
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

/// `GetVar` names about MiMeis and the network: `mminfo`, `mmversions`, `mmprovs` (a mid as the
/// next argument) and `nodeaddrs`.
pub fn more_vars<B: Backend>(store: Arc<B>, net: Option<Arc<dyn NetHandle>>) -> crate::node_methods::MoreVars {
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
            "mmversions" => {
                let m = store.get_mimei(&mid()?).ok()??;
                Some(head_json(&m.head))
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
