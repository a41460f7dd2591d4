//! For the hostile-client tests: a node started under a memory limit, the probes that show it
//! still serves (a gateway read and a Redis PING, each within a second), its memory figures, and
//! raw clients that misbehave on purpose (partial requests, WebSocket frames of any shape).

use crate::harness::Node;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// The data limit the node runs under (`prlimit --data`): a regression that lets a client make
/// it allocate without bound ends the node instead of hurting the machine.
pub(crate) const DATA_LIMIT: &str = "--data=1073741824";

/// A node with `edit` applied to its config.json, started under [`DATA_LIMIT`], with one small
/// file added; returns the node and that file's CID.
pub(crate) fn limited_node(edit: impl FnOnce(&mut serde_json::Value)) -> (Node, String) {
    let n = Node::init(&[]).configure(edit).spawn_wrapped(&["prlimit", DATA_LIMIT, "--"], &[]);
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("probe.txt");
    std::fs::write(&f, b"still serving\n").unwrap();
    let cid = n.add(&f);
    (n, cid)
}

/// Sets `http.<k>` in a config.
pub(crate) fn http_limit(cfg: &mut serde_json::Value, k: &str, v: u64) {
    if cfg.get("http").is_none() {
        cfg["http"] = serde_json::json!({});
    }
    cfg["http"][k] = serde_json::json!(v);
}

/// A raw request on a fresh connection; the status, or None when no answer came within `wait`.
pub(crate) fn status_within(addr: &str, raw: &[u8], wait: Duration) -> Option<u16> {
    let mut s = TcpStream::connect_timeout(&addr.parse().unwrap(), wait).ok()?;
    s.set_read_timeout(Some(wait)).ok()?;
    s.set_write_timeout(Some(wait)).ok()?;
    s.write_all(raw).ok()?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let deadline = Instant::now() + wait;
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && Instant::now() < deadline {
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(k) => buf.extend_from_slice(&chunk[..k]),
        }
    }
    let line = String::from_utf8_lossy(&buf);
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The node answers `GET /ipfs/<cid>` and a Redis PING, each within one second. The suite
/// shares two cores with other tests' nodes, so a probe gets three tries; a node that an attack
/// stalls fails all three.
pub(crate) fn assert_serving(n: &Node, cid: &str, when: &str) {
    let mut last = String::new();
    for _ in 0..3 {
        match serving(n, cid) {
            Ok(()) => return,
            Err(e) => last = e,
        }
    }
    panic!("{when}: {last}");
}

fn serving(n: &Node, cid: &str) -> Result<(), String> {
    let addr = n.addr();
    let started = Instant::now();
    let get = format!("GET /ipfs/{cid} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let status = status_within(&addr, get.as_bytes(), Duration::from_secs(1));
    if status != Some(200) {
        return Err(format!("GET /ipfs/{cid} got {status:?} within 1 s"));
    }
    if started.elapsed() >= Duration::from_secs(1) {
        return Err(format!("the gateway took {:?}", started.elapsed()));
    }
    let started = Instant::now();
    let mut r = TcpStream::connect(&n.resp).map_err(|e| format!("RESP endpoint: {e}"))?;
    r.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    r.write_all(b"*1\r\n$4\r\nPING\r\n").map_err(|e| format!("PING: {e}"))?;
    let mut pong = [0u8; 7];
    r.read_exact(&mut pong).map_err(|e| format!("redis PING got no answer within 1 s: {e}"))?;
    if &pong != b"+PONG\r\n" || started.elapsed() >= Duration::from_secs(1) {
        return Err(format!("PING answered {:?} after {:?}", String::from_utf8_lossy(&pong), started.elapsed()));
    }
    Ok(())
}

/// A line of /proc/<pid>/status in KiB (`VmRSS`, `VmHWM`).
pub(crate) fn status_kib(n: &Node, field: &str) -> u64 {
    let pid = n.child.as_ref().expect("running").id();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("the node is alive");
    let line = status.lines().find(|l| l.starts_with(field)).unwrap_or_else(|| panic!("no {field}"));
    line.split_whitespace().nth(1).and_then(|v| v.parse().ok()).expect("a number")
}

/// Resets the peak RSS (`VmHWM`) to the current RSS, so a later peak is this test's.
pub(crate) fn reset_peak(n: &Node) {
    let pid = n.child.as_ref().expect("running").id();
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").expect("clear_refs");
}

/// A connection from a chosen loopback address (all of 127/8 is this machine), so a test can
/// be several clients at once.
pub(crate) fn connect_from(local: &str, addr: &str) -> std::io::Result<TcpStream> {
    use socket2::{Domain, Socket, Type};
    let to: SocketAddr = addr.parse().unwrap();
    let s = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    s.bind(&SocketAddr::new(local.parse().unwrap(), 0).into())?;
    s.connect_timeout(&to.into(), Duration::from_secs(2))?;
    Ok(s.into())
}

/// A WebSocket opened on `/ws/`: the stream after the 101.
pub(crate) fn ws_open(addr: &str) -> TcpStream {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let req = format!(
        "GET /ws/ HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut b).unwrap();
        head.push(b[0]);
    }
    let head = String::from_utf8_lossy(&head);
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(head.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), "{head}");
    s
}

/// One client frame; `masked` as RFC 6455 requires of clients (false to test the refusal).
pub(crate) fn ws_frame(opcode: u8, payload: &[u8], masked: bool) -> Vec<u8> {
    let mut f = vec![0x80 | opcode];
    let m = if masked { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => f.push(m | n as u8),
        n if n <= 0xffff => {
            f.push(m | 126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            f.push(m | 127);
            f.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    if masked {
        let key = [0x37, 0xfa, 0x21, 0x3d];
        f.extend_from_slice(&key);
        f.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    } else {
        f.extend_from_slice(payload);
    }
    f
}

/// The next server frame: (opcode, payload); None when the connection ended.
pub(crate) fn ws_read(s: &mut TcpStream) -> Option<(u8, Vec<u8>)> {
    let mut h = [0u8; 2];
    s.read_exact(&mut h).ok()?;
    let mut len = u64::from(h[1] & 0x7f);
    if len == 126 {
        let mut b = [0u8; 2];
        s.read_exact(&mut b).ok()?;
        len = u64::from(u16::from_be_bytes(b));
    } else if len == 127 {
        let mut b = [0u8; 8];
        s.read_exact(&mut b).ok()?;
        len = u64::from_be_bytes(b);
    }
    let mut p = vec![0u8; len as usize];
    s.read_exact(&mut p).ok()?;
    Some((h[0] & 0x0f, p))
}
