//! WebSocket frames from any client: never panic; the same frames and errors whatever the chunks
//! the bytes arrive in; a drained decoder holds at most the message limit and a partial frame.
#![no_main]
use gateway::ws::{Decoder, Frame, WsError, WsLimits, MAX_CONTROL, MAX_PARTIAL};
use libfuzzer_sys::fuzz_target;

type Out = Vec<Result<Frame, WsError>>;

/// Drains `d`; true once it failed.
fn drain(d: &mut Decoder, out: &mut Out, limits: &WsLimits) -> bool {
    loop {
        match d.next() {
            Ok(Some(f)) => {
                match &f {
                    Frame::Message(m) => assert!(m.len() <= limits.max_message),
                    Frame::Ping(p) => assert!(p.len() <= MAX_CONTROL),
                    Frame::Pong | Frame::Close(_) => {}
                }
                out.push(Ok(f));
            }
            Ok(None) => {
                assert!(d.buffered() <= limits.max_message + MAX_PARTIAL, "{} held", d.buffered());
                return false;
            }
            Err(e) => {
                assert_eq!(d.buffered(), 0);
                out.push(Err(e));
                return true;
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    // Two bytes choose the message limit and the chunk sizes; the rest is the stream.
    let limits = WsLimits { max_message: 1 + usize::from(data[0]) * 8 };
    let mut seed = u32::from(data[1]) | 1;
    let stream = &data[2..];

    let mut whole = Out::new();
    let mut d = Decoder::new(limits.clone());
    d.push(stream);
    drain(&mut d, &mut whole, &limits);

    let mut chunked = Out::new();
    let mut d = Decoder::new(limits.clone());
    let mut rest = stream;
    while !rest.is_empty() {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let n = (1 + seed as usize % 64).min(rest.len());
        d.push(&rest[..n]);
        rest = &rest[n..];
        if drain(&mut d, &mut chunked, &limits) {
            break;
        }
    }
    assert_eq!(whole, chunked);
});
