//! The engine's replies, checked against hand-built protobuf bytes and kubo's observed behaviour.

use super::super::*;
use super::net::{peer, raw_block};
use crate::cid::{Cid, Multihash, Version as CidVersion, CODEC_DAG_PB};
use crate::varint;
use std::collections::BTreeMap;

fn v0(data: &[u8]) -> Cid {
    Cid::of_block(CidVersion::V0, CODEC_DAG_PB, data)
}

/// Feeds `msg` from `from` and answers storage reads from `store`; returns the Sends.
fn serve(bs: &mut Bitswap, from: &PeerId, msg: Message, store: &BTreeMap<Cid, Vec<u8>>) -> Vec<(PeerId, Message)> {
    bs.handle_input(0, Input::Message { from: from.clone(), msg });
    let mut sends = Vec::new();
    while let Some(o) = bs.poll_output() {
        match o {
            Output::Send { to, msg } => sends.push((to, msg)),
            Output::Load { cid } => bs.handle_input(0, Input::Loaded { data: store.get(&cid).cloned(), cid }),
            Output::Has { cid } => {
                let (have, size) = store.get(&cid).map_or((false, 0), |d| (true, d.len()));
                bs.handle_input(0, Input::Held { cid, have, size });
            }
            _ => {}
        }
    }
    sends
}

fn wants(entries: Vec<Entry>) -> Message {
    Message { wantlist: Wantlist { entries, full: false }, ..Message::default() }
}

#[test]
fn observed_kubo_reply_to_three_want_haves() {
    let small = b"a small block of 27 bytes..".to_vec();
    assert_eq!(small.len(), 27);
    let big = vec![7u8; 200_000];
    let unknown = v0(b"not here");
    let store: BTreeMap<Cid, Vec<u8>> = [(v0(&small), small.clone()), (v0(&big), big.clone())].into();
    let mut bs = Bitswap::new(Config::default());
    let a = peer(9);
    bs.handle_input(0, Input::Connected { peer: a.clone(), version: Version::V1_2 });
    let have = |cid: &Cid, p| Entry::want(cid.clone(), p, WantType::Have, true);
    let sends = serve(&mut bs, &a, wants(vec![have(&unknown, 3), have(&v0(&small), 2), have(&v0(&big), 1)]), &store);
    assert_eq!(sends.len(), 1, "one message for the three answers");
    let (to, msg) = &sends[0];
    assert_eq!(*to, a);
    // wantlist {}, payload {00 70 12 20, the 27 bytes}, DontHave(unknown), Have(big).
    let mut expected = vec![0x0a, 0x00, 0x1a, 35, 0x0a, 0x04, 0x00, 0x70, 0x12, 0x20, 0x12, 27];
    expected.extend(&small);
    expected.extend([0x22, 38, 0x0a, 34]);
    expected.extend(unknown.to_bytes());
    expected.extend([0x10, 0x01, 0x22, 36, 0x0a, 34]);
    expected.extend(v0(&big).to_bytes());
    assert_eq!(msg.encode(), expected);

    // want-block for the big one: another message, the whole block.
    let sends = serve(&mut bs, &a, wants(vec![Entry::want(v0(&big), 1, WantType::Block, true)]), &store);
    assert_eq!(sends.len(), 1);
    let bytes = sends[0].1.encode();
    let mut head = vec![0x0a, 0x00, 0x1a];
    varint::write(&mut head, 2 + 4 + 1 + 3 + 200_000);
    head.extend([0x0a, 0x04, 0x00, 0x70, 0x12, 0x20, 0x12]);
    varint::write(&mut head, 200_000);
    assert_eq!(&bytes[..head.len()], &head[..]);
    assert_eq!(&bytes[head.len()..], &big[..]);
}

#[test]
fn dont_have_only_when_asked_and_wants_wait_for_the_block() {
    let (cid, data) = raw_block(1, 5000);
    let mut bs = Bitswap::new(Config::default());
    let a = peer(9);
    let empty = BTreeMap::new();
    let sends = serve(&mut bs, &a, wants(vec![Entry::want(cid.clone(), 1, WantType::Block, false)]), &empty);
    assert!(sends.is_empty(), "no DONT_HAVE unless asked");
    // The want stays: once this node's client fetches the block, the peer gets it.
    let b = peer(10);
    bs.handle_input(0, Input::Connected { peer: b.clone(), version: Version::V1_2 });
    bs.want(0, SessionId(1), vec![cid.clone()]);
    let reply = Message { payload: vec![Block::new(&cid, data.clone())], ..Message::default() };
    let store: BTreeMap<Cid, Vec<u8>> = [(cid.clone(), data.clone())].into();
    let sends = serve(&mut bs, &b, reply, &store);
    let to_a: Vec<_> = sends.iter().filter(|(to, _)| *to == a).collect();
    assert_eq!(to_a.len(), 1);
    assert_eq!(to_a[0].1.payload, vec![Block::new(&cid, data)]);
}

