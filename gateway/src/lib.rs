//! The HTTP layer of a node: the IPFS path gateway (`GET/HEAD /ipfs/…`) and the RPC API
//! (`POST /api/<Method>` with a JSON argument array). It is runtime-agnostic: it reaches the
//! node's data only through proto-core's storage traits and the method registry, never through
//! heed or an async runtime.
// The one exception: registering sockets with the database loop's poller (redis::server).
#![deny(unsafe_code)]

pub mod addrs;
pub mod api;
pub mod ciphers;
pub mod content_type;
pub mod db_methods;
pub mod db_repl;
pub mod driver;
pub mod fetching;
pub mod hash_gate;
pub mod hprose;
pub mod http;
pub mod import;
pub mod import_tar;
pub mod ipfs_methods;
pub mod listing;
pub mod mimei_methods;
pub mod mm_gateway;
pub mod net_methods;
pub mod node_methods;
pub mod park;
pub mod path_gateway;
pub mod range;
pub mod redis;
pub mod server;
pub mod session;
pub mod template;
pub mod ws;

use proto_core::store::{BlockWrite, KvStore, MimeiStore, PinStore};
use proto_core::unixfs::read::BlockRead;

/// Everything the gateway needs from the node's store.
pub trait Backend:
    BlockRead + BlockWrite + PinStore + MimeiStore + KvStore + import::AddTarget + ipfs_methods::RepoUsage + 'static
{
}
impl<
        T: BlockRead
            + BlockWrite
            + PinStore
            + MimeiStore
            + KvStore
            + import::AddTarget
            + ipfs_methods::RepoUsage
            + Send
            + Sync
            + 'static,
    > Backend for T
{
}
