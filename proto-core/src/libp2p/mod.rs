//! The libp2p wire protocols a node speaks with IPFS peers, each a sans-IO machine: bytes in,
//! bytes out, no clock. `mss` negotiates protocols (multistream-select 1.0); `pb` is the protobuf
//! wire format and the length-prefixed framing the protocols share; `peer` is a peer id of any
//! key type; `keys` the libp2p public keys and their signatures; `noise` the `/noise` handshake
//! and encrypted transport; `yamux` multiplexes streams over it; `identify` and `ping` are the
//! two protocols every peer serves; `kad` is the IPFS DHT and `bitswap` the block exchange.
//! `conn` stacks the layers into one connection and `host` runs them all for the node.

pub mod bitswap;
pub mod conn;
pub mod host;
pub mod identify;
pub mod kad;
pub mod keys;
pub mod mss;
pub mod noise;
pub mod pb;
pub mod peer;
pub mod ping;
pub mod yamux;

pub use peer::PeerId;
