//! A file MiMei's working copy (`cur`) opened by its author on the node that writes it: an fsid
//! on a path of the tree, read at its current state and written through the file system's
//! operations (`proto_core::mfs`) on the tree; each write stores the new tree as `cur`.

use super::{FileSessions, Fs};
use crate::Backend;
use gateway::api::ApiError;
use proto_core::cid::Cid;
use proto_core::mfs::{Mfs, MfsError, MfsPath};
use proto_core::mimei::{Mid, Mimei};

fn mfs_err(e: MfsError) -> ApiError {
    match e {
        MfsError::NotFound(_) => ApiError::not_found(e.to_string()),
        MfsError::Store(s) => crate::methods::ipfs::store_err(s),
        e => ApiError::bad_request(e.to_string()),
    }
}

impl<B: Backend> FileSessions<B> {
    fn mimei(&self, mid: &Mid) -> Result<Mimei, ApiError> {
        self.store
            .get_mimei(mid)
            .map_err(ApiError::internal)?
            .ok_or_else(|| ApiError::not_found(format!("MiMei {mid} is not on this node")))
    }

    /// The CID at `path` of the MiMei's working copy now.
    pub(super) fn cur_cid(&self, mid: &Mid, path: &MfsPath) -> Result<Cid, ApiError> {
        let m = self.mimei(mid)?;
        let mfs = Mfs::open(&*self.store, m.cid_of("cur").ok()).map_err(mfs_err)?;
        mfs.resolve(path).map_err(mfs_err)
    }

    /// Changes the working copy's tree and stores it as the MiMei's `cur`.
    pub(super) fn write_cur(
        &self,
        mid: &Mid,
        f: impl FnOnce(&mut Mfs<'_, B>) -> Result<(), MfsError>,
    ) -> Result<(), ApiError> {
        let _one = self.cur_lock.lock().map_err(|_| ApiError::internal("lock"))?;
        let mut m = self.mimei(mid)?;
        let mut mfs = Mfs::open(&*self.store, m.cid_of("cur").ok()).map_err(mfs_err)?;
        f(&mut mfs).map_err(mfs_err)?;
        m.set_cur(mfs.root()).map_err(|e| ApiError::bad_request(e.to_string()))?;
        self.store.put_mimei(&m).map_err(ApiError::internal)
    }

    /// `MFSetData` on a working copy's file: `data` at `start` (< 0 from the end).
    pub(super) fn cur_set(&self, mid: &Mid, path: &MfsPath, data: &[u8], start: i64) -> Result<(), ApiError> {
        let store = &*self.store;
        self.write_cur(mid, |mfs| {
            let size = match mfs.stat(path) {
                Ok(st) => st.size,
                Err(MfsError::NotFound(_)) => 0,
                Err(e) => return Err(e),
            };
            let mut w = mfs.write_begin(path, super::methods::position(start, size), true, false, true)?;
            w.push(store, data)?;
            mfs.write_finish(path, w, true)
        })
    }

    /// `MFTruncate` on a working copy's file.
    pub(super) fn cur_truncate(&self, mid: &Mid, path: &MfsPath, size: u64) -> Result<(), ApiError> {
        self.write_cur(mid, |mfs| {
            let mut w = mfs.write_begin(path, size, true, false, true)?;
            w.end_here();
            mfs.write_finish(path, w, true)
        })
    }

    /// The working copy's (mid, path) an fsid names, if it names one.
    pub(super) fn cur_of(&self, id: &str) -> Result<Option<(Mid, MfsPath)>, ApiError> {
        self.with(id, |fs| match fs {
            Fs::Cur { mid, path } => Ok(Some((*mid, path.clone()))),
            _ => Ok(None),
        })
    }
}
