//! Signed records on the DHT (MiMei heads are one kind): the key belongs to the author's key and
//! a salt, the signature covers everything, and selection follows IPNS — highest version, then
//! later EOL, then bytes.

use super::delegation::{Delegation, DelegationError};
use super::key::Key;
use crate::identity::{self, Identity};
use minicbor::{Decode, Encode};
use sha2::{Digest, Sha256};
use std::cmp::Ordering;

/// Largest encoded record stored or served (IPNS's limit).
pub const MAX_RECORD: usize = 10 * 1024;

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Record {
    #[n(0)]
    pub key: Key,
    #[cbor(n(1), with = "minicbor::bytes")]
    pub salt: Vec<u8>,
    #[cbor(n(2), with = "minicbor::bytes")]
    pub value: Vec<u8>,
    #[n(3)]
    pub version: u64,
    /// End of life, wall-clock milliseconds since 1970.
    #[n(4)]
    pub eol: u64,
    #[cbor(n(5), with = "minicbor::bytes")]
    pub author: [u8; 32],
    /// Signed by the author's key, or — with a delegation — by the node it names.
    #[cbor(n(6), with = "minicbor::bytes")]
    pub sig: [u8; 64],
    /// The author's delegation to the node that signed (absent when the author signed).
    #[n(7)]
    pub delegation: Option<Box<Delegation>>,
}

/// The key of the record an author publishes under `salt`.
pub fn record_key(author: &[u8; 32], salt: &[u8]) -> Key {
    let mut h = Sha256::new();
    h.update(b"leither-record-key\0");
    h.update(author);
    h.update(salt);
    let d = h.finalize();
    let mut k = [0u8; 20];
    k.copy_from_slice(&d[..20]);
    Key(k)
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordError {
    TooLarge(usize),
    WrongKey,
    BadSignature,
    Expired,
    Delegation(DelegationError),
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RecordError::TooLarge(n) => write!(f, "record of {n} bytes is over the {MAX_RECORD}-byte limit"),
            RecordError::WrongKey => write!(f, "record key does not belong to its author and salt"),
            RecordError::BadSignature => write!(f, "record signature does not verify"),
            RecordError::Expired => write!(f, "record is past its end of life"),
            RecordError::Delegation(e) => write!(f, "record signed for its author by another key: {e}"),
        }
    }
}

impl Record {
    fn signed_bytes(&self) -> Vec<u8> {
        let mut e = minicbor::Encoder::new(Vec::new());
        // Writing to a Vec cannot fail.
        let _ = e
            .str("leither-record-v1")
            .and_then(|e| e.bytes(&self.key.0))
            .and_then(|e| e.bytes(&self.salt))
            .and_then(|e| e.bytes(&self.value))
            .and_then(|e| e.u64(self.version))
            .and_then(|e| e.u64(self.eol));
        e.into_writer()
    }

    /// A record signed by `author`.
    pub fn sign(author: &Identity, salt: &[u8], value: Vec<u8>, version: u64, eol: u64) -> Record {
        let pk = author.public_key();
        let (key, salt) = (record_key(&pk, salt), salt.to_vec());
        let mut r = Record { key, salt, value, version, eol, author: pk, sig: [0; 64], delegation: None };
        r.sig = author.sign(&r.signed_bytes());
        r
    }

    /// A record of `delegation.user`'s, signed by `node` (the node the delegation names).
    pub fn sign_delegated(
        node: &Identity,
        delegation: Delegation,
        salt: &[u8],
        value: Vec<u8>,
        version: u64,
        eol: u64,
    ) -> Record {
        let author = delegation.user;
        let (key, salt) = (record_key(&author, salt), salt.to_vec());
        let mut r =
            Record { key, salt, value, version, eol, author, sig: [0; 64], delegation: Some(Box::new(delegation)) };
        r.sig = node.sign(&r.signed_bytes());
        r
    }

    pub fn encoded_len(&self) -> usize {
        minicbor::to_vec(self).map_or(usize::MAX, |v| v.len())
    }

