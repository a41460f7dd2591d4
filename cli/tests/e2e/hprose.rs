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
    let body = b"Cs6\"GetVar\"a2{es6\"nodeid\"}Cs6\"nosuch\"Cs6\"getvar\"a2{eu!}z";
    let r = http(&a, "POST", "/webapi/", &[("Origin", "http://app.example")], body);
    assert_eq!(r.status, 200);
    let want = format!("Rs27\"{}\"Es34\"Can't find this function nosuch().\"Rez", node.id);
    assert_eq!(r.text(), want);
    // Any page may call (nothing ambient authorises a call), never with credentials.
    assert_eq!(r.header("Access-Control-Allow-Origin"), Some("*"));
    assert_eq!(r.header("Access-Control-Allow-Credentials"), None);
    // By-reference arguments come back after the result.
    let r = http(&a, "POST", "/webapi/", &[], b"Cs6\"GetVar\"a2{es3\"ver\"}tz");
    assert!(r.text().starts_with("Rs5\"") && r.text().ends_with("\"Aa2{es3\"ver\"}z"), "{}", r.text());
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

#[test]
fn sessions_passports_and_the_login_rate_limit() {
    use proto_core::identity::Identity;
    use proto_core::ppt;
    let node = Node::start();
    let work = tempfile::tempdir().unwrap();
    let f = work.path().join("a.txt");
    std::fs::write(&f, b"pinned\n").unwrap();
    let cid = node.add(&f);
    let p = |n: &str| work.path().join(n).to_str().unwrap().to_string();
    // The owner's passport, made with the CLI from the node's own key.
    let key = node.repo().join("identity.key");
    node.ok(&["lpki", "gencert", "-k", key.to_str().unwrap(), "-o", &p("owner.cert")]);
    node.ok(&["lpki", "signppt", "-c", &p("owner.cert"), "-m", "CertFor=Self", "-o", &p("owner.ppt")]);
    // Another user's, a tampered one, an expired one, and one that is not for login.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
    let other = Identity::from_seed([42; 32]);
    let cert = ppt::make_cert(&other, &other, &Default::default()).unwrap();
    let selfp = ppt::parse_pairs("CertFor=Self").unwrap();
    std::fs::write(p("other.ppt"), ppt::sign_ppt(&cert, &selfp, 60, now).unwrap().to_string()).unwrap();
    std::fs::write(
        p("tampered.ppt"),
        ppt::sign_ppt(&cert, &selfp, 60, now).unwrap().to_string().replace("CertFor=Self", "CertFor=Self;X=1"),
    )
    .unwrap();
    std::fs::write(p("expired.ppt"), ppt::sign_ppt(&cert, &selfp, 60, now - 7_200_000).unwrap().to_string()).unwrap();
    std::fs::write(
        p("gift.ppt"),
        ppt::sign_ppt(&cert, &ppt::parse_pairs("CertFor=Gift").unwrap(), 60, now).unwrap().to_string(),
    )
    .unwrap();

    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/interop/hprose_session.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(format!("{}/webapi/", node.api))
        .arg(&cid)
        .args(["owner.ppt", "other.ppt", "tampered.ppt", "expired.ppt", "gift.ppt"].map(p))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let err = |k: &str| v[k]["error"].as_str().unwrap_or_default().to_string();
    let gsid = v["guest"]["Sid"].as_str().unwrap();
    assert!(gsid.len() == 40 && gsid.bytes().all(|b| b.is_ascii_hexdigit()), "{v}");
    assert_eq!(v["guest_getvar"], node.id.as_str(), "a session id first is taken off");
    assert!(err("guest_write").contains("needs its API token, or the owner's session"), "{v}");
    assert_eq!(v["owner"]["Uid"], node.id.as_str());
    assert_eq!(v["owner_pins"][0], cid.as_str());
    assert_eq!(v["owner_write"]["cid"], cid.as_str(), "the owner may change the node: {v}");
    assert_eq!(v["other"]["Uid"], other.node_id().to_string());
    assert!(err("other_write").contains("needs"), "another user may not: {v}");
    assert!(err("tampered").contains("signature does not verify"), "{v}");
    assert!(err("expired").contains("expired"), "{v}");
    assert!(err("gift").contains("CertFor=Self"), "{v}");
    assert_eq!(v["logout"], true);
    assert!(err("after_logout").contains("unknown or expired session"), "{v}");
    assert_eq!(err("flood"), "login rate limit exceeded", "{v}");
    // Accounts: argon2id-hashed passwords; one message for a wrong name or a wrong password.
    let uid = v["register"].as_str().unwrap();
    assert_eq!(uid.len(), 27, "{v}");
    assert!(err("register_again").contains("is taken"), "{v}");
    assert!(err("register_empty_pass").contains("empty password"), "{v}");
    assert_eq!(v["login_name"]["Uid"], uid);
    assert_eq!(v["alice_userid"], uid, "GetVar(sid, \"userid\") is the session's user");
    assert_eq!(v["guest_userid"], "");
    assert_eq!(err("login_name_bad"), "wrong user name or password");
    assert_eq!(err("login_name_unknown"), "wrong user name or password");
    assert_eq!(node.ok(&["ipfs", "pin", "ls"]), "", "the owner's PinRm happened; nothing else changed");
    node.stop();
}

