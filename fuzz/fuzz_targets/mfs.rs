//! The node's file system as clients drive it: any text is a path or a copy source or refused;
//! any sequence of operations (one per line: `op path [path-or-data]`) changes the tree or is
//! refused without a panic, and the root always lists afterwards.
#![no_main]
use libfuzzer_sys::fuzz_target;
use proto_core::cid::Version;
use proto_core::mfs::{Mfs, MfsPath, Source};
use proto_core::store::MemStore;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = MfsPath::parse(&text);
    let _ = Source::parse(&text);
    let store = MemStore::default();
    let Ok(mut m) = Mfs::open(&store, None) else { return };
    let root = MfsPath::parse("/").expect("the root parses");
    for line in text.lines().take(32) {
        let mut w = line.splitn(3, ' ');
        let (op, a, b) = (w.next().unwrap_or(""), w.next().unwrap_or("/"), w.next().unwrap_or("/"));
        let Ok(pa) = MfsPath::parse(a) else { continue };
        let pb = MfsPath::parse(b);
        let _ = match (op, pb) {
            ("mkdir", _) => m.mkdir(&pa, true, None),
            ("rm", _) => m.rm(&pa, true, true),
            ("mv", Ok(pb)) => m.mv(&pa, &pb),
            ("cp", Ok(pb)) => m.cp(&Source::Mfs(pa.clone()), &pb, true),
            ("chcid", _) => m.chcid(&pa, Version::V1),
            ("write", _) => match m.write_begin(&pa, b.len() as u64 % 7, true, b.len() % 2 == 0, true) {
                Ok(mut wr) => match wr.push(&store, b.as_bytes()) {
                    Ok(()) => m.write_finish(&pa, wr, true),
                    Err(e) => Err(e),
                },
                Err(e) => Err(e),
            },
            _ => Ok(()),
        };
        m.ls(&root).expect("the root always lists");
    }
});
