//! Replication messages and DB snapshots from a peer: decoding never panics, whatever decodes
//! re-encodes to something that decodes the same, and entries a follower applies keep its
//! digest equal to the digest of what it holds.
#![no_main]
use libfuzzer_sys::fuzz_target;
use proto_core::db::repl::{digest_of, Follower, Msg};
use proto_core::db::{snapshot, txn::MemKv};

fuzz_target!(|data: &[u8]| {
    if let Ok(entries) = snapshot::decode(data) {
        assert_eq!(snapshot::decode(&snapshot::encode(&entries)).unwrap(), entries);
    }
    let Ok(msg) = Msg::decode(data) else { return };
    assert_eq!(Msg::decode(&msg.encode()).unwrap(), msg);
    let entries = matches!(msg, Msg::Entries(_));
    let mut kv = MemKv::default();
    let mut f = Follower::default();
    if f.on_msg(&mut kv, 0, msg).is_ok() && entries {
        // Applied entries keep the digest true to the contents. (A snapshot's position is the
        // author's word, checked against the signed head by the caller.)
        assert_eq!(digest_of(&kv).unwrap(), f.pos.digest);
    }
});
