//! Bad input gets one clear error line (CLI exit 1) or the right HTTP status, and the repo is
//! untouched.

use crate::harness::*;

fn fails(node: &Node, args: &[&str], needle: &str) {
    let out = node.cli(args);
    assert_eq!(out.status.code(), Some(1), "{args:?} must fail");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("error: ") && err.contains(needle), "{args:?}: {err}");
}

#[test]
fn cli_errors_are_one_line() {
    let node = Node::start();
    fails(&node, &["ipfs", "add", "/definitely/missing"], "cannot read /definitely/missing");
    fails(&node, &["ipfs", "cat", "Qmnope"], "invalid cid");
    fails(&node, &["ipfs", "pin", "rm", "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"], "not pinned");
    let work = tempfile::tempdir().unwrap();
    fails(&node, &["ipfs", "add", work.path().to_str().unwrap()], "add it with -r");
    let unreadable = work.path().join("locked");
    std::fs::write(&unreadable, b"x").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&unreadable, std::fs::Permissions::from_mode(0o000)).unwrap();
    // root can read anything; the check only means something for other users.
    if std::fs::read(&unreadable).is_err() {
        fails(&node, &["ipfs", "add", unreadable.to_str().unwrap()], "Permission denied");
    }
    assert_eq!(node.ok(&["ipfs", "pin", "ls"]), "", "nothing was added");
    node.stop();
    // With the node stopped, commands that need it say how to start it.
    let out = std::process::Command::new(BIN)
        .args(["ipfs", "pin", "ls", "--repo"])
        .arg(tempfile::tempdir().unwrap().path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("leither run"));
}

#[test]
fn api_rejects_bad_requests() {
    let node = Node::start();
    let a = node.addr();
    let r = http(&a, "POST", "/api/PinAdd", &[], b"[\"\", \"QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o\"]");
    assert_eq!(r.status, 401);
    assert!(r.text().contains("needs its API token"), "{}", r.text());
    // The first argument is the session id (the original's order): a CID there is no session.
    let r = http(&a, "POST", "/api/PinAdd", &[], b"[\"QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o\"]");
    assert_eq!(r.status, 401);
    assert!(r.text().contains("unknown or expired session"), "{}", r.text());
    let r = http(&a, "POST", "/api/Shutdown", &[("Authorization", "Bearer 00")], b"[]");
    assert_eq!(r.status, 401, "wrong token");
    let tok = format!("Bearer {}", node.token());
    let r = http(&a, "POST", "/api/NoSuchMethod", &[("Authorization", &tok)], b"[]");
    assert_eq!(r.status, 404);
    let r = http(&a, "POST", "/api/IpfsStat", &[], b"{not json");
    assert_eq!(r.status, 400);
    assert!(r.text().contains("not valid JSON"));
    let r = http(&a, "POST", "/api/IpfsStat", &[], b"{\"a\":1}");
    assert_eq!(r.status, 400);
    let big = vec![b' '; (1 << 20) + 10];
    let r = http(&a, "POST", "/api/IpfsStat", &[], &big);
    assert_eq!(r.status, 413);
    let r = http(&a, "GET", "/api/IpfsStat", &[], b"");
    assert_eq!(r.status, 405);
    // Method names ignore case, as hprose does; reads need no token.
    let r = http(&a, "POST", "/api/getvar", &[], b"[\"\", \"nodeid\"]");
    assert_eq!(r.text(), format!("{{\"result\":\"{}\"}}", node.id));
    let r = http(&a, "POST", "/api/GetVar", &[], b"[\"\", \"no-such-var\"]");
    assert_eq!(r.text(), "{\"result\":\"\"}");
    node.stop();
}