#[test]
fn cancel_and_full_wantlist_remove_wants() {
    let blocks: Vec<_> = (0..3).map(|i| raw_block(i, 2000)).collect();
    let store: BTreeMap<Cid, Vec<u8>> = blocks.iter().cloned().collect();
    let mut bs = Bitswap::new(Config::default());
    let a = peer(9);
    let want = |i: usize| Entry::want(blocks[i].0.clone(), 1, WantType::Block, true);
    // A want and its cancel before any read: nothing happens.
    bs.handle_input(0, Input::Message { from: a.clone(), msg: wants(vec![want(0)]) });
    let sends = serve(&mut bs, &a, wants(vec![Entry::cancel(blocks[0].0.clone())]), &store);
    assert!(sends.is_empty());
    // Two wants, then a full wantlist of the third only: just the third is sent.
    bs.handle_input(0, Input::Message { from: a.clone(), msg: wants(vec![want(0), want(1)]) });
    let full = Message { wantlist: Wantlist { entries: vec![want(2)], full: true }, ..Message::default() };
    let sends = serve(&mut bs, &a, full, &store);
    let got: Vec<Cid> = sends.iter().flat_map(|(_, m)| m.payload.iter().map(|b| b.cid().unwrap())).collect();
    assert_eq!(got, vec![blocks[2].0.clone()]);
}

#[test]
fn identity_cids_are_ignored() {
    let mut bs = Bitswap::new(Config::default());
    // The identity CID of "hi" (bafkqaaa is the empty one): 01 55 00 02 'h' 'i'.
    let (id, _) = Multihash::read(&[0x00, 0x02, b'h', b'i']).unwrap();
    let cid = Cid::new_v1(0x55, id);
    let sends = serve(&mut bs, &peer(9), wants(vec![Entry::want(cid, 1, WantType::Have, true)]), &BTreeMap::new());
    assert!(sends.is_empty());
    assert_eq!(bs.poll_output(), None);
}

#[test]
fn keeps_at_most_1024_wants_of_2000() {
    let mut bs = Bitswap::new(Config::default());
    let cids: Vec<Cid> = (0..2000).map(|i| raw_block(i, 8).0).collect();
    let entries = cids.iter().enumerate().map(|(i, c)| Entry::want(c.clone(), 5000 - i as i32, WantType::Block, true));
    let sends = serve(&mut bs, &peer(9), wants(entries.collect()), &BTreeMap::new());
    let refused: Vec<&Cid> = sends.iter().flat_map(|(_, m)| m.presences.iter().map(|p| &p.cid)).collect();
    assert_eq!(refused.len(), 1024);
    assert!(refused.iter().all(|c| cids[..1024].contains(c)), "the 1024 most wanted are kept");
}

#[test]
fn replies_batched_under_max_message_and_fair_between_peers() {
    let blocks: Vec<_> = (0..1024).map(|i| raw_block(i, 10_000)).collect();
    let store: BTreeMap<Cid, Vec<u8>> = blocks.iter().cloned().collect();
    let cfg = Config { max_message: 64 << 10, ..Config::default() };
    let mut bs = Bitswap::new(cfg);
    let (a, b) = (peer(1), peer(2));
    let all = blocks.iter().map(|(c, _)| Entry::want(c.clone(), 1, WantType::Block, true)).collect();
    bs.handle_input(0, Input::Message { from: a.clone(), msg: wants(all) });
    let one = vec![Entry::want(blocks[1000].0.clone(), 1, WantType::Block, true)];
    let sends = serve(&mut bs, &b, wants(one), &store);
    let first_to_b = sends.iter().position(|(to, _)| *to == b).unwrap();
    assert!(first_to_b <= 1, "b waits for at most one batch of a's: {first_to_b}");
    for (_, m) in &sends {
        assert!(m.encode().len() <= 64 << 10);
        assert!(!m.payload.is_empty());
    }
    let to_a: usize = sends.iter().filter(|(to, _)| *to == a).map(|(_, m)| m.payload.len()).sum();
    assert_eq!(to_a, 1024);
    // 10 000-byte blocks in 64 KiB messages: six per message.
    assert!(sends.iter().filter(|(to, _)| *to == a).all(|(_, m)| m.payload.len() <= 6));
}

#[test]
fn older_peers_get_blocks_in_their_fields_and_no_presences() {
    let (cid, data) = raw_block(1, 3000);
    let store: BTreeMap<Cid, Vec<u8>> = [(cid.clone(), data.clone())].into();
    for (version, bare) in [(Version::V1_0, true), (Version::V1_1, false)] {
        let mut bs = Bitswap::new(Config::default());
        let a = peer(9);
        bs.handle_input(0, Input::Connected { peer: a.clone(), version });
        let missing = raw_block(2, 10).0;
        let msg = wants(vec![
            Entry::want(cid.clone(), 2, WantType::Have, true),
            Entry::want(missing, 1, WantType::Block, true),
        ]);
        let sends = serve(&mut bs, &a, msg, &store);
        assert_eq!(sends.len(), 1);
        let m = &sends[0].1;
        assert!(m.presences.is_empty());
        if bare {
            assert_eq!(m.blocks, vec![data.clone()]);
            assert!(m.payload.is_empty());
        } else {
            assert_eq!(m.payload, vec![Block { prefix: vec![0x01, 0x55, 0x12, 0x20], data: data.clone() }]);
        }
    }
}
