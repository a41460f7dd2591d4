//! A store that fetches what it lacks from the providers of one root (through the node's
//! core), keeps it, and fetches the children of each fetched node in parallel so a large file
//! streams with many blocks in flight.

use crate::net_methods::NetHandle;
use proto_core::cid::{Cid, CODEC_DAG_PB};
use proto_core::dagpb::PbNode;
use proto_core::node::{Command, Reply};
use proto_core::store::{BlockWrite, PinStore};
use proto_core::unixfs::read::BlockRead;
use proto_core::unixfs::Block;
use std::sync::Arc;

/// Children fetched at once below a fetched node.
pub const PREFETCH_WINDOW: usize = 16;

pub struct Fetching<B> {
    pub inner: Arc<B>,
    pub net: Arc<dyn NetHandle>,
    pub root: Cid,
}

impl<B: BlockRead + BlockWrite + Send + Sync> Fetching<B> {
    fn fetch(&self, cid: &Cid) -> Result<Vec<u8>, String> {
        match self.net.call(Command::Fetch { root: self.root.clone(), cid: cid.clone() })? {
            // The core checked the bytes against the CID before replying.
            Reply::Block(data) => {
                self.inner.put_blocks(&[Block { cid: cid.clone(), bytes: data.clone() }])?;
                Ok(data)
            }
            other => Err(format!("unexpected reply {other:?}")),
        }
    }

    /// Fetches the missing children of a node, `PREFETCH_WINDOW` at a time.
    fn prefetch_children(&self, node: &[u8]) {
        let Ok(pb) = PbNode::decode(node) else { return };
        let missing: Vec<Cid> =
            pb.links.into_iter().map(|l| l.cid).filter(|c| !self.inner.has_block(c).unwrap_or(true)).collect();
        for window in missing.chunks(PREFETCH_WINDOW) {
            std::thread::scope(|s| {
                for c in window {
                    s.spawn(move || {
                        let _ = self.fetch(c);
                    });
                }
            });
        }
    }
}

impl<B: BlockRead + BlockWrite + Send + Sync> BlockRead for Fetching<B> {
    fn get_block(&self, cid: &Cid) -> Result<Option<Vec<u8>>, String> {
        if let Some(b) = self.inner.get_block(cid)? {
            return Ok(Some(b));
        }
        match self.fetch(cid) {
            Ok(data) => {
                if cid.codec() == CODEC_DAG_PB {
                    self.prefetch_children(&data);
                }
                Ok(Some(data))
            }
            // Not on the network either: a plain "missing", which the gateway answers with 404.
            Err(e) if e.contains("no provider") => Ok(None),
            Err(e) => Err(e),
        }
    }
}

impl<B: BlockWrite> BlockWrite for Fetching<B> {
    fn put_blocks(&self, blocks: &[Block]) -> Result<(), String> {
        self.inner.put_blocks(blocks)
    }
    fn has_block(&self, cid: &Cid) -> Result<bool, String> {
        self.inner.has_block(cid)
    }
}

impl<B: PinStore> PinStore for Fetching<B> {
    fn pin_add(&self, cid: &Cid) -> Result<(), String> {
        self.inner.pin_add(cid)
    }
    fn pin_rm(&self, cid: &Cid) -> Result<bool, String> {
        self.inner.pin_rm(cid)
    }
    fn pin_ls(&self) -> Result<Vec<Cid>, String> {
        self.inner.pin_ls()
    }
}
