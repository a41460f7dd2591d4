//! `ipfs cat | get | ls | refs | dag | block` on a node that lacks the content fetch it from its
//! providers, as the gateway does; `dag get` prints kubo's dag-json.

use crate::harness::{bytes, peer_addr, Node};

#[test]
fn reads_fetch_what_the_node_lacks() {
    let dir = tempfile::tempdir().unwrap();
    let a = Node::start();
    let b = Node::start_with(&[peer_addr(&a)]);
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(tree.join("sub")).unwrap();
    let big = bytes(3 << 20, 4);
    std::fs::write(tree.join("sub/big.bin"), &big).unwrap();
    std::fs::write(tree.join("a.txt"), b"hello\n").unwrap();
    let root = crate::harness::cid_from_add(&a.ok(&["ipfs", "add", "-r", tree.to_str().unwrap()]));
    std::thread::sleep(std::time::Duration::from_millis(500));
    let ls = b.ok(&["ipfs", "ls", &root]);
    assert!(ls.contains(" a.txt\n") && ls.contains(" sub/\n"), "{ls}");
    assert_eq!(b.ok(&["ipfs", "cat", &format!("{root}/a.txt")]), "hello\n");
    // A file lists its chunks (3 MiB: 12 of 256 KiB), unnamed.
    let chunks = b.ok(&["ipfs", "ls", &format!("{root}/sub/big.bin")]);
    assert_eq!(chunks.lines().count(), 12, "{chunks}");
    assert!(chunks.lines().all(|l| l.ends_with(" 262144 ")), "{chunks}");
    let out = dir.path().join("got");
    b.ok(&["ipfs", "get", &root, "-o", out.to_str().unwrap()]);
    assert!(std::fs::read(out.join("sub/big.bin")).unwrap() == big, "the tree comes back byte-identical");
}

#[test]
fn refs_dag_and_blocks_as_kubo_shows_them() {
    let dir = tempfile::tempdir().unwrap();
    let a = Node::start();
    let b = Node::start_with(&[peer_addr(&a)]);
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(tree.join("sub")).unwrap();
    std::fs::write(tree.join("a.txt"), b"hello\n").unwrap();
    std::fs::write(tree.join("sub/big.bin"), bytes(3 << 20, 8)).unwrap();
    let root = crate::harness::cid_from_add(&a.ok(&["ipfs", "add", "-r", tree.to_str().unwrap()]));
    std::thread::sleep(std::time::Duration::from_millis(500));
    // On the node that lacks it: 3 MiB is 12 chunks of 256 KiB under the file's root.
    let refs = b.ok(&["ipfs", "refs", "-r", &root]);
    let lines: Vec<&str> = refs.lines().collect();
    assert_eq!(lines.len(), 15, "a.txt, sub, big.bin and its 12 chunks: {refs}");
    assert_eq!(lines[0], "QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN", "kubo's CID of \"hello\\n\"");
    assert_eq!(b.ok(&["ipfs", "refs", &root]).lines().count(), 2);
    let get: serde_json::Value = serde_json::from_str(&b.ok(&["ipfs", "dag", "get", &root])).unwrap();
    assert_eq!(get["Data"]["/"]["bytes"], "CAE", "a directory's Data is 08 01");
    assert_eq!(get["Links"][0]["Hash"]["/"], lines[0]);
    assert_eq!((get["Links"][0]["Name"].as_str(), get["Links"][0]["Tsize"].as_u64()), (Some("a.txt"), Some(14)));
    let stat = b.ok(&["ipfs", "dag", "stat", &root]);
    a.ok(&["files", "cp", &format!("/ipfs/{root}"), "/r"]);
    let cumulative = a.ok(&["files", "stat", "/r"]);
    let total = cumulative.lines().find_map(|l| l.strip_prefix("CumulativeSize: ")).unwrap().to_string();
    assert_eq!(stat.trim(), format!("Size: {total}, NumBlocks: 16"));
    // Blocks: put, stat, get.
    let f = dir.path().join("blk");
    std::fs::write(&f, b"a raw block").unwrap();
    let key = a.ok(&["ipfs", "block", "put", f.to_str().unwrap()]).trim().to_string();
    assert!(key.starts_with("bafkrei"), "raw sha2-256 CIDv1: {key}");
    assert_eq!(a.ok(&["ipfs", "block", "stat", &key]), format!("Key: {key}\nSize: 11\n"));
    assert_eq!(a.ok(&["ipfs", "block", "get", &key]), "a raw block");
    let out = b.cli(&["ipfs", "block", "get", &root]);
    assert!(out.status.success() && out.stdout.len() > 80, "the root block from the node that lacks nothing now");
}
