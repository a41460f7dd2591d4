//! The `files` methods: the node's mutable file system (kubo's MFS), with the original's names
//! and argument order (leither-facts §3.8): `FilesLs`, `FilesStat`, `FilesMkdir`, `FilesCopy`,
//! `FilesMv`, `FilesRm`, `FilesFlush`, and ours with kubo's names: `FilesWrite`, `FilesRead`,
//! `FilesChcid`. The tree is the owner's; its root CID is kept under [`ROOT_KEY`], written once
//! an operation has stored all its blocks, so a crash between operations keeps the last root.

use crate::content::fetching::Fetching;
use crate::net::NetHandle;
use crate::Backend;
use gateway::api::{ApiError, Call, Registry};
use proto_core::cid::{Cid, Version};
use proto_core::mfs::{Mfs, MfsError, MfsPath, Source};
use proto_core::store::{BlockRead, BlockWrite, KvStore};
use proto_core::unixfs::read::{FileCursor, Kind};
use serde_json::{json, Value};
use std::io::Read;
use std::sync::{Arc, Mutex};

/// Where the node keeps its MFS root (the CID's bytes).
pub const ROOT_KEY: &[u8] = b"mfs/root";

/// The stored root, if the tree was ever changed.
pub fn stored_root<S: KvStore + ?Sized>(store: &S) -> Result<Option<Cid>, String> {
    match store.kv_get(ROOT_KEY).map_err(|e| e.to_string())? {
        Some(bytes) => Cid::from_bytes(&bytes).map(Some).map_err(|e| format!("the stored MFS root is damaged: {e}")),
        None => Ok(None),
    }
}

/// A block store the operations run over (the node's, or one that fetches what it lacks).
trait Blocks: BlockRead + BlockWrite {}
impl<T: BlockRead + BlockWrite + ?Sized> Blocks for T {}

pub struct Files<B> {
    store: Arc<B>,
    net: Option<Arc<dyn NetHandle>>,
    /// One change at a time: each starts from the root the last one stored.
    lock: Mutex<()>,
}

impl<B: Backend> Files<B> {
    fn root(&self) -> Result<Option<Cid>, ApiError> {
        stored_root(&*self.store).map_err(ApiError::internal)
    }

    fn read<R>(&self, f: impl FnOnce(&Mfs<'_, dyn Blocks + '_>) -> Result<R, MfsError>) -> Result<R, ApiError> {
        let store: &dyn Blocks = &*self.store;
        let mfs = Mfs::open(store, self.root()?).map_err(mfs_err)?;
        f(&mfs).map_err(mfs_err)
    }

    /// Runs a change and stores the new root. A copy from `/ipfs/CID` that lacks blocks runs
    /// again over a store that fetches them from the CID's providers.
    fn change(
        &self,
        source: Option<&Cid>,
        f: impl Fn(&mut Mfs<'_, dyn Blocks + '_>) -> Result<(), MfsError>,
    ) -> Result<Cid, ApiError> {
        let _one = self.lock.lock().map_err(|_| ApiError::internal("the file system lock is poisoned"))?;
        let _gate = self.store.lmdb().map(storage::Store::root_op);
        let root = self.root()?;
        // What a copy from /ipfs brings in is read (so a collection running meanwhile keeps it).
        if let Some(src) = source {
            crate::methods::ipfs::touch_dag(&*self.store, src);
        }
        let run = |store: &dyn Blocks| -> Result<Cid, MfsError> {
            let mut mfs = Mfs::open(store, root.clone())?;
            f(&mut mfs)?;
            Ok(mfs.root().clone())
        };
        let new = match (run(&*self.store), source, &self.net) {
            (Err(MfsError::Read(proto_core::unixfs::read::ReadError::Missing(_))), Some(src), Some(net)) => {
                let fetching = Fetching::new(self.store.clone(), net.clone(), src.clone());
                let r = run(&fetching);
                fetching.settle();
                r
            }
            (r, _, _) => r,
        }
        .map_err(mfs_err)?;
        if root.as_ref() != Some(&new) {
            store_root(&*self.store, &new)?;
        }
        Ok(new)
    }

