//! Silent connections flooding a node's peer port do not keep real peers out.

use crate::harness::*;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Opens silent connections to 127.0.0.1:`port` from the given source addresses (`ip:count`),
/// says how many the node closed within a second, and holds the rest until stdin closes.
const FLOOD: &str = r#"
import socket, sys, time
port = int(sys.argv[1])
socks = []
for spec in sys.argv[2:]:
    ip, n = spec.split(':')
    for _ in range(int(n)):
        c = socket.socket()
        c.bind((ip, 0))
        c.connect(('127.0.0.1', port))
        socks.append(c)
print('opened', len(socks), flush=True)
time.sleep(1.0)
closed = 0
for c in socks:
    c.setblocking(False)
    try:
        if c.recv(1) == b'':
            closed += 1
    except BlockingIOError:
        pass
    except OSError:
        closed += 1
print('closed', closed, flush=True)
sys.stdin.read()
"#;

struct Flood {
    child: Child,
    opened: u64,
    closed: u64,
}

impl Flood {
    fn start(port: u16, sources: &[(&str, u32)]) -> Flood {
        let mut cmd = Command::new("python3");
        cmd.args(["-c", FLOOD, &port.to_string()]);
        for (ip, n) in sources {
            cmd.arg(format!("{ip}:{n}"));
        }
        let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("python3");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut num = |what: &str| -> u64 {
            let l = lines.next().unwrap_or_else(|| panic!("the flood client stopped before '{what}'")).unwrap();
            l.strip_prefix(what).and_then(|v| v.trim().parse().ok()).unwrap_or_else(|| panic!("{l}"))
        };
        let opened = num("opened");
        let closed = num("closed");
        Flood { child, opened, closed }
    }
}

impl Drop for Flood {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn peer_port(n: &Node) -> u16 {
    peer_addr(n).rsplit('/').next().unwrap().parse().unwrap()
}

/// `f` until it holds or `secs` pass.
fn within(secs: u64, f: impl Fn() -> bool) -> bool {
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(secs) {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

#[test]
fn silent_connections_do_not_lock_real_peers_out() {
    let a = Node::init_in(tempfile::tempdir().unwrap(), &[]);
    // The documented defaults, not the suite's raised per-address cap.
    a.set_config("network", "max_conns_per_ip", serde_json::json!(16));
    let a = a.spawn();
    let port = peer_port(&a);
    std::thread::sleep(Duration::from_millis(200));
    let idle = a.rss_anon_kib();

    // 300 from one address: 16 are let in, the rest closed at once.
    let one = Flood::start(port, &[("127.0.0.2", 300)]);
    assert_eq!(one.opened, 300);
    assert!(one.closed >= 284, "only {} of the 284 over the per-address cap were closed", one.closed);
    // 300 more from twenty addresses, 15 each: only 64 may wait in their handshake.
    let spread: Vec<(String, u32)> = (1..=20).map(|i| (format!("127.0.1.{i}"), 15)).collect();
    let spread: Vec<(&str, u32)> = spread.iter().map(|(ip, n)| (ip.as_str(), *n)).collect();
    let many = Flood::start(port, &spread);
    assert!(many.closed >= 300 - 64, "{} of 300 closed", many.closed);

    // A real node joins through it while the floods are held, and the DHT works both ways.
    let t0 = Instant::now();
    let b = Node::start_with(&[peer_addr(&a)]);
    let b_addr = peer_addr(&b);
    let found = within(8, || {
        let (status, body) = api(&a.addr(), "DhtFindPeer", &format!("[\"\", \"{}\"]", b.id), None);
        status == 200 && body.contains(&b_addr)
    });
    assert!(found, "node A does not find the joined node within 8 s");
    let out = b.cli_within(10, &["swarm", "connect", &peer_addr(&a)]);
    assert!(out.status.success(), "swarm connect: {}", String::from_utf8_lossy(&out.stderr));
    eprintln!("joined and found in {:?} with the floods held", t0.elapsed());
    let peers = b.ok(&["swarm", "peers"]);
    assert!(peers.contains(&a.id), "{peers}");

    let held = a.rss_anon_kib();
    eprintln!("heap while the floods are held: {held} KiB (idle {idle} KiB)");
    assert!(held < idle + (16 << 10), "the floods cost {} KiB of heap", held - idle);
    drop((one, many));
    a.stop();
    b.stop();
}
