//! API methods for local IPFS content: `IpfsAdd`, `IpfsLs`, `IpfsStat`, `PinAdd`, `PinRm`,
//! `PinLs`, `RepoStat`. Names follow the original system.

use crate::content::fetching::Fetching;
use crate::content::import::{import_path, import_reader, Batcher, ImportError, SharedStore, TreeOptions};
use crate::net::NetHandle;
use crate::Backend;
use gateway::api::{ApiError, Call, Registry};
use proto_core::cid::Cid;
use proto_core::store::StoreError;
use proto_core::unixfs::read::{self, BlockRead, Kind, Node};
use proto_core::unixfs::Profile;
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;

fn profile_for(version: u64) -> Result<Profile, ApiError> {
    match version {
        0 => Ok(Profile::UNIXFS_V0_2015),
        1 => Ok(Profile::UNIXFS_V1_2025),
        v => Err(ApiError::bad_request(format!("cid version {v} is not supported (use 0 or 1)"))),
    }
}

pub fn parse_cid(text: &str) -> Result<Cid, ApiError> {
    Cid::parse(text).map_err(|e| ApiError::bad_request(format!("invalid cid \"{text}\": {e}")))
}

pub(crate) fn read_err(e: read::ReadError) -> ApiError {
    match e {
        read::ReadError::Missing(_) | read::ReadError::NotFound(_) => ApiError::not_found(e.to_string()),
        read::ReadError::Store(_) => ApiError::internal(e.to_string()),
        _ => ApiError::bad_request(e.to_string()),
    }
}

fn kind_name(k: Kind) -> &'static str {
    match k {
        Kind::File => "file",
        Kind::Directory => "dir",
        Kind::Symlink => "symlink",
    }
}

/// `announce`, when given, is told of every stored add's root so it can be provided on the DHT.
/// `net`, when given, fetches what `IpfsLs` and `IpfsStat` lack from the content's providers (the
/// node's and the IPFS network's), as the gateway does.
pub fn register<B: Backend>(
    reg: &mut Registry,
    store: Arc<B>,
    announce: Option<Arc<dyn Fn(Cid) + Send + Sync>>,
    net: Option<Arc<dyn NetHandle>>,
    users: Arc<crate::methods::users::Users>,
) {
    let s = store.clone();
    reg.register_streaming("IpfsAdd", true, move |mut call| {
        // A user (not the owner) sends content as the request body — never a path on the
        // node's disk — within their quota of bytes.
        let user = if call.may_write { None } else { call.user_pk };
        if let Some(pk) = &user {
            if call.body.is_none() {
                return Err(ApiError {
                    status: 403,
                    message: "a user adds content as the request body, not as a path on the node".into(),
                });
            }
            users.check_bytes(pk)?;
        }
        let v = ipfs_add(&s, &mut call)?;
        if let (Some(pk), Some(size)) = (&user, v.get("tsize").and_then(Value::as_u64)) {
            users.charge(pk, size)?;
        }
        if let (Some(a), Some(cid)) =
            (&announce, v.get("stored").filter(|x| x.as_bool() == Some(true)).and(v.get("cid")).and_then(Value::as_str))
        {
            if let Ok(cid) = Cid::parse(cid) {
                a(cid);
            }
        }
        Ok(v)
    });
    let (s, n) = (store.clone(), net.clone());
    reg.register("IpfsLs", false, move |call| {
        let text = call.str_arg(0, "cid or path")?;
        with_network(&s, &n, text, |b| ls(b, text))
    });
    let (s, n) = (store.clone(), net);
    reg.register("IpfsStat", false, move |call| {
        let text = call.str_arg(0, "cid or path")?;
        with_network(&s, &n, text, |b| stat(b, text))
    });
    let s = store.clone();
    reg.register("PinAdd", true, move |call| {
        let cid = resolve_arg(&*s, call.str_arg(0, "cid")?)?;
        // Pinned first, then checked: a collection running meanwhile keeps what the pin reaches
        // from the moment it is stored, and what it removed before shows up missing here — so
        // a pin that answers ok has every block (kept) and one that does not is taken back.
        let _gate = s.lmdb().map(storage::Store::root_op);
        let was = s.pin_ls().map_err(store_err)?.contains(&cid);
        s.pin_add(&cid).map_err(store_err)?;
        match check_complete(&*s, &cid) {
            Ok(blocks) => Ok(json!({"cid": cid.to_string(), "blocks": blocks})),
            Err(e) => {
                if !was {
                    let _ = s.pin_rm(&cid);
                }
                Err(e)
            }
        }
    });
    let s = store.clone();
    reg.register("PinRm", true, move |call| {
        let cid = parse_cid(call.str_arg(0, "cid")?)?;
        if !s.pin_rm(&cid).map_err(ApiError::internal)? {
            return Err(ApiError::not_found(format!("{cid} is not pinned")));
        }
        Ok(json!({"cid": cid.to_string()}))
    });
    let s = store.clone();
    reg.register("PinLs", false, move |_| {
        let pins = s.pin_ls().map_err(ApiError::internal)?;
        Ok(Value::Array(pins.iter().map(|c| Value::String(c.to_string())).collect()))
    });
    let s = store;
    reg.register("RepoStat", false, move |_| repo_stat(&*s));
}

