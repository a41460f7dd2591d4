//! Ping (`/ipfs/ping/1.0.0`): the dialer writes 32 random bytes, the listener echoes them, any
//! number of rounds on one stream.
//!
//! Listener: feed the stream's bytes to [`Echo::handle_input`] and write back what it returns.
//! Dialer: [`Pinger::new`] with 32 bytes from the caller's randomness, write
//! [`Pinger::request`], feed the answer to [`Pinger::handle_input`], which gives the round-trip
//! time once the whole echo matched; [`Pinger::next`] starts another round. The caller times a
//! round out (go closes an idle ping stream after 60 s).

use std::fmt;

pub const PROTOCOL: &str = "/ipfs/ping/1.0.0";
/// Bytes of one ping.
pub const SIZE: usize = 32;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PingError {
    /// The echo differs from what was sent.
    Mismatch,
    /// Bytes arrived with no ping outstanding.
    Unexpected,
}

impl fmt::Display for PingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PingError::Mismatch => f.write_str("ping: the echo differs from the ping"),
            PingError::Unexpected => f.write_str("ping: bytes with no ping outstanding"),
        }
    }
}

impl std::error::Error for PingError {}

/// The listener's side: echoes whole 32-byte pings, buffering at most one partial one.
#[derive(Clone, Debug, Default)]
pub struct Echo {
    partial: Vec<u8>,
}

impl Echo {
    pub fn new() -> Self {
        Echo::default()
    }

    /// The bytes to send back: every whole ping received so far, none of a partial one.
    pub fn handle_input(&mut self, mut bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity((self.partial.len() + bytes.len()) / SIZE * SIZE);
        if !self.partial.is_empty() {
            let take = (SIZE - self.partial.len()).min(bytes.len());
            self.partial.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.partial.len() < SIZE {
                return out;
            }
            out.append(&mut self.partial);
        }
        let whole = bytes.len() / SIZE * SIZE;
        out.extend_from_slice(&bytes[..whole]);
        self.partial.extend_from_slice(&bytes[whole..]);
        out
    }

    /// Bytes of a partial ping held back (always fewer than SIZE).
    pub fn buffered(&self) -> usize {
        self.partial.len()
    }
}

/// The dialer's side of one ping stream.
#[derive(Clone, Debug)]
pub struct Pinger {
    payload: [u8; SIZE],
    sent_ms: u64,
    /// Echo bytes received for the outstanding ping; `None` when none is outstanding.
    received: Option<Vec<u8>>,
}

impl Pinger {
    /// A ping with the caller's random `payload`, sent at `now_ms`.
    pub fn new(payload: [u8; SIZE], now_ms: u64) -> Self {
        Pinger { payload, sent_ms: now_ms, received: Some(Vec::with_capacity(SIZE)) }
    }

    /// The bytes to write for the outstanding ping.
    pub fn request(&self) -> Vec<u8> {
        self.payload.to_vec()
    }

    /// Starts another round on the same stream (after the last one was answered); returns the
    /// bytes to write.
    pub fn next(&mut self, payload: [u8; SIZE], now_ms: u64) -> Vec<u8> {
        *self = Pinger::new(payload, now_ms);
        self.request()
    }

    /// When the outstanding ping was sent, for the caller's timeout.
    pub fn outstanding_since(&self) -> Option<u64> {
        self.received.as_ref().map(|_| self.sent_ms)
    }

    /// Echo bytes: the round-trip time once the whole echo arrived and matched.
    pub fn handle_input(&mut self, bytes: &[u8], now_ms: u64) -> Result<Option<u64>, PingError> {
        let Some(received) = self.received.as_mut() else {
            return if bytes.is_empty() { Ok(None) } else { Err(PingError::Unexpected) };
        };
        if received.len() + bytes.len() > SIZE {
            return Err(PingError::Unexpected);
        }
        received.extend_from_slice(bytes);
        if !self.payload.starts_with(received) {
            return Err(PingError::Mismatch);
        }
        if received.len() < SIZE {
            return Ok(None);
        }
        self.received = None;
        Ok(Some(now_ms.saturating_sub(self.sent_ms)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_returns_whole_pings_only() {
        let ping: Vec<u8> = (0u8..64).collect();
        let mut e = Echo::new();
        assert_eq!(e.handle_input(&ping[..10]), b"");
        assert_eq!(e.buffered(), 10);
        assert_eq!(e.handle_input(&ping[10..40]), &ping[..32]);
        assert_eq!(e.buffered(), 8);
        assert_eq!(e.handle_input(&ping[40..64]), &ping[32..64]);
        assert_eq!(e.buffered(), 0);
        let three: Vec<u8> = (0u8..100).collect();
        assert_eq!(e.handle_input(&three), &three[..96]);
        assert_eq!(e.buffered(), 4);
    }

    #[test]
    fn pinger_measures_matching_echoes() {
        let mut p = Pinger::new([7; 32], 1000);
        assert_eq!(p.request(), vec![7u8; 32]);
        assert_eq!(p.outstanding_since(), Some(1000));
        assert_eq!(p.handle_input(&[7; 20], 1010), Ok(None));
        assert_eq!(p.handle_input(&[7; 12], 1025), Ok(Some(25)));
        assert_eq!(p.outstanding_since(), None);
        assert_eq!(p.handle_input(&[7], 1030), Err(PingError::Unexpected));
        assert_eq!(p.next([9; 32], 2000), vec![9u8; 32]);
        assert_eq!(p.handle_input(&[9; 32], 2003), Ok(Some(3)));
    }

    #[test]
    fn pinger_refuses_wrong_echoes() {
        let mut p = Pinger::new([7; 32], 0);
        assert_eq!(p.handle_input(&[7, 7, 8], 1), Err(PingError::Mismatch));
        let mut p = Pinger::new([7; 32], 0);
        assert_eq!(p.handle_input(&[7; 33], 1), Err(PingError::Unexpected));
    }
}
