//! Length-prefixed frames on a byte stream: `u32` big-endian length, then the body. The reader
//! refuses a length over the cap before buffering anything (DESIGN.md §4).

/// Largest frame body: a 4 MiB message plus the session's per-chunk overhead.
pub const MAX_FRAME: usize = 4 * 1024 * 1024 + 4096;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameTooLarge(pub usize);

impl std::fmt::Display for FrameTooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "frame of {} bytes is over the limit", self.0)
    }
}

pub fn encode(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + body.len());
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// Reassembles frames from arbitrary reads.
#[derive(Default)]
pub struct FrameReader {
    buf: Vec<u8>,
    /// Where the unread bytes of `buf` start: taking a frame only moves this, and the bytes
    /// behind it are dropped once they are half the buffer (not moved after every frame).
    start: usize,
}

impl FrameReader {
    pub fn push(&mut self, bytes: &[u8]) {
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        } else if self.start > 0 && self.start >= self.buf.len() / 2 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The next whole frame, `Ok(None)` when more bytes are needed, or an error when the peer
    /// announces a frame over the cap (drop the connection).
    pub fn next_frame(&mut self) -> Result<Option<Vec<u8>>, FrameTooLarge> {
        Ok(self.next_frame_ref()?.map(<[u8]>::to_vec))
    }

    /// `next_frame`, borrowed from the read buffer instead of copied out of it (it stays valid
    /// until the next `push`).
    pub fn next_frame_ref(&mut self) -> Result<Option<&[u8]>, FrameTooLarge> {
        let rest = &self.buf[self.start..];
        if rest.len() < 4 {
            return Ok(None);
        }
        let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        if len > MAX_FRAME {
            return Err(FrameTooLarge(len));
        }
        if rest.len() < 4 + len {
            return Ok(None);
        }
        let at = self.start + 4;
        self.start += 4 + len;
        Ok(Some(&self.buf[at..at + len]))
    }

    /// Bytes waiting for the rest of their frame.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reassembles_across_reads_and_refuses_oversize() {
        let mut wire = encode(b"abc");
        wire.extend(encode(b""));
        wire.extend(encode(&[7; 1000]));
        let mut r = FrameReader::default();
        let mut got = Vec::new();
        for b in wire.chunks(3) {
            r.push(b);
            while let Some(f) = r.next_frame().unwrap() {
                got.push(f);
            }
        }
        assert_eq!(got, vec![b"abc".to_vec(), vec![], vec![7; 1000]]);
        let mut r = FrameReader::default();
        r.push(&u32::MAX.to_be_bytes());
        assert_eq!(r.next_frame(), Err(FrameTooLarge(u32::MAX as usize)));
    }
}
