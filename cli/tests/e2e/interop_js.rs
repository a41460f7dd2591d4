//! Differential interop: the same inputs through `leither ipfs add --only-hash` and through npm's
//! `ipfs-unixfs-importer` (kubo's profile). Same CIDs or the test fails.

use crate::harness::*;
use std::path::{Path, PathBuf};
use std::process::Command;

fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/interop")
}

fn js_cids(paths: &[PathBuf]) -> Vec<String> {
    let dir = interop_dir();
    assert!(
        dir.join("node_modules/ipfs-unixfs-importer").is_dir(),
        "the JS importer is not installed: run `npm ci --prefix tests/interop` (the test script does)"
    );
    let out = Command::new("node").arg(dir.join("unixfs-cids.mjs")).args(paths).output().expect("node is installed");
    assert!(out.status.success(), "JS importer failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().lines().map(|l| l.rsplit(' ').next().unwrap().to_string()).collect()
}

fn write_tree(root: &Path, files: usize, name_len: usize, seed: u64) {
    std::fs::create_dir_all(root.join("nested/empty")).unwrap();
    std::fs::write(root.join("nested/inner.txt"), b"inner\n").unwrap();
    let alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789-_";
    let noise = bytes(files * name_len, seed);
    for i in 0..files {
        let name: String = noise[i * name_len..(i + 1) * name_len]
            .iter()
            .map(|b| alphabet[*b as usize % alphabet.len()] as char)
            .collect();
        std::fs::write(root.join(name), bytes(i % 700, seed + i as u64)).unwrap();
    }
}

#[test]
fn our_cids_equal_the_js_importer() {
    let node = Node::start();
    let work = tempfile::tempdir().unwrap();
    let chunk = 262_144usize;
    let mut sizes = vec![
        0,
        1,
        11,
        chunk - 1,
        chunk,
        chunk + 1,
        2 * chunk,
        174 * chunk,
        174 * chunk + 1,
        174 * chunk - 1,
        1000,
        3 * chunk + 5,
    ];
    // A few seeded random sizes up to 64 MiB.
    let r = bytes(20, 77);
    sizes.extend((0..5).map(|i| u32::from_le_bytes(r[i * 4..i * 4 + 4].try_into().unwrap()) as usize % (64 << 20)));
    sizes.push(64 << 20);
    let mut paths = Vec::new();
    for (i, &size) in sizes.iter().enumerate() {
        let p = work.path().join(format!("f{i}-{size}.bin"));
        std::fs::write(&p, bytes(size, i as u64 + 100)).unwrap();
        paths.push(p);
    }
    // Three trees: small, medium, and one over the HAMT threshold (≥ 262144 links-bytes).
    for (name, files, len) in [("small", 5, 8), ("medium", 300, 20), ("sharded", 4500, 30)] {
        let p = work.path().join(name);
        write_tree(&p, files, len, files as u64);
        paths.push(p);
    }
    assert!(paths.len() >= 20, "at least 20 inputs");
    let js = js_cids(&paths);
    assert_eq!(js.len(), paths.len());
    for (p, js_cid) in paths.iter().zip(&js) {
        let mut args = vec!["ipfs", "add", "--only-hash", p.to_str().unwrap()];
        if p.is_dir() {
            args.push("-r");
        }
        let ours = cid_from_add(&node.ok(&args));
        assert_eq!(&ours, js_cid, "CID differs for {}", p.display());
    }
    node.stop();
}
