//! Adds in progress, so a failed add leaves no blocks behind that nothing pins or references.
//!
//! An add commits its blocks in batches long before its root exists (docs/architecture.md
//! "Durability"). While it runs, the store remembers the blocks it wrote that were not there
//! before (and blocks another running add wrote that it uses too), with a count of the adds
//! holding each. When the add fails, its blocks that no other running add holds, that no other
//! write stored meanwhile and that no pin reaches are removed in one transaction. Blocks that
//! were in the store before the add are never touched, nor is anything a pin reaches.

use crate::blocks::Store;
use proto_core::cid::Cid;
use proto_core::unixfs::read;
use proto_core::unixfs::Block;
use std::collections::{BTreeMap, BTreeSet};

/// The blocks one running add holds (their multihash keys).
#[derive(Debug, Default)]
pub struct AddHeld {
    keys: BTreeSet<Vec<u8>>,
}

impl AddHeld {
    pub fn len(&self) -> usize {
        self.keys.len()
    }
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// Multihash key → how many running adds hold the block.
pub(crate) type Holds = BTreeMap<Vec<u8>, u32>;

impl Store {
    /// Stores one batch of an add in one durable transaction, noting what the add holds.
    pub fn put_add_blocks(&self, held: &mut AddHeld, blocks: &[Block]) -> Result<(), proto_core::store::StoreError> {
        let mut holds = self.holds();
        let keys: Vec<Vec<u8>> = blocks.iter().map(|b| b.cid.hash().to_bytes()).collect();
        self.note_touch(keys.iter().map(Vec::as_slice));
        self.note_atime(keys.iter().map(Vec::as_slice));
        let attempted: u64 = blocks.iter().map(|b| b.bytes.len() as u64).sum();
        let mut txn = self.env.write_txn().map_err(|e| self.write_fault(&e, attempted))?;
        let mut noted = Vec::new();
        for (b, key) in blocks.iter().zip(keys) {
            if held.keys.contains(&key) {
                continue;
            }
            let present = self.blocks.get(&txn, &key).map_err(proto_core::store::StoreError::failed)?.is_some();
            if !present {
                self.blocks.put(&mut txn, &key, &b.bytes).map_err(|e| self.write_fault(&e, attempted))?;
            }
            // New here, or new through another add still running: this add holds it too.
            if !present || holds.contains_key(&key) {
                noted.push(key);
            }
        }
        txn.commit().map_err(|e| self.write_fault(&e, attempted))?;
        for key in noted {
            *holds.entry(key.clone()).or_insert(0) += 1;
            held.keys.insert(key);
        }
        Ok(())
    }

    /// The add succeeded (its root is pinned): its blocks are the pin's now.
    pub fn release_add(&self, held: AddHeld) {
        let mut holds = self.holds();
        for key in held.keys {
            drop_hold(&mut holds, &key);
        }
    }

    /// The add failed: removes the blocks only it wrote that nothing else holds or reaches.
    /// Returns how many were removed.
    pub fn abort_add(&self, held: AddHeld) -> Result<u64, proto_core::store::StoreError> {
        let mut holds = self.holds();
        let mut candidates = BTreeSet::new();
        for key in held.keys {
            // Absent from `holds`: another write stored it meanwhile, so it stays.
            if holds.get(&key) == Some(&1) {
                candidates.insert(key.clone());
            }
            drop_hold(&mut holds, &key);
        }
        if candidates.is_empty() {
            return Ok(0);
        }
        self.keep_pinned(&mut candidates).map_err(proto_core::store::StoreError::Failed)?;
        let mut txn = self.env.write_txn().map_err(|e| self.write_fault(&e, 0))?;
        let mut n = 0;
        for key in &candidates {
            if self.blocks.delete(&mut txn, key).map_err(|e| self.write_fault(&e, 0))? {
                n += 1;
            }
        }
        txn.commit().map_err(|e| self.write_fault(&e, 0))?;
        Ok(n)
    }

    /// Drops from `candidates` every block a pin reaches (a walk of every pinned DAG).
    fn keep_pinned(&self, candidates: &mut BTreeSet<Vec<u8>>) -> Result<(), String> {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<Cid> = proto_core::store::PinStore::pin_ls(self)?;
        while let Some(cid) = stack.pop() {
            let key = cid.hash().to_bytes();
            if !seen.insert(key.clone()) {
                continue;
            }
            candidates.remove(&key);
            if candidates.is_empty() {
                return Ok(());
            }
            if cid.codec() == proto_core::cid::CODEC_RAW {
                continue;
            }
            // A pinned DAG missing a block has nothing more to reach through it.
            if let Ok(read::Node::Pb(pb, _)) = read::load_node(self, &cid) {
                stack.extend(pb.links.into_iter().map(|l| l.cid));
            }
        }
        Ok(())
    }

