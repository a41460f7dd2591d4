//! The API's JSON argument decoder and query-string parser: never panic; decoded arguments
//! re-encode to JSON that decodes to the same arguments.
#![no_main]
use gateway::server::{decode_args, parse_query, percent_decode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(args) = decode_args(data) {
        let text = serde_json::Value::Array(args.clone()).to_string();
        assert_eq!(decode_args(text.as_bytes()).expect("re-encoded args decode"), args);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_query(Some(text));
        let _ = percent_decode(text);
        let _ = gateway::range::parse(Some(text), 1 << 20);
    }
});
