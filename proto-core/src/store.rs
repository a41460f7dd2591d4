//! The small storage traits that data-plane functions run over (DESIGN.md §3). `storage`
//! implements them on LMDB; tests and the simulator implement them in memory.

use crate::cid::Cid;
use crate::unixfs::read::BlockRead;
use crate::unixfs::Block;
use std::collections::BTreeMap;
use std::sync::RwLock;

/// Durable block writes. `put_blocks` is atomic: after a crash either all or none are present.
pub trait BlockWrite {
    fn put_blocks(&self, blocks: &[Block]) -> Result<(), String>;
    fn has_block(&self, cid: &Cid) -> Result<bool, String>;
    /// `put_blocks` for blocks the caller keeps (shared elsewhere): stores may write them
    /// without a copy into `Block`s first.
    fn put_block_refs(&self, blocks: &[(&Cid, &[u8])]) -> Result<(), String> {
        let owned: Vec<Block> = blocks.iter().map(|(c, b)| Block { cid: (*c).clone(), bytes: b.to_vec() }).collect();
        self.put_blocks(&owned)
    }
}

/// Which roots the node keeps.
pub trait PinStore {
    fn pin_add(&self, cid: &Cid) -> Result<(), String>;
    /// Returns false when the CID was not pinned.
    fn pin_rm(&self, cid: &Cid) -> Result<bool, String>;
    fn pin_ls(&self) -> Result<Vec<Cid>, String>;
}

/// Where a core's durable state goes: the writes of `Output::Persist`, and the blocks and MiMei
/// heads it asks to load for peers.
pub trait StateStore: BlockRead + MimeiStore {
    fn persist_state(&self, writes: &[crate::dht::Write]) -> Result<(), String>;
}

/// Small named values of the node (user accounts, …), durable.
pub trait KvStore {
    fn kv_get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, String>;
    fn kv_put(&self, key: &[u8], value: Option<&[u8]>) -> Result<(), String>;
}

/// The MiMeis this node holds (its own and synced copies).
pub trait MimeiStore {
    fn get_mimei(&self, mid: &crate::mimei::Mid) -> Result<Option<crate::mimei::Mimei>, String>;
    fn put_mimei(&self, m: &crate::mimei::Mimei) -> Result<(), String>;
    fn list_mimeis(&self) -> Result<Vec<crate::mimei::Mimei>, String>;
}

/// An in-memory store for tests and the simulator. Blocks are keyed by multihash, as in LMDB.
#[derive(Default)]
pub struct MemStore {
    blocks: RwLock<BTreeMap<Vec<u8>, Vec<u8>>>,
    pins: RwLock<BTreeMap<Vec<u8>, Cid>>,
    mimeis: RwLock<BTreeMap<crate::mimei::Mid, crate::mimei::Mimei>>,
    kv: RwLock<BTreeMap<Vec<u8>, Vec<u8>>>,
}

impl KvStore for MemStore {
    fn kv_get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, String> {
        Ok(self.kv.read().map_err(|e| e.to_string())?.get(key).cloned())
    }
    fn kv_put(&self, key: &[u8], value: Option<&[u8]>) -> Result<(), String> {
        let mut m = self.kv.write().map_err(|e| e.to_string())?;
        match value {
            Some(v) => m.insert(key.to_vec(), v.to_vec()),
            None => m.remove(key),
        };
        Ok(())
    }
}

impl MimeiStore for MemStore {
    fn get_mimei(&self, mid: &crate::mimei::Mid) -> Result<Option<crate::mimei::Mimei>, String> {
        Ok(self.mimeis.read().map_err(|e| e.to_string())?.get(mid).cloned())
    }
    fn put_mimei(&self, m: &crate::mimei::Mimei) -> Result<(), String> {
        self.mimeis.write().map_err(|e| e.to_string())?.insert(m.mid(), m.clone());
        Ok(())
    }
    fn list_mimeis(&self) -> Result<Vec<crate::mimei::Mimei>, String> {
        Ok(self.mimeis.read().map_err(|e| e.to_string())?.values().cloned().collect())
    }
}

impl BlockRead for MemStore {
    fn get_block(&self, cid: &Cid) -> Result<Option<Vec<u8>>, String> {
        Ok(self.blocks.read().map_err(|e| e.to_string())?.get(&cid.hash().to_bytes()).cloned())
    }
}

impl BlockWrite for MemStore {
    fn put_blocks(&self, blocks: &[Block]) -> Result<(), String> {
        let mut map = self.blocks.write().map_err(|e| e.to_string())?;
        for b in blocks {
            map.insert(b.cid.hash().to_bytes(), b.bytes.clone());
        }
        Ok(())
    }
    fn has_block(&self, cid: &Cid) -> Result<bool, String> {
        Ok(self.blocks.read().map_err(|e| e.to_string())?.contains_key(&cid.hash().to_bytes()))
    }
}

impl PinStore for MemStore {
    fn pin_add(&self, cid: &Cid) -> Result<(), String> {
        self.pins.write().map_err(|e| e.to_string())?.insert(cid.to_bytes(), cid.clone());
        Ok(())
    }
    fn pin_rm(&self, cid: &Cid) -> Result<bool, String> {
        Ok(self.pins.write().map_err(|e| e.to_string())?.remove(&cid.to_bytes()).is_some())
    }
    fn pin_ls(&self) -> Result<Vec<Cid>, String> {
        Ok(self.pins.read().map_err(|e| e.to_string())?.values().cloned().collect())
    }
}
