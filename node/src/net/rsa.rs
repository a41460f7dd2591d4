//! RSA signature checks for libp2p peers with RSA identities (kubo's older repos and many
//! public bootstrap peers): RSASSA-PKCS1-v1_5 over SHA-256 with 2048- to 8192-bit keys, what
//! go-libp2p accepts. The core asks through `proto_core::libp2p::keys::RsaVerifier`; hand it
//! [`RingRsa`].
//!
//! libp2p sends RSA keys as a PKIX SubjectPublicKeyInfo; ring wants the PKCS#1 `RSAPublicKey`
//! inside it, which a small strict DER reader takes out (definite minimal lengths, the
//! rsaEncryption algorithm, nothing trailing).

use proto_core::libp2p::keys::RsaVerifier;
use ring::signature::{UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256};

/// `RsaVerifier` with ring.
#[derive(Clone, Copy, Debug, Default)]
pub struct RingRsa;

impl RsaVerifier for RingRsa {
    fn verify_pkcs1_sha256(&self, spki_der: &[u8], msg: &[u8], sig: &[u8]) -> bool {
        match rsa_public_key(spki_der) {
            Some(pkcs1) => UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, pkcs1).verify(msg, sig).is_ok(),
            None => false,
        }
    }
}

const SEQUENCE: u8 = 0x30;
const OID: u8 = 0x06;
const NULL: u8 = 0x05;
const BIT_STRING: u8 = 0x03;
/// 1.2.840.113549.1.1.1, rsaEncryption.
const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];

/// One DER element at the front of `b`: its contents and what follows it. Lengths must be
/// definite and minimal, and at most 65535 (an 8192-bit key's SPKI is about 1060 bytes).
fn element(b: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&t, rest) = b.split_first()?;
    let (&l, rest) = rest.split_first()?;
    if t != tag {
        return None;
    }
    let (len, rest) = match l {
        0..=0x7f => (usize::from(l), rest),
        0x81 => match rest.split_first()? {
            (&n, rest) if n >= 0x80 => (usize::from(n), rest),
            _ => return None,
        },
        0x82 => match rest {
            [hi, lo, rest @ ..] if *hi != 0 => (usize::from(u16::from_be_bytes([*hi, *lo])), rest),
            _ => return None,
        },
        _ => return None,
    };
    (rest.len() >= len).then(|| rest.split_at(len))
}

