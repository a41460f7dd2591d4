//! The RESP request and reply parsers on hostile bytes: never panic, never claim more bytes than
//! given, and a parsed request re-encoded as a multibulk parses back to the same words.
#![no_main]
use libfuzzer_sys::fuzz_target;
use proto_core::db::resp::{parse_reply, parse_request, Reply};

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    while let Ok(Some((args, used))) = parse_request(rest) {
        assert!(used > 0 && used <= rest.len());
        let mut enc = Vec::new();
        Reply::Array(args.iter().map(Reply::bulk).collect()).encode(&mut enc);
        let (again, n) = parse_request(&enc).expect("our encoding parses").expect("complete");
        assert_eq!((again, n), (args, enc.len()));
        rest = &rest[used..];
    }
    if let Ok(Some((reply, used))) = parse_reply(data) {
        assert!(used <= data.len());
        for proto in [2, 3] {
            let mut enc = Vec::new();
            reply.encode_as(&mut enc, proto);
            assert!(parse_reply(&enc).expect("our encoding parses").is_some());
        }
    }
});
