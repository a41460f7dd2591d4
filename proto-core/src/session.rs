//! The secure session between two nodes: a Noise XX handshake (X25519, SHA-256, and
//! ChaCha20-Poly1305 or AES-256-GCM) driven as a sans-IO state machine, whose payloads bind each
//! side's Noise static key to its ed25519 identity with a signature. After the handshake a
//! session encrypts and decrypts frames. The randomness for ephemeral keys comes from the
//! caller's seed.
//!
//! The dialing side chooses the cipher and says so in one byte before its first handshake
//! message; every node accepts both. The runtime picks AES-GCM where the CPU has AES
//! instructions and ChaCha20-Poly1305 elsewhere (routers). The choice is bound into the handshake
//! by the Noise protocol name, so a changed byte fails the handshake rather than changing the
//! cipher. A runtime may also hand in faster implementations of the same ciphers
//! (`CipherProvider`); the bytes on the wire are the same either way. Without a provider,
//! AES-256-GCM needs the `builtin-aes-gcm` feature (on by default; the node, which always
//! provides ring's ciphers, builds without it).

use crate::id::NodeId;
use crate::identity::{self, Identity};
use crate::rng::{Rng, Seed};
use snow::params::NoiseParams;
use snow::resolvers::{CryptoResolver, DefaultResolver};
use snow::types::{Dh, Hash, Random};
/// What a `CipherProvider` implements (snow's cipher interface) and the error a failed
/// decryption returns.
pub use snow::{types::Cipher, Error as NoiseError};
use std::fmt;

/// The session cipher (see the module comment).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Suite {
    #[default]
    ChaChaPoly,
    AesGcm,
}

impl Suite {
    fn pattern(self) -> &'static str {
        match self {
            Suite::ChaChaPoly => "Noise_XX_25519_ChaChaPoly_SHA256",
            Suite::AesGcm => "Noise_XX_25519_AESGCM_SHA256",
        }
    }

    fn byte(self) -> u8 {
        match self {
            Suite::ChaChaPoly => 0,
            Suite::AesGcm => 1,
        }
    }

    fn from_byte(b: u8) -> Option<Suite> {
        match b {
            0 => Some(Suite::ChaChaPoly),
            1 => Some(Suite::AesGcm),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Suite::ChaChaPoly => "chacha20-poly1305",
            Suite::AesGcm => "aes-256-gcm",
        }
    }
}

/// Implementations of the session ciphers from outside the core (pure functions, like the
/// built-in ones; the wire format is Noise's either way).
pub trait CipherProvider: Send + Sync {
    fn cipher(&self, suite: Suite) -> Option<Box<dyn Cipher>>;
}

/// A provider, or none (snow's built-in RustCrypto ciphers: ChaCha20-Poly1305, and AES-256-GCM
/// with the `builtin-aes-gcm` feature).
#[derive(Clone, Default)]
pub struct Ciphers(pub Option<std::sync::Arc<dyn CipherProvider>>);

impl fmt::Debug for Ciphers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() { "Ciphers(provided)" } else { "Ciphers(built-in)" })
    }
}
const KEY_PROOF: &[u8] = b"leither-noise-static-key:";
/// Largest Noise message, and the plaintext that fits in one with its 16-byte tag.
const NOISE_MAX: usize = 65_535;
const CHUNK: usize = NOISE_MAX - 16;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionError {
    Noise(String),
    BadProof,
    WrongPeer { expected: NodeId, got: NodeId },
    NotReady,
    Malformed,
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionError::Noise(e) => write!(f, "noise: {e}"),
            SessionError::BadProof => write!(f, "the peer's key proof does not verify"),
            SessionError::WrongPeer { expected, got } => write!(f, "dialed {expected} but reached {got}"),
            SessionError::NotReady => write!(f, "the handshake is not finished"),
            SessionError::Malformed => write!(f, "malformed session message"),
        }
    }
}

fn noise(e: snow::Error) -> SessionError {
    SessionError::Noise(e.to_string())
}

