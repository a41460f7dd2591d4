//! Replication messages and DB snapshots from a peer: decoding never panics, whatever decodes
//! re-encodes to something that decodes the same, the subscriptions take from a peer only what
//! it may send, and entries a follower applies keep its digest equal to the digest of what it
//! holds.
#![no_main]
use libfuzzer_sys::fuzz_target;
use proto_core::db::repl::{digest_of, Follower, Msg, Wire};
use proto_core::db::subs::{Config, Input, Output, Subscriptions};
use proto_core::db::{snapshot, txn::MemKv};
use proto_core::dht::Key;
use proto_core::mimei::Mid;
use proto_core::time::{Mono, Now};

/// An author, a replica and a stranger: each machine is handed `body` from each other one.
fn subscriptions_take_only_what_a_peer_may_send(bodies: &[Vec<u8>]) {
    let (mid, author) = (Mid(Key([1; 20])), Key([2; 20]));
    let nodes = [author, Key([3; 20]), Key([4; 20])];
    for me in nodes {
        for from in nodes.into_iter().filter(|k| *k != me) {
            let mut s = Subscriptions::new(Config::default(), me, Mono(0));
            s.handle_input(Now::default(), Input::Dbs(vec![(mid, author)]));
            for body in bodies {
                s.handle_input(Now::default(), Input::Received { peer: from, body: body.clone() });
            }
            while let Some(o) = s.poll_output() {
                match o {
                    Output::LoadWant { peer, .. } => assert!(me == author && peer == from),
                    Output::Apply { .. } => assert!(me != author && from == author),
                    Output::ListDbs => {}
                    other => panic!("{other:?} for a message from {from:?}"),
                }
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(entries) = snapshot::decode(data) {
        assert_eq!(snapshot::decode(&snapshot::encode(&entries)).unwrap(), entries);
    }
    let Ok(msg) = Msg::decode(data) else {
        return subscriptions_take_only_what_a_peer_may_send(&[data.to_vec()]);
    };
    assert_eq!(Msg::decode(&msg.encode()).unwrap(), msg);
    subscriptions_take_only_what_a_peer_may_send(&[Wire { mid: [1; 20], msg: msg.clone() }.encode(), data.to_vec()]);
    let entries = matches!(msg, Msg::Entries(_));
    let mut kv = MemKv::default();
    let mut f = Follower::default();
    if f.on_msg(&mut kv, 0, msg).is_ok() && entries {
        // Applied entries keep the digest true to the contents. (A snapshot's position is the
        // author's word, checked against the signed head by the caller.)
        assert_eq!(digest_of(&kv).unwrap(), f.pos.digest);
    }
});
