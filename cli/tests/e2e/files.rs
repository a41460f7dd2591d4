//! `leither files` on a running node: trees built with the commands have the root CID that
//! real kubo 0.22 gives when it adds the same tree from disk (a sharded directory too), the tree
//! survives kill -9 between operations, and `ipfs add -o` puts an add into it.

use crate::harness::{api, bytes, Node};
use crate::ipfs_peers::{KuboOpts, KuboPeer};
use std::path::Path;

fn hash(n: &Node, path: &str) -> String {
    n.ok(&["files", "stat", "--hash", path]).trim().to_string()
}

fn write_file(path: &Path, data: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, data).unwrap();
}

fn entry(i: usize) -> String {
    format!("entry-number-{i:05}.txt")
}

#[test]
fn a_tree_made_with_files_commands_has_kubos_root_cid() {
    let dir = tempfile::tempdir().unwrap();
    let n = Node::start();
    // The tree on disk, as kubo and `ipfs add -r` see it.
    let tree = dir.path().join("tree");
    let big = bytes(700_000, 5);
    write_file(&tree.join("a.txt"), b"hello\n");
    write_file(&tree.join("sub/b.txt"), b"world\n");
    write_file(&tree.join("sub/deep/c.bin"), &big);
    std::fs::create_dir_all(tree.join("empty")).unwrap();
    let k = KuboPeer::start(&dir.path().join("kubo"), KuboOpts::default());
    let kubo_root = k.add(&tree).unwrap();
    let added = crate::harness::cid_from_add(&n.ok(&["ipfs", "add", "-r", tree.to_str().unwrap()]));
    assert_eq!(added, kubo_root, "ipfs add -r gives kubo's root");

    // The same tree through files commands, by a roundabout way.
    let local = dir.path().join("local");
    write_file(&local.join("hello"), b"hello\n");
    write_file(&local.join("big"), &big[..300_000]);
    write_file(&local.join("rest"), &big[300_000..]);
    n.ok(&["files", "mkdir", "-p", "/t/sub/deep"]);
    n.ok(&["files", "mkdir", "/t/empty"]);
    n.ok(&["files", "write", "-e", "/t/scratch", local.join("hello").to_str().unwrap()]);
    n.ok(&["files", "mv", "/t/scratch", "/t/a.txt"]);
    let world = n.add(&{
        let p = local.join("world");
        std::fs::write(&p, b"world\n").unwrap();
        p
    });
    n.ok(&["files", "cp", &format!("/ipfs/{world}"), "/t/sub/b.txt"]);
    n.ok(&["files", "write", "--create", "/t/sub/deep/c.bin", local.join("big").to_str().unwrap()]);
    n.ok(&["files", "write", "-o", "300000", "/t/sub/deep/c.bin", local.join("rest").to_str().unwrap()]);
    n.ok(&["files", "cp", "/t/a.txt", "/t/extra"]);
    n.ok(&["files", "rm", "/t/extra"]);
    assert_eq!(hash(&n, "/t"), kubo_root);
    assert_eq!(n.ok(&["files", "ls", "/t"]), "a.txt\nempty\nsub\n");
    assert_eq!(n.ok(&["files", "read", "/t/sub/b.txt"]), "world\n");
    let out = n.cli(&["files", "read", "-o", "299990", "--count", "20", "/t/sub/deep/c.bin"]);
    assert!(out.status.success());
    assert_eq!(out.stdout, &big[299_990..300_010]);
    let stat = n.ok(&["files", "stat", "/t/sub/deep/c.bin"]);
    assert!(stat.contains("Size: 700000\n") && stat.contains("Type: file\n"), "{stat}");
    assert_eq!(n.ok(&["files", "flush", "/t"]).trim(), kubo_root);
}

