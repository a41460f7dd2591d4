//! The mutable file system (kubo's MFS, the original's `files` commands): a tree of UnixFS
//! directories whose root CID the node keeps. Every change rebuilds the directories on the
//! changed path with the same builder `ipfs add -r` uses, so a tree made with `files` has the
//! root CID that `ipfs add -r` gives for the same tree (HAMT shards included).
//!
//! Pure functions over the block-store traits: blocks go to the store as they are made; the root
//! is a value the caller persists once an operation succeeds, so a crash between operations
//! leaves the last stored root and a failed operation changes nothing.

mod path;
mod tree;
mod write;

pub use path::{MfsPath, Source};
pub use tree::{LsEntry, Mfs, StatInfo};
pub use write::FileWriter;

use crate::cid::Version;
use crate::store::StoreError;
use crate::unixfs::read::ReadError;
use crate::unixfs::Profile;
use std::fmt;

/// Why an MFS operation failed; the text is what the client sees (kubo's wording where it has one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MfsError {
    BadPath(String),
    /// The path (as given) does not exist.
    NotFound(String),
    Exists(String),
    NotADirectory(String),
    /// A directory where a file was needed, or `rm` of a directory without `-r`.
    IsADirectory(String),
    Refused(String),
    Read(ReadError),
    Store(StoreError),
}

impl fmt::Display for MfsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MfsError::BadPath(t) | MfsError::Refused(t) => f.write_str(t),
            MfsError::NotFound(p) => write!(f, "{p}: file does not exist"),
            MfsError::Exists(p) => write!(f, "{p}: file already exists"),
            MfsError::NotADirectory(p) => write!(f, "{p} is not a directory"),
            MfsError::IsADirectory(p) => write!(f, "{p} is a directory"),
            MfsError::Read(e) => write!(f, "{e}"),
            MfsError::Store(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for MfsError {}

impl From<ReadError> for MfsError {
    fn from(e: ReadError) -> Self {
        match e {
            ReadError::Store(s) => MfsError::Store(s),
            e => MfsError::Read(e),
        }
    }
}

impl From<StoreError> for MfsError {
    fn from(e: StoreError) -> Self {
        MfsError::Store(e)
    }
}

/// The import profile of a directory (and of the files written into it) by its CID version:
/// what `ipfs add` uses for that version, so the tree equals an add of it.
pub fn profile_for(version: Version) -> Profile {
    match version {
        Version::V0 => Profile::UNIXFS_V0_2015,
        Version::V1 => Profile::UNIXFS_V1_2025,
    }
}

#[cfg(test)]
mod tests;
