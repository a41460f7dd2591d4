//! The LMDB store (through heed): blocks keyed by multihash, pins, and later the durable image
//! of the core's state. It implements proto-core's storage traits; it never touches the network.
//!
//! Durability: every `put_blocks` is one LMDB write transaction, committed with LMDB's default
//! sync, so a block that was acknowledged survives `kill -9` and power loss, and a crash in the
//! middle of a batch leaves none of it.

mod adds;
pub mod alloc;
mod blocks;
pub mod db;
pub mod repo;
pub mod space;

pub use adds::AddHeld;
pub use blocks::{LmdbError, Store, Usage};
