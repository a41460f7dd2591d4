//! libp2p public keys as they travel in Noise payloads, identify messages and signed records:
//! the `PublicKey{Type=1, Data=2}` protobuf, the peer id it hashes to, and signature checks.
//!
//! Decode what a peer sent with [`PublicKey::decode`], name it with [`PublicKey::peer_id`] and
//! check a signature with [`PublicKey::verify`]. Ed25519 is checked here; RSA (PKCS#1 v1.5 over
//! SHA-256, what kubo's RSA identities sign with) is checked by the runtime through
//! [`RsaVerifier`], since the core carries no RSA code. Secp256k1 and ECDSA keys decode and have
//! peer ids, but their signatures are refused.

use crate::identity;
use crate::libp2p::pb::{Fields, PbError, Writer};
use crate::libp2p::PeerId;
use sha2::{Digest, Sha256};
use std::fmt;

/// Largest RSA key accepted: the SubjectPublicKeyInfo DER of an 8192-bit key (go-libp2p's
/// `maxRsaKeyBits`) is about 1060 bytes.
pub const MAX_RSA_DER: usize = 1100;
/// A secp256k1 key is sent compressed: 33 bytes.
pub const SECP256K1_LEN: usize = 33;
/// Largest ECDSA SubjectPublicKeyInfo accepted (P-521's is 158 bytes).
pub const MAX_ECDSA_DER: usize = 256;
/// A key protobuf up to this size is inlined in the peer id (identity multihash); a longer one
/// is hashed with SHA-256 (go-libp2p `maxInlineKeyLength`).
pub const MAX_INLINE_KEY: usize = 42;

