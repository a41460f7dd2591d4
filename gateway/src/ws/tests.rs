use super::*;

/// A masked client frame: first byte (FIN, RSV, opcode) as given, the length in its shortest form.
fn client(first: u8, payload: &[u8], mask: [u8; 4]) -> Vec<u8> {
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

const M: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

fn limits(max_message: usize) -> WsLimits {
    WsLimits { max_message }
}

/// Every frame (and the error, if any, last) from `chunks` pushed one after another, draining
/// after each.
fn decode_chunks(limits: WsLimits, chunks: &[&[u8]]) -> Vec<Result<Frame, WsError>> {
    let mut d = Decoder::new(limits);
    let mut out = Vec::new();
    for c in chunks {
        d.push(c);
        loop {
            match d.next() {
                Ok(Some(f)) => out.push(Ok(f)),
                Ok(None) => break,
                Err(e) => {
                    out.push(Err(e));
                    return out;
                }
            }
        }
    }
    out
}

fn decode(bytes: &[u8]) -> Vec<Result<Frame, WsError>> {
    decode_chunks(WsLimits::default(), &[bytes])
}

fn code(bytes: &[u8]) -> u16 {
    match decode(bytes).pop() {
        Some(Err(e)) => e.close_code,
        other => panic!("no error: {other:?}"),
    }
}

#[test]
fn rfc6455_accept_key() {
    // RFC 6455 §1.3.
    assert_eq!(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

#[test]
fn rfc6455_section_5_7_examples() {
    // A single-frame masked text message "Hello".
    let hello = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
    assert_eq!(decode(&hello), vec![Ok(Frame::Message(b"Hello".to_vec()))]);
    // The unmasked forms are what a server sends; from a client they are refused.
    assert_eq!(encode(0x1, b"Hello"), [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
    assert_eq!(code(&[0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]), 1002);
    // The fragmented "Hel" + "lo", masked with the example's key.
    let frags = [
        &[0x01, 0x83, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d][..],
        &[0x80, 0x82, 0x37, 0xfa, 0x21, 0x3d, 0x5b, 0x95],
    ];
    assert_eq!(decode(&frags.concat()), vec![Ok(Frame::Message(b"Hello".to_vec()))]);
    // Ping "Hello" (server form) and a masked pong "Hello".
    assert_eq!(encode(0x9, b"Hello"), [0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
    let pong = [0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
    assert_eq!(decode(&pong), vec![Ok(Frame::Pong)]);
    // 256 bytes and 64 KiB in one unmasked binary frame: the 16- and 64-bit lengths.
    assert_eq!(encode(0x2, &[0; 256])[..4], [0x82, 0x7e, 0x01, 0x00]);
    let big = encode(0x2, &[0; 65536]);
    assert_eq!(big[..10], [0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0]);
    assert_eq!(big.len(), 65546);
    assert_eq!(close_frame(1000, "bye"), [0x88, 5, 0x03, 0xe8, b'b', b'y', b'e']);
    // A reason longer than a control frame allows is cut at a character boundary.
    let long = close_frame(1001, &"é".repeat(100));
    assert_eq!(long[1], 124);
    assert_eq!(long.len(), 126);
}

#[test]
fn splits_at_every_byte_give_the_same_frames() {
    let big: Vec<u8> = (0..300u32).map(|i| i as u8).collect();
    let stream = [
        client(0x01, b"Hel", M),
        client(0x89, b"ping!", [1, 2, 3, 4]),
        client(0x00, b"lo ", [9, 9, 9, 9]),
        client(0x8a, b"", M),
        client(0x80, "wörld".as_bytes(), [0xff, 0, 0xff, 0]),
        client(0x82, &big, [5, 6, 7, 8]),
        client(0x82, b"", M),
        client(0x88, &[0x03, 0xe8, b'o', b'k'], M),
    ]
    .concat();
    let want = vec![
        Ok(Frame::Ping(b"ping!".to_vec())),
        Ok(Frame::Pong),
        Ok(Frame::Message("Hello wörld".as_bytes().to_vec())),
        Ok(Frame::Message(big.clone())),
        Ok(Frame::Message(Vec::new())),
        Ok(Frame::Close(Some(1000))),
    ];
    assert_eq!(decode(&stream), want);
    for i in 0..=stream.len() {
        assert_eq!(decode_chunks(WsLimits::default(), &[&stream[..i], &stream[i..]]), want, "split at {i}");
    }
    let bytes: Vec<&[u8]> = stream.chunks(1).collect();
    assert_eq!(decode_chunks(WsLimits::default(), &bytes), want);
}

#[test]
fn each_rule_is_refused_with_its_code() {
    // Unmasked client frame.
    assert_eq!(code(&[0x82, 0x01, 0x00]), 1002);
    // Control frames: more than 125 bytes, or not final.
    assert_eq!(code(&client(0x89, &[0; 126], M)), 1002);
    assert_eq!(code(&client(0x09, b"x", M)), 1002);
    assert_eq!(code(&client(0x88, &[0; 126], M)), 1002);
    // Reserved bits and unknown opcodes.
    for first in [0xc2, 0xa2, 0x92, 0x83, 0x87, 0x8b, 0x8f] {
        assert_eq!(code(&client(first, b"x", M)), 1002, "first byte {first:#x}");
    }
    // A continuation with nothing to continue; a new message inside a fragmented one.
    assert_eq!(code(&client(0x80, b"x", M)), 1002);
    assert_eq!(code(&[client(0x01, b"a", M), client(0x81, b"b", M)].concat()), 1002);
    assert_eq!(code(&[client(0x02, b"a", M), client(0x02, b"b", M)].concat()), 1002);
    // Close bodies: one byte, a code that may not be sent, a reason that is not UTF-8.
    assert_eq!(code(&client(0x88, &[3], M)), 1002);
    for bad in [999u16, 1004, 1005, 1006, 1015, 2999, 5000] {
        assert_eq!(code(&client(0x88, &bad.to_be_bytes(), M)), 1002, "close code {bad}");
    }
    assert_eq!(decode(&client(0x88, &4321u16.to_be_bytes(), M)), vec![Ok(Frame::Close(Some(4321)))]);
    assert_eq!(code(&client(0x88, &[0x03, 0xe8, 0xff], M)), 1007);
    // Text that is not UTF-8 (even split between fragments it is checked whole).
    assert_eq!(code(&client(0x81, &[0xc3], M)), 1007);
    let split = [client(0x01, &[0xc3], M), client(0x80, &[0xa9], M)].concat();
    assert_eq!(decode(&split), vec![Ok(Frame::Message("é".as_bytes().to_vec()))]);
    // A 64-bit length with its top bit set.
    let mut huge = vec![0x82, 0xff];
    huge.extend_from_slice(&(1u64 << 63).to_be_bytes());
    assert_eq!(code(&huge), 1002);
}

#[test]
fn oversize_is_refused_from_the_header_alone() {
    // A 1 TiB frame announced: refused before its mask, let alone its payload, arrives.
    let mut d = Decoder::new(limits(1000));
    let mut head = vec![0x82, 0xff];
    head.extend_from_slice(&(1u64 << 40).to_be_bytes());
    d.push(&head);
    let e = d.next().unwrap_err();
    assert_eq!((e.close_code, e.message.as_str()), (1009, "a message is larger than 1000 bytes"));
    assert_eq!(d.buffered(), 0);
    // Fragments of 600 + 600 under a 1000-byte limit: the second is refused once its 4-byte
    // header (2 bytes and a 16-bit length) is in, before its mask or payload.
    let stream = [client(0x02, &[1; 600], M), client(0x80, &[2; 600], M)].concat();
    let mut d = Decoder::new(limits(1000));
    d.push(&stream[..608 + 3]);
    assert_eq!(d.next(), Ok(None));
    assert_eq!(d.buffered(), 600 + 3);
    d.push(&stream[611..612]);
    assert_eq!(d.next().unwrap_err().close_code, 1009);
    // Exactly the limit passes.
    let ok = [client(0x02, &[1; 600], M), client(0x80, &[2; 400], M)].concat();
    assert!(matches!(&decode_chunks(limits(1000), &[&ok])[..], [Ok(Frame::Message(m))] if m.len() == 1000));
}

#[test]
fn errors_stay_and_free_the_buffers() {
    let mut d = Decoder::new(limits(1 << 20));
    let frame = client(0x82, &[7; 100], M); // 6 bytes of header, 100 of payload
    d.push(&frame[..50]);
    assert_eq!(d.next(), Ok(None));
    assert_eq!(d.buffered(), 44);
    d.push(&frame[50..]);
    d.push(&[0x81, 0x00]); // unmasked
    assert_eq!(d.next(), Ok(Some(Frame::Message(vec![7; 100]))));
    let e = d.next().unwrap_err();
    assert_eq!(e.close_code, 1002);
    assert_eq!(d.buffered(), 0);
    d.push(&[0; 1000]);
    assert_eq!(d.buffered(), 0);
    assert_eq!(d.next().unwrap_err(), e);
}

#[test]
fn a_drained_decoder_holds_at_most_the_message_and_a_partial_frame() {
    let max = 4096;
    let stream = [
        client(0x02, &[1; 3000], M),
        client(0x89, &[2; 125], M),
        client(0x80, &[3; 1096], M),
        client(0x89, &[4; 125], M),
    ]
    .concat();
    for step in [1, 7, 130, 131, 1000] {
        let mut d = Decoder::new(limits(max));
        let mut frames = 0;
        for c in stream.chunks(step) {
            d.push(c);
            while let Some(_f) = d.next().unwrap() {
                frames += 1;
            }
            assert!(d.buffered() <= max + MAX_PARTIAL, "step {step}: {} held", d.buffered());
        }
        assert_eq!(frames, 3, "step {step}");
        assert_eq!(d.buffered(), 0);
    }
}

/// A real connection: messages answered with the id copied back, pings answered, an unmasked
/// frame closed with 1002.
#[test]
fn serve_over_tcp() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        serve(&mut s, &|body| body.to_ascii_uppercase());
    });
    let mut c = std::net::TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    let mut msg = client(0x82, b"\x00\x00\x00\x07ab", M);
    msg.extend(client(0x89, b"hi", M));
    // The message's bytes arrive in two writes.
    c.write_all(&msg[..5]).unwrap();
    c.flush().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    c.write_all(&msg[5..]).unwrap();
    let mut got = vec![0u8; 8 + 4];
    c.read_exact(&mut got).unwrap();
    assert_eq!(got, [0x82, 6, 0, 0, 0, 7, b'A', b'B', 0x8a, 2, b'h', b'i']);
    c.write_all(&[0x82, 0x01, 0x00]).unwrap();
    let mut rest = Vec::new();
    c.read_to_end(&mut rest).unwrap();
    assert_eq!(rest[0], 0x88);
    assert_eq!(rest[2..4], 1002u16.to_be_bytes());
    assert_eq!(&rest[4..], b"a client frame is not masked");
    server.join().unwrap();
}
