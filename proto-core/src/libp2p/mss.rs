//! multistream-select 1.0 (`/multistream/1.0.0`), sans-IO: how two libp2p peers agree on the
//! protocol of a connection or a stream. Each message is `uvarint(len) ‖ text ‖ '\n'`; both sides
//! send the header, the dialer proposes protocols one at a time, and the listener echoes the one
//! it takes or answers `na`. The bytes after the agreement belong to that protocol.
//!
//! Driving it: make a [`Negotiation`] as dialer or listener, send what [`Negotiation::transmit`]
//! gives, hand every received byte to [`Negotiation::handle_bytes`], and after each call send
//! `transmit` again and look at [`Negotiation::outcome`]. Once agreed, [`Negotiation::take_rest`]
//! gives the bytes that arrived behind the agreement. It has no timers: the caller bounds how
//! long a negotiation may take (kubo allows 10 s for a stream).

use crate::varint;
use std::fmt;

pub const HEADER: &str = "/multistream/1.0.0";
/// The listener's answer to a protocol it does not speak.
pub const NA: &str = "na";
/// Longest message, `'\n'` included (go-multistream's limit).
pub const MAX_MESSAGE: usize = 1024;
/// Proposals a listener answers `na` to before it gives up on the peer.
pub const MAX_PROPOSALS: usize = 16;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MssError {
    /// Bytes that are no multistream message (bad length, no `'\n'`, not UTF-8).
    Malformed(&'static str),
    /// A message longer than [`MAX_MESSAGE`].
    TooLong(usize),
    /// The peer's first message is not the 1.0 header.
    Header(String),
    /// The listener speaks none of the dialer's protocols.
    NoneAgreed(Vec<String>),
    /// A dialer that kept proposing protocols this side does not speak.
    TooManyProposals,
    /// A listener that answered neither the proposal nor `na`.
    Unexpected(String),
}

impl fmt::Display for MssError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MssError::Malformed(why) => write!(f, "multistream-select: {why}"),
            MssError::TooLong(n) => write!(f, "multistream-select: a {n}-byte message (at most {MAX_MESSAGE})"),
            MssError::Header(h) => write!(f, "multistream-select: the peer speaks \"{h}\", not {HEADER}"),
            MssError::NoneAgreed(p) => write!(f, "the peer speaks none of {}", p.join(", ")),
            MssError::TooManyProposals => {
                write!(f, "multistream-select: more than {MAX_PROPOSALS} unknown protocols proposed")
            }
            MssError::Unexpected(m) => write!(f, "multistream-select: the peer answered \"{m}\""),
        }
    }
}

impl std::error::Error for MssError {}

/// One message on the wire.
pub fn encode(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + 3);
    varint::write(&mut out, text.len() as u64 + 1);
    out.extend_from_slice(text.as_bytes());
    out.push(b'\n');
    out
}