/// Snow's randomness, from our seed.
struct SeededRandom(Rng);

impl Random for SeededRandom {
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), snow::Error> {
        for chunk in dest.chunks_mut(8) {
            let v = self.0.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
        Ok(())
    }
}

pub(crate) struct Resolver(pub(crate) std::cell::RefCell<Option<Rng>>, pub(crate) Ciphers);

impl CryptoResolver for Resolver {
    fn resolve_rng(&self) -> Option<Box<dyn Random>> {
        let rng = self.0.borrow_mut().take()?;
        Some(Box::new(SeededRandom(rng)))
    }
    fn resolve_dh(&self, c: &snow::params::DHChoice) -> Option<Box<dyn Dh>> {
        DefaultResolver.resolve_dh(c)
    }
    fn resolve_hash(&self, c: &snow::params::HashChoice) -> Option<Box<dyn Hash>> {
        DefaultResolver.resolve_hash(c)
    }
    fn resolve_cipher(&self, c: &snow::params::CipherChoice) -> Option<Box<dyn Cipher>> {
        let suite = match c {
            snow::params::CipherChoice::ChaChaPoly => Suite::ChaChaPoly,
            snow::params::CipherChoice::AESGCM => Suite::AesGcm,
            #[allow(unreachable_patterns)]
            _ => return DefaultResolver.resolve_cipher(c),
        };
        self.1 .0.as_ref().and_then(|p| p.cipher(suite)).or_else(|| DefaultResolver.resolve_cipher(c))
    }
}

/// The Noise static key pair of a node, derived from its identity seed (stable across restarts).
pub fn static_keypair(id: &Identity) -> ([u8; 32], [u8; 32]) {
    let secret = crate::rng::Seed(id.seed()).derive("noise-static").0;
    // The default resolver always has X25519 (the feature is enabled in Cargo.toml).
    let mut dh = DefaultResolver.resolve_dh(&snow::params::DHChoice::Curve25519).expect("x25519 available");
    dh.set(&secret);
    let mut public = [0u8; 32];
    public.copy_from_slice(&dh.pubkey()[..32]);
    (secret, public)
}

fn params(suite: Suite) -> NoiseParams {
    suite.pattern().parse().expect("a valid noise pattern")
}

/// What a side proves about itself inside the handshake.
fn proof(id: &Identity, noise_public: &[u8]) -> Vec<u8> {
    let mut msg = KEY_PROOF.to_vec();
    msg.extend_from_slice(noise_public);
    let mut out = id.public_key().to_vec();
    out.extend_from_slice(&id.sign(&msg));
    out
}

fn check_proof(payload: &[u8], noise_public: &[u8]) -> Result<NodeId, SessionError> {
    if payload.len() != 96 {
        return Err(SessionError::BadProof);
    }
    let pk: [u8; 32] = payload[..32].try_into().map_err(|_| SessionError::BadProof)?;
    let sig: [u8; 64] = payload[32..].try_into().map_err(|_| SessionError::BadProof)?;
    let mut msg = KEY_PROOF.to_vec();
    msg.extend_from_slice(noise_public);
    if !identity::verify(&pk, &msg, &sig) {
        return Err(SessionError::BadProof);
    }
    Ok(identity::node_id_of(&pk))
}

enum State {
    /// A responder before the first message (which names the cipher).
    Waiting {
        secret: [u8; 32],
        seed: Seed,
        ciphers: Ciphers,
    },
    Handshake(Box<snow::HandshakeState>),
    Transport(Box<snow::TransportState>),
    Failed,
}

/// One end of a Noise session between two nodes. It does no I/O: bytes in, bytes out.
///
/// Driving it:
/// - the dialer starts with [`Session::initiator`] and sends the message it returns; the
///   listener starts with [`Session::responder`];
/// - hand every handshake message that arrives to [`Session::read_handshake`] and send what it
///   returns (if anything), until [`Session::is_established`] is true; an error ends the session
///   and the connection;
/// - then [`Session::encrypt`] or [`Session::encrypt_frame`] what goes out and
///   [`Session::decrypt`] each frame that comes in, in the order they come. It has no timers:
///   the caller (`node::Node`) times handshakes out.
pub struct Session {
    state: State,
    proof: Vec<u8>,
    expected: Option<NodeId>,
    remote: Option<NodeId>,
    initiator: bool,
    suite: Suite,
}

