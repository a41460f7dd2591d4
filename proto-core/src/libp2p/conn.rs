//! One libp2p connection over TCP, layer by layer: multistream-select agrees on `/noise`, the
//! Noise handshake authenticates the peer, the muxer is yamux (agreed inside the handshake when
//! both sides list it, else by multistream-select inside Noise), and every yamux stream agrees on
//! its own protocol with multistream-select before its bytes reach the protocol.
//!
//! Driving it: hand every received byte to [`Connection::handle_input`], then take
//! [`Connection::poll_transmit`] (bytes for the socket) and [`Connection::poll_event`] until both
//! are empty; arm [`Connection::poll_timeout`]. A connection never fails its caller: anything
//! the peer does wrong ends in [`ConnEvent::Closed`] with the reason, after which the socket is
//! closed. Streams are opened with [`Connection::open_stream`] and written with
//! [`Connection::write`]; the data a protocol has dealt with is acknowledged with
//! [`Connection::consumed`], which is what yamux's flow control waits for.

use super::keys::{PublicKey, RsaVerifier};
use super::mss::{MssError, Negotiation};
use super::noise::{self, Handshake, Transport};
use super::yamux::{self, Role, Session, StreamId};
use super::PeerId;
use crate::identity::Identity;
use crate::rng::Seed;
use crate::session::Ciphers;
use std::collections::{BTreeMap, VecDeque};

/// The limits of one connection.
#[derive(Clone, Debug)]
pub struct ConnConfig {
    pub yamux: yamux::Config,
    /// Noise and the muxer must be up within this time.
    pub handshake_timeout_ms: u64,
    /// A stream must agree on its protocol within this time (kubo: 10 s).
    pub negotiation_timeout_ms: u64,
    /// Inbound streams still negotiating at once; more are reset.
    pub max_negotiating: usize,
}

