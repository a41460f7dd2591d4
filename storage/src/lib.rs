//! The LMDB store (through heed): blocks keyed by multihash, pins, the core's durable state,
//! MiMeis and small named values, adds in progress (`adds`), garbage collection and access
//! times (`gc`), the database environment (`db`, whose transactions and snapshots callers hold
//! as this crate's own types, never heed's), the repo directory (`repo`: config, key, token,
//! lock; its `ipfs` and `storage` sections in `repo_ipfs`, `repo_storage`) and the disk's room
//! (`space`). It implements proto-core's storage traits and answers their typed `StoreError`; it
//! never touches the network and makes no protocol decision.
//!
//! Durability: every `put_blocks` is one LMDB write transaction, committed with LMDB's default
//! sync, so a block that was acknowledged survives `kill -9` and power loss, and a crash in the
//! middle of a batch leaves none of it.

mod adds;
pub mod alloc;
mod blocks;
pub mod db;
pub mod gc;
mod mimei_index;
pub mod repo;
pub mod repo_ipfs;
pub mod repo_storage;
pub mod space;

pub use adds::AddHeld;
pub use blocks::{LmdbError, Store, Usage};

/// Test content shared by the store's tests.
#[cfg(test)]
mod test_data {
    /// Bytes with no repeated chunk (xorshift).
    pub(crate) fn data(len: usize, seed: u64) -> Vec<u8> {
        let mut x = seed.wrapping_mul(0x9e3779b97f4a7c15) | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect()
    }
}
