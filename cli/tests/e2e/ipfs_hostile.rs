//! Hostile libp2p peers on a node's peer port: malformed multistream-select lines, yamux frames
//! with impossible lengths or windows, an oversized kad protobuf and a peer that opens
//! thousands of streams. Each is dropped (its connection closed or its stream reset), and the
//! node keeps serving a real kubo peer and its gateway.

use crate::harness::{bytes, peer_addr, Node};
use crate::ipfs_peers::{KuboOpts, KuboPeer};
use proto_core::identity::Identity;
use proto_core::libp2p::keys::NoRsa;
use proto_core::libp2p::noise::{Handshake, Transport};
use proto_core::rng::Seed;
use proto_core::session::Ciphers;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

const MSS: &[u8] = b"/multistream/1.0.0\n";

/// A multistream-select message: varint length, then the line.
fn line(s: &[u8]) -> Vec<u8> {
    assert!(s.len() < 128);
    let mut v = vec![s.len() as u8];
    v.extend_from_slice(s);
    v
}

fn dial(n: &Node) -> TcpStream {
    let addr = peer_addr(n);
    let port = addr.rsplit('/').next().unwrap();
    let s = TcpStream::connect(format!("127.0.0.1:{port}")).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    s
}

/// Reads until the node closes the connection (`true`) or `secs` pass (`false`); what it
/// sent goes to `seen`.
fn closed_within(s: &mut TcpStream, secs: u64, seen: &mut Vec<u8>) -> bool {
    let end = Instant::now() + Duration::from_secs(secs);
    let mut buf = [0u8; 65536];
    while Instant::now() < end {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(k) => seen.extend_from_slice(&buf[..k]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return true,
        }
    }
    false
}

/// A secured connection whose yamux frames we write by hand: multistream-select for noise, the
/// XX handshake offering yamux inline, then the noise transport.
struct Raw {
    s: TcpStream,
    t: Transport,
    plain: Vec<u8>,
}

impl Raw {
    fn connect(n: &Node) -> Raw {
        let mut s = dial(n);
        let mut hello = line(MSS);
        hello.extend(line(b"/noise\n"));
        s.write_all(&hello).unwrap();
        let expect = hello.len();
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        let me = Identity::from_seed([9; 32]);
        let mut h = Handshake::initiator(&me, Seed([8; 32]), None, &["/yamux/1.0.0"], &Ciphers(None)).unwrap();
        // The node echoes both lines; what follows is noise.
        while got.len() < expect {
            let k = s.read(&mut buf).unwrap_or(0);
            assert!(k > 0 || got.len() < expect, "the node closed during multistream-select");
            got.extend_from_slice(&buf[..k]);
        }
        assert_eq!(&got[..expect], &hello[..], "the node agreed on /noise");
        h.handle_input(&got[expect..], &NoRsa).unwrap();
        let end = Instant::now() + Duration::from_secs(10);
        while !h.is_done() {
            assert!(Instant::now() < end, "handshake timed out");
            while let Some(out) = h.poll_output() {
                s.write_all(&out).unwrap();
            }
            if h.is_done() {
                break;
            }
            match s.read(&mut buf) {
                Ok(0) => panic!("the node closed during the handshake"),
                Ok(k) => h.handle_input(&buf[..k], &NoRsa).unwrap(),
                Err(_) => {}
            }
        }
        while let Some(out) = h.poll_output() {
            s.write_all(&out).unwrap();
        }
        let (t, remote) = h.finish().unwrap();
        assert!(remote.muxers.iter().any(|m| m == "/yamux/1.0.0"), "inline yamux: {:?}", remote.muxers);
        Raw { s, t, plain: Vec::new() }
    }

    fn send(&mut self, plain: &[u8]) {
        let mut wire = Vec::new();
        self.t.encrypt(plain, &mut wire).unwrap();
        self.s.write_all(&wire).unwrap();
    }

    /// Reads for up to `secs`: `true` if the node closed the connection; decrypted bytes go to
    /// `self.plain`.
    fn closed_within(&mut self, secs: u64) -> bool {
        let mut wire = Vec::new();
        let closed = closed_within(&mut self.s, secs, &mut wire);
        let _ = self.t.decrypt(&wire, &mut self.plain);
        closed
    }

    /// The yamux frames the node sent so far: (type, flags, stream, length).
    fn frames(&self) -> Vec<(u8, u16, u32, u32)> {
        let mut v = Vec::new();
        let mut b = &self.plain[..];
        while b.len() >= 12 {
            let (ty, flags) = (b[1], u16::from_be_bytes([b[2], b[3]]));
            let id = u32::from_be_bytes([b[4], b[5], b[6], b[7]]);
            let len = u32::from_be_bytes([b[8], b[9], b[10], b[11]]);
            let body = if ty == 0 { len as usize } else { 0 };
            if b.len() < 12 + body {
                break;
            }
            v.push((ty, flags, id, len));
            b = &b[12 + body..];
        }
        v
    }
}

