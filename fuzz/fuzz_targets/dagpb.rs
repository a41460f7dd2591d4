//! dag-pb and UnixFS decoding: never panics; what decodes re-encodes to bytes that decode to the
//! same value.
#![no_main]
use libfuzzer_sys::fuzz_target;
use proto_core::dagpb::PbNode;
use proto_core::unixfs::data::UnixFsData;

fuzz_target!(|data: &[u8]| {
    if let Ok(node) = PbNode::decode(data) {
        let again = PbNode::decode(&node.encode()).expect("canonical encoding decodes");
        assert_eq!(again, node);
    }
    if let Ok(fs) = UnixFsData::decode(data) {
        let again = UnixFsData::decode(&fs.encode()).expect("encoding decodes");
        assert_eq!(again.kind, fs.kind);
        assert_eq!(again.data, fs.data);
        assert_eq!(again.filesize, fs.filesize);
        assert_eq!(again.blocksizes, fs.blocksizes);
    }
});
