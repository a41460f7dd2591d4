//! Signed records on the DHT (MiMei heads are one kind): the key belongs to the author's key and
//! a salt, the signature covers everything, and selection follows IPNS — highest version, then
//! later EOL, then bytes.

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
    #[cbor(n(6), with = "minicbor::bytes")]
    pub sig: [u8; 64],
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
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RecordError::TooLarge(n) => write!(f, "record of {n} bytes is over the {MAX_RECORD}-byte limit"),
            RecordError::WrongKey => write!(f, "record key does not belong to its author and salt"),
            RecordError::BadSignature => write!(f, "record signature does not verify"),
            RecordError::Expired => write!(f, "record is past its end of life"),
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
        let mut r =
            Record { key: record_key(&pk, salt), salt: salt.to_vec(), value, version, eol, author: pk, sig: [0; 64] };
        r.sig = author.sign(&r.signed_bytes());
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
        if !identity::verify(&self.author, &self.signed_bytes(), &self.sig) {
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
}
