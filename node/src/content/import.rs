//! Importing files and directory trees into the store: the streaming UnixFS importer from
//! proto-core, with blocks committed in batches so memory stays bounded and throughput does not
//! pay one fsync per block.

use proto_core::store::{BlockWrite, StoreError};
use proto_core::unixfs::dir::{symlink_block, DirBuilder};
use proto_core::unixfs::file::{FileImporter, LinkInfo};
use proto_core::unixfs::read::BlockRead;
use proto_core::unixfs::{Block, Profile};
use std::fmt;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;
use storage::AddHeld;

/// Blocks are committed once this many bytes are pending (one LMDB transaction each).
pub const BATCH_BYTES: usize = 8 << 20;
/// Leaf buffers handed back for reuse at most.
const RECYCLE: usize = 8;

#[derive(Debug)]
pub enum ImportError {
    Read(PathBuf, io::Error),
    Store(StoreError),
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

/// Where an add's blocks go. The node's store remembers what a running add wrote, so that a
/// failed add leaves nothing behind that nothing pins or references (`storage::adds`); stores
/// that keep no such record (in memory) just store the blocks.
pub trait AddTarget: BlockWrite + Send + Sync {
    fn put_add_blocks(&self, held: &mut AddHeld, blocks: &[Block]) -> Result<(), StoreError> {
        let _ = held;
        self.put_blocks(blocks)
    }
    /// The add is done and its root pinned.
    fn release_add(&self, held: AddHeld) {
        let _ = held;
    }
    /// The add failed: removes what only it wrote; returns how many blocks went.
    fn abort_add(&self, held: AddHeld) -> Result<u64, StoreError> {
        let _ = held;
        Ok(0)
    }
}

impl AddTarget for storage::Store {
    fn put_add_blocks(&self, held: &mut AddHeld, blocks: &[Block]) -> Result<(), StoreError> {
        storage::Store::put_add_blocks(self, held, blocks)
    }
    fn release_add(&self, held: AddHeld) {
        storage::Store::release_add(self, held)
    }
    fn abort_add(&self, held: AddHeld) -> Result<u64, StoreError> {
        storage::Store::abort_add(self, held)
    }
}

impl AddTarget for proto_core::store::MemStore {}
impl<B: BlockRead + BlockWrite + Send + Sync + 'static> AddTarget for crate::content::fetching::Fetching<B> {}

/// A block store shared with the writer thread.
pub type SharedStore = Arc<dyn AddTarget>;

type Writer = JoinHandle<(Result<u64, StoreError>, AddHeld)>;

/// Batches blocks and commits them on a writer thread, so hashing the next batch overlaps the
/// previous batch's fsync. At most two batches are in flight (one queued, one being written),
/// which bounds memory. With no store (`--only-hash`) blocks are dropped and their buffers
/// handed back for reuse.
///
/// An add that is dropped without `commit` (it failed anywhere) removes the blocks that only
/// it wrote (`AddTarget::abort_add`).
pub struct Batcher {
    store: Option<SharedStore>,
    tx: Option<SyncSender<Vec<Block>>>,
    writer: Option<Writer>,
    held: AddHeld,
    back: Option<Receiver<Vec<u8>>>,
    spent: Vec<Vec<u8>>,
    pending: Vec<Block>,
    pending_bytes: usize,
}

impl Batcher {
    pub fn new(store: Option<SharedStore>) -> Result<Self, ImportError> {
        let mut b = Batcher {
            store: store.clone(),
            tx: None,
            writer: None,
            held: AddHeld::default(),
            back: None,
            spent: Vec::new(),
            pending: Vec::new(),
            pending_bytes: 0,
        };
        if let Some(store) = store {
            let (btx, brx) = sync_channel::<Vec<Block>>(1);
            let (rtx, rrx) = sync_channel::<Vec<u8>>(RECYCLE);
            let writer = move || {
                let mut n = 0u64;
                let mut held = AddHeld::default();
                for batch in brx {
                    if let Err(e) = store.put_add_blocks(&mut held, &batch) {
                        return (Err(e), held);
                    }
                    n += batch.len() as u64;
                    for b in batch {
                        let _ = rtx.try_send(b.bytes);
                    }
                }
                (Ok(n), held)
            };
            let h = std::thread::Builder::new()
                .name("block-writer".into())
                .spawn(writer)
                .map_err(|e| ImportError::Store(StoreError::Failed(format!("cannot start the block writer: {e}"))))?;
            (b.tx, b.writer, b.back) = (Some(btx), Some(h), Some(rrx));
        }
        Ok(b)
    }

    fn storing(&self) -> bool {
        self.tx.is_some()
    }

    pub fn add(&mut self, blocks: &mut Vec<Block>) -> Result<(), ImportError> {
        if !self.storing() {
            for b in blocks.drain(..) {
                if self.spent.len() < RECYCLE {
                    self.spent.push(b.bytes);
                }
            }
            return Ok(());
        }
        self.pending_bytes += blocks.iter().map(|b| b.bytes.len()).sum::<usize>();
        self.pending.append(blocks);
        if self.pending_bytes >= BATCH_BYTES {
            self.send()?;
        }
        Ok(())
    }

    /// A buffer of a block that is done with (written, or dropped when only hashing).
    pub fn recycled(&mut self) -> Option<Vec<u8>> {
        self.spent.pop().or_else(|| self.back.as_ref().and_then(|r| r.try_recv().ok()))
    }

