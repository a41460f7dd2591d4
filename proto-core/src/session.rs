//! The secure session between two nodes: a Noise XX handshake (X25519, ChaCha20-Poly1305,
//! SHA-256) driven as a sans-IO state machine, whose payloads bind each side's Noise static key
//! to its ed25519 identity with a signature. After the handshake a session encrypts and
//! decrypts frames. The randomness for ephemeral keys comes from the caller's seed.

use crate::id::NodeId;
use crate::identity::{self, Identity};
use crate::rng::{Rng, Seed};
use snow::params::NoiseParams;
use snow::resolvers::{CryptoResolver, DefaultResolver};
use snow::types::{Cipher, Dh, Hash, Random};
use std::fmt;

const PATTERN: &str = "Noise_XX_25519_ChaChaPoly_SHA256";
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

struct Resolver(std::cell::RefCell<Option<Rng>>);

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
        DefaultResolver.resolve_cipher(c)
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

fn params() -> NoiseParams {
    PATTERN.parse().expect("a valid noise pattern")
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
    Handshake(Box<snow::HandshakeState>),
    Transport(Box<snow::TransportState>),
    Failed,
}

pub struct Session {
    state: State,
    proof: Vec<u8>,
    expected: Option<NodeId>,
    remote: Option<NodeId>,
    initiator: bool,
}

impl Session {
    fn build(id: &Identity, seed: Seed, initiator: bool, expected: Option<NodeId>) -> Result<Self, SessionError> {
        let (secret, public) = static_keypair(id);
        let resolver = Resolver(std::cell::RefCell::new(Some(seed.derive("noise-ephemeral").rng())));
        let b = snow::Builder::with_resolver(params(), Box::new(resolver)).local_private_key(&secret).map_err(noise)?;
        let hs = if initiator { b.build_initiator() } else { b.build_responder() }.map_err(noise)?;
        Ok(Session {
            state: State::Handshake(Box::new(hs)),
            proof: proof(id, &public),
            expected,
            remote: None,
            initiator,
        })
    }

    /// Starts a dial; returns the session and the first handshake message to send.
    pub fn initiator(id: &Identity, seed: Seed, expected: Option<NodeId>) -> Result<(Self, Vec<u8>), SessionError> {
        let mut s = Session::build(id, seed, true, expected)?;
        let first = s.write_handshake(&[])?;
        Ok((s, first))
    }

    pub fn responder(id: &Identity, seed: Seed) -> Result<Self, SessionError> {
        Session::build(id, seed, false, None)
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

    fn step(&mut self, msg: &[u8]) -> Result<Option<Vec<u8>>, SessionError> {
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
        let State::Transport(t) = &mut self.state else { return Err(SessionError::NotReady) };
        let mut out = Vec::with_capacity(plain.len() + plain.len() / CHUNK * 18 + 18);
        let mut buf = vec![0u8; NOISE_MAX];
        let mut pieces = plain.chunks(CHUNK).peekable();
        if pieces.peek().is_none() {
            let n = t.write_message(&[], &mut buf).map_err(noise)?;
            out.extend_from_slice(&(n as u16).to_be_bytes());
            out.extend_from_slice(&buf[..n]);
        }
        for piece in pieces {
            let n = t.write_message(piece, &mut buf).map_err(noise)?;
            out.extend_from_slice(&(n as u16).to_be_bytes());
            out.extend_from_slice(&buf[..n]);
        }
        Ok(out)
    }

    pub fn decrypt(&mut self, body: &[u8]) -> Result<Vec<u8>, SessionError> {
        let State::Transport(t) = &mut self.state else { return Err(SessionError::NotReady) };
        let mut out = Vec::with_capacity(body.len());
        let mut buf = vec![0u8; NOISE_MAX];
        let mut rest = body;
        while !rest.is_empty() {
            if rest.len() < 2 {
                return Err(SessionError::Malformed);
            }
            let n = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
            let msg = rest.get(2..2 + n).ok_or(SessionError::Malformed)?;
            let k = t.read_message(msg, &mut buf).map_err(noise)?;
            out.extend_from_slice(&buf[..k]);
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
        let a = Identity::from_seed([1; 32]);
        let b = Identity::from_seed([2; 32]);
        let (mut i, m1) = Session::initiator(&a, Seed::from_u64(1), expected).unwrap();
        let mut r = Session::responder(&b, Seed::from_u64(2)).unwrap();
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
        let c = r.encrypt(b"").unwrap();
        assert_eq!(i.decrypt(&c).unwrap(), b"");
        let mut bad = i.encrypt(b"hello").unwrap();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(r.decrypt(&bad).is_err(), "tampering is detected");
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
