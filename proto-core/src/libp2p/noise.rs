//! libp2p's `/noise` security handshake and the encrypted transport after it:
//! `Noise_XX_25519_ChaChaPoly_SHA256` with an empty prologue, every message framed as
//! `u16 BE length ‖ message`. Each side's handshake payload carries its libp2p public key, a
//! signature of `"noise-libp2p-static-key:" ‖ its X25519 static key`, and the stream muxers it
//! speaks (the inlined muxer negotiation).
//!
//! Driving it (after multistream-select agreed on [`PROTOCOL`]):
//! - make a [`Handshake`] with [`Handshake::initiator`] (the dialer; `expected` is the peer id it
//!   dialed) or [`Handshake::responder`]; send everything [`Handshake::poll_output`] gives, now
//!   and after every [`Handshake::handle_input`] with the bytes that came in;
//! - once [`Handshake::is_done`], [`Handshake::finish`] gives the [`Transport`] and the
//!   authenticated [`Remote`]; call `transport.decrypt(&[], out)` once for any bytes that came
//!   behind the last handshake message, then [`Transport::encrypt`] what goes out and
//!   [`Transport::decrypt`] what comes in. Any error ends the connection.
//!
//! The X25519 static key is derived from the seed (one per connection, as go-libp2p does); the
//! ephemeral key too. The ChaChaPoly implementation comes from `Ciphers` when one is provided.

use crate::identity::Identity;
use crate::libp2p::keys::{KeyError, PublicKey, RsaVerifier};
use crate::libp2p::pb::{Fields, PbError, Writer};
use crate::libp2p::PeerId;
use crate::rng::Seed;
use crate::session::{Ciphers, Resolver};
use snow::resolvers::{CryptoResolver, DefaultResolver};
use std::collections::VecDeque;
use std::fmt;

pub const PROTOCOL: &str = "/noise";
/// Largest Noise message (the length prefix's limit), tag included.
pub const MAX_FRAME: usize = 65535;
/// Plaintext that fits in one message with its 16-byte tag.
pub const MAX_PLAINTEXT: usize = MAX_FRAME - TAG;
/// A muxer list longer than this is ignored, as if absent (go-libp2p `maxProtoNum`).
pub const MAX_MUXERS: usize = 100;
/// Bytes accepted by `Handshake::handle_input` once the handshake is done and before `finish`.
pub const MAX_EARLY_DATA: usize = 1 << 20;

const TAG: usize = 16;
const PATTERN: &str = "Noise_XX_25519_ChaChaPoly_SHA256";
/// What a handshake payload's signature covers, before the sender's static key.
pub const STATIC_KEY_DOMAIN: &[u8] = b"noise-libp2p-static-key:";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NoiseError {
    /// A frame that cannot be a Noise message.
    Frame(&'static str),
    /// Noise refused a message (a failed decryption, a handshake message of the wrong size).
    Crypto(String),
    /// The handshake payload is not a valid `NoiseHandshakePayload`.
    Payload(&'static str),
    /// The payload's identity key does not decode.
    Key(KeyError),
    /// A key type whose signatures this node cannot check.
    UnsupportedKey(&'static str),
    /// The identity signature over the static key does not verify.
    BadSignature,
    /// The dialer reached another peer than it dialed.
    WrongPeer { expected: PeerId, got: PeerId },
    /// `finish` before the handshake is done.
    NotDone,
    /// Used again after an error.
    Failed,
}

impl fmt::Display for NoiseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NoiseError::Frame(why) => write!(f, "noise: bad frame: {why}"),
            NoiseError::Crypto(e) => write!(f, "noise: {e}"),
            NoiseError::Payload(why) => write!(f, "noise: malformed handshake payload: {why}"),
            NoiseError::Key(e) => write!(f, "noise: {e}"),
            NoiseError::UnsupportedKey(t) => write!(f, "noise: unsupported key type {t}"),
            NoiseError::BadSignature => f.write_str("noise: the peer's signature of its static key does not verify"),
            NoiseError::WrongPeer { expected, got } => write!(f, "noise: dialed {expected} but reached {got}"),
            NoiseError::NotDone => f.write_str("noise: the handshake is not finished"),
            NoiseError::Failed => f.write_str("noise: the session failed earlier"),
        }
    }
}