/// A yamux frame header.
fn frame(ty: u8, flags: u16, id: u32, len: u32) -> Vec<u8> {
    let mut v = vec![0, ty];
    v.extend(flags.to_be_bytes());
    v.extend(id.to_be_bytes());
    v.extend(len.to_be_bytes());
    v
}

const SYN: u16 = 1;
const RST: u16 = 8;

/// The node still serves: kubo downloads a fresh file from it, and the gateway answers.
fn still_serves(n: &Node, k: &KuboPeer, dir: &std::path::Path, seed: u64) {
    let data = bytes(1 << 20, seed);
    let f = dir.join(format!("f{seed}"));
    std::fs::write(&f, &data).unwrap();
    let cid = n.add(&f);
    let dest = dir.join(format!("got{seed}"));
    k.download(&cid, &dest, 30).unwrap();
    assert!(std::fs::read(&dest).unwrap() == data, "kubo got the node's file");
    let r = crate::harness::http(&n.addr(), "GET", &format!("/ipfs/{cid}"), &[], b"");
    assert_eq!(r.status, 200);
}

#[test]
fn hostile_peers_are_dropped_and_the_node_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let n = Node::start();
    let k = KuboPeer::start(&dir.path().join("k"), KuboOpts::default());
    n.ok(&["swarm", "connect", &k.maddr()]);
    still_serves(&n, &k, dir.path(), 1);

    // Multistream-select: a line without its newline, a length of 2^35, a line of 1000 bytes.
    for bad in [
        [line(MSS), vec![6], b"/noise".to_vec()].concat(),
        [line(MSS), vec![0xff, 0xff, 0xff, 0xff, 0x7f]].concat(),
        [line(MSS), vec![0xe8, 0x07], vec![b'a'; 1000]].concat(),
    ] {
        let mut s = dial(&n);
        s.write_all(&bad).unwrap();
        let mut seen = Vec::new();
        assert!(closed_within(&mut s, 5, &mut seen), "a malformed line closes the connection: {bad:?}");
    }

    // Yamux: a Data frame far beyond the 256 KiB window, on a stream it opens.
    let mut r = Raw::connect(&n);
    r.send(&frame(0, SYN, 1, 0xffff_fff0));
    r.send(&[0u8; 1024]);
    assert!(r.closed_within(5), "a frame beyond the window drops the peer");

    // Yamux: a window update that overflows the send window.
    let mut r = Raw::connect(&n);
    r.send(&frame(1, SYN, 1, 0));
    r.send(&frame(1, 0, 1, 0xffff_ffff));
    r.send(&frame(1, 0, 1, 0xffff_ffff));
    assert!(r.closed_within(5), "an overflowing window drops the peer");

    // Yamux: an unknown frame type.
    let mut r = Raw::connect(&n);
    r.send(&frame(9, 0, 0, 0));
    assert!(r.closed_within(5), "an unknown frame type drops the peer");

    // An oversized kad protobuf: a 64 MiB length on a /ipfs/kad/1.0.0 stream resets it.
    let mut r = Raw::connect(&n);
    let mut neg = line(MSS);
    neg.extend(line(b"/ipfs/kad/1.0.0\n"));
    neg.extend([0x80, 0x80, 0x80, 0x20]); // varint 64 MiB
    neg.extend([0u8; 64]);
    r.send(&[frame(0, SYN, 1, neg.len() as u32), neg].concat());
    r.closed_within(2);
    assert!(
        r.frames().iter().any(|f| f.2 == 1 && f.1 & RST != 0),
        "the oversized message reset its stream: {:?}",
        r.frames()
    );
    still_serves(&n, &k, dir.path(), 2);

    // Thousands of streams at once: those beyond the limit (256 per connection) are reset or
    // the peer is dropped; the node stays up and keeps serving kubo meanwhile.
    let mut r = Raw::connect(&n);
    let mut syns = Vec::new();
    for i in 0..5000u32 {
        syns.extend(frame(1, SYN, 2 * i + 1, 0));
    }
    r.send(&syns);
    let closed = r.closed_within(3);
    let resets = r.frames().iter().filter(|f| f.1 & RST != 0).count();
    assert!(closed || resets >= 5000 - 256, "streams beyond the limit refused: {resets} resets, closed {closed}");
    still_serves(&n, &k, dir.path(), 3);
    let peers = n.ok(&["swarm", "peers"]);
    assert!(peers.contains(&k.id), "kubo is still connected: {peers}");
}
