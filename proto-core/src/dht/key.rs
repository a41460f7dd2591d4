//! The 160-bit Kademlia key space: node ids, record keys and provider keys share it.

use crate::id::NodeId;
use std::fmt;

/// A point in the key space.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Key(pub [u8; 20]);

/// XOR distance; orders like an unsigned 160-bit integer.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Distance(pub [u8; 20]);

impl Key {
    pub fn distance(&self, other: &Key) -> Distance {
        let mut d = [0u8; 20];
        for (i, b) in d.iter_mut().enumerate() {
            *b = self.0[i] ^ other.0[i];
        }
        Distance(d)
    }

    /// The k-bucket `other` falls into from `self`: 159 for the farthest half, 0 for the nearest.
    /// `None` for `self` itself.
    pub fn bucket_of(&self, other: &Key) -> Option<usize> {
        let d = self.distance(other);
        let zeros = d.leading_zeros();
        if zeros == 160 {
            None
        } else {
            Some(159 - zeros)
        }
    }

    /// A key in bucket `i` of `self`, with the remaining bits from `noise`.
    pub fn random_in_bucket(&self, i: usize, noise: [u8; 20]) -> Key {
        assert!(i < 160);
        let prefix = 159 - i; // bits equal to self before the differing bit
        let mut out = [0u8; 20];
        for bit in 0..160 {
            let byte = bit / 8;
            let mask = 0x80u8 >> (bit % 8);
            let v = if bit < prefix {
                self.0[byte] & mask
            } else if bit == prefix {
                !self.0[byte] & mask
            } else {
                noise[byte] & mask
            };
            out[byte] |= v;
        }
        Key(out)
    }
}

impl Distance {
    pub fn leading_zeros(&self) -> usize {
        leading_zero_bits(&self.0)
    }
}

/// The DHT key of content: SHA-256 of its multihash (not the CID), so CIDv0 and CIDv1 of the
/// same bytes meet at one key, as in the libp2p spec.
pub fn content_key(cid: &crate::cid::Cid) -> Key {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(cid.hash().to_bytes());
    let mut k = [0u8; 20];
    k.copy_from_slice(&d[..20]);
    Key(k)
}

impl From<NodeId> for Key {
    fn from(id: NodeId) -> Key {
        Key(id.0)
    }
}

impl From<Key> for NodeId {
    fn from(k: Key) -> NodeId {
        NodeId(k.0)
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({})", NodeId(self.0))
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        NodeId(self.0).fmt(f)
    }
}

/// Zero bits before the first one bit of a big-endian number (all bits when it is zero): the
/// common prefix length of two ids from their XOR distance, in either key space.
pub fn leading_zero_bits(bytes: &[u8]) -> usize {
    let mut n = 0;
    for b in bytes {
        if *b == 0 {
            n += 8;
        } else {
            return n + b.leading_zeros() as usize;
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_and_random_keys() {
        let me = Key([0x55; 20]);
        assert_eq!(me.bucket_of(&me), None);
        let mut far = me.0;
        far[0] ^= 0x80;
        assert_eq!(me.bucket_of(&Key(far)), Some(159));
        let mut near = me.0;
        near[19] ^= 1;
        assert_eq!(me.bucket_of(&Key(near)), Some(0));
        for i in [0, 1, 7, 8, 100, 159] {
            let k = me.random_in_bucket(i, [0xa7; 20]);
            assert_eq!(me.bucket_of(&k), Some(i), "bucket {i}");
        }
    }
}