fn handshake_state(
    suite: Suite,
    secret: &[u8; 32],
    seed: &Seed,
    ciphers: &Ciphers,
    initiator: bool,
) -> Result<State, SessionError> {
    let resolver = Resolver(std::cell::RefCell::new(Some(seed.derive("noise-ephemeral").rng())), ciphers.clone());
    let b = snow::Builder::with_resolver(params(suite), Box::new(resolver)).local_private_key(secret).map_err(noise)?;
    let hs = if initiator { b.build_initiator() } else { b.build_responder() }.map_err(noise)?;
    Ok(State::Handshake(Box::new(hs)))
}

impl Session {
    /// Starts a dial with the given cipher; returns the session and the first handshake message
    /// to send (the cipher's byte, then Noise's first message).
    pub fn initiator(
        id: &Identity,
        seed: Seed,
        expected: Option<NodeId>,
        suite: Suite,
        ciphers: &Ciphers,
    ) -> Result<(Self, Vec<u8>), SessionError> {
        let (secret, public) = static_keypair(id);
        let mut s = Session {
            state: handshake_state(suite, &secret, &seed, ciphers, true)?,
            proof: proof(id, &public),
            expected,
            remote: None,
            initiator: true,
            suite,
        };
        let mut first = vec![suite.byte()];
        first.extend(s.write_handshake(&[])?);
        Ok((s, first))
    }

    pub fn responder(id: &Identity, seed: Seed, ciphers: &Ciphers) -> Result<Self, SessionError> {
        let (secret, public) = static_keypair(id);
        Ok(Session {
            state: State::Waiting { secret, seed, ciphers: ciphers.clone() },
            proof: proof(id, &public),
            expected: None,
            remote: None,
            initiator: false,
            suite: Suite::default(),
        })
    }

    /// The cipher in use (a responder knows it after the first message).
    pub fn suite(&self) -> Suite {
        self.suite
    }

    /// The authenticated peer, once the handshake is done.
    pub fn remote(&self) -> Option<NodeId> {
        match self.state {
            State::Transport(_) => self.remote,
            _ => None,
        }
    }

    pub fn is_established(&self) -> bool {
        matches!(self.state, State::Transport(_))
    }

    fn write_handshake(&mut self, payload: &[u8]) -> Result<Vec<u8>, SessionError> {
        let State::Handshake(hs) = &mut self.state else { return Err(SessionError::NotReady) };
        let mut buf = vec![0u8; NOISE_MAX];
        let n = hs.write_message(payload, &mut buf).map_err(noise)?;
        buf.truncate(n);
        Ok(buf)
    }

    /// Feeds one handshake message; returns the message to answer with, if any. When this
    /// returns, `remote()` tells whether the session is established.
    pub fn read_handshake(&mut self, msg: &[u8]) -> Result<Option<Vec<u8>>, SessionError> {
        let result = self.step(msg);
        if result.is_err() {
            self.state = State::Failed;
        }
        result
    }

