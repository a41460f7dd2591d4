//! `ipfs add` of a tar archive (`IpfsAdd?tar=true`): the archive's tree becomes a UnixFS
//! directory, built exactly as `ipfs add -r` builds the same tree from disk. The archive is
//! untrusted: `proto_core::tar` refuses paths and links that leave the tree.

use crate::content::import::{import_reader, Batcher, ImportError};
use proto_core::tar::{self, Kind};
use proto_core::unixfs::dir::{symlink_block, DirBuilder};
use proto_core::unixfs::file::LinkInfo;
use proto_core::unixfs::Profile;
use std::collections::BTreeMap;

/// Archives larger than this are refused: an archive is held in memory while it is imported,
/// and a router has little of it. Web apps are far smaller; bulk content goes by `ipfs add`.
pub const MAX_TAR_BYTES: u64 = 256 << 20;

enum Node<'a> {
    File(&'a [u8]),
    Link(&'a str),
    Dir(BTreeMap<&'a str, Node<'a>>),
}

#[derive(Debug)]
pub enum TarImportError {
    Tar(tar::TarError),
    Import(ImportError),
}

impl std::fmt::Display for TarImportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TarImportError::Tar(e) => e.fmt(f),
            TarImportError::Import(e) => e.fmt(f),
        }
    }
}

/// Imports the archive's tree; returns the root directory.
pub fn import_tar(batch: &mut Batcher, profile: Profile, bytes: &[u8]) -> Result<LinkInfo, TarImportError> {
    let entries = tar::read(bytes).map_err(TarImportError::Tar)?;
    let mut root: BTreeMap<&str, Node<'_>> = BTreeMap::new();
    for e in &entries {
        let mut dir = &mut root;
        let mut parts = e.path.split('/').peekable();
        while let Some(name) = parts.next() {
            if parts.peek().is_none() {
                let node = match &e.kind {
                    Kind::File(r) => Node::File(&bytes[r.clone()]),
                    Kind::Symlink(t) => Node::Link(t),
                    Kind::Dir => {
                        dir.entry(name).or_insert_with(|| Node::Dir(BTreeMap::new()));
                        break;
                    }
                };
                dir.insert(name, node);
                break;
            }
            let next = dir.entry(name).or_insert_with(|| Node::Dir(BTreeMap::new()));
            dir = match next {
                Node::Dir(d) => d,
                // `tar::read` refuses entries below files and links.
                _ => return Err(TarImportError::Tar(tar::TarError(format!("\"{}\" sits below a file", e.path)))),
            };
        }
    }
    build(batch, profile, &root).map_err(TarImportError::Import)
}

fn build(batch: &mut Batcher, profile: Profile, dir: &BTreeMap<&str, Node<'_>>) -> Result<LinkInfo, ImportError> {
    let mut b = DirBuilder::new(profile);
    let mut filesize = 0u64;
    for (name, node) in dir {
        let child = match node {
            Node::File(data) => import_reader(batch, profile, &mut &data[..], &mut |_| {})?,
            Node::Link(target) => {
                let block = symlink_block(&profile, target.as_bytes());
                let info = LinkInfo { cid: block.cid.clone(), tsize: block.bytes.len() as u64, filesize: 0 };
                batch.add(&mut vec![block])?;
                info
            }
            Node::Dir(d) => build(batch, profile, d)?,
        };
        filesize += child.filesize;
        b.insert(name.as_bytes(), child.cid, child.tsize);
    }
    let mut out = Vec::new();
    let root = b.build(&mut out);
    batch.add(&mut out)?;
    Ok(LinkInfo { cid: root.cid, tsize: root.tsize, filesize })
}
