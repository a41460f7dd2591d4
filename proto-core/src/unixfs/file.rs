//! The streaming file importer: kubo's fixed-size chunker and balanced layout, in one pass with
//! memory bounded by one chunk plus one pending link list per tree level.
//!
//! Equivalence with boxo's recursive `fill`: a level is closed into a parent node only when it is
//! full *and* another link arrives, so depth grows only when data remains after a full tree, and
//! nodes on the rightmost path keep their single child (unixfs-dagpb.md §3).

use super::data::{DataType, UnixFsData};
use super::{Block, Profile};
use crate::cid::{Cid, CODEC_RAW};
use crate::dagpb::{PbLink, PbNode};
use crate::varint;

/// What a parent needs to know about a child subtree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkInfo {
    pub cid: Cid,
    /// Block bytes of the whole subtree (dag-pb `Tsize`).
    pub tsize: u64,
    /// File content bytes in the subtree (UnixFS `blocksizes`).
    pub filesize: u64,
}

/// Most recycled leaf buffers kept.
const MAX_POOL: usize = 8;

pub struct FileImporter {
    profile: Profile,
    /// The leaf being filled: `hdr` bytes reserved for the dag-pb header, then chunk bytes.
    /// Callers write straight into it (`spare`/`commit`), so each byte is copied once.
    block: Vec<u8>,
    hdr: usize,
    filled: usize,
    /// Returned leaf buffers (see `recycle`): reusing them avoids page faults and zeroing.
    pool: Vec<Vec<u8>>,
    /// levels[0] holds leaves, levels[i] holds nodes of height i.
    levels: Vec<Vec<LinkInfo>>,
    total: u64,
}

impl FileImporter {
    pub fn new(profile: Profile) -> Self {
        assert!(profile.chunk_size > 0 && profile.max_links > 1, "profile needs a chunk size and ≥ 2 links");
        let hdr = if profile.raw_leaves { 0 } else { leaf_prefix(profile.chunk_size).len() };
        FileImporter {
            profile,
            block: Vec::new(),
            hdr,
            filled: 0,
            pool: Vec::new(),
            levels: vec![Vec::new()],
            total: 0,
        }
    }

    /// Bytes pushed so far.
    pub fn bytes_in(&self) -> u64 {
        self.total
    }

    /// The writable rest of the current chunk (never empty). Fill a prefix, then `commit` it.
    pub fn spare(&mut self) -> &mut [u8] {
        if self.block.is_empty() {
            let want = self.hdr + self.profile.chunk_size;
            self.block = match self.pool.pop() {
                // Old bytes stay in place; only the committed prefix is ever read.
                Some(mut b) if b.len() >= want => {
                    b.truncate(want);
                    b
                }
                _ => {
                    let suffix = if self.profile.raw_leaves { 0 } else { leaf_suffix(self.profile.chunk_size).len() };
                    let mut b = Vec::with_capacity(want + suffix);
                    b.resize(want, 0);
                    b
                }
            };
        }
        &mut self.block[self.hdr + self.filled..]
    }

    /// Where a caller-filled leaf buffer keeps its data: `[hdr, hdr + chunk_size)`.
    pub fn leaf_layout(&self) -> (usize, usize) {
        (self.hdr, self.profile.chunk_size)
    }

    /// Takes a whole leaf buffer filled by the caller (`n` data bytes at `leaf_layout().0`), so a
    /// reader thread can fill buffers while this thread hashes. A full chunk becomes a leaf with
    /// no copy; a short one (only valid as the last) is kept like `push` data.
    pub fn push_leaf_buffer(&mut self, mut buf: Vec<u8>, n: usize, out: &mut Vec<Block>) {
        let (hdr, chunk) = self.leaf_layout();
        assert!(self.filled == 0 && n <= chunk && buf.len() >= hdr + n, "a leaf buffer must start a chunk");
        if n < chunk {
            self.push(&buf[hdr..hdr + n], out);
            self.recycle(buf);
            return;
        }
        buf.truncate(hdr + chunk);
        self.block = buf;
        self.filled = chunk;
        self.total += chunk as u64;
        self.emit_full_leaf(out);
    }

    /// Gives back the bytes of an emitted block once the caller is done with them.
    pub fn recycle(&mut self, bytes: Vec<u8>) {
        if self.pool.len() < MAX_POOL && bytes.len() >= self.hdr + self.profile.chunk_size {
            self.pool.push(bytes);
        }
    }

