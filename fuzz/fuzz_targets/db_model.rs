//! Stateful: each 9-byte chunk of the input picks one Redis command (through the seeded command
//! generator) and how far the clock moves; the commands run against an in-memory keyspace, and
//! after every one the keyspace must stay consistent (counters, score order, scan index, no
//! orphans) and replaying the same commands must give the same keyspace (determinism).
#![no_main]
use libfuzzer_sys::fuzz_target;
use proto_core::db::{self, check::check, txn::MemKv, Ctx};
use proto_core::rng::Seed;
use sim::redis_gen::RedisGen;

fn run(data: &[u8]) -> (MemKv, Vec<db::Reply>) {
    let mut kv = MemKv::default();
    let mut now = 1_000_000u64;
    let mut replies = Vec::new();
    for chunk in data.chunks_exact(9) {
        let seed = u64::from_le_bytes(chunk[..8].try_into().unwrap());
        now += u64::from(chunk[8]) * 40;
        let cmd = RedisGen::new(Seed::from_u64(seed).rng()).next_command();
        let args: Vec<Vec<u8>> = cmd.iter().map(|s| s.as_bytes().to_vec()).collect();
        replies.push(db::run_write(&mut kv, &Ctx { now_ms: now }, &args).expect("memory never faults"));
        if let Err(e) = check(&kv) {
            panic!("after {}: {e}", cmd.join(" "));
        }
    }
    (kv, replies)
}

fuzz_target!(|data: &[u8]| {
    let (a, ra) = run(data);
    let (b, rb) = run(data);
    assert_eq!(a, b);
    assert_eq!(ra, rb);
});
