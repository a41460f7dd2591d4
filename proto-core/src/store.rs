//! The small storage traits that data-plane functions run over (DESIGN.md §3). `storage`
//! implements them on LMDB; tests and the simulator implement them in memory.

use crate::cid::Cid;
use crate::unixfs::Block;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::RwLock;

/// Why a store call failed: the caller can tell a full disk (a client error: free room) and a
/// damaged record from any other failure without reading the text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreError {
    /// The disk or the store's map is full; the text says how much room is left.
    Full(String),
    /// A stored record does not decode or does not match what was written.
    Corrupt(String),
    /// Any other failure below (I/O, the database, a poisoned lock).
    Failed(String),
}

impl StoreError {
    pub fn failed(e: impl fmt::Display) -> Self {
        StoreError::Failed(e.to_string())
    }

    /// The same kind of error, its text led by what was being done.
    pub fn context(self, doing: &str) -> Self {
        match self {
            StoreError::Full(e) => StoreError::Full(format!("{doing}: {e}")),
            StoreError::Corrupt(e) => StoreError::Corrupt(format!("{doing}: {e}")),
            StoreError::Failed(e) => StoreError::Failed(format!("{doing}: {e}")),
        }
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Full(e) | StoreError::Corrupt(e) | StoreError::Failed(e) => f.write_str(e),
        }
    }
}

impl std::error::Error for StoreError {}

/// Callers whose own errors are text keep using `?`.
impl From<StoreError> for String {
    fn from(e: StoreError) -> String {
        e.to_string()
    }
}

/// Read access to blocks by CID; implemented on LMDB by `storage` and in memory by tests.
pub trait BlockRead {
    fn get_block(&self, cid: &Cid) -> Result<Option<Vec<u8>>, StoreError>;
}

/// Durable block writes. `put_blocks` is atomic: after a crash either all or none are present.
pub trait BlockWrite {
    fn put_blocks(&self, blocks: &[Block]) -> Result<(), StoreError>;
    fn has_block(&self, cid: &Cid) -> Result<bool, StoreError>;
    /// `put_blocks` for blocks the caller keeps (shared elsewhere): stores may write them
    /// without a copy into `Block`s first.
    fn put_block_refs(&self, blocks: &[(&Cid, &[u8])]) -> Result<(), StoreError> {
        let owned: Vec<Block> = blocks.iter().map(|(c, b)| Block { cid: (*c).clone(), bytes: b.to_vec() }).collect();
        self.put_blocks(&owned)
    }
}

/// Which roots the node keeps.
pub trait PinStore {
    fn pin_add(&self, cid: &Cid) -> Result<(), StoreError>;
    /// Returns false when the CID was not pinned.
    fn pin_rm(&self, cid: &Cid) -> Result<bool, StoreError>;
    fn pin_ls(&self) -> Result<Vec<Cid>, StoreError>;
}

/// Where a core's durable state goes: the writes of `Output::Persist`, and the blocks and MiMei
/// heads it asks to load for peers.
pub trait StateStore: BlockRead + MimeiStore {
    fn persist_state(&self, writes: &[crate::dht::Write]) -> Result<(), StoreError>;
}

/// Small named values of the node (user accounts, …), durable.
pub trait KvStore {
    fn kv_get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;
    fn kv_put(&self, key: &[u8], value: Option<&[u8]>) -> Result<(), StoreError>;
}

/// The MiMeis this node holds (its own and synced copies).
pub trait MimeiStore {
    fn get_mimei(&self, mid: &crate::mimei::Mid) -> Result<Option<crate::mimei::Mimei>, StoreError>;
    fn put_mimei(&self, m: &crate::mimei::Mimei) -> Result<(), StoreError>;
    fn list_mimeis(&self) -> Result<Vec<crate::mimei::Mimei>, StoreError>;
    /// The MiMeis `author` made on this node (`home`), oldest first. Stores with an index by
    /// author answer without reading every MiMei.
    fn authored_mimeis(&self, author: &crate::id::NodeId) -> Result<Vec<crate::mimei::Mimei>, StoreError> {
        let mut mine: Vec<_> =
            self.list_mimeis()?.into_iter().filter(|m| m.author_id() == *author && m.home == Some(true)).collect();
        mine.sort_by_key(|m| m.head.created);
        Ok(mine)
    }
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
    fn kv_get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.kv.read().map_err(StoreError::failed)?.get(key).cloned())
    }
    fn kv_put(&self, key: &[u8], value: Option<&[u8]>) -> Result<(), StoreError> {
        let mut m = self.kv.write().map_err(StoreError::failed)?;
        match value {
            Some(v) => m.insert(key.to_vec(), v.to_vec()),
            None => m.remove(key),
        };
        Ok(())
    }
}

impl MimeiStore for MemStore {
    fn get_mimei(&self, mid: &crate::mimei::Mid) -> Result<Option<crate::mimei::Mimei>, StoreError> {
        Ok(self.mimeis.read().map_err(StoreError::failed)?.get(mid).cloned())
    }
    fn put_mimei(&self, m: &crate::mimei::Mimei) -> Result<(), StoreError> {
        self.mimeis.write().map_err(StoreError::failed)?.insert(m.mid(), m.clone());
        Ok(())
    }
    fn list_mimeis(&self) -> Result<Vec<crate::mimei::Mimei>, StoreError> {
        Ok(self.mimeis.read().map_err(StoreError::failed)?.values().cloned().collect())
    }
}

impl BlockRead for MemStore {
    fn get_block(&self, cid: &Cid) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.blocks.read().map_err(StoreError::failed)?.get(&cid.hash().to_bytes()).cloned())
    }
}

impl BlockWrite for MemStore {
    fn put_blocks(&self, blocks: &[Block]) -> Result<(), StoreError> {
        let mut map = self.blocks.write().map_err(StoreError::failed)?;
        for b in blocks {
            map.insert(b.cid.hash().to_bytes(), b.bytes.clone());
        }
        Ok(())
    }
    fn has_block(&self, cid: &Cid) -> Result<bool, StoreError> {
        Ok(self.blocks.read().map_err(StoreError::failed)?.contains_key(&cid.hash().to_bytes()))
    }
}

impl PinStore for MemStore {
    fn pin_add(&self, cid: &Cid) -> Result<(), StoreError> {
        self.pins.write().map_err(StoreError::failed)?.insert(cid.to_bytes(), cid.clone());
        Ok(())
    }
    fn pin_rm(&self, cid: &Cid) -> Result<bool, StoreError> {
        Ok(self.pins.write().map_err(StoreError::failed)?.remove(&cid.to_bytes()).is_some())
    }
    fn pin_ls(&self) -> Result<Vec<Cid>, StoreError> {
        Ok(self.pins.read().map_err(StoreError::failed)?.values().cloned().collect())
    }
}
