//! Deterministic randomness: a 32-byte seed, sub-streams derived by label (house style §17.2),
//! and a small PRNG (xoshiro256**) so no random crate type crosses the API.

use sha2::{Digest, Sha256};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seed(pub [u8; 32]);

impl Seed {
    /// An independent seed for a component, so its draws never shift another's.
    pub fn derive(&self, label: &str) -> Seed {
        let mut h = Sha256::new();
        h.update(self.0);
        h.update(label.as_bytes());
        Seed(h.finalize().into())
    }

    /// The seed from a small integer (the simulator's run seeds).
    pub fn from_u64(n: u64) -> Seed {
        Seed(Sha256::digest(n.to_le_bytes()).into())
    }

    pub fn rng(&self) -> Rng {
        Rng::new(*self)
    }
}

/// xoshiro256** seeded from a `Seed`.
#[derive(Clone, Debug)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    pub fn new(seed: Seed) -> Self {
        let mut s = [0u64; 4];
        for (i, w) in s.iter_mut().enumerate() {
            *w = u64::from_le_bytes(seed.0[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
        }
        if s == [0; 4] {
            s[0] = 1; // the all-zero state is a fixed point
        }
        Rng { s }
    }

    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in `0..n` (n > 0), without modulo bias worth mentioning for n ≪ 2^64.
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "below(0)");
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    /// True with probability `p` (0.0..=1.0).
    pub fn chance(&mut self, p: f64) -> bool {
        ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < p
    }

    pub fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        for chunk in out.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_independent() {
        let s = Seed::from_u64(7);
        let a: Vec<u64> = (0..4)
            .map({
                let mut r = s.derive("dht").rng();
                move |_| r.next_u64()
            })
            .collect();
        let mut r = s.derive("dht").rng();
        assert_eq!(a, (0..4).map(|_| r.next_u64()).collect::<Vec<_>>());
        assert_ne!(s.derive("dht").rng().next_u64(), s.derive("mimei").rng().next_u64());
        let mut r = s.rng();
        assert!((0..1000).all(|_| r.below(10) < 10));
    }
}