impl Default for ConnConfig {
    fn default() -> Self {
        ConnConfig {
            yamux: yamux::Config::default(),
            handshake_timeout_ms: 15_000,
            negotiation_timeout_ms: 10_000,
            max_negotiating: 32,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConnEvent {
    /// The peer proved its key (Noise).
    Secured {
        peer: PeerId,
        key: PublicKey,
    },
    /// The muxer is up: streams may be opened.
    Ready,
    /// A stream agreed on a protocol (`inbound`: the peer opened it).
    Stream {
        id: StreamId,
        proto: String,
        inbound: bool,
    },
    Data {
        id: StreamId,
        data: Vec<u8>,
    },
    /// The peer will send no more on this stream.
    Fin {
        id: StreamId,
    },
    /// The stream is gone (reset by either side, or both sides finished).
    Gone {
        id: StreamId,
    },
    /// A stream that `write` refused (its send buffer was full) takes data again.
    Writable {
        id: StreamId,
    },
    /// An outbound stream the peer refused (no common protocol) or that failed to negotiate.
    Refused {
        id: StreamId,
        why: String,
    },
    /// The connection is over (the reason, for the log); close the socket.
    Closed {
        why: String,
    },
}

enum Stage {
    SecMss(Negotiation, Box<Handshake>),
    Noise(Box<Handshake>),
    MuxMss(Box<Transport>, Negotiation),
    Open(Box<Transport>, Box<Session>),
    Dead,
}

struct Stream {
    /// Multistream-select, until the stream agreed on a protocol.
    mss: Option<Negotiation>,
    inbound: bool,
    /// What the protocol wrote before the agreement.
    queued: Vec<u8>,
    close_queued: bool,
    started_ms: u64,
    /// Bytes already acknowledged to yamux during the negotiation that the protocol will
    /// acknowledge again (the rest behind the agreement).
    consumed_ahead: usize,
}

pub struct Connection {
    stage: Stage,
    dialer: bool,
    cfg: ConnConfig,
    supported: Vec<String>,
    plain: Vec<u8>,
    wire: Vec<u8>,
    events: VecDeque<ConnEvent>,
    streams: BTreeMap<StreamId, Stream>,
    started_ms: u64,
    ready: bool,
    closed: bool,
}

const MUXER: &str = yamux::PROTOCOL;

impl Connection {
    /// A connection this side dialed; `expected` is the peer the address named.
    #[allow(clippy::too_many_arguments)]
    pub fn dialer(
        id: &Identity,
        seed: Seed,
        expected: Option<PeerId>,
        supported: Vec<String>,
        cfg: ConnConfig,
        ciphers: &Ciphers,
        now_ms: u64,
    ) -> Self {
        let mut c = Connection::new(true, supported, cfg, now_ms);
        match Handshake::initiator(id, seed, expected, &[MUXER], ciphers) {
            Ok(h) => {
                let mut mss = Negotiation::dialer(&[noise::PROTOCOL]);
                c.wire = mss.transmit();
                c.stage = Stage::SecMss(mss, Box::new(h));
            }
            Err(e) => c.die(e.to_string()),
        }
        c
    }

    /// A connection the peer dialed (its first bytes were a multistream-select header).
    pub fn listener(
        id: &Identity,
        seed: Seed,
        supported: Vec<String>,
        cfg: ConnConfig,
        ciphers: &Ciphers,
        now_ms: u64,
    ) -> Self {
        let mut c = Connection::new(false, supported, cfg, now_ms);
        match Handshake::responder(id, seed, &[MUXER], ciphers) {
            Ok(h) => {
                let mut mss = Negotiation::listener(&[noise::PROTOCOL]);
                c.wire = mss.transmit();
                c.stage = Stage::SecMss(mss, Box::new(h));
            }
            Err(e) => c.die(e.to_string()),
        }
        c
    }
}

impl Connection {
    fn new(dialer: bool, supported: Vec<String>, cfg: ConnConfig, now_ms: u64) -> Self {
        Connection {
            stage: Stage::Dead,
            dialer,
            cfg,
            supported,
            plain: Vec::new(),
            wire: Vec::new(),
            events: VecDeque::new(),
            streams: BTreeMap::new(),
            started_ms: now_ms,
            ready: false,
            closed: false,
        }
    }

    /// Whether the muxer is up.
    pub fn is_ready(&self) -> bool {
        self.ready
    }

    pub fn is_dead(&self) -> bool {
        self.closed
    }

    /// Bytes for the socket, if any.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        (!self.wire.is_empty()).then(|| std::mem::take(&mut self.wire))
    }

    pub fn poll_event(&mut self) -> Option<ConnEvent> {
        self.events.pop_front()
    }

    /// Bytes from the socket.
    pub fn handle_input(&mut self, now_ms: u64, bytes: &[u8], rsa: &dyn RsaVerifier) {
        match std::mem::replace(&mut self.stage, Stage::Dead) {
            Stage::Open(mut t, mut y) => {
                let mut plain = std::mem::take(&mut self.plain);
                plain.clear();
                let r = t.decrypt(bytes, &mut plain).map_err(|e| e.to_string());
                let r = r.and_then(|()| y.handle_input(&plain, now_ms).map_err(|e| e.to_string()));
                self.plain = plain;
                self.stage = Stage::Open(t, y);
                self.pump(now_ms);
                if let Err(why) = r {
                    self.die(why);
                }
            }
            Stage::SecMss(mut mss, h) => {
                mss.handle_bytes(bytes);
                self.wire.extend_from_slice(&mss.transmit());
                match mss.outcome() {
                    None => self.stage = Stage::SecMss(mss, h),
                    Some(Err(e)) => self.die(e.to_string()),
                    Some(Ok(_)) => {
                        let rest = mss.take_rest();
                        self.stage = Stage::Noise(h);
                        self.noise_input(now_ms, &rest, rsa);
                    }
                }
            }
            Stage::Noise(h) => {
                self.stage = Stage::Noise(h);
                self.noise_input(now_ms, bytes, rsa);
            }
            Stage::MuxMss(mut t, mss) => {
                let mut plain = Vec::new();
                match t.decrypt(bytes, &mut plain) {
                    Ok(()) => self.mux_input(now_ms, t, mss, &plain),
                    Err(e) => self.die(e.to_string()),
                }
            }
            Stage::Dead => {}
        }
    }

    fn noise_input(&mut self, now_ms: u64, bytes: &[u8], rsa: &dyn RsaVerifier) {
        let Stage::Noise(h) = &mut self.stage else { return };
        let r = h.handle_input(bytes, rsa);
        while let Some(out) = h.poll_output() {
            self.wire.extend_from_slice(&out);
        }
        if let Err(e) = r {
            return self.die(e.to_string());
        }
        if !h.is_done() {
            return;
        }
        let Stage::Noise(h) = std::mem::replace(&mut self.stage, Stage::Dead) else { return };
        let (mut t, remote) = match h.finish() {
            Ok((t, r)) => (Box::new(t), r),
            Err(e) => return self.die(e.to_string()),
        };
        self.events.push_back(ConnEvent::Secured { peer: remote.peer.clone(), key: remote.key.clone() });
        let mut leftover = Vec::new();
        if let Err(e) = t.decrypt(&[], &mut leftover) {
            return self.die(e.to_string());
        }
        if remote.muxers.iter().any(|m| m == MUXER) {
            self.start_yamux(now_ms, t, &leftover);
        } else {
            // No muxer agreed inside the handshake: multistream-select inside Noise.
            let mut mss = if self.dialer { Negotiation::dialer(&[MUXER]) } else { Negotiation::listener(&[MUXER]) };
            let first = mss.transmit();
            if let Err(e) = t.encrypt(&first, &mut self.wire) {
                return self.die(e.to_string());
            }
            self.mux_input(now_ms, t, mss, &leftover);
        }
    }

    fn mux_input(&mut self, now_ms: u64, mut t: Box<Transport>, mut mss: Negotiation, plain: &[u8]) {
        mss.handle_bytes(plain);
        if let Err(e) = t.encrypt(&mss.transmit(), &mut self.wire) {
            return self.die(e.to_string());
        }
        match mss.outcome() {
            None => self.stage = Stage::MuxMss(t, mss),
            Some(Err(e)) => self.die(e.to_string()),
            Some(Ok(_)) => {
                let rest = mss.take_rest();
                self.start_yamux(now_ms, t, &rest);
            }
        }
    }

    fn start_yamux(&mut self, now_ms: u64, t: Box<Transport>, first: &[u8]) {
        let role = if self.dialer { Role::Client } else { Role::Server };
        let mut y = Box::new(Session::new(role, self.cfg.yamux.clone(), now_ms));
        self.ready = true;
        self.events.push_back(ConnEvent::Ready);
        let r = if first.is_empty() { Ok(()) } else { y.handle_input(first, now_ms) };
        self.stage = Stage::Open(t, y);
        self.pump(now_ms);
        if let Err(e) = r {
            self.die(e.to_string());
        }
    }

    /// Turns yamux's events into the connection's and sends what yamux has queued.
    fn pump(&mut self, now_ms: u64) {
        loop {
            let Stage::Open(_, y) = &mut self.stage else { return };
            let Some(ev) = y.poll_event() else { break };
            self.on_yamux(now_ms, ev);
        }
        self.flush();
    }

    fn on_yamux(&mut self, now_ms: u64, ev: yamux::Event) {
        let Stage::Open(_, y) = &mut self.stage else { return };
        match ev {
            yamux::Event::Inbound(id) => {
                let negotiating = self.streams.values().filter(|s| s.mss.is_some()).count();
                if negotiating >= self.cfg.max_negotiating {
                    y.reset(id);
                    return;
                }
                let supported: Vec<&str> = self.supported.iter().map(String::as_str).collect();
                let mut mss = Negotiation::listener(&supported);
                let _ = y.send(id, &mss.transmit());
                self.streams.insert(id, Stream::new(Some(mss), true, now_ms));
            }
            yamux::Event::Data(id, data) => self.on_stream_data(id, data),
            yamux::Event::Fin(id) => match self.streams.get(&id) {
                Some(s) if s.mss.is_some() => {
                    y.reset(id);
                    self.streams.remove(&id);
                }
                Some(_) => self.events.push_back(ConnEvent::Fin { id }),
                None => {}
            },
            yamux::Event::Reset(id) | yamux::Event::Closed(id) => {
                if let Some(s) = self.streams.remove(&id) {
                    if s.mss.is_some() && !s.inbound {
                        self.events.push_back(ConnEvent::Refused { id, why: "the peer reset the stream".into() });
                    } else if s.mss.is_none() {
                        self.events.push_back(ConnEvent::Gone { id });
                    }
                }
            }
            yamux::Event::Writable(id) => {
                if self.streams.get(&id).is_some_and(|s| s.mss.is_none()) {
                    self.events.push_back(ConnEvent::Writable { id });
                }
            }
            yamux::Event::GoAway(_) => {}
        }
    }

    fn on_stream_data(&mut self, id: StreamId, data: Vec<u8>) {
        let Stage::Open(_, y) = &mut self.stage else { return };
        let Some(s) = self.streams.get_mut(&id) else {
            y.consumed(id, data.len());
            return;
        };
        let Some(mss) = s.mss.as_mut() else {
            self.events.push_back(ConnEvent::Data { id, data });
            return;
        };
        mss.handle_bytes(&data);
        y.consumed(id, data.len());
        let reply = mss.transmit();
        if !reply.is_empty() {
            let _ = y.send(id, &reply);
        }
        let proto = match mss.outcome() {
            None => return,
            Some(Err(e)) => Err(e.clone()),
            Some(Ok(p)) => Ok(p.to_string()),
        };
        match proto {
            Err(e) => self.refuse(id, e),
            Ok(proto) => {
                let rest = mss.take_rest();
                s.mss = None;
                s.consumed_ahead = rest.len();
                let inbound = s.inbound;
                let queued = std::mem::take(&mut s.queued);
                let close = s.close_queued;
                if !queued.is_empty() {
                    let _ = y.send(id, &queued);
                }
                if close {
                    y.close(id);
                }
                self.events.push_back(ConnEvent::Stream { id, proto, inbound });
                if !rest.is_empty() {
                    self.events.push_back(ConnEvent::Data { id, data: rest });
                }
            }
        }
    }

    fn refuse(&mut self, id: StreamId, e: MssError) {
        if let Stage::Open(_, y) = &mut self.stage {
            y.reset(id);
        }
        if let Some(s) = self.streams.remove(&id) {
            if !s.inbound {
                self.events.push_back(ConnEvent::Refused { id, why: e.to_string() });
            }
        }
    }

    fn flush(&mut self) {
        let Stage::Open(t, y) = &mut self.stage else { return };
        let mut plain = std::mem::take(&mut self.plain);
        plain.clear();
        while y.poll_output(&mut plain) {}
        let r = if plain.is_empty() { Ok(()) } else { t.encrypt(&plain, &mut self.wire) };
        self.plain = plain;
        if let Err(e) = r {
            self.die(e.to_string());
        }
    }

    fn die(&mut self, why: String) {
        if !self.closed {
            self.closed = true;
            self.stage = Stage::Dead;
            self.streams.clear();
            self.events.push_back(ConnEvent::Closed { why });
        }
    }

    /// Opens a stream proposing `protos`, best first; `None` before the muxer is up or when no
    /// more streams may be opened.
    pub fn open_stream(&mut self, now_ms: u64, protos: &[&str]) -> Option<StreamId> {
        let Stage::Open(_, y) = &mut self.stage else { return None };
        let id = y.open().ok()?;
        let mut mss = Negotiation::dialer(protos);
        let _ = y.send(id, &mss.transmit());
        self.streams.insert(id, Stream::new(Some(mss), false, now_ms));
        self.flush();
        Some(id)
    }

    /// Writes on a stream; `false` when the stream is gone or its send buffer is full (a
    /// `Writable` event follows once there is room).
    pub fn write(&mut self, id: StreamId, data: &[u8]) -> bool {
        let Stage::Open(_, y) = &mut self.stage else { return false };
        let Some(s) = self.streams.get_mut(&id) else { return false };
        let ok = if s.mss.is_some() {
            if s.queued.len() + data.len() > self.cfg.yamux.max_send_buffer {
                return false;
            }
            s.queued.extend_from_slice(data);
            true
        } else {
            y.send(id, data).is_ok()
        };
        self.flush();
        ok
    }

    /// How much `write` takes now without queuing beyond the peer's window.
    pub fn send_room(&self, id: StreamId) -> usize {
        match (&self.stage, self.streams.get(&id)) {
            (Stage::Open(_, y), Some(s)) if s.mss.is_none() => y.send_room(id),
            _ => 0,
        }
    }

    /// Half-closes a stream once what was written has gone.
    pub fn close_stream(&mut self, id: StreamId) {
        let Stage::Open(_, y) = &mut self.stage else { return };
        match self.streams.get_mut(&id) {
            Some(s) if s.mss.is_some() => s.close_queued = true,
            Some(_) => y.close(id),
            None => return,
        }
        self.flush();
    }

    pub fn reset_stream(&mut self, id: StreamId) {
        let Stage::Open(_, y) = &mut self.stage else { return };
        y.reset(id);
        self.streams.remove(&id);
        self.flush();
    }

    /// The protocol has dealt with `n` bytes of the stream's data.
    pub fn consumed(&mut self, id: StreamId, n: usize) {
        let Stage::Open(_, y) = &mut self.stage else { return };
        let n = match self.streams.get_mut(&id) {
            Some(s) => {
                let ahead = s.consumed_ahead.min(n);
                s.consumed_ahead -= ahead;
                n - ahead
            }
            None => n,
        };
        if n > 0 {
            y.consumed(id, n);
            self.flush();
        }
    }

    /// Ends the connection (GoAway, then the caller closes the socket).
    pub fn close(&mut self, why: &str) {
        if let Stage::Open(_, y) = &mut self.stage {
            y.go_away(0);
        }
        self.flush();
        self.die(why.to_string());
    }

    /// Streams open now.
    pub fn stream_count(&self) -> usize {
        self.streams.len()
    }

    pub fn handle_timeout(&mut self, now_ms: u64) {
        if !self.ready && now_ms >= self.started_ms + self.cfg.handshake_timeout_ms {
            return self.die("the libp2p handshake took too long".into());
        }
        let late: Vec<StreamId> = self
            .streams
            .iter()
            .filter(|(_, s)| s.mss.is_some() && now_ms >= s.started_ms + self.cfg.negotiation_timeout_ms)
            .map(|(id, _)| *id)
            .collect();
        for id in late {
            self.refuse(id, MssError::Malformed("no protocol agreed in time"));
        }
        if let Stage::Open(_, y) = &mut self.stage {
            if let Err(e) = y.handle_timeout(now_ms) {
                self.flush();
                return self.die(e.to_string());
            }
        }
        self.pump(now_ms);
    }

    pub fn poll_timeout(&self) -> Option<u64> {
        let handshake = (!self.ready && !self.is_dead()).then_some(self.started_ms + self.cfg.handshake_timeout_ms);
        let negotiation = self
            .streams
            .values()
            .filter(|s| s.mss.is_some())
            .map(|s| s.started_ms + self.cfg.negotiation_timeout_ms)
            .min();
        let muxer = match &self.stage {
            Stage::Open(_, y) => y.poll_timeout(),
            _ => None,
        };
        [handshake, negotiation, muxer].into_iter().flatten().min()
    }
}

impl Stream {
    fn new(mss: Option<Negotiation>, inbound: bool, now_ms: u64) -> Self {
        Stream { mss, inbound, queued: Vec::new(), close_queued: false, started_ms: now_ms, consumed_ahead: 0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::libp2p::keys::NoRsa;

    fn pair() -> (Connection, Connection, PeerId, PeerId) {
        let (a, b) = (Identity::from_seed([1; 32]), Identity::from_seed([2; 32]));
        let (pa, pb) = (PeerId::from_ed25519(&a.public_key()), PeerId::from_ed25519(&b.public_key()));
        let protos = vec!["/echo/1.0.0".to_string()];
        let d = Connection::dialer(
            &a,
            Seed([3; 32]),
            Some(pb.clone()),
            protos.clone(),
            ConnConfig::default(),
            &Ciphers(None),
            0,
        );
        let l = Connection::listener(&b, Seed([4; 32]), protos, ConnConfig::default(), &Ciphers(None), 0);
        (d, l, pa, pb)
    }

    /// Moves bytes both ways until neither side has any; returns each side's events.
    fn shuttle(d: &mut Connection, l: &mut Connection) -> (Vec<ConnEvent>, Vec<ConnEvent>) {
        let (mut de, mut le) = (Vec::new(), Vec::new());
        for _ in 0..100 {
            let mut moved = false;
            while let Some(b) = d.poll_transmit() {
                // Delivered in odd-sized pieces: no layer may assume frame boundaries.
                for chunk in b.chunks(7) {
                    l.handle_input(1, chunk, &NoRsa);
                }
                moved = true;
            }
            while let Some(b) = l.poll_transmit() {
                for chunk in b.chunks(5) {
                    d.handle_input(1, chunk, &NoRsa);
                }
                moved = true;
            }
            de.extend(std::iter::from_fn(|| d.poll_event()));
            le.extend(std::iter::from_fn(|| l.poll_event()));
            if !moved {
                break;
            }
        }
        (de, le)
    }

    #[test]
    fn the_whole_stack_carries_a_stream() {
        let (mut d, mut l, pa, pb) = pair();
        let (de, le) = shuttle(&mut d, &mut l);
        assert!(de.iter().any(|e| matches!(e, ConnEvent::Secured { peer, .. } if *peer == pb)), "{de:?}");
        assert!(le.iter().any(|e| matches!(e, ConnEvent::Secured { peer, .. } if *peer == pa)), "{le:?}");
        assert!(d.is_ready() && l.is_ready());
        let id = d.open_stream(1, &["/nope/1", "/echo/1.0.0"]).unwrap();
        assert!(d.write(id, b"hello"));
        d.close_stream(id);
        let (de, le) = shuttle(&mut d, &mut l);
        assert!(
            de.iter().any(|e| *e == ConnEvent::Stream { id, proto: "/echo/1.0.0".into(), inbound: false }),
            "{de:?}"
        );
        let data: Vec<u8> = le
            .iter()
            .filter_map(|e| if let ConnEvent::Data { data, .. } = e { Some(data.clone()) } else { None })
            .flatten()
            .collect();
        assert_eq!(data, b"hello");
        assert!(le.iter().any(|e| matches!(e, ConnEvent::Fin { .. })));
    }

    #[test]
    fn a_wrong_peer_or_garbage_closes_the_connection() {
        let (a, b) = (Identity::from_seed([1; 32]), Identity::from_seed([2; 32]));
        let other = PeerId::from_ed25519(&[9; 32]);
        let mut d =
            Connection::dialer(&a, Seed([3; 32]), Some(other), vec![], ConnConfig::default(), &Ciphers(None), 0);
        let mut l = Connection::listener(&b, Seed([4; 32]), vec![], ConnConfig::default(), &Ciphers(None), 0);
        let (de, _) = shuttle(&mut d, &mut l);
        assert!(de.iter().any(|e| matches!(e, ConnEvent::Closed { .. })), "{de:?}");
        let mut l = Connection::listener(&b, Seed([4; 32]), vec![], ConnConfig::default(), &Ciphers(None), 0);
        // A multistream message without its newline.
        l.handle_input(0, b"\x05hello", &NoRsa);
        assert!(std::iter::from_fn(|| l.poll_event()).any(|e| matches!(e, ConnEvent::Closed { .. })));
        assert!(l.is_dead());
    }
}
