//! Directory nodes: basic (sorted named links) or a HAMT shard when the directory is too large,
//! with kubo's estimate and threshold (unixfs-dagpb.md §4).

use super::data::{DataType, UnixFsData};
use super::murmur3::hamt_hash;
use super::{Block, HamtEstimate, Profile};
use crate::cid::Cid;
use crate::dagpb::{PbLink, PbNode};
use crate::varint;
use std::collections::BTreeMap;

/// murmur3-x64-64, the only HAMT hash kubo writes.
pub const HASH_MURMUR3_X64_64: u64 = 0x22;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    pub cid: Cid,
    pub tsize: u64,
}

/// Collects a directory's entries (sorted by name bytes) and encodes it.
pub struct DirBuilder {
    profile: Profile,
    entries: BTreeMap<Vec<u8>, DirEntry>,
}

/// The encoded directory's root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirRoot {
    pub cid: Cid,
    pub tsize: u64,
    pub sharded: bool,
}

impl DirBuilder {
    pub fn new(profile: Profile) -> Self {
        DirBuilder { profile, entries: BTreeMap::new() }
    }

    /// Adds or replaces an entry.
    pub fn insert(&mut self, name: &[u8], cid: Cid, tsize: u64) {
        self.entries.insert(name.to_vec(), DirEntry { cid, tsize });
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The size estimate the profile compares with its threshold.
    pub fn estimate(&self) -> usize {
        match self.profile.hamt_estimate {
            HamtEstimate::LinksBytes => self.entries.iter().map(|(n, e)| n.len() + e.cid.to_bytes().len()).sum(),
            HamtEstimate::BlockBytes => {
                let links: usize = self
                    .entries
                    .iter()
                    .map(|(n, e)| {
                        let c = e.cid.to_bytes().len();
                        let l = 1
                            + varint::len(c as u64)
                            + c
                            + 1
                            + varint::len(n.len() as u64)
                            + n.len()
                            + 1
                            + varint::len(e.tsize);
                        1 + varint::len(l as u64) + l
                    })
                    .sum();
                links + 4
            }
        }
    }

    /// Encodes the directory; its blocks go to `out`, the root last.
    pub fn build(self, out: &mut Vec<Block>) -> DirRoot {
        if self.estimate() > self.profile.hamt_threshold {
            let entries: Vec<HamtEntry> =
                self.entries.iter().map(|(name, e)| HamtEntry { hash: hamt_hash(name), name, entry: e }).collect();
            let (block, tsize) = build_shard(&self.profile, &entries, 0, out);
            return DirRoot { cid: block, tsize, sharded: true };
        }
        let node = PbNode {
            links: self
                .entries
                .iter()
                .map(|(n, e)| PbLink { cid: e.cid.clone(), name: n.clone(), tsize: e.tsize })
                .collect(),
            data: Some(UnixFsData::new(DataType::Directory).encode()),
        };
        let block = Block::dag_pb(self.profile.cid_version, node.encode());
        let tsize = block.bytes.len() as u64 + self.entries.values().map(|e| e.tsize).sum::<u64>();
        let cid = block.cid.clone();
        out.push(block);
        DirRoot { cid, tsize, sharded: false }
    }
}

struct HamtEntry<'a> {
    hash: [u8; 8],
    name: &'a [u8],
    entry: &'a DirEntry,
}

/// Builds one shard level over entries that share the hash prefix above `depth`.
fn build_shard(profile: &Profile, entries: &[HamtEntry], depth: usize, out: &mut Vec<Block>) -> (Cid, u64) {
    assert_eq!(profile.hamt_fanout, 256, "only fanout 256 (one hash byte per level) is supported");
    let mut buckets: BTreeMap<u8, Vec<&HamtEntry>> = BTreeMap::new();
    for e in entries {
        buckets.entry(e.hash[depth]).or_default().push(e);
    }
    let mut bitfield = [0u8; 32];
    let mut links = Vec::with_capacity(buckets.len());
    for (&bucket, members) in &buckets {
        bitfield[31 - usize::from(bucket / 8)] |= 1 << (bucket % 8);
        if members.len() == 1 || depth == 7 {
            // One entry lands here (or, past the last hash byte, a full 64-bit collision).
            for e in members {
                let mut name = format!("{bucket:02X}").into_bytes();
                name.extend_from_slice(e.name);
                links.push(PbLink { cid: e.entry.cid.clone(), name, tsize: e.entry.tsize });
            }
        } else {
            let sub: Vec<HamtEntry> =
                members.iter().map(|e| HamtEntry { hash: e.hash, name: e.name, entry: e.entry }).collect();
            let (cid, tsize) = build_shard(profile, &sub, depth + 1, out);
            links.push(PbLink { cid, name: format!("{bucket:02X}").into_bytes(), tsize });
        }
    }
    let first = bitfield.iter().position(|&b| b != 0).unwrap_or(32);
    let mut data = UnixFsData::new(DataType::HamtShard);
    data.data = Some(bitfield[first..].to_vec());
    data.hash_type = Some(HASH_MURMUR3_X64_64);
    data.fanout = Some(profile.hamt_fanout as u64);
    let node = PbNode { links, data: Some(data.encode()) };
    let block = Block::dag_pb(profile.cid_version, node.encode());
    let tsize = block.bytes.len() as u64 + node.links.iter().map(|l| l.tsize).sum::<u64>();
    let cid = block.cid.clone();
    out.push(block);
    (cid, tsize)
}

/// A symlink node (Type 4 holding the target path).
pub fn symlink_block(profile: &Profile, target: &[u8]) -> Block {
    let mut data = UnixFsData::new(DataType::Symlink);
    data.data = Some(target.to_vec());
    Block::dag_pb(profile.cid_version, PbNode { links: Vec::new(), data: Some(data.encode()) }.encode())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unixfs::file::import_bytes;

    #[test]
    fn empty_dir_and_symlink_vectors() {
        let mut out = Vec::new();
        let root = DirBuilder::new(Profile::UNIXFS_V0_2015).build(&mut out);
        assert_eq!(root.cid.to_string(), "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn");
        let root = DirBuilder::new(Profile::UNIXFS_V1_2025).build(&mut out);
        assert_eq!(root.cid.to_string(), "bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354");
        let link = symlink_block(&Profile::UNIXFS_V0_2015, b"foo");
        assert_eq!(link.cid.to_string(), "QmTB8BaCJdCH5H3k7GrxJsxgDNmNYGGR71C58ERkivXoj5");
    }

    #[test]
    fn file_and_symlink_dir_vector() {
        let p = Profile::UNIXFS_V0_2015;
        let (foo, _) = import_bytes(p, b"content\n");
        let bar = symlink_block(&p, b"foo");
        let mut d = DirBuilder::new(p);
        d.insert(b"foo", foo.cid, foo.tsize);
        d.insert(b"bar", bar.cid.clone(), bar.bytes.len() as u64);
        let root = d.build(&mut Vec::new());
        assert_eq!(root.cid.to_string(), "QmWvY6FaqFMS89YAQ9NAPjVP4WZKA1qbHbicc9HeSKQTgt");
    }
}
