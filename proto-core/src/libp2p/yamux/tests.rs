//! Yamux session tests: kubo's observed frames both ways, flow control, half-close, reset,
//! GoAway, hostile peers, keepalive. Bulk transfers between two sessions are in `transfer_tests`.

use super::*;

/// A header written out by hand (the wire reference's layout), for frames from the peer.
fn hdr(kind: u8, flags: u16, id: u32, len: u32) -> Vec<u8> {
    let mut v = vec![0, kind];
    v.extend_from_slice(&flags.to_be_bytes());
    v.extend_from_slice(&id.to_be_bytes());
    v.extend_from_slice(&len.to_be_bytes());
    v
}

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// One frame read back from our output: (type, flags, stream, length, payload of Data).
#[derive(Debug, PartialEq, Eq)]
struct F(u8, u16, u32, u32, Vec<u8>);

fn frames(mut b: &[u8]) -> Vec<F> {
    let mut v = Vec::new();
    while !b.is_empty() {
        assert!(b.len() >= 12, "whole headers only");
        let len = u32::from_be_bytes(b[8..12].try_into().unwrap());
        let payload_len = if b[1] == 0 { len as usize } else { 0 };
        v.push(F(
            b[1],
            u16::from_be_bytes([b[2], b[3]]),
            u32::from_be_bytes(b[4..8].try_into().unwrap()),
            len,
            b[12..12 + payload_len].to_vec(),
        ));
        b = &b[12 + payload_len..];
    }
    v
}

fn output(s: &mut Session) -> Vec<u8> {
    let mut out = Vec::new();
    s.poll_output(&mut out);
    out
}

fn events(s: &mut Session) -> Vec<Event> {
    std::iter::from_fn(|| s.poll_event()).collect()
}

/// A session past its start: the RTT ping went out and was answered after `rtt` ms.
fn started(role: Role, config: Config, rtt: u64) -> Session {
    let mut s = Session::new(role, config, 0);
    assert_eq!(output(&mut s), hex("00 02 0001 00000000 00000000"), "the RTT probe, as kubo sends it");
    s.handle_input(&hex("00 02 0002 00000000 00000000"), rtt).unwrap();
    assert_eq!(s.rtt_ms(), Some(rtt));
    s
}

const S: StreamId = StreamId(2);
const GOAWAY_PROTOCOL: &str = "00 03 0000 00000000 00000001";

#[test]
fn kubo_open_is_accepted_with_kubos_accept_frame() {
    let mut s = started(Role::Client, Config::default(), 1);
    s.handle_input(&hex("00 01 0001 00000002 00000000"), 2).unwrap();
    assert_eq!(events(&mut s), [Event::Inbound(S)]);
    assert_eq!(output(&mut s), hex("00 01 0002 00000002 00000000"));
    assert_eq!(s.stream_count(), 1);
}

#[test]
fn open_writes_kubos_open_frame() {
    let mut s = started(Role::Server, Config::default(), 1);
    assert_eq!(s.open().unwrap(), StreamId(2));
    assert_eq!(output(&mut s), hex("00 01 0001 00000002 00000000"));
    assert_eq!(s.open().unwrap(), StreamId(4));
    let mut c = started(Role::Client, Config::default(), 1);
    assert_eq!((c.open().unwrap(), c.open().unwrap()), (StreamId(1), StreamId(3)));
}

#[test]
fn kubo_identify_stream_delivers_its_36_bytes() {
    let mut s = started(Role::Client, Config::default(), 1);
    let mss = b"\x13/multistream/1.0.0\n\x0f/ipfs/id/1.0.0\n";
    assert_eq!(mss.len(), 36);
    let mut wire = hex("00 01 0001 00000002 00000000 0000 0000 00000002 00000024");
    wire.extend_from_slice(mss);
    // Split inside the second header and inside the payload.
    s.handle_input(&wire[..17], 2).unwrap();
    s.handle_input(&wire[17..30], 2).unwrap();
    s.handle_input(&wire[30..], 2).unwrap();
    let got = events(&mut s);
    assert_eq!(got[0], Event::Inbound(S));
    let data: Vec<u8> =
        got[1..].iter().flat_map(|e| if let Event::Data(S, d) = e { d.clone() } else { panic!("{e:?}") }).collect();
    assert_eq!(data, mss);
}

