//! A user's delegation as `AddDelegation` receives it (base64url text of CBOR) and as a head
//! record carries it: any bytes decode or are refused without a panic; a decoded one verifies or
//! is refused, and re-encodes to what decodes the same.
#![no_main]
use libfuzzer_sys::fuzz_target;
use proto_core::dht::delegation::Delegation;
use proto_core::dht::Record;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Some(d) = Delegation::from_text(text) {
            let _ = d.verify(1_700_000_000_000);
            assert_eq!(Delegation::from_text(&d.to_text()), Some(d));
        }
    }
    if let Ok(d) = minicbor::decode::<Delegation>(data) {
        let _ = d.verify_for(&d.user, &d.node, u64::MAX);
    }
    if let Ok(r) = minicbor::decode::<Record>(data) {
        let _ = r.verify(1_700_000_000_000);
    }
});