impl std::error::Error for NoiseError {}

fn crypto(e: snow::Error) -> NoiseError {
    NoiseError::Crypto(e.to_string())
}

/// The `NoiseHandshakePayload` protobuf: `identity_key=1`, `identity_sig=2`,
/// `extensions=4{stream_muxers=2}` (webtransport cert hashes are skipped).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HandshakePayload {
    pub identity_key: Option<Vec<u8>>,
    pub identity_sig: Option<Vec<u8>>,
    /// Empty when absent, over [`MAX_MUXERS`] entries, or not UTF-8 (none can match).
    pub stream_muxers: Vec<String>,
}

impl HandshakePayload {
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        if let Some(k) = &self.identity_key {
            w.bytes(1, k);
        }
        if let Some(s) = &self.identity_sig {
            w.bytes(2, s);
        }
        if !self.stream_muxers.is_empty() {
            w.message(4, |e| {
                for m in &self.stream_muxers {
                    e.string(2, m);
                }
            });
        }
        w.finish()
    }

    pub fn decode(b: &[u8]) -> Result<Self, PbError> {
        let mut p = HandshakePayload::default();
        let mut muxers: Vec<&[u8]> = Vec::new();
        for field in Fields::new(b) {
            match field? {
                (1, v) => p.identity_key = Some(v.bytes("identity_key")?.to_vec()),
                (2, v) => p.identity_sig = Some(v.bytes("identity_sig")?.to_vec()),
                (4, v) => {
                    for ext in Fields::new(v.bytes("extensions")?) {
                        if let (2, v) = ext? {
                            muxers.push(v.bytes("stream_muxers")?);
                        }
                    }
                }
                _ => {}
            }
        }
        if muxers.len() <= MAX_MUXERS {
            let names = muxers.iter().map(|m| std::str::from_utf8(m).map(str::to_owned));
            p.stream_muxers = names.collect::<Result<_, _>>().unwrap_or_default();
        }
        Ok(p)
    }
}

/// The authenticated peer at the other end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Remote {
    pub peer: PeerId,
    pub key: PublicKey,
    /// The muxers it listed (empty: none, so multistream-select picks one inside Noise).
    pub muxers: Vec<String>,
}

/// The muxer both sides use: the first of the initiator's list the responder also lists.
pub fn negotiated_muxer<'a>(initiator: &'a [String], responder: &[String]) -> Option<&'a str> {
    initiator.iter().find(|m| responder.contains(m)).map(String::as_str)
}

/// Checks a handshake payload against the static key it arrived with.
fn authenticate(payload: &[u8], remote_static: &[u8], rsa: &dyn RsaVerifier) -> Result<Remote, NoiseError> {
    let p = HandshakePayload::decode(payload).map_err(|_| NoiseError::Payload("not a protobuf"))?;
    let key_pb = p.identity_key.ok_or(NoiseError::Payload("no identity key"))?;
    let sig = p.identity_sig.ok_or(NoiseError::Payload("no identity signature"))?;
    let key = PublicKey::decode(&key_pb).map_err(NoiseError::Key)?;
    match key {
        PublicKey::Secp256k1(_) => return Err(NoiseError::UnsupportedKey("secp256k1")),
        PublicKey::Ecdsa(_) => return Err(NoiseError::UnsupportedKey("ECDSA")),
        PublicKey::Ed25519(_) | PublicKey::Rsa(_) => {}
    }
    let mut signed = STATIC_KEY_DOMAIN.to_vec();
    signed.extend_from_slice(remote_static);
    if !key.verify(&signed, &sig, rsa) {
        return Err(NoiseError::BadSignature);
    }
    Ok(Remote { peer: key.peer_id(), key, muxers: p.stream_muxers })
}

/// One side of the handshake (see the module comment).
pub struct Handshake {
    /// `None` once failed.
    state: Option<Box<snow::HandshakeState>>,
    /// Our encoded `NoiseHandshakePayload`.
    payload: Vec<u8>,
    expected: Option<PeerId>,
    input: Vec<u8>,
    output: VecDeque<Vec<u8>>,
    remote: Option<Remote>,
}