    /// The CID at `p` (for `MMOpenUrl`).
    pub(crate) fn resolve(&self, p: &MfsPath) -> Result<Cid, ApiError> {
        self.read(|m| m.resolve(p))
    }

    /// Puts `cid` at `p`, replacing what is there and making the parents (`MFTemp2Files`).
    pub(crate) fn put(&self, p: &MfsPath, cid: &Cid, tsize: u64) -> Result<(), ApiError> {
        self.change(None, |m| m.put(p, cid, tsize, true, true)).map(drop)
    }

    /// `files write` of the request body (or of the `data` argument) into `p`.
    fn write(&self, p: &MfsPath, o: &WriteOpts, body: &mut dyn Read) -> Result<Value, ApiError> {
        let _one = self.lock.lock().map_err(|_| ApiError::internal("the file system lock is poisoned"))?;
        let _gate = self.store.lmdb().map(storage::Store::root_op);
        let store: &dyn Blocks = &*self.store;
        let root = self.root()?;
        let mut mfs = Mfs::open(store, root.clone()).map_err(mfs_err)?;
        let mut w = mfs.write_begin(p, o.offset, o.create, o.truncate, o.parents).map_err(mfs_err)?;
        let mut buf = vec![0u8; 256 << 10];
        let mut left = o.count.unwrap_or(u64::MAX);
        while left > 0 {
            let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            let n = match body.read(&mut buf[..want]) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(ApiError::bad_request(format!("cannot read the data: {e}"))),
            };
            w.push(store, &buf[..n]).map_err(mfs_err)?;
            left -= n as u64;
        }
        mfs.write_finish(p, w, o.parents).map_err(mfs_err)?;
        let st = mfs.stat(p).map_err(mfs_err)?;
        if root.as_ref() != Some(mfs.root()) {
            store_root(&*self.store, mfs.root())?;
        }
        Ok(json!({"Hash": st.hash.to_string(), "Size": st.size}))
    }
}

fn store_root<B: KvStore + ?Sized>(s: &B, root: &Cid) -> Result<(), ApiError> {
    s.kv_put(ROOT_KEY, Some(&root.to_bytes())).map_err(crate::methods::ipfs::store_err)
}

struct WriteOpts {
    offset: u64,
    count: Option<u64>,
    create: bool,
    truncate: bool,
    parents: bool,
}

