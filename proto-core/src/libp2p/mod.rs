//! The libp2p wire protocols a node speaks with IPFS peers, each a sans-IO machine: bytes in,
//! bytes out, no clock. So far: protocol negotiation (`mss`, multistream-select 1.0).

pub mod mss;
