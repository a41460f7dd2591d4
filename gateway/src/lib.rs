//! The HTTP side of a node: the server (`http`), its routes (`server`), the IPFS path gateway
//! (`/ipfs/…`) and the MiMei gateway (`/mm/…`) with listings, ranges and content types, the
//! template page, WebSocket, the hprose and JSON codecs and the method registry (`api`).
//!
//! It owns no node state and makes no protocol decision: it reads content through the
//! [`Content`] traits it is handed, reaches content it lacks through a [`Network`] it is handed,
//! and runs API methods that the `node` crate registers. It never names `storage`, heed or an
//! async runtime; its only threads are the HTTP server's own (event loop, workers, drains).
#![deny(unsafe_code)]

pub mod api;
pub mod content_type;
pub mod hprose;
pub mod http;
pub mod listing;
pub mod mm_gateway;
pub mod park;
pub mod path_gateway;
pub mod range;
pub mod server;
pub mod template;
pub mod ws;

use proto_core::cid::Cid;
use proto_core::store::{KvStore, MimeiStore};
use proto_core::unixfs::read::BlockRead;
use std::sync::Arc;

/// What the HTTP side reads from the node's store: blocks, MiMeis, and the key-value entries
/// (domain names) it routes by.
pub trait Content: BlockRead + MimeiStore + KvStore + Send + Sync + 'static {}
impl<T: BlockRead + MimeiStore + KvStore + Send + Sync + 'static> Content for T {}

/// The node's way to content it does not hold: the gateway asks for a reader over a root, and
/// that reader fetches missing blocks from peers (checking each against its hash).
pub trait Network: Send + Sync + 'static {
    /// A reader over `root` that fetches what this node lacks.
    fn reader(&self, root: Cid) -> Arc<dyn Content>;
    /// Whether this node holds `root`'s own block (a request for a root it lacks waits on the
    /// network from its first byte, so it holds one of the gateway's network slots).
    fn holds(&self, root: &Cid) -> bool;
}
