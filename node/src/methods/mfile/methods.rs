//! The MF* methods and `MMOpenUrl`, with the original's names and argument order.

use super::url::{self, Target};
use super::{FileSessions, Fs, Opener};
use crate::content::import::{import_reader, Batcher, SharedStore};
use crate::methods::files::{bytes_arg, bytes_value, Files};
use crate::methods::ipfs::{import_err, store_err};
use crate::Backend;
use gateway::api::{ApiError, Call, Registry};
use proto_core::cid::Cid;
use proto_core::mimei::Kind as MimeiKind;
use proto_core::unixfs::read::{self, FileCursor, Kind};
use proto_core::unixfs::Profile;
use serde_json::{json, Value};
use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom, Write};
use std::sync::Arc;

fn bad(m: impl Into<String>) -> ApiError {
    ApiError::bad_request(m.into())
}

fn io_err(what: &str, e: std::io::Error) -> ApiError {
    ApiError::internal(format!("{what}: {e}"))
}

fn int(call: &Call<'_>, name: &str, default: i64) -> Result<i64, ApiError> {
    match call.arg(name) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Number(n)) => n.as_i64().ok_or_else(|| bad(format!("{name} must be a whole number"))),
        Some(Value::String(s)) => s.parse().map_err(|_| bad(format!("{name} \"{s}\" is not a whole number"))),
        Some(_) => Err(bad(format!("{name} must be a whole number"))),
    }
}

/// `start` as the original reads it: ≥ 0 from the beginning, < 0 from the end (-1 = the end).
pub(super) fn position(start: i64, size: u64) -> u64 {
    if start >= 0 {
        start as u64
    } else {
        size.saturating_sub(start.unsigned_abs() - 1)
    }
}