/// The PKCS#1 `RSAPublicKey` inside a SubjectPublicKeyInfo of an rsaEncryption key.
fn rsa_public_key(spki: &[u8]) -> Option<&[u8]> {
    let (info, trailing) = element(spki, SEQUENCE)?;
    if !trailing.is_empty() {
        return None;
    }
    let (algorithm, rest) = element(info, SEQUENCE)?;
    let (oid, params) = element(algorithm, OID)?;
    // The parameters are NULL (RFC 3279); some encoders leave them out.
    if oid != RSA_ENCRYPTION || !(params.is_empty() || params == [NULL, 0]) {
        return None;
    }
    let (bits, trailing) = element(rest, BIT_STRING)?;
    if !trailing.is_empty() {
        return None;
    }
    match bits.split_first()? {
        (0, key) => Some(key),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto_core::libp2p::keys::PublicKey;

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    // Made once with `openssl genrsa 2048` (and 1024), `openssl rsa -pubout -outform DER`, and
    // `openssl dgst -sha256 -sign` over MSG.
    const MSG: &[u8] = b"noise-libp2p-static-key:test message";
    const SPKI_2048: &str = concat!(
        "30820122300d06092a864886f70d01010105000382010f003082010a0282010100c69fed0f923ff4e7857b50c1",
        "7fad2b14b455394d8a5b1d498a222544977dd6f2c7230f469dc3e7a3c027a8b45474629c7a71fdbeb4a918c9c2",
        "7058367453061c34d3f2128e6a08f6ded2938b59314abb5700d320eb6a89aab1ee48d1e6831d83e381c64c75d4",
        "57d02b3835b6726955e9eeb5e4b6e8185bfe3cf9f80871f905b9ef92962f9ff70b9ce3a894eaba66ce4731def4",
        "cfe1249eaa0441b1d00be5232a656708a803269bacbad032d7ab8fc006847328d568f93ebad07c45b80af2c73d",
        "f1d8d79fad68a0934f32ebf25718b22a955d98d8cba35bb1b047f8c0d15fafcc6a8d498d6b72eec0049642cb40",
        "37df902da04b041301265d8d7dbdbcce3e2a850203010001"
    );
    const SIG_2048: &str = concat!(
        "0026c2af9e5ab66de5b9d5981cde4ed3dddf2d435a42602a2b9d251f066754ef2d0be712084e0742e9d54d5b20",
        "e9e3d3775f210c86fee962202d8554cdf975cc4499205adc9f716efb5385431a5fba6d1b0631f19218f4e16dcf",
        "011fbdcdb81ddc37d29af26e2d3f79bcb0e2160b2124c239a4663dacba08a3522c1c03b372ffa60eada15270dd",
        "545fafd93ed1c6ec8a25b5d940fda99ccb6be49ad442efac21e1ab2ddba3a87dfa4d44c395fb5a3b93fcbdade6",
        "ebf1ff5f992c1f62fbc85b2f26cbdc62fa4e95120df3ca34ac0edc5f4ffc33105ea392d300301e901038fa6cd6",
        "90c4e59ad1d630799cec5e6abb9d4429d3f5d94cf460e1c9525534cc2e7516"
    );
    const SPKI_1024: &str = concat!(
        "30819f300d06092a864886f70d010101050003818d0030818902818100ccc35e327ad675a2d4b55918913d0805",
        "5a089ca81438ee05016fb616d9dc5575c881cb6d2d8782fb59fc8a81edbfd1b40aa3d6b7bb287c86dbd3441311",
        "189a6f00e7e43ab2164645cf9cf4968c253f216a399776df4e5412ae55c4c2761b5138bc7193ab118500d9052a",
        "3915c97ff10451e2589784b2892e3ae8693d111e563b0203010001"
    );
    const SIG_1024: &str = concat!(
        "93e3b02ba5ab6e939d6ecd2d90a7922d12d453065f529eac1a2312b3162960c1aa60858ac4b2104cc08a5f412f",
        "4f3b7d457dfaba2c0e7037afa11602f7c938755d9ad8a127653e9049ebf68152bd399cd0db790caf7604b97acb",
        "b5bb2f9fb7428f2f13524da295954c912a335858655b6c5378d464ff14dae93e7eb3267099d0"
    );

    #[test]
    fn verifies_an_openssl_signature() {
        let (spki, sig) = (unhex(SPKI_2048), unhex(SIG_2048));
        assert!(RingRsa.verify_pkcs1_sha256(&spki, MSG, &sig));
        // Through the core's key type, as a Noise payload is checked.
        let key = PublicKey::Rsa(spki.clone());
        assert!(key.verify(MSG, &sig, &RingRsa));
        assert!(!RingRsa.verify_pkcs1_sha256(&spki, b"another message", &sig));
        let mut bad = sig.clone();
        bad[100] ^= 1;
        assert!(!RingRsa.verify_pkcs1_sha256(&spki, MSG, &bad));
        assert!(!RingRsa.verify_pkcs1_sha256(&spki, MSG, &sig[..255]));
    }

    #[test]
    fn unwraps_the_pkcs1_key() {
        // `openssl rsa -RSAPublicKey_out -outform DER` gives 270 bytes, the SPKI's last 270.
        let spki = unhex(SPKI_2048);
        assert_eq!(rsa_public_key(&spki), Some(&spki[24..]));
        assert_eq!(rsa_public_key(&spki).map(<[u8]>::len), Some(270));
    }

    #[test]
    fn refuses_bad_keys() {
        let (spki, sig) = (unhex(SPKI_2048), unhex(SIG_2048));
        assert!(!RingRsa.verify_pkcs1_sha256(&spki[..293], MSG, &sig), "truncated");
        assert!(!RingRsa.verify_pkcs1_sha256(&spki[..10], MSG, &sig));
        assert!(!RingRsa.verify_pkcs1_sha256(&[], MSG, &sig));
        let mut trailing = spki.clone();
        trailing.push(0);
        assert!(!RingRsa.verify_pkcs1_sha256(&trailing, MSG, &sig), "trailing byte");
        let mut other_alg = spki.clone();
        other_alg[14] = 0x05; // …1.1.5 (sha1WithRSAEncryption) instead of rsaEncryption
        assert!(!RingRsa.verify_pkcs1_sha256(&other_alg, MSG, &sig));
        // The PKCS#1 key alone is not a SubjectPublicKeyInfo.
        assert!(!RingRsa.verify_pkcs1_sha256(&spki[24..], MSG, &sig));
        // A valid 1024-bit signature: too small a key for libp2p.
        let (spki, sig) = (unhex(SPKI_1024), unhex(SIG_1024));
        assert!(rsa_public_key(&spki).is_some());
        assert!(!RingRsa.verify_pkcs1_sha256(&spki, MSG, &sig));
        // Non-minimal lengths are refused.
        assert_eq!(element(&[0x30, 0x81, 0x05, 1, 2, 3, 4, 5], SEQUENCE), None);
        assert_eq!(element(&[0x30, 0x82, 0x00, 0x05, 1, 2, 3, 4, 5], SEQUENCE), None);
        assert_eq!(element(&[0x30, 0x80], SEQUENCE), None);
        assert_eq!(element(&[0x30, 0x02, 1, 2, 3], SEQUENCE), Some((&[1u8, 2][..], &[3u8][..])));
    }
}
