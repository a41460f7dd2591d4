//! The WebSocket frame codec (RFC 6455 §5), without I/O: received bytes go in with
//! [`Decoder::push`], whole messages and control frames come out of [`Decoder::next`].
//!
//! Memory: a data frame's payload is unmasked into the message as it arrives and a frame that
//! would make the message larger than `max_message` is refused from its header alone, so after
//! `next` has answered `None` the decoder holds at most `max_message + MAX_PARTIAL` bytes (the
//! message so far plus an incomplete header or control frame); after an error it holds none.
//! Bytes pushed since then come on top until `next` consumes them.

use std::collections::VecDeque;
use std::fmt;

/// Largest payload of a control frame (close, ping, pong).
pub const MAX_CONTROL: usize = 125;
/// Most bytes of an incomplete frame a drained decoder keeps: a control frame's 2-byte head,
/// 4-byte mask and payload (a data frame's header is at most 14 bytes).
pub const MAX_PARTIAL: usize = 2 + 4 + MAX_CONTROL;

/// Close codes (RFC 6455 §7.4.1).
pub const CLOSE_NORMAL: u16 = 1000;
pub const CLOSE_PROTOCOL: u16 = 1002;
pub const CLOSE_INVALID_DATA: u16 = 1007;
pub const CLOSE_TOO_BIG: u16 = 1009;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WsLimits {
    /// Largest message accepted, after reassembling its fragments.
    pub max_message: usize,
}

impl Default for WsLimits {
    fn default() -> Self {
        WsLimits { max_message: 1 << 20 }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A text or binary message, reassembled.
    Message(Vec<u8>),
    Ping(Vec<u8>),
    Pong,
    /// The peer closes, with its status code if it sent one.
    Close(Option<u16>),
}

/// Why the connection must close, and the close code to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WsError {
    pub close_code: u16,
    pub message: String,
}

impl fmt::Display for WsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "websocket: {} (close code {})", self.message, self.close_code)
    }
}

fn refuse<T>(close_code: u16, message: impl Into<String>) -> Result<T, WsError> {
    Err(WsError { close_code, message: message.into() })
}

/// A data frame whose payload is arriving.
struct Payload {
    mask: [u8; 4],
    /// Payload bytes already unmasked (the mask's phase).
    done: usize,
    remaining: usize,
    fin: bool,
}

pub struct Decoder {
    limits: WsLimits,
    /// Received bytes not yet consumed.
    buf: VecDeque<u8>,
    /// The data message being reassembled.
    message: Vec<u8>,
    /// Opcode (1 text, 2 binary) of the message begun and not finished.
    started: Option<u8>,
    payload: Option<Payload>,
    /// The first error; every later call answers it again.
    failed: Option<WsError>,
}

impl Decoder {
    pub fn new(limits: WsLimits) -> Self {
        Decoder { limits, buf: VecDeque::new(), message: Vec::new(), started: None, payload: None, failed: None }
    }

    /// Appends received bytes (ignored once the decoder has failed).
    pub fn push(&mut self, bytes: &[u8]) {
        if self.failed.is_none() {
            self.buf.extend(bytes);
        }
    }

    /// Bytes held: received and not consumed, plus the message reassembled so far.
    pub fn buffered(&self) -> usize {
        self.buf.len() + self.message.len()
    }

