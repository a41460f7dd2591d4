//! Content identifiers (CIDv0 and CIDv1) with sha2-256 or identity multihashes.

use crate::{multibase, varint};
use sha2::{Digest, Sha256};
use std::fmt;

pub const CODEC_RAW: u64 = 0x55;
pub const CODEC_DAG_PB: u64 = 0x70;
pub const CODEC_DAG_CBOR: u64 = 0x71;
pub const HASH_SHA2_256: u64 = 0x12;
pub const HASH_IDENTITY: u64 = 0x00;
/// Longest identity digest we accept (kubo's limit for inlined blocks is 128 bytes).
pub const MAX_IDENTITY_LEN: usize = 128;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Version {
    V0,
    V1,
}

/// A multihash: sha2-256 (32-byte digest) or identity (the data itself, at most 128 bytes).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Multihash {
    code: u64,
    digest: Vec<u8>,
}

impl Multihash {
    pub fn sha2_256(data: &[u8]) -> Self {
        Multihash { code: HASH_SHA2_256, digest: Sha256::digest(data).to_vec() }
    }

    pub fn from_sha2_256_digest(digest: [u8; 32]) -> Self {
        Multihash { code: HASH_SHA2_256, digest: digest.to_vec() }
    }

    pub fn code(&self) -> u64 {
        self.code
    }

    pub fn digest(&self) -> &[u8] {
        &self.digest
    }

    /// Binary form: varint code, varint length, digest.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(2 + self.digest.len());
        varint::write(&mut out, self.code);
        varint::write(&mut out, self.digest.len() as u64);
        out.extend_from_slice(&self.digest);
        out
    }

    /// Reads a multihash from the front of `buf`, returning it and the bytes used.
    pub fn read(buf: &[u8]) -> Result<(Self, usize), CidError> {
        let (code, a) = varint::read(buf).ok_or(CidError::Truncated)?;
        let (len, b) = varint::read(&buf[a..]).ok_or(CidError::Truncated)?;
        let len = usize::try_from(len).map_err(|_| CidError::Truncated)?;
        match code {
            HASH_SHA2_256 if len == 32 => {}
            HASH_IDENTITY if len <= MAX_IDENTITY_LEN => {}
            HASH_SHA2_256 | HASH_IDENTITY => return Err(CidError::BadDigestLength),
            other => return Err(CidError::UnsupportedHash(other)),
        }
        let start = a + b;
        let digest = buf.get(start..start + len).ok_or(CidError::Truncated)?.to_vec();
        Ok((Multihash { code, digest }, start + len))
    }

    /// True when `data` hashes to this multihash.
    pub fn verifies(&self, data: &[u8]) -> bool {
        match self.code {
            HASH_SHA2_256 => Sha256::digest(data).as_slice() == self.digest.as_slice(),
            HASH_IDENTITY => data == self.digest.as_slice(),
            _ => false,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cid {
    version: Version,
    codec: u64,
    hash: Multihash,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CidError {
    Empty,
    TooLong,
    BadEncoding,
    UnsupportedMultibase(char),
    Truncated,
    TrailingBytes,
    UnsupportedVersion(u64),
    UnsupportedHash(u64),
    BadDigestLength,
    V0NotDagPb,
}

impl fmt::Display for CidError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CidError::Empty => write!(f, "empty cid"),
            CidError::TooLong => write!(f, "cid text is too long"),
            CidError::BadEncoding => write!(f, "cid text is not valid for its multibase"),
            CidError::UnsupportedMultibase(c) => write!(f, "unsupported multibase prefix '{c}'"),
            CidError::Truncated => write!(f, "cid bytes are truncated"),
            CidError::TrailingBytes => write!(f, "cid has trailing bytes"),
            CidError::UnsupportedVersion(v) => write!(f, "unsupported cid version {v}"),
            CidError::UnsupportedHash(c) => write!(f, "unsupported multihash code 0x{c:x}"),
            CidError::BadDigestLength => write!(f, "wrong digest length for the hash"),
            CidError::V0NotDagPb => write!(f, "a CIDv0 must be a sha2-256 dag-pb hash"),
        }
    }
}

impl std::error::Error for CidError {}

impl Cid {
    pub fn new_v0(hash: Multihash) -> Result<Self, CidError> {
        if hash.code != HASH_SHA2_256 {
            return Err(CidError::V0NotDagPb);
        }
        Ok(Cid { version: Version::V0, codec: CODEC_DAG_PB, hash })
    }

    pub fn new_v1(codec: u64, hash: Multihash) -> Self {
        Cid { version: Version::V1, codec, hash }
    }

    /// The CID of `block` under the given version and codec (sha2-256).
    pub fn of_block(version: Version, codec: u64, block: &[u8]) -> Self {
        let hash = Multihash::sha2_256(block);
        match version {
            Version::V0 => Cid { version, codec: CODEC_DAG_PB, hash },
            Version::V1 => Cid::new_v1(codec, hash),
        }
    }

    pub fn version(&self) -> Version {
        self.version
    }

    pub fn codec(&self) -> u64 {
        self.codec
    }

    pub fn hash(&self) -> &Multihash {
        &self.hash
    }

