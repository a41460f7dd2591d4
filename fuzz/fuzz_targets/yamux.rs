//! A yamux session fed arbitrary bytes from a peer, in any pieces, as client and as server, with
//! an application that echoes what it reads, consumes it, closes and opens streams: never a
//! panic, the streams stay within `max_streams`, and what goes out stays proportional to what
//! came in.
#![no_main]
use libfuzzer_sys::fuzz_target;
use proto_core::libp2p::yamux::{Config, Event, Role, Session};

fuzz_target!(|data: &[u8]| {
    let cut = data.first().map_or(1, |&b| usize::from(b % 13) + 1);
    let body = data.get(1..).unwrap_or_default();
    let small = Config { max_streams: 4, max_send_buffer: 4096, max_frame: 100, ..Config::default() };
    for (role, config) in [(Role::Client, Config::default()), (Role::Server, small)] {
        let max_streams = config.max_streams;
        let mut s = Session::new(role, config, 0);
        let mut out = Vec::new();
        let mut now = 0;
        for piece in body.chunks(cut) {
            now += 1000;
            if s.handle_input(piece, now).is_err() {
                assert!(s.is_dead());
            }
            let _ = s.handle_timeout(now);
            while let Some(e) = s.poll_event() {
                match e {
                    Event::Data(id, d) => {
                        let _ = s.send(id, &d[..d.len().min(s.send_room(id))]);
                        s.consumed(id, d.len());
                    }
                    Event::Fin(id) => s.close(id),
                    Event::Inbound(id) if id.0 % 3 == 0 => s.reset(id),
                    Event::GoAway(_) => assert!(s.open().is_err()),
                    _ => {}
                }
            }
            if piece.first() == Some(&0xff) {
                let _ = s.open();
            }
            assert!(s.stream_count() <= max_streams);
            s.poll_output(&mut out);
        }
        // At most a 12-byte answer per 12-byte header, an echo frame (13 bytes at worst) per byte
        // read, and our own opens.
        let bound = 64 + body.len() * 14 + max_streams * 12;
        assert!(out.len() <= bound, "{} bytes out for {} in", out.len(), body.len());
    }
});
