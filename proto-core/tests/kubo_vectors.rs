//! Every kubo CID vector in the shared reference (anchors.md §1.2, unixfs-dagpb.md §8), with test
//! data made exactly as kubo's test suite makes it: the ChaCha20 keystream (12-byte zero nonce,
//! counter 0) keyed by SHA-256 of a seed string.
#![allow(clippy::unwrap_used, unreachable_pub)] // a test: a failed unwrap is a failed test

use chacha20::cipher::{KeyIvInit, StreamCipher};
use chacha20::ChaCha20;
use proto_core::unixfs::dir::DirBuilder;
use proto_core::unixfs::file::{import_bytes, FileImporter};
use proto_core::unixfs::Profile;
use sha2::{Digest, Sha256};

struct KuboRandom(ChaCha20);

impl KuboRandom {
    fn new(seed: &str) -> Self {
        let key: [u8; 32] = Sha256::digest(seed.as_bytes()).into();
        KuboRandom(ChaCha20::new(&key.into(), &[0u8; 12].into()))
    }
    fn fill(&mut self, buf: &mut [u8]) {
        buf.fill(0);
        self.0.apply_keystream(buf);
    }
}

/// Streams `len` bytes of kubo test data through the importer, 1 MiB at a time.
fn file_cid(profile: Profile, seed: &str, len: u64) -> String {
    let mut rng = KuboRandom::new(seed);
    let mut imp = FileImporter::new(profile);
    let mut buf = vec![0u8; 1 << 20];
    let mut blocks = Vec::new();
    let mut left = len;
    while left > 0 {
        let n = left.min(buf.len() as u64) as usize;
        rng.fill(&mut buf[..n]);
        imp.push(&buf[..n], &mut blocks);
        blocks.clear();
        left -= n as u64;
    }
    imp.finish(&mut blocks).cid.to_string()
}

const V0: Profile = Profile::UNIXFS_V0_2015;
const V1: Profile = Profile::UNIXFS_V1_2025;

#[test]
fn v0_chunk_boundaries() {
    assert_eq!(file_cid(V0, "chunk-v0-seed", 262_144), "QmWmRj3dFDZdb6ABvbmKhEL6TmPbAfBZ1t5BxsEyJrcZhE");
    assert_eq!(file_cid(V0, "chunk-v0-seed", 262_145), "QmYyLxtzZyW22zpoVAtKANLRHpDjZtNeDjQdJrcQNWoRkJ");
}

#[test]
fn v0_width_boundaries() {
    assert_eq!(file_cid(V0, "v0-seed", 174 * 262_144), "QmUbBALi174SnogsUzLpYbD4xPiBSFANF4iztWCsHbMKh2");
    assert_eq!(file_cid(V0, "v0-seed", 174 * 262_144 + 1), "QmV81WL765sC8DXsRhE5fJv2rwhS4icHRaf3J9Zk5FdRnW");
}

#[test]
fn v0_175_chunks_has_kubo_block_count() {
    let mut rng = KuboRandom::new("v0-seed");
    let mut data = vec![0u8; 174 * 262_144 + 1];
    rng.fill(&mut data);
    let (root, blocks) = import_bytes(V0, &data);
    assert_eq!(blocks.len(), 178);
    assert_eq!(root.tsize, 45_624_016);
}

#[test]
fn v1_chunk_boundaries() {
    assert_eq!(file_cid(V1, "chunk-v1-seed", 1 << 20), "bafkreiacndfy443ter6qr2tmbbdhadvxxheowwf75s6zehscklu6ezxmta");
    assert_eq!(
        file_cid(V1, "chunk-v1-seed", (1 << 20) + 1),
        "bafybeigmix7t42i6jacydtquhet7srwvgpizfg7gjbq7627d35mjomtu64"
    );
}

#[test]
fn v1_width_boundaries_1gib() {
    assert_eq!(file_cid(V1, "v1-2025-seed", 1 << 30), "bafybeihmf37wcuvtx4hpu7he5zl5qaf2ineo2lqlfrapokkm5zzw7zyhvm");
    assert_eq!(
        file_cid(V1, "v1-2025-seed", (1 << 30) + 1),
        "bafybeibdsi225ugbkmpbdohnxioyab6jsqrmkts3twhpvfnzp77xtzpyhe"
    );
}

const ALPHABET_EASY: &[u8] = b"abcdefghijklmnopqrstuvwxyz01234567890-_";

/// kubo's `createDeterministicFiles`: names from the keystream mapped onto the alphabet, each
/// file holding the single byte `x`.
fn dir_cid(profile: Profile, seed: &str, count: usize, name_len: usize, last_len: usize) -> (String, bool) {
    let mut rng = KuboRandom::new(seed);
    let (x, _) = import_bytes(profile, b"x");
    let mut dir = DirBuilder::new(profile);
    for i in 0..count {
        let n = if i == count - 1 { last_len } else { name_len };
        let mut raw = vec![0u8; n];
        rng.fill(&mut raw);
        let name: Vec<u8> = raw.iter().map(|b| ALPHABET_EASY[usize::from(*b) % ALPHABET_EASY.len()]).collect();
        dir.insert(&name, x.cid.clone(), x.tsize);
    }
    let root = dir.build(&mut Vec::new());
    (root.cid.to_string(), root.sharded)
}

#[test]
fn v0_hamt_threshold() {
    let basic = dir_cid(V0, "hamt-unixfs-v0-2015", 4096, 30, 30);
    assert_eq!(basic, ("QmX5GtRk3TSSEHtdrykgqm4eqMEn3n2XhfkFAis5fjyZmN".to_string(), false));
    let hamt = dir_cid(V0, "hamt-unixfs-v0-2015", 4033, 31, 31);
    assert_eq!(hamt, ("QmeMiJzmhpJAUgynAcxTQYek5PPKgdv3qEvFsdV3XpVnvP".to_string(), true));
}

#[test]
fn v1_hamt_threshold() {
    let basic = dir_cid(V1, "hamt-unixfs-v1-2025", 4766, 11, 21);
    assert_eq!(basic, ("bafybeic3h7rwruealwxkacabdy45jivq2crwz6bufb5ljwupn36gicplx4".to_string(), false));
    let hamt = dir_cid(V1, "hamt-unixfs-v1-2025", 4766, 11, 22);
    assert_eq!(hamt, ("bafybeiegvuterwurhdtkikfhbxcldohmxp566vpjdofhzmnhv6o4freidu".to_string(), true));
}