#[test]
fn data_with_syn_is_delivered_and_ack_rides_on_the_answer() {
    let mut s = started(Role::Client, Config::default(), 1);
    let mut wire = hdr(0, 1, 2, 5);
    wire.extend_from_slice(b"hello");
    s.handle_input(&wire, 2).unwrap();
    assert_eq!(events(&mut s), [Event::Inbound(S), Event::Data(S, b"hello".to_vec())]);
    s.send(S, b"world").unwrap();
    // The ACK rides on our first frame for the stream; no separate WindowUpdate|ACK.
    assert_eq!(frames(&output(&mut s)), [F(0, 2, 2, 5, b"world".to_vec())]);
}

#[test]
fn half_close_both_ways_closes() {
    let mut s = started(Role::Client, Config::default(), 1);
    s.handle_input(&hex("00 01 0001 00000002 00000000"), 2).unwrap();
    s.handle_input(&hex("00 01 0004 00000002 00000000"), 2).unwrap(); // kubo's half-close
    assert_eq!(events(&mut s), [Event::Inbound(S), Event::Fin(S)]);
    s.close(S);
    // ACK was still owed: it rides with our FIN.
    assert_eq!(output(&mut s), hex("00 01 0006 00000002 00000000"));
    assert_eq!(events(&mut s), [Event::Closed(S)]);
    assert_eq!(s.stream_count(), 0);

    // Our close first, then the peer's: kubo's half-close frame out, Closed on theirs.
    let mut s = started(Role::Server, Config::default(), 1);
    let id = s.open().unwrap();
    output(&mut s);
    s.close(id);
    assert_eq!(output(&mut s), hex("00 01 0004 00000002 00000000"));
    assert_eq!(s.send(id, b"x"), Err(YamuxError::WriteClosed(id)));
    s.handle_input(&hex("00 01 0002 00000002 00000000 00 01 0004 00000002 00000000"), 3).unwrap();
    assert_eq!(events(&mut s), [Event::Fin(id), Event::Closed(id)]);
    assert_eq!(s.stream_count(), 0);
}

#[test]
fn reset_both_ways() {
    let mut s = started(Role::Client, Config::default(), 1);
    s.handle_input(&hex("00 01 0001 00000002 00000000 00 01 0008 00000002 00000000"), 2).unwrap();
    assert_eq!(events(&mut s), [Event::Inbound(S), Event::Reset(S)]);
    assert_eq!(s.stream_count(), 0);
    // Late frames for it are drained and ignored; the ping behind them is answered.
    let mut late = hdr(0, 0, 2, 3);
    late.extend_from_slice(b"abc");
    late.extend(hdr(1, 0, 2, 1000));
    late.extend(hex("00 02 0001 00000000 00000007"));
    s.handle_input(&late, 3).unwrap();
    assert_eq!(events(&mut s), []);
    assert_eq!(output(&mut s), hex("00 02 0002 00000000 00000007"));

    let mut s = started(Role::Server, Config::default(), 1);
    let id = s.open().unwrap();
    s.send(id, b"dropped?").unwrap();
    output(&mut s);
    s.reset(id);
    assert_eq!(output(&mut s), hex("00 01 0008 00000002 00000000"), "kubo's reset frame");
    assert_eq!(s.stream_count(), 0);
    assert_eq!(s.send(id, b"x"), Err(YamuxError::UnknownStream(id)));
}

#[test]
fn pings_are_answered_at_once_and_ours_measure_rtt() {
    let mut s = Session::new(Role::Client, Config::default(), 100);
    output(&mut s);
    s.handle_input(&hex("00 02 0001 00000000 00000000"), 110).unwrap(); // kubo's ping
    assert_eq!(output(&mut s), hex("00 02 0002 00000000 00000000"));
    assert_eq!(s.rtt_ms(), None);
    s.handle_input(&hex("00 02 0002 00000000 00000005"), 120).unwrap(); // not our value
    assert_eq!(s.rtt_ms(), None);
    s.handle_input(&hex("00 02 0002 00000000 00000000"), 142).unwrap();
    assert_eq!(s.rtt_ms(), Some(42));
    assert_eq!(events(&mut s), []);
}

