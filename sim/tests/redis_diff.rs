//! Differential test of the database's command semantics: the same seeded random command stream
//! runs against a real `redis-server` and against the in-memory keyspace through
//! `proto_core::db`; every reply must match. The seed is printed; `REDIS_DIFF_SEED` replays one.
//! This test talks to a real server, so the sans-IO lints of the crate do not apply to it.
//! (The RESP endpoint of a running node gets the same treatment in the cli e2e suite.)
#![allow(clippy::disallowed_methods, clippy::disallowed_types, clippy::zombie_processes)]

use proto_core::db::{self, resp::Reply, txn::MemKv, Ctx};
use proto_core::rng::Seed;
use sim::redis_gen::RedisGen;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

struct Redis {
    child: Child,
    conn: TcpStream,
    buf: Vec<u8>,
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

fn start_redis() -> Redis {
    let port = free_port();
    let child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--save", "", "--appendonly", "no", "--bind", "127.0.0.1"])
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server must be installed (scripts/test.sh installs Debian's redis-server)");
    for _ in 0..200 {
        if let Ok(conn) = TcpStream::connect(("127.0.0.1", port)) {
            return Redis { child, conn, buf: Vec::new() };
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

fn sorted(items: Vec<Reply>, pairs: bool) -> Vec<Reply> {
    let key = |r: &Reply| format!("{r:?}");
    if pairs {
        let mut ps: Vec<Vec<Reply>> = items.chunks(2).map(|c| c.to_vec()).collect();
        ps.sort_by_key(|p| p.iter().map(key).collect::<Vec<_>>());
        ps.into_iter().flatten().collect()
    } else {
        let mut items = items;
        items.sort_by_key(key);
        items
    }
}

/// Puts replies whose order Redis does not define into one order, and coarsens TTLs.
fn normalise(cmd: &str, r: Reply) -> Reply {
    match (cmd, r) {
        ("KEYS" | "SMEMBERS" | "SINTER" | "SUNION" | "SDIFF" | "HKEYS" | "HVALS", Reply::Array(a)) => {
            Reply::Array(sorted(a, false))
        }
        ("HGETALL", Reply::Array(a)) => Reply::Array(sorted(a, true)),
        ("SCAN" | "SSCAN" | "HSCAN", Reply::Array(mut a)) if a.len() == 2 => {
            let items = match a.pop() {
                Some(Reply::Array(items)) => items,
                other => return Reply::Array(vec![a.remove(0), other.unwrap_or(Reply::Nil)]),
            };
            Reply::Array(vec![a.remove(0), Reply::Array(sorted(items, cmd == "HSCAN"))])
        }
        (_, r) => r,
    }
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
    let mut ours = MemKv::default();
    let mut gen = RedisGen::new(Seed::from_u64(seed).rng());
    let mut history: Vec<String> = Vec::new();
    for i in 0..count {
        let cmd = gen.next_command();
        history.push(cmd.join(" "));
        let theirs = redis.call(&cmd);
        let args: Vec<Vec<u8>> = cmd.iter().map(|s| s.as_bytes().to_vec()).collect();
        let mine = db::run_write(&mut ours, &Ctx { now_ms: now_ms() }, &args).expect("no storage faults in memory");
        let name = cmd[0].to_ascii_uppercase();
        let (t, m) = (normalise(&name, theirs), normalise(&name, mine));
        // The two servers read their clocks a moment apart.
        let close = match (&name[..], &t, &m) {
            ("TTL", Reply::Int(a), Reply::Int(b)) => *a >= 0 && *b >= 0 && (a - b).abs() <= 1,
            ("PTTL", Reply::Int(a), Reply::Int(b)) => *a >= 0 && *b >= 0 && (a - b).abs() <= 1000,
            _ => false,
        };
        if t != m && !close {
            let recent = history.iter().rev().take(12).rev().cloned().collect::<Vec<_>>().join("\n  ");
            panic!(
                "seed {seed}, command #{i}: {}\n  redis: {t:?}\n  ours:  {m:?}\nlast commands:\n  {recent}",
                cmd.join(" ")
            );
        }
    }
}
