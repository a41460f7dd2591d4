//! The libp2p wire protocols a node speaks with IPFS peers, each a sans-IO machine: bytes in,
//! bytes out, no clock. `mss` negotiates protocols (multistream-select 1.0); `pb` is the protobuf
//! wire format and the length-prefixed framing the protocols share; `peer` is a peer id of any
//! key type.

pub mod bitswap;
pub mod mss;
pub mod pb;
pub mod peer;

pub use peer::PeerId;
