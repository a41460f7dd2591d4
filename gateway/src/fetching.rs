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
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::sync_channel;
use std::sync::Arc;

/// Children fetched at once below a fetched node.
pub const PREFETCH_WINDOW: usize = 32;

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

    /// Fetches the missing children of a node with `PREFETCH_WINDOW` requests always in flight,
    /// while a writer stores them in batches of `crate::import::BATCH_BYTES` (one durable
    /// commit each), so fetching never waits for an fsync.
    fn prefetch_children(&self, node: &[u8]) {
        let Ok(pb) = PbNode::decode(node) else { return };
        let missing: Vec<Cid> =
            pb.links.into_iter().map(|l| l.cid).filter(|c| !self.inner.has_block(c).unwrap_or(true)).collect();
        if missing.is_empty() {
            return;
        }
        let next = AtomicUsize::new(0);
        let (tx, rx) = sync_channel::<Block>(PREFETCH_WINDOW);
        std::thread::scope(|s| {
            for _ in 0..PREFETCH_WINDOW.min(missing.len()) {
                let tx = tx.clone();
                let (next, missing) = (&next, &missing);
                s.spawn(move || loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(c) = missing.get(i) else { return };
                    if let Ok(bytes) = self.fetch(c) {
                        if tx.send(Block { cid: c.clone(), bytes }).is_err() {
                            return;
                        }
                    }
                });
            }
            drop(tx);
            let mut batch = Vec::new();
            let mut size = 0;
            for b in rx {
                size += b.bytes.len();
                batch.push(b);
                if size >= crate::import::BATCH_BYTES {
                    let _ = self.inner.put_blocks(&batch);
                    batch.clear();
                    size = 0;
                }
            }
            let _ = self.inner.put_blocks(&batch);
        });
    }
}

impl<B: BlockRead + BlockWrite + Send + Sync> BlockRead for Fetching<B> {
    fn get_block(&self, cid: &Cid) -> Result<Option<Vec<u8>>, String> {
        if let Some(b) = self.inner.get_block(cid)? {
            // An inner node we have (fetched as someone's child) may still lack its children.
            if cid.codec() == CODEC_DAG_PB {
                self.prefetch_children(&b);
            }
            return Ok(Some(b));
        }
        match self.fetch(cid) {
            Ok(data) => {
                self.inner.put_blocks(&[Block { cid: cid.clone(), bytes: data.clone() }])?;
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

impl<B: proto_core::store::MimeiStore> proto_core::store::MimeiStore for Fetching<B> {
    fn get_mimei(&self, mid: &proto_core::mimei::Mid) -> Result<Option<proto_core::mimei::Mimei>, String> {
        self.inner.get_mimei(mid)
    }
    fn put_mimei(&self, m: &proto_core::mimei::Mimei) -> Result<(), String> {
        self.inner.put_mimei(m)
    }
    fn list_mimeis(&self) -> Result<Vec<proto_core::mimei::Mimei>, String> {
        self.inner.list_mimeis()
    }
}

impl<B: proto_core::store::KvStore> proto_core::store::KvStore for Fetching<B> {
    fn kv_get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, String> {
        self.inner.kv_get(key)
    }
    fn kv_put(&self, key: &[u8], value: Option<&[u8]>) -> Result<(), String> {
        self.inner.kv_put(key, value)
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
