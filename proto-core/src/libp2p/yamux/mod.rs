//! Yamux (`/yamux/1.0.0`), sans-IO: many byte streams over one secure channel. Every frame has a
//! 12-byte header (`version | type | flags | stream id | length`, big-endian); Data frames carry
//! payload, WindowUpdate frames grant send credit (256 KiB per stream and direction at the start),
//! Ping and GoAway frames belong to the session (stream 0). The dialer (client) opens odd stream
//! ids, the listener (server) even ones. Wire facts follow kubo 0.22 (go-yamux v4).
//!
//! Driving it: make a [`Session`] with the role from the security handshake. Hand every plaintext
//! byte from the channel to [`Session::handle_input`] (any split), then drain
//! [`Session::poll_event`] and send what [`Session::poll_output`] appends. Call
//! [`Session::handle_timeout`] once the time from [`Session::poll_timeout`] has come (keepalive
//! pings). Streams: [`Session::open`], [`Session::send`] (check [`Session::send_room`]; after a
//! refusal wait for [`Event::Writable`]), [`Session::close`] (half-close), [`Session::reset`].
//! Received data is credited back to the peer only when the application reports it read with
//! [`Session::consumed`]: that is the flow control, so report what was used.
//!
//! Window tuning: RTT is measured with the session's own pings (one right after the start, then a
//! keepalive ping after `keepalive_ms` with nothing received). A grant that comes less than
//! 4×RTT (at least 1 ms) after the stream's previous grant doubles that stream's receive window,
//! up to `max_window`; with no RTT measured yet the window stays as it is (go-yamux's rule).

mod frame;
mod session;
mod stream;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod transfer_tests;

pub use session::Session;

use std::fmt;

pub const PROTOCOL: &str = "/yamux/1.0.0";
/// Bytes of a frame header.
pub const HEADER_LEN: usize = 12;
/// The window each side assumes for a new stream (the protocol fixes it).
pub const PROTOCOL_WINDOW: u32 = 256 * 1024;

/// Which side of the connection this session is; it decides the parity of the stream ids it opens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The dialer: opens odd stream ids.
    Client,
    /// The listener: opens even stream ids.
    Server,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamId(pub u32);

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "stream {}", self.0)
    }
}

#[derive(Clone, Debug)]
pub struct Config {
    /// Receive window of a new stream. The protocol fixes the start at 256 KiB (the default); a
    /// larger value is granted to the peer with the stream's SYN or ACK, a smaller one counts as
    /// 256 KiB (the peer may send that much before hearing from us).
    pub initial_window: u32,
    /// Ceiling of the receive window auto-tuning: 16 MiB, as go-libp2p sets it.
    pub max_window: u32,
    /// Streams a session holds at once (256); an inbound SYN beyond it is answered with RST and
    /// `open` refuses.
    pub max_streams: usize,
    /// Bytes per stream that `send` queues beyond the peer's window before it refuses (1 MiB).
    pub max_send_buffer: usize,
    /// Largest Data payload sent: 65524, kubo's (its 64 KiB message size less the header), so
    /// every peer that talks to kubo takes it, and the header costs 0.02 %.
    pub max_frame: u32,
    /// Nothing received for this long (30 s) ⇒ a keepalive ping. 0 turns keepalive pings off.
    pub keepalive_ms: u64,
    /// A ping unanswered for this long (10 s) ⇒ the session is dead.
    pub ping_timeout_ms: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            initial_window: PROTOCOL_WINDOW,
            max_window: 16 * 1024 * 1024,
            max_streams: 256,
            max_send_buffer: 1024 * 1024,
            max_frame: 65524,
            keepalive_ms: 30_000,
            ping_timeout_ms: 10_000,
        }
    }
}

/// What the session tells the application.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The peer opened this stream (it is accepted already).
    Inbound(StreamId),
    /// Bytes of the stream, in order; report them with [`Session::consumed`] once used.
    Data(StreamId, Vec<u8>),
    /// The peer half-closed the stream: no more data from it.
    Fin(StreamId),
    /// The peer aborted the stream; it is forgotten (no `Closed` follows).
    Reset(StreamId),
    /// `send` has room again after it refused for being full.
    Writable(StreamId),
    /// Both sides half-closed and all our data is out: the stream is forgotten.
    Closed(StreamId),
    /// The peer goes away with this code (0 normal, 1 protocol error, 2 internal error): no new
    /// streams, the open ones continue.
    GoAway(u32),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum YamuxError {
    /// A frame header whose version is not 0.
    BadVersion(u8),
    /// A frame type above 3.
    UnknownType(u8),
    /// The peer sent more Data than the stream's window allowed.
    WindowExceeded { stream: StreamId, len: u32, window: u32 },
    /// A window update that takes the stream's send window past 2^32 − 1.
    WindowOverflow { stream: StreamId, window: u32, delta: u32 },
    /// A SYN for a stream id of our parity (or 0).
    WrongParitySyn(StreamId),
    /// A SYN for a stream that is open.
    DuplicateSyn(StreamId),
    /// `open` with `max_streams` streams open.
    TooManyStreams,
    /// All stream ids of our parity are used.
    IdsExhausted,
    /// A ping went unanswered for `ping_timeout_ms`.
    PingTimeout,
    /// `send` with more than [`Session::send_room`]; nothing was taken (not fatal).
    SendBufferFull(StreamId),
    /// A stream the session does not hold.
    UnknownStream(StreamId),
    /// `send` after `close` on that stream.
    WriteClosed(StreamId),
    /// `open` after either side sent GoAway.
    GoneAway,
    /// The session is dead (after a fatal error).
    Closed,
}

impl fmt::Display for YamuxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            YamuxError::BadVersion(v) => write!(f, "yamux: frame version {v} (only 0 exists)"),
            YamuxError::UnknownType(t) => write!(f, "yamux: unknown frame type {t}"),
            YamuxError::WindowExceeded { stream, len, window } => {
                write!(f, "yamux: {len} bytes of data on {stream} with a window of {window}")
            }
            YamuxError::WindowOverflow { stream, window, delta } => {
                write!(f, "yamux: a window update of {delta} on {stream} with {window} already granted")
            }
            YamuxError::WrongParitySyn(s) => write!(f, "yamux: SYN for {s}, an id of the wrong parity"),
            YamuxError::DuplicateSyn(s) => write!(f, "yamux: SYN for {s}, which is open"),
            YamuxError::TooManyStreams => write!(f, "yamux: too many streams open"),
            YamuxError::IdsExhausted => write!(f, "yamux: no stream ids left"),
            YamuxError::PingTimeout => write!(f, "yamux: ping unanswered (peer dead)"),
            YamuxError::SendBufferFull(s) => write!(f, "yamux: send buffer of {s} full"),
            YamuxError::UnknownStream(s) => write!(f, "yamux: unknown {s}"),
            YamuxError::WriteClosed(s) => write!(f, "yamux: {s} is closed for writing"),
            YamuxError::GoneAway => write!(f, "yamux: session going away, no new streams"),
            YamuxError::Closed => write!(f, "yamux: session closed"),
        }
    }
}

impl std::error::Error for YamuxError {}
