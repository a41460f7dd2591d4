//! DHT wire messages (minicbor, inside a `wire::Envelope` with proto = dht).

use super::key::Key;
use super::record::Record;
use minicbor::decode::{Decoder, Error as DecodeError};
use minicbor::encode::{Encoder, Error as EncodeError, Write};
use minicbor::{Decode, Encode};

/// Largest DHT message (a record is ≤ 10 KiB; a reply carries ≤ 20 peers).
pub const MAX_DHT_MESSAGE: usize = 64 * 1024;
/// Most peers one reply may carry (k).
pub const MAX_PEERS_IN_REPLY: usize = 20;
/// Most providers one reply may carry (the per-key cap of `Config::max_providers_per_key`).
pub const MAX_PROVIDERS_IN_REPLY: usize = 64;
/// Most addresses per peer, and bytes per address.
pub const MAX_ADDRS: usize = 8;
pub const MAX_ADDR_LEN: usize = 64;

impl<C> Encode<C> for Key {
    fn encode<W: Write>(&self, e: &mut Encoder<W>, _: &mut C) -> Result<(), EncodeError<W::Error>> {
        e.bytes(&self.0)?;
        Ok(())
    }
}

impl<'b, C> Decode<'b, C> for Key {
    fn decode(d: &mut Decoder<'b>, _: &mut C) -> Result<Self, DecodeError> {
        let b = d.bytes()?;
        let arr: [u8; 20] = b.try_into().map_err(|_| DecodeError::message("a key is 20 bytes"))?;
        Ok(Key(arr))
    }
}

/// A peer as other peers learn it: id and listen addresses (opaque bytes: binary multiaddrs on
/// the network, node numbers in the simulator).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Encode, Decode)]
pub struct PeerInfo {
    #[n(0)]
    pub id: Key,
    #[n(1)]
    pub addrs: Vec<Addr>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
#[cbor(transparent)]
pub struct Addr(#[cbor(n(0), with = "minicbor::bytes")] pub Vec<u8>);

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum Msg {
    #[n(0)]
    Ping {
        #[n(0)]
        rid: u64,
    },
    #[n(1)]
    Pong {
        #[n(0)]
        rid: u64,
    },
    #[n(2)]
    FindNode {
        #[n(0)]
        rid: u64,
        #[n(1)]
        target: Key,
    },
    #[n(3)]
    Nodes {
        #[n(0)]
        rid: u64,
        #[n(1)]
        closer: Vec<PeerInfo>,
    },
    #[n(4)]
    GetProviders {
        #[n(0)]
        rid: u64,
        #[n(1)]
        key: Key,
    },
    #[n(5)]
    Providers {
        #[n(0)]
        rid: u64,
        #[n(1)]
        providers: Vec<PeerInfo>,
        #[n(2)]
        closer: Vec<PeerInfo>,
    },
    #[n(6)]
    AddProvider {
        #[n(0)]
        rid: u64,
        #[n(1)]
        key: Key,
    },
    #[n(7)]
    GetValue {
        #[n(0)]
        rid: u64,
        #[n(1)]
        key: Key,
    },
    #[n(8)]
    Value {
        #[n(0)]
        rid: u64,
        #[n(1)]
        record: Option<Record>,
        #[n(2)]
        closer: Vec<PeerInfo>,
    },
    #[n(9)]
    PutValue {
        #[n(0)]
        rid: u64,
        #[n(1)]
        record: Record,
    },
    #[n(10)]
    Stored {
        #[n(0)]
        rid: u64,
        #[n(1)]
        ok: bool,
    },
}

/// What travels: the sender's listen addresses (so receivers can add it to their tables) and
/// one message.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Packet {
    #[n(0)]
    pub addrs: Vec<Addr>,
    #[n(1)]
    pub msg: Msg,
}

impl Msg {
    pub fn rid(&self) -> u64 {
        match self {
            Msg::Ping { rid }
            | Msg::Pong { rid }
            | Msg::FindNode { rid, .. }
            | Msg::Nodes { rid, .. }
            | Msg::GetProviders { rid, .. }
            | Msg::Providers { rid, .. }
            | Msg::AddProvider { rid, .. }
            | Msg::GetValue { rid, .. }
            | Msg::Value { rid, .. }
            | Msg::PutValue { rid, .. }
            | Msg::Stored { rid, .. } => *rid,
        }
    }

    pub fn is_request(&self) -> bool {
        matches!(
            self,
            Msg::Ping { .. }
                | Msg::FindNode { .. }
                | Msg::GetProviders { .. }
                | Msg::AddProvider { .. }
                | Msg::GetValue { .. }
                | Msg::PutValue { .. }
        )
    }
}

impl PeerInfo {
    /// Within the size limits a peer may send.
    pub fn is_sane(&self) -> bool {
        self.addrs.len() <= MAX_ADDRS && self.addrs.iter().all(|a| !a.0.is_empty() && a.0.len() <= MAX_ADDR_LEN)
    }
}

impl Packet {
    pub fn encode(&self) -> Vec<u8> {
        minicbor::to_vec(self).expect("encoding to a Vec cannot fail")
    }

    /// Decodes and checks the limits; `None` for anything a well-behaved peer never sends.
    pub fn decode(bytes: &[u8]) -> Option<Packet> {
        let p: Packet = minicbor::decode(bytes).ok()?;
        let peers_ok = |v: &Vec<PeerInfo>| v.len() <= MAX_PEERS_IN_REPLY && v.iter().all(PeerInfo::is_sane);
        let sane = p.addrs.len() <= MAX_ADDRS
            && p.addrs.iter().all(|a| a.0.len() <= MAX_ADDR_LEN)
            && match &p.msg {
                Msg::Nodes { closer, .. } | Msg::Value { closer, .. } => peers_ok(closer),
                Msg::Providers { providers, closer, .. } => {
                    providers.len() <= MAX_PROVIDERS_IN_REPLY
                        && providers.iter().all(PeerInfo::is_sane)
                        && peers_ok(closer)
                }
                _ => true,
            };
        sane.then_some(p)
    }
}
