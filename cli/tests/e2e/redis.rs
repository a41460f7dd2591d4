//! The RESP endpoint with real Redis clients: redis-cli, the Python redis package, and the
//! differential test against a real redis-server over TCP.

use crate::harness::Node;
use proto_core::db::{resp, Reply};
use proto_core::rng::Seed;
use sim::redis_gen::{normalise, same, RedisGen};
use std::io::Write;
use std::process::{Command, Stdio};

fn redis_cli(n: &Node, auth: bool, input: &str) -> String {
    let (host, port) = n.resp.rsplit_once(':').unwrap();
    let mut cmd = Command::new("redis-cli");
    cmd.args(["-h", host, "-p", port]);
    if auth {
        cmd.args(["-a", &n.token(), "--no-auth-warning"]);
    }
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("redis-cli");
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "redis-cli failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn redis_cli_script_runs_against_the_node() {
    let n = Node::start();
    let out = redis_cli(
        &n,
        true,
        "SET greeting \"hello world\"\nGET greeting\nAPPEND greeting !\nINCR counter\nINCRBY counter 9\n\
         HSET user:1 name ann age 30\nHGET user:1 name\nRPUSH q a b c\nLPOP q\nLRANGE q 0 -1\n\
         ZADD board 10 ann 20 bob\nZREVRANGE board 0 -1 WITHSCORES\nSADD tags x y\nSCARD tags\n\
         GET user:1\nTYPE q\nDBSIZE\n",
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            "OK",
            "hello world",
            "12",
            "1",
            "10",
            "2",
            "ann",
            "3",
            "a",
            "b",
            "c",
            "2",
            "bob",
            "20",
            "ann",
            "10",
            "2",
            "2",
            "WRONGTYPE Operation against a key holding the wrong kind of value",
            "", // redis-cli's blank line after an error
            "list",
            "6"
        ],
        "{out}"
    );
    // Without AUTH, reads work and writes are refused; the data stays.
    let out = redis_cli(&n, false, "GET greeting\nSET greeting x\nGET greeting\n");
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        ["hello world!", "NOAUTH Authentication required.", "", "hello world!"]
    );
    // Data survives a restart.
    let n = n.restart();
    assert_eq!(
        redis_cli(&n, false, "GET greeting\nLRANGE q 0 -1\n").lines().collect::<Vec<_>>(),
        ["hello world!", "b", "c"]
    );
    n.stop();
}

