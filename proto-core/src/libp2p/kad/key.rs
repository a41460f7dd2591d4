//! The kad key space: 256-bit points, `sha256(bytes)` of a peer id's multihash, a provider's
//! multihash or a record key; XOR distance; k-bucket index = common prefix length with our own
//! key (kubo's `CommonPrefixLen`).

use sha2::{Digest, Sha256};
use std::fmt;

/// A point in the key space.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key(pub [u8; 32]);

/// XOR distance; orders like an unsigned 256-bit integer.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Distance(pub [u8; 32]);

impl Key {
    /// The key of any bytes: their SHA-256.
    pub fn of(bytes: &[u8]) -> Key {
        Key(Sha256::digest(bytes).into())
    }

    pub fn distance(&self, other: &Key) -> Distance {
        let mut d = [0u8; 32];
        for (i, b) in d.iter_mut().enumerate() {
            *b = self.0[i] ^ other.0[i];
        }
        Distance(d)
    }

    /// Leading bits `self` and `other` share (256 for the same key).
    pub fn common_prefix_len(&self, other: &Key) -> usize {
        self.distance(other).leading_zeros()
    }

    /// The k-bucket of `other` in a table centred on `self`: its common prefix length (0 for
    /// the farthest half); `None` for `self` itself.
    pub fn bucket_of(&self, other: &Key) -> Option<usize> {
        let cpl = self.common_prefix_len(other);
        (cpl < 256).then_some(cpl)
    }
}

impl Distance {
    pub fn leading_zeros(&self) -> usize {
        crate::dht::key::leading_zero_bits(&self.0)
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key(")?;
        for b in &self.0[..6] {
            write!(f, "{b:02x}")?;
        }
        write!(f, "…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_keys_and_buckets() {
        // SHA-256("") and SHA-256("abc"), the FIPS 180-2 vectors.
        assert_eq!(Key::of(b"").0[..4], [0xe3, 0xb0, 0xc4, 0x42]);
        assert_eq!(Key::of(b"abc").0[..4], [0xba, 0x78, 0x16, 0xbf]);
        let me = Key([0x55; 32]);
        assert_eq!(me.bucket_of(&me), None);
        let mut far = me.0;
        far[0] ^= 0x80;
        assert_eq!(me.bucket_of(&Key(far)), Some(0));
        let mut near = me.0;
        near[31] ^= 1;
        assert_eq!(me.bucket_of(&Key(near)), Some(255));
        let mut mid = me.0;
        mid[1] ^= 0x10; // first difference at bit 8 + 3
        assert_eq!(me.common_prefix_len(&Key(mid)), 11);
        assert!(me.distance(&Key(near)) < me.distance(&Key(mid)));
    }
}
