//! Multiaddrs (binary from peers, text from users) and peer ids: never panic; binary → text →
//! binary is the identity, and a peer id's key prints back to the same id.
#![no_main]
use libfuzzer_sys::fuzz_target;
use proto_core::maddr::Multiaddr;
use proto_core::peer_id;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Multiaddr::from_bytes(data) {
        let text = m.to_string();
        let again = Multiaddr::parse(&text).expect("a printed multiaddr parses");
        assert_eq!(again.as_bytes(), data, "{text}");
        let _ = (m.to_socket(), m.to_host_port(), m.peer_key());
    }
    if let Ok(key) = peer_id::key_of(data) {
        assert_eq!(peer_id::multihash(&key), data);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(m) = Multiaddr::parse(text) {
            assert_eq!(Multiaddr::from_bytes(m.as_bytes()).expect("parsed bytes decode"), m);
        }
        if let Ok(key) = peer_id::parse(text) {
            assert_eq!(peer_id::parse(&peer_id::to_text(&key)), Ok(key));
        }
        let _ = peer_id::node_id(text);
    }
});
