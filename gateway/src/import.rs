//! Importing files and directory trees into the store: the streaming UnixFS importer from
//! proto-core, with blocks committed in batches so memory stays bounded and throughput does not
//! pay one fsync per block.

use proto_core::store::BlockWrite;
use proto_core::unixfs::dir::{symlink_block, DirBuilder};
use proto_core::unixfs::file::{FileImporter, LinkInfo};
use proto_core::unixfs::{Block, Profile};
use std::fmt;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// Blocks are committed once this many bytes are pending (one LMDB transaction each).
pub const BATCH_BYTES: usize = 8 << 20;
/// Read size from the source.
pub const READ_BUF: usize = 1 << 20;

#[derive(Debug)]
pub enum ImportError {
    Read(PathBuf, io::Error),
    Store(String),
    Unsupported(PathBuf, &'static str),
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImportError::Read(p, e) if p.as_os_str().is_empty() => {
                write!(f, "cannot read the input: {e}")
            }
            ImportError::Read(p, e) => write!(f, "cannot read {}: {e}", p.display()),
            ImportError::Store(e) => write!(f, "cannot store blocks: {e}"),
            ImportError::Unsupported(p, what) => write!(f, "cannot add {}: {what}", p.display()),
        }
    }
}

impl std::error::Error for ImportError {}

/// Collects blocks and writes them in batches; with no store (`--only-hash`) it drops them.
pub struct Batcher<'a> {
    store: Option<&'a dyn BlockWrite>,
    pending: Vec<Block>,
    pending_bytes: usize,
    pub blocks_written: u64,
}

impl<'a> Batcher<'a> {
    pub fn new(store: Option<&'a dyn BlockWrite>) -> Self {
        Batcher { store, pending: Vec::new(), pending_bytes: 0, blocks_written: 0 }
    }

    pub fn add(&mut self, blocks: &mut Vec<Block>) -> Result<(), ImportError> {
        if self.store.is_none() {
            blocks.clear();
            return Ok(());
        }
        self.pending_bytes += blocks.iter().map(|b| b.bytes.len()).sum::<usize>();
        self.pending.append(blocks);
        if self.pending_bytes >= BATCH_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    pub fn flush(&mut self) -> Result<(), ImportError> {
        if let Some(store) = self.store {
            if !self.pending.is_empty() {
                store.put_blocks(&self.pending).map_err(ImportError::Store)?;
                self.blocks_written += self.pending.len() as u64;
            }
        }
        self.pending.clear();
        self.pending_bytes = 0;
        Ok(())
    }
}

/// Imports one stream as a file. `progress` is told the bytes read so far.
pub fn import_reader(
    batch: &mut Batcher<'_>,
    profile: Profile,
    reader: &mut dyn Read,
    progress: &mut dyn FnMut(u64),
) -> Result<LinkInfo, ImportError> {
    let mut imp = FileImporter::new(profile);
    let mut buf = vec![0u8; READ_BUF];
    let mut out = Vec::new();
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ImportError::Read(PathBuf::new(), e)),
        };
        imp.push(&buf[..n], &mut out);
        batch.add(&mut out)?;
        progress(imp.bytes_in());
    }
    let root = imp.finish(&mut out);
    batch.add(&mut out)?;
    Ok(root)
}

/// Options of `ipfs add -r`.
#[derive(Clone, Copy, Debug)]
pub struct TreeOptions {
    pub profile: Profile,
    /// Include names starting with `.` (kubo's `--hidden`).
    pub hidden: bool,
}

/// Imports a file, symlink or directory tree from the local file system.
pub fn import_path(
    batch: &mut Batcher<'_>,
    opts: TreeOptions,
    path: &Path,
    progress: &mut dyn FnMut(u64),
) -> Result<LinkInfo, ImportError> {
    let meta = std::fs::symlink_metadata(path).map_err(|e| ImportError::Read(path.to_path_buf(), e))?;
    let ft = meta.file_type();
    if ft.is_symlink() {
        let target = std::fs::read_link(path).map_err(|e| ImportError::Read(path.to_path_buf(), e))?;
        let block = symlink_block(&opts.profile, target.as_os_str().as_encoded_bytes());
        let info = LinkInfo { cid: block.cid.clone(), tsize: block.bytes.len() as u64, filesize: 0 };
        batch.add(&mut vec![block])?;
        return Ok(info);
    }
    if ft.is_file() {
        let mut f = std::fs::File::open(path).map_err(|e| ImportError::Read(path.to_path_buf(), e))?;
        return import_reader(batch, opts.profile, &mut f, progress).map_err(|e| match e {
            ImportError::Read(_, io) => ImportError::Read(path.to_path_buf(), io),
            other => other,
        });
    }
    if !ft.is_dir() {
        return Err(ImportError::Unsupported(path.to_path_buf(), "only files, directories and symlinks can be added"));
    }
    let mut dir = DirBuilder::new(opts.profile);
    let rd = std::fs::read_dir(path).map_err(|e| ImportError::Read(path.to_path_buf(), e))?;
    let mut done_bytes = 0u64;
    for entry in rd {
        let entry = entry.map_err(|e| ImportError::Read(path.to_path_buf(), e))?;
        let name = entry.file_name();
        let bytes = name.as_encoded_bytes();
        if !opts.hidden && bytes.starts_with(b".") {
            continue;
        }
        let base = done_bytes;
        let child = import_path(batch, opts, &entry.path(), &mut |n| progress(base + n))?;
        done_bytes += child.filesize;
        dir.insert(bytes, child.cid, child.tsize);
    }
    let mut out = Vec::new();
    let root = dir.build(&mut out);
    batch.add(&mut out)?;
    Ok(LinkInfo { cid: root.cid, tsize: root.tsize, filesize: done_bytes })
}