/// The `KeyType` numbers of the protobuf.
const RSA: u64 = 0;
const ED25519: u64 = 1;
const SECP256K1: u64 = 2;
const ECDSA: u64 = 3;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PublicKey {
    Ed25519([u8; 32]),
    /// PKIX SubjectPublicKeyInfo DER.
    Rsa(Vec<u8>),
    /// Compressed point.
    Secp256k1(Vec<u8>),
    /// PKIX SubjectPublicKeyInfo DER.
    Ecdsa(Vec<u8>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyError {
    Pb(PbError),
    /// The Type or Data field is absent.
    Missing(&'static str),
    /// A key type libp2p does not define.
    UnknownType(u64),
    /// Key bytes of a size the type cannot have (or over its limit).
    Length {
        key_type: &'static str,
        len: usize,
    },
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::Pb(e) => write!(f, "public key: {e}"),
            KeyError::Missing(field) => write!(f, "public key: no {field} field"),
            KeyError::UnknownType(t) => write!(f, "public key: unsupported key type {t}"),
            KeyError::Length { key_type, len } => write!(f, "public key: a {len}-byte {key_type} key"),
        }
    }
}

impl std::error::Error for KeyError {}

impl From<PbError> for KeyError {
    fn from(e: PbError) -> Self {
        KeyError::Pb(e)
    }
}

/// RSA signature checks, supplied by the runtime (the core carries no RSA code).
pub trait RsaVerifier: Send + Sync {
    /// Whether `sig` is an RSASSA-PKCS1-v1_5 SHA-256 signature of `msg` by the key whose
    /// SubjectPublicKeyInfo DER is `spki_der`. False for any malformed input or refused key size.
    fn verify_pkcs1_sha256(&self, spki_der: &[u8], msg: &[u8], sig: &[u8]) -> bool;
}

/// Refuses every RSA signature (tests, the simulator, runtimes without RSA).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoRsa;

impl RsaVerifier for NoRsa {
    fn verify_pkcs1_sha256(&self, _: &[u8], _: &[u8], _: &[u8]) -> bool {
        false
    }
}

impl PublicKey {
    /// Decodes a `PublicKey` protobuf (fields in any order, unknown fields skipped).
    pub fn decode(pb: &[u8]) -> Result<Self, KeyError> {
        let (mut key_type, mut data) = (None, None);
        for field in Fields::new(pb) {
            match field? {
                (1, v) => key_type = Some(v.varint("PublicKey.Type")?),
                (2, v) => data = Some(v.bytes("PublicKey.Data")?),
                _ => {}
            }
        }
        let key_type = key_type.ok_or(KeyError::Missing("Type"))?;
        let data = data.ok_or(KeyError::Missing("Data"))?;
        let bad = |key_type| KeyError::Length { key_type, len: data.len() };
        match key_type {
            ED25519 => Ok(PublicKey::Ed25519(data.try_into().map_err(|_| bad("ed25519"))?)),
            RSA if !data.is_empty() && data.len() <= MAX_RSA_DER => Ok(PublicKey::Rsa(data.to_vec())),
            RSA => Err(bad("RSA")),
            SECP256K1 if data.len() == SECP256K1_LEN => Ok(PublicKey::Secp256k1(data.to_vec())),
            SECP256K1 => Err(bad("secp256k1")),
            ECDSA if !data.is_empty() && data.len() <= MAX_ECDSA_DER => Ok(PublicKey::Ecdsa(data.to_vec())),
            ECDSA => Err(bad("ECDSA")),
            t => Err(KeyError::UnknownType(t)),
        }
    }

    fn parts(&self) -> (u64, &[u8]) {
        match self {
            PublicKey::Ed25519(k) => (ED25519, k),
            PublicKey::Rsa(k) => (RSA, k),
            PublicKey::Secp256k1(k) => (SECP256K1, k),
            PublicKey::Ecdsa(k) => (ECDSA, k),
        }
    }

    /// The canonical protobuf: Type, then Data (what peer ids hash).
    pub fn encode(&self) -> Vec<u8> {
        let (key_type, data) = self.parts();
        let mut w = Writer::new();
        w.varint(1, key_type).bytes(2, data);
        w.finish()
    }

    /// The peer id: the identity multihash of the protobuf if it is at most 42 bytes, else its
    /// SHA-256 multihash.
    pub fn peer_id(&self) -> PeerId {
        let pb = self.encode();
        let mut mh = Vec::with_capacity(2 + pb.len().min(32));
        if pb.len() <= MAX_INLINE_KEY {
            mh.extend_from_slice(&[0x00, pb.len() as u8]);
            mh.extend_from_slice(&pb);
        } else {
            mh.extend_from_slice(&[0x12, 0x20]);
            mh.extend_from_slice(&Sha256::digest(&pb));
        }
        PeerId::from_bytes(&mh).expect("an inlined key of at most 42 bytes or a SHA-256 digest is a peer id")
    }

    /// Whether `sig` is this key's signature of `msg`: plain ed25519, RSA PKCS#1 v1.5 SHA-256
    /// through `rsa`; secp256k1 and ECDSA signatures are refused.
    pub fn verify(&self, msg: &[u8], sig: &[u8], rsa: &dyn RsaVerifier) -> bool {
        match self {
            PublicKey::Ed25519(k) => match <&[u8; 64]>::try_from(sig) {
                Ok(sig) => identity::verify(k, msg, sig),
                Err(_) => false,
            },
            PublicKey::Rsa(der) => rsa.verify_pkcs1_sha256(der, msg, sig),
            PublicKey::Secp256k1(_) | PublicKey::Ecdsa(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Identity;

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    /// libp2p/specs peer-ids.md test vectors.
    const ED_PUB_PB: &str = "080112201ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e";
    const ED_SEED: &str = "7e0830617c4a7de83925dfb2694556b12936c477a0e1feb2e148ec9da60fee7d";
    const SECP_PUB_PB: &str = "08021221037777e994e452c21604f91de093ce415f5432f701dd8cd1a7a6fea0e630bfca99";

    /// An RSA-2048 SubjectPublicKeyInfo made with `openssl genrsa 2048` / `openssl rsa -pubout`.
    /// Its peer id was computed with Python's hashlib over `08 00 12 a6 02 ‖ DER`.
    pub(crate) const RSA_SPKI: &str = concat!(
        "30820122300d06092a864886f70d01010105000382010f003082010a0282010100c69fed0f923ff4e7857b50c1",
        "7fad2b14b455394d8a5b1d498a222544977dd6f2c7230f469dc3e7a3c027a8b45474629c7a71fdbeb4a918c9c2",
        "7058367453061c34d3f2128e6a08f6ded2938b59314abb5700d320eb6a89aab1ee48d1e6831d83e381c64c75d4",
        "57d02b3835b6726955e9eeb5e4b6e8185bfe3cf9f80871f905b9ef92962f9ff70b9ce3a894eaba66ce4731def4",
        "cfe1249eaa0441b1d00be5232a656708a803269bacbad032d7ab8fc006847328d568f93ebad07c45b80af2c73d",
        "f1d8d79fad68a0934f32ebf25718b22a955d98d8cba35bb1b047f8c0d15fafcc6a8d498d6b72eec0049642cb40",
        "37df902da04b041301265d8d7dbdbcce3e2a850203010001"
    );
    const RSA_PEER: &str = "QmcGz2oinAvLzeQvHBgsFfD7nHoPna5Mnr7SqApsmWiQ6h";

    #[test]
    fn ed25519_spec_vector() {
        let pb = unhex(ED_PUB_PB);
        let key = PublicKey::decode(&pb).unwrap();
        let id = Identity::from_seed(unhex(ED_SEED).try_into().unwrap());
        assert_eq!(key, PublicKey::Ed25519(id.public_key()));
        assert_eq!(key.encode(), pb);
        assert_eq!(key.peer_id().to_text(), "12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq");
        let sig = id.sign(b"hello");
        assert!(key.verify(b"hello", &sig, &NoRsa));
        assert!(!key.verify(b"hellO", &sig, &NoRsa));
        assert!(!key.verify(b"hello", &sig[..63], &NoRsa));
    }

    #[test]
    fn secp256k1_spec_vector_is_inlined() {
        let pb = unhex(SECP_PUB_PB);
        let key = PublicKey::decode(&pb).unwrap();
        assert!(matches!(key, PublicKey::Secp256k1(ref k) if k.len() == 33));
        assert_eq!(key.encode(), pb);
        assert_eq!(key.peer_id().to_text(), "16Uiu2HAmLhLvBoYaoZfaMUKuibM6ac163GwKY74c5kiSLg5KvLpY");
        assert!(!key.verify(b"x", &[0; 64], &NoRsa));
    }

    #[test]
    fn rsa_2048_framing_and_hashed_id() {
        let der = unhex(RSA_SPKI);
        assert_eq!(der.len(), 294);
        let mut pb = unhex("080012a602");
        pb.extend_from_slice(&der);
        assert_eq!(pb.len(), 299);
        let key = PublicKey::decode(&pb).unwrap();
        assert_eq!(key, PublicKey::Rsa(der.clone()));
        assert_eq!(key.encode(), pb);
        let id = key.peer_id();
        assert_eq!(&id.as_bytes()[..2], [0x12, 0x20]);
        assert_eq!(id.to_text(), RSA_PEER);

        struct Yes;
        impl RsaVerifier for Yes {
            fn verify_pkcs1_sha256(&self, spki: &[u8], msg: &[u8], sig: &[u8]) -> bool {
                spki.len() == 294 && msg == b"m" && sig == b"s"
            }
        }
        assert!(key.verify(b"m", b"s", &Yes), "RSA goes to the verifier with the DER");
        assert!(!key.verify(b"m", b"s", &NoRsa));
    }

    #[test]
    fn refuses_bad_keys() {
        // Field order does not matter; unknown fields are skipped.
        let mut pb = unhex("1220");
        pb.extend_from_slice(&[7; 32]);
        pb.extend_from_slice(&unhex("08011801"));
        assert_eq!(PublicKey::decode(&pb).unwrap(), PublicKey::Ed25519([7; 32]));
        assert_eq!(PublicKey::decode(&unhex("0801")), Err(KeyError::Missing("Data")));
        assert_eq!(PublicKey::decode(&unhex("120100")), Err(KeyError::Missing("Type")));
        assert_eq!(PublicKey::decode(&unhex("08041200")), Err(KeyError::UnknownType(4)));
        assert!(matches!(PublicKey::decode(&unhex("0801120300aabb")), Err(KeyError::Length { .. })));
        assert!(matches!(PublicKey::decode(&unhex("08001200")), Err(KeyError::Length { .. })));
        assert!(matches!(PublicKey::decode(&unhex("0802120100")), Err(KeyError::Length { .. })));
        assert!(matches!(PublicKey::decode(&unhex("0801122001")), Err(KeyError::Pb(_))));
        // An RSA key over the 8192-bit size is refused before anything looks at it.
        let mut big = unhex("080012cd08");
        big.extend_from_slice(&[0; 1101]);
        assert_eq!(PublicKey::decode(&big), Err(KeyError::Length { key_type: "RSA", len: 1101 }));
        assert_eq!(KeyError::UnknownType(9).to_string(), "public key: unsupported key type 9");
    }
}
