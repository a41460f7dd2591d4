//! kill -9 in the middle of a large add: the repo opens, every stored block verifies, and adding
//! again gives the same CID.

use crate::harness::*;
use std::time::{Duration, Instant};

#[test]
fn kill_during_add_loses_nothing_acknowledged() {
    let mut node = Node::start();
    let work = tempfile::tempdir().unwrap();
    let f = work.path().join("big.bin");
    let data = bytes(160 << 20, 11);
    std::fs::write(&f, &data).unwrap();
    let expect = cid_from_add(&node.ok(&["ipfs", "add", "--only-hash", f.to_str().unwrap()]));

    let mut add = std::process::Command::new(BIN)
        .args(["ipfs", "add", f.to_str().unwrap(), "--repo"])
        .arg(node.repo())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill the node once some batches are durably in the store.
    let data_file = node.repo().join("store/data.mdb");
    let t0 = Instant::now();
    while std::fs::metadata(&data_file).map(|m| m.len()).unwrap_or(0) < (20 << 20)
        && t0.elapsed() < Duration::from_secs(30)
    {
        std::thread::sleep(Duration::from_millis(5));
    }
    node.kill9();
    let _ = add.wait();

    {
        let store = storage::Store::open(&node.repo().join("store")).unwrap();
        let (n, bad) = store.verify_all().unwrap();
        assert!(bad.is_empty(), "{} of {n} blocks do not verify", bad.len());
    }
    // Restart (the lock died with the process) and add again.
    node.api.clear();
    let node = node.spawn();
    assert_eq!(node.add(&f), expect);
    let r = http(&node.addr(), "GET", &format!("/ipfs/{expect}"), &[], b"");
    assert_eq!(sha256_hex(&r.body), sha256_hex(&data));
    node.stop();
}
