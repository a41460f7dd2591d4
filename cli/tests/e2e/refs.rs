//! MiMei references: a version keeps what it references through garbage collection, and a
//! sync on another node copies it.

use crate::harness::{bytes, peer_addr, Node};

fn mid_of(out: &str) -> String {
    out.lines().find_map(|l| l.strip_prefix("mid= ")).expect("a mid line").to_string()
}

#[test]
fn references_are_kept_by_gc_and_copied_by_sync() {
    let work = tempfile::tempdir().unwrap();
    let author = Node::start();
    let syncer = Node::start_with(&[peer_addr(&author)]);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let (page, asset) = (work.path().join("page.html"), work.path().join("video.bin"));
    std::fs::write(&page, b"<video src=asset>").unwrap();
    let asset_bytes = bytes(2 << 20, 3);
    std::fs::write(&asset, &asset_bytes).unwrap();
    let mid = mid_of(&author.ok(&["mimei", "create", "-m", "refs"]));
    let asset_cid = author.add(&asset);
    // Only the reference keeps the asset: its pin goes.
    author.ok(&["ipfs", "pin", "rm", &asset_cid]);
    assert_eq!(author.ok(&["mimei", "addref", &mid, &asset_cid, "mac-file-id"]), "MMAddRef 2\n");
    let page_cid = author.add(&page);
    author.ok(&["mimei", "setcid", &mid, &page_cid]);
    assert_eq!(author.ok(&["mimei", "getref", &mid, "-v", "1"]), format!("{asset_cid} 1\nmac-file-id 1\n"));
    author.ok(&["ipfs", "repo", "gc"]);
    let out = author.cli(&["ipfs", "cat", &asset_cid]);
    assert!(out.status.success() && out.stdout == asset_bytes, "the referenced file survives gc");
    assert!(author.ok(&["ipfs", "repo", "ls"]).contains(&format!("{asset_cid} mimei {mid} ref")));

    // A referenced MiMei (published on its own) comes with a sync too.
    let lib = mid_of(&author.ok(&["mimei", "create", "-m", "library"]));
    let lib_file = work.path().join("lib.js");
    std::fs::write(&lib_file, b"export const v = 1;\n").unwrap();
    author.ok(&["mimei", "add", &lib, lib_file.to_str().unwrap()]);
    author.ok(&["mimei", "publish", &lib]);
    author.ok(&["mimei", "addref", &mid, &lib]);
    author.ok(&["mimei", "add", &mid, page.to_str().unwrap()]);
    // Another node syncs the MiMei and gets the reference's blocks with it.
    author.ok(&["mimei", "publish", &mid]);
    syncer.ok(&["mimei", "sync", &mid]);
    author.stop();
    assert_eq!(syncer.ok(&["mimei", "get", &lib]), "export const v = 1;\n", "the referenced MiMei");
    let out = syncer.cli(&["ipfs", "cat", &asset_cid]);
    assert!(out.status.success() && out.stdout == asset_bytes, "the syncing node holds the referenced file");
    assert_eq!(syncer.ok(&["mimei", "getref", &mid, "-v", "1"]), format!("{asset_cid} 1\nmac-file-id 1\n"));
    let refs = syncer.ok(&["mimei", "getref", &mid, "-v", "last"]);
    assert!(refs.contains(&format!("{lib} 1\n")), "{refs}");
}

#[test]
fn deleting_the_version_lets_gc_free_what_it_referenced() {
    let work = tempfile::tempdir().unwrap();
    let n = Node::start();
    let f = work.path().join("f");
    std::fs::write(&f, bytes(1 << 20, 5)).unwrap();
    let mid = mid_of(&n.ok(&["mimei", "create", "-m", "gone"]));
    let cid = n.add(&f);
    n.ok(&["ipfs", "pin", "rm", &cid]);
    n.ok(&["mimei", "addref", &mid, &cid]);
    let page = work.path().join("p");
    std::fs::write(&page, b"page").unwrap();
    let page_cid = n.add(&page);
    n.ok(&["mimei", "setcid", &mid, &page_cid]);
    assert_eq!(n.ok(&["mimei", "delref", &mid, &cid]), "MMDelRef 1\n");
    assert_eq!(n.ok(&["mimei", "getref", &mid]), "", "cur has none now");
    n.ok(&["ipfs", "repo", "gc"]);
    assert!(n.cli(&["ipfs", "cat", &cid]).status.success(), "version 1 still references it");
    n.ok(&["mimei", "delvers", &mid, "1"]);
    n.ok(&["ipfs", "repo", "gc"]);
    let out = n.cli(&["ipfs", "cat", &cid]);
    assert!(!out.status.success(), "nothing keeps it now");
    // Bad references are refused whole, with the reason.
    let out = n.cli(&["mimei", "addref", &mid, &"x".repeat(300)]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a reference: give ids of 1 to 256 bytes"));
}