/// What `RepoStat` reports of a store. The node's LMDB store knows; in-memory ones do not.
pub trait RepoUsage {
    fn usage(&self) -> Option<Result<(storage::Usage, String), String>> {
        None
    }
    /// The LMDB store itself (garbage collection, `methods::repo`).
    fn lmdb(&self) -> Option<&storage::Store> {
        None
    }
}

impl RepoUsage for storage::Store {
    fn usage(&self) -> Option<Result<(storage::Usage, String), String>> {
        let dir = self.dir().parent().unwrap_or(self.dir()).display().to_string();
        Some(storage::Store::usage(self).map(|u| (u, dir)).map_err(|e| e.to_string()))
    }
    fn lmdb(&self) -> Option<&storage::Store> {
        Some(self)
    }
}

impl RepoUsage for proto_core::store::MemStore {}
impl<B> RepoUsage for crate::content::fetching::Fetching<B> {}

/// The original's fields (`RepoSize`, `StorageMax`: the limit the collector keeps the store
/// under, `NumObjects`, `RepoPath`, `Version`) and the room left on the repo's disk
/// (`DiskFree`: what the node may still use).
fn repo_stat<B: Backend>(s: &B) -> Result<Value, ApiError> {
    let Some(usage) = s.usage() else {
        return Err(ApiError::not_found("this store keeps no usage figures"));
    };
    let (u, path) = usage.map_err(ApiError::internal)?;
    let mut v = json!({
        "RepoSize": u.used_bytes,
        "StorageMax": u.storage_max.unwrap_or(u.map_bytes),
        "NumObjects": u.blocks,
        "RepoPath": path,
        "Version": env!("CARGO_PKG_VERSION"),
        "FileSize": u.file_bytes,
    });
    if let Some(d) = u.disk {
        v["DiskFree"] = json!(d.avail);
        v["DiskSize"] = json!(d.total);
    }
    Ok(v)
}

/// `cid` or `cid/path/inside`, with an optional `/ipfs/` prefix.
/// Runs `f` on the local store; if a block is missing and the node has a network, again on a
/// store that fetches from the providers of the argument's root (and keeps what it fetched).
pub(crate) fn with_network<B: Backend>(
    store: &Arc<B>,
    net: &Option<Arc<dyn NetHandle>>,
    text: &str,
    f: impl Fn(&dyn BlockRead) -> Result<Value, ApiError>,
) -> Result<Value, ApiError> {
    match f(&**store) {
        Err(e) if e.status == 404 => {
            let Some(net) = net else { return Err(e) };
            let root = parse_cid(text.trim_start_matches("/ipfs/").split('/').next().unwrap_or(""))?;
            let fetching = Fetching::new(store.clone(), net.clone(), root);
            let r = f(&fetching);
            fetching.settle();
            r
        }
        r => r,
    }
}

fn stat(s: &dyn BlockRead, text: &str) -> Result<Value, ApiError> {
    let cid = resolve_arg(s, text)?;
    let node = read::load_node(s, &cid).map_err(read_err)?;
    let st = read::stat_node(&cid, &node).map_err(read_err)?;
    Ok(json!({"cid": cid.to_string(), "type": kind_name(st.kind), "size": st.size}))
}

fn ls(s: &dyn BlockRead, text: &str) -> Result<Value, ApiError> {
    let cid = resolve_arg(s, text)?;
    let entries = match read::list(s, &cid) {
        // A file lists its chunks, unnamed, as kubo's `ls` shows them.
        Err(read::ReadError::NotADirectory(_)) => match read::load_node(s, &cid).map_err(read_err)? {
            Node::Pb(pb, _) => {
                pb.links.into_iter().map(|l| read::Entry { name: Vec::new(), cid: l.cid, tsize: l.tsize }).collect()
            }
            Node::Raw(_) => Vec::new(),
        },
        r => r.map_err(read_err)?,
    };
    let mut list = Vec::with_capacity(entries.len());
    for e in entries {
        let kind = match read::load_node(s, &e.cid).and_then(|n| read::stat_node(&e.cid, &n)) {
            Ok(st) => (kind_name(st.kind), st.size),
            // Missing here: the caller fetches it and asks again.
            Err(err @ read::ReadError::Missing(_)) => return Err(read_err(err)),
            Err(_) => ("unknown", 0),
        };
        list.push(json!({"name": String::from_utf8_lossy(&e.name), "cid": e.cid.to_string(), "tsize": e.tsize, "type": kind.0, "size": kind.1}));
    }
    Ok(Value::Array(list))
}