/// `max_read` bounds one `MFGetData` (config.json `storage.max_read_bytes`).
pub fn register<B: Backend>(reg: &mut Registry, fs: &Arc<FileSessions<B>>, files: &Arc<Files<B>>, max_read: u64) {
    let f = fs.clone();
    reg.register("MFOpenTempFile", false, move |call| {
        if !call.may_write && call.user_pk.is_none() {
            return Err(ApiError { status: 401, message: "MFOpenTempFile needs a session: log in first".into() });
        }
        std::fs::create_dir_all(&f.temp_dir).map_err(|e| io_err("cannot make the temp directory", e))?;
        let id = f.new_id();
        let path = f.temp_dir.join(&id);
        std::fs::File::create(&path).map_err(|e| io_err("cannot make a temp file", e))?;
        let opener = Opener { owner: call.may_write, user: call.user_pk };
        Ok(Value::String(f.insert_as(id, Fs::Temp { path, opener })?))
    });
    let (f, fl) = (fs.clone(), files.clone());
    reg.register("MMOpenUrl", false, move |call| {
        let target = url::parse(call.str("path")?).map_err(bad)?;
        if let Target::Mimei(mid, ver, sub) = target {
            return f.open_in(&call, &file_mimei(&*f.store, &mid)?, &ver, sub_path(&sub)?);
        }
        let (cid, name) = open_target(&*f.store, &fl, &call, target)?;
        Ok(Value::String(f.insert(Fs::Node { cid, name })?))
    });
    let f = fs.clone();
    reg.register("MFOpenByPath", false, move |call| {
        let mid = crate::methods::mimei::mid_arg(&call)?;
        let path = call.arg("path").and_then(Value::as_str).unwrap_or("");
        f.open_in(&call, &file_mimei(&*f.store, &mid)?, "cur", sub_path(path)?)
    });
    let f = fs.clone();
    reg.register("MFSetData", false, move |call| {
        let data = bytes_arg(call.arg("data"))?;
        if let Some((mid, p)) = f.cur_of(call.str("fsid")?)? {
            f.cur_set(&mid, &p, &data, int(&call, "start", 0)?)?;
            return Ok(json!(data.len()));
        }
        let path = f.temp(call.str("fsid")?)?.0;
        let mut file = OpenOptions::new().write(true).open(&path).map_err(|e| io_err("the temp file", e))?;
        let size = file.metadata().map_err(|e| io_err("the temp file", e))?.len();
        let at = position(int(&call, "start", 0)?, size);
        file.seek(SeekFrom::Start(at)).and_then(|_| file.write_all(&data)).map_err(|e| write_err(&f, e))?;
        Ok(json!(data.len()))
    });
    let f = fs.clone();
    reg.register("MFTruncate", false, move |call| {
        let size = u64::try_from(int(&call, "size", 0)?).map_err(|_| bad("size must be ≥ 0"))?;
        if let Some((mid, p)) = f.cur_of(call.str("fsid")?)? {
            f.cur_truncate(&mid, &p, size)?;
            return Ok(Value::Null);
        }
        let path = f.temp(call.str("fsid")?)?.0;
        let file = OpenOptions::new().write(true).open(&path).map_err(|e| io_err("the temp file", e))?;
        file.set_len(size).map_err(|e| write_err(&f, e))?;
        Ok(Value::Null)
    });
    let f = fs.clone();
    reg.register("MFGetData", false, move |call| {
        let id = call.str("fsid")?;
        let (start, count) = (int(&call, "start", 0)?, int(&call, "count", -1)?);
        let size = f.size(id)?;
        let at = position(start, size).min(size);
        let want = if count < 0 { size - at } else { (count as u64).min(size - at) };
        if want > max_read {
            return Err(bad(format!(
                "MFGetData returns at most {max_read} bytes at once (storage.max_read_bytes); read this file of {size} bytes in pieces"
            )));
        }
        Ok(bytes_value(f.read_range(id, at, want)?))
    });
    let f = fs.clone();
    reg.register("MFGetSize", false, move |call| Ok(json!(f.size(call.str("fsid")?)?)));
    let f = fs.clone();
    reg.register("MFStat", false, move |call| f.stat(call.str("fsid")?));
    let f = fs.clone();
    reg.register("MFReaddir", false, move |call| {
        let cid = f.node(call.str("fsid")?)?.0;
        let count = int(&call, "count", -1)?;
        let mut out = Vec::new();
        for e in read::list(&*f.store, &cid).map_err(read_err)? {
            if count > 0 && out.len() as i64 >= count {
                break;
            }
            let name = String::from_utf8_lossy(&e.name).into_owned();
            out.push(file_info(&*f.store, &e.cid, &name)?);
        }
        Ok(Value::Array(out))
    });
    let f = fs.clone();
    reg.register("MFIsExist", false, move |call| {
        let cid = f.node(call.str("fsid")?)?.0;
        let name = call.str("fileid")?;
        match read::lookup(&*f.store, &cid, name.as_bytes()) {
            Ok(_) => Ok(Value::Bool(true)),
            Err(read::ReadError::NotFound(_)) => Ok(Value::Bool(false)),
            Err(e) => Err(read_err(e)),
        }
    });
    let f = fs.clone();
    reg.register("MFGetMimeType", false, move |call| {
        let id = call.str("fsid")?;
        let name = f.name(id)?;
        if let Some(t) = gateway::content_type::from_name(&name) {
            return Ok(Value::String(t.to_string()));
        }
        let size = f.size(id)?;
        let head = f.read_range(id, 0, size.min(512))?;
        Ok(Value::String(gateway::content_type::sniff(&head).to_string()))
    });
    let f = fs.clone();
    reg.register("MFTemp2Ipfs", false, move |call| {
        let id = call.str("fsid")?;
        let (path, opener) = f.temp(id)?;
        let (cid, _) = f.import(&path, &opener, true)?;
        f.close(id);
        Ok(Value::String(cid.to_string()))
    });
    let f = fs.clone();
    reg.register("MFTemp2MacFile", false, move |call| {
        // A mac file: the temp file's content, referenced by the MiMei (so GC keeps it and a
        // sync copies it), named by its mac id.
        let id = call.str("fsid")?;
        let (path, opener) = f.temp(id)?;
        let mid = crate::methods::mimei::mid_arg(&call)?;
        let mut m = f
            .store
            .get_mimei(&mid)
            .map_err(ApiError::internal)?
            .ok_or_else(|| ApiError::not_found(format!("MiMei {mid} is not on this node")))?;
        let author = opener.owner || opener.user == Some(m.author);
        if !author || !m.is_home(&f.users.keyring.node_pk()) {
            return Err(ApiError {
                status: 403,
                message: format!("a mac file of MiMei {mid} is added by its author on the node that writes it"),
            });
        }
        let (cid, _) = f.import(&path, &opener, false)?;
        m.add_refs(&[cid.to_string()]).map_err(|e| bad(e.to_string()))?;
        f.store.put_mimei(&m).map_err(ApiError::internal)?;
        f.close(id);
        Ok(Value::String(proto_core::mimei::refs::mac_id(&cid)))
    });
    let f = fs.clone();
    reg.register("MFOpenMacFile", false, move |call| {
        let mid = crate::methods::mimei::mid_arg(&call)?;
        let m = f
            .store
            .get_mimei(&mid)
            .map_err(ApiError::internal)?
            .ok_or_else(|| ApiError::not_found(format!("MiMei {mid} is not on this node (sync it first)")))?;
        crate::methods::access::readable(&call, &m)?;
        let fileid = call.str("fileid")?;
        let cid =
            m.mac_file(fileid).ok_or_else(|| ApiError::not_found(format!("MiMei {mid} has no mac file {fileid}")))?;
        Ok(Value::String(f.insert(Fs::Node { cid, name: fileid.to_string() })?))
    });
    let (f, fl) = (fs.clone(), files.clone());
    reg.register("MFTemp2Files", false, move |call| {
        let id = call.str("fsid")?;
        let (path, opener) = f.temp(id)?;
        if !opener.owner {
            return Err(ApiError {
                status: 403,
                message: "the node's file system is its owner's: MFTemp2Files of a user's temp file is refused".into(),
            });
        }
        let dst = proto_core::mfs::MfsPath::parse(call.str("path")?).map_err(|e| bad(e.to_string()))?;
        let (cid, tsize) = f.import(&path, &opener, false)?;
        fl.put(&dst, &cid, tsize)?;
        f.close(id);
        Ok(Value::String(cid.to_string()))
    });
}

