//! The CLI walkthrough: identity, lifecycle, add/cat/get/ls/pin.

use crate::harness::*;

#[test]
fn identity_is_stable_and_key_files_are_private() {
    let node = Node::start();
    // The 27-character id, and beside it the libp2p peer id of the same key.
    let id_running = node.ok(&["lpki", "id"]).trim().to_string();
    let (short, peer) = id_running.split_once(' ').unwrap();
    assert_eq!(short, node.id);
    assert_eq!(short.len(), 27);
    assert!(peer.starts_with("12D3KooW"), "{id_running}");
    let repo = node.repo();
    for f in ["identity.key", "api.token"] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(repo.join(f)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{f} mode");
    }
    // A second node on the same repo is refused and the first keeps serving.
    let out = node.cli(&["run"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("already running"), "{err}");
    assert_eq!(err.lines().count(), 1, "one error line: {err}");
    // Stop, read the id with the node stopped, restart: the same id.
    node.ok(&["stop"]);
    let stopped = std::process::Command::new(BIN).args(["lpki", "id", "--repo"]).arg(node.repo()).output();
    let stopped = stopped.unwrap();
    assert_eq!(String::from_utf8_lossy(&stopped.stdout).trim(), id_running);
    let again = node.spawn_again();
    assert_eq!(again.id, short);
    again.stop();
}

impl Node {
    /// Waits for the old process to exit, then starts the node again on the same repo.
    fn spawn_again(mut self) -> Node {
        if let Some(mut c) = self.child.take() {
            c.wait().unwrap();
        }
        self.api.clear();
        self.spawn()
    }
}

#[test]
fn add_cat_get_ls_pin() {
    let node = Node::start();
    let work = tempfile::tempdir().unwrap();
    let hw = work.path().join("hello.txt");
    std::fs::write(&hw, b"hello world\n").unwrap();
    let out = node.ok(&["ipfs", "add", hw.to_str().unwrap()]);
    // The original's two lines, with kubo's CID.
    assert_eq!(
        out,
        "add /ipfs/QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o 12\nipfs add ok  /ipfs/QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o\n"
    );
    assert_eq!(node.ok(&["ipfs", "cat", "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"]), "hello world\n");

    // A tree with a nested dir, an empty dir, a hidden file (skipped) and a 1 MB file.
    let tree = work.path().join("tree");
    std::fs::create_dir_all(tree.join("sub/empty")).unwrap();
    std::fs::write(tree.join("a.txt"), b"a\n").unwrap();
    std::fs::write(tree.join(".hidden"), b"secret").unwrap();
    let big = bytes(1_000_000, 3);
    std::fs::write(tree.join("sub/big.bin"), &big).unwrap();
    let root = cid_from_add(&node.ok(&["ipfs", "add", "-r", tree.to_str().unwrap()]));
    let ls = node.ok(&["ipfs", "ls", &root]);
    let names: Vec<&str> = ls.lines().map(|l| l.rsplit(' ').next().unwrap()).collect();
    assert_eq!(names, ["a.txt", "sub/"], "{ls}");
    assert!(!ls.contains(".hidden"));
    let sub_ls = node.ok(&["ipfs", "ls", &format!("{root}/sub")]);
    assert!(sub_ls.contains(" 1000000 big.bin"), "{sub_ls}");

    let dest = work.path().join("out");
    node.ok(&["ipfs", "get", &root, "-o", dest.to_str().unwrap()]);
    assert_eq!(std::fs::read(dest.join("a.txt")).unwrap(), b"a\n");
    assert_eq!(std::fs::read(dest.join("sub/big.bin")).unwrap(), big);
    assert!(dest.join("sub/empty").is_dir());
    assert!(!dest.join(".hidden").exists());

    let pins = node.ok(&["ipfs", "pin", "ls"]);
    assert!(pins.contains(&root) && pins.contains("QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"), "{pins}");
    node.ok(&["ipfs", "pin", "rm", &root]);
    assert!(!node.ok(&["ipfs", "pin", "ls"]).contains(&root));
    node.ok(&["ipfs", "pin", "add", &root]);
    assert!(node.ok(&["ipfs", "pin", "ls"]).contains(&root));
    node.stop();
}

#[test]
fn only_hash_stores_nothing_and_cid_version_1() {
    let node = Node::start();
    let work = tempfile::tempdir().unwrap();
    let f = work.path().join("f.bin");
    std::fs::write(&f, bytes(300_000, 9)).unwrap();
    let cid = cid_from_add(&node.ok(&["ipfs", "add", "--only-hash", f.to_str().unwrap()]));
    let cat = node.cli(&["ipfs", "cat", &cid]);
    assert_eq!(cat.status.code(), Some(1), "nothing was stored");
    assert!(String::from_utf8_lossy(&cat.stderr).contains("not available"));
    assert_eq!(cid_from_add(&node.ok(&["ipfs", "add", f.to_str().unwrap()])), cid, "same CID when stored");
    let hw = work.path().join("hw");
    std::fs::write(&hw, b"hello world").unwrap();
    let v1 = cid_from_add(&node.ok(&["ipfs", "add", "--cid-version", "1", hw.to_str().unwrap()]));
    assert_eq!(v1, "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e");
    node.stop();
}
