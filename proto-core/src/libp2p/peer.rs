//! A libp2p peer id of any key type: the multihash bytes that kad, `/p2p/` and records carry
//! (an identity multihash of a short key's protobuf, `12D3KooW…` for ed25519, or the SHA-256 of
//! a long one, `Qm…` for RSA). `crate::peer_id` turns ed25519 ids into node ids; this type is for
//! every peer of the IPFS network, whatever its key.

use crate::multibase;
use crate::peer_id::{self, PeerIdError};
use std::fmt;

/// Longest peer id accepted (an identity multihash of a 42-byte key protobuf, or a hash).
pub const MAX_PEER_ID: usize = 64;

#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerId(Vec<u8>);

impl PeerId {
    /// The id of an ed25519 key.
    pub fn from_ed25519(public_key: &[u8; 32]) -> Self {
        PeerId(peer_id::multihash(public_key))
    }

    /// An id from its multihash bytes: identity (code 0x00, at most 42 bytes of key) or sha2-256.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PeerIdError> {
        let ok = match bytes {
            [0x00, len, rest @ ..] => usize::from(*len) == rest.len() && rest.len() <= 42,
            [0x12, 0x20, rest @ ..] => rest.len() == 32,
            _ => false,
        };
        if ok && bytes.len() <= MAX_PEER_ID {
            Ok(PeerId(bytes.to_vec()))
        } else {
            Err(PeerIdError::Encoding)
        }
    }

    /// Either text form: base58btc (`12D3KooW…`, `Qm…`) or a libp2p-key CID (`bafz…`).
    pub fn parse(text: &str) -> Result<Self, PeerIdError> {
        let bytes = match text.strip_prefix('b') {
            Some(rest) if text.starts_with("bafz") => {
                let cid = multibase::base32_decode(rest).ok_or(PeerIdError::Encoding)?;
                cid.strip_prefix(&[0x01, 0x72][..]).ok_or(PeerIdError::Encoding)?.to_vec()
            }
            _ => multibase::base58btc_decode(text).ok_or(PeerIdError::Encoding)?,
        };
        PeerId::from_bytes(&bytes)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The ed25519 key inlined in the id, if it is one.
    pub fn ed25519_key(&self) -> Option<[u8; 32]> {
        peer_id::key_of(&self.0).ok()
    }

    pub fn to_text(&self) -> String {
        multibase::base58btc_encode(&self.0)
    }
}

impl fmt::Display for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

impl fmt::Debug for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PeerId({})", self.to_text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_key_kinds() {
        let rsa = PeerId::parse("QmcZf59bWwK5XFi76CZX8cbJ4BhTzzA3gU1ZjYZcYW3dwt").unwrap();
        assert_eq!(&rsa.as_bytes()[..2], [0x12, 0x20]);
        assert_eq!(rsa.ed25519_key(), None);
        assert_eq!(rsa.to_text(), "QmcZf59bWwK5XFi76CZX8cbJ4BhTzzA3gU1ZjYZcYW3dwt");
        let ed = PeerId::parse("12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq").unwrap();
        let key = ed.ed25519_key().unwrap();
        assert_eq!(PeerId::from_ed25519(&key), ed);
        assert!(PeerId::from_bytes(&[0x12, 0x20, 1]).is_err());
        assert!(PeerId::from_bytes(&[0x00, 5, 1, 2]).is_err());
        assert!(PeerId::parse("").is_err());
    }
}
