//! Tar archives from app developers (`IpfsAdd?tar=true`, `lapp uploadapp`): never panic; every
//! accepted entry has a clean relative path, a byte range inside the archive, and links that
//! stay in the tree; what the writer makes of the accepted tree reads back the same.
#![no_main]
use libfuzzer_sys::fuzz_target;
use proto_core::tar::{self, Kind};

fuzz_target!(|data: &[u8]| {
    let Ok(entries) = tar::read(data) else { return };
    let mut w = tar::Writer::default();
    for e in &entries {
        assert_eq!(tar::clean_path(&e.path).as_deref(), Ok(e.path.as_str()));
        assert!(!e.path.is_empty() && !e.path.split('/').any(|c| c == ".." || c.is_empty()));
        match &e.kind {
            Kind::File(r) => {
                assert!(r.end <= data.len());
                w.file(&e.path, &data[r.clone()]);
            }
            Kind::Dir => w.dir(&e.path),
            Kind::Symlink(t) => {
                assert!(!t.starts_with('/'));
                w.symlink(&e.path, t);
            }
        }
    }
    let again = w.finish();
    let back = tar::read(&again).expect("our own archive of an accepted tree reads");
    assert_eq!(back.len(), entries.len());
    for (a, b) in entries.iter().zip(&back) {
        assert_eq!(a.path, b.path);
        match (&a.kind, &b.kind) {
            (Kind::File(x), Kind::File(y)) => assert_eq!(&data[x.clone()], &again[y.clone()]),
            (x, y) => assert_eq!(x, y),
        }
    }
});