    /// Records that the first `n` bytes of `spare()` were filled; emits finished blocks to `out`.
    pub fn commit(&mut self, n: usize, out: &mut Vec<Block>) {
        assert!(n <= self.profile.chunk_size - self.filled, "commit past the spare buffer");
        self.filled += n;
        self.total += n as u64;
        if self.filled == self.profile.chunk_size {
            self.emit_full_leaf(out);
        }
    }

    /// Feeds file bytes (one copy into the leaf buffer); finished blocks go to `out`.
    pub fn push(&mut self, mut data: &[u8], out: &mut Vec<Block>) {
        while !data.is_empty() {
            let spare = self.spare();
            let k = spare.len().min(data.len());
            spare[..k].copy_from_slice(&data[..k]);
            data = &data[k..];
            self.commit(k, out);
        }
    }

    /// Ends the file: emits the remaining blocks (the root last) and returns the root.
    pub fn finish(mut self, out: &mut Vec<Block>) -> LinkInfo {
        if self.filled > 0 {
            // A short last chunk: its header differs from a full one's, so encode it afresh.
            let chunk = self.block[self.hdr..self.hdr + self.filled].to_vec();
            let leaf = self.leaf(chunk, out);
            self.add_link(0, leaf, out);
        }
        if self.levels.len() == 1 && self.levels[0].is_empty() {
            // Empty file: one empty leaf (dag-pb `08 02 18 00`, or the empty raw block).
            return self.leaf(Vec::new(), out);
        }
        let mut level = 0;
        while level + 1 < self.levels.len() {
            let links = std::mem::take(&mut self.levels[level]);
            let node = self.inner_node(&links, out);
            self.add_link(level + 1, node, out);
            level += 1;
        }
        let top = std::mem::take(&mut self.levels[level]);
        if level == 0 && top.len() == 1 {
            return top.into_iter().next().expect("one link");
        }
        self.inner_node(&top, out)
    }

    fn emit_full_leaf(&mut self, out: &mut Vec<Block>) {
        let mut bytes = std::mem::take(&mut self.block);
        self.filled = 0;
        let n = self.profile.chunk_size;
        if !self.profile.raw_leaves {
            bytes[..self.hdr].copy_from_slice(&leaf_prefix(n));
            bytes.extend_from_slice(&leaf_suffix(n));
        }
        let codec = if self.profile.raw_leaves { CODEC_RAW } else { crate::cid::CODEC_DAG_PB };
        let block = Block { cid: Cid::of_block(self.profile.cid_version, codec, &bytes), bytes };
        let info = LinkInfo { cid: block.cid.clone(), tsize: block.bytes.len() as u64, filesize: n as u64 };
        out.push(block);
        self.add_link(0, info, out);
    }

    /// Appends a link to a level, first closing the level into its parent when it is full.
    fn add_link(&mut self, level: usize, link: LinkInfo, out: &mut Vec<Block>) {
        if self.levels[level].len() == self.profile.max_links {
            let links = std::mem::take(&mut self.levels[level]);
            let node = self.inner_node(&links, out);
            if self.levels.len() == level + 1 {
                self.levels.push(Vec::new());
            }
            self.add_link(level + 1, node, out);
        }
        self.levels[level].push(link);
    }

    fn leaf(&self, chunk: Vec<u8>, out: &mut Vec<Block>) -> LinkInfo {
        let len = chunk.len() as u64;
        let block = if self.profile.raw_leaves {
            Block { cid: Cid::of_block(self.profile.cid_version, CODEC_RAW, &chunk), bytes: chunk }
        } else {
            Block::dag_pb(self.profile.cid_version, encode_file_leaf(&chunk))
        };
        let info = LinkInfo { cid: block.cid.clone(), tsize: block.bytes.len() as u64, filesize: len };
        out.push(block);
        info
    }