/// `max_read` bounds one `FilesRead` (config.json `storage.max_read_bytes`; the CLI streams
/// through the gateway instead).
pub fn register<B: Backend>(
    reg: &mut Registry,
    store: Arc<B>,
    net: Option<Arc<dyn NetHandle>>,
    max_read: u64,
) -> Arc<Files<B>> {
    let files = Arc::new(Files { store, net, lock: Mutex::new(()) });
    let f = files.clone();
    reg.register("FilesLs", true, move |call| {
        let p = path(&call, "path")?;
        let list = f.read(|m| m.ls(&p))?;
        Ok(Value::Array(
            list.into_iter()
                .map(|e| json!({"Name": e.name, "Hash": e.hash.to_string(), "Size": e.size, "Type": type_code(e.kind), "Target": ""}))
                .collect(),
        ))
    });
    let f = files.clone();
    reg.register("FilesStat", true, move |call| {
        let p = path(&call, "path")?;
        let st = f.read(|m| m.stat(&p))?;
        Ok(json!({
            "Hash": st.hash.to_string(),
            "Size": st.size,
            "CumulativeSize": st.cumulative_size,
            "Blocks": st.blocks,
            "Type": type_name(st.kind),
        }))
    });
    let f = files.clone();
    reg.register("FilesMkdir", true, move |call| {
        let p = path(&call, "path")?;
        // The original's callers give (path, flush) and get the parents made.
        let parents = flag(&call, "parents", true);
        let version = cid_version(&call)?;
        f.change(None, |m| m.mkdir(&p, parents, version))?;
        Ok(Value::Null)
    });
    let f = files.clone();
    reg.register("FilesCopy", true, move |call| {
        let src = Source::parse(call.str("src")?).map_err(mfs_err)?;
        let dst = path(&call, "dst")?;
        let parents = flag(&call, "parents", false);
        let root = match &src {
            Source::Ipfs(cid, _) => Some(cid.clone()),
            Source::Mfs(_) => None,
        };
        f.change(root.as_ref(), |m| m.cp(&src, &dst, parents))?;
        Ok(Value::Null)
    });
    let f = files.clone();
    reg.register("FilesMv", true, move |call| {
        let (src, dst) = (path(&call, "src")?, path(&call, "dst")?);
        f.change(None, |m| m.mv(&src, &dst))?;
        Ok(Value::Null)
    });
    let f = files.clone();
    reg.register("FilesRm", true, move |call| {
        let p = path(&call, "path")?;
        let (recursive, force) = (flag(&call, "recursive", false), flag(&call, "force", false));
        f.change(None, |m| m.rm(&p, recursive, force))?;
        Ok(Value::Null)
    });
    let f = files.clone();
    reg.register("FilesFlush", true, move |call| {
        // Every change is stored when it returns: a flush only names the CID.
        let p = match call.arg("path") {
            None | Some(Value::Null) => MfsPath::parse("/").map_err(mfs_err)?,
            Some(_) => path(&call, "path")?,
        };
        Ok(Value::String(f.read(|m| m.resolve(&p))?.to_string()))
    });
    let f = files.clone();
    reg.register("FilesChcid", true, move |call| {
        let p = path(&call, "path")?;
        let v = cid_version(&call)?.ok_or_else(|| ApiError::bad_request("FilesChcid needs a cid_version (0 or 1)"))?;
        f.change(None, |m| m.chcid(&p, v))?;
        Ok(Value::Null)
    });
    let f = files.clone();
    reg.register_streaming("FilesWrite", true, move |mut call| {
        let p = path(&call, "path")?;
        let o = WriteOpts {
            offset: number(&call, "offset")?.unwrap_or(0),
            count: number(&call, "count")?,
            create: flag(&call, "create", false),
            truncate: flag(&call, "truncate", false),
            parents: flag(&call, "parents", false),
        };
        match call.body.take() {
            Some(body) => f.write(&p, &o, body),
            None => {
                let data = bytes_arg(call.arg("data"))?;
                f.write(&p, &o, &mut data.as_slice())
            }
        }
    });
    let f = files.clone();
    reg.register("FilesRead", true, move |call| {
        let p = path(&call, "path")?;
        let offset = number(&call, "offset")?.unwrap_or(0);
        let count = match call.arg("count").and_then(Value::as_i64) {
            Some(n) if n >= 0 => n as u64,
            _ => u64::MAX,
        };
        let (cid, size) = f.read(|m| {
            let st = m.stat(&p)?;
            if st.kind == Kind::Directory {
                return Err(MfsError::IsADirectory(p.display()));
            }
            Ok((st.hash, st.size))
        })?;
        let want = count.min(size.saturating_sub(offset));
        if want > max_read {
            return Err(ApiError::bad_request(format!(
                "FilesRead returns at most {max_read} bytes at once (storage.max_read_bytes); read this file of {size} bytes in pieces (offset, count) or through /ipfs/{cid}"
            )));
        }
        let mut cur = FileCursor::new(cid, offset, offset.saturating_add(count));
        let mut out = Vec::new();
        while let Some(piece) = cur.next_slice(&*f.store).map_err(|e| mfs_err(e.into()))? {
            out.extend_from_slice(&piece.buf[piece.range]);
        }
        Ok(bytes_value(out))
    });
    files
}