    /// The same content as CIDv1 (v0 → `01 70` + multihash).
    pub fn to_v1(&self) -> Cid {
        Cid::new_v1(self.codec, self.hash.clone())
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        match self.version {
            Version::V0 => self.hash.to_bytes(),
            Version::V1 => {
                let mut out = Vec::with_capacity(40);
                varint::write(&mut out, 1);
                varint::write(&mut out, self.codec);
                out.extend_from_slice(&self.hash.to_bytes());
                out
            }
        }
    }

    /// Reads a binary CID from the front of `buf`: the CID and the bytes used.
    pub fn read_bytes(buf: &[u8]) -> Result<(Self, usize), CidError> {
        if buf.is_empty() {
            return Err(CidError::Empty);
        }
        if buf.len() >= 2 && buf[0] == 0x12 && buf[1] == 0x20 {
            let (hash, n) = Multihash::read(buf)?;
            return Ok((Cid { version: Version::V0, codec: CODEC_DAG_PB, hash }, n));
        }
        let (version, a) = varint::read(buf).ok_or(CidError::Truncated)?;
        if version != 1 {
            return Err(CidError::UnsupportedVersion(version));
        }
        let (codec, b) = varint::read(&buf[a..]).ok_or(CidError::Truncated)?;
        let (hash, c) = Multihash::read(&buf[a + b..])?;
        Ok((Cid::new_v1(codec, hash), a + b + c))
    }

    pub fn from_bytes(buf: &[u8]) -> Result<Self, CidError> {
        let (cid, n) = Cid::read_bytes(buf)?;
        if n != buf.len() {
            return Err(CidError::TrailingBytes);
        }
        Ok(cid)
    }

    /// Parses the text form: `Qm…` (v0), or multibase `b`/`B` (base32) or `z` (base58btc) v1.
    pub fn parse(text: &str) -> Result<Self, CidError> {
        if text.is_empty() {
            return Err(CidError::Empty);
        }
        if text.len() > multibase::MAX_TEXT {
            return Err(CidError::TooLong);
        }
        if text.len() == 46 && text.starts_with("Qm") {
            let bytes = multibase::base58btc_decode(text).ok_or(CidError::BadEncoding)?;
            let (hash, n) = Multihash::read(&bytes)?;
            if n != bytes.len() {
                return Err(CidError::TrailingBytes);
            }
            return Cid::new_v0(hash);
        }
        let mut chars = text.chars();
        let prefix = chars.next().ok_or(CidError::Empty)?;
        let rest = chars.as_str();
        let bytes = match prefix {
            'b' | 'B' => multibase::base32_decode(rest),
            'z' => multibase::base58btc_decode(rest),
            other => return Err(CidError::UnsupportedMultibase(other)),
        }
        .ok_or(CidError::BadEncoding)?;
        // A multibase CID that starts with 0x12 would be "CIDv18": not a thing.
        if bytes.first() == Some(&0x12) {
            return Err(CidError::UnsupportedVersion(0x12));
        }
        Cid::from_bytes(&bytes)
    }
}

impl fmt::Display for Cid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.version {
            Version::V0 => f.write_str(&multibase::base58btc_encode(&self.hash.to_bytes())),
            Version::V1 => write!(f, "b{}", multibase::base32_encode(&self.to_bytes())),
        }
    }
}

impl std::str::FromStr for Cid {
    type Err = CidError;
    fn from_str(s: &str) -> Result<Self, CidError> {
        Cid::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v0_and_v1_text_of_known_hashes() {
        // The 20-byte block of "hello world\n" (unixfs-dagpb.md §2).
        let block = [
            0x0a, 0x12, 0x08, 0x02, 0x12, 0x0c, b'h', b'e', b'l', b'l', b'o', b' ', b'w', b'o', b'r', b'l', b'd',
            b'\n', 0x18, 0x0c,
        ];
        let v0 = Cid::of_block(Version::V0, CODEC_DAG_PB, &block);
        assert_eq!(v0.to_string(), "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o");
        assert_eq!(v0.to_v1().to_string(), "bafybeicg2rebjoofv4kbyovkw7af3rpiitvnl6i7ckcywaq6xjcxnc2mby");
        assert_eq!(
            Cid::of_block(Version::V1, CODEC_RAW, b"").to_string(),
            "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
        );
    }

    #[test]
    fn parse_round_trips() {
        for t in [
            "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o",
            "bafybeicg2rebjoofv4kbyovkw7af3rpiitvnl6i7ckcywaq6xjcxnc2mby",
            "bafkqaaa",
        ] {
            let c = Cid::parse(t).unwrap();
            assert_eq!(c.to_string(), t);
            assert_eq!(Cid::from_bytes(&c.to_bytes()).unwrap(), c);
        }
        let upper = Cid::parse("BAFYBEICG2REBJOOFV4KBYOVKW7AF3RPIITVNL6I7CKCYWAQ6XJCXNC2MBY").unwrap();
        assert_eq!(upper.to_string(), "bafybeicg2rebjoofv4kbyovkw7af3rpiitvnl6i7ckcywaq6xjcxnc2mby");
    }

    #[test]
    fn rejects_garbage() {
        assert_eq!(Cid::parse(""), Err(CidError::Empty));
        assert!(Cid::parse("QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5O").is_err());
        assert!(Cid::parse("not-a-cid").is_err());
        assert!(Cid::parse("bafy").is_err());
        assert_eq!(Cid::parse("xabc"), Err(CidError::UnsupportedMultibase('x')));
        assert!(Cid::parse(&"b".repeat(300)).is_err());
    }
}
