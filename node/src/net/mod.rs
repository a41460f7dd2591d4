//! The node's peer network above the core: the handle the API reaches the core through, the
//! addresses it listens on, the session ciphers it gives the core, and the RSA signature checks
//! libp2p peers with RSA keys need.

pub mod addrs;
pub mod ciphers;
pub mod ipfs;
pub mod rsa;

use proto_core::dht::Addr;
use proto_core::node::{Command, Reply};

/// The way into the core's loop from the API and the services.
pub trait NetHandle: Send + Sync + 'static {
    /// Runs a command on the node's core and waits for its reply.
    fn call(&self, command: Command) -> Result<Reply, String>;
    /// This node's peer listen addresses.
    fn listen_addrs(&self) -> Vec<Addr>;
}