/// What an opened URL names: its CID and its name.
fn open_target<B: Backend>(store: &B, files: &Files<B>, call: &Call<'_>, t: Target) -> Result<(Cid, String), ApiError> {
    let name = |sub: &str| sub.rsplit('/').next().unwrap_or("").to_string();
    match t {
        Target::Files(p) => {
            if !call.may_write {
                return Err(ApiError {
                    status: 401,
                    message: "the node's file system is its owner's: open it with the owner's session".into(),
                });
            }
            Ok((files.resolve(&p)?, p.name().to_string()))
        }
        Target::Ipfs(cid, sub) => Ok((read::resolve(store, &cid, &sub).map_err(read_err)?, name(&sub))),
        Target::Mimei(..) => Err(bad("a MiMei is opened by its version")),
    }
}

/// A file MiMei on this node (a database is opened with `MMOpen`).
fn file_mimei<B: Backend>(store: &B, mid: &proto_core::mimei::Mid) -> Result<proto_core::mimei::Mimei, ApiError> {
    let m = store
        .get_mimei(mid)
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::not_found(format!("MiMei {mid} is not on this node (sync it first)")))?;
    if m.head.info.kind == MimeiKind::Db {
        return Err(bad(format!("MiMei {mid} is a database: open it with MMOpen(sid, mid, ver)")));
    }
    Ok(m)
}

/// A path inside a MiMei's tree ("" is its root).
fn sub_path(sub: &str) -> Result<proto_core::mfs::MfsPath, ApiError> {
    proto_core::mfs::MfsPath::parse(&format!("/{}", sub.trim_start_matches('/'))).map_err(|e| bad(e.to_string()))
}

fn read_err(e: read::ReadError) -> ApiError {
    match e {
        read::ReadError::Missing(_) | read::ReadError::NotFound(_) => ApiError::not_found(e.to_string()),
        read::ReadError::Store(s) => store_err(s),
        e => bad(e.to_string()),
    }
}

fn write_err<B>(f: &FileSessions<B>, e: std::io::Error) -> ApiError {
    if e.raw_os_error() == Some(28) {
        return ApiError { status: 507, message: storage::space::full_message(&f.temp_dir) };
    }
    io_err("cannot write the temp file", e)
}

