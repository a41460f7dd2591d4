//! WebSocket (RFC 6455) for hprose on `/ws/` (hprose-2.0.md §4): one binary message per call,
//! a 4-byte request id in front that the reply copies back.

use std::io::{self, Read, Write};

const GUID: &[u8] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/// Largest message accepted (after reassembling fragments).
pub const MAX_MESSAGE: usize = 16 << 20;

/// `Sec-WebSocket-Accept` for a client's `Sec-WebSocket-Key`.
pub fn accept_key(key: &str) -> String {
    let mut h = sha1_smol::Sha1::new();
    h.update(key.trim().as_bytes());
    h.update(GUID);
    base64(&h.digest().bytes())
}

fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for c in bytes.chunks(3) {
        let n =
            (u32::from(c[0]) << 16) | (u32::from(*c.get(1).unwrap_or(&0)) << 8) | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

pub enum Frame {
    Message(Vec<u8>),
    Ping(Vec<u8>),
    Close,
}

/// Reads the next complete message (reassembling fragments) or control frame.
pub fn read_frame<R: Read + ?Sized>(r: &mut R) -> io::Result<Frame> {
    let mut message: Vec<u8> = Vec::new();
    loop {
        let mut h = [0u8; 2];
        r.read_exact(&mut h)?;
        let fin = h[0] & 0x80 != 0;
        let opcode = h[0] & 0x0f;
        let masked = h[1] & 0x80 != 0;
        let mut len = u64::from(h[1] & 0x7f);
        if len == 126 {
            let mut b = [0u8; 2];
            r.read_exact(&mut b)?;
            len = u64::from(u16::from_be_bytes(b));
        } else if len == 127 {
            let mut b = [0u8; 8];
            r.read_exact(&mut b)?;
            len = u64::from_be_bytes(b);
        }
        if len as usize > MAX_MESSAGE || message.len() + len as usize > MAX_MESSAGE {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "websocket message over the limit"));
        }
        let mut mask = [0u8; 4];
        if masked {
            r.read_exact(&mut mask)?;
        }
        let mut payload = vec![0u8; len as usize];
        r.read_exact(&mut payload)?;
        if masked {
            for (i, b) in payload.iter_mut().enumerate() {
                *b ^= mask[i % 4];
            }
        }
        match opcode {
            0x0..=0x2 => {
                message.extend_from_slice(&payload);
                if fin {
                    return Ok(Frame::Message(message));
                }
            }
            0x8 => return Ok(Frame::Close),
            0x9 => return Ok(Frame::Ping(payload)),
            0xA => {}
            _ => return Err(io::Error::new(io::ErrorKind::InvalidData, "unknown websocket opcode")),
        }
    }
}

/// Writes one unmasked frame (server to client).
pub fn write_frame<W: Write + ?Sized>(w: &mut W, opcode: u8, payload: &[u8]) -> io::Result<()> {
    let mut head = vec![0x80 | opcode];
    match payload.len() {
        n if n < 126 => head.push(n as u8),
        n if n <= u16::MAX as usize => {
            head.push(126);
            head.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            head.push(127);
            head.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    w.write_all(&head)?;
    w.write_all(payload)?;
    w.flush()
}

/// Serves one connection: each binary message is `id(4) + hprose request`, answered with
/// `id(4) + hprose reply`.
pub fn serve<S: Read + Write + ?Sized>(stream: &mut S, dispatch: &dyn Fn(&[u8]) -> Vec<u8>) {
    loop {
        match read_frame(stream) {
            Ok(Frame::Message(m)) => {
                if m.len() < 4 {
                    continue; // not an hprose message; nothing to answer
                }
                let mut reply = m[..4].to_vec();
                reply.extend(dispatch(&m[4..]));
                if write_frame(stream, 0x2, &reply).is_err() {
                    return;
                }
            }
            Ok(Frame::Ping(p)) => {
                if write_frame(stream, 0xA, &p).is_err() {
                    return;
                }
            }
            Ok(Frame::Close) => {
                let _ = write_frame(stream, 0x8, &[]);
                return;
            }
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6455_accept_key_and_frames() {
        // RFC 6455 §1.3.
        assert_eq!(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        // A masked client frame "Hello" (RFC 6455 §5.7).
        let mut f: &[u8] = &[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
        assert!(matches!(read_frame(&mut f).unwrap(), Frame::Message(m) if m == b"Hello"));
        let mut out = Vec::new();
        write_frame(&mut out, 0x2, &[7; 300]).unwrap();
        assert_eq!(&out[..4], &[0x82, 126, 1, 44]);
    }
}