#[test]
fn python_redis_client_pipelines_and_transactions() {
    let n = Node::start();
    let mid = n.ok(&["mimei", "create", "--db", "-m", "second"]);
    let mid = mid.lines().find_map(|l| l.strip_prefix("mid= ")).expect("mid line").trim().to_string();
    let (host, port) = n.resp.rsplit_once(':').unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/interop/redis_client.py");
    let out = Command::new("python3").args([script, host, port, &n.token(), &mid]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    for check in [
        "ok pipeline",
        "ok multi/exec",
        "ok watch conflict",
        "ok transaction helper",
        "ok guest write refused",
        "ok other db is separate",
    ] {
        assert!(text.contains(check), "missing {check}: {text}");
    }
    assert!(text.trim_end().ends_with("all ok"), "{text}");
    n.stop();
}

/// A minimal RESP client for the differential test.
struct Client {
    conn: std::net::TcpStream,
    buf: Vec<u8>,
}

impl Client {
    fn connect(addr: &str) -> Client {
        let conn = std::net::TcpStream::connect(addr).unwrap();
        conn.set_read_timeout(Some(std::time::Duration::from_secs(30))).unwrap();
        Client { conn, buf: Vec::new() }
    }

    fn call(&mut self, args: &[String]) -> Reply {
        use std::io::Read;
        let mut req = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            req.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
        }
        self.conn.write_all(&req).unwrap();
        loop {
            if let Some((r, used)) = resp::parse_reply(&self.buf).unwrap() {
                self.buf.drain(..used);
                return r;
            }
            let mut chunk = [0u8; 65536];
            let n = self.conn.read(&mut chunk).unwrap();
            assert!(n > 0, "server closed the connection");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

/// Random command streams through the node's RESP endpoint (and its LMDB store, group commit
/// and connection handling) against a real redis-server, in RESP2 and RESP3.
#[test]
fn random_commands_over_resp_match_real_redis() {
    let seed: u64 = match std::env::var("REDIS_DIFF_SEED") {
        Ok(s) => s.parse().expect("REDIS_DIFF_SEED is a number"),
        Err(_) => std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64,
    };
    println!("redis differential over RESP: seed {seed} (REDIS_DIFF_SEED={seed} replays)");
    let n = Node::start();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut redis = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--save", "", "--appendonly", "no", "--bind", "127.0.0.1"])
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server (scripts/test.sh installs it)");
    let addr = format!("127.0.0.1:{port}");
    let connect = |a: &str| {
        for _ in 0..200 {
            if std::net::TcpStream::connect(a).is_ok() {
                return Client::connect(a);
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        panic!("nothing listens on {a}");
    };
    let mut theirs = [connect(&addr), connect(&addr)];
    let mut ours = [connect(&n.resp), connect(&n.resp)];
    let token = n.token();
    for c in &mut ours {
        assert_eq!(c.call(&["AUTH".into(), token.clone()]), Reply::ok());
    }
    for side in [&mut theirs[1], &mut ours[1]] {
        assert!(matches!(side.call(&["HELLO".into(), "3".into()]), Reply::Map(_)));
    }
    let mut gen = RedisGen::new(Seed::from_u64(seed).rng());
    for i in 0..10_000 {
        let cmd = gen.next_command();
        let name = cmd[0].to_ascii_uppercase();
        let p = i % 2;
        let (t, m) = (normalise(&name, theirs[p].call(&cmd)), normalise(&name, ours[p].call(&cmd)));
        assert!(
            same(&name, &t, &m),
            "seed {seed}, command #{i} (RESP{}): {}\n  redis: {t:?}\n  ours:  {m:?}",
            p + 2,
            cmd.join(" ")
        );
    }
    let _ = redis.kill();
    let _ = redis.wait();
    n.stop();
}

/// kill -9 during a burst of writes from several clients: after a restart every write that was
/// acknowledged is there (the default durability: commits reach the OS before the reply).
#[test]
fn acknowledged_writes_survive_kill_9() {
    use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
    use std::sync::Arc;
    let mut n = Node::start();
    let token = n.token();
    let stop = Arc::new(AtomicBool::new(false));
    let acked: Arc<Vec<AtomicI64>> = Arc::new((0..4).map(|_| AtomicI64::new(-1)).collect());
    let writers: Vec<_> = (0..4)
        .map(|t| {
            let (addr, token, stop, acked) = (n.resp.clone(), token.clone(), stop.clone(), acked.clone());
            std::thread::spawn(move || {
                let mut c = Client::connect(&addr);
                c.call(&["AUTH".into(), token]);
                for i in 0.. {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    // Once the node is killed, calls fail: stop there.
                    let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        let set = c.call(&["SET".into(), format!("t{t}:{i}"), i.to_string()]);
                        let push = c.call(&["RPUSH".into(), format!("log{t}"), i.to_string()]);
                        set == Reply::ok() && push == Reply::Int(i + 1)
                    }));
                    match ok {
                        Ok(true) => acked[t].store(i, Ordering::SeqCst),
                        _ => break,
                    }
                }
            })
        })
        .collect();
    // Let the burst run, then kill the node in the middle of it.
    while acked.iter().map(|a| a.load(Ordering::SeqCst)).min().unwrap() < 300 {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    n.kill9();
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        let _ = w.join();
    }
    n.api.clear();
    n.resp.clear();
    let n = n.spawn();
    let mut c = Client::connect(&n.resp);
    for (t, last) in acked.iter().enumerate() {
        let last = last.load(Ordering::SeqCst);
        assert!(last >= 300);
        for i in 0..=last {
            assert_eq!(
                c.call(&["GET".into(), format!("t{t}:{i}")]),
                Reply::bulk(i.to_string()),
                "writer {t}, write {i} of {last}"
            );
        }
        let Reply::Int(len) = c.call(&["LLEN".into(), format!("log{t}")]) else { panic!() };
        assert!(len > last, "writer {t}: {len} log entries, {} acknowledged", last + 1);
    }
    n.stop();
}

/// Hostile or broken clients: protocol errors close only that connection (with Redis's error
/// line), an oversize bulk length is refused before any memory is spent, and everyone else's
/// data and connections carry on.
#[test]
fn bad_input_costs_only_the_offending_connection() {
    use std::io::Read;
    let n = Node::start();
    let mut good = Client::connect(&n.resp);
    assert_eq!(good.call(&["AUTH".into(), n.token()]), Reply::ok());
    assert_eq!(good.call(&["SET".into(), "k".into(), "v".into()]), Reply::ok());
    for junk in [
        &b"*1\r\n$999999999999\r\n"[..], // a bulk longer than Redis allows
        b"*2\r\n$3\r\nGET\r\n:5\r\n",    // not a bulk string
        b"*x\r\n",                       // not a number
        b"SET \"unterminated\r\n",       // unbalanced quotes inline
    ] {
        let mut s = std::net::TcpStream::connect(&n.resp).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(5))).unwrap();
        s.write_all(junk).unwrap();
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        let text = String::from_utf8_lossy(&out);
        assert!(text.starts_with("-ERR Protocol error"), "{junk:?} → {text:?}");
    }
    // Command-level mistakes are answered and the connection stays.
    assert!(matches!(good.call(&["GET".into()]), Reply::Error(e) if e.contains("wrong number of arguments")));
    assert!(
        matches!(good.call(&["INCR".into(), "k".into()]), Reply::Error(e) if e == "ERR value is not an integer or out of range")
    );
    assert!(matches!(good.call(&["NOPE".into()]), Reply::Error(e) if e.starts_with("ERR unknown command 'NOPE'")));
    assert_eq!(good.call(&["GET".into(), "k".into()]), Reply::bulk("v"));
    n.stop();
}
