//! Passports and certificates from anyone (logins, `lpki verifyppt`): never panic; data strings
//! that parse print back to the same pairs.
#![no_main]
use libfuzzer_sys::fuzz_target;
use proto_core::ppt;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = ppt::verify_ppt(text, None, 1_800_000_000_000);
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(text) {
        let _ = ppt::verify_cert(&v);
    }
    let _ = ppt::read_key(text);
    let _ = ppt::parse_rfc3339(text);
    if let Ok(pairs) = ppt::parse_data(text) {
        if let Ok(again) = ppt::data_string(&pairs) {
            assert_eq!(ppt::parse_data(&again).expect("our data string parses"), pairs);
        }
    }
});