    /// The next complete message or control frame; `None` when more bytes are needed. After an
    /// error the connection must be closed with its code.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<Frame>, WsError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let r = self.step();
        match &r {
            Err(e) => {
                self.failed = Some(e.clone());
                self.buf = VecDeque::new();
                self.message = Vec::new();
                self.payload = None;
            }
            Ok(None) if self.buf.capacity() > 16 << 10 && self.buf.len() < self.buf.capacity() / 4 => {
                self.buf.shrink_to(4 << 10);
            }
            Ok(_) => {}
        }
        r
    }

    fn step(&mut self) -> Result<Option<Frame>, WsError> {
        loop {
            if let Some(p) = &mut self.payload {
                let n = p.remaining.min(self.buf.len());
                // Grow by doubling, but never past this frame's end (itself within max_message).
                let need = self.message.len() + n;
                if need > self.message.capacity() {
                    let frame_end = self.message.len() + p.remaining;
                    let want = need.max(self.message.capacity() * 2).min(frame_end);
                    self.message.reserve_exact(want - self.message.len());
                }
                for (i, b) in self.buf.drain(..n).enumerate() {
                    self.message.push(b ^ p.mask[(p.done + i) & 3]);
                }
                p.done += n;
                p.remaining -= n;
                if p.remaining > 0 {
                    return Ok(None);
                }
                let fin = p.fin;
                self.payload = None;
                if fin {
                    return self.finish_message().map(Some);
                }
                continue;
            }
            let Some(frame) = self.frame()? else { return Ok(None) };
            if let Some(f) = frame {
                return Ok(Some(f));
            }
        }
    }

    /// Reads one frame header: a control frame once it is complete (`Some(Some)`), a data frame
    /// once its header is (`Some(None)`: its payload follows), `None` for more bytes.
    fn frame(&mut self) -> Result<Option<Option<Frame>>, WsError> {
        let (Some(&b0), Some(&b1)) = (self.buf.front(), self.buf.get(1)) else { return Ok(None) };
        let fin = b0 & 0x80 != 0;
        let opcode = b0 & 0x0f;
        if b0 & 0x70 != 0 {
            return refuse(CLOSE_PROTOCOL, "reserved bits are set (no extension was agreed)");
        }
        if !matches!(opcode, 0x0..=0x2 | 0x8..=0xA) {
            return refuse(CLOSE_PROTOCOL, format!("unknown opcode 0x{opcode:x}"));
        }
        let control = opcode >= 0x8;
        if control && !fin {
            return refuse(CLOSE_PROTOCOL, "a control frame is fragmented");
        }
        if b1 & 0x80 == 0 {
            return refuse(CLOSE_PROTOCOL, "a client frame is not masked");
        }
        let len7 = usize::from(b1 & 0x7f);
        if control && len7 > MAX_CONTROL {
            return refuse(CLOSE_PROTOCOL, "a control frame carries more than 125 bytes");
        }
        match (opcode, self.started) {
            (0x0, None) => return refuse(CLOSE_PROTOCOL, "a continuation frame without a message to continue"),
            (0x1 | 0x2, Some(_)) => return refuse(CLOSE_PROTOCOL, "a new message inside a fragmented one"),
            _ => {}
        }
        let ext = match len7 {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        if self.buf.len() < 2 + ext {
            return Ok(None);
        }
        let len = match ext {
            0 => len7 as u64,
            _ => self.buf.range(2..2 + ext).fold(0u64, |n, &b| (n << 8) | u64::from(b)),
        };
        if len >> 63 != 0 {
            return refuse(CLOSE_PROTOCOL, "a frame length has its top bit set");
        }
        let max = self.limits.max_message as u64;
        if !control && (len > max || self.message.len() as u64 + len > max) {
            return refuse(CLOSE_TOO_BIG, format!("a message is larger than {max} bytes"));
        }
        let head = 2 + ext + 4;
        let len = len as usize;
        if self.buf.len() < head || (control && self.buf.len() < head + len) {
            return Ok(None);
        }
        let mut mask = [0u8; 4];
        for (m, &b) in mask.iter_mut().zip(self.buf.range(2 + ext..head)) {
            *m = b;
        }
        self.buf.drain(..head);
        if !control {
            if opcode != 0x0 {
                self.started = Some(opcode);
            }
            self.payload = Some(Payload { mask, done: 0, remaining: len, fin });
            return Ok(Some(None));
        }
        let body: Vec<u8> = self.buf.drain(..len).enumerate().map(|(i, b)| b ^ mask[i & 3]).collect();
        Ok(Some(Some(match opcode {
            0x8 => Frame::Close(close_code(&body)?),
            0x9 => Frame::Ping(body),
            _ => Frame::Pong,
        })))
    }

    fn finish_message(&mut self) -> Result<Frame, WsError> {
        let text = self.started.take() == Some(0x1);
        let m = std::mem::take(&mut self.message);
        if text && std::str::from_utf8(&m).is_err() {
            return refuse(CLOSE_INVALID_DATA, "a text message is not UTF-8");
        }
        Ok(Frame::Message(m))
    }
}

/// The status code of a close frame's body: none, or 2 bytes and a UTF-8 reason.
fn close_code(body: &[u8]) -> Result<Option<u16>, WsError> {
    match body {
        [] => Ok(None),
        [_] => refuse(CLOSE_PROTOCOL, "a close frame with a 1-byte body"),
        [a, b, reason @ ..] => {
            let code = u16::from_be_bytes([*a, *b]);
            if !matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999) {
                return refuse(CLOSE_PROTOCOL, format!("close code {code} may not be sent"));
            }
            if std::str::from_utf8(reason).is_err() {
                return refuse(CLOSE_INVALID_DATA, "a close reason is not UTF-8");
            }
            Ok(Some(code))
        }
    }
}

/// One unmasked, final server frame.
pub fn encode(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 10);
    out.push(0x80 | (opcode & 0x0f));
    match payload.len() {
        n if n < 126 => out.push(n as u8),
        n if n <= usize::from(u16::MAX) => {
            out.push(126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(payload);
    out
}

/// A close frame with `code` and as much of `reason` as fits (whole characters).
pub fn close_frame(code: u16, reason: &str) -> Vec<u8> {
    let mut end = reason.len().min(MAX_CONTROL - 2);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    let mut body = code.to_be_bytes().to_vec();
    body.extend_from_slice(&reason.as_bytes()[..end]);
    encode(0x8, &body)
}
