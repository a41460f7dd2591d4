//! Two sessions wired back to back moving 20 MiB on six streams at once (three each way), the
//! wire cut at random points, senders pushing against `send_room` and the readers consuming at
//! random: every byte arrives in order, no Data frame exceeds the frame limit, and no stream ever
//! receives more than the credit its receiver granted on the wire (256 KiB plus its
//! WindowUpdates, read back from the frames themselves).

use super::*;
use crate::rng::{Rng, Seed};
use std::collections::BTreeMap;

const MIB: usize = 1024 * 1024;

fn stream_bytes(id: StreamId, len: usize) -> Vec<u8> {
    let mut rng = Seed::from_u64(u64::from(id.0)).derive("yamux transfer").rng();
    let mut v = Vec::with_capacity(len + 8);
    while v.len() < len {
        v.extend_from_slice(&rng.next_u64().to_le_bytes());
    }
    v.truncate(len);
    v
}

struct Tx {
    id: StreamId,
    data: Vec<u8>,
    off: usize,
    blocked: bool,
    closed: bool,
}

#[derive(Default)]
struct Rx {
    expected: Vec<u8>,
    got: usize,
    held: usize,
    granted: u64,
    fin: bool,
}

struct Peer {
    s: Session,
    tx: Vec<Tx>,
    rx: BTreeMap<StreamId, Rx>,
    /// Bytes on their way to this peer, from `wire_off` on.
    wire: Vec<u8>,
    wire_off: usize,
    closed: usize,
}

/// Walks whole frames: WindowUpdate deltas go to `granted` of the sender's receiving streams.
fn scan(out: &[u8], rx: &mut BTreeMap<StreamId, Rx>, max_frame: u32) {
    let mut b = out;
    while !b.is_empty() {
        let kind = b[1];
        let id = StreamId(u32::from_be_bytes(b[4..8].try_into().unwrap()));
        let len = u32::from_be_bytes(b[8..12].try_into().unwrap());
        let payload = if kind == 0 { len as usize } else { 0 };
        if kind == 0 {
            assert!(len <= max_frame, "a {len}-byte Data frame");
        }
        if kind == 1 {
            if let Some(r) = rx.get_mut(&id) {
                r.granted += u64::from(len);
            }
        }
        b = &b[12 + payload..];
    }
}

fn lengths(role: Role) -> [usize; 3] {
    match role {
        Role::Client => [5 * MIB + 1, 3 * MIB + 7777, 2 * MIB],
        Role::Server => [4 * MIB + 123, 3 * MIB, 3 * MIB - 5],
    }
}

fn step_sender(p: &mut Peer, rng: &mut Rng) {
    for t in p.tx.iter_mut().filter(|t| !t.blocked && !t.closed) {
        let left = t.data.len() - t.off;
        let want = left.min(rng.below(200_000) as usize + 1);
        let room = p.s.send_room(t.id);
        if want > room && rng.chance(0.3) {
            assert_eq!(p.s.send(t.id, &t.data[t.off..t.off + want]), Err(YamuxError::SendBufferFull(t.id)));
            t.blocked = true;
            continue;
        }
        let n = want.min(room);
        if n > 0 {
            p.s.send(t.id, &t.data[t.off..t.off + n]).unwrap();
            t.off += n;
        }
        if t.off == t.data.len() {
            p.s.close(t.id);
            t.closed = true;
        }
    }
}

fn step_receiver(p: &mut Peer, rng: &mut Rng, now: u64) {
    let max = [16u64, 1500, 65_536, 300_000][rng.below(4) as usize];
    for _ in 0..=rng.below(8) {
        let left = p.wire.len() - p.wire_off;
        if left == 0 {
            break;
        }
        let n = left.min(rng.below(max) as usize + 1);
        p.s.handle_input(&p.wire[p.wire_off..p.wire_off + n], now).unwrap();
        p.wire_off += n;
    }
    if p.wire_off > p.wire.len() / 2 {
        p.wire.drain(..p.wire_off);
        p.wire_off = 0;
    }
    while let Some(e) = p.s.poll_event() {
        match e {
            Event::Inbound(id) => {
                let len = lengths(if id.0 % 2 == 1 { Role::Client } else { Role::Server })[(id.0 as usize - 1) / 2 % 3];
                let r = Rx { expected: stream_bytes(id, len), granted: 256 * 1024, ..Rx::default() };
                assert!(p.rx.insert(id, r).is_none());
            }
            Event::Data(id, d) => {
                let r = p.rx.get_mut(&id).unwrap();
                assert_eq!(d[..], r.expected[r.got..r.got + d.len()], "bytes of {id} at {}", r.got);
                r.got += d.len();
                r.held += d.len();
                assert!(r.got as u64 <= r.granted, "{id}: {} bytes received, {} granted", r.got, r.granted);
            }
            // The reader's answer to our FIN.
            Event::Fin(id) if p.tx.iter().any(|t| t.id == id) => {}
            Event::Fin(id) => {
                let r = p.rx.get_mut(&id).unwrap();
                assert_eq!(r.got, r.expected.len());
                r.fin = true;
                p.s.close(id);
            }
            Event::Writable(id) => p.tx.iter_mut().find(|t| t.id == id).unwrap().blocked = false,
            Event::Closed(_) => p.closed += 1,
            e => panic!("unexpected {e:?}"),
        }
    }
    for (id, r) in p.rx.iter_mut() {
        if r.held > 0 && rng.chance(0.5) {
            let n = rng.below(r.held as u64) as usize + 1;
            r.held -= n;
            p.s.consumed(*id, n);
        }
    }
}

/// `p` sends, its frames go onto `q`'s wire, its timers run.
fn send_side(p: &mut Peer, q: &mut Peer, rng: &mut Rng, out: &mut Vec<u8>, now: u64) {
    step_sender(p, rng);
    out.clear();
    if p.s.poll_output(out) {
        scan(out, &mut p.rx, 65524);
        q.wire.extend_from_slice(out);
    }
    if p.s.poll_timeout().is_some_and(|t| t <= now) {
        p.s.handle_timeout(now).unwrap();
    }
}

fn peer(role: Role) -> Peer {
    let mut s = Session::new(role, Config::default(), 0);
    let tx = lengths(role)
        .iter()
        .map(|&len| {
            let id = s.open().unwrap();
            Tx { id, data: stream_bytes(id, len), off: 0, blocked: false, closed: false }
        })
        .collect();
    Peer { s, tx, rx: BTreeMap::new(), wire: Vec::new(), wire_off: 0, closed: 0 }
}

#[test]
fn twenty_mib_on_six_streams_with_random_splits() {
    let total: usize = lengths(Role::Client).iter().chain(&lengths(Role::Server)).sum();
    assert!(total >= 20 * MIB);
    let mut rng = Seed::from_u64(7).derive("yamux splits").rng();
    let (mut a, mut b) = (peer(Role::Client), peer(Role::Server));
    let mut out = Vec::new();
    let mut now = 0;
    for _ in 0..2_000_000 {
        now += 1;
        send_side(&mut a, &mut b, &mut rng, &mut out, now);
        send_side(&mut b, &mut a, &mut rng, &mut out, now);
        step_receiver(&mut a, &mut rng, now);
        step_receiver(&mut b, &mut rng, now);
        if a.closed == 6 && b.closed == 6 {
            break;
        }
    }
    for p in [&a, &b] {
        assert_eq!(p.closed, 6, "every stream closed on both sides");
        assert_eq!(p.s.stream_count(), 0);
        assert!(p.rx.values().all(|r| r.fin && r.got == r.expected.len()));
        assert!(p.s.rtt_ms().is_some());
    }
}