#[test]
fn keepalive_pings_when_idle_and_dies_without_pong() {
    let mut s = started(Role::Client, Config::default(), 5);
    assert_eq!(s.poll_timeout(), Some(30_005));
    s.handle_timeout(30_004).unwrap();
    assert!(output(&mut s).is_empty());
    s.handle_timeout(30_005).unwrap();
    assert_eq!(output(&mut s), hex("00 02 0001 00000000 00000001"));
    assert_eq!(s.poll_timeout(), Some(40_005));
    // Data does not stand in for the pong.
    s.handle_input(&hex("00 02 0001 00000000 00000009"), 35_000).unwrap();
    s.handle_timeout(40_004).unwrap();
    assert_eq!(s.handle_timeout(40_005), Err(YamuxError::PingTimeout));
    assert!(s.is_dead());
    assert_eq!(s.poll_timeout(), None);
    assert_eq!(s.open(), Err(YamuxError::Closed));
}

#[test]
fn answered_keepalive_keeps_the_session() {
    let mut s = started(Role::Server, Config::default(), 5);
    s.handle_timeout(30_005).unwrap();
    output(&mut s);
    s.handle_input(&hex("00 02 0002 00000000 00000001"), 30_025).unwrap();
    assert_eq!(s.rtt_ms(), Some(20));
    assert_eq!(s.poll_timeout(), Some(60_025));
    s.handle_timeout(45_000).unwrap();
    assert!(!s.is_dead());
}

#[test]
fn the_start_probe_unanswered_kills_the_session() {
    let mut s = Session::new(Role::Client, Config::default(), 0);
    assert_eq!(s.poll_timeout(), Some(10_000));
    assert_eq!(s.handle_timeout(10_000), Err(YamuxError::PingTimeout));
}

#[test]
fn flow_control_stalls_and_resumes() {
    let mut a = started(Role::Client, Config::default(), 1);
    let id = a.open().unwrap();
    output(&mut a);
    let window = 256 * 1024;
    let buffer = 1024 * 1024;
    assert_eq!(a.send_room(id), window + buffer);
    let data: Vec<u8> = (0..window + buffer).map(|i| (i % 251) as u8).collect();
    a.send(id, &data).unwrap();
    assert_eq!(a.send_room(id), 0);
    assert_eq!(a.send(id, b"x"), Err(YamuxError::SendBufferFull(id)));
    let sent = frames(&output(&mut a));
    // Exactly the window, in frames of at most kubo's 65524 bytes.
    assert_eq!(sent.iter().map(|f| f.3 as usize).sum::<usize>(), window);
    assert!(sent.iter().all(|f| f.0 == 0 && f.2 == 1 && f.3 <= 65524));
    assert_eq!(sent.iter().flat_map(|f| f.4.clone()).collect::<Vec<_>>(), data[..window]);

    // The peer used half its window: it grants that much (no doubling: long after the start).
    a.handle_input(&hdr(1, 0, 1, 131_072), 1000).unwrap();
    assert_eq!(events(&mut a), [Event::Writable(id)]);
    let sent = frames(&output(&mut a));
    assert_eq!(sent.iter().map(|f| f.3).collect::<Vec<_>>(), [65524, 65524, 24]);
    assert_eq!(sent.iter().flat_map(|f| f.4.clone()).collect::<Vec<_>>(), data[window..window + 131_072]);
    assert_eq!(a.send_room(id), 131_072);
}

#[test]
fn receiver_grants_half_window_and_doubles_within_four_rtt() {
    let mut b = started(Role::Server, Config::default(), 10);
    let payload = vec![7u8; 65536];
    b.handle_input(&hdr(1, 1, 1, 0), 10).unwrap();
    for _ in 0..2 {
        let mut f = hdr(0, 0, 1, 65536);
        f.extend_from_slice(&payload);
        b.handle_input(&f, 10).unwrap();
    }
    output(&mut b);
    b.consumed(StreamId(1), 131_071);
    assert!(output(&mut b).is_empty(), "less than half the window used");
    // Half used 1000 ms after the start (> 4×RTT): the window stays 256 KiB, the grant is the half.
    b.handle_input(&[], 1000).unwrap();
    b.consumed(StreamId(1), 1);
    assert_eq!(frames(&output(&mut b)), [F(1, 0, 1, 131_072, vec![])]);
    // The next half within 40 ms of that grant: the window doubles to 512 KiB.
    for _ in 0..2 {
        let mut f = hdr(0, 0, 1, 65536);
        f.extend_from_slice(&payload);
        b.handle_input(&f, 1020).unwrap();
    }
    b.consumed(StreamId(1), 131_072);
    assert_eq!(frames(&output(&mut b)), [F(1, 0, 1, 524_288 - 131_072, vec![])]);
    // Now 512 KiB may be in flight at once.
    b.handle_input(&hdr(0, 0, 1, 524_288), 1030).unwrap();
    assert!(!b.is_dead());
}