    fn step(&mut self, mut msg: &[u8]) -> Result<Option<Vec<u8>>, SessionError> {
        if let State::Waiting { secret, seed, ciphers } = &self.state {
            let (&b, rest) = msg.split_first().ok_or(SessionError::Malformed)?;
            self.suite = Suite::from_byte(b).ok_or(SessionError::Malformed)?;
            self.state = handshake_state(self.suite, secret, seed, ciphers, false)?;
            msg = rest;
        }
        let State::Handshake(hs) = &mut self.state else { return Err(SessionError::NotReady) };
        if msg.len() > NOISE_MAX {
            return Err(SessionError::Malformed);
        }
        let mut payload = vec![0u8; NOISE_MAX];
        let n = hs.read_message(msg, &mut payload).map_err(noise)?;
        payload.truncate(n);
        // XX: the responder's proof arrives in message 2, the initiator's in message 3.
        if let Some(rs) = hs.get_remote_static() {
            let got = check_proof(&payload, rs)?;
            if let Some(expected) = self.expected {
                if expected != got {
                    return Err(SessionError::WrongPeer { expected, got });
                }
            }
            self.remote = Some(got);
        }
        let reply = if !hs.is_handshake_finished() && hs.is_my_turn() {
            let proof = self.proof.clone();
            Some(self.write_handshake(&proof)?)
        } else {
            None
        };
        self.finish_if_done()?;
        Ok(reply)
    }

    fn finish_if_done(&mut self) -> Result<(), SessionError> {
        let done = matches!(&self.state, State::Handshake(hs) if hs.is_handshake_finished());
        if done {
            let State::Handshake(hs) = std::mem::replace(&mut self.state, State::Failed) else { unreachable!() };
            if self.remote.is_none() {
                return Err(SessionError::BadProof);
            }
            self.state = State::Transport(Box::new(hs.into_transport_mode().map_err(noise)?));
        }
        Ok(())
    }

    /// Encrypts one frame body: `[u16 length, noise message]*`, each covering ≤ 65519 bytes.
    pub fn encrypt(&mut self, plain: &[u8]) -> Result<Vec<u8>, SessionError> {
        let mut out = Vec::with_capacity(plain.len() + plain.len() / CHUNK * 18 + 18);
        self.encrypt_into(plain, &mut out)?;
        Ok(out)
    }

    /// `encrypt` as a whole frame (`crate::frame`): the length prefix is written in front of
    /// the ciphertext instead of copying the ciphertext behind it.
    pub fn encrypt_frame(&mut self, plain: &[u8]) -> Result<Vec<u8>, SessionError> {
        let mut out = Vec::with_capacity(4 + plain.len() + plain.len() / CHUNK * 18 + 18);
        out.extend_from_slice(&[0; 4]);
        self.encrypt_into(plain, &mut out)?;
        let body = (out.len() - 4) as u32;
        out[..4].copy_from_slice(&body.to_be_bytes());
        Ok(out)
    }

    fn encrypt_into(&mut self, plain: &[u8], out: &mut Vec<u8>) -> Result<(), SessionError> {
        let State::Transport(t) = &mut self.state else { return Err(SessionError::NotReady) };
        // Each piece is encrypted straight into the output (no copy through a scratch buffer).
        let empty: &[u8] = &[];
        let pieces: Box<dyn Iterator<Item = &[u8]>> =
            if plain.is_empty() { Box::new(std::iter::once(empty)) } else { Box::new(plain.chunks(CHUNK)) };
        for piece in pieces {
            let at = out.len();
            out.resize(at + 2 + piece.len() + 16, 0);
            let n = t.write_message(piece, &mut out[at + 2..]).map_err(noise)?;
            out[at..at + 2].copy_from_slice(&(n as u16).to_be_bytes());
            out.truncate(at + 2 + n);
        }
        Ok(())
    }

    pub fn decrypt(&mut self, body: &[u8]) -> Result<Vec<u8>, SessionError> {
        let State::Transport(t) = &mut self.state else { return Err(SessionError::NotReady) };
        let mut out = Vec::with_capacity(body.len());
        let mut rest = body;
        while !rest.is_empty() {
            if rest.len() < 2 {
                return Err(SessionError::Malformed);
            }
            let n = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
            let msg = rest.get(2..2 + n).ok_or(SessionError::Malformed)?;
            if n < 16 {
                return Err(SessionError::Malformed);
            }
            // Decrypted straight into the output.
            let at = out.len();
            out.resize(at + n - 16, 0);
            let k = t.read_message(msg, &mut out[at..]).map_err(noise)?;
            out.truncate(at + k);
            rest = &rest[2 + n..];
        }
        Ok(out)
    }

