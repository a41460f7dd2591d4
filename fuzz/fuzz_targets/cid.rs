//! CID text and binary parsing and the multibase codecs: never panic; parse → print → parse is
//! the identity, and binary CIDs round-trip byte for byte.
#![no_main]
use libfuzzer_sys::fuzz_target;
use proto_core::cid::Cid;
use proto_core::multibase;

fuzz_target!(|data: &[u8]| {
    if let Ok(cid) = Cid::from_bytes(data) {
        assert_eq!(cid.to_bytes(), data);
        assert_eq!(Cid::parse(&cid.to_string()).expect("printed cid parses"), cid);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(cid) = Cid::parse(text) {
            assert_eq!(Cid::parse(&cid.to_string()).expect("printed cid parses"), cid);
        }
        if let Some(b) = multibase::base58btc_decode(text) {
            assert_eq!(multibase::base58btc_decode(&multibase::base58btc_encode(&b)).unwrap(), b);
        }
        if let Some(b) = multibase::base32_decode(text) {
            assert_eq!(multibase::base32_decode(&multibase::base32_encode(&b)).unwrap(), b);
        }
        if let Some(b) = multibase::base64url_decode(text) {
            assert_eq!(multibase::base64url_encode(&b), text, "strict decoding is canonical");
        }
        let _ = proto_core::id::NodeId::parse(text);
    }
});
