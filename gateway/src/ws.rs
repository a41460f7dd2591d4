//! WebSocket (RFC 6455) for hprose on `/ws/` (hprose-2.0.md §4): one binary message per call,
//! a 4-byte request id in front that the reply copies back. The frame codec is sans-IO
//! ([`codec`]); [`serve`] drives it from a blocking stream.

mod codec;
#[cfg(test)]
mod tests;

pub use codec::{
    close_frame, encode, Decoder, Frame, WsError, WsLimits, CLOSE_INVALID_DATA, CLOSE_NORMAL, CLOSE_PROTOCOL,
    CLOSE_TOO_BIG, MAX_CONTROL, MAX_PARTIAL,
};
use std::io::{ErrorKind, Read, Write};

const GUID: &[u8] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

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

/// Serves one connection: each binary message is `id(4) + hprose request`, answered with
/// `id(4) + hprose reply`; pings are answered, a close is echoed, a protocol error closes with
/// its code.
pub fn serve<S: Read + Write + ?Sized>(stream: &mut S, dispatch: &dyn Fn(&[u8]) -> Vec<u8>) {
    let mut decoder = Decoder::new(WsLimits::default());
    let mut chunk = vec![0u8; 16 << 10];
    loop {
        loop {
            let out = match decoder.next() {
                Ok(None) => break,
                Ok(Some(Frame::Message(m))) => {
                    if m.len() < 4 {
                        continue; // not an hprose message; nothing to answer
                    }
                    let mut reply = m[..4].to_vec();
                    reply.extend(dispatch(&m[4..]));
                    encode(0x2, &reply)
                }
                Ok(Some(Frame::Ping(p))) => encode(0xA, &p),
                Ok(Some(Frame::Pong)) => continue,
                Ok(Some(Frame::Close(code))) => {
                    let echo = code.map(|c| close_frame(c, "")).unwrap_or_else(|| encode(0x8, &[]));
                    let _ = send(stream, &echo);
                    return;
                }
                Err(e) => {
                    let _ = send(stream, &close_frame(e.close_code, &e.message));
                    return;
                }
            };
            if send(stream, &out).is_err() {
                return;
            }
        }
        match stream.read(&mut chunk) {
            Ok(0) => return,
            Ok(n) => decoder.push(&chunk[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}

fn send<S: Write + ?Sized>(stream: &mut S, frame: &[u8]) -> std::io::Result<()> {
    stream.write_all(frame)?;
    stream.flush()
}
