//! hprose requests from any client: never panic; decoded arguments written back as hprose decode
//! to the same values; whatever decodes under a small budget is small.
#![no_main]
use gateway::hprose::{decoded_size, parse_request_with, write, HproseLimits, Reader, Request};
use libfuzzer_sys::fuzz_target;

/// The budget the target decodes under.
const LIMIT: usize = 64 << 10;
/// JSON text of a value is at most 6 bytes per byte the budget counts: a string byte becomes at
/// most `\u00XX`, and every node (counted 32) or key (32 + its length) prints in fewer.
const JSON_PER_BUDGET_BYTE: usize = 6;

fuzz_target!(|data: &[u8]| {
    let limits = HproseLimits { max_decoded: LIMIT, ..Default::default() };
    if let Ok(Request::Calls(calls)) = parse_request_with(data, &limits) {
        let mut json = 0;
        let mut measured = 0;
        for c in &calls {
            let args = serde_json::Value::Array(c.args.clone());
            json += c.name.len() + serde_json::to_vec(&args).expect("values print").len();
            measured += decoded_size(&serde_json::Value::String(c.name.clone())) + decoded_size(&args);
        }
        assert!(json <= JSON_PER_BUDGET_BYTE * LIMIT, "{json} bytes of JSON under a {LIMIT}-byte budget");
        assert!(measured <= LIMIT, "{measured} bytes measured under a {LIMIT}-byte budget");
        for c in calls {
            let mut out = Vec::new();
            write(&mut out, &serde_json::Value::Array(c.args.clone()));
            let mut r = Reader::new(&out);
            assert_eq!(r.value().expect("our own output decodes"), serde_json::Value::Array(c.args));
        }
    }
    let mut r = Reader::with_limits(data, &limits);
    let _ = r.value();
});
