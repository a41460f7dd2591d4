//! hprose requests and WebSocket frames from any client: never panic; decoded arguments written back as hprose decode
//! to the same values.
#![no_main]
use gateway::hprose::{parse_request, write, Reader, Request};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(Request::Calls(calls)) = parse_request(data) {
        for c in calls {
            let mut out = Vec::new();
            write(&mut out, &serde_json::Value::Array(c.args.clone()));
            let mut r = Reader::new(&out);
            assert_eq!(r.value().expect("our own output decodes"), serde_json::Value::Array(c.args));
        }
    }
    let mut r = Reader::new(data);
    let _ = r.value();
    // WebSocket frames around the calls.
    let mut cursor = data;
    while let Ok(gateway::ws::Frame::Message(_) | gateway::ws::Frame::Ping(_)) = gateway::ws::read_frame(&mut cursor) {}
});