    fn send(&mut self) -> Result<(), ImportError> {
        self.pending_bytes = 0;
        let batch = std::mem::take(&mut self.pending);
        let Some(tx) = self.tx.as_ref() else { return Ok(()) };
        if batch.is_empty() {
            return Ok(());
        }
        if tx.send(batch).is_err() {
            // The writer stopped: its error says why.
            self.tx = None;
            return Err(self
                .join()
                .err()
                .unwrap_or_else(|| ImportError::Store(StoreError::Failed("the block writer stopped".into()))));
        }
        Ok(())
    }

    fn join(&mut self) -> Result<u64, ImportError> {
        match self.writer.take().map(JoinHandle::join) {
            None => Ok(0),
            Some(Ok((r, held))) => {
                self.held = held;
                r.map_err(ImportError::Store)
            }
            Some(Err(_)) => Err(ImportError::Store(StoreError::Failed("the block writer panicked".into()))),
        }
    }

    /// Commits what is pending and waits until every block is durable; returns the count.
    /// The add still counts as running until `commit` (after its root is pinned).
    pub fn finish(&mut self) -> Result<u64, ImportError> {
        self.send()?;
        self.tx = None;
        self.join()
    }

    /// The add's root is pinned: its blocks are kept by the pin from now on.
    pub fn commit(mut self) {
        if let Some(s) = self.store.take() {
            s.release_add(std::mem::take(&mut self.held));
        }
    }
}

impl Drop for Batcher {
    fn drop(&mut self) {
        let Some(store) = self.store.take() else { return };
        // Not committed: the add failed. Stop the writer, then remove what only this add wrote.
        self.tx = None;
        let _ = self.join();
        let held = std::mem::take(&mut self.held);
        if held.is_empty() {
            return;
        }
        if let Err(e) = store.abort_add(held) {
            eprintln!("leither: cannot remove the blocks of a failed add: {e}");
        }
    }
}

/// Imports one stream as a file. `progress` is told the bytes read so far.
pub fn import_reader(
    batch: &mut Batcher,
    profile: Profile,
    reader: &mut dyn Read,
    progress: &mut dyn FnMut(u64),
) -> Result<LinkInfo, ImportError> {
    let mut imp = FileImporter::new(profile);
    let mut out = Vec::new();
    loop {
        // Read straight into the leaf buffer: one copy from the source.
        let n = match reader.read(imp.spare()) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ImportError::Read(PathBuf::new(), e)),
        };
        imp.commit(n, &mut out);
        if !out.is_empty() {
            batch.add(&mut out)?;
            while let Some(buf) = batch.recycled() {
                imp.recycle(buf);
            }
            progress(imp.bytes_in());
        }
    }
    let root = imp.finish(&mut out);
    batch.add(&mut out)?;
    progress(root.filesize);
    Ok(root)
}

/// Imports a regular file with reads on a second thread: the reader fills whole leaf buffers
/// while this thread hashes, and buffers circulate between the two (bounded by `RECYCLE`).
pub fn import_file(
    batch: &mut Batcher,
    profile: Profile,
    mut file: std::fs::File,
    progress: &mut dyn FnMut(u64),
) -> Result<LinkInfo, ImportError> {
    let mut imp = FileImporter::new(profile);
    let (hdr, chunk) = imp.leaf_layout();
    let (full_tx, full_rx) = sync_channel::<io::Result<(Vec<u8>, usize)>>(4);
    let (free_tx, free_rx) = sync_channel::<Vec<u8>>(RECYCLE);
    let reader = std::thread::Builder::new()
        .name("file-reader".into())
        .spawn(move || loop {
            let mut buf = free_rx.try_recv().unwrap_or_else(|_| vec![0u8; hdr + chunk + 8]);
            buf.resize(hdr + chunk, 0);
            let mut n = 0;
            while n < chunk {
                match file.read(&mut buf[hdr + n..hdr + chunk]) {
                    Ok(0) => break,
                    Ok(k) => n += k,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        let _ = full_tx.send(Err(e));
                        return;
                    }
                }
            }
            // A short read means end of file: send it (possibly empty) and stop.
            let last = n < chunk;
            if full_tx.send(Ok((buf, n))).is_err() || last {
                return;
            }
        })
        .map_err(|e| ImportError::Read(PathBuf::new(), e))?;
    let mut out = Vec::new();
    let mut result = Ok(());
    for msg in full_rx.iter() {
        match msg {
            Ok((buf, n)) => {
                if n > 0 {
                    imp.push_leaf_buffer(buf, n, &mut out);
                }
                if let Err(e) = batch.add(&mut out) {
                    result = Err(e);
                    break;
                }
                while let Some(b) = batch.recycled() {
                    let _ = free_tx.try_send(b);
                }
                progress(imp.bytes_in());
            }
            Err(e) => {
                result = Err(ImportError::Read(PathBuf::new(), e));
                break;
            }
        }
    }
    drop(full_rx);
    let _ = reader.join();
    result?;
    let root = imp.finish(&mut out);
    batch.add(&mut out)?;
    progress(root.filesize);
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
    batch: &mut Batcher,
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
        let f = std::fs::File::open(path).map_err(|e| ImportError::Read(path.to_path_buf(), e))?;
        return import_file(batch, opts.profile, f, progress).map_err(|e| match e {
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

/// Imports bytes held in memory as one file (kubo's default profile), storing its blocks in one
/// transaction; returns the root.
pub fn import_bytes(store: &dyn BlockWrite, bytes: &[u8]) -> Result<proto_core::cid::Cid, String> {
    let mut imp = FileImporter::new(Profile::UNIXFS_V0_2015);
    let mut blocks = Vec::new();
    imp.push(bytes, &mut blocks);
    let root = imp.finish(&mut blocks);
    store.put_blocks(&blocks)?;
    Ok(root.cid)
}
