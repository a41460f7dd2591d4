//! Reading UnixFS DAGs through a small block-store trait: what a node is, path resolution
//! (basic and HAMT directories), directory listings and byte ranges of files that touch only
//! the blocks the range needs.

use super::data::{DataType, UnixFsData};
use super::murmur3::hamt_hash;
use crate::cid::{Cid, CODEC_DAG_PB, CODEC_RAW};
use crate::dagpb::{DagPbError, PbLink, PbNode};
use std::fmt;

pub use crate::store::BlockRead;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReadError {
    /// The block is not in the store.
    Missing(Cid),
    Store(crate::store::StoreError),
    Decode(Cid, DagPbError),
    /// Structurally valid but not what UnixFS allows here.
    Malformed(Cid, &'static str),
    NotFound(String),
    NotADirectory(Cid),
    UnsupportedCodec(u64),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Missing(c) => write!(f, "block {c} is not available on this node"),
            ReadError::Store(e) => write!(f, "store error: {e}"),
            ReadError::Decode(c, e) => write!(f, "block {c} does not decode: {e}"),
            ReadError::Malformed(c, why) => write!(f, "block {c} is not valid unixfs: {why}"),
            ReadError::NotFound(p) => write!(f, "no link named \"{p}\""),
            ReadError::NotADirectory(c) => write!(f, "{c} is not a directory"),
            ReadError::UnsupportedCodec(c) => write!(f, "unsupported codec 0x{c:x}"),
        }
    }
}

impl std::error::Error for ReadError {}

pub fn load<S: BlockRead + ?Sized>(store: &S, cid: &Cid) -> Result<Vec<u8>, ReadError> {
    if cid.hash().code() == crate::cid::HASH_IDENTITY {
        return Ok(cid.hash().digest().to_vec());
    }
    store.get_block(cid).map_err(ReadError::Store)?.ok_or_else(|| ReadError::Missing(cid.clone()))
}

/// A decoded node: raw leaf, or dag-pb with its UnixFS message.
pub enum Node {
    Raw(Vec<u8>),
    Pb(PbNode, UnixFsData),
}

pub fn decode(cid: &Cid, bytes: Vec<u8>) -> Result<Node, ReadError> {
    match cid.codec() {
        CODEC_RAW => Ok(Node::Raw(bytes)),
        CODEC_DAG_PB => {
            let pb = PbNode::decode(&bytes).map_err(|e| ReadError::Decode(cid.clone(), e))?;
            let data = pb.data.as_deref().ok_or(ReadError::Malformed(cid.clone(), "no Data field"))?;
            let fs = UnixFsData::decode(data).map_err(|e| ReadError::Decode(cid.clone(), e))?;
            Ok(Node::Pb(pb, fs))
        }
        c => Err(ReadError::UnsupportedCodec(c)),
    }
}

pub fn load_node<S: BlockRead + ?Sized>(store: &S, cid: &Cid) -> Result<Node, ReadError> {
    decode(cid, load(store, cid)?)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    File,
    Directory,
    Symlink,
}

/// What a CID points at, and a file's size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stat {
    pub kind: Kind,
    pub size: u64,
}

pub fn stat_node(cid: &Cid, node: &Node) -> Result<Stat, ReadError> {
    Ok(match node {
        Node::Raw(b) => Stat { kind: Kind::File, size: b.len() as u64 },
        Node::Pb(_, fs) => match fs.kind {
            DataType::File | DataType::Raw => {
                let size = fs.filesize.unwrap_or_else(|| fs.data.as_ref().map_or(0, |d| d.len() as u64));
                Stat { kind: Kind::File, size }
            }
            DataType::Directory | DataType::HamtShard => Stat { kind: Kind::Directory, size: 0 },
            DataType::Symlink => Stat { kind: Kind::Symlink, size: fs.data.as_ref().map_or(0, |d| d.len() as u64) },
            DataType::Metadata => return Err(ReadError::Malformed(cid.clone(), "metadata nodes are not supported")),
        },
    })
}

/// One directory entry as stored in the parent (size is the link's Tsize, no child fetch).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub name: Vec<u8>,
    pub cid: Cid,
    pub tsize: u64,
}

/// Most entries a listing returns; a guard against hostile HAMTs. kubo's largest practical
/// directories are far below it.
pub const MAX_LIST: usize = 1_000_000;

