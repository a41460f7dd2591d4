//! Behaviour the differential test against real Redis cannot pin down: virtual time (expiry),
//! SCAN under concurrent changes, and what a write leaves in the keyspace.

use super::txn::MemKv;
use super::*;

fn run(kv: &mut MemKv, now_ms: u64, cmd: &str) -> Reply {
    let args: Vec<Vec<u8>> = resp::split_inline(cmd.as_bytes()).unwrap();
    run_write(kv, &Ctx { now_ms }, &args).unwrap()
}

fn int(r: Reply) -> i64 {
    match r {
        Reply::Int(n) => n,
        other => panic!("not an integer: {other:?}"),
    }
}

#[test]
fn keys_expire_at_their_time_and_writes_remove_them() {
    let mut kv = MemKv::default();
    assert_eq!(run(&mut kv, 1_000, "SET a 1 PX 500"), Reply::ok());
    assert_eq!(run(&mut kv, 1_000, "HSET h f v"), Reply::Int(1));
    assert_eq!(run(&mut kv, 1_000, "EXPIRE h 2"), Reply::Int(1));
    assert_eq!(int(run(&mut kv, 1_200, "PTTL a")), 300);
    assert_eq!(int(run(&mut kv, 1_200, "TTL h")), 2);
    assert_eq!(run(&mut kv, 1_499, "GET a"), Reply::bulk("1"));
    assert_eq!(run(&mut kv, 1_500, "GET a"), Reply::Nil);
    assert_eq!(run(&mut kv, 1_500, "EXISTS a"), Reply::Int(0));
    // Reads leave the expired entry; the next write of the key removes it with its elements.
    assert!(kv.0.contains_key(b"ka".as_slice()));
    assert_eq!(run(&mut kv, 3_000, "HLEN h"), Reply::Int(0));
    assert_eq!(run(&mut kv, 3_000, "HSET h g w"), Reply::Int(1));
    assert_eq!(run(&mut kv, 3_000, "HGETALL h"), Reply::Map(vec![(Reply::bulk("g"), Reply::bulk("w"))]));
    assert_eq!(run(&mut kv, 3_000, "DEL a"), Reply::Int(0));
    assert!(!kv.0.keys().any(|k| k.ends_with(b"a") && k[0] != b'h'), "{:?}", kv.0.keys().collect::<Vec<_>>());
}

#[test]
fn deleting_a_key_leaves_nothing_behind() {
    let mut kv = MemKv::default();
    run(&mut kv, 0, "ZADD z 1 a 2 b");
    run(&mut kv, 0, "RPUSH l a b c");
    run(&mut kv, 0, "SADD s a");
    run(&mut kv, 0, "HSET h f v");
    run(&mut kv, 0, "SET t v");
    assert_eq!(run(&mut kv, 0, "DBSIZE"), Reply::Int(5));
    assert_eq!(run(&mut kv, 0, "DEL z l s h t"), Reply::Int(5));
    assert!(kv.0.is_empty(), "left: {:?}", kv.0);
}

#[test]
fn scan_returns_every_key_that_lives_through_the_scan() {
    let mut kv = MemKv::default();
    for i in 0..500 {
        run(&mut kv, 0, &format!("SET key{i} v"));
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut cursor = "0".to_string();
    let mut step = 0;
    loop {
        let Reply::Array(parts) = run(&mut kv, 0, &format!("SCAN {cursor} COUNT 7")) else { panic!() };
        let (Reply::Bulk(c), Reply::Array(keys)) = (&parts[0], &parts[1]) else { panic!() };
        for k in keys {
            let Reply::Bulk(k) = k else { panic!() };
            seen.insert(String::from_utf8(k.clone()).unwrap());
        }
        // Meanwhile other clients delete some keys and add others.
        run(&mut kv, 0, &format!("DEL key{}", 400 + step));
        run(&mut kv, 0, &format!("SET new{step} v"));
        step += 1;
        cursor = String::from_utf8(c.clone()).unwrap();
        if cursor == "0" {
            break;
        }
    }
    for i in 0..400 {
        assert!(seen.contains(&format!("key{i}")), "key{i} missed");
    }
    assert!(step > 50, "the scan took {step} steps of 7");
}

#[test]
fn rename_moves_elements_and_expiry() {
    let mut kv = MemKv::default();
    run(&mut kv, 0, "RPUSH l a b c");
    run(&mut kv, 0, "PEXPIRE l 10000");
    run(&mut kv, 0, "SET other x");
    assert_eq!(run(&mut kv, 0, "RENAME l other"), Reply::ok());
    let mut wire = Vec::new();
    run(&mut kv, 10, "LRANGE other 0 -1").encode(&mut wire);
    assert_eq!(wire, b"*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n");
    assert_eq!(run(&mut kv, 10, "PTTL other"), Reply::Int(9990));
    assert_eq!(run(&mut kv, 10, "EXISTS l"), Reply::Int(0));
}

#[test]
fn reads_refuse_to_run_writes_and_report_unknown_commands() {
    let kv = MemKv::default();
    let cx = Ctx { now_ms: 0 };
    let args = |s: &str| resp::split_inline(s.as_bytes()).unwrap();
    assert!(run_read(&kv, &cx, &args("SET a b")).unwrap().is_error());
    assert_eq!(run_read(&kv, &cx, &args("GET a")).unwrap(), Reply::Nil);
    assert_eq!(
        run_read(&kv, &cx, &args("FOO a b")).unwrap(),
        Reply::err("ERR unknown command 'FOO', with args beginning with: 'a' 'b' ")
    );
}

#[test]
fn the_checker_finds_broken_keyspaces() {
    let mut kv = MemKv::default();
    run(&mut kv, 0, "ZADD z 1 a 2 b");
    run(&mut kv, 0, "RPUSH l a b");
    run(&mut kv, 0, "HSET h f v");
    assert_eq!(check::check(&kv), Ok(()));
    for victim in [b'Z', b'l', b'h', b'x'] {
        let mut broken = kv.clone();
        let k = broken.0.keys().find(|k| k[0] == victim).unwrap().clone();
        broken.0.remove(&k);
        assert!(check::check(&broken).is_err(), "removing a {} entry went unnoticed", victim as char);
    }
    let mut orphan = kv.clone();
    orphan.0.insert(keyspace::element_key(b's', b"nokey", b"m"), vec![]);
    assert!(check::check(&orphan).is_err());
}
