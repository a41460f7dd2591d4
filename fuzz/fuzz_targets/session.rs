//! Handshake messages and frames from a hostile peer: never panic. The frame reader returns what
//! was framed; a session rejects bytes that are not a valid next handshake or transport message.
#![no_main]
use libfuzzer_sys::fuzz_target;
use proto_core::frame::{encode, FrameReader};
use proto_core::identity::Identity;
use proto_core::rng::Seed;
use proto_core::session::{Ciphers, Session, Suite};

fuzz_target!(|data: &[u8]| {
    let a = Identity::from_seed([1; 32]);
    let b = Identity::from_seed([2; 32]);
    // As a responder's first message.
    let mut r = Session::responder(&b, Seed::from_u64(2), &Ciphers::default()).unwrap();
    let _ = r.read_handshake(data);
    // As the answer an initiator gets to its first message.
    for suite in [Suite::ChaChaPoly, Suite::AesGcm] {
        let (mut i, _) = Session::initiator(&a, Seed::from_u64(1), None, suite, &Ciphers::default()).unwrap();
        assert!(i.read_handshake(data).is_err() || i.remote().is_none());
    }
    // Frames: what goes in framed comes out whole; random bytes never panic.
    let mut fr = FrameReader::default();
    fr.push(&encode(data));
    assert_eq!(
        fr.next_frame().ok().flatten().as_deref(),
        Some(data).filter(|d| d.len() <= proto_core::frame::MAX_FRAME)
    );
    let mut fr = FrameReader::default();
    fr.push(data);
    while let Ok(Some(_)) = fr.next_frame() {}
    // The same bytes in reads of any size give the same frames (the reader keeps a moving
    // start and compacts now and then).
    if let Some((&step, rest)) = data.split_first() {
        let mut fr = FrameReader::default();
        let mut pieces = Vec::new();
        'reads: for chunk in rest.chunks(usize::from(step).max(1)) {
            fr.push(chunk);
            loop {
                match fr.next_frame() {
                    Ok(Some(f)) => pieces.push(f),
                    Ok(None) => break,
                    Err(_) => break 'reads,
                }
            }
        }
        let mut fr = FrameReader::default();
        fr.push(rest);
        let mut once = Vec::new();
        while let Ok(Some(f)) = fr.next_frame() {
            once.push(f);
        }
        assert_eq!(pieces, once);
    }
});
