//! UnixFS v1 on dag-pb: the `Data` message, import profiles, the streaming file importer, the
//! directory/HAMT builder and readers (unixfs-dagpb.md).

pub mod data;
pub mod dir;
pub mod file;
pub mod murmur3;
pub mod read;

use crate::cid::{Cid, Version, CODEC_DAG_PB};

/// One encoded block and its CID.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    pub cid: Cid,
    pub bytes: Vec<u8>,
}

impl Block {
    pub fn dag_pb(version: Version, bytes: Vec<u8>) -> Self {
        Block { cid: Cid::of_block(version, CODEC_DAG_PB, &bytes), bytes }
    }
}

/// How directories decide to become HAMT shards.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HamtEstimate {
    /// Σ (name bytes + CID bytes): kubo's legacy estimate.
    LinksBytes,
    /// The exact size of the basic directory block (unixfs-v1-2025).
    BlockBytes,
}

/// An import profile (IPIP-499 names).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Profile {
    pub cid_version: Version,
    pub raw_leaves: bool,
    pub chunk_size: usize,
    pub max_links: usize,
    pub hamt_estimate: HamtEstimate,
    /// A directory whose estimate is strictly above this becomes a HAMT (kubo ≥ 0.40 uses `>`).
    pub hamt_threshold: usize,
    pub hamt_fanout: usize,
}

impl Profile {
    /// kubo's default: CIDv0, dag-pb leaves, 256 KiB chunks, 174 links, links-bytes HAMT estimate.
    pub const UNIXFS_V0_2015: Profile = Profile {
        cid_version: Version::V0,
        raw_leaves: false,
        chunk_size: 262_144,
        max_links: 174,
        hamt_estimate: HamtEstimate::LinksBytes,
        hamt_threshold: 262_144,
        hamt_fanout: 256,
    };

    /// The modern profile: CIDv1, raw leaves, 1 MiB chunks, 1024 links, block-bytes estimate.
    pub const UNIXFS_V1_2025: Profile = Profile {
        cid_version: Version::V1,
        raw_leaves: true,
        chunk_size: 1_048_576,
        max_links: 1024,
        hamt_estimate: HamtEstimate::BlockBytes,
        hamt_threshold: 262_144,
        hamt_fanout: 256,
    };
}
