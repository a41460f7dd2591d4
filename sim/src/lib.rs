//! The deterministic network simulator: many sans-IO machines in one thread, virtual time that
//! jumps from event to event, and seeded faults (latency, loss, duplication, partitions, crashes
//! and restarts through the restore path, clock skew). A node is either a bare DHT core
//! exchanging datagrams, or the whole `proto_core::node::Node` the runtimes drive — Noise
//! sessions over simulated TCP streams, the DHT, block exchange answered from a per-node block
//! store, keep-alive and MiMei messages — where loss, partitions and crashes break connections.
//! One seed reproduces one run exactly; the trace hash proves it. Checkers watch every node:
//! lookups against an oracle of the true closest live nodes, records never served past their
//! EOL, the drain contract, and files fetched through block exchange compared byte for byte.
//!
//! `kad_sim` runs the IPFS Kademlia machines (`proto_core::libp2p::kad`) the same way, with
//! encoded kad messages as request/response pairs.
//!
//! It is a product feature (`leither sim`), not a test mock.
#![forbid(unsafe_code)]

mod dht_core;
pub mod files;
pub mod kad_sim;
pub mod mimei;
mod net;
mod node_sim;
mod oracle;
pub mod redis_gen;
pub mod repl;
mod report;
mod scenario;
mod stream;

pub use net::{Fault, Machine, NodeIx, NodeReply, Outcome, Sim, SimConfig};
pub use report::{Percentiles, Report};
pub use scenario::{run_scenario, Scenario};
