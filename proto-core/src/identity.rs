//! A node's ed25519 key pair and the id derived from it. The key is made from 32 seed bytes
//! that the driver supplies (OS entropy in a runtime, the run seed in the simulator).

use crate::id::NodeId;
use ed25519_compact::{KeyPair, PublicKey, Seed, Signature};
use sha2::{Digest, Sha256};

pub struct Identity {
    keys: KeyPair,
}

impl Identity {
    /// Derives the key pair from 32 bytes of seed material.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        Identity { keys: KeyPair::from_seed(Seed::new(seed)) }
    }

    /// The 32-byte seed, which is what the repo stores as the private key.
    pub fn seed(&self) -> [u8; 32] {
        *self.keys.sk.seed()
    }

    pub fn public_key(&self) -> [u8; 32] {
        *self.keys.pk
    }

    pub fn node_id(&self) -> NodeId {
        node_id_of(&self.public_key())
    }

    /// Deterministic ed25519 signature (no added noise).
    pub fn sign(&self, msg: &[u8]) -> [u8; 64] {
        *self.keys.sk.sign(msg, None)
    }
}

/// First 20 bytes of SHA-256 of the public key.
pub fn node_id_of(public_key: &[u8; 32]) -> NodeId {
    let digest = Sha256::digest(public_key);
    let mut id = [0u8; 20];
    id.copy_from_slice(&digest[..20]);
    NodeId(id)
}

/// Checks an ed25519 signature; false on any malformed input.
pub fn verify(public_key: &[u8; 32], msg: &[u8], sig: &[u8; 64]) -> bool {
    PublicKey::new(*public_key).verify(msg, &Signature::new(*sig)).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc8032_test_1_and_id() {
        // RFC 8032 §7.1 TEST 1.
        let seed: [u8; 32] = hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
        let id = Identity::from_seed(seed);
        assert_eq!(id.public_key(), hex::<32>("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"));
        let sig = id.sign(b"");
        assert_eq!(&sig[..8], &hex::<8>("e5564300c360ac72"));
        assert!(verify(&id.public_key(), b"", &sig));
        assert!(!verify(&id.public_key(), b"x", &sig));
        let digest = Sha256::digest(id.public_key());
        assert_eq!(id.node_id().0, digest[..20]);
        assert_eq!(id.node_id().to_string().len(), 27);
    }

    fn hex<const N: usize>(s: &str) -> [u8; N] {
        let mut out = [0u8; N];
        for (i, o) in out.iter_mut().enumerate() {
            *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
        }
        out
    }
}
