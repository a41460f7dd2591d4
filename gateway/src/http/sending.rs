//! A response on its way out, resumable: `pump` writes until the response is done, the writer
//! stalls or a deadline passes, and can be called again — on another thread too — to go on
//! where it stopped. That is what lets a worker hand a slow reader's response to a drain thread.

use super::response::Resp;
use std::io::{self, Read, Write};
use std::time::Instant;

/// The largest piece of a body read and written at once: one block of a file.
const PIECE: usize = 256 << 10;

pub(super) struct Sending {
    /// Bytes ready to go (head, chunk framing, body), from `pos`.
    out: Vec<u8>,
    pos: usize,
    body: Box<dyn Read + Send>,
    len: Option<u64>,
    read: u64,
    chunked: bool,
    /// The body has been read to its end (or is not sent).
    ended: bool,
    keep_alive: bool,
    /// Bytes written so far, and when the last write made progress.
    pub written: u64,
    pub last_progress: Instant,
}

#[derive(Debug, PartialEq, Eq)]
pub(super) enum Pumped {
    Done,
    /// The writer would block or timed out with nothing written.
    Stalled,
    /// The deadline passed with more to send.
    Paused,
}

impl Sending {
    pub(super) fn new(resp: Resp, http11: bool, head_only: bool, keep_alive: bool) -> Sending {
        let bodiless = matches!(resp.status, 100..=199 | 204 | 304);
        let chunked = resp.len.is_none() && http11;
        // An unknown length on HTTP/1.0 is delimited by closing the connection.
        let keep_alive = keep_alive && (resp.len.is_some() || chunked || head_only || bodiless);
        let out = resp.head_bytes(http11, keep_alive, chunked);
        Sending {
            out,
            pos: 0,
            body: resp.body,
            len: resp.len,
            read: 0,
            chunked,
            ended: head_only || bodiless,
            keep_alive,
            written: 0,
            last_progress: Instant::now(),
        }
    }

    /// Whether the connection can carry another request once this is done.
    pub(super) fn keep_alive(&self) -> bool {
        self.keep_alive
    }

    /// Reads the next piece of the body into `out`.
    fn refill(&mut self) -> io::Result<()> {
        self.out.clear();
        self.pos = 0;
        let want = self.len.map_or(PIECE, |l| (l - self.read).min(PIECE as u64) as usize);
        let frame = if self.chunked { 10 } else { 0 };
        self.out.resize(frame + want.max(1), 0);
        let mut n = 0;
        while n < want {
            match self.body.read(&mut self.out[frame + n..frame + want]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.read += n as u64;
        if n < want || self.len.is_some_and(|l| self.read == l) {
            self.ended = true;
            if self.len.is_some_and(|l| self.read != l) {
                // The peer cannot frame what follows; it learns of the error by the close.
                self.keep_alive = false;
            }
        }
        if self.chunked {
            if n == 0 {
                // No data: only the last chunk, if this is the end.
                self.out.clear();
                if self.ended {
                    self.out.extend_from_slice(b"0\r\n\r\n");
                }
                return Ok(());
            }
            let size = format!("{n:x}\r\n");
            let start = frame - size.len();
            self.out[start..frame].copy_from_slice(size.as_bytes());
            self.out.truncate(frame + n);
            self.out.extend_from_slice(b"\r\n");
            if self.ended {
                self.out.extend_from_slice(b"0\r\n\r\n");
            }
            self.pos = start;
        } else {
            self.out.truncate(n);
        }
        Ok(())
    }

    /// Writes until done, stalled, or `until` passes.
    pub(super) fn pump(&mut self, w: &mut dyn Write, until: Option<Instant>) -> io::Result<Pumped> {
        loop {
            if self.pos >= self.out.len() {
                if self.ended {
                    w.flush()?;
                    return Ok(Pumped::Done);
                }
                if until.is_some_and(|u| Instant::now() >= u) {
                    return Ok(Pumped::Paused);
                }
                self.refill()?;
                continue;
            }
            match w.write(&self.out[self.pos..]) {
                Ok(0) => return Err(io::Error::new(io::ErrorKind::WriteZero, "the connection took no bytes")),
                Ok(n) => {
                    self.pos += n;
                    self.written += n as u64;
                    self.last_progress = Instant::now();
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                    return Ok(Pumped::Stalled)
                }
                Err(e) => return Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// A writer that takes at most `per_call` bytes and stalls every other call.
    struct Choppy {
        got: Vec<u8>,
        per_call: usize,
        calls: usize,
    }

    impl Write for Choppy {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.calls += 1;
            if self.calls.is_multiple_of(2) {
                return Err(io::Error::new(io::ErrorKind::WouldBlock, "full"));
            }
            let n = b.len().min(self.per_call);
            self.got.extend_from_slice(&b[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn body(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 + 3) as u8).collect()
    }

    #[test]
    fn a_stalled_response_resumes_to_the_same_bytes() {
        for (len, known) in [(20_000, true), (700_000, true), (700_000, false), (20_003, false)] {
            let data = body(len);
            let r = Resp::stream(200, Box::new(Cursor::new(data.clone())), known.then_some(len as u64), "x/y");
            let mut whole = Vec::new();
            let mut s = Sending::new(r, true, false, true);
            assert_eq!(s.pump(&mut whole, None).unwrap(), Pumped::Done);
            let r = Resp::stream(200, Box::new(Cursor::new(data.clone())), known.then_some(len as u64), "x/y");
            let mut s = Sending::new(r, true, false, true);
            let mut w = Choppy { got: Vec::new(), per_call: 10_000, calls: 0 };
            let mut stalls = 0;
            while s.pump(&mut w, None).unwrap() != Pumped::Done {
                stalls += 1;
            }
            assert_eq!(w.got, whole, "len {len} known {known}");
            assert!(stalls > 0);
            let text = String::from_utf8_lossy(&whole);
            if known {
                assert!(text.contains(&format!("Content-Length: {len}\r\n")));
                assert!(whole.ends_with(&data));
            } else {
                assert!(text.contains("Transfer-Encoding: chunked") && text.ends_with("0\r\n\r\n"));
            }
        }
    }

    #[test]
    fn empty_and_tiny_bodies() {
        for (len, known) in [(0, true), (5, true), (3, false), (0, false)] {
            let r = Resp::stream(200, Box::new(Cursor::new(body(len))), known.then_some(len as u64), "x/y");
            let mut out = Vec::new();
            assert_eq!(Sending::new(r, true, false, true).pump(&mut out, None).unwrap(), Pumped::Done);
            let text = String::from_utf8_lossy(&out);
            if known {
                assert!(
                    text.ends_with(&format!("Content-Length: {len}\r\n\r\n{}", String::from_utf8_lossy(&body(len))))
                );
            } else if len == 0 {
                assert!(text.ends_with("chunked\r\n\r\n0\r\n\r\n"), "{text}");
            } else {
                assert!(out.ends_with(b"\r\n3\r\n\x03\x0a\x11\r\n0\r\n\r\n"), "{text}");
            }
        }
    }

    #[test]
    fn a_short_body_ends_keep_alive() {
        let r = Resp::stream(200, Box::new(Cursor::new(vec![1, 2, 3])), Some(10), "x/y");
        let mut s = Sending::new(r, true, false, true);
        let mut out = Vec::new();
        assert_eq!(s.pump(&mut out, None).unwrap(), Pumped::Done);
        assert!(!s.keep_alive());
    }
}
