//! The apps issue end to end in real Chromium: four nodes — a developer node uploads the sample
//! app (examples/visits: shows its node, counts visits in a database MiMei over `/ws/` with the
//! hprose-html5 client), backs it up and publishes it; two nodes provide it; a fourth is the
//! domain node. The browser opens the domain node's template page, the app renders from a
//! provider and counts the visit; the chosen provider is killed; a reload renders from another.

use crate::harness::*;
use std::path::Path;
use std::time::{Duration, Instant};

fn field(out: &str, name: &str) -> String {
    out.lines().find_map(|l| l.strip_prefix(name)).unwrap_or_else(|| panic!("no {name} in {out}")).trim().to_string()
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !f() {
        assert!(t0.elapsed() < Duration::from_secs(20), "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn chromium_runs_the_visits_app_through_a_domain_node_and_survives_a_provider() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut dev = Node::start();
    let boot = peer_addr(&dev);
    let mut p1 = Node::start_with(std::slice::from_ref(&boot));
    let mut p2 = Node::start_with(std::slice::from_ref(&boot));
    let domain = Node::start_with(std::slice::from_ref(&boot));
    std::thread::sleep(Duration::from_millis(300));

    // The visits database: guests may read and write it (on its author's node; replicas read).
    let db = field(&dev.ok(&["mimei", "create", "--db", "-m", "visits"]), "mid= ");
    let (st, body) =
        api(&dev.addr(), "MMSetRight", &format!("[\"{db}\", \"\", {}]", 0x0727_6706u64), Some(&dev.token()));
    assert_eq!(st, 200, "{body}");
    dev.ok(&["mimei", "publish", &db]);

    // The app: the sample's files, its hprose client from npm, and the database it counts in.
    let work = tempfile::tempdir().unwrap();
    let app = work.path().join("visits");
    std::fs::create_dir_all(&app).unwrap();
    for f in ["index.html", "app.js"] {
        std::fs::copy(root.join("examples/visits").join(f), app.join(f)).unwrap();
    }
    std::fs::copy(
        root.join("tests/interop/node_modules/hprose-html5/dist/hprose-html5.min.js"),
        app.join("hprose-html5.min.js"),
    )
    .expect("npm install in tests/interop (scripts/test.sh does it)");
    std::fs::write(app.join("config.js"), format!("var VISITS_DB = \"{db}\";\n")).unwrap();
    let keys = work.path();
    let k = |f: &str| keys.join(f).to_str().unwrap().to_string();
    dev.ok(&["lpki", "genkey", "-o", &k("dev.key")]);
    dev.ok(&["lpki", "gencert", "-k", &k("dev.key"), "-o", &k("dev.cert")]);
    dev.ok(&["lpki", "signppt", "-c", &k("dev.cert"), "-m", "CertFor=Self,AppName=visits", "-o", &k("dev.ppt")]);
    dev.ok(&["lpki", "reqservice", "-c", &k("dev.cert")]);
    // The node signs the developer's heads with the key handed to it over loopback.
    assert!(dev.ok(&["lpki", "addkey", &k("dev.key")]).starts_with("addkey ok"));
    let appid = field(&dev.ok(&["lapp", "uploadapp", "-i", app.to_str().unwrap(), "-p", &k("dev.ppt")]), "app id= ");
    assert_eq!(dev.ok(&["lapp", "backup", "-a", &appid]), "backup ver= 1\n");
    dev.ok(&["mimei", "publish", &appid]);
    for p in [&p1, &p2] {
        for mid in [&appid, &db] {
            p.ok(&["mimei", "sync", mid]);
            p.ok(&["mimei", "provide", mid]);
        }
    }

    // The domain node finds the providers (and the version each holds) through the DHT.
    let mut provs = String::new();
    wait_for("three providers of version 1", || {
        provs = domain.ok(&["mimei", "findprovs", &appid]);
        provs.matches("ver= 1 ").count() >= 3
    });
    let page = http(&domain.addr(), "GET", &format!("/tpt/,{appid}/"), &[], b"").text();
    for n in [&dev, &p1, &p2] {
        assert!(page.contains(&format!("\"{}\"", n.addr())), "{} missing from the template: {page}", n.addr());
    }

    let artifacts = root.join("target/e2e-artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let script = root.join("tests/interop/browser_app.cjs");
    let url = format!("http://{}/tpt/,{appid}/", domain.addr());
    let open = |shot: &str| -> serde_json::Value {
        let out = std::process::Command::new("node").arg(&script).arg(&url).arg(artifacts.join(shot)).output().unwrap();
        assert!(out.status.success(), "browser: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let visits_at = |n: &Node| n.ok(&["mimei", "db", &db, "GET", "visits"]);

    let first = open("visits-first.png");
    assert_eq!(first["app"], "Visits", "{first}");
    assert_eq!(first["visits"], "1", "{first}");
    assert!(visits_at(&dev).contains('1'), "the author's database counted the visit");
    assert!(first["templateBytes"].as_u64().unwrap() < 3072, "{first}");
    let chosen = first["node"].as_str().unwrap().to_string();
    let nodes = [&dev, &p1, &p2];
    let chosen_node = nodes.iter().find(|n| n.addr() == chosen).unwrap_or_else(|| panic!("rendered from {chosen}"));
    // No app bytes from the domain node: it served the template page only (and maybe a favicon).
    let origin = format!("http://{}/", domain.addr());
    let requests: Vec<&str> = first["requests"].as_array().unwrap().iter().filter_map(|r| r.as_str()).collect();
    for r in &requests {
        if let Some(path) = r.strip_prefix(&origin) {
            assert!(path.starts_with("tpt/") || path == "favicon.ico", "the domain node served {r}");
        }
    }
    for f in ["app.js", "config.js", "hprose-html5.min.js"] {
        assert!(requests.iter().any(|r| r.starts_with(&format!("http://{chosen}/")) && r.ends_with(f)), "{f}: {first}");
    }
    // The app could not learn its node's API token, nor use the node's write methods.
    let token = chosen_node.token();
    for p in first["probes"].as_array().unwrap() {
        let p = p.as_str().unwrap();
        assert!(!p.contains(&token), "the app read the token: {p}");
        if p.starts_with("MMCreate") || p.starts_with("Shutdown") {
            assert!(p.contains("refused") && p.contains("needs its API token"), "{p}");
        }
    }
    assert!(first["probes"].as_array().unwrap().len() >= 8, "{first}");

    // The chosen provider dies; a reload renders from another and still counts.
    let author_killed = chosen == dev.addr();
    if author_killed {
        dev.kill9();
    } else if chosen == p1.addr() {
        p1.kill9();
    } else {
        p2.kill9();
    }
    let second = open("visits-after-kill.png");
    assert_eq!(second["app"], "Visits", "{second}");
    assert_ne!(second["node"].as_str().unwrap(), chosen, "{second}");
    if author_killed {
        // The database's author is gone: the replica shows the count it holds, read-only.
        assert_eq!(second["visits"], "1 (read-only: the author is away)", "{second}");
    } else {
        // A replica sends the write to the author's node.
        assert_eq!(second["visits"], "2", "{second}");
        assert!(visits_at(&dev).contains('2'));
    }
    domain.stop();
}