/// Lists a directory (a HAMT is flattened, names sorted by bytes).
pub fn list<S: BlockRead + ?Sized>(store: &S, cid: &Cid) -> Result<Vec<Entry>, ReadError> {
    let mut out = Vec::new();
    match load_node(store, cid)? {
        Node::Pb(pb, fs) if fs.kind == DataType::Directory => {
            out.extend(pb.links.into_iter().map(|l| Entry { name: l.name, cid: l.cid, tsize: l.tsize }));
        }
        Node::Pb(pb, fs) if fs.kind == DataType::HamtShard => list_shard(store, cid, pb, 0, &mut out)?,
        _ => return Err(ReadError::NotADirectory(cid.clone())),
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

fn list_shard<S: BlockRead + ?Sized>(
    store: &S,
    cid: &Cid,
    pb: PbNode,
    depth: usize,
    out: &mut Vec<Entry>,
) -> Result<(), ReadError> {
    if depth > 8 {
        return Err(ReadError::Malformed(cid.clone(), "HAMT deeper than its hash"));
    }
    for link in pb.links {
        if out.len() >= MAX_LIST {
            return Err(ReadError::Malformed(cid.clone(), "directory has too many entries"));
        }
        if link.name.len() < 2 {
            return Err(ReadError::Malformed(cid.clone(), "HAMT link name shorter than its prefix"));
        }
        if link.name.len() == 2 {
            match load_node(store, &link.cid)? {
                Node::Pb(sub, fs) if fs.kind == DataType::HamtShard => {
                    list_shard(store, &link.cid, sub, depth + 1, out)?
                }
                _ => return Err(ReadError::Malformed(link.cid, "HAMT child is not a shard")),
            }
        } else {
            out.push(Entry { name: link.name[2..].to_vec(), cid: link.cid, tsize: link.tsize });
        }
    }
    Ok(())
}

/// Finds `name` in a directory node (basic or HAMT).
pub fn lookup<S: BlockRead + ?Sized>(store: &S, dir: &Cid, name: &[u8]) -> Result<Cid, ReadError> {
    let not_found = || ReadError::NotFound(String::from_utf8_lossy(name).into_owned());
    match load_node(store, dir)? {
        Node::Pb(pb, fs) if fs.kind == DataType::Directory => {
            pb.links.into_iter().find(|l| l.name == name).map(|l| l.cid).ok_or_else(not_found)
        }
        Node::Pb(mut pb, fs) if fs.kind == DataType::HamtShard => {
            let hash = hamt_hash(name);
            for byte in hash {
                let prefix = format!("{byte:02X}").into_bytes();
                let mut next = None;
                for l in &pb.links {
                    if l.name.starts_with(&prefix) {
                        if l.name.len() == 2 {
                            next = Some(l.cid.clone());
                        } else if &l.name[2..] == name {
                            return Ok(l.cid.clone());
                        }
                    }
                }
                let sub = next.ok_or_else(not_found)?;
                match load_node(store, &sub)? {
                    Node::Pb(p, fs) if fs.kind == DataType::HamtShard => pb = p,
                    _ => return Err(ReadError::Malformed(sub, "HAMT child is not a shard")),
                }
            }
            Err(not_found())
        }
        _ => Err(ReadError::NotADirectory(dir.clone())),
    }
}

/// Walks `path` (segments separated by `/`) from `root`.
pub fn resolve<S: BlockRead + ?Sized>(store: &S, root: &Cid, path: &str) -> Result<Cid, ReadError> {
    let mut cur = root.clone();
    for seg in path.split('/').filter(|s| !s.is_empty()) {
        cur = lookup(store, &cur, seg.as_bytes())?;
    }
    Ok(cur)
}

/// A whole file's bytes, up to `limit` (its blocks must be in `store`).
pub fn read_all<S: BlockRead + ?Sized>(store: &S, cid: &Cid, limit: u64) -> Result<Vec<u8>, ReadError> {
    let mut cur = FileCursor::new(cid.clone(), 0, limit);
    let mut out = Vec::new();
    while let Some(p) = cur.next_slice(store)? {
        out.extend_from_slice(&p.buf[p.range]);
    }
    Ok(out)
}

/// A block and the part of it that is output.
pub struct Piece {
    pub buf: Vec<u8>,
    pub range: std::ops::Range<usize>,
}

/// Streams bytes `[start, end)` of a file, loading only the blocks that overlap the range.
pub struct FileCursor {
    /// Pending subtrees: (cid, offset of its first byte in the file), next on top.
    stack: Vec<(Cid, u64)>,
    start: u64,
    end: u64,
}

impl FileCursor {
    pub fn new(root: Cid, start: u64, end: u64) -> Self {
        FileCursor { stack: vec![(root, 0)], start, end }
    }

    /// The next piece of the range, or `None` at its end.
    pub fn next_piece<S: BlockRead + ?Sized>(&mut self, store: &S) -> Result<Option<Vec<u8>>, ReadError> {
        Ok(self.next_slice(store)?.map(|p| p.buf[p.range].to_vec()))
    }

    /// The next piece as a whole block and the range of it that belongs to the output, so the
    /// caller copies the bytes once (from the store into the block buffer) and no more.
    pub fn next_slice<S: BlockRead + ?Sized>(&mut self, store: &S) -> Result<Option<Piece>, ReadError> {
        while let Some((cid, offset)) = self.stack.pop() {
            if offset >= self.end {
                continue;
            }
            let bytes = load(store, &cid)?;
            let data = match cid.codec() {
                CODEC_RAW => 0..bytes.len(),
                CODEC_DAG_PB => {
                    let (links, data) = PbNode::decode_links(&bytes).map_err(|e| ReadError::Decode(cid.clone(), e))?;
                    let data = data.ok_or(ReadError::Malformed(cid.clone(), "no Data field"))?;
                    let (fs, inline) = UnixFsData::decode_ranged(&bytes[data.clone()])
                        .map_err(|e| ReadError::Decode(cid.clone(), e))?;
                    if !matches!(fs.kind, DataType::File | DataType::Raw) {
                        return Err(ReadError::Malformed(cid, "not a file"));
                    }
                    // Inline data comes before the children in UnixFS.
                    let inline = inline.map_or(0..0, |r| data.start + r.start..data.start + r.end);
                    self.push_children(&cid, &links, &fs, offset + inline.len() as u64)?;
                    inline
                }
                c => return Err(ReadError::UnsupportedCodec(c)),
            };
            if let Some(range) = self.clip(offset, data) {
                return Ok(Some(Piece { buf: bytes, range }));
            }
        }
        Ok(None)
    }

    /// The part of `data` (a range of a block holding file bytes from `offset`) in the output.
    fn clip(&self, offset: u64, data: std::ops::Range<usize>) -> Option<std::ops::Range<usize>> {
        let len = data.len() as u64;
        if offset + len <= self.start || offset >= self.end || len == 0 {
            return None;
        }
        let from = self.start.saturating_sub(offset) as usize;
        let to = (self.end.min(offset + len) - offset) as usize;
        Some(data.start + from..data.start + to)
    }

    fn push_children(&mut self, cid: &Cid, links: &[PbLink], fs: &UnixFsData, base: u64) -> Result<(), ReadError> {
        if links.is_empty() {
            return Ok(());
        }
        if fs.blocksizes.len() != links.len() {
            return Err(ReadError::Malformed(cid.clone(), "blocksizes and links differ in count"));
        }
        let mut off = base;
        let mut children = Vec::with_capacity(links.len());
        for (l, &size) in links.iter().zip(&fs.blocksizes) {
            let child_end = off.saturating_add(size);
            if child_end > self.start && off < self.end {
                children.push((l.cid.clone(), off));
            }
            off = child_end;
        }
        self.stack.extend(children.into_iter().rev());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{BlockWrite, MemStore};
    use crate::unixfs::file::import_bytes;
    use crate::unixfs::Profile;
    use std::cell::Cell;

    /// Counts the blocks a reader loads.
    struct Counting<'a>(&'a MemStore, Cell<usize>);

    impl BlockRead for Counting<'_> {
        fn get_block(&self, cid: &Cid) -> Result<Option<Vec<u8>>, crate::store::StoreError> {
            self.1.set(self.1.get() + 1);
            self.0.get_block(cid)
        }
    }

    #[test]
    fn a_range_loads_only_the_blocks_on_its_path() {
        // 3 levels: chunk 100, 3 links per node, 4000 bytes = 40 leaves.
        let mut p = Profile::UNIXFS_V0_2015;
        p.chunk_size = 100;
        p.max_links = 3;
        let data: Vec<u8> = (0..4000u32).map(|i| (i * 7) as u8).collect();
        let (root, blocks) = import_bytes(p, &data);
        let mem = MemStore::default();
        mem.put_blocks(&blocks).unwrap();
        let store = Counting(&mem, Cell::new(0));
        let mut cur = FileCursor::new(root.cid.clone(), 2150, 2250);
        let mut got = Vec::new();
        while let Some(piece) = cur.next_piece(&store).unwrap() {
            got.extend(piece);
        }
        assert_eq!(got, data[2150..2250]);
        // 40 leaves at width 3 make a root of height 4. Bytes 2150..2250 sit in leaves 21 and 22,
        // which share one parent: root + 3 inner nodes + 2 leaves, of 40 + 14 + 5 + 2 + 1 blocks.
        assert_eq!(blocks.len(), 62);
        assert_eq!(store.1.get(), 6, "blocks loaded");
    }
}
