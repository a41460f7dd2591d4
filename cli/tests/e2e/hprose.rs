//! The hprose API on /webapi/: the real Python client, raw batches, function list, CORS.

use crate::harness::*;
use std::process::Command;

#[test]
fn python_hprose_client_calls_the_same_methods() {
    let node = Node::start();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("d");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("a.txt"), b"hello hprose\n").unwrap();
    let dircid = cid_from_add(&node.ok(&["ipfs", "add", "-r", dir.to_str().unwrap()]));
    let cid = node.add(&dir.join("a.txt"));
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/interop/hprose_client.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(format!("{}/webapi/", node.api))
        .arg(&cid)
        .arg(&dircid)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python hprose client (pip install hprose==1.4.3): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["nodeid"], node.id.as_str());
    assert_eq!(v["nodeid_any_case"], node.id.as_str());
    assert_eq!(v["unknown_var"], "");
    assert_eq!(v["stat"]["type"], "file");
    assert_eq!(v["stat"]["size"], 13);
    assert_eq!(v["ls"][0]["name"], "a.txt");
    assert_eq!(v["ls"][0]["cid"], cid.as_str());
    assert_eq!(v["unknown_method"], "Can't find this function NoSuchMethod().");
    assert!(v["write_refused"].as_str().unwrap().contains("needs its API token"), "{v}");
    assert!(v["bad_cid"].as_str().unwrap().contains("invalid cid"), "{v}");
    node.stop();
}

#[test]
fn raw_batches_function_list_and_cors() {
    let node = Node::start();
    let a = node.addr();
    let body = b"Cs6\"GetVar\"a1{s6\"nodeid\"}Cs6\"nosuch\"Cs6\"getvar\"a1{u!}z";
    let r = http(&a, "POST", "/webapi/", &[("Origin", "http://app.example")], body);
    assert_eq!(r.status, 200);
    let want = format!("Rs27\"{}\"Es34\"Can't find this function nosuch().\"Rez", node.id);
    assert_eq!(r.text(), want);
    assert_eq!(r.header("Access-Control-Allow-Origin"), Some("http://app.example"));
    assert_eq!(r.header("Access-Control-Allow-Credentials"), Some("true"));
    // By-reference arguments come back after the result.
    let r = http(&a, "POST", "/webapi/", &[], b"Cs6\"GetVar\"a1{s3\"ver\"}tz");
    assert!(r.text().starts_with("Rs5\"") && r.text().ends_with("\"Aa1{s3\"ver\"}z"), "{}", r.text());
    let r = http(&a, "GET", "/webapi/", &[], b"");
    assert!(r.text().starts_with("Fa") && r.text().contains("s6\"GetVar\""), "{}", r.text());
    assert_eq!(r.header("Access-Control-Allow-Origin"), Some("*"));
    // Malformed bodies get an E reply with status 200, as hprose clients expect.
    for bad in [&b""[..], b"garbage", b"Cs3\"abc"] {
        let r = http(&a, "POST", "/webapi/", &[], bad);
        assert_eq!(r.status, 200);
        assert!(r.text().starts_with('E') && r.text().ends_with('z'), "{}", r.text());
    }
    // The token opens write methods, as on the JSON API.
    let tok = format!("Bearer {}", node.token());
    let r = http(&a, "POST", "/webapi/", &[("Authorization", &tok)], b"Cs5\"PinLs\"z");
    assert_eq!(r.text(), "Ra{}z");
    node.stop();
}

#[test]
fn javascript_hprose_client_over_websocket() {
    let node = Node::start();
    let work = tempfile::tempdir().unwrap();
    let f = work.path().join("a.txt");
    std::fs::write(&f, b"over websocket\n").unwrap();
    let cid = node.add(&f);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/interop");
    assert!(
        dir.join("node_modules/hprose").is_dir(),
        "run `npm install --prefix tests/interop` (the test script does)"
    );
    let url = format!("ws://{}/ws/", node.addr());
    let out = Command::new("node").arg(dir.join("hprose_ws.cjs")).arg(&url).arg(&cid).output().unwrap();
    assert!(out.status.success(), "JS hprose client: {}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["nodeid"], node.id.as_str());
    assert_eq!(v["nodeid_any_case"], node.id.as_str());
    assert_eq!(v["stat"]["size"], 15);
    assert_eq!(v["unknown_method"]["error"], "Can't find this function NoSuchMethod().");
    assert!(v["write_refused"]["error"].as_str().unwrap().contains("needs its API token"), "{v}");
    assert_eq!(v["parallel"].as_array().unwrap().len(), 5);
    assert!(v["parallel"].as_array().unwrap().iter().all(|x| x == node.id.as_str()));
    node.stop();
}