/// The first message of `buf`: its text and the bytes it took, `Ok(None)` when more are needed.
pub fn decode(buf: &[u8]) -> Result<Option<(String, usize)>, MssError> {
    let (len, n) = match varint::read(buf) {
        Some(x) => x,
        // A varint cut short is all continuation bytes; anything else is not one.
        None if buf.len() < 10 && buf.iter().all(|b| b & 0x80 != 0) => return Ok(None),
        None => return Err(MssError::Malformed("bad length")),
    };
    let len = usize::try_from(len).map_err(|_| MssError::TooLong(usize::MAX))?;
    if len > MAX_MESSAGE {
        return Err(MssError::TooLong(len));
    }
    let Some(body) = buf.get(n..n + len) else { return Ok(None) };
    let Some((b'\n', text)) = body.split_last() else { return Err(MssError::Malformed("no newline")) };
    let text = std::str::from_utf8(text).map_err(|_| MssError::Malformed("not UTF-8"))?;
    Ok(Some((text.to_string(), n + len)))
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Role {
    /// Protocols to propose, best first; `next` is the one on the wire.
    Dialer { proposals: Vec<String>, next: usize },
    /// Protocols this side speaks; `refused` counts the `na`s sent.
    Listener { supported: Vec<String>, refused: usize },
}

pub struct Negotiation {
    role: Role,
    header_seen: bool,
    inbuf: Vec<u8>,
    out: Vec<u8>,
    outcome: Option<Result<String, MssError>>,
}

impl Negotiation {
    /// A dialer proposing `protocols`, best first. The header and the first proposal go out at
    /// once, as go-libp2p sends them.
    pub fn dialer(protocols: &[&str]) -> Self {
        let mut n =
            Negotiation::new(Role::Dialer { proposals: protocols.iter().map(|p| p.to_string()).collect(), next: 0 });
        match protocols.first() {
            Some(p) => n.out.extend_from_slice(&encode(p)),
            None => n.outcome = Some(Err(MssError::NoneAgreed(Vec::new()))),
        }
        n
    }

    /// A listener that takes any of `supported`. Its header goes out at once.
    pub fn listener(supported: &[&str]) -> Self {
        Negotiation::new(Role::Listener { supported: supported.iter().map(|p| p.to_string()).collect(), refused: 0 })
    }

    fn new(role: Role) -> Self {
        Negotiation { role, header_seen: false, inbuf: Vec::new(), out: encode(HEADER), outcome: None }
    }

    /// Bytes to send now (empty when there are none).
    pub fn transmit(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }

    /// `None` while negotiating; then the agreed protocol, or why there is none.
    pub fn outcome(&self) -> Option<Result<&str, &MssError>> {
        self.outcome.as_ref().map(|r| r.as_ref().map(String::as_str))
    }

    /// After the agreement: the bytes that came behind it, which are the protocol's.
    pub fn take_rest(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.inbuf)
    }

    pub fn handle_bytes(&mut self, bytes: &[u8]) {
        if self.outcome.is_some() {
            // Past the agreement, bytes belong to the protocol (or, after a failure, to nobody).
            if matches!(self.outcome, Some(Ok(_))) {
                self.inbuf.extend_from_slice(bytes);
            }
            return;
        }
        self.inbuf.extend_from_slice(bytes);
        while self.outcome.is_none() {
            match decode(&self.inbuf) {
                Ok(None) => return,
                Ok(Some((text, used))) => {
                    self.inbuf.drain(..used);
                    self.on_message(text);
                }
                Err(e) => {
                    self.inbuf.clear();
                    self.outcome = Some(Err(e));
                }
            }
        }
    }

    fn on_message(&mut self, text: String) {
        if !self.header_seen {
            self.header_seen = true;
            if text != HEADER {
                self.outcome = Some(Err(MssError::Header(text)));
            }
            return;
        }
        match &mut self.role {
            Role::Listener { supported, refused } => {
                if supported.contains(&text) {
                    self.out.extend_from_slice(&encode(&text));
                    self.outcome = Some(Ok(text));
                } else if *refused >= MAX_PROPOSALS {
                    self.outcome = Some(Err(MssError::TooManyProposals));
                } else {
                    // `ls` and the deprecated simultaneous-open line get `na` too, as kubo does.
                    *refused += 1;
                    self.out.extend_from_slice(&encode(NA));
                }
            }
            Role::Dialer { proposals, next } => {
                if proposals.get(*next) == Some(&text) {
                    self.outcome = Some(Ok(text));
                } else if text == NA {
                    *next += 1;
                    match proposals.get(*next) {
                        Some(p) => self.out.extend_from_slice(&encode(p)),
                        None => self.outcome = Some(Err(MssError::NoneAgreed(proposals.clone()))),
                    }
                } else {
                    self.outcome = Some(Err(MssError::Unexpected(text)));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    #[test]
    fn messages_are_the_bytes_kubo_sends() {
        assert_eq!(encode(HEADER), hex("13 2f6d756c746973747265616d2f312e302e30 0a"));
        assert_eq!(encode(NA), hex("03 6e 61 0a"));
        assert_eq!(encode("/noise"), hex("07 2f6e6f697365 0a"));
        assert_eq!(decode(&hex("07 2f6e6f697365 0a ff")), Ok(Some(("/noise".into(), 8))));
        assert_eq!(decode(&hex("07 2f6e")), Ok(None));
        assert_eq!(decode(&hex("80")), Ok(None));
        assert_eq!(decode(&hex("80 00")), Err(MssError::Malformed("bad length")), "non-minimal length");
        assert_eq!(decode(&hex("03 6e 61 0b")), Err(MssError::Malformed("no newline")));
        assert_eq!(decode(&hex("81 08")), Err(MssError::TooLong(1025)));
    }

    /// kubo dialing us over TCP: its first segment, observed (libp2p-wire.md §2), and the answer
    /// it accepts: our header, `na` to simultaneous-connect, the `/noise` echo.
    #[test]
    fn a_listener_answers_kubos_first_segment() {
        let kubo =
            hex("132f6d756c746973747265616d2f312e302e300a 1d2f6c69627032702f73696d756c74616e656f75732d636f6e6e6563740a
             072f6e6f6973650a");
        let mut l = Negotiation::listener(&["/noise"]);
        let mut sent = l.transmit();
        let mut noise_first = kubo.clone();
        noise_first.extend_from_slice(&[0, 32]); // Noise's first frame begins right behind
        l.handle_bytes(&noise_first);
        sent.extend(l.transmit());
        assert_eq!(sent, [encode(HEADER), encode(NA), encode("/noise")].concat());
        assert_eq!(l.outcome(), Some(Ok("/noise")));
        assert_eq!(l.take_rest(), vec![0, 32]);
    }

    #[test]
    fn a_dialer_moves_past_na_one_byte_at_a_time() {
        let mut d = Negotiation::dialer(&["/yamux/1.0.0", "/mplex/6.7.0"]);
        assert_eq!(d.transmit(), [encode(HEADER), encode("/yamux/1.0.0")].concat());
        let reply = [encode(HEADER), encode(NA)].concat();
        for b in &reply {
            d.handle_bytes(std::slice::from_ref(b));
        }
        assert_eq!(d.outcome(), None);
        assert_eq!(d.transmit(), encode("/mplex/6.7.0"));
        d.handle_bytes(&[encode("/mplex/6.7.0"), b"payload".to_vec()].concat());
        assert_eq!(d.outcome(), Some(Ok("/mplex/6.7.0")));
        assert_eq!(d.take_rest(), b"payload");
        d.handle_bytes(b" more");
        assert_eq!(d.take_rest(), b" more");
    }

    #[test]
    fn two_ends_agree_or_say_why_not() {
        let run = |offer: &[&str], speak: &[&str]| {
            let (mut d, mut l) = (Negotiation::dialer(offer), Negotiation::listener(speak));
            for _ in 0..40 {
                let (a, b) = (d.transmit(), l.transmit());
                l.handle_bytes(&a);
                d.handle_bytes(&b);
            }
            (
                d.outcome().map(|r| r.map(str::to_string).map_err(Clone::clone)),
                l.outcome().map(|r| r.map(str::to_string).map_err(Clone::clone)),
            )
        };
        let (d, l) = run(&["/ipfs/kad/1.0.0", "/ipfs/bitswap/1.2.0"], &["/ipfs/bitswap/1.2.0", "/ipfs/id/1.0.0"]);
        assert_eq!(d, Some(Ok("/ipfs/bitswap/1.2.0".to_string())));
        assert_eq!(l, Some(Ok("/ipfs/bitswap/1.2.0".to_string())));
        let (d, l) = run(&["/a", "/b"], &["/c"]);
        assert_eq!(d, Some(Err(MssError::NoneAgreed(vec!["/a".into(), "/b".into()]))));
        assert_eq!(l, None, "the listener waits for a next proposal or the close");
        // A peer that is no multistream peer at all (an HTTP client, say).
        let mut l = Negotiation::listener(&["/noise"]);
        l.handle_bytes(b"\x0fGET / HTTP/1.1\n");
        assert_eq!(l.outcome(), Some(Err(&MssError::Header("GET / HTTP/1.1".into()))));
    }

    #[test]
    fn a_listener_stops_answering_endless_proposals() {
        let mut l = Negotiation::listener(&["/noise"]);
        let mut junk = encode(HEADER);
        for i in 0..=MAX_PROPOSALS {
            junk.extend(encode(&format!("/junk/{i}")));
        }
        l.handle_bytes(&junk);
        assert_eq!(l.outcome(), Some(Err(&MssError::TooManyProposals)));
    }
}
