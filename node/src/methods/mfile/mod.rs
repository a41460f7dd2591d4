//! The MiMei file API (leither-facts §3.4): files opened by an fsid — temp files on the node's
//! disk that a program writes and reads in pieces (`MFOpenTempFile`, `MFSetData`, `MFGetData`,
//! `MFTruncate`) and turns into content (`MFTemp2Ipfs`, `MFTemp2Files`), and read-only views of
//! content (a file MiMei's version by `MMOpen`, a path by `MMOpenUrl` or `MFOpenByPath`) that are
//! listed and read (`MFReaddir`, `MFStat`, `MFGetData`, `MFGetMimeType`, `MFIsExist`).
//!
//! Temp files live in the repo's `temp/` directory, never in memory, so a file of any size
//! goes through in chunks; they are the opener's and go when converted, closed or at restart.

mod cur;
mod methods;
mod url;

pub use methods::register;

use crate::Backend;
use gateway::api::{ApiError, Call};
use proto_core::cid::Cid;
use proto_core::mimei::Mimei;
use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Who opened a temp file: the owner, or a user (whose quota its bytes count against).
#[derive(Clone, Copy)]
struct Opener {
    owner: bool,
    user: Option<[u8; 32]>,
}

/// What an fsid names. The fsid is the capability, as an mmsid is: whoever holds it uses it.
enum Fs {
    /// A temp file: its path under `temp/`, and who opened it.
    Temp { path: PathBuf, opener: Opener },
    /// Content, read-only: a file or a directory, and its name.
    Node { cid: Cid, name: String },
    /// A path in a file MiMei's working copy, for its author on the node that writes it:
    /// read as it is now, written into `cur`.
    Cur { mid: proto_core::mimei::Mid, path: proto_core::mfs::MfsPath },
}

struct Open {
    fs: Fs,
    used: Instant,
}

/// The open files of the node.
pub struct FileSessions<B> {
    store: Arc<B>,
    temp_dir: PathBuf,
    open: Mutex<HashMap<String, Open>>,
    entropy: fn() -> [u8; 32],
    users: Arc<crate::methods::users::Users>,
    /// One change of a working copy at a time.
    cur_lock: Mutex<()>,
    /// Files open at once (config.json `storage.max_open_files`).
    max_open: usize,
}

impl<B: Backend> FileSessions<B> {
    /// Sessions whose temp files go in `repo/temp` (emptied now: fsids do not outlive a run).
    pub fn new(
        store: Arc<B>,
        repo: &std::path::Path,
        entropy: fn() -> [u8; 32],
        users: Arc<crate::methods::users::Users>,
        max_open: usize,
    ) -> Arc<Self> {
        let temp_dir = repo.join("temp");
        let _ = std::fs::remove_dir_all(&temp_dir);
        Arc::new(FileSessions {
            store,
            temp_dir,
            open: Mutex::new(HashMap::new()),
            entropy,
            users,
            cur_lock: Mutex::new(()),
            max_open: max_open.max(1),
        })
    }

    fn new_id(&self) -> String {
        (self.entropy)()[..16].iter().map(|b| format!("{b:02x}")).collect()
    }

    fn insert(&self, fs: Fs) -> Result<String, ApiError> {
        self.insert_as(self.new_id(), fs)
    }

    fn insert_as(&self, id: String, fs: Fs) -> Result<String, ApiError> {
        let mut open = self.open.lock().map_err(|_| ApiError::internal("lock"))?;
        if open.len() >= self.max_open {
            if let Some(oldest) = open.iter().min_by_key(|(_, o)| o.used).map(|(k, _)| k.clone()) {
                if let Some(Open { fs: Fs::Temp { path, .. }, .. }) = open.remove(&oldest) {
                    let _ = std::fs::remove_file(path);
                }
            }
        }
        open.insert(id.clone(), Open { fs, used: Instant::now() });
        Ok(id)
    }

    /// Closes an fsid (its temp file goes); false when it is not one.
    pub fn close(&self, id: &str) -> bool {
        let Ok(mut open) = self.open.lock() else { return false };
        match open.remove(id) {
            Some(Open { fs: Fs::Temp { path, .. }, .. }) => {
                let _ = std::fs::remove_file(path);
                true
            }
            Some(_) => true,
            None => false,
        }
    }

    /// `MMOpen` of a file MiMei: a version's tree, read-only; `cur` opened by its author on the
    /// node that writes it is the writable working copy.
    pub fn open_mimei(&self, call: &Call<'_>, m: &Mimei, ver: &str) -> Result<Value, ApiError> {
        self.open_in(call, m, ver, proto_core::mfs::MfsPath { segs: Vec::new(), trailing_slash: false })
    }

    /// A path in a file MiMei's version (`MMOpen`, `MFOpenByPath`, `mm://` URLs).
    pub(super) fn open_in(
        &self,
        call: &Call<'_>,
        m: &Mimei,
        ver: &str,
        path: proto_core::mfs::MfsPath,
    ) -> Result<Value, ApiError> {
        use proto_core::mimei::rights::Role;
        let (_, role) = crate::methods::access::readable(call, m)?;
        let cur = matches!(ver, "" | "cur");
        if cur && role == Role::Author && m.is_home(&self.users.keyring.node_pk()) {
            return Ok(Value::String(self.insert(Fs::Cur { mid: m.mid(), path })?));
        }
        let root = version_cid(m, ver)?;
        let name = path.name().to_string();
        let cid = if path.is_root() {
            root
        } else {
            proto_core::unixfs::read::resolve(&*self.store, &root, &path.segs.join("/"))
                .map_err(|e| ApiError::not_found(e.to_string()))?
        };
        Ok(Value::String(self.insert(Fs::Node { cid, name })?))
    }

    /// What an fsid names, touched as used.
    fn with<R>(&self, id: &str, f: impl FnOnce(&Fs) -> Result<R, ApiError>) -> Result<R, ApiError> {
        let mut open = self.open.lock().map_err(|_| ApiError::internal("lock"))?;
        let o = open.get_mut(id).ok_or_else(|| {
            ApiError::bad_request(format!(
                "unknown or closed fsid \"{id}\": open a file first (MFOpenTempFile, MMOpenUrl)"
            ))
        })?;
        o.used = Instant::now();
        f(&o.fs)
    }

    /// A temp file's path and opener.
    fn temp(&self, id: &str) -> Result<(PathBuf, Opener), ApiError> {
        self.with(id, |fs| match fs {
            Fs::Temp { path, opener } => Ok((path.clone(), *opener)),
            _ => Err(ApiError::bad_request(format!("fsid {id} is read-only content, not a temp file"))),
        })
    }
}

impl<B: Backend> gateway::api::OpenFiles for FileSessions<B> {
    fn content(&self, fsid: &str) -> Option<(Cid, String)> {
        self.with(fsid, |fs| match fs {
            Fs::Node { cid, name } => Ok(Some(Ok((cid.clone(), name.clone())))),
            Fs::Cur { mid, path } => Ok(Some(Err((*mid, path.clone())))),
            Fs::Temp { .. } => Ok(None),
        })
        .ok()
        .flatten()
        .and_then(|r| match r {
            Ok(found) => Some(found),
            Err((mid, path)) => self.cur_cid(&mid, &path).ok().map(|c| (c, path.name().to_string())),
        })
    }
}

/// The CID of a file MiMei's version by name (`cur` — the working copy, else the latest —,
/// `last`, `release` or a number).
fn version_cid(m: &Mimei, ver: &str) -> Result<Cid, ApiError> {
    m.cid_of(ver).map_err(|e| ApiError::not_found(format!("MiMei {}: {e}", m.mid())))
}
