//! Identify messages and streams from a peer: any bytes, in any pieces; never a panic, messages
//! over the limits are refused, and a decoded message re-encodes to one that decodes the same.
#![no_main]
use libfuzzer_sys::fuzz_target;
use proto_core::libp2p::identify::{Identify, IdentifyReader, MAX_MESSAGES};

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Identify::decode(data) {
        assert_eq!(Identify::decode(&m.encode()).ok(), Some(m.clone()));
    }
    let cut = data.first().map_or(1, |&b| usize::from(b % 13) + 1);
    let mut r = IdentifyReader::new();
    for piece in data.get(1..).unwrap_or_default().chunks(cut) {
        if r.handle_input(piece).is_err() {
            return;
        }
    }
    assert!(r.messages() <= MAX_MESSAGES);
    let _ = r.finish();
});
