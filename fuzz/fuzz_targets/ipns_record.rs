//! An IPNS record from a peer's PUT_VALUE: any bytes validate or are refused without a panic,
//! for an ed25519 name and an RSA-style (hashed) one; `sequence` reads any bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use proto_core::libp2p::kad::ipns::{sequence, validate};
use proto_core::libp2p::keys::NoRsa;
use proto_core::libp2p::PeerId;

fuzz_target!(|data: &[u8]| {
    let ed = PeerId::from_ed25519(&[3; 32]);
    let _ = validate(ed.as_bytes(), data, &NoRsa);
    let mut hashed = vec![0x12, 0x20];
    hashed.extend([4u8; 32]);
    let _ = validate(&hashed, data, &NoRsa);
    let _ = sequence(data);
});
