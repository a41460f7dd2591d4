//! Peer wire decoding (envelope, DHT packet, block and mimei messages, MiMei head, signed record) and a live core fed the bytes: never
//! panics; what decodes re-encodes to bytes that decode to the same value.
#![no_main]
use libfuzzer_sys::fuzz_target;
use proto_core::dht::{Addr, Config, Dht, Input, Key, Packet, PeerInfo, Record, Restored};
use proto_core::rng::Seed;
use proto_core::time::{Mono, Now, UnixMs};
use proto_core::wire::Envelope;

fuzz_target!(|data: &[u8]| {
    if let Ok(env) = Envelope::decode(data) {
        let again = Envelope::decode(&minicbor::to_vec(&env).unwrap()).expect("re-encoded envelope decodes");
        assert_eq!(again, env);
    }
    if let Some(p) = Packet::decode(data) {
        assert_eq!(Packet::decode(&p.encode()).expect("re-encoded packet decodes"), p);
    }
    if let Ok(m) = minicbor::decode::<proto_core::node::BlockMsg>(data) {
        let again: proto_core::node::BlockMsg =
            minicbor::decode(&minicbor::to_vec(&m).unwrap()).expect("re-encoded block message decodes");
        assert_eq!(again, m);
    }
    if let Ok(m) = minicbor::decode::<proto_core::node::MimeiMsg>(data) {
        let again: proto_core::node::MimeiMsg =
            minicbor::decode(&minicbor::to_vec(&m).unwrap()).expect("re-encoded mimei message decodes");
        assert_eq!(again, m);
    }
    if let Ok(h) = minicbor::decode::<proto_core::mimei::Head>(data) {
        let again: proto_core::mimei::Head =
            minicbor::decode(&minicbor::to_vec(&h).unwrap()).expect("re-encoded head decodes");
        assert_eq!(again, h);
    }
    if let Ok(r) = minicbor::decode::<Record>(data) {
        let again: Record = minicbor::decode(&minicbor::to_vec(&r).unwrap()).expect("re-encoded record decodes");
        assert_eq!(again, r);
        let _ = r.verify(1_700_000_000_000);
    }
    let now = Now { mono: Mono(5), unix: UnixMs(1_700_000_000_000) };
    let me = PeerInfo { id: Key([1; 20]), addrs: vec![Addr(vec![1])] };
    let mut d = Dht::new(Config::default(), me, Seed::from_u64(1), Restored::default(), now);
    d.handle_input(now, Input::Received { from: Key([2; 20]), bytes: data.to_vec() });
    while d.poll_output().is_some() {}
    d.handle_timeout(Now { mono: Mono(10_000_000), unix: UnixMs(1_800_000_000_000) });
    while d.poll_output().is_some() {}
});