    fn inner_node(&self, links: &[LinkInfo], out: &mut Vec<Block>) -> LinkInfo {
        let mut data = UnixFsData::new(DataType::File);
        data.filesize = Some(links.iter().map(|l| l.filesize).sum());
        data.blocksizes = links.iter().map(|l| l.filesize).collect();
        let node = PbNode {
            links: links.iter().map(|l| PbLink { cid: l.cid.clone(), name: Vec::new(), tsize: l.tsize }).collect(),
            data: Some(data.encode()),
        };
        let block = Block::dag_pb(self.profile.cid_version, node.encode());
        let info = LinkInfo {
            cid: block.cid.clone(),
            tsize: block.bytes.len() as u64 + links.iter().map(|l| l.tsize).sum::<u64>(),
            filesize: data.filesize.unwrap_or(0),
        };
        out.push(block);
        info
    }
}

/// The bytes of a dag-pb file leaf before its data: `0a L 08 02 [12 n]`.
fn leaf_prefix(n: usize) -> Vec<u8> {
    let n64 = n as u64;
    let data_field = if n == 0 { 0 } else { 1 + varint::len(n64) + n };
    let inner = 2 + data_field + 1 + varint::len(n64);
    let mut out = Vec::with_capacity(12);
    out.push(0x0a);
    varint::write(&mut out, inner as u64);
    out.extend_from_slice(&[0x08, 0x02]);
    if n > 0 {
        out.push(0x12);
        varint::write(&mut out, n64);
    }
    out
}

/// The bytes after a leaf's data: `18 n` (filesize).
fn leaf_suffix(n: usize) -> Vec<u8> {
    let mut out = vec![0x18];
    varint::write(&mut out, n as u64);
    out
}

/// A whole dag-pb file leaf (used for short last chunks and the empty file).
fn encode_file_leaf(chunk: &[u8]) -> Vec<u8> {
    let mut out = leaf_prefix(chunk.len());
    out.extend_from_slice(chunk);
    out.extend_from_slice(&leaf_suffix(chunk.len()));
    out
}

/// Imports a whole in-memory file (tests, small inputs).
pub fn import_bytes(profile: Profile, data: &[u8]) -> (LinkInfo, Vec<Block>) {
    let mut imp = FileImporter::new(profile);
    let mut blocks = Vec::new();
    imp.push(data, &mut blocks);
    let root = imp.finish(&mut blocks);
    (root, blocks)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cid(profile: Profile, data: &[u8]) -> String {
        import_bytes(profile, data).0.cid.to_string()
    }

    #[test]
    fn small_vectors() {
        let v0 = Profile::UNIXFS_V0_2015;
        assert_eq!(cid(v0, b""), "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH");
        assert_eq!(cid(v0, b"hello world\n"), "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o");
        assert_eq!(cid(v0, b"hello world"), "Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD");
        let v1 = Profile::UNIXFS_V1_2025;
        assert_eq!(cid(v1, b"hello world"), "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e");
        assert_eq!(cid(v1, b"hello world\n"), "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4");
    }

    #[test]
    fn push_granularity_does_not_matter() {
        let data: Vec<u8> = (0..700_000u32).map(|i| (i * 7 + i / 13) as u8).collect();
        let mut profile = Profile::UNIXFS_V0_2015;
        profile.chunk_size = 1000;
        profile.max_links = 3;
        let (whole, blocks) = import_bytes(profile, &data);
        let mut imp = FileImporter::new(profile);
        let mut out = Vec::new();
        for piece in data.chunks(777) {
            imp.push(piece, &mut out);
        }
        assert_eq!(imp.finish(&mut out), whole);
        assert_eq!(out, blocks);
        assert_eq!(blocks.last().unwrap().cid, whole.cid, "root is emitted last");
    }

    #[test]
    fn recycled_buffers_with_stale_bytes_change_nothing() {
        let data: Vec<u8> = (0..5_000u32).map(|i| (i * 13) as u8).collect();
        let mut profile = Profile::UNIXFS_V0_2015;
        profile.chunk_size = 1000;
        let (whole, blocks) = import_bytes(profile, &data);
        let mut imp = FileImporter::new(profile);
        for _ in 0..3 {
            imp.recycle(vec![0xEE; 2000]); // stale junk, longer than needed
        }
        let mut out = Vec::new();
        for piece in data.chunks(333) {
            let spare = imp.spare();
            let n = piece.len().min(spare.len());
            spare[..n].fill(0x55); // scribble, then write for real
            imp.push(piece, &mut out);
        }
        let root = imp.finish(&mut out);
        assert_eq!(root, whole);
        assert_eq!(out, blocks);
    }
}
