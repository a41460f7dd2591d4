//! The session ciphers from `ring` (hand-written assembly with runtime CPU dispatch):
//! ChaCha20-Poly1305 about 2×, AES-256-GCM about 7× the speed of the built-in RustCrypto ones on
//! an x86 with AES-NI (BENCHMARKS.md). The core calls them through `CipherProvider`; the bytes on
//! the wire are Noise's either way (nonces as the Noise spec lays them out per cipher), which
//! the tests check against the built-in implementations.

use proto_core::session::{Cipher, CipherProvider, Ciphers, NoiseError, Suite};
use ring::aead::{Aad, LessSafeKey, Nonce, Tag, UnboundKey, AES_256_GCM, CHACHA20_POLY1305};
use std::sync::Arc;

const TAG: usize = 16;

struct RingCipher {
    suite: Suite,
    key: LessSafeKey,
}

impl RingCipher {
    fn new(suite: Suite) -> Self {
        RingCipher { suite, key: Self::key(suite, &[0; 32]) }
    }

    fn key(suite: Suite, key: &[u8; 32]) -> LessSafeKey {
        let alg = match suite {
            Suite::ChaChaPoly => &CHACHA20_POLY1305,
            Suite::AesGcm => &AES_256_GCM,
        };
        LessSafeKey::new(UnboundKey::new(alg, key).expect("a 32-byte key fits both ciphers"))
    }

    /// Noise's nonce: four zero bytes, then the counter — little-endian for ChaChaPoly,
    /// big-endian for AESGCM.
    fn nonce(&self, n: u64) -> Nonce {
        let mut b = [0u8; 12];
        match self.suite {
            Suite::ChaChaPoly => b[4..].copy_from_slice(&n.to_le_bytes()),
            Suite::AesGcm => b[4..].copy_from_slice(&n.to_be_bytes()),
        }
        Nonce::assume_unique_for_key(b)
    }
}

impl Cipher for RingCipher {
    fn name(&self) -> &'static str {
        match self.suite {
            Suite::ChaChaPoly => "ChaChaPoly",
            Suite::AesGcm => "AESGCM",
        }
    }

    fn set(&mut self, key: &[u8; 32]) {
        self.key = Self::key(self.suite, key);
    }

    fn encrypt(&self, nonce: u64, authtext: &[u8], plaintext: &[u8], out: &mut [u8]) -> usize {
        let n = plaintext.len();
        out[..n].copy_from_slice(plaintext);
        let tag = self
            .key
            .seal_in_place_separate_tag(self.nonce(nonce), Aad::from(authtext), &mut out[..n])
            .expect("sealing a message under the size limit cannot fail");
        out[n..n + TAG].copy_from_slice(tag.as_ref());
        n + TAG
    }

    fn decrypt(&self, nonce: u64, authtext: &[u8], ciphertext: &[u8], out: &mut [u8]) -> Result<usize, NoiseError> {
        let n = ciphertext.len().checked_sub(TAG).ok_or(NoiseError::Decrypt)?;
        let tag: [u8; TAG] = ciphertext[n..].try_into().map_err(|_| NoiseError::Decrypt)?;
        let out = out.get_mut(..n).ok_or(NoiseError::Decrypt)?;
        out.copy_from_slice(&ciphertext[..n]);
        self.key
            .open_in_place_separate_tag(self.nonce(nonce), Aad::from(authtext), Tag::from(tag), out, 0..)
            .map_err(|_| NoiseError::Decrypt)?;
        Ok(n)
    }
}

struct Ring;

impl CipherProvider for Ring {
    fn cipher(&self, suite: Suite) -> Option<Box<dyn Cipher>> {
        Some(Box::new(RingCipher::new(suite)))
    }
}

/// The fast implementations, for `proto_core::node::Config::ciphers`.
pub fn ring_ciphers() -> Ciphers {
    Ciphers(Some(Arc::new(Ring)))
}

/// Whether this CPU has AES instructions (with carry-less multiply, for GCM): then AES-GCM is
/// the faster session cipher; without them ChaCha20-Poly1305 is.
pub fn hardware_aes() -> bool {
    #[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
    {
        std::arch::is_x86_feature_detected!("aes") && std::arch::is_x86_feature_detected!("pclmulqdq")
    }
    #[cfg(target_arch = "aarch64")]
    {
        std::arch::is_aarch64_feature_detected!("aes") && std::arch::is_aarch64_feature_detected!("pmull")
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "x86", target_arch = "aarch64")))]
    {
        false
    }
}

/// Sets a node's session cipher for this CPU and the fast implementations.
pub fn tune(cfg: &mut proto_core::node::Config) {
    cfg.cipher = if hardware_aes() { Suite::AesGcm } else { Suite::ChaChaPoly };
    cfg.ciphers = ring_ciphers();
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto_core::identity::Identity;
    use proto_core::rng::Seed;
    use proto_core::session::Session;

    /// A session with ring on one side and the built-in ciphers on the other: they agree.
    #[test]
    fn ring_and_builtin_ciphers_interoperate() {
        let (a, b) = (Identity::from_seed([1; 32]), Identity::from_seed([2; 32]));
        for suite in [Suite::ChaChaPoly, Suite::AesGcm] {
            for (ci, cr) in [(ring_ciphers(), Ciphers::default()), (Ciphers::default(), ring_ciphers())] {
                let (mut i, m1) = Session::initiator(&a, Seed::from_u64(1), None, suite, &ci).unwrap();
                let mut r = Session::responder(&b, Seed::from_u64(2), &cr).unwrap();
                let m2 = r.read_handshake(&m1).unwrap().unwrap();
                let m3 = i.read_handshake(&m2).unwrap().unwrap();
                assert!(r.read_handshake(&m3).unwrap().is_none());
                let big: Vec<u8> = (0..300_000u32).map(|x| (x * 31) as u8).collect();
                assert_eq!(r.decrypt(&i.encrypt(&big).unwrap()).unwrap(), big, "{suite:?}");
                assert_eq!(i.decrypt(&r.encrypt(b"back").unwrap()).unwrap(), b"back");
                let mut bad = i.encrypt(b"hello").unwrap();
                let last = bad.len() - 1;
                bad[last] ^= 1;
                assert!(r.decrypt(&bad).is_err(), "tampering is detected ({suite:?})");
            }
        }
    }
}
