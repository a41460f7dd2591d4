//! The event loop's WebSockets: frames decoded as they arrive, messages queued for workers,
//! replies framed and sent, and what they hold counted against the node's buffer budget.

use super::*;

impl Loop {
    /// Decodes what a WebSocket connection has read: messages wait for a worker, pings are
    /// answered, a close or a protocol error ends the connection with its code.
    pub(super) fn advance_ws(&mut self, key: usize, now: Instant) {
        let Some(c) = self.conns.get_mut(&key) else { return };
        let Phase::WebSocket(ws) = &mut c.phase else { return };
        if !c.buf.is_empty() {
            ws.decoder.push(&c.buf);
            c.buf.clear();
        }
        let mut out = Vec::new();
        let mut close = false;
        let mut queued = false;
        while !ws.closing {
            match ws.decoder.next() {
                Ok(None) => break,
                Ok(Some(crate::ws::Frame::Message(m))) => {
                    ws.queued.push_back(m);
                    queued = true;
                }
                Ok(Some(crate::ws::Frame::Ping(p))) => out.extend(crate::ws::encode(0xA, &p)),
                Ok(Some(crate::ws::Frame::Pong)) => {}
                Ok(Some(crate::ws::Frame::Close(code))) => {
                    out.extend(crate::ws::close_frame(code.unwrap_or(1000), ""));
                    ws.closing = true;
                    close = true;
                }
                Err(e) => {
                    out.extend(crate::ws::close_frame(e.close_code, &e.message));
                    ws.closing = true;
                    close = true;
                }
            }
        }
        let eof = c.eof;
        if self.ws_reserve(key) {
            // Past the node's buffer budget: told to come back later.
            out.extend(crate::ws::close_frame(1013, "the node is busy; try again later"));
            close = true;
        }
        let Some(c) = self.conns.get_mut(&key) else { return };
        if !out.is_empty() {
            c.queue_output(&out, now);
        }
        if close {
            c.phase = Phase::Closing;
            c.deadline = Some(now + Duration::from_millis(self.limits.write_timeout_ms));
            self.release(key);
            self.flush(key, now);
            return;
        }
        if queued && !self.waiting.contains(&key) {
            self.waiting.push_back(key);
        }
        if eof {
            return self.close(key);
        }
        if !out.is_empty() {
            self.flush(key, now);
        }
    }

    /// Counts what a WebSocket holds beyond a small message against the node's buffer budget,
    /// like a request body; true when the node is over it.
    fn ws_reserve(&mut self, key: usize) -> bool {
        let Some(c) = self.conns.get_mut(&key) else { return false };
        let Phase::WebSocket(ws) = &c.phase else { return false };
        let held = ws.decoder.buffered() + ws.queued.iter().map(Vec::len).sum::<usize>();
        let held = if held > SMALL_BODY { held } else { 0 };
        self.buffered = self.buffered - c.reserved + held;
        c.reserved = held;
        held > 0 && self.buffered > self.limits.max_buffered_bytes
    }

    pub(super) fn ws_reply(&mut self, key: usize, reply: Option<Vec<u8>>, from_worker: bool, now: Instant) {
        let Some(c) = self.conns.get_mut(&key) else { return };
        let Phase::WebSocket(ws) = &mut c.phase else { return };
        if from_worker {
            ws.inflight = ws.inflight.saturating_sub(1);
        }
        let more = !ws.queued.is_empty();
        if let Some(r) = reply {
            let frame = crate::ws::encode(0x2, &r);
            c.queue_output(&frame, now);
        }
        if more && !self.waiting.contains(&key) {
            self.waiting.push_back(key);
        }
        if c.out.len() - c.out_pos > self.limits.ws_max_outbox {
            // The client does not read its replies: it is dropped, not buffered for.
            return self.close(key);
        }
        // A message that went to a worker no longer counts against the buffer budget.
        self.ws_reserve(key);
        self.flush(key, now);
    }
}