impl Handshake {
    /// The dialer's side; its first message is ready in `poll_output`.
    pub fn initiator(
        id: &Identity,
        seed: Seed,
        expected: Option<PeerId>,
        muxers: &[&str],
        ciphers: &Ciphers,
    ) -> Result<Self, NoiseError> {
        let mut h = Handshake::new(id, seed, expected, muxers, ciphers, true)?;
        h.write(&[])?;
        Ok(h)
    }

    /// The listener's side.
    pub fn responder(id: &Identity, seed: Seed, muxers: &[&str], ciphers: &Ciphers) -> Result<Self, NoiseError> {
        Handshake::new(id, seed, None, muxers, ciphers, false)
    }

    fn new(
        id: &Identity,
        seed: Seed,
        expected: Option<PeerId>,
        muxers: &[&str],
        ciphers: &Ciphers,
        initiator: bool,
    ) -> Result<Self, NoiseError> {
        let secret = seed.derive("libp2p-noise-static").0;
        let mut dh = DefaultResolver
            .resolve_dh(&snow::params::DHChoice::Curve25519)
            .ok_or(NoiseError::Crypto("no X25519".into()))?;
        dh.set(&secret);
        let static_public = dh.pubkey().get(..32).ok_or(NoiseError::Crypto("X25519 key size".into()))?;
        let mut signed = STATIC_KEY_DOMAIN.to_vec();
        signed.extend_from_slice(static_public);
        let payload = HandshakePayload {
            identity_key: Some(PublicKey::Ed25519(id.public_key()).encode()),
            identity_sig: Some(id.sign(&signed).to_vec()),
            stream_muxers: muxers.iter().map(|m| m.to_string()).collect(),
        }
        .encode();

        let rng = seed.derive("libp2p-noise-ephemeral").rng();
        let resolver = Resolver(std::cell::RefCell::new(Some(rng)), ciphers.clone());
        let params = PATTERN.parse().map_err(crypto)?;
        let b = snow::Builder::with_resolver(params, Box::new(resolver)).local_private_key(&secret).map_err(crypto)?;
        let state = if initiator { b.build_initiator() } else { b.build_responder() }.map_err(crypto)?;
        Ok(Handshake {
            state: Some(Box::new(state)),
            payload,
            expected,
            input: Vec::new(),
            output: VecDeque::new(),
            remote: None,
        })
    }

    fn write(&mut self, payload: &[u8]) -> Result<(), NoiseError> {
        let state = self.state.as_mut().ok_or(NoiseError::Failed)?;
        let mut frame = vec![0u8; 2 + MAX_FRAME];
        let n = state.write_message(payload, &mut frame[2..]).map_err(crypto)?;
        frame[..2].copy_from_slice(&(n as u16).to_be_bytes());
        frame.truncate(2 + n);
        self.output.push_back(frame);
        Ok(())
    }

    /// Raw bytes from the wire (after multistream-select); partial frames are buffered.
    pub fn handle_input(&mut self, bytes: &[u8], rsa: &dyn RsaVerifier) -> Result<(), NoiseError> {
        if self.state.is_none() {
            return Err(NoiseError::Failed);
        }
        if self.is_done() && self.input.len() + bytes.len() > MAX_EARLY_DATA {
            self.state = None;
            return Err(NoiseError::Frame("too much data before the transport took over"));
        }
        self.input.extend_from_slice(bytes);
        let result = self.step(rsa);
        if result.is_err() {
            self.state = None;
        }
        result
    }

    fn step(&mut self, rsa: &dyn RsaVerifier) -> Result<(), NoiseError> {
        while !self.is_done() {
            let Some(&[hi, lo]) = self.input.get(..2) else { return Ok(()) };
            let end = 2 + usize::from(u16::from_be_bytes([hi, lo]));
            if self.input.len() < end {
                return Ok(());
            }
            let state = self.state.as_mut().ok_or(NoiseError::Failed)?;
            let mut payload = vec![0u8; end];
            let n = state.read_message(&self.input[2..end], &mut payload).map_err(crypto)?;
            self.input.drain(..end);
            // XX: the responder's identity comes in message 2, the initiator's in message 3.
            if self.remote.is_none() {
                if let Some(rs) = state.get_remote_static() {
                    let remote = authenticate(&payload[..n], rs, rsa)?;
                    if let Some(expected) = &self.expected {
                        if *expected != remote.peer {
                            return Err(NoiseError::WrongPeer { expected: expected.clone(), got: remote.peer });
                        }
                    }
                    self.remote = Some(remote);
                }
            }
            if !state.is_handshake_finished() && state.is_my_turn() {
                let ours = std::mem::take(&mut self.payload);
                self.write(&ours)?;
                self.payload = ours;
            }
            let finished = self.state.as_ref().is_some_and(|s| s.is_handshake_finished());
            if finished && self.remote.is_none() {
                return Err(NoiseError::Payload("the peer never identified itself"));
            }
        }
        Ok(())
    }

