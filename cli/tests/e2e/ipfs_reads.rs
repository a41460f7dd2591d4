//! `ipfs cat | get | ls` on a node that lacks the content fetch it from its providers, as the
//! gateway does.

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
    let out = dir.path().join("got");
    b.ok(&["ipfs", "get", &root, "-o", out.to_str().unwrap()]);
    assert!(std::fs::read(out.join("sub/big.bin")).unwrap() == big, "the tree comes back byte-identical");
}