/// A user who is not the node's owner: key, certificate, passport, the mimei service, and the
/// key handed to the node over loopback (so it signs the user's heads). Returns the passport.
fn user_passport(node: &Node, dir: &std::path::Path) -> String {
    let p = |n: &str| dir.join(n).to_str().unwrap().to_string();
    node.ok(&["lpki", "genkey", "-o", &p("user.key")]);
    node.ok(&["lpki", "gencert", "-k", &p("user.key"), "-o", &p("user.cert")]);
    node.ok(&["lpki", "signppt", "-c", &p("user.cert"), "-m", "CertFor=Self", "-o", &p("user.ppt")]);
    node.ok(&["lpki", "reqservice", "-c", &p("user.cert")]);
    node.ok(&["lpki", "addkey", &p("user.key")]);
    p("user.ppt")
}

/// The original's scenarios (leither-facts §9) through the real Python hprose client, as a user
/// who is not the node's owner, logged in with their own passport: databases with table values,
/// hashes, zsets with negative scores, guest access, backups and `last`, idempotent create,
/// transactions, publish + GetVar, version deletion, refused writes.
#[test]
fn python_hprose_client_runs_the_originals_scenarios() {
    // Publishing needs a network: one more node to bootstrap from.
    let peer = Node::start();
    let node = Node::start_with(&[peer_addr(&peer)]);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let work = tempfile::tempdir().unwrap();
    let user = user_passport(&node, work.path());
    assert_ne!(node.ok(&["lpki", "id", &user]).trim(), node.id, "not the owner");
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/interop/hprose_scenarios.py");
    let out = Command::new("python3").arg(script).arg(format!("{}/webapi/", node.api)).arg(&user).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    for s in [
        "key-auth-login",
        "mimei.lua",
        "hset.lua",
        "zset.lua",
        "guest.lua",
        "backup.lua",
        "backupReadDb.lua",
        "transactions",
        "go examples",
        "dht.lua",
        "delver.lua",
    ] {
        assert!(text.contains(&format!("ok {s}\n")), "{s} missing:\n{text}");
    }
    assert!(text.ends_with("all ok\n"), "{text}");
    node.stop();
    peer.stop();
}

/// The original's file scenarios (the Go examples `files` and `mfile`, OpenByUrl.lua) through
/// the real Python hprose client, as the owner with `GetLocalPassport`'s passport: temp files,
/// the node's file system, `MMOpenUrl`'s schemes, a file MiMei opened by `MMOpen`, a guest.
#[test]
fn python_hprose_client_runs_the_file_scenarios() {
    let node = Node::start();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/interop/hprose_files.py");
    let out = Command::new("python3").arg(script).arg(format!("{}/webapi/", node.api)).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(text, "ok go files\nok openbyurl.lua\nok writable cur\nok fang2.lua\nall ok\n");
    node.stop();
}

/// The same scenarios through the JavaScript hprose client over /ws/.
#[test]
fn javascript_hprose_client_runs_the_originals_scenarios_over_websocket() {
    let node = Node::start();
    let work = tempfile::tempdir().unwrap();
    let user = user_passport(&node, work.path());
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/interop");
    let url = format!("ws://{}/ws/", node.addr());
    let out = Command::new("node").arg(dir.join("hprose_scenarios_ws.cjs")).arg(&url).arg(&user).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    for s in
        ["key-auth-login", "mimei.lua", "hset.lua", "zset.lua", "guest.lua", "backup.lua", "transactions", "delver.lua"]
    {
        assert!(text.contains(&format!("ok {s}\n")), "{s} missing:\n{text}");
    }
    assert!(text.ends_with("all ok\n"), "{text}");
    node.stop();
}
