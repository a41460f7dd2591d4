//! One yamux stream's state inside a session: the send credit the peer gave, the bytes queued
//! beyond it, the receive window and what of it the application has not consumed, and which side
//! has half-closed. The session owns the streams and writes their frames.

use super::PROTOCOL_WINDOW;

#[derive(Debug)]
pub(crate) struct Stream {
    /// Bytes the peer lets us send now.
    pub(crate) send_window: u32,
    /// Bytes `send` took beyond the window, from `pending_off` on. Non-empty only while
    /// `send_window` is 0 (they go out as soon as credit comes).
    pending: Vec<u8>,
    pending_off: usize,
    /// `send` refused for want of room: say `Writable` when room comes.
    pub(crate) want_writable: bool,
    /// `close` was called: FIN goes out after the pending bytes.
    pub(crate) local_closed: bool,
    pub(crate) fin_sent: bool,
    /// An inbound stream whose ACK has not gone out yet (it rides on the first frame we send).
    pub(crate) ack_pending: bool,
    /// The receive window (grows by auto-tuning).
    pub(crate) recv_window: u32,
    /// Bytes the peer may still send before it hears from us.
    pub(crate) recv_credit: u32,
    /// Received bytes the application has not reported consumed.
    pub(crate) unconsumed: u32,
    pub(crate) remote_fin: bool,
    /// When the stream started or its last credit grant went out.
    epoch_ms: u64,
}

impl Stream {
    /// A new stream with receive window `recv_window` (≥ the protocol's 256 KiB); the peer's
    /// credit starts at the protocol window, the session grants the rest with the SYN or ACK.
    pub(crate) fn new(recv_window: u32, now_ms: u64) -> Stream {
        Stream {
            send_window: PROTOCOL_WINDOW,
            pending: Vec::new(),
            pending_off: 0,
            want_writable: false,
            local_closed: false,
            fin_sent: false,
            ack_pending: false,
            recv_window,
            recv_credit: recv_window,
            unconsumed: 0,
            remote_fin: false,
            epoch_ms: now_ms,
        }
    }

    pub(crate) fn pending_len(&self) -> usize {
        self.pending.len() - self.pending_off
    }

    /// How many bytes `send` takes now.
    pub(crate) fn room(&self, max_send_buffer: usize) -> usize {
        if self.local_closed {
            return 0;
        }
        (self.send_window as usize).saturating_add(max_send_buffer.saturating_sub(self.pending_len()))
    }

    pub(crate) fn queue(&mut self, data: &[u8]) {
        self.pending.extend_from_slice(data);
    }

    /// The first `n` queued bytes, handed to `f` and then dropped from the queue.
    pub(crate) fn take_pending<R>(&mut self, n: usize, f: impl FnOnce(&[u8]) -> R) -> R {
        let end = self.pending_off + n.min(self.pending_len());
        let r = f(&self.pending[self.pending_off..end]);
        self.pending_off = end;
        if self.pending_off == self.pending.len() {
            self.pending.clear();
            self.pending_off = 0;
        } else if self.pending_off >= self.pending.len() / 2 {
            self.pending.drain(..self.pending_off);
            self.pending_off = 0;
        }
        r
    }

    /// ACK if it is still owed (then it is not any more), else 0: the flags of the next frame.
    pub(crate) fn take_ack(&mut self) -> u16 {
        if std::mem::take(&mut self.ack_pending) {
            super::frame::ACK
        } else {
            0
        }
    }

    /// The credit to grant once the application consumed ≥ half the window, or `None`. A grant
    /// less than 4×RTT after the previous one doubles the window first (up to `max_window`).
    pub(crate) fn grant(&mut self, now_ms: u64, rtt_ms: Option<u64>, max_window: u32) -> Option<u32> {
        let held = self.recv_credit.saturating_add(self.unconsumed);
        let used = self.recv_window.saturating_sub(held);
        if used < self.recv_window / 2 {
            return None;
        }
        if let Some(rtt) = rtt_ms {
            if now_ms.saturating_sub(self.epoch_ms) < rtt.max(1).saturating_mul(4) {
                self.recv_window = self.recv_window.saturating_mul(2).min(max_window).max(self.recv_window);
            }
        }
        self.epoch_ms = now_ms;
        let delta = self.recv_window.saturating_sub(held);
        self.recv_credit = self.recv_credit.saturating_add(delta);
        Some(delta)
    }
}
