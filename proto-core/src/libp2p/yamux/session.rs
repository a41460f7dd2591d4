//! The yamux session machine: parses frames from the peer incrementally, keeps the streams and
//! their flow control, answers pings, sends keepalive pings, and queues the frames to send in one
//! output buffer in the order they were made (so a SYN precedes its data and FIN follows it).
//! See the module above for how to drive it.

use super::frame::{self, Header, Kind, ACK, FIN, RST, SYN};
use super::stream::Stream;
use super::{Config, Event, Role, StreamId, YamuxError, HEADER_LEN, PROTOCOL_WINDOW};
use std::collections::{BTreeMap, VecDeque};

/// Where the parser is in the byte stream from the peer.
#[derive(Debug)]
enum Rx {
    Header {
        buf: [u8; HEADER_LEN],
        have: usize,
    },
    /// Inside a Data payload: delivered to `stream` if `deliver`, else drained; `flags` (FIN,
    /// RST) take effect after the last byte.
    Payload {
        stream: StreamId,
        deliver: bool,
        remaining: u32,
        flags: u16,
    },
}

const RX_HEADER: Rx = Rx::Header { buf: [0; HEADER_LEN], have: 0 };

/// GoAway codes.
const GOAWAY_PROTOCOL_ERROR: u32 = 1;

#[derive(Debug)]
pub struct Session {
    role: Role,
    config: Config,
    streams: BTreeMap<StreamId, Stream>,
    /// The next id `open` takes (u64 so running out is seen).
    next_id: u64,
    rx: Rx,
    out: Vec<u8>,
    events: VecDeque<Event>,
    /// Inbound streams that may still owe their ACK at the next `poll_output`.
    ack_queue: Vec<StreamId>,
    now_ms: u64,
    last_recv_ms: u64,
    /// Our unanswered ping: its value and when it went out.
    ping: Option<(u32, u64)>,
    next_ping: u32,
    rtt_ms: Option<u64>,
    local_goaway: bool,
    remote_goaway: bool,
    dead: bool,
}

impl Session {
    /// A session right after the security handshake. Its first output is a ping that measures
    /// the RTT (as go-yamux does).
    pub fn new(role: Role, config: Config, now_ms: u64) -> Self {
        let mut s = Session {
            role,
            config,
            streams: BTreeMap::new(),
            next_id: match role {
                Role::Client => 1,
                Role::Server => 2,
            },
            rx: RX_HEADER,
            out: Vec::new(),
            events: VecDeque::new(),
            ack_queue: Vec::new(),
            now_ms,
            last_recv_ms: now_ms,
            ping: None,
            next_ping: 0,
            rtt_ms: None,
            local_goaway: false,
            remote_goaway: false,
            dead: false,
        };
        s.send_ping();
        s
    }

    /// Plaintext bytes from the secure channel; any split. A fatal protocol error queues
    /// GoAway(1) in the output and returns Err; after that the session is dead.
    pub fn handle_input(&mut self, mut bytes: &[u8], now_ms: u64) -> Result<(), YamuxError> {
        if self.dead {
            return Err(YamuxError::Closed);
        }
        self.now_ms = self.now_ms.max(now_ms);
        if !bytes.is_empty() {
            self.last_recv_ms = self.now_ms;
        }
        while !bytes.is_empty() {
            match &mut self.rx {
                Rx::Header { buf, have } => {
                    let n = (HEADER_LEN - *have).min(bytes.len());
                    buf[*have..*have + n].copy_from_slice(&bytes[..n]);
                    *have += n;
                    bytes = &bytes[n..];
                    if *have == HEADER_LEN {
                        let raw = *buf;
                        self.rx = RX_HEADER;
                        let result = Header::decode(&raw).and_then(|h| self.on_header(h));
                        result.map_err(|e| self.fail(e))?;
                    }
                }
                Rx::Payload { stream, deliver, remaining, flags } => {
                    let n = (*remaining as usize).min(bytes.len());
                    let (chunk, rest) = bytes.split_at(n);
                    bytes = rest;
                    *remaining -= n as u32;
                    let (id, deliver, done, flags) = (*stream, *deliver, *remaining == 0, *flags);
                    // The application may have reset the stream since the header came.
                    if deliver && self.streams.contains_key(&id) {
                        self.events.push_back(Event::Data(id, chunk.to_vec()));
                    }
                    if done {
                        self.rx = RX_HEADER;
                        self.end_flags(id, flags);
                    }
                }
            }
        }
        Ok(())
    }

    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Bytes to hand to the secure channel (frames), appended to `out`; false when nothing is
    /// queued.
    pub fn poll_output(&mut self, out: &mut Vec<u8>) -> bool {
        let mut acks = std::mem::take(&mut self.ack_queue);
        for id in acks.drain(..) {
            if let Some(s) = self.streams.get_mut(&id) {
                if s.ack_pending {
                    s.ack_pending = false;
                    frame::put(&mut self.out, Kind::WindowUpdate, ACK, id, 0);
                }
            }
        }
        self.ack_queue = acks;
        if self.out.is_empty() {
            return false;
        }
        if out.is_empty() {
            std::mem::swap(out, &mut self.out);
        } else {
            out.extend_from_slice(&self.out);
            self.out.clear();
        }
        true
    }