#[test]
/// The FIN goes in a frame of its own after the data: js-yamux drops the payload of a Data
/// frame that carries FIN when its own side is closed already.
fn close_waits_for_queued_data_then_fin_goes_alone() {
    let mut a = started(Role::Client, Config::default(), 1);
    let id = a.open().unwrap();
    output(&mut a);
    a.send(id, &vec![1u8; 256 * 1024 + 10]).unwrap();
    a.close(id);
    output(&mut a);
    a.handle_input(&hdr(1, 2, 1, 100), 1000).unwrap();
    assert_eq!(frames(&output(&mut a)), [F(0, 0, 1, 10, vec![1u8; 10]), F(1, 4, 1, 0, vec![])]);
    a.handle_input(&hdr(1, 4, 1, 0), 1000).unwrap();
    assert_eq!(events(&mut a), [Event::Fin(id), Event::Closed(id)]);
}

#[test]
fn goaway_stops_new_streams_but_not_open_ones() {
    let mut a = started(Role::Client, Config::default(), 1);
    let id = a.open().unwrap();
    output(&mut a);
    a.handle_input(&hex("00 03 0000 00000000 00000000"), 2).unwrap();
    assert_eq!(events(&mut a), [Event::GoAway(0)]);
    assert_eq!(a.open(), Err(YamuxError::GoneAway));
    a.send(id, b"still").unwrap();
    assert_eq!(frames(&output(&mut a)), [F(0, 0, 1, 5, b"still".to_vec())]);

    // Ours: the frame goes out, and a SYN after it is reset.
    let mut b = started(Role::Server, Config::default(), 1);
    b.go_away(0);
    assert_eq!(output(&mut b), hex("00 03 0000 00000000 00000000"));
    b.handle_input(&hex("00 01 0001 00000001 00000000"), 2).unwrap();
    assert_eq!(output(&mut b), hex("00 01 0008 00000001 00000000"));
    assert_eq!(events(&mut b), []);
    assert!(!b.is_dead());
}

/// Feeds `wire` to a fresh client (stream 2 open) and expects a fatal `err`.
fn fatal(wire: &[u8], err: YamuxError) {
    let mut s = started(Role::Client, Config::default(), 1);
    s.handle_input(&hex("00 01 0001 00000002 00000000"), 2).unwrap();
    output(&mut s);
    assert_eq!(s.handle_input(wire, 3), Err(err));
    assert!(s.is_dead());
    assert_eq!(output(&mut s), hex(GOAWAY_PROTOCOL));
    assert_eq!(s.handle_input(&hex("00 02 0001 00000000 00000000"), 4), Err(YamuxError::Closed));
    assert!(output(&mut s).is_empty(), "a dead session answers nothing");
    assert_eq!(s.stream_count(), 0);
}

#[test]
fn hostile_frames_kill_the_session_with_goaway_1() {
    // Only the header of an oversized Data frame: refused before any payload is taken.
    fatal(&hdr(0, 0, 2, 262_145), YamuxError::WindowExceeded { stream: S, len: 262_145, window: 262_144 });
    let mut two = hdr(0, 0, 2, 200_000);
    two.extend(vec![0u8; 200_000]);
    two.extend(hdr(0, 0, 2, 62_145));
    fatal(&two, YamuxError::WindowExceeded { stream: S, len: 62_145, window: 62_144 });
    fatal(&hex("00 01 0001 00000001 00000000"), YamuxError::WrongParitySyn(StreamId(1)));
    fatal(&hex("00 00 0001 00000000 00000000"), YamuxError::WrongParitySyn(StreamId(0)));
    fatal(&hex("00 01 0001 00000002 00000000"), YamuxError::DuplicateSyn(S));
    fatal(&hex("01 02 0001 00000000 00000000"), YamuxError::BadVersion(1));
    fatal(&hex("00 04 0000 00000000 00000000"), YamuxError::UnknownType(4));
    // A send window past 2^32 - 1 (256 KiB granted at the SYN, then 2^32 - 1 more).
    fatal(
        &hex("00 01 0000 00000002 ffffffff"),
        YamuxError::WindowOverflow { stream: S, window: 262_144, delta: u32::MAX },
    );
    // A bad header split over two calls is found all the same.
    let mut s = started(Role::Server, Config::default(), 1);
    s.handle_input(&hex("00 00 00 01 00 00"), 2).unwrap();
    assert_eq!(s.handle_input(&hex("00 02 00 00 00 00"), 2), Err(YamuxError::WrongParitySyn(S)));
}

