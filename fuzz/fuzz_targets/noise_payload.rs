//! A Noise handshake payload and a libp2p public key from a peer: any bytes decode to a value
//! or an error, never a panic; what decodes encodes to bytes that decode the same.
#![no_main]
use libfuzzer_sys::fuzz_target;
use proto_core::libp2p::keys::{NoRsa, PublicKey};
use proto_core::libp2p::noise::{HandshakePayload, MAX_MUXERS};

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = HandshakePayload::decode(data) {
        assert!(p.stream_muxers.len() <= MAX_MUXERS);
        assert_eq!(HandshakePayload::decode(&p.encode()).ok(), Some(p.clone()));
        if let Some(key) = p.identity_key.as_deref().and_then(|k| PublicKey::decode(k).ok()) {
            let _ = key.verify(b"msg", p.identity_sig.as_deref().unwrap_or_default(), &NoRsa);
        }
    }
    if let Ok(key) = PublicKey::decode(data) {
        let pb = key.encode();
        assert_eq!(PublicKey::decode(&pb).ok(), Some(key.clone()));
        let id = key.peer_id();
        assert!(id.as_bytes().len() <= 44);
    }
});
