//! Hostile clients on the HTTP port: each reproduction of a way to crash, stall or exhaust a
//! node, run against a node under a memory limit. During and after each attack the node must
//! answer a gateway read and a Redis PING within a second, and its memory stay bounded.

use crate::harness::{api, http, Node};
use crate::probe::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// What a bomb may add to the node's peak RSS over its idle RSS.
const BOMB_RSS_KIB: u64 = 64 << 10;

/// The whole hprose error reply a bomb gets (the default 32 MiB budget).
fn refusal() -> String {
    let m = "the request decodes to more than 33554432 bytes (hprose references count their copies)";
    format!("Es{}\"{m}\"z", m.len())
}

fn bomb(refs: usize, len: usize) -> Vec<u8> {
    let mut b = format!("Cs2\"Id\"a{}{{s{len}\"", refs + 1).into_bytes();
    b.extend(std::iter::repeat_n(b'a', len));
    b.push(b'"');
    for _ in 0..refs {
        b.extend_from_slice(b"r1;");
    }
    b.extend_from_slice(b"}z");
    b
}

#[test]
fn hprose_reference_bombs_are_refused_over_http_and_websocket() {
    let (n, cid) = limited_node(|_| {});
    assert_serving(&n, &cid, "idle");
    let idle = status_kib(&n, "VmRSS");
    reset_peak(&n);
    for (refs, len) in [(300, 1_000_000), (1_000_000, 8_000_000)] {
        let body = bomb(refs, len);
        let started = Instant::now();
        let r = http(&n.addr(), "POST", "/webapi/", &[], &body);
        assert_eq!((r.status, r.text()), (200, refusal()));
        assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
        assert_serving(&n, &cid, "after an hprose bomb over HTTP");
    }
    // The same through /ws/: the reply carries the request id back.
    let mut ws = ws_open(&n.addr());
    let mut msg = 7u32.to_be_bytes().to_vec();
    msg.extend(bomb(1_000_000, 8_000_000));
    ws.write_all(&ws_frame(0x2, &msg, true)).unwrap();
    let (op, reply) = ws_read(&mut ws).expect("a reply to the bomb");
    assert_eq!(op, 0x2);
    assert_eq!(&reply[..4], &7u32.to_be_bytes());
    assert_eq!(String::from_utf8_lossy(&reply[4..]), refusal());
    assert_serving(&n, &cid, "after an hprose bomb over WebSocket");
    let peak = status_kib(&n, "VmHWM");
    assert!(peak < idle + BOMB_RSS_KIB, "peak RSS {peak} KiB, idle {idle} KiB");
}

#[test]
fn long_request_lines_and_heads_are_refused_and_stalled_heads_time_out() {
    let (n, cid) = limited_node(|c| http_limit(c, "head_timeout_ms", 1500));
    let addr = n.addr();
    let idle = status_kib(&n, "VmRSS");
    reset_peak(&n);
    // A 100 MB URL: refused with 414 after the first 8 KiB, the rest never read.
    let mut s = TcpStream::connect(&addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"GET /").unwrap();
    let chunk = vec![b'a'; 1 << 20];
    for _ in 0..100 {
        if s.write_all(&chunk).is_err() {
            break;
        }
    }
    let mut resp = Vec::new();
    let _ = s.read_to_end(&mut resp);
    assert!(resp.starts_with(b"HTTP/1.1 414"), "{}", String::from_utf8_lossy(&resp[..resp.len().min(200)]));
    // Headers over 64 KiB: 431.
    let mut big = b"GET / HTTP/1.1\r\nHost: x\r\n".to_vec();
    for i in 0..2000 {
        big.extend_from_slice(format!("X-Pad-{i}: {}\r\n", "v".repeat(40)).as_bytes());
    }
    assert_eq!(status_within(&addr, &big, Duration::from_secs(5)), Some(431));
    // 101 header fields: 431.
    let mut many = b"GET / HTTP/1.1\r\nHost: x\r\n".to_vec();
    for i in 0..101 {
        many.extend_from_slice(format!("X-{i}: 1\r\n").as_bytes());
    }
    many.extend_from_slice(b"\r\n");
    assert_eq!(status_within(&addr, &many, Duration::from_secs(5)), Some(431));
    // Three stalled heads just under the limit are answered 408 at the head deadline.
    let mut stalled: Vec<TcpStream> = (0..3)
        .map(|_| {
            let mut s = TcpStream::connect(&addr).unwrap();
            let mut h = b"GET / HTTP/1.1\r\n".to_vec();
            h.extend(std::iter::repeat_n(b'x', 60 << 10).collect::<Vec<_>>());
            let _ = s.write_all(b"GET / HTTP/1.1\r\nX-Long: ");
            let _ = s.write_all(&h[16..]);
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            s
        })
        .collect();
    assert_serving(&n, &cid, "while three heads stall");
    let started = Instant::now();
    for s in &mut stalled {
        let mut r = Vec::new();
        let _ = s.read_to_end(&mut r);
        assert!(r.starts_with(b"HTTP/1.1 408"), "{}", String::from_utf8_lossy(&r));
    }
    assert!(started.elapsed() < Duration::from_secs(4), "the stalled heads were held {:?}", started.elapsed());
    assert_serving(&n, &cid, "after the stalled heads");
    let peak = status_kib(&n, "VmHWM");
    assert!(peak < idle + BOMB_RSS_KIB, "peak RSS {peak} KiB, idle {idle} KiB");
}