    /// Framed bytes to send, if any (call after construction and after every `handle_input`).
    pub fn poll_output(&mut self) -> Option<Vec<u8>> {
        self.output.pop_front()
    }

    pub fn is_done(&self) -> bool {
        self.remote.is_some() && self.state.as_ref().is_some_and(|s| s.is_handshake_finished())
    }

    /// After `is_done`: the transport (holding any wire bytes that arrived behind the last
    /// handshake message) and who the peer is.
    pub fn finish(self) -> Result<(Transport, Remote), NoiseError> {
        if !self.is_done() {
            return Err(if self.state.is_none() { NoiseError::Failed } else { NoiseError::NotDone });
        }
        let (Some(state), Some(remote)) = (self.state, self.remote) else { return Err(NoiseError::NotDone) };
        let state = state.into_transport_mode().map_err(crypto)?;
        Ok((Transport { state: Box::new(state), pending: self.input, failed: false }, remote))
    }
}

/// The encrypted stream after the handshake.
pub struct Transport {
    state: Box<snow::TransportState>,
    /// Wire bytes not yet a whole frame (or, right after the handshake, early frames).
    pending: Vec<u8>,
    failed: bool,
}

impl Transport {
    /// Encrypts into ≤ MAX_PLAINTEXT chunks, each framed; appends to out.
    pub fn encrypt(&mut self, plain: &[u8], out: &mut Vec<u8>) -> Result<(), NoiseError> {
        if self.failed {
            return Err(NoiseError::Failed);
        }
        out.reserve(plain.len() + plain.len().div_ceil(MAX_PLAINTEXT) * (2 + TAG));
        for piece in plain.chunks(MAX_PLAINTEXT) {
            let at = out.len();
            out.resize(at + 2 + piece.len() + TAG, 0);
            match self.state.write_message(piece, &mut out[at + 2..]) {
                Ok(n) => {
                    out[at..at + 2].copy_from_slice(&(n as u16).to_be_bytes());
                    out.truncate(at + 2 + n);
                }
                Err(e) => {
                    out.truncate(at);
                    self.failed = true;
                    return Err(crypto(e));
                }
            }
        }
        Ok(())
    }

    /// Buffers partial frames; appends every whole frame's plaintext to out. `decrypt(&[], out)`
    /// drains bytes left from the handshake.
    pub fn decrypt(&mut self, wire: &[u8], out: &mut Vec<u8>) -> Result<(), NoiseError> {
        if self.failed {
            return Err(NoiseError::Failed);
        }
        let result = self.decrypt_all(wire, out);
        if result.is_err() {
            self.failed = true;
        }
        result
    }

    fn decrypt_all(&mut self, mut wire: &[u8], out: &mut Vec<u8>) -> Result<(), NoiseError> {
        // First the frame(s) already begun, topped up from `wire` only as far as needed.
        while !self.pending.is_empty() {
            let Some(end) = self.top_up(&mut wire, 2).map(|h| 2 + usize::from(u16::from_be_bytes(h))) else {
                return Ok(());
            };
            if self.top_up(&mut wire, end).is_none() {
                return Ok(());
            }
            open(&mut self.state, &self.pending[2..end], out)?;
            self.pending.drain(..end);
        }
        // Then whole frames straight from the input, without copying them.
        while let Some(&[hi, lo]) = wire.get(..2) {
            let end = 2 + usize::from(u16::from_be_bytes([hi, lo]));
            let Some(frame) = wire.get(2..end) else { break };
            open(&mut self.state, frame, out)?;
            wire = &wire[end..];
        }
        self.pending.extend_from_slice(wire);
        Ok(())
    }

