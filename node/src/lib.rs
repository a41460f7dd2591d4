//! What a leither-rs node runs behind HTTP, the same on every runtime: start-up and the services
//! around the core (`compose`), the API methods by family (`methods`), the database service with
//! its RESP endpoint and replication driver (`db`), import and fetching of content (`content`),
//! and the peer network's handle, addresses and ciphers (`net`).
//!
//! It executes what `proto-core` decides and owns no protocol decision of its own. It reaches
//! the disk only through `storage`, and sockets only through the runtime that runs it.
#![deny(unsafe_code)]

pub mod compose;
pub mod content;
pub mod db;
pub mod execute;
pub mod methods;
pub mod net;
pub mod peer;
pub mod start;

use content::import::AddTarget;
use methods::ipfs::RepoUsage;
use proto_core::store::{BlockWrite, PinStore};

/// Everything the node's services need from its store (what the HTTP side reads, and more).
pub trait Backend: gateway::Content + BlockWrite + PinStore + AddTarget + RepoUsage {}
impl<T: gateway::Content + BlockWrite + PinStore + AddTarget + RepoUsage> Backend for T {}