/// The original's `FileInfo`.
fn file_info<S: read::BlockRead + ?Sized>(store: &S, cid: &Cid, name: &str) -> Result<Value, ApiError> {
    let node = read::load_node(store, cid).map_err(read_err)?;
    let st = read::stat_node(cid, &node).map_err(read_err)?;
    let dir = st.kind == Kind::Directory;
    Ok(json!({
        "FName": name,
        "FSize": if dir { 0 } else { st.size },
        "FModTime": 0,
        "FIsDir": dir,
        "FMode": if dir { 0o40755 } else { 0o644 },
        "FID": cid.to_string(),
    }))
}

impl<B: Backend> FileSessions<B> {
    fn node(&self, id: &str) -> Result<(Cid, String), ApiError> {
        if let Some((mid, path)) = self.cur_of(id)? {
            return Ok((self.cur_cid(&mid, &path)?, path.name().to_string()));
        }
        self.with(id, |fs| match fs {
            Fs::Node { cid, name } => Ok((cid.clone(), name.clone())),
            _ => Err(bad(format!("fsid {id} is a temp file, not a directory"))),
        })
    }

    fn name(&self, id: &str) -> Result<String, ApiError> {
        self.with(id, |fs| {
            Ok(match fs {
                Fs::Node { name, .. } => name.clone(),
                Fs::Cur { path, .. } => path.name().to_string(),
                Fs::Temp { .. } => String::new(),
            })
        })
    }

    fn size(&self, id: &str) -> Result<u64, ApiError> {
        match self.with(id, |fs| Ok(matches!(fs, Fs::Temp { .. })))? {
            true => {
                let path = self.temp(id)?.0;
                Ok(std::fs::metadata(path).map_err(|e| io_err("the temp file", e))?.len())
            }
            false => {
                let cid = self.node(id)?.0;
                let node = read::load_node(&*self.store, &cid).map_err(read_err)?;
                Ok(read::stat_node(&cid, &node).map_err(read_err)?.size)
            }
        }
    }

    fn read_range(&self, id: &str, at: u64, n: u64) -> Result<Vec<u8>, ApiError> {
        let mut out = Vec::with_capacity(n as usize);
        if let Ok((path, _)) = self.temp(id) {
            let mut file = std::fs::File::open(path).map_err(|e| io_err("the temp file", e))?;
            file.seek(SeekFrom::Start(at)).map_err(|e| io_err("the temp file", e))?;
            file.take(n).read_to_end(&mut out).map_err(|e| io_err("the temp file", e))?;
            return Ok(out);
        }
        let cid = self.node(id)?.0;
        let mut cur = FileCursor::new(cid, at, at + n);
        while let Some(p) = cur.next_slice(&*self.store).map_err(read_err)? {
            out.extend_from_slice(&p.buf[p.range]);
        }
        Ok(out)
    }

    fn stat(&self, id: &str) -> Result<Value, ApiError> {
        if let Ok((path, _)) = self.temp(id) {
            let size = std::fs::metadata(path).map_err(|e| io_err("the temp file", e))?.len();
            return Ok(json!({"FName": id, "FSize": size, "FModTime": 0, "FIsDir": false, "FMode": 0o644, "FID": id}));
        }
        let (cid, name) = self.node(id)?;
        file_info(&*self.store, &cid, &name)
    }

    /// Imports a temp file (streamed from disk); pinned when `pin`. A user's bytes count
    /// against their quota.
    fn import(&self, path: &std::path::Path, opener: &Opener, pin: bool) -> Result<(Cid, u64), ApiError> {
        if let (false, Some(pk)) = (opener.owner, &opener.user) {
            self.users.check_bytes(pk)?;
        }
        let mut file = std::fs::File::open(path).map_err(|e| io_err("the temp file", e))?;
        let target: SharedStore = self.store.clone();
        let mut batch = Batcher::new(Some(target)).map_err(import_err)?;
        let root = import_reader(&mut batch, Profile::UNIXFS_V0_2015, &mut file, &mut |_| {}).map_err(import_err)?;
        batch.finish().map_err(import_err)?;
        if pin {
            self.store.pin_add(&root.cid).map_err(|e| store_err(e.context("cannot pin the file")))?;
        }
        batch.commit();
        if let (false, Some(pk)) = (opener.owner, &opener.user) {
            self.users.charge(pk, root.tsize)?;
        }
        Ok((root.cid, root.tsize))
    }
}
