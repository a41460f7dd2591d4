//! A kad message from a peer: any bytes decode or fail without a panic; what decodes re-encodes
//! to bytes that decode to the same message; fed to a server as an inbound request it is
//! answered, reset or (ADD_PROVIDER) dropped — once — and fed as the answer to a running lookup
//! nothing panics and the lookup ends.
#![no_main]
use libfuzzer_sys::fuzz_target;
use proto_core::libp2p::kad::{Command, Config, Input, Kad, Message, Output, RequestId};
use proto_core::libp2p::PeerId;
use proto_core::rng::Seed;

fuzz_target!(|data: &[u8]| {
    let Ok(msg) = Message::decode_limited(data, 40) else { return };
    assert_eq!(Message::decode(&msg.encode()).expect("re-encoded message decodes"), msg);
    let me = PeerId::from_ed25519(&[1; 32]);
    let peer = PeerId::from_ed25519(&[2; 32]);
    let cfg = Config { lookup_check: false, max_provider_keys: 8, max_records: 8, ..Config::default() };
    let mut kad = Kad::new(me, cfg, Seed([7; 32]));
    let addr = vec![4, 127, 0, 0, 1, 6, 0x0f, 0xa1];
    kad.handle_input(0, Input::PeerIdentified { peer: peer.clone(), addrs: vec![addr.clone()], serves_dht: true });

    // As a request: at most one answer for it.
    let req = RequestId(9);
    kad.handle_input(1, Input::Request { req, from: peer.clone(), from_addrs: vec![addr], msg: msg.clone() });
    let mut answers = 0;
    while let Some(out) = kad.poll_output() {
        match out {
            Output::Respond { req: r, msg } if r == req => {
                answers += 1;
                assert!(Message::decode(&msg.encode()).is_ok(), "the answer decodes");
            }
            Output::Reset { req: r } if r == req => answers += 1,
            _ => {}
        }
    }
    assert!(answers <= 1, "{answers} answers to one request");

    // As every answer to a lookup: the lookup ends.
    kad.command(2, Command::FindNode(PeerId::from_ed25519(&[3; 32])));
    let mut now = 2;
    let mut done = false;
    for _ in 0..10_000 {
        while let Some(out) = kad.poll_output() {
            match out {
                Output::Send { req, expect_reply: true, .. } => {
                    kad.handle_input(now, Input::Response { req, msg: msg.clone() })
                }
                Output::Send { req, .. } => kad.handle_input(now, Input::Failed { req }),
                Output::Done { .. } => done = true,
                _ => {}
            }
        }
        if done {
            break;
        }
        match kad.poll_timeout() {
            Some(t) => {
                now = t.max(now + 1);
                kad.handle_timeout(now);
            }
            None => break,
        }
    }
    assert!(done, "the lookup ended");
});