    /// Keepalive: a ping after `keepalive_ms` with nothing received; Err (and the session dead)
    /// when a ping stayed unanswered for `ping_timeout_ms`.
    pub fn handle_timeout(&mut self, now_ms: u64) -> Result<(), YamuxError> {
        if self.dead {
            return Ok(());
        }
        self.now_ms = self.now_ms.max(now_ms);
        match self.ping {
            Some((_, sent)) if self.now_ms >= sent.saturating_add(self.config.ping_timeout_ms) => {
                self.dead = true;
                self.streams.clear();
                return Err(YamuxError::PingTimeout);
            }
            Some(_) => {}
            None => {
                if self.config.keepalive_ms > 0
                    && self.now_ms >= self.last_recv_ms.saturating_add(self.config.keepalive_ms)
                {
                    self.send_ping();
                }
            }
        }
        Ok(())
    }

    /// When `handle_timeout` is due (monotonic ms), `None` if never.
    pub fn poll_timeout(&self) -> Option<u64> {
        if self.dead {
            return None;
        }
        match self.ping {
            Some((_, sent)) => Some(sent.saturating_add(self.config.ping_timeout_ms)),
            None if self.config.keepalive_ms > 0 => Some(self.last_recv_ms.saturating_add(self.config.keepalive_ms)),
            None => None,
        }
    }

    /// A new outbound stream: WindowUpdate|SYN goes out (delta 0 with the default window, as kubo
    /// opens); data may be sent on it at once.
    pub fn open(&mut self) -> Result<StreamId, YamuxError> {
        if self.dead {
            return Err(YamuxError::Closed);
        }
        if self.local_goaway || self.remote_goaway {
            return Err(YamuxError::GoneAway);
        }
        if self.streams.len() >= self.config.max_streams {
            return Err(YamuxError::TooManyStreams);
        }
        let id = u32::try_from(self.next_id).map_err(|_| YamuxError::IdsExhausted)?;
        self.next_id += 2;
        let id = StreamId(id);
        let window = self.start_window();
        self.streams.insert(id, Stream::new(window, self.now_ms));
        frame::put(&mut self.out, Kind::WindowUpdate, SYN, id, window - PROTOCOL_WINDOW);
        Ok(id)
    }

    /// Sends what the peer's window allows at once, queues the rest; refuses (taking nothing) when
    /// `data` is longer than [`Session::send_room`].
    pub fn send(&mut self, id: StreamId, data: &[u8]) -> Result<(), YamuxError> {
        if self.dead {
            return Err(YamuxError::Closed);
        }
        let Some(s) = self.streams.get_mut(&id) else { return Err(YamuxError::UnknownStream(id)) };
        if s.local_closed {
            return Err(YamuxError::WriteClosed(id));
        }
        if data.is_empty() {
            return Ok(());
        }
        if data.len() > s.room(self.config.max_send_buffer) {
            s.want_writable = true;
            return Err(YamuxError::SendBufferFull(id));
        }
        let now = data.len().min(s.send_window as usize);
        if now > 0 {
            let flags = s.take_ack();
            put_data(&mut self.out, id, flags, &data[..now], self.config.max_frame);
            s.send_window -= now as u32;
        }
        s.queue(&data[now..]);
        Ok(())
    }

    /// How many bytes `send` takes now (0 for an unknown or closed stream).
    pub fn send_room(&self, id: StreamId) -> usize {
        match self.streams.get(&id) {
            Some(s) if !self.dead => s.room(self.config.max_send_buffer),
            _ => 0,
        }
    }