#[test]
fn frames_for_unknown_streams_are_drained() {
    let mut s = started(Role::Client, Config::default(), 1);
    let mut wire = hdr(0, 0, 8, 5);
    wire.extend_from_slice(b"hello");
    wire.extend(hex("00 01 0004 00000004 00000000 00 01 0008 00000006 00000000 00 00 0004 00000008 00000000"));
    wire.extend(hex("00 02 0001 00000000 0000000b"));
    for piece in wire.chunks(3) {
        s.handle_input(piece, 2).unwrap();
    }
    assert_eq!(events(&mut s), []);
    assert_eq!(output(&mut s), hex("00 02 0002 00000000 0000000b"));
    assert!(!s.is_dead());
}

#[test]
fn syns_beyond_max_streams_are_reset_and_the_session_lives() {
    let mut s = started(Role::Client, Config::default(), 1);
    let wire: Vec<u8> = (1..=5000u32).flat_map(|i| hdr(1, 1, 2 * i, 0)).collect();
    s.handle_input(&wire, 2).unwrap();
    let inbound = events(&mut s);
    assert_eq!(inbound.len(), 256);
    assert!(inbound.iter().enumerate().all(|(i, e)| *e == Event::Inbound(StreamId(2 * (i as u32 + 1)))));
    let out = frames(&output(&mut s));
    let resets: Vec<u32> = out.iter().filter(|f| f.1 == 8).map(|f| f.2).collect();
    assert_eq!(resets, (257..=5000u32).map(|i| 2 * i).collect::<Vec<_>>());
    assert_eq!(out.iter().filter(|f| f.1 == 2).count(), 256, "one ACK per accepted stream");
    assert_eq!(s.stream_count(), 256);
    assert_eq!(s.open(), Err(YamuxError::TooManyStreams));
    // Closing one makes room for the next SYN.
    s.reset(StreamId(2));
    s.handle_input(&hdr(1, 1, 20_000, 0), 3).unwrap();
    assert_eq!(events(&mut s), [Event::Inbound(StreamId(20_000))]);
    assert!(!s.is_dead());
}

#[test]
fn larger_initial_window_is_granted_with_syn_and_ack() {
    let config = Config { initial_window: 1024 * 1024, ..Config::default() };
    let mut s = started(Role::Client, config, 1);
    s.open().unwrap();
    assert_eq!(frames(&output(&mut s)), [F(1, 1, 1, 768 * 1024, vec![])]);
    s.handle_input(&hdr(1, 1, 2, 0), 2).unwrap();
    assert_eq!(frames(&output(&mut s)), [F(1, 2, 2, 768 * 1024, vec![])]);
    s.handle_input(&hdr(0, 0, 2, 1024 * 1024), 3).unwrap();
    assert!(!s.is_dead());
}

#[test]
fn errors_read_as_one_line() {
    for e in [
        YamuxError::WindowExceeded { stream: S, len: 9, window: 8 },
        YamuxError::SendBufferFull(S),
        YamuxError::PingTimeout,
    ] {
        let text = e.to_string();
        assert!(text.starts_with("yamux: ") && !text.contains('\n'), "{text}");
    }
}

#[test]
fn data_after_the_peers_fin_is_drained() {
    let mut s = started(Role::Client, Config::default(), 1);
    s.handle_input(&hex("00 01 0001 00000002 00000000 00 01 0004 00000002 00000000"), 2).unwrap();
    assert_eq!(events(&mut s), [Event::Inbound(S), Event::Fin(S)]);
    let mut late = hdr(0, 0, 2, 4);
    late.extend_from_slice(b"late");
    s.handle_input(&late, 3).unwrap();
    assert_eq!(events(&mut s), []);
    assert!(!s.is_dead());
    s.send(S, b"reply").unwrap();
    assert_eq!(frames(&output(&mut s)), [F(0, 2, 2, 5, b"reply".to_vec())]);
}