    pub(crate) fn holds(&self) -> std::sync::MutexGuard<'_, Holds> {
        // A panic while holding it leaves counts that are still safe to use: at worst a block
        // is kept that could have gone.
        self.adding.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A write outside any add stored these blocks: they are no add's to remove any more.
pub(crate) fn claim(holds: &mut Holds, keys: &[Vec<u8>]) {
    if holds.is_empty() {
        return;
    }
    for k in keys {
        holds.remove(k);
    }
}

fn drop_hold(holds: &mut Holds, key: &[u8]) {
    if let Some(n) = holds.get_mut(key) {
        *n -= 1;
        if *n == 0 {
            holds.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto_core::store::{BlockWrite, PinStore};
    use proto_core::unixfs::file::import_bytes;
    use proto_core::unixfs::Profile;

    use crate::test_data::data;

    #[test]
    fn a_failed_add_removes_only_what_it_alone_wrote() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        // Pinned content whose blocks the failing add also produces (same bytes up front).
        let shared = data(600_000, 1);
        let (pinned_root, pinned_blocks) = import_bytes(Profile::UNIXFS_V0_2015, &shared);
        store.put_blocks(&pinned_blocks).unwrap();
        store.pin_add(&pinned_root.cid).unwrap();
        let before = store.block_count().unwrap();

        let mut big = shared.clone();
        big.extend(data(1_500_000, 2));
        let (_, blocks) = import_bytes(Profile::UNIXFS_V0_2015, &big);
        let leaves: Vec<Block> = blocks.into_iter().filter(|b| b.bytes.len() > 1000).collect();
        let mut held = AddHeld::default();
        store.put_add_blocks(&mut held, &leaves[..3]).unwrap();
        store.put_add_blocks(&mut held, &leaves[3..]).unwrap();
        assert!(store.block_count().unwrap() > before);
        // The first two leaves were there already (the pinned file's): not held.
        assert_eq!(held.len() as u64, store.block_count().unwrap() - before);
        let removed = store.abort_add(held).unwrap();
        assert_eq!(removed as usize, leaves.len() - 2);
        assert_eq!(store.block_count().unwrap(), before);
        assert_eq!(store.verify_all().unwrap(), (before, vec![]));
        for b in &pinned_blocks {
            assert!(store.has_block(&b.cid).unwrap());
        }
    }

    #[test]
    fn blocks_another_add_or_write_uses_stay() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let (_, blocks) = import_bytes(Profile::UNIXFS_V0_2015, &data(1_200_000, 3));
        let leaves: Vec<Block> = blocks.into_iter().filter(|b| b.bytes.len() > 1000).collect();
        assert_eq!(leaves.len(), 5);
        let (mut a, mut b) = (AddHeld::default(), AddHeld::default());
        store.put_add_blocks(&mut a, &leaves[..3]).unwrap();
        // A second add writes the same first block (and one of its own).
        store.put_add_blocks(&mut b, &leaves[..1]).unwrap();
        store.put_add_blocks(&mut b, &leaves[3..4]).unwrap();
        // A fetch stores the second block again meanwhile.
        store.put_blocks(&leaves[1..2]).unwrap();
        assert_eq!(store.abort_add(a).unwrap(), 1);
        assert!(store.has_block(&leaves[0].cid).unwrap(), "held by the running add");
        assert!(store.has_block(&leaves[1].cid).unwrap(), "stored again outside the add");
        assert!(!store.has_block(&leaves[2].cid).unwrap());
        // The second add finishes: its blocks are its pin's, and stay.
        store.pin_add(&leaves[3].cid).unwrap();
        store.release_add(b);
        assert!(store.has_block(&leaves[0].cid).unwrap() && store.has_block(&leaves[3].cid).unwrap());
    }

    #[test]
    fn what_a_pin_reaches_stays() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let (root, blocks) = import_bytes(Profile::UNIXFS_V0_2015, &data(800_000, 4));
        let mut held = AddHeld::default();
        store.put_add_blocks(&mut held, &blocks).unwrap();
        // Pinned by another way while the add still ran (PinAdd of a complete DAG).
        store.pin_add(&root.cid).unwrap();
        assert_eq!(store.abort_add(held).unwrap(), 0);
        assert_eq!(store.block_count().unwrap(), blocks.len() as u64);
    }
}