    /// Half-close: FIN goes out after the queued data.
    pub fn close(&mut self, id: StreamId) {
        let Some(s) = self.streams.get_mut(&id) else { return };
        if s.local_closed {
            return;
        }
        s.local_closed = true;
        s.want_writable = false;
        if s.pending_len() == 0 {
            let flags = FIN | s.take_ack();
            frame::put(&mut self.out, Kind::WindowUpdate, flags, id, 0);
            self.fin_sent(id);
        }
    }

    /// Aborts the stream: RST goes out, queued data is dropped, the stream is forgotten.
    pub fn reset(&mut self, id: StreamId) {
        if self.streams.remove(&id).is_some() {
            frame::put(&mut self.out, Kind::WindowUpdate, RST, id, 0);
        }
    }

    /// The application used `n` bytes of the stream's Data: credit goes back to the peer once
    /// half the window is used (see the module doc for the window tuning).
    pub fn consumed(&mut self, id: StreamId, n: usize) {
        let (now, rtt, max) = (self.now_ms, self.rtt_ms, self.config.max_window);
        let Some(s) = self.streams.get_mut(&id) else { return };
        s.unconsumed = s.unconsumed.saturating_sub(u32::try_from(n).unwrap_or(u32::MAX));
        if s.remote_fin {
            return;
        }
        if let Some(delta) = s.grant(now, rtt, max) {
            let flags = s.take_ack();
            frame::put(&mut self.out, Kind::WindowUpdate, flags, id, delta);
        }
    }

    /// Tells the peer we go away with `code` (0 normal): no new streams either way, inbound SYNs
    /// are reset, open streams continue.
    pub fn go_away(&mut self, code: u32) {
        if self.dead || self.local_goaway {
            return;
        }
        self.local_goaway = true;
        frame::put(&mut self.out, Kind::GoAway, 0, StreamId(0), code);
    }

    pub fn is_dead(&self) -> bool {
        self.dead
    }

    pub fn stream_count(&self) -> usize {
        self.streams.len()
    }

    /// The measured round-trip time, once a ping was answered.
    pub fn rtt_ms(&self) -> Option<u64> {
        self.rtt_ms
    }

    fn start_window(&self) -> u32 {
        self.config.initial_window.max(PROTOCOL_WINDOW)
    }

    fn send_ping(&mut self) {
        let value = self.next_ping;
        self.next_ping = self.next_ping.wrapping_add(1);
        frame::put(&mut self.out, Kind::Ping, SYN, StreamId(0), value);
        self.ping = Some((value, self.now_ms));
    }

    /// A fatal protocol error: GoAway(1) goes out and the session is dead.
    fn fail(&mut self, e: YamuxError) -> YamuxError {
        if !self.dead {
            frame::put(&mut self.out, Kind::GoAway, 0, StreamId(0), GOAWAY_PROTOCOL_ERROR);
            self.dead = true;
            self.streams.clear();
            self.ack_queue.clear();
        }
        e
    }

    fn on_header(&mut self, h: Header) -> Result<(), YamuxError> {
        match h.kind {
            Kind::Ping => {
                if h.has(SYN) {
                    frame::put(&mut self.out, Kind::Ping, ACK, StreamId(0), h.length);
                } else if h.has(ACK) {
                    if let Some((value, sent)) = self.ping {
                        if value == h.length {
                            self.rtt_ms = Some(self.now_ms.saturating_sub(sent));
                            self.ping = None;
                        }
                    }
                }
                Ok(())
            }
            Kind::GoAway => {
                self.remote_goaway = true;
                self.events.push_back(Event::GoAway(h.length));
                Ok(())
            }
            Kind::Data | Kind::WindowUpdate => self.on_stream_frame(h),
        }
    }

