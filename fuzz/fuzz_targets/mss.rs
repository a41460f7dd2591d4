//! multistream-select from a peer: any bytes, in any pieces, to a listener and a dialer; never a
//! panic, a message over the limit is refused, and what follows an agreement is handed on whole.
#![no_main]
use libfuzzer_sys::fuzz_target;
use proto_core::libp2p::mss::{Negotiation, MAX_MESSAGE};

fuzz_target!(|data: &[u8]| {
    let cut = data.first().map_or(1, |&b| usize::from(b % 7) + 1);
    let body = data.get(1..).unwrap_or_default();
    for mut n in [Negotiation::listener(&["/noise", "/yamux/1.0.0"]), Negotiation::dialer(&["/noise", "/tls/1.0.0"])] {
        let mut sent = n.transmit().len();
        for piece in body.chunks(cut) {
            n.handle_bytes(piece);
            sent += n.transmit().len();
        }
        assert!(sent <= 64 + body.len().saturating_mul(2) + MAX_MESSAGE, "answers stay small");
        if let Some(Ok(_)) = n.outcome() {
            assert!(n.take_rest().len() <= body.len());
        }
    }
});