    /// Moves bytes from `wire` until `pending` holds `want`; the first two then, or `None` if
    /// the input ran out first.
    fn top_up(&mut self, wire: &mut &[u8], want: usize) -> Option<[u8; 2]> {
        if self.pending.len() < want {
            let take = (want - self.pending.len()).min(wire.len());
            self.pending.extend_from_slice(&wire[..take]);
            *wire = &wire[take..];
        }
        match self.pending.get(..2) {
            Some(&[hi, lo]) if self.pending.len() >= want => Some([hi, lo]),
            _ => None,
        }
    }
}

/// Decrypts one message (without its length) onto the end of `out`.
fn open(state: &mut snow::TransportState, frame: &[u8], out: &mut Vec<u8>) -> Result<(), NoiseError> {
    let Some(len) = frame.len().checked_sub(TAG) else {
        return Err(NoiseError::Frame("shorter than its authentication tag"));
    };
    let at = out.len();
    out.resize(at + len, 0);
    match state.read_message(frame, &mut out[at..]) {
        Ok(n) => {
            out.truncate(at + n);
            Ok(())
        }
        Err(e) => {
            out.truncate(at);
            Err(crypto(e))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::libp2p::keys::NoRsa;

    const YAMUX: &str = "/yamux/1.0.0";
    const MPLEX: &str = "/mplex/6.7.0";

    fn ids() -> (Identity, Identity) {
        (Identity::from_seed([1; 32]), Identity::from_seed([2; 32]))
    }

    fn peer(id: &Identity) -> PeerId {
        PeerId::from_ed25519(&id.public_key())
    }

    /// Moves everything `from` has to send into `to`, `cut` bytes at a time; returns the
    /// frames' sizes.
    fn pump(from: &mut Handshake, to: &mut Handshake, cut: usize) -> Result<Vec<usize>, NoiseError> {
        let mut sizes = Vec::new();
        while let Some(frame) = from.poll_output() {
            sizes.push(frame.len());
            for piece in frame.chunks(cut) {
                to.handle_input(piece, &NoRsa)?;
            }
        }
        Ok(sizes)
    }

    fn pair(expected: Option<PeerId>, i_mux: &[&str], r_mux: &[&str]) -> (Handshake, Handshake) {
        let (a, b) = ids();
        let i = Handshake::initiator(&a, Seed::from_u64(1), expected, i_mux, &Ciphers::default()).unwrap();
        let r = Handshake::responder(&b, Seed::from_u64(2), r_mux, &Ciphers::default()).unwrap();
        (i, r)
    }

    fn connect(cut: usize) -> (Transport, Remote, Transport, Remote) {
        let (a, b) = ids();
        let (mut i, mut r) = pair(Some(peer(&b)), &[YAMUX], &[YAMUX, MPLEX]);
        // Message 1 is the bare ephemeral key; message 2 carries 134 bytes of payload as
        // kubo's (36-byte key, 64-byte signature, two muxers) = 32 + 48 + 134 + 16; message 3
        // one muxer less: 48 + 120 + 16. Each with its two-byte length.
        assert_eq!(pump(&mut i, &mut r, cut).unwrap(), [2 + 32]);
        assert_eq!(pump(&mut r, &mut i, cut).unwrap(), [2 + 230]);
        assert!(i.is_done() && !r.is_done());
        assert_eq!(pump(&mut i, &mut r, cut).unwrap(), [2 + 184]);
        assert!(r.is_done());
        assert!(i.poll_output().is_none() && r.poll_output().is_none());
        let (ti, ri) = i.finish().unwrap();
        let (tr, rr) = r.finish().unwrap();
        assert_eq!(ri.peer, peer(&b));
        assert_eq!(rr.peer, peer(&a));
        assert_eq!(ri.key, PublicKey::Ed25519(b.public_key()));
        (ti, ri, tr, rr)
    }

    #[test]
    fn handshake_identifies_both_sides_and_their_muxers() {
        for cut in [1, 3, 1000] {
            let (_, ri, _, rr) = connect(cut);
            assert_eq!(ri.muxers, [YAMUX, MPLEX]);
            assert_eq!(rr.muxers, [YAMUX]);
            assert_eq!(negotiated_muxer(&rr.muxers, &ri.muxers), Some(YAMUX));
        }
        assert_eq!(negotiated_muxer(&[MPLEX.into()], &[YAMUX.into()]), None);
    }

    #[test]
    fn dialing_the_wrong_peer_fails() {
        let other = peer(&Identity::from_seed([9; 32]));
        let (mut i, mut r) = pair(Some(other.clone()), &[YAMUX], &[YAMUX]);
        pump(&mut i, &mut r, 64).unwrap();
        let err = pump(&mut r, &mut i, 64).unwrap_err();
        let got = peer(&ids().1);
        assert_eq!(err, NoiseError::WrongPeer { expected: other.clone(), got: got.clone() });
        assert_eq!(err.to_string(), format!("noise: dialed {} but reached {}", other.to_text(), got.to_text()));
        assert_eq!(i.handle_input(&[], &NoRsa), Err(NoiseError::Failed));
        assert_eq!(i.finish().err(), Some(NoiseError::Failed));
    }

    #[test]
    fn a_tampered_signature_fails() {
        let (mut i, mut r) = pair(None, &[], &[]);
        let mut p = HandshakePayload::decode(&r.payload).unwrap();
        p.identity_sig.as_mut().unwrap()[10] ^= 1;
        r.payload = p.encode();
        pump(&mut i, &mut r, 64).unwrap();
        assert_eq!(pump(&mut r, &mut i, 64), Err(NoiseError::BadSignature));
    }

    #[test]
    fn a_signature_over_another_static_key_fails() {
        // The responder's payload from another connection (another static key) is refused.
        let (mut i, mut r) = pair(None, &[], &[]);
        let r2 = Handshake::responder(&ids().1, Seed::from_u64(3), &[], &Ciphers::default()).unwrap();
        r.payload = r2.payload.clone();
        pump(&mut i, &mut r, 64).unwrap();
        assert_eq!(pump(&mut r, &mut i, 64), Err(NoiseError::BadSignature));
    }

    #[test]
    fn unsupported_and_missing_keys_fail() {
        let secp = "08021221037777e994e452c21604f91de093ce415f5432f701dd8cd1a7a6fea0e630bfca99";
        let secp: Vec<u8> =
            (0..secp.len()).step_by(2).map(|i| u8::from_str_radix(&secp[i..i + 2], 16).unwrap()).collect();
        for (payload, err) in [
            (
                HandshakePayload { identity_key: Some(secp), identity_sig: Some(vec![0; 70]), ..Default::default() },
                NoiseError::UnsupportedKey("secp256k1"),
            ),
            (
                HandshakePayload { identity_sig: Some(vec![0; 64]), ..Default::default() },
                NoiseError::Payload("no identity key"),
            ),
        ] {
            let (mut i, mut r) = pair(None, &[], &[]);
            r.payload = payload.encode();
            pump(&mut i, &mut r, 64).unwrap();
            assert_eq!(pump(&mut r, &mut i, 64), Err(err));
        }
    }

    #[test]
    fn payload_bytes_and_muxer_limit() {
        // identity_key 0a 24 …, identity_sig 12 40 …, extensions 22 0e { 12 0c "/yamux/1.0.0" }.
        let p = HandshakePayload {
            identity_key: Some(vec![0xaa; 36]),
            identity_sig: Some(vec![0xbb; 64]),
            stream_muxers: vec![YAMUX.into()],
        };
        let b = p.encode();
        assert_eq!(b.len(), 120);
        assert_eq!(&b[..2], [0x0a, 0x24]);
        assert_eq!(&b[38..40], [0x12, 0x40]);
        assert_eq!(&b[104..108], [0x22, 0x0e, 0x12, 0x0c]);
        assert_eq!(&b[108..], YAMUX.as_bytes());
        assert_eq!(HandshakePayload::decode(&b).unwrap(), p);
        let many = HandshakePayload { stream_muxers: vec!["/m".into(); MAX_MUXERS + 1], ..Default::default() };
        assert!(HandshakePayload::decode(&many.encode()).unwrap().stream_muxers.is_empty());
        assert!(HandshakePayload::decode(&[0x22, 0x02, 0x12]).is_err());
    }

    #[test]
    fn transport_round_trip_across_splits_and_big_messages() {
        let (mut ti, _, mut tr, _) = connect(7);
        let big: Vec<u8> = (0..200_000u32).map(|x| (x * 13) as u8).collect();
        let mut wire = Vec::new();
        ti.encrypt(&big, &mut wire).unwrap();
        // 200000 bytes = 3 full messages of 65519 and one of 3443, each with 2 + 16 bytes more.
        assert_eq!(wire.len(), 200_000 + 4 * 18);
        assert_eq!(&wire[..2], [0xff, 0xff]);
        assert_eq!(&wire[65_537..65_539], [0xff, 0xff]);
        assert_eq!(&wire[3 * 65_537..3 * 65_537 + 2], (3443u16 + 16).to_be_bytes());
        let mut w = wire.clone();
        for cut in [1, 2, 17, 65_536, 65_537, 1 << 20] {
            if cut > 1 {
                w.clear();
                ti.encrypt(&big, &mut w).unwrap();
            }
            let mut got = Vec::new();
            for piece in w.chunks(cut) {
                tr.decrypt(piece, &mut got).unwrap();
            }
            assert_eq!(got.len(), big.len(), "cut {cut}");
            assert!(got == big, "cut {cut}");
        }
        let mut back = Vec::new();
        tr.encrypt(b"", &mut back).unwrap();
        assert!(back.is_empty(), "nothing to send for nothing");
        tr.encrypt(b"pong", &mut back).unwrap();
        assert_eq!(back.len(), 2 + 4 + 16);
        let mut got = Vec::new();
        ti.decrypt(&back, &mut got).unwrap();
        assert_eq!(got, b"pong");
        // A replayed message fails (the nonce moved on), and the transport is dead after.
        assert!(matches!(tr.decrypt(&wire, &mut got), Err(NoiseError::Crypto(_))));
        assert_eq!(tr.encrypt(b"x", &mut back), Err(NoiseError::Failed));
    }

    #[test]
    fn bytes_behind_the_last_handshake_message_reach_the_transport() {
        let (mut i, mut r) = pair(None, &[], &[]);
        pump(&mut i, &mut r, 100).unwrap();
        pump(&mut r, &mut i, 100).unwrap();
        let mut msg3 = i.poll_output().unwrap();
        let (mut ti, _) = i.finish().unwrap();
        ti.encrypt(b"first", &mut msg3).unwrap();
        ti.encrypt(b"second", &mut msg3).unwrap();
        let split = msg3.len() - 3;
        r.handle_input(&msg3[..split], &NoRsa).unwrap();
        assert!(r.is_done());
        let (mut tr, _) = r.finish().unwrap();
        let mut got = Vec::new();
        tr.decrypt(&[], &mut got).unwrap();
        assert_eq!(got, b"first");
        tr.decrypt(&msg3[split..], &mut got).unwrap();
        assert_eq!(got, b"firstsecond");
    }

    #[test]
    fn bad_frames_fail_and_stay_failed() {
        let (mut ti, _, mut tr, _) = connect(1000);
        let mut out = Vec::new();
        assert_eq!(
            tr.decrypt(&[0x00, 0x05, 1, 2, 3, 4, 5], &mut out),
            Err(NoiseError::Frame("shorter than its authentication tag"))
        );
        assert_eq!(tr.decrypt(&[], &mut out), Err(NoiseError::Failed));
        let mut wire = Vec::new();
        ti.encrypt(b"hello", &mut wire).unwrap();
        *wire.last_mut().unwrap() ^= 1;
        let (_, _, mut tr2, _) = connect(1000);
        assert!(matches!(tr2.decrypt(&wire, &mut out), Err(NoiseError::Crypto(_))));
        assert!(out.is_empty());
        // A frame that claims the most a length can say waits for all of it.
        let (_, _, mut tr3, _) = connect(1000);
        tr3.decrypt(&[0xff, 0xff], &mut out).unwrap();
        assert!(tr3.decrypt(&vec![0u8; 65_535], &mut out).is_err());
        // A first handshake message of the wrong size is refused.
        let (_, mut r) = pair(None, &[], &[]);
        assert!(matches!(r.handle_input(&[0, 3, 1, 2, 3], &NoRsa), Err(NoiseError::Crypto(_))));
    }
}