    pub fn is_initiator(&self) -> bool {
        self.initiator
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(expected: Option<NodeId>) -> (Session, Session, Result<(), SessionError>) {
        pair_with(expected, Suite::ChaChaPoly, |_| {})
    }

    fn pair_with(
        expected: Option<NodeId>,
        suite: Suite,
        tamper: impl FnOnce(&mut Vec<u8>),
    ) -> (Session, Session, Result<(), SessionError>) {
        let a = Identity::from_seed([1; 32]);
        let b = Identity::from_seed([2; 32]);
        let (mut i, mut m1) = Session::initiator(&a, Seed::from_u64(1), expected, suite, &Ciphers::default()).unwrap();
        tamper(&mut m1);
        let mut r = Session::responder(&b, Seed::from_u64(2), &Ciphers::default()).unwrap();
        let res = (|| {
            let m2 = r.read_handshake(&m1)?.ok_or(SessionError::Malformed)?;
            let m3 = i.read_handshake(&m2)?.ok_or(SessionError::Malformed)?;
            assert!(r.read_handshake(&m3)?.is_none());
            Ok(())
        })();
        (i, r, res)
    }

    #[test]
    fn handshake_binds_identities_and_encrypts() {
        let (mut i, mut r, res) = pair(Some(Identity::from_seed([2; 32]).node_id()));
        res.unwrap();
        assert_eq!(i.remote(), Some(Identity::from_seed([2; 32]).node_id()));
        assert_eq!(r.remote(), Some(Identity::from_seed([1; 32]).node_id()));
        let big: Vec<u8> = (0..200_000u32).map(|x| x as u8).collect();
        let c = i.encrypt(&big).unwrap();
        assert_eq!(r.decrypt(&c).unwrap(), big);
        let f = i.encrypt_frame(&big).unwrap();
        let mut reader = crate::frame::FrameReader::default();
        reader.push(&f);
        assert_eq!(r.decrypt(&reader.next_frame().unwrap().expect("one whole frame")).unwrap(), big);
        assert_eq!(reader.buffered(), 0);
        let c = r.encrypt(b"").unwrap();
        assert_eq!(i.decrypt(&c).unwrap(), b"");
        let mut bad = i.encrypt(b"hello").unwrap();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(r.decrypt(&bad).is_err(), "tampering is detected");
    }

    #[test]
    fn both_ciphers_work_and_the_choice_cannot_be_swapped() {
        for suite in [Suite::ChaChaPoly, Suite::AesGcm] {
            let (mut i, mut r, res) = pair_with(None, suite, |_| {});
            res.unwrap();
            assert_eq!((i.suite(), r.suite()), (suite, suite));
            let big: Vec<u8> = (0..150_000u32).map(|x| (x * 7) as u8).collect();
            assert_eq!(r.decrypt(&i.encrypt(&big).unwrap()).unwrap(), big);
            assert_eq!(i.decrypt(&r.encrypt(b"ok").unwrap()).unwrap(), b"ok");
        }
        // Flipping the cipher byte on the way makes the handshake fail (the name is bound in).
        let (_, _, res) = pair_with(None, Suite::AesGcm, |m| m[0] = 0);
        assert!(res.is_err());
        let (_, _, res) = pair_with(None, Suite::ChaChaPoly, |m| m[0] = 7);
        assert_eq!(res, Err(SessionError::Malformed));
        let (_, _, res) = pair_with(None, Suite::ChaChaPoly, |m| m.truncate(0));
        assert_eq!(res, Err(SessionError::Malformed));
    }

    #[test]
    fn dialing_the_wrong_id_fails() {
        let other = Identity::from_seed([9; 32]).node_id();
        let (_, _, res) = pair(Some(other));
        assert!(matches!(res, Err(SessionError::WrongPeer { .. })), "{res:?}");
    }

    #[test]
    fn static_key_is_stable() {
        let a = Identity::from_seed([1; 32]);
        assert_eq!(static_keypair(&a), static_keypair(&a));
    }
}
