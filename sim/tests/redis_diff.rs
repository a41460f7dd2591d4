//! Differential test of the database's command semantics: the same seeded random command stream
//! runs against a real `redis-server` and against the in-memory keyspace through
//! `proto_core::db`; every reply must match. The seed is printed; `REDIS_DIFF_SEED` replays one.
//! This test talks to a real server, so the sans-IO lints of the crate do not apply to it.
//! (The RESP endpoint of a running node gets the same treatment in the cli e2e suite.)
#![allow(clippy::unwrap_used, unreachable_pub)] // a test: a failed unwrap is a failed test
#![allow(clippy::disallowed_methods, clippy::disallowed_types, clippy::zombie_processes)]

use proto_core::db::{self, resp::Reply, txn::MemKv, Ctx};
use proto_core::rng::Seed;
use sim::redis_gen::{normalise, same, RedisGen};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

struct Redis {
    child: Child,
    conn: TcpStream,
    buf: Vec<u8>,
    port: u16,
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Our reply as a client sees it: encoded in protocol `proto` and parsed back.
fn on_the_wire(r: &Reply, proto: u8) -> Reply {
    let mut bytes = Vec::new();
    r.encode_as(&mut bytes, proto);
    let (back, used) = db::resp::parse_reply(&bytes).unwrap().unwrap();
    assert_eq!(used, bytes.len());
    back
}

fn start_redis() -> Redis {
    let port = free_port();
    let child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--save", "", "--appendonly", "no", "--bind", "127.0.0.1"])
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server must be installed (scripts/test.sh installs Debian's redis-server)");
    for _ in 0..200 {
        if let Ok(conn) = TcpStream::connect(("127.0.0.1", port)) {
            return Redis { child, conn, buf: Vec::new(), port };
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("redis-server did not start on port {port}");
}

impl Redis {
    fn call(&mut self, args: &[String]) -> Reply {
        let mut req = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            req.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            req.extend_from_slice(a.as_bytes());
            req.extend_from_slice(b"\r\n");
        }
        self.conn.write_all(&req).unwrap();
        loop {
            if let Some((r, used)) = db::resp::parse_reply(&self.buf).unwrap() {
                self.buf.drain(..used);
                return r;
            }
            let mut chunk = [0u8; 65536];
            let n = self.conn.read(&mut chunk).unwrap();
            assert!(n > 0, "redis-server closed the connection");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

#[test]
fn random_commands_match_real_redis() {
    let seed: u64 = match std::env::var("REDIS_DIFF_SEED") {
        Ok(s) => s.parse().expect("REDIS_DIFF_SEED is a number"),
        Err(_) => now_ms(),
    };
    let count: usize = std::env::var("REDIS_DIFF_COMMANDS").ok().and_then(|s| s.parse().ok()).unwrap_or(10_000);
    println!("redis differential: seed {seed}, {count} commands (REDIS_DIFF_SEED={seed} replays)");
    let mut redis = start_redis();
    // A second connection speaks RESP3 (HELLO 3), as redis-py 8 does by default.
    let mut redis3 = Redis {
        child: Command::new("true").spawn().unwrap(),
        conn: TcpStream::connect(("127.0.0.1", redis.port)).unwrap(),
        buf: Vec::new(),
        port: redis.port,
    };
    assert!(matches!(redis3.call(&["HELLO".into(), "3".into()]), Reply::Map(_)));
    let mut ours = MemKv::default();
    let mut gen = RedisGen::new(Seed::from_u64(seed).rng());
    let mut history: Vec<String> = Vec::new();
    for i in 0..count {
        let cmd = gen.next_command();
        history.push(cmd.join(" "));
        // Reads go to both connections (RESP2 and RESP3); writes to one of them.
        let name = cmd[0].to_ascii_uppercase();
        let is_write = db::lookup(cmd[0].as_bytes()).is_some_and(|c| c.is_write());
        let proto = if !is_write || i % 2 == 0 { 2 } else { 3 };
        let theirs = if proto == 2 { redis.call(&cmd) } else { redis3.call(&cmd) };
        let args: Vec<Vec<u8>> = cmd.iter().map(|s| s.as_bytes().to_vec()).collect();
        let mine = db::run_write(&mut ours, &Ctx { now_ms: now_ms() }, &args).expect("no storage faults in memory");
        if !is_write {
            let theirs3 = normalise(&name, redis3.call(&cmd));
            let mine3 = normalise(&name, on_the_wire(&mine, 3));
            assert!(
                same(&name, &theirs3, &mine3),
                "seed {seed}, command #{i} in RESP3: {}\n  redis: {theirs3:?}\n  ours:  {mine3:?}",
                cmd.join(" ")
            );
        }
        let (t, m) = (normalise(&name, theirs), normalise(&name, on_the_wire(&mine, proto)));
        if let Err(e) = db::check::check(&ours) {
            panic!("seed {seed}, after command #{i} ({}): keyspace inconsistent: {e}", cmd.join(" "));
        }
        if !same(&name, &t, &m) {
            let recent = history.iter().rev().take(12).rev().cloned().collect::<Vec<_>>().join("\n  ");
            panic!(
                "seed {seed}, command #{i} (RESP{proto}): {}\n  redis: {t:?}\n  ours:  {m:?}\nlast commands:\n  {recent}",
                cmd.join(" ")
            );
        }
    }
}
