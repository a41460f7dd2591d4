//! Value records a server keeps for `GET_VALUE`: `/pk/<peer id>` (the value must be the public
//! key protobuf whose peer id is the one in the key) and `/ipns/<peer id>` (a signed IPNS record
//! of that name, `super::ipns`; a put with a lower sequence than the stored one is refused).
//! Other namespaces are refused, as kubo's validator does. Bounded in count and value size; a record
//! is dropped `max_record_age_ms` after it was stored.

use super::msg::Record;
use crate::libp2p::keys::RsaVerifier;
use crate::libp2p::PeerId;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordError {
    /// Not a `/pk/` or `/ipns/` key followed by a peer id.
    Namespace,
    /// The `/pk/` value is not the key of the peer id in the record key.
    KeyMismatch,
    TooLarge,
    /// The message key and the record key differ.
    WrongKey,
    /// An `/ipns/` value that is not a valid IPNS record of its name.
    Ipns(&'static str),
    /// An `/ipns/` record older (lower sequence) than the one stored.
    Older,
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RecordError::Namespace => "record key is not /pk/<peer id> or /ipns/<peer id>",
            RecordError::KeyMismatch => "the public key does not hash to the peer id of the record key",
            RecordError::TooLarge => "record value too large",
            RecordError::WrongKey => "record key differs from the message key",
            RecordError::Ipns(why) => why,
            RecordError::Older => "an IPNS record with a higher sequence is stored",
        })
    }
}

/// The peer id of a serialized public key protobuf (libp2p's rule: inlined up to 42 bytes).
fn peer_id_of_key(pb: &[u8]) -> Vec<u8> {
    if pb.len() <= 42 {
        let mut v = vec![0x00, pb.len() as u8];
        v.extend_from_slice(pb);
        v
    } else {
        let mut v = vec![0x12, 0x20];
        v.extend_from_slice(&Sha256::digest(pb));
        v
    }
}

/// Checks a record against its namespace's rules and the size limit.
pub fn validate(r: &Record, max_size: usize, rsa: &dyn RsaVerifier) -> Result<(), RecordError> {
    if r.value.len() > max_size || r.key.len() > 256 {
        return Err(RecordError::TooLarge);
    }
    if let Some(id) = r.key.strip_prefix(b"/pk/") {
        PeerId::from_bytes(id).map_err(|_| RecordError::Namespace)?;
        if peer_id_of_key(&r.value) != id {
            return Err(RecordError::KeyMismatch);
        }
        return Ok(());
    }
    if let Some(id) = r.key.strip_prefix(b"/ipns/") {
        PeerId::from_bytes(id).map_err(|_| RecordError::Namespace)?;
        super::ipns::validate(id, &r.value, rsa).map_err(RecordError::Ipns)?;
        return Ok(());
    }
    Err(RecordError::Namespace)
}

fn sequence(r: &Record) -> u64 {
    super::ipns::sequence(&r.value)
}

pub(super) struct Records {
    max: usize,
    by_key: BTreeMap<Vec<u8>, (Record, u64)>,
}

impl Records {
    pub(super) fn new(max: usize) -> Self {
        Records { max, by_key: BTreeMap::new() }
    }

    /// Stores a validated record until `expires_ms`; false when full or when it is an IPNS
    /// record older than the stored one.
    pub(super) fn put(&mut self, r: Record, expires_ms: u64) -> bool {
        if let Some((old, _)) = self.by_key.get(&r.key) {
            if r.key.starts_with(b"/ipns/") && sequence(old) > sequence(&r) {
                return false;
            }
        } else if self.by_key.len() >= self.max {
            return false;
        }
        self.by_key.insert(r.key.clone(), (r, expires_ms));
        true
    }

    pub(super) fn get(&self, key: &[u8], now_ms: u64) -> Option<&Record> {
        self.by_key.get(key).filter(|(_, exp)| *exp > now_ms).map(|(r, _)| r)
    }

    pub(super) fn expire(&mut self, now_ms: u64) {
        self.by_key.retain(|_, (_, exp)| *exp > now_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::libp2p::keys::NoRsa;

    #[test]
    fn pk_records_must_hash_to_their_key() {
        // An ed25519 PublicKey protobuf (08 01 12 20 ‖ 32 bytes) is inlined: id 00 24 ‖ pb.
        let mut pb = vec![0x08, 0x01, 0x12, 0x20];
        pb.extend([7u8; 32]);
        let id = PeerId::from_ed25519(&[7u8; 32]);
        let good = Record { key: [&b"/pk/"[..], id.as_bytes()].concat(), value: pb.clone(), ..Record::default() };
        assert_eq!(validate(&good, 1024, &NoRsa), Ok(()));
        let other = PeerId::from_ed25519(&[8u8; 32]);
        let bad = Record { key: [&b"/pk/"[..], other.as_bytes()].concat(), value: pb, ..Record::default() };
        assert_eq!(validate(&bad, 1024, &NoRsa), Err(RecordError::KeyMismatch));
        // An RSA-sized key (over 42 bytes) is hashed: 12 20 ‖ sha256(pb).
        let long = vec![0x08, 0x00, 0x12, 0x40].into_iter().chain([1u8; 64]).collect::<Vec<u8>>();
        let id = [&[0x12, 0x20][..], &Sha256::digest(&long)].concat();
        let rsa = Record { key: [&b"/pk/"[..], &id].concat(), value: long, ..Record::default() };
        assert_eq!(validate(&rsa, 1024, &NoRsa), Ok(()));
        assert_eq!(validate(&rsa, 10, &NoRsa), Err(RecordError::TooLarge));
        let v = Record { key: b"/v/x".to_vec(), ..Record::default() };
        assert_eq!(validate(&v, 1024, &NoRsa), Err(RecordError::Namespace));
        let ipns = Record { key: [&b"/ipns/"[..], other.as_bytes()].concat(), value: vec![1], ..Record::default() };
        assert_eq!(validate(&ipns, 1024, &NoRsa), Err(RecordError::Ipns("the IPNS record is not a protobuf")));
    }

    #[test]
    fn bounded_and_expiring() {
        let mut s = Records::new(1);
        let r = |k: &[u8]| Record { key: k.to_vec(), ..Record::default() };
        assert!(s.put(r(b"a"), 10));
        assert!(!s.put(r(b"b"), 10));
        assert!(s.put(r(b"a"), 20), "replacing is fine");
        assert!(s.get(b"a", 19).is_some() && s.get(b"a", 20).is_none());
        s.expire(20);
        assert!(s.put(r(b"b"), 10));
    }
}
