//! A bitswap message from a peer: any bytes decode or fail without a panic; what decodes
//! re-encodes to bytes that decode to the same message; fed to a node (its server engine with
//! a store holding every other wanted block, and its client wanting what the peer asked for),
//! nothing panics and every message the node sends stays within its limit.
#![no_main]
use libfuzzer_sys::fuzz_target;
use proto_core::libp2p::bitswap::{Bitswap, Config, Input, Message, Output, SessionId, Version};
use proto_core::libp2p::PeerId;

fuzz_target!(|data: &[u8]| {
    let Ok(msg) = Message::decode(data) else { return };
    assert_eq!(Message::decode(&msg.encode()).expect("re-encoded message decodes"), msg);
    let cfg = Config { max_message: 4096, max_wants_per_peer: 64, replace_have_with_block: 16, ..Config::default() };
    let max = cfg.max_message;
    let mut bs = Bitswap::new(cfg);
    let (a, b) = (PeerId::from_ed25519(&[1; 32]), PeerId::from_ed25519(&[2; 32]));
    let version = [Version::V1_2, Version::V1_1, Version::V1_0][data.len() % 3];
    bs.handle_input(0, Input::Connected { peer: a.clone(), version });
    bs.handle_input(0, Input::Connected { peer: b.clone(), version: Version::V1_2 });
    let asked: Vec<_> = msg.wantlist.entries.iter().map(|e| e.cid.clone()).collect();
    bs.want(0, SessionId(1), asked);
    let mut now = 0;
    for round in 0..3 {
        bs.handle_input(now, Input::Message { from: a.clone(), msg: msg.clone() });
        let mut n = 0;
        while let Some(out) = bs.poll_output() {
            n += 1;
            assert!(n < 1_000_000, "outputs end");
            match out {
                Output::Send { msg, .. } => {
                    let len = msg.encode().len();
                    let one_block = msg.payload.len() + msg.blocks.len() == 1;
                    assert!(len <= max || one_block, "a {len}-byte message");
                }
                Output::Load { cid } => {
                    let have = cid.to_bytes().last().is_some_and(|b| b % 2 == 0);
                    let data = have.then(|| vec![round; usize::from(cid.to_bytes()[2] % 64)]);
                    bs.handle_input(now, Input::Loaded { cid, data });
                }
                Output::Has { cid } => {
                    let have = cid.to_bytes().last().is_some_and(|b| b % 2 == 0);
                    bs.handle_input(now, Input::Held { cid, have, size: 32 });
                }
                Output::Received { cid, data, .. } => assert!(cid.hash().verifies(&data)),
                _ => {}
            }
        }
        now = bs.poll_timeout().unwrap_or(now + 1000).max(now);
        bs.handle_timeout(now);
    }
    bs.handle_input(now, Input::Disconnected { peer: a });
    bs.cancel(now, SessionId(1));
    while bs.poll_output().is_some() {}
});