    /// Checks size, key ownership, signature and EOL against `now_unix` (ms).
    pub fn verify(&self, now_unix: u64) -> Result<(), RecordError> {
        let n = self.encoded_len();
        if n > MAX_RECORD {
            return Err(RecordError::TooLarge(n));
        }
        if record_key(&self.author, &self.salt) != self.key {
            return Err(RecordError::WrongKey);
        }
        if self.eol <= now_unix {
            return Err(RecordError::Expired);
        }
        let signer = match &self.delegation {
            None => self.author,
            Some(d) => {
                d.verify_for(&self.author, &d.node, now_unix).map_err(RecordError::Delegation)?;
                d.node
            }
        };
        if !identity::verify(&signer, &self.signed_bytes(), &self.sig) {
            return Err(RecordError::BadSignature);
        }
        Ok(())
    }

    /// Which of two valid records for one key wins: highest version, then later EOL, then bytes.
    pub fn better_than(&self, other: &Record) -> bool {
        (self.version, self.eol)
            .cmp(&(other.version, other.eol))
            .then_with(|| minicbor::to_vec(self).ok().cmp(&minicbor::to_vec(other).ok()))
            == Ordering::Greater
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_select() {
        let a = Identity::from_seed([1; 32]);
        let r1 = Record::sign(&a, b"mimei/x", b"v1".to_vec(), 1, 1_000);
        assert_eq!(r1.verify(500), Ok(()));
        assert_eq!(r1.verify(1_000), Err(RecordError::Expired));
        let r2 = Record::sign(&a, b"mimei/x", b"v2".to_vec(), 2, 900);
        assert!(r2.better_than(&r1) && !r1.better_than(&r2));
        let mut forged = r2.clone();
        forged.value = b"evil".to_vec();
        assert_eq!(forged.verify(0), Err(RecordError::BadSignature));
        let b = Identity::from_seed([2; 32]);
        let mut stolen = Record::sign(&b, b"mimei/x", b"v9".to_vec(), 9, 1_000);
        stolen.key = r1.key; // claims a's key
        assert_eq!(stolen.verify(0), Err(RecordError::WrongKey));
        let bytes = minicbor::to_vec(&r1).unwrap();
        assert_eq!(minicbor::decode::<Record>(&bytes).unwrap(), r1);
    }

    #[test]
    fn a_node_signs_for_a_user_only_with_the_users_delegation() {
        let (user, node, other) =
            (Identity::from_seed([1; 32]), Identity::from_seed([2; 32]), Identity::from_seed([3; 32]));
        let d = Delegation::sign(&user, &node.public_key(), 1_000, 10_000);
        let r = Record::sign_delegated(&node, d.clone(), b"mimei/x", b"v".to_vec(), 1, 50_000);
        assert_eq!(r.key, record_key(&user.public_key(), b"mimei/x"), "the key is the user's");
        assert_eq!(r.verify(5_000), Ok(()));
        // Past the delegation's end the record is refused, though its EOL is later.
        assert_eq!(r.verify(10_000), Err(RecordError::Delegation(DelegationError::Expired(10_000))));
        // Another node cannot use the delegation; a delegation the user never signed is refused.
        let stolen = Record::sign_delegated(&other, d.clone(), b"mimei/x", b"evil".to_vec(), 2, 50_000);
        assert_eq!(stolen.verify(5_000), Err(RecordError::BadSignature));
        let forged = Delegation::sign(&other, &other.public_key(), 1_000, 10_000);
        let forged = Delegation { user: user.public_key(), ..forged };
        let r2 = Record::sign_delegated(&other, forged, b"mimei/x", b"evil".to_vec(), 2, 50_000);
        assert_eq!(r2.verify(5_000), Err(RecordError::Delegation(DelegationError::Forged)));
        // Without its delegation, the node's signature is not the author's.
        let bare = Record { delegation: None, ..r.clone() };
        assert_eq!(bare.verify(5_000), Err(RecordError::BadSignature));
        // Records without a delegation keep their old bytes.
        let plain = Record::sign(&user, b"k", b"v".to_vec(), 1, 9);
        let bytes = minicbor::to_vec(&plain).unwrap();
        assert_eq!(minicbor::decode::<Record>(&bytes).unwrap(), plain);
        assert_eq!(minicbor::decode::<Record>(&minicbor::to_vec(&r).unwrap()).unwrap(), r);
    }
}
