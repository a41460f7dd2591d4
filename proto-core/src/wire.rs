//! The envelope every peer message travels in: `{proto, body}` in minicbor, so one connection
//! carries several protocols (dht today; blocks, mimei and repl later) routed by `proto`.

use minicbor::{Decode, Encode};

/// Largest envelope accepted from a peer (a frame's worth), checked before decoding. Each
/// protocol has its own, smaller limit for its messages (the DHT's is 64 KiB).
pub const MAX_MESSAGE: usize = 4 * 1024 * 1024 + 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proto {
    Dht = 1,
    Block = 2,
    Mimei = 3,
    /// Database replication (`db::repl::Wire`).
    Db = 4,
}

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Envelope {
    #[n(0)]
    pub proto: u8,
    #[cbor(n(1), with = "minicbor::bytes")]
    pub body: Vec<u8>,
}

/// An envelope decoded in place: its body borrows the frame (block messages carry 256 KiB).
#[derive(Debug, Decode)]
pub struct EnvelopeRef<'a> {
    #[n(0)]
    pub proto: u8,
    #[b(1)]
    pub body: &'a minicbor::bytes::ByteSlice,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WireError {
    TooLarge(usize),
    Decode(String),
    UnknownProto(u8),
}

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WireError::TooLarge(n) => write!(f, "message of {n} bytes is over the {MAX_MESSAGE}-byte limit"),
            WireError::Decode(e) => write!(f, "message does not decode: {e}"),
            WireError::UnknownProto(p) => write!(f, "unknown protocol {p}"),
        }
    }
}

impl Envelope {
    pub fn encode(proto: Proto, body: Vec<u8>) -> Vec<u8> {
        minicbor::to_vec(Envelope { proto: proto as u8, body }).expect("encoding to a Vec cannot fail")
    }

    pub fn decode(bytes: &[u8]) -> Result<Envelope, WireError> {
        if bytes.len() > MAX_MESSAGE {
            return Err(WireError::TooLarge(bytes.len()));
        }
        minicbor::decode(bytes).map_err(|e| WireError::Decode(e.to_string()))
    }

    /// `decode` without copying the body.
    pub fn decode_ref(bytes: &[u8]) -> Result<EnvelopeRef<'_>, WireError> {
        if bytes.len() > MAX_MESSAGE {
            return Err(WireError::TooLarge(bytes.len()));
        }
        minicbor::decode(bytes).map_err(|e| WireError::Decode(e.to_string()))
    }
}
