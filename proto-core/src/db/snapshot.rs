//! A DB MiMei version as bytes: the keyspace's entries in key order, length-prefixed. A backup
//! is stored as a UnixFS file of this encoding, so its CID names the version, providers fetch it
//! like any content, and its hash is the version's digest (`mimei sum`).
//!
//! ```text
//! "LTDB" 0x01 { varint(len key) key varint(len value) value }*
//! ```

use crate::varint;

pub const MAGIC: &[u8] = b"LTDB\x01";
/// Longest key or value accepted when decoding (Redis's bulk limit).
pub const MAX_ITEM: u64 = 512 * 1024 * 1024;

pub type Entries = Vec<(Vec<u8>, Vec<u8>)>;

pub fn encode(entries: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    for (k, v) in entries {
        varint::write(&mut out, k.len() as u64);
        out.extend_from_slice(k);
        varint::write(&mut out, v.len() as u64);
        out.extend_from_slice(v);
    }
    out
}

#[derive(Debug, PartialEq)]
pub struct SnapshotError(pub String);

/// Decodes a snapshot; keys must be strictly ascending (so one keyspace has one encoding).
pub fn decode(bytes: &[u8]) -> Result<Entries, SnapshotError> {
    let err = |m: &str| SnapshotError(m.into());
    let mut rest = bytes.strip_prefix(MAGIC).ok_or_else(|| err("not a database snapshot (bad magic)"))?;
    let mut out: Entries = Vec::new();
    let item = |rest: &mut &[u8]| -> Result<Vec<u8>, SnapshotError> {
        let (n, used) = varint::read(rest).ok_or_else(|| err("truncated length"))?;
        if n > MAX_ITEM || n as usize > rest.len() - used {
            return Err(err("item longer than the snapshot"));
        }
        let v = rest[used..used + n as usize].to_vec();
        *rest = &rest[used + n as usize..];
        Ok(v)
    };
    while !rest.is_empty() {
        let k = item(&mut rest)?;
        let v = item(&mut rest)?;
        if out.last().is_some_and(|(p, _)| *p >= k) {
            return Err(err("keys out of order"));
        }
        out.push((k, v));
    }
    Ok(out)
}

/// The digest of a keyspace: SHA-256 of its snapshot encoding, hex.
pub fn digest(entries: &[(Vec<u8>, Vec<u8>)]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(encode(entries)).iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_bad_bytes() {
        let e = vec![(b"a".to_vec(), vec![]), (b"b".to_vec(), vec![7; 300])];
        assert_eq!(decode(&encode(&e)).unwrap(), e);
        assert!(decode(b"LTDB\x02").is_err());
        let mut swapped = encode(&[(b"b".to_vec(), vec![])]);
        swapped.extend_from_slice(&encode(&[(b"a".to_vec(), vec![])])[MAGIC.len()..]);
        assert!(decode(&swapped).is_err());
        let enc = encode(&e);
        assert!(decode(&enc[..enc.len() - 1]).is_err());
        assert_ne!(digest(&e), digest(&e[..1]));
    }
}
