//! Users who are not the node's owner: the seed's app walkthrough with a developer's own passport
//! on two nodes, the node's policy, and what one user cannot do to another's MiMeis.

use crate::harness::*;
use proto_core::dht::delegation::Delegation;
use proto_core::identity::Identity;

fn field(out: &str, name: &str) -> String {
    out.lines().find_map(|l| l.strip_prefix(name)).unwrap_or_else(|| panic!("no {name} in {out}")).trim().to_string()
}

fn err(out: &std::process::Output) -> String {
    assert!(!out.status.success(), "expected a failure: {}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8_lossy(&out.stderr).to_string()
}

/// The seed README's 应用 section, command for command, with a developer passport made by
/// `lpki genkey/gencert/signppt` on the developer's machine: upload, backup, showapp, publish
/// with `-p` on node A (the CLI asks for the mimei service and delegates with the key `genkey`
/// kept, when the node asks), sync on node B, which serves the app; the app id is the
/// developer's, the same on both nodes. A passport whose key is elsewhere gets each step named.
#[test]
fn a_developer_uploads_backs_up_and_publishes_an_app_with_their_own_passport() {
    let b = Node::start();
    let a = Node::start_with(&[peer_addr(&b)]);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let work = tempfile::tempdir().unwrap();
    // The developer's machine: its own leither directory, where `genkey` keeps the key.
    let dev_home = work.path().join("devhome");
    let lei = |args: &[&str]| {
        let out = std::process::Command::new(BIN).args(args).arg("--repo").arg(&dev_home).output().unwrap();
        let (o, e) =
            (String::from_utf8_lossy(&out.stdout).to_string(), String::from_utf8_lossy(&out.stderr).to_string());
        assert!(out.status.success(), "leither {args:?} failed: {e}");
        (o, e)
    };
    let f = |name: &str| work.path().join(name).to_str().unwrap().to_string();
    let (key, cert, ppt) = (f("dev.key"), f("dev.cert"), f("newuserforlogin.ppt"));
    let (made, kept) = lei(&["lpki", "genkey", "-o", &key]);
    assert!(kept.contains("kept in") && kept.contains("keyring"), "{kept}");
    lei(&["lpki", "gencert", "-k", &key, "-o", &cert]);
    lei(&["lpki", "signppt", "-c", &cert, "-m", "CertFor=Self", "-o", &ppt]);
    let dev = lei(&["lpki", "id", &ppt]).0.trim().to_string();
    assert_eq!(field(&made, "id= "), dev);
    let url_a = format!("http://{}/", a.addr());
    let dav = work.path().join("dist/dav");
    web_tree(&dav, "dav v1");
    let dav = dav.to_str().unwrap();

    let (up, said) = lei(&["lapp", "uploadapp", "-i", dav, "-p", &ppt, "-n", &url_a]);
    assert!(said.contains("requested the mimei service"), "the default policy asks for the service: {said}");
    let appid = field(&up, "app id= ");
    assert_eq!(field(&up, "app name= "), "dav", "the app's name is the directory's");
    assert_eq!(field(&up, "developer= "), dev, "the developer is the passport's holder, not the node");
    let (backup, _) = lei(&["lapp", "backup", "-a", "dav", "-p", &ppt, "-n", &url_a]);
    assert_eq!(backup, "backup ver= 1\n");
    let (show, _) = lei(&["lapp", "showapp", "-a", "dav", "-v", "cur", "-p", &ppt, "-n", &url_a]);
    assert!(show.contains(&format!("app id= {appid}")) && show.contains("index.html"), "-a NAME is theirs: {show}");
    // Publishing signs a head for the developer: node A holds no key of theirs, so the CLI
    // delegates head signing to A with the kept key.
    let (publish, said) = lei(&["mimei", "publish", &appid, "-p", &ppt, "-n", &url_a]);
    assert!(said.contains("delegated to node"), "{said}");
    assert!(publish.contains("EOL = 168h") && publish.ends_with("MiMeiPublish ok\n"), "{publish}");

    // A developer whose key this machine does not keep is told each step.
    let (key2, cert2, ppt2) = user_files(&a, work.path(), "erin");
    let erin_home = ["--repo", work.path().join("erinhome").to_str().unwrap()].map(str::to_string);
    let as_erin = |args: &[&str]| std::process::Command::new(BIN).args(args).args(&erin_home).output().unwrap();
    let erin_dav = work.path().join("erin/dav");
    web_tree(&erin_dav, "erin's dav");
    let erin_dav = erin_dav.to_str().unwrap();
    let e = err(&as_erin(&["lapp", "uploadapp", "-i", erin_dav, "-p", &ppt2, "-n", &url_a]));
    assert!(e.contains("has not requested the mimei service") && e.contains("RequestService"), "{e}");
    assert!(a.ok(&["lpki", "reqservice", "-c", &cert2, "-n", &url_a]).contains("RequestService mimei granted= true"));
    let up2 =
        String::from_utf8(as_erin(&["lapp", "uploadapp", "-i", erin_dav, "-p", &ppt2, "-n", &url_a]).stdout).unwrap();
    let erin_app = field(&up2, "app id= ");
    let e = err(&as_erin(&["mimei", "publish", &erin_app, "-p", &ppt2, "-n", &url_a]));
    assert!(e.contains("cannot sign for user") && e.contains("lpki delegate"), "{e}");
    a.ok(&["lpki", "delegate", "-k", &key2, "-n", &url_a]);
    assert!(as_erin(&["mimei", "publish", &erin_app, "-p", &ppt2, "-n", &url_a]).status.success());

    // The developer points a domain of this node at their app; another user can neither take
    // that domain nor point one at an app that is not theirs; the owner sees every domain.
    let (set, _) = lei(&["lapp", "setdomain", "-a", "dav", "-d", "dav.example", "-p", &ppt, "-n", &url_a]);
    assert!(set.starts_with("setdomain ok"), "{set}");
    let e = err(&as_erin(&["lapp", "setdomain", "-a", &erin_app, "-d", "dav.example", "-p", &ppt2, "-n", &url_a]));
    assert!(e.contains(&format!("domain dav.example is held by user {dev}")), "{e}");
    let e = err(&as_erin(&["lapp", "setdomain", "-a", &appid, "-d", "erin.example", "-p", &ppt2, "-n", &url_a]));
    assert!(e.contains("only at their own MiMeis and apps"), "{e}");
    let page = {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(a.addr()).unwrap();
        write!(s, "GET / HTTP/1.1\r\nHost: dav.example\r\nConnection: close\r\n\r\n").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    };
    assert!(page.contains(&format!("A=\"{appid}\"")), "the domain serves the developer's app: {page}");
    let (_, all) = api(&a.addr(), "ShowDomain", "[]", Some(&a.token()));
    assert!(all.contains(&format!("dav.example ,{appid}")), "{all}");

    // Node B verifies the head back to the developer's key (through A's delegation) and syncs.
    let sync = b.ok(&["mimei", "sync", &appid]);
    assert!(sync.ends_with("mimei sync ok\n"), "{sync}");
    let shown = b.ok(&["mimei", "show", &appid]);
    assert!(shown.contains(&format!("Author  : {dev}")), "{shown}");
    let page = http(&b.addr(), "GET", &format!("/mm/{appid}:last/"), &[], b"");
    assert_eq!(page.status, 200);
    assert!(page.text().contains("dav v1"), "{}", page.text());
    // B holds a replica: the developer writes on the node that made the app.
    let url_b = format!("http://{}/", b.addr());
    b.ok(&["lpki", "reqservice", "-c", &cert]);
    let e = err(&b.cli(&["lapp", "uploadapp", "-i", dav, "-p", &ppt, "-n", &url_b]));
    assert!(e.contains("holds a replica"), "{e}");
    // On a third node the same developer's upload has the same app id (it is theirs, not A's).
    let c = Node::start();
    c.ok(&["lpki", "reqservice", "-c", &cert]);
    let again = c.ok(&["lapp", "uploadapp", "-i", dav, "-p", &ppt]);
    assert_eq!(field(&again, "app id= "), appid);
    c.stop();
    b.stop();
    a.stop();
}

/// One user cannot write, back up, publish or delete another's MiMei or app; forged and
/// expired delegations are refused with the reason; the owner keeps every right; a quota hit
/// leaves what was made before it.
#[test]
fn users_cannot_touch_each_others_mimeis_and_the_owner_can() {
    let n = Node::start();
    let work = tempfile::tempdir().unwrap();
    let (dev_key, dev_cert, dev) = user_files(&n, work.path(), "dev");
    let (mallory_key, mallory_cert, mallory) = user_files(&n, work.path(), "mallory");
    n.ok(&["lpki", "reqservice", "-c", &dev_cert]);
    n.ok(&["lpki", "reqservice", "-c", &mallory_cert]);
    let app = work.path().join("app");
    web_tree(&app, "mine");
    let app = app.to_str().unwrap();
    let appid = field(&n.ok(&["lapp", "uploadapp", "-i", app, "-p", &dev]), "app id= ");

    // Mallory, logged in with her own passport, is refused at every door.
    for args in [
        vec!["lapp", "backup", "-a", &appid, "-p", &mallory],
        vec!["lapp", "release", "-a", &appid, "-v", "1", "-p", &mallory],
        vec!["lapp", "delvers", "-a", &appid, "-v", "cur", "-p", &mallory],
        vec!["lapp", "uploadapp", "-i", app, "-a", &appid, "-p", &mallory],
        vec!["mimei", "publish", &appid, "-p", &mallory],
    ] {
        let e = err(&n.cli(&args));
        assert!(e.contains("only the author") || e.contains("can only upload into their own app"), "{args:?}: {e}");
    }
    // A delegation Mallory signs cannot speak for the developer; an expired one is refused.
    let mallory_id = proto_core::ppt::read_key(&std::fs::read_to_string(&mallory_key).unwrap()).unwrap();
    let node_pk = {
        let (_, body) = api(&n.addr(), "GetVar", r#"["nodepk"]"#, None);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        let b = proto_core::multibase::base64url_decode(v["result"].as_str().unwrap()).unwrap();
        <[u8; 32]>::try_from(b).unwrap()
    };
    let dev_user = proto_core::ppt::read_key(&std::fs::read_to_string(&dev_key).unwrap()).unwrap().public_key();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
    let forged = Delegation { user: dev_user, ..Delegation::sign(&mallory_id, &node_pk, now, now + 60_000) };
    let (status, body) = api(&n.addr(), "AddDelegation", &format!("[\"{}\"]", forged.to_text()), None);
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("does not verify with the user's key"), "{body}");
    let expired = Delegation::sign(&mallory_id, &node_pk, now - 120_000, now - 60_000);
    let (status, body) = api(&n.addr(), "AddDelegation", &format!("[\"{}\"]", expired.to_text()), None);
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("expired at"), "{body}");
    let elsewhere = Delegation::sign(&mallory_id, &Identity::from_seed([5; 32]).public_key(), now, now + 60_000);
    let (_, body) = api(&n.addr(), "AddDelegation", &format!("[\"{}\"]", elsewhere.to_text()), None);
    assert!(body.contains("names another node"), "{body}");

    // The owner (the repo's token) may do everything with the developer's app.
    assert_eq!(field(&n.ok(&["lapp", "backup", "-a", &appid]), "backup ver= "), "1");
    assert_eq!(n.ok(&["lapp", "release", "-a", &appid, "-v", "1"]), "release ver= 1\n");

    // A quota of two MiMeis per user: the third is refused, the first two stay.
    n.set_config("users", "max_mimeis_per_user", serde_json::json!(2));
    n.set_config("users", "max_bytes_per_user", serde_json::json!(1000));
    let n = n.restart();
    let sid = {
        let ppt = std::fs::read_to_string(&mallory).unwrap();
        let (_, body) = api(&n.addr(), "LoginWithPPT", &serde_json::json!([ppt]).to_string(), None);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        v["result"]["Sid"].as_str().unwrap().to_string()
    };
    let create = |mark: &str| {
        let args = serde_json::json!([sid, "", "", mark, 2, 0x0727_6705u64]).to_string();
        let r = http(&n.addr(), "POST", "/api/MMCreate", &[], args.as_bytes());
        (r.status, r.text())
    };
    let (s1, m1) = create("one");
    let (s2, _) = create("two");
    assert_eq!((s1, s2), (200, 200), "{m1}");
    let (s3, e3) = create("three");
    assert_eq!(s3, 403, "{e3}");
    assert!(e3.contains("quota exceeded") && e3.contains("max_mimeis_per_user"), "{e3}");
    let first: serde_json::Value = serde_json::from_str(&m1).unwrap();
    let mid = first["result"].as_str().unwrap();
    let (status, info) = api(&n.addr(), "GetVar", &format!("[\"mminfo\", \"{mid}\"]"), None);
    assert_eq!(status, 200);
    assert!(info.contains(&mallory_id.node_id().to_string()), "the user is the MiMei's author: {info}");
    // The same create again is the existing MiMei, not a new one (no quota needed).
    assert_eq!(create("one").0, 200);
    // Her profile: set in her session, shown by GetVar userinfo; the original's other keys are named.
    let info = serde_json::json!([sid, {"name": "Mallory", "email": "m@example.org"}]).to_string();
    assert_eq!(http(&n.addr(), "POST", "/api/SetUserInfo", &[], info.as_bytes()).status, 200);
    let r = http(&n.addr(), "POST", "/api/GetVar", &[], serde_json::json!([sid, "userinfo"]).to_string().as_bytes());
    assert!(
        r.text().contains("\"name\":\"Mallory\"") && r.text().contains(&mallory_id.node_id().to_string()),
        "{}",
        r.text()
    );
    let bad = serde_json::json!([sid, {"newpass": "x"}]).to_string();
    let r = http(&n.addr(), "POST", "/api/SetUserInfo", &[], bad.as_bytes());
    assert!(r.status == 400 && r.text().contains("newpass"), "{}", r.text());
    // Content: as a body only (never a path on the node's disk), within the byte quota.
    let by_path = serde_json::json!([sid, "/etc/passwd"]).to_string();
    let r = http(&n.addr(), "POST", "/api/IpfsAdd", &[], by_path.as_bytes());
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(r.text().contains("not as a path on the node"), "{}", r.text());
    let body = |seed: u64| {
        let ct = [("Content-Type", "application/octet-stream")];
        http(&n.addr(), "POST", &format!("/api/IpfsAdd?sid={sid}"), &ct, &bytes(1500, seed))
    };
    let first = body(1);
    assert_eq!(first.status, 200, "an add that starts under the quota completes: {}", first.text());
    let second = body(2);
    assert_eq!(second.status, 403, "{}", second.text());
    assert!(second.text().contains("max_bytes_per_user"), "{}", second.text());
    let cid = serde_json::from_str::<serde_json::Value>(&first.text()).unwrap()["result"]["cid"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(http(&n.addr(), "GET", &format!("/ipfs/{cid}"), &[], b"").body, bytes(1500, 1), "the first add is kept");
    let (_, mids) = api(&n.addr(), "GetUserMids", &format!("[\"{}\", 0, 10]", mallory_id.node_id()), None);
    assert_eq!(mids.matches("\"Member\"").count(), 2, "the two she made: {mids}");
    assert!(mids.contains(mid), "{mids}");
    n.stop();
}

/// GetVar's names with an empty session id (a guest), over the JSON API and `GET /getvar`.
#[test]
fn getvar_names_answer_guests_and_the_http_helper() {
    let n = Node::start();
    let a = n.addr();
    let get = |args: &str, token: Option<&str>| {
        let (status, body) = api(&a, "GetVar", args, token);
        assert_eq!(status, 200, "{args}: {body}");
        serde_json::from_str::<serde_json::Value>(&body).unwrap()["result"].clone()
    };
    let guest = http(&a, "POST", "/api/GetVar", &[], br#"["", "ver"]"#);
    assert_eq!(guest.text(), format!("{{\"result\":\"{}\"}}", env!("CARGO_PKG_VERSION")), "an empty sid is a guest");
    let text = http(&a, "GET", "/getvar?name=ver&nojson", &[], b"");
    assert_eq!((text.status, text.text()), (200, env!("CARGO_PKG_VERSION").to_string()));
    let by_http = http(&a, "GET", &format!("/getvar?name=mid&arg0={}&arg1=&arg2=&arg3=m&arg4=2", n.id), &[], b"");
    assert_eq!(by_http.status, 200);

    let cpus = get(r#"["cpu"]"#, None);
    let cpus = cpus.as_array().unwrap();
    let online = std::thread::available_parallelism().unwrap().get();
    assert!(cpus.len() >= online, "one figure per CPU: {cpus:?}");
    assert!(cpus.iter().all(|c| (0.0..=100.0).contains(&c.as_f64().unwrap())), "{cpus:?}");
    let mem = get(r#"["virtualmemory"]"#, None);
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap();
    let total_kib: u64 = meminfo.lines().next().unwrap().split_whitespace().nth(1).unwrap().parse().unwrap();
    assert_eq!(mem["total"], total_kib * 1024);
    let disk = get(r#"["disk"]"#, None);
    assert!(disk["total"].as_u64().unwrap() > 0 && disk["usedPercent"].as_f64().unwrap() <= 100.0, "{disk}");
    assert!(get(r#"["peerid"]"#, None).as_str().unwrap().starts_with("12D3KooW"));
    assert_eq!(get(r#"["nodeinfo"]"#, None)["id"], n.id.as_str());
    assert!(get(r#"["systemvars"]"#, None)["http_addr"].is_string());
    assert_eq!(get(r#"["userinfo"]"#, None), "", "a guest has no user info");

    // mid(uid, aid, ext, mark, tp) is what MMCreate makes of the same fields.
    let mid = get(&format!(r#"["mid", "{}", "", "", "m", "2"]"#, n.id), None);
    let (_, made) = api(&a, "MMCreate", r#"["", "", "m", 2, 120022789]"#, Some(&n.token()));
    assert!(made.contains(mid.as_str().unwrap()), "{made} vs {mid}");
    assert_eq!(by_http.text(), format!("\"{}\"", mid.as_str().unwrap()));
    let mid = mid.as_str().unwrap();
    api(&a, "MMBackup", &format!(r#"["{mid}", ""]"#), Some(&n.token()));
    assert_eq!(get(&format!(r#"["mmvernamed", "{mid}", "last"]"#), None), 1);
    assert_eq!(get(&format!(r#"["mimeiversions", "{mid}"]"#), None)["last"], 1);

    // The owner's passport only for the owner: refused to a guest, and it logs in as the node.
    let (status, body) = api(&a, "GetVar", r#"["ppt", "30"]"#, None);
    assert_eq!(status, 401, "{body}");
    assert_eq!(http(&a, "GET", "/getvar?name=ppt&arg0=30&nojson", &[], b"").status, 401);
    let ppt = get(r#"["ppt", "30"]"#, Some(&n.token()));
    let (_, login) = api(&a, "LoginWithPPT", &serde_json::json!([ppt]).to_string(), None);
    assert!(login.contains(&format!("\"Uid\":\"{}\"", n.id)), "{login}");
    n.stop();
}
