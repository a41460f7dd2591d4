//! Hostile hprose and WebSocket input against a running node: a reference bomb is refused at
//! once on /webapi/ and /ws/ with the node's memory bounded, and illegal frames close the
//! connection with their RFC 6455 code.

use crate::harness::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// `Cs2"Id"a<N+1>{s<L>"aaa…"r1;…}z`: one string of L bytes and N references to it.
fn reference_bomb(l: usize, n: usize) -> Vec<u8> {
    let mut b = format!("Cs2\"Id\"a{}{{s{l}\"", n + 1).into_bytes();
    b.resize(b.len() + l, b'a');
    b.push(b'"');
    for _ in 0..n {
        b.extend_from_slice(b"r1;");
    }
    b.extend_from_slice(b"}z");
    b
}

const REFUSAL: &str = "the request decodes to more than 33554432 bytes (hprose references count their copies)";

/// The most resident memory the node ever had, in KiB.
fn peak_kib(node: &Node) -> u64 {
    let pid = node.child.as_ref().expect("running").id();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).expect("VmHWM line");
    line.split_whitespace().nth(1).and_then(|v| v.parse().ok()).unwrap()
}

fn masked(first: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [0x11, 0x22, 0x33, 0x44];
    let mut f = vec![first];
    match payload.len() {
        n if n < 126 => f.push(0x80 | n as u8),
        n if n <= 0xffff => {
            f.push(0x80 | 126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            f.push(0x80 | 127);
            f.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    f.extend_from_slice(&mask);
    f.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    f
}

/// A WebSocket connection to /ws/, past the upgrade.
fn ws(node: &Node) -> TcpStream {
    let mut s = TcpStream::connect(node.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let req = "GET /ws/ HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
               Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
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

/// One server frame: (first byte, payload).
fn read_frame(s: &mut TcpStream) -> (u8, Vec<u8>) {
    let mut h = [0u8; 2];
    s.read_exact(&mut h).unwrap();
    let len = match h[1] & 0x7f {
        126 => {
            let mut b = [0u8; 2];
            s.read_exact(&mut b).unwrap();
            u64::from(u16::from_be_bytes(b))
        }
        127 => {
            let mut b = [0u8; 8];
            s.read_exact(&mut b).unwrap();
            u64::from_be_bytes(b)
        }
        n => u64::from(n),
    };
    let mut p = vec![0u8; len as usize];
    s.read_exact(&mut p).unwrap();
    (h[0], p)
}

#[test]
fn reference_bombs_are_refused_with_memory_bounded() {
    let node = Node::start();
    let a = node.addr();
    let r = http(&a, "POST", "/webapi/", &[], b"Cs6\"GetVar\"a1{s6\"nodeid\"}z");
    assert_eq!(r.text(), format!("Rs27\"{}\"z", node.id));
    let idle = peak_kib(&node);
    // Issue 15's reproduction: 11 MB that decoded to terabytes.
    let t = Instant::now();
    let r = http(&a, "POST", "/webapi/", &[], &reference_bomb(8_000_000, 1_000_000));
    assert_eq!((r.status, r.text()), (200, format!("Es{}\"{REFUSAL}\"z", REFUSAL.len())));
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    // 1 MB and 300 references (588 MB before) over the WebSocket, with a request id.
    let mut s = ws(&node);
    let mut msg = vec![0, 0, 0, 9];
    msg.extend(reference_bomb(1_000_000, 300));
    s.write_all(&masked(0x82, &msg)).unwrap();
    let (first, reply) = read_frame(&mut s);
    assert_eq!(first, 0x82);
    assert_eq!(reply[..4], [0, 0, 0, 9]);
    assert_eq!(String::from_utf8_lossy(&reply[4..]), format!("Es{}\"{REFUSAL}\"z", REFUSAL.len()));
    // The node still answers, and its memory grew by less than 64 MiB at its peak.
    let r = http(&a, "POST", "/webapi/", &[], b"Cs6\"GetVar\"a1{s6\"nodeid\"}z");
    assert_eq!(r.text(), format!("Rs27\"{}\"z", node.id));
    let grew = peak_kib(&node).saturating_sub(idle);
    assert!(grew < 64 << 10, "peak resident memory grew by {grew} KiB");
    node.stop();
}

#[test]
fn illegal_websocket_frames_close_with_their_code() {
    let node = Node::start();
    let close_code = |payload: &[u8]| u16::from_be_bytes([payload[0], payload[1]]);
    // A masked ping is answered; an unmasked frame closes with 1002.
    let mut s = ws(&node);
    s.write_all(&masked(0x89, b"hi")).unwrap();
    assert_eq!(read_frame(&mut s), (0x8a, b"hi".to_vec()));
    s.write_all(&[0x82, 0x01, 0x00]).unwrap();
    let (first, p) = read_frame(&mut s);
    assert_eq!((first, close_code(&p)), (0x88, 1002));
    // A 70 KB ping: 1002 at its header.
    let mut s = ws(&node);
    s.write_all(&masked(0x89, &vec![0; 70_000])[..20]).unwrap();
    let (first, p) = read_frame(&mut s);
    assert_eq!((first, close_code(&p)), (0x88, 1002));
    // A message over the 16 MiB limit announced: 1009 before its payload is sent.
    let mut s = ws(&node);
    let mut head = vec![0x82, 0xff];
    head.extend_from_slice(&(32u64 << 20).to_be_bytes());
    s.write_all(&head).unwrap();
    let (first, p) = read_frame(&mut s);
    assert_eq!((first, close_code(&p)), (0x88, 1009));
    node.stop();
}
