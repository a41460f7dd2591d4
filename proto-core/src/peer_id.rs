//! libp2p peer ids of ed25519 keys: the identity multihash of the key's protobuf
//! (`00 24 | 08 01 12 20 | 32 key bytes`), written in base58btc (`12D3KooW…`) or as a libp2p-key
//! CIDv1 in base32 (`bafz…`). A node's peer id is the same key as its 27-character id, in the
//! form the IPFS network uses, so either names the node.

use crate::multibase;
use std::fmt;

/// The multihash header and the key protobuf's fields before the 32 key bytes.
const ED25519_HEAD: [u8; 6] = [0x00, 0x24, 0x08, 0x01, 0x12, 0x20];
/// The CIDv1 prefix of a peer id written as a CID: version 1, codec libp2p-key (0x72).
const CID_HEAD: [u8; 2] = [0x01, 0x72];

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PeerIdError {
    /// Not base58btc or base32 text of a multihash.
    Encoding,
    /// A SHA-256 multihash (`Qm…`, RSA and ECDSA keys): it does not carry its key.
    Hashed,
    /// An inlined key of another type (secp256k1: `16Uiu2HA…`).
    KeyType(u8),
}

impl fmt::Display for PeerIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PeerIdError::Encoding => f.write_str("a peer id is base58btc (12D3KooW…) or a libp2p-key CID (bafz…)"),
            PeerIdError::Hashed => f.write_str(
                "this peer id is the SHA-256 of an RSA or ECDSA key (Qm…): it names no ed25519 key, so no node id",
            ),
            PeerIdError::KeyType(t) => write!(f, "this peer id holds a key of type {t}, not ed25519 (1)"),
        }
    }
}

impl std::error::Error for PeerIdError {}

/// The peer id's bytes (a multihash, as kad, `/p2p/` and records carry it).
pub fn multihash(public_key: &[u8; 32]) -> Vec<u8> {
    let mut out = ED25519_HEAD.to_vec();
    out.extend_from_slice(public_key);
    out
}

/// The peer id's text, `12D3KooW…`.
pub fn to_text(public_key: &[u8; 32]) -> String {
    multibase::base58btc_encode(&multihash(public_key))
}

/// The ed25519 key a peer id's multihash carries.
pub fn key_of(multihash: &[u8]) -> Result<[u8; 32], PeerIdError> {
    match multihash {
        [0x12, 0x20, ..] if multihash.len() == 34 => Err(PeerIdError::Hashed),
        [0x00, len, 0x08, t, ..] if *t != 1 && usize::from(*len) + 2 == multihash.len() => {
            Err(PeerIdError::KeyType(*t))
        }
        _ => {
            let key = multihash.strip_prefix(&ED25519_HEAD[..]).ok_or(PeerIdError::Encoding)?;
            key.try_into().map_err(|_| PeerIdError::Encoding)
        }
    }
}

/// The ed25519 key of a peer id's text (either form).
pub fn parse(text: &str) -> Result<[u8; 32], PeerIdError> {
    let bytes = match text.strip_prefix('b') {
        // A CIDv1 in base32 (`bafz…`); base58btc never starts with a lower-case b followed by
        // base32 of 0x01 0x72, so the two forms do not overlap.
        Some(rest) if text.starts_with("bafz") => {
            let cid = multibase::base32_decode(rest).ok_or(PeerIdError::Encoding)?;
            cid.strip_prefix(&CID_HEAD[..]).ok_or(PeerIdError::Encoding)?.to_vec()
        }
        _ => multibase::base58btc_decode(text).ok_or(PeerIdError::Encoding)?,
    };
    key_of(&bytes)
}

/// A node's 27-character id from either of its names: that id itself, or its peer id.
pub fn node_id(text: &str) -> Result<crate::id::NodeId, String> {
    if looks_like(text) {
        return parse(text).map(|k| crate::identity::node_id_of(&k)).map_err(|e| e.to_string());
    }
    crate::id::NodeId::parse(text).map_err(|e| format!("{e}, or a peer id 12D3KooW…"))
}

/// Whether `text` looks like a peer id rather than a 27-character id (for error messages).
pub fn looks_like(text: &str) -> bool {
    ["12D3KooW", "Qm", "16Uiu2HA", "bafz"].iter().any(|p| text.starts_with(p)) && text.len() > 27
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    /// The libp2p specs' ed25519 vector (peer-ids.md): seed 7e08…ee7d, public key 1ed1…e27e.
    #[test]
    fn the_spec_vector() {
        let pk: [u8; 32] = hex("1ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e").try_into().unwrap();
        let seed: [u8; 32] =
            hex("7e0830617c4a7de83925dfb2694556b12936c477a0e1feb2e148ec9da60fee7d").try_into().unwrap();
        assert_eq!(crate::identity::Identity::from_seed(seed).public_key(), pk);
        assert_eq!(to_text(&pk), "12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq");
        assert_eq!(parse("12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq"), Ok(pk));
        let short = crate::identity::node_id_of(&pk);
        assert_eq!(node_id("12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq"), Ok(short));
        assert_eq!(node_id(&short.to_string()), Ok(short));
        assert_eq!(
            &multihash(&pk)[2..],
            &hex("080112201ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e")[..]
        );
        // The same id as a libp2p-key CID.
        let mut cid = CID_HEAD.to_vec();
        cid.extend_from_slice(&multihash(&pk));
        assert_eq!(parse(&format!("b{}", multibase::base32_encode(&cid))), Ok(pk));
    }

    #[test]
    fn ids_without_an_ed25519_key_say_why() {
        // A kubo RSA peer id (the public bootstrap node mars.i.ipfs.io).
        assert_eq!(parse("QmcZf59bWwK5XFi76CZX8cbJ4BhTzzA3gU1ZjYZcYW3dwt"), Err(PeerIdError::Hashed));
        // A secp256k1 key, inlined: type 2.
        let mut secp = vec![0x00, 0x25, 0x08, 0x02, 0x12, 0x21];
        secp.extend_from_slice(&[2; 33]);
        assert_eq!(key_of(&secp), Err(PeerIdError::KeyType(2)));
        assert_eq!(parse("12D3KooW0OIl"), Err(PeerIdError::Encoding));
        assert_eq!(parse(""), Err(PeerIdError::Encoding));
        assert!(looks_like("12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq"));
        assert!(!looks_like("Ngacq50-IRX_DfcndFwZ0c9S0Nh"));
        assert!(node_id("QmcZf59bWwK5XFi76CZX8cbJ4BhTzzA3gU1ZjYZcYW3dwt").unwrap_err().contains("RSA"));
        assert!(node_id("short").unwrap_err().contains("27 characters, this one has 5, or a peer id"));
    }
}