#[test]
fn slow_bodies_and_long_polls_hold_no_worker() {
    let (n, cid) = limited_node(|c| http_limit(c, "workers", 4));
    let addr = n.addr();
    // Four (and then forty) bodies that never finish, on a node with four workers.
    let mut slow = Vec::new();
    for _ in 0..40 {
        let mut s = TcpStream::connect(&addr).unwrap();
        s.write_all(b"POST /api/Id HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n[").unwrap();
        slow.push(s);
    }
    // Forty long polls of a minute each (the owner's queue: a guest has none to wait on).
    let token = n.token();
    let polls: Vec<_> = (0..40)
        .map(|_| {
            let (a, t) = (addr.clone(), token.clone());
            std::thread::spawn(move || {
                let started = Instant::now();
                let r = api(&a, "PullMsg", "[60]", Some(&t));
                (r, started.elapsed())
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    for i in 0..5 {
        assert_serving(&n, &cid, &format!("with 40 slow bodies and 40 long polls held (round {i})"));
        let started = Instant::now();
        let (status, body) = api(&addr, "Id", "[]", None);
        assert_eq!(status, 200, "{body}");
        assert!(started.elapsed() < Duration::from_secs(1));
    }
    drop(slow);
    // A long poll ends at its wait with an empty message; a short one answers at once.
    let started = Instant::now();
    let (status, body) = api(&addr, "PullMsg", "[1]", Some(&token));
    assert_eq!((status, body.as_str()), (200, "{\"result\":\"\"}"));
    assert!(started.elapsed() >= Duration::from_millis(900) && started.elapsed() < Duration::from_secs(3));
    // The forty minute-long polls are still parked; stopping the node answers them.
    n.stop();
    for p in polls {
        let ((status, _), took) = p.join().unwrap();
        assert!(took < Duration::from_secs(30), "a parked poll was held {took:?}");
        let _ = status;
    }
}

#[test]
fn cross_site_pages_cannot_register_or_write() {
    let n = Node::start();
    let addr = n.addr();
    let evil = [("Origin", "http://evil.example"), ("Content-Type", "text/plain")];
    let r = http(&addr, "POST", "/api/Register", &evil, br#"["mallory","pw",""]"#);
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(r.text().contains("cross-site"), "{}", r.text());
    let r = http(&addr, "POST", "/api/MMCreate", &evil, b"[]");
    assert_eq!(r.status, 403, "{}", r.text());
    let r = http(&addr, "POST", "/api/Register", &[("Sec-Fetch-Site", "cross-site")], br#"["mallory","pw",""]"#);
    assert_eq!(r.status, 403, "{}", r.text());
    // hprose over HTTP: an `E` reply for that call.
    let r = http(&addr, "POST", "/webapi/", &evil, b"Cs8\"Register\"a3{s7\"mallory\"s2\"pw\"s0\"\"}z");
    assert_eq!(r.status, 200);
    assert!(r.text().starts_with("E") && r.text().contains("cross-site"), "{}", r.text());
    // Read methods stay open to any page, and a page of the node itself may register.
    let r = http(&addr, "POST", "/api/Id", &evil, b"[]");
    assert_eq!(r.status, 200, "{}", r.text());
    let own = format!("http://{addr}");
    let r = http(&addr, "POST", "/api/Register", &[("Origin", own.as_str())], br#"["alice","pw",""]"#);
    assert_eq!(r.status, 200, "{}", r.text());
    // Programs (no Origin) are not browsers: they register as before.
    let (status, body) = api(&addr, "Register", r#"["bob","pw",""]"#, None);
    assert_eq!(status, 200, "{body}");
}

/// Whether the node closed `s` (a read sees the end or a reset; an open idle one would block).
fn server_closed(s: &TcpStream) -> bool {
    let _ = s.set_nonblocking(true);
    let mut b = [0u8; 1];
    !matches!(s.peek(&mut b), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
}

#[test]
fn connections_are_capped_per_address_and_in_total() {
    let (n, cid) = limited_node(|c| {
        http_limit(c, "max_conns_per_ip", 20);
        http_limit(c, "max_conns", 60);
    });
    let addr = n.addr();
    let held: Vec<TcpStream> = (0..20).map(|_| connect_from("127.0.0.2", &addr).unwrap()).collect();
    std::thread::sleep(Duration::from_millis(200));
    // The 21st from that address is told why and closed.
    let mut extra = connect_from("127.0.0.2", &addr).unwrap();
    extra.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut r = String::new();
    let _ = extra.read_to_string(&mut r);
    assert!(r.starts_with("HTTP/1.1 503") && r.contains("connections from 127.0.0.2"), "{r}");
    // Others are served.
    assert_serving(&n, &cid, "with one address at its cap");
    // Up to the total: two more addresses fill it, then everyone is told.
    let mut more: Vec<TcpStream> = Vec::new();
    for a in ["127.0.0.3", "127.0.0.4"] {
        for _ in 0..20 {
            more.push(connect_from(a, &addr).unwrap());
        }
    }
    // A connection of an earlier request may still be counted when these arrive, so one of them
    // can be the one told that the node is full: it must say so, and it is replaced.
    for _ in 0..10 {
        std::thread::sleep(Duration::from_millis(200));
        let mut replaced = 0;
        for s in more.iter_mut().filter(|s| server_closed(s)) {
            s.set_nonblocking(false).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
            let mut r = String::new();
            let _ = s.read_to_string(&mut r);
            assert!(r.starts_with("HTTP/1.1 503") && r.contains("the node has its 60 HTTP connections open"), "{r}");
            *s = connect_from("127.0.0.5", &addr).unwrap();
            replaced += 1;
        }
        if replaced == 0 {
            break;
        }
    }
    // The loop takes the new connections in as it gets to them (later on a loaded machine): a
    // node without the total cap answers 200 every time.
    let get = format!("GET /ipfs/{cid} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let mut seen = Vec::new();
    for _ in 0..20 {
        std::thread::sleep(Duration::from_millis(200));
        seen.push(status_within(&addr, get.as_bytes(), Duration::from_secs(2)));
        if seen.last() == Some(&Some(503)) {
            break;
        }
    }
    if seen.last() != Some(&Some(503)) {
        // Which of the 60 the node no longer holds (it closed them), to tell a miscount from a close.
        let closed = |v: &[TcpStream]| v.iter().filter(|s| server_closed(s)).count();
        panic!(
            "with 60 connections open: {seen:?}; closed by the node: {} of 20 held, {} of 40 more",
            closed(&held),
            closed(&more)
        );
    }
    drop(more);
    drop(held);
    std::thread::sleep(Duration::from_millis(300));
    assert_serving(&n, &cid, "after the connections closed");
}

#[test]
fn websocket_frames_follow_rfc6455() {
    let (n, cid) = limited_node(|c| http_limit(c, "ws_max_message", 1 << 20));
    let close_code = |s: &mut TcpStream| -> Option<u16> {
        loop {
            match ws_read(s) {
                Some((0x8, p)) if p.len() >= 2 => return Some(u16::from_be_bytes([p[0], p[1]])),
                Some((0x8, _)) | None => return None,
                Some(_) => continue,
            }
        }
    };
    // A masked call works; a ping gets its pong.
    let mut ws = ws_open(&n.addr());
    let mut call = 1u32.to_be_bytes().to_vec();
    call.extend_from_slice(b"Cs2\"Id\"z");
    ws.write_all(&ws_frame(0x2, &call, true)).unwrap();
    let (op, reply) = ws_read(&mut ws).unwrap();
    assert_eq!((op, &reply[..4]), (0x2, &1u32.to_be_bytes()[..]));
    ws.write_all(&ws_frame(0x9, b"hi", true)).unwrap();
    assert_eq!(ws_read(&mut ws), Some((0xA, b"hi".to_vec())));
    // Unmasked client frames: closed with 1002.
    let mut ws = ws_open(&n.addr());
    ws.write_all(&ws_frame(0x2, &call, false)).unwrap();
    assert_eq!(close_code(&mut ws), Some(1002));
    // A 70 KB ping: 1002 from its header alone (control frames carry at most 125 bytes).
    let mut ws = ws_open(&n.addr());
    ws.write_all(&ws_frame(0x9, &vec![0u8; 70_000], true)[..20]).unwrap();
    assert_eq!(close_code(&mut ws), Some(1002));
    // A message over the limit: 1009, refused from its header.
    let mut ws = ws_open(&n.addr());
    let mut head = ws_frame(0x2, &[], true);
    head[1] = 0x80 | 127;
    head.truncate(2);
    head.extend_from_slice(&(8u64 << 20).to_be_bytes());
    head.extend_from_slice(&[1, 2, 3, 4]);
    ws.write_all(&head).unwrap();
    assert_eq!(close_code(&mut ws), Some(1009));
    assert_serving(&n, &cid, "after bad WebSocket frames");
}

#[test]
fn http_semantics_bearer_case_paths_below_files_and_latin1_headers() {
    let n = Node::start();
    let addr = n.addr();
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("f.txt");
    std::fs::write(&f, b"file\n").unwrap();
    let cid = n.add(&f);
    let r = http(&addr, "GET", &format!("/ipfs/{cid}/a/b"), &[], b"");
    assert_eq!(r.status, 404, "{}", r.text());
    // The scheme of Authorization ignores case (RFC 9110 §11.1).
    let token = n.token();
    for scheme in ["bearer", "BEARER", "Bearer"] {
        let auth = format!("{scheme} {token}");
        let r = http(&addr, "POST", "/api/MMCreate", &[("Authorization", auth.as_str())], b"[]");
        assert_ne!(r.status, 401, "{scheme}: {}", r.text());
    }
    // A byte outside ASCII in a header value is answered, not a closed connection.
    let raw = format!("GET /ipfs/{cid} HTTP/1.1\r\nHost: x\r\nX-Name: caf\u{e9}\r\nConnection: close\r\n\r\n");
    let mut latin1: Vec<u8> = raw.chars().map(|c| c as u32 as u8).collect();
    latin1.truncate(raw.chars().count());
    assert_eq!(status_within(&addr, &latin1, Duration::from_secs(2)), Some(200));
    // A chunked request body is refused with 411, not misread.
    let chunked = b"POST /api/Id HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n[]\r\n0\r\n\r\n";
    assert_eq!(status_within(&addr, chunked, Duration::from_secs(2)), Some(411));
}

#[test]
fn slow_readers_are_drained_off_the_workers_and_cut_off() {
    let (n, cid) = limited_node(|c| {
        http_limit(c, "workers", 2);
        http_limit(c, "write_timeout_ms", 2000);
    });
    let addr = n.addr();
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big");
    let data = crate::harness::bytes(16 << 20, 5);
    std::fs::write(&big, &data).unwrap();
    let big_cid = n.add(&big);
    // Twelve clients ask for 16 MiB and read nothing: each fills its socket buffers and stalls.
    let get = format!("GET /ipfs/{big_cid} HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut slow = Vec::new();
    for i in 0..12 {
        let mut s = connect_from(&format!("127.0.0.{}", 2 + i % 3), &addr).unwrap();
        s.write_all(get.as_bytes()).unwrap();
        slow.push(s);
    }
    std::thread::sleep(Duration::from_millis(1500));
    assert_serving(&n, &cid, "with twelve slow readers on two workers");
    // A client that reads gets the whole file meanwhile.
    let r = http(&addr, "GET", &format!("/ipfs/{big_cid}"), &[], b"");
    assert_eq!((r.status, r.body.len()), (200, data.len()));
    assert!(r.body == data);
    // The slow ones are cut off once they have stalled past the write timeout.
    std::thread::sleep(Duration::from_millis(3500));
    for mut s in slow {
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut got = Vec::new();
        let ended = s.read_to_end(&mut got).is_ok() || got.len() < data.len();
        assert!(ended && got.len() < data.len(), "a stalled reader got {} bytes and was not cut off", got.len());
    }
    assert_serving(&n, &cid, "after the slow readers");
}

#[test]
fn lookups_that_wait_on_the_network_take_at_most_their_slots() {
    // The only peer this node knows is stopped (SIGSTOP) after they connect: every lookup
    // waits for its answer timeout.
    let b = Node::start();
    let boot = crate::harness::peer_addr(&b);
    let n = Node::init(&[boot])
        .configure(|c| http_limit(c, "max_fetches", 2))
        .spawn_wrapped(&["prlimit", DATA_LIMIT, "--"], &[]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("f"), b"still serving\n").unwrap();
    let cid = n.add(&dir.path().join("f"));
    let addr = n.addr();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !api(&addr, "SwarmPeers", "[]", None).1.contains(&b.id) {
        assert!(Instant::now() < deadline, "the nodes did not connect");
        std::thread::sleep(Duration::from_millis(50));
    }
    let pid = b.child.as_ref().unwrap().id().to_string();
    let signal = |sig: &str| assert!(std::process::Command::new("kill").args([sig, &pid]).status().unwrap().success());
    signal("-STOP");
    let unknown = "AAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let lookups: Vec<_> = (0..2)
        .map(|_| {
            let a = addr.clone();
            std::thread::spawn(move || {
                let t = Instant::now();
                (api(&a, "DhtFindPeer", &format!("[\"\", \"{unknown}\"]"), None), t.elapsed())
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    // Both slots are taken: a third anonymous lookup is told so at once.
    let started = Instant::now();
    let (status, body) = api(&addr, "DhtFindPeer", &format!("[\"\", \"{unknown}\"]"), None);
    let lookups_done = lookups.iter().all(|t| t.is_finished());
    assert!(!lookups_done, "the lookups did not wait on the stopped peer");
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("waiting on the network"), "{body}");
    assert!(started.elapsed() < Duration::from_secs(1));
    // The owner is not limited, and everything else is served.
    let (status, _) = api(&addr, "SwarmPeers", "[]", Some(&n.token()));
    assert_eq!(status, 200);
    assert_serving(&n, &cid, "while two lookups wait on a stopped peer");
    signal("-CONT");
    for t in lookups {
        let ((status, body), _) = t.join().unwrap();
        assert_ne!(status, 503, "{body}");
    }
    // With the slots free again, lookups run.
    let (status, body) = api(&addr, "DhtFindPeer", &format!("[\"\", \"{unknown}\"]"), None);
    assert_ne!(status, 503, "{body}");
}

#[test]
fn running_out_of_descriptors_neither_spins_nor_stops_the_node() {
    // 96 descriptors: the node's own files, peers and RESP leave room for a few dozen clients.
    let n = Node::init(&[]).spawn_wrapped(&["prlimit", DATA_LIMIT, "--nofile=96", "--"], &[]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("f"), b"still serving\n").unwrap();
    let cid = n.add(&dir.path().join("f"));
    let addr = n.addr();
    let cpu = |n: &Node| -> u64 {
        let pid = n.child.as_ref().unwrap().id();
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let f: Vec<&str> = stat.rsplit_once(')').unwrap().1.split_whitespace().collect();
        f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
    };
    // More connections than the node has descriptors for, held for two seconds.
    let held: Vec<TcpStream> = (0..150).filter_map(|_| TcpStream::connect(&addr).ok()).collect();
    std::thread::sleep(Duration::from_millis(300));
    let before = cpu(&n);
    std::thread::sleep(Duration::from_secs(2));
    let ticks = cpu(&n) - before;
    // Clock ticks are 1/100 s: a loop spinning on a listener it cannot accept from takes ~200.
    assert!(ticks < 60, "the node used {ticks} ticks of CPU in 2 s while out of descriptors");
    drop(held);
    std::thread::sleep(Duration::from_millis(300));
    assert_serving(&n, &cid, "after running out of descriptors");
}

#[test]
fn a_misspelt_http_limit_stops_the_start_with_its_name() {
    let n = Node::init(&[]).configure(|c| http_limit(c, "wokers", 2));
    let out = std::process::Command::new(crate::harness::BIN).args(["run", "--repo"]).arg(n.repo()).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("config.json: http.wokers is not a known limit (known: workers,"), "{err}");
}