    fn on_stream_frame(&mut self, h: Header) -> Result<(), YamuxError> {
        let id = h.stream;
        if h.has(SYN) {
            self.on_syn(h)?;
        }
        let Some(s) = self.streams.get_mut(&id) else {
            // Unknown, closed or refused: drain the payload, ignore the rest.
            if h.kind == Kind::Data && h.length > 0 {
                self.rx = Rx::Payload { stream: id, deliver: false, remaining: h.length, flags: 0 };
            }
            return Ok(());
        };
        match h.kind {
            Kind::Data if h.length > 0 => {
                // Data after the peer's FIN is drained; Data beyond the window kills the session
                // before a byte of it is taken.
                let deliver = !s.remote_fin;
                if deliver {
                    if h.length > s.recv_credit {
                        return Err(YamuxError::WindowExceeded { stream: id, len: h.length, window: s.recv_credit });
                    }
                    s.recv_credit -= h.length;
                    s.unconsumed = s.unconsumed.saturating_add(h.length);
                }
                self.rx = Rx::Payload { stream: id, deliver, remaining: h.length, flags: h.flags };
                return Ok(());
            }
            Kind::WindowUpdate if h.length > 0 => {
                s.send_window = s.send_window.checked_add(h.length).ok_or(YamuxError::WindowOverflow {
                    stream: id,
                    window: s.send_window,
                    delta: h.length,
                })?;
                self.flush(id);
            }
            _ => {}
        }
        self.end_flags(id, h.flags);
        Ok(())
    }

    /// An inbound SYN: a new stream, or RST when we hold too many or are going away.
    fn on_syn(&mut self, h: Header) -> Result<(), YamuxError> {
        let id = h.stream;
        if self.streams.contains_key(&id) {
            return Err(YamuxError::DuplicateSyn(id));
        }
        let ours_odd = self.role == Role::Client;
        if id.0 == 0 || (id.0 % 2 == 1) == ours_odd {
            return Err(YamuxError::WrongParitySyn(id));
        }
        if self.local_goaway || self.streams.len() >= self.config.max_streams {
            frame::put(&mut self.out, Kind::WindowUpdate, RST, id, 0);
            return Ok(());
        }
        let window = self.start_window();
        let mut s = Stream::new(window, self.now_ms);
        if window > PROTOCOL_WINDOW {
            frame::put(&mut self.out, Kind::WindowUpdate, ACK, id, window - PROTOCOL_WINDOW);
        } else {
            s.ack_pending = true;
            self.ack_queue.push(id);
        }
        self.streams.insert(id, s);
        self.events.push_back(Event::Inbound(id));
        Ok(())
    }

    /// FIN and RST of a frame from the peer, after its payload.
    fn end_flags(&mut self, id: StreamId, flags: u16) {
        let Some(s) = self.streams.get_mut(&id) else { return };
        if flags & RST != 0 {
            self.streams.remove(&id);
            self.events.push_back(Event::Reset(id));
        } else if flags & FIN != 0 && !s.remote_fin {
            s.remote_fin = true;
            self.events.push_back(Event::Fin(id));
            if s.fin_sent {
                self.streams.remove(&id);
                self.events.push_back(Event::Closed(id));
            }
        }
    }

    /// Sends queued bytes the window now allows, then the FIN if `close` was waiting for them.
    fn flush(&mut self, id: StreamId) {
        let max_frame = self.config.max_frame;
        let max_send_buffer = self.config.max_send_buffer;
        let Some(s) = self.streams.get_mut(&id) else { return };
        let n = s.pending_len().min(s.send_window as usize);
        if n > 0 {
            let fin = s.local_closed && n == s.pending_len();
            let flags = s.take_ack();
            let out = &mut self.out;
            s.take_pending(n, |data| put_data(out, id, flags, data, max_frame));
            s.send_window -= n as u32;
            if fin {
                // FIN in a frame of its own, never on Data: js-yamux applies a frame's flags
                // before its payload and, when its own side is closed, drops the payload.
                frame::put(out, Kind::WindowUpdate, FIN, id, 0);
                self.fin_sent(id);
                return;
            }
        }
        if s.want_writable && s.room(max_send_buffer) > 0 {
            s.want_writable = false;
            self.events.push_back(Event::Writable(id));
        }
    }

    /// Our FIN is out: the stream is done if the peer's came already.
    fn fin_sent(&mut self, id: StreamId) {
        let Some(s) = self.streams.get_mut(&id) else { return };
        s.fin_sent = true;
        if s.remote_fin {
            self.streams.remove(&id);
            self.events.push_back(Event::Closed(id));
        }
    }
}

/// `data` as Data frames of at most `max_frame` bytes; `flags` on the first.
fn put_data(out: &mut Vec<u8>, id: StreamId, mut flags: u16, data: &[u8], max_frame: u32) {
    let max = (max_frame as usize).max(1);
    out.reserve(data.len() + data.len().div_ceil(max) * HEADER_LEN);
    for chunk in data.chunks(max) {
        frame::put(out, Kind::Data, flags, id, chunk.len() as u32);
        out.extend_from_slice(chunk);
        flags = 0;
    }
}