#[test]
fn a_directory_of_5000_entries_shards_as_kubos() {
    let dir = tempfile::tempdir().unwrap();
    let n = Node::start();
    // 4681 entries stay a basic directory; entries 4682 on are written one by one.
    let base = dir.path().join("base");
    let full = dir.path().join("full");
    for i in 0..5000 {
        let data = format!("{i}\n");
        if i < 4681 {
            write_file(&base.join(entry(i)), data.as_bytes());
        }
        write_file(&full.join(entry(i)), data.as_bytes());
    }
    let k = KuboPeer::start(&dir.path().join("kubo"), KuboOpts::default());
    let kubo_full = k.add(&full).unwrap();
    let base_cid = crate::harness::cid_from_add(&n.ok(&["ipfs", "add", "-r", base.to_str().unwrap()]));
    n.ok(&["files", "cp", &format!("/ipfs/{base_cid}"), "/big"]);
    assert!(n.ok(&["files", "stat", "/big"]).contains("ChildBlocks: 4681\n"), "a basic directory first");
    let token = n.token();
    for i in 4681..5000 {
        let args = format!(r#"["/big/{}", "{i}\n", 0, true]"#, entry(i));
        let (status, body) = api(&n.addr(), "FilesWrite", &args, Some(&token));
        assert_eq!(status, 200, "{body}");
    }
    let stat = n.ok(&["files", "stat", "/big"]);
    assert!(stat.contains("ChildBlocks: 256\n"), "a HAMT root has 256 buckets: {stat}");
    assert_eq!(hash(&n, "/big"), kubo_full);
    assert_eq!(n.ok(&["files", "ls", "/big"]).lines().count(), 5000);
    assert_eq!(n.ok(&["files", "read", &format!("/big/{}", entry(4999))]), "4999\n");
}

#[test]
fn the_tree_survives_kill_9_between_operations() {
    let dir = tempfile::tempdir().unwrap();
    let mut n = Node::start();
    let f = dir.path().join("f");
    std::fs::write(&f, bytes(1 << 20, 9)).unwrap();
    n.ok(&["files", "mkdir", "-p", "/keep/me"]);
    n.ok(&["files", "write", "-e", "/keep/me/f", f.to_str().unwrap()]);
    n.ok(&["files", "rm", "-r", "/keep/me"]);
    n.ok(&["files", "write", "-e", "/keep/f2", f.to_str().unwrap()]);
    let root = hash(&n, "/");
    n.kill9();
    let n = n.spawn();
    assert_eq!(hash(&n, "/"), root, "the last root is kept");
    let out = n.cli(&["files", "read", "/keep/f2"]);
    assert!(out.stdout == std::fs::read(&f).unwrap(), "the file reads back byte-identical");
    assert_eq!(n.ok(&["files", "ls", "/keep"]), "f2\n");
}

#[test]
fn ipfs_add_to_files_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let n = Node::start();
    let f = dir.path().join("report.pdf");
    std::fs::write(&f, b"%PDF-1.4 not really").unwrap();
    n.ok(&["files", "mkdir", "/docs"]);
    let cid = crate::harness::cid_from_add(&n.ok(&["ipfs", "add", "-o", "/docs/", f.to_str().unwrap()]));
    assert_eq!(n.ok(&["files", "ls", "-l", "/docs"]), format!("report.pdf\t{cid}\t19\n"));
    crate::harness::cid_from_add(&n.ok(&["ipfs", "add", "--to-files", "/renamed", f.to_str().unwrap()]));
    assert_eq!(hash(&n, "/renamed"), cid);
    // Bad input: one line, non-zero exit.
    for (args, want) in [
        (vec!["files", "ls", "docs"], "error: paths must start with a leading slash: \"docs\"\n"),
        (vec!["files", "stat", "/nope"], "error: /nope: file does not exist\n"),
        (vec!["files", "rm", "/docs"], "error: /docs is a directory, use -r to remove directories\n"),
        (vec!["files", "mkdir", "/docs"], "error: /docs: file already exists\n"),
        (vec!["files", "read", "/docs"], "error: /docs is a directory\n"),
        (vec!["files", "mv", "/docs", "/docs/inner"], "error: cannot move /docs into itself\n"),
        (vec!["files", "rm", "-r", "/"], "error: cannot delete root\n"),
    ] {
        let out = n.cli(&args);
        assert!(!out.status.success(), "{args:?} must fail");
        assert_eq!(String::from_utf8_lossy(&out.stderr), want, "{args:?}");
    }
    // The tree is the owner's: a guest cannot read or change it.
    let (status, body) = api(&n.addr(), "FilesLs", r#"["/"]"#, None);
    assert_eq!(status, 401, "{body}");
}

#[test]
fn reads_through_the_api_are_bounded_by_the_config() {
    let n = Node::init(&[]);
    n.set_config("storage", "max_read_bytes", serde_json::json!(8));
    let n = n.spawn();
    let token = n.token();
    let (status, body) = api(&n.addr(), "FilesWrite", r#"["/f", "0123456789", 0, true]"#, Some(&token));
    assert_eq!(status, 200, "{body}");
    let (status, body) = api(&n.addr(), "FilesRead", r#"["/f", 0, 8]"#, Some(&token));
    assert_eq!((status, body.as_str()), (200, r#"{"result":"01234567"}"#));
    let (status, body) = api(&n.addr(), "FilesRead", r#"["/f", 0, -1]"#, Some(&token));
    assert_eq!(status, 400);
    assert!(body.contains("FilesRead returns at most 8 bytes at once (storage.max_read_bytes)"), "{body}");
    // The CLI streams through the gateway: no limit there.
    assert_eq!(n.ok(&["files", "read", "/f"]), "0123456789");
}
