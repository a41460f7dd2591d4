//! One connection: its session, frame reader, and what waits for the handshake.

use super::admission::Source;
use super::Config;
use crate::dht::{Addr, CommandId, Key};
use crate::frame::{FrameReader, FrameTooLarge};
use crate::id::NodeId;
use crate::identity::Identity;
use crate::rng::Seed;
use crate::session::{Session, SessionError};
use crate::time::Mono;

/// Why a connection's next frame could not be read.
#[derive(Debug)]
pub(super) enum NextError {
    TooLarge(FrameTooLarge),
    Session(SessionError),
}

impl std::fmt::Display for NextError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NextError::TooLarge(e) => e.fmt(f),
            NextError::Session(e) => e.fmt(f),
        }
    }
}

pub(super) struct Conn {
    session: Option<Session>,
    pub reader: FrameReader,
    pub peer: Option<Key>,
    pub expected: Option<Key>,
    pub addr: Option<Addr>,
    pub queue: Vec<Vec<u8>>,
    pub connect_cmd: Option<CommandId>,
    /// Accepted (not dialed by us).
    pub inbound: bool,
    /// Where an accepted connection comes from (`admission`).
    pub source: Option<Source>,
    pub opened: Mono,
    pub last_activity: Mono,
    pub last_sent: Mono,
    /// Where an accepted connection came from (its source address and port).
    pub remote: Option<Addr>,
    /// Whether any byte has arrived (the first bytes tell a libp2p peer from a node).
    pub got_bytes: bool,
}

impl Conn {
    pub(super) fn dialing(addr: Addr, expected: Option<Key>, now: Mono) -> Self {
        Conn {
            session: None,
            reader: FrameReader::default(),
            peer: None,
            expected,
            addr: Some(addr),
            queue: Vec::new(),
            connect_cmd: None,
            inbound: false,
            source: None,
            opened: now,
            last_activity: now,
            last_sent: now,
            remote: None,
            got_bytes: false,
        }
    }

    pub(super) fn accepted(
        id: &Identity,
        seed: Seed,
        remote: Addr,
        now: Mono,
        cfg: &Config,
    ) -> Result<Self, SessionError> {
        let s = Session::responder(id, seed, &cfg.ciphers)?;
        // The remote's source address is an ephemeral port, not where it listens: its listen
        // addresses arrive with its DHT messages.
        Ok(Conn {
            session: Some(s),
            reader: FrameReader::default(),
            peer: None,
            expected: None,
            addr: None,
            queue: Vec::new(),
            connect_cmd: None,
            inbound: true,
            source: Source::of(&remote),
            remote: Some(remote.clone()),
            got_bytes: false,
            opened: now,
            last_activity: now,
            last_sent: now,
        })
    }

    pub(super) fn start_initiator(
        &mut self,
        id: &Identity,
        seed: Seed,
        now: Mono,
        cfg: &Config,
    ) -> Result<Vec<u8>, SessionError> {
        let (s, first) = Session::initiator(id, seed, self.expected.map(NodeId::from), cfg.cipher, &cfg.ciphers)?;
        self.session = Some(s);
        self.last_activity = now;
        Ok(first)
    }

    pub(super) fn session_established(&self) -> bool {
        self.session.as_ref().is_some_and(Session::is_established)
    }

    pub(super) fn handshake(&mut self, frame: &[u8]) -> Result<Option<Vec<u8>>, SessionError> {
        let s = self.session.as_mut().ok_or(SessionError::NotReady)?;
        let reply = s.read_handshake(frame)?;
        if let Some(remote) = s.remote() {
            self.peer = Some(Key::from(remote));
        }
        Ok(reply)
    }

    /// Encrypts `plain` as one whole frame for the wire.
    pub(super) fn encrypt_frame(&mut self, plain: &[u8]) -> Result<Vec<u8>, SessionError> {
        self.session.as_mut().ok_or(SessionError::NotReady)?.encrypt_frame(plain)
    }

    /// The next whole frame of an established session, decrypted straight from the read
    /// buffer; `Ok(None)` until one has arrived.
    pub(super) fn decrypt_next(&mut self) -> Result<Option<Vec<u8>>, NextError> {
        let Some(frame) = self.reader.next_frame_ref().map_err(NextError::TooLarge)? else {
            return Ok(None);
        };
        let s = self.session.as_mut().ok_or(NextError::Session(SessionError::NotReady))?;
        s.decrypt(frame).map(Some).map_err(NextError::Session)
    }

    /// When this connection must be looked at again.
    pub(super) fn deadline(&self, cfg: &Config) -> Mono {
        if self.session_established() {
            Mono(self.last_activity.0 + cfg.idle_timeout_ms)
        } else {
            Mono(self.opened.0 + cfg.handshake_timeout_ms)
        }
    }

    pub(super) fn expired(&self, now: Mono, cfg: &Config) -> Option<&'static str> {
        if self.deadline(cfg) > now {
            None
        } else if self.session_established() {
            Some("idle timeout")
        } else {
            Some("handshake timeout")
        }
    }
}
