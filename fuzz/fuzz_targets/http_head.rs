//! The HTTP request head parser: never panics; a head it accepts took no more bytes than it was
//! given and no more than the limits allow; every prefix of that head is "incomplete", never an
//! error or another head; the body framing it reports is consistent.
#![no_main]
use gateway::http::head::{parse, BodyKind, HeadLimits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = HeadLimits { max_line: 256, max_head: 1024, max_headers: 8 };
    let Ok(Some((head, n))) = parse(data, &limits) else { return };
    assert!(n <= data.len());
    assert!(head.headers.len() <= limits.max_headers);
    assert!(head.target.len() <= limits.max_line);
    // Leading blank lines are skipped and not counted against the head.
    let skipped = data.iter().take_while(|b| matches!(b, b'\r' | b'\n')).count();
    assert!(n - skipped.min(n) <= limits.max_head + 2);
    for cut in 0..n {
        match parse(&data[..cut], &limits) {
            Ok(None) => {}
            other => panic!("prefix {cut} of an accepted head gave {other:?}"),
        }
    }
    assert_eq!(parse(&data[..n], &limits).unwrap().unwrap().0, head);
    if let Ok(BodyKind::Length(len)) = head.body() {
        let cl = head.header("Content-Length").map(|v| v.trim().parse::<u64>().unwrap());
        assert_eq!(cl.unwrap_or(0), len);
    }
});