fn mfs_err(e: MfsError) -> ApiError {
    match e {
        MfsError::NotFound(_) | MfsError::Read(proto_core::unixfs::read::ReadError::Missing(_)) => {
            ApiError::not_found(e.to_string())
        }
        MfsError::Store(s) => crate::methods::ipfs::store_err(s),
        MfsError::Read(proto_core::unixfs::read::ReadError::Store(s)) => crate::methods::ipfs::store_err(s),
        e => ApiError::bad_request(e.to_string()),
    }
}

/// An argument by name, or (for a call whose body is the data) the query parameter.
fn opt(call: &Call<'_>, name: &str) -> Option<Value> {
    call.arg(name).cloned().or_else(|| call.query.get(name).map(|s| Value::String(s.clone())))
}

fn path(call: &Call<'_>, name: &str) -> Result<MfsPath, ApiError> {
    match opt(call, name) {
        Some(Value::String(s)) => MfsPath::parse(&s).map_err(mfs_err),
        _ => Err(ApiError::bad_request(format!("{} needs a path as {name}", call.sig.name))),
    }
}

fn flag(call: &Call<'_>, name: &str, default: bool) -> bool {
    match opt(call, name) {
        Some(Value::Bool(b)) => b,
        Some(Value::String(s)) => s == "true" || s == "1",
        Some(Value::Number(n)) => n.as_u64() == Some(1),
        _ => default,
    }
}

fn number(call: &Call<'_>, name: &str) -> Result<Option<u64>, ApiError> {
    match opt(call, name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) if n.as_i64() == Some(-1) => Ok(None),
        Some(Value::Number(n)) => {
            n.as_u64().map(Some).ok_or_else(|| ApiError::bad_request(format!("{name} must be a whole number ≥ 0")))
        }
        Some(Value::String(s)) => {
            s.parse().map(Some).map_err(|_| ApiError::bad_request(format!("{name} \"{s}\" is not a whole number ≥ 0")))
        }
        Some(_) => Err(ApiError::bad_request(format!("{name} must be a whole number ≥ 0"))),
    }
}

fn cid_version(call: &Call<'_>) -> Result<Option<Version>, ApiError> {
    match number(call, "cid_version")? {
        None => Ok(None),
        Some(0) => Ok(Some(Version::V0)),
        Some(1) => Ok(Some(Version::V1)),
        Some(v) => Err(ApiError::bad_request(format!("cid version {v} is not supported (use 0 or 1)"))),
    }
}

/// Bytes given as a JSON value: a string's UTF-8, or a list of byte values (how hprose binary
/// strings that are not UTF-8 arrive).
pub(crate) fn bytes_arg(v: Option<&Value>) -> Result<Vec<u8>, ApiError> {
    match v {
        Some(Value::String(s)) => Ok(s.clone().into_bytes()),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| x.as_u64().filter(|&b| b < 256).map(|b| b as u8))
            .collect::<Option<Vec<u8>>>()
            .ok_or_else(|| ApiError::bad_request("data must be a string or a list of bytes (0–255)")),
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(_) => Err(ApiError::bad_request("data must be a string or a list of bytes (0–255)")),
    }
}

/// Bytes as a JSON value: a string when they are UTF-8, else a list of byte values.
pub(crate) fn bytes_value(b: Vec<u8>) -> Value {
    match String::from_utf8(b) {
        Ok(s) => Value::String(s),
        Err(e) => Value::Array(e.into_bytes().into_iter().map(Value::from).collect()),
    }
}

/// The original's `LsLink.Type`: 0 file, 1 directory (2 for a symlink).
fn type_code(k: Kind) -> u8 {
    match k {
        Kind::File => 0,
        Kind::Directory => 1,
        Kind::Symlink => 2,
    }
}

fn type_name(k: Kind) -> &'static str {
    match k {
        Kind::File => "file",
        Kind::Directory => "directory",
        Kind::Symlink => "symlink",
    }
}