pub(crate) fn resolve_arg<B: BlockRead + ?Sized>(s: &B, text: &str) -> Result<Cid, ApiError> {
    let text = text.trim_start_matches("/ipfs/");
    let (root, path) = text.split_once('/').unwrap_or((text, ""));
    let root = parse_cid(root)?;
    read::resolve(s, &root, path).map_err(read_err)
}

/// Reads every block of `root` this node has (a collection running meanwhile keeps what is
/// read); what is missing is skipped.
pub(crate) fn touch_dag<S: BlockRead + ?Sized>(s: &S, root: &Cid) {
    let mut stack = vec![root.clone()];
    while let Some(cid) = stack.pop() {
        if let Ok(Node::Pb(pb, _)) = read::load_node(s, &cid) {
            stack.extend(pb.links.into_iter().map(|l| l.cid));
        }
    }
}

/// Walks the whole DAG and fails on the first missing block; returns the number of blocks.
fn check_complete<B: Backend>(s: &B, root: &Cid) -> Result<u64, ApiError> {
    let mut stack = vec![root.clone()];
    let mut n = 0u64;
    while let Some(cid) = stack.pop() {
        n += 1;
        if let Node::Pb(pb, _) = read::load_node(s, &cid).map_err(read_err)? {
            stack.extend(pb.links.into_iter().map(|l| l.cid));
        }
    }
    Ok(n)
}

pub(crate) fn import_err(e: ImportError) -> ApiError {
    match e {
        ImportError::Store(s) => store_err(s),
        _ => ApiError::bad_request(e.to_string()),
    }
}

/// A store failure; a full disk answers 507 Insufficient Storage.
pub(crate) fn store_err(e: StoreError) -> ApiError {
    match e {
        StoreError::Full(message) => ApiError { status: 507, message },
        other => ApiError::internal(other),
    }
}

fn flag(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true" || s == "1",
        Some(Value::Number(n)) => n.as_u64() == Some(1),
        _ => false,
    }
}

fn ipfs_add<B: Backend>(store: &Arc<B>, call: &mut Call<'_>) -> Result<Value, ApiError> {
    // Options come from the query string (raw body) or the second JSON argument.
    let mut opts = call.opts(1)?;
    for (k, v) in &call.query {
        opts.insert(k.replace('-', "_"), Value::String(v.clone()));
    }
    let version = match opts.get("cid_version") {
        Some(Value::Number(n)) => n.as_u64().unwrap_or(u64::MAX),
        Some(Value::String(s)) => {
            s.parse().map_err(|_| ApiError::bad_request(format!("cid_version \"{s}\" is not a number")))?
        }
        _ => 0,
    };
    let profile = profile_for(version)?;
    let only_hash = flag(opts.get("only_hash"));
    let target: Option<SharedStore> = if only_hash { None } else { Some(store.clone()) };
    let mut batch = Batcher::new(target).map_err(import_err)?;
    let (root, name) = if let (Some(body), true) = (call.body.as_mut(), flag(opts.get("tar"))) {
        // A tar archive of a directory tree (how `lapp uploadapp` sends an app).
        use crate::content::import_tar::{import_tar, MAX_TAR_BYTES};
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::Read::take(body, MAX_TAR_BYTES + 1), &mut bytes)
            .map_err(|e| ApiError::bad_request(format!("cannot read the archive: {e}")))?;
        if bytes.len() as u64 > MAX_TAR_BYTES {
            return Err(ApiError::bad_request(format!("the archive is larger than {MAX_TAR_BYTES} bytes")));
        }
        let root = import_tar(&mut batch, profile, &bytes).map_err(|e| match e {
            crate::content::import_tar::TarImportError::Import(e) => import_err(e),
            e => ApiError::bad_request(e.to_string()),
        })?;
        (root, call.query.get("name").cloned().unwrap_or_default())
    } else if let Some(body) = call.body.take() {
        let name = call.query.get("name").cloned().unwrap_or_default();
        (import_reader(&mut batch, profile, body, &mut |_| {}).map_err(import_err)?, name)
    } else {
        let path = call.str_arg(0, "path")?;
        let p = Path::new(path);
        if !p.is_absolute() {
            return Err(ApiError::bad_request(format!(
                "the path \"{path}\" must be absolute (it is read by the node)"
            )));
        }
        let meta =
            std::fs::symlink_metadata(p).map_err(|e| ApiError::bad_request(format!("cannot read {path}: {e}")))?;
        if meta.is_dir() && !flag(opts.get("recursive")) {
            return Err(ApiError::bad_request(format!("{path} is a directory; add it with -r")));
        }
        let tree = TreeOptions { profile, hidden: flag(opts.get("hidden")) };
        let root = import_path(&mut batch, tree, p, &mut |_| {}).map_err(import_err)?;
        (root, p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default())
    };
    batch.finish().map_err(import_err)?;
    if !only_hash {
        store.pin_add(&root.cid).map_err(|e| store_err(e.context("cannot pin the added root")))?;
    }
    batch.commit();
    Ok(
        json!({"cid": root.cid.to_string(), "size": root.filesize, "tsize": root.tsize, "name": name, "stored": !only_hash}),
    )
}
