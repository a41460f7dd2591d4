//! The sans-IO core of leither-rs.
//!
//! It owns identities, content formats (CID, dag-pb, UnixFS, CAR) and the protocol state machines.
//! It never does I/O: no sockets, threads, files, clocks or OS randomness. Time, randomness and
//! bytes come in as arguments; blocks, messages and storage writes come out as values. The same
//! inputs always give the same outputs (DESIGN.md §3).
#![forbid(unsafe_code)]

pub mod car;
pub mod cid;
pub mod dagpb;
pub mod db;
pub mod dht;
pub mod frame;
pub mod id;
pub mod identity;
pub mod libp2p;
pub mod maddr;
pub mod mfs;
pub mod mimei;
pub mod multibase;
pub mod node;
pub mod peer_id;
pub mod ppt;
pub mod rng;
pub mod session;
pub mod store;
pub mod tar;
pub mod time;
pub mod unixfs;
pub mod varint;
pub mod wire;
