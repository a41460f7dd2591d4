//! The repo's disk: how much room its filesystem has (`statvfs`), and naming a write that failed
//! because that room ran out.
//!
//! LMDB reports a full disk in two ways: `ENOSPC` when growing a file fails outright, and `EIO`
//! when `pwrite` of a commit's pages comes back short ("short write, filesystem full?" in
//! mdb.c). A short write is what a full disk gives, so an `EIO` with less room left on the
//! filesystem than the failed write needed is reported as the full disk it is; an `EIO` with
//! room to spare stays an I/O error.

use std::io;
use std::path::Path;

/// How every out-of-space error begins, so callers can tell it from other failures.
pub const NO_SPACE: &str = "no space left on device";

const ENOSPC: i32 = 28;
const EIO: i32 = 5;
const EDQUOT: i32 = 122;

/// The room on a filesystem, in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FsSpace {
    pub total: u64,
    /// Free blocks, including those reserved for root.
    pub free: u64,
    /// What an unprivileged process may still use (`df`'s "Avail").
    pub avail: u64,
}

/// The room on the filesystem holding `path`.
#[cfg(unix)]
// The fields are 32 bits wide on 32-bit hosts (armv7), 64 on others: `from` is a no-op here only.
#[allow(clippy::useless_conversion)]
pub fn fs_space(path: &Path) -> io::Result<FsSpace> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path with a NUL byte"))?;
    let mut st = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `c` is a NUL-terminated path that outlives the call, and `st` points to writable
    // memory of the struct's size, which statvfs fills when it returns 0.
    #[allow(unsafe_code)]
    let rc = unsafe { libc::statvfs(c.as_ptr(), st.as_mut_ptr()) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: statvfs returned 0, so it wrote the whole struct.
    #[allow(unsafe_code)]
    let st = unsafe { st.assume_init() };
    let unit = u64::from(st.f_frsize);
    Ok(FsSpace {
        total: u64::from(st.f_blocks) * unit,
        free: u64::from(st.f_bfree) * unit,
        avail: u64::from(st.f_bavail) * unit,
    })
}

#[cfg(not(unix))]
pub fn fs_space(_path: &Path) -> io::Result<FsSpace> {
    Err(io::Error::new(io::ErrorKind::Unsupported, "free space is only known on unix"))
}

fn mib(bytes: u64) -> u64 {
    bytes >> 20
}

/// The one-line message for a full disk under `dir`.
pub fn full_message(dir: &Path) -> String {
    match fs_space(dir) {
        Ok(s) => format!("{NO_SPACE}: the repo's disk is full ({} MiB free)", mib(s.avail)),
        Err(_) => format!("{NO_SPACE}: the repo's disk is full"),
    }
}

/// Whether an OS error from writing `attempted` bytes under `dir` means the disk is full.
pub fn is_full(e: &io::Error, dir: &Path, attempted: u64) -> bool {
    match e.raw_os_error() {
        Some(ENOSPC) | Some(EDQUOT) => true,
        // A short write: full when the filesystem has less room than the write needed (one
        // page at least, since LMDB writes whole pages).
        Some(EIO) => fs_space(dir).is_ok_and(|s| s.free < attempted.max(4096) + (1 << 20)),
        _ => false,
    }
}

/// The message for a failed LMDB write under `dir` of about `attempted` bytes: a full disk or
/// a full map is named as such; anything else keeps LMDB's words.
/// A write error's text as the store traits' error: a full disk is `Full`.
pub fn fault(text: String) -> proto_core::store::StoreError {
    if text.starts_with(NO_SPACE) {
        proto_core::store::StoreError::Full(text)
    } else {
        proto_core::store::StoreError::Failed(text)
    }
}

pub fn write_error(e: &heed::Error, dir: &Path, attempted: u64) -> String {
    match e {
        heed::Error::Io(io) if is_full(io, dir, attempted) => full_message(dir),
        heed::Error::Mdb(heed::MdbError::MapFull) => {
            format!("{NO_SPACE}: the store reached its map size (the most this host can address)")
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn space_of_a_real_filesystem() {
        let dir = tempfile::tempdir().unwrap();
        let s = fs_space(dir.path()).unwrap();
        assert!(s.total > 0 && s.free <= s.total && s.avail <= s.free, "{s:?}");
        assert!(fs_space(&dir.path().join("missing")).is_err());
    }

    #[test]
    fn enospc_and_short_writes_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let free = fs_space(dir.path()).unwrap().free;
        let enospc = heed::Error::Io(io::Error::from_raw_os_error(ENOSPC));
        let msg = write_error(&enospc, dir.path(), 10);
        assert!(msg.starts_with("no space left on device: the repo's disk is full ("), "{msg}");
        assert!(msg.ends_with(" MiB free)"), "{msg}");
        // A short write bigger than the room left is a full disk; one with room to spare is not.
        let eio = || heed::Error::Io(io::Error::from_raw_os_error(EIO));
        assert!(write_error(&eio(), dir.path(), free + 1).starts_with(NO_SPACE));
        assert!(!write_error(&eio(), dir.path(), 4096).starts_with(NO_SPACE) || free < (2 << 20));
        assert!(write_error(&heed::Error::Mdb(heed::MdbError::MapFull), dir.path(), 1).starts_with(NO_SPACE));
        let other = heed::Error::Io(io::Error::from_raw_os_error(13));
        assert!(!write_error(&other, dir.path(), 1).starts_with(NO_SPACE));
    }
}
