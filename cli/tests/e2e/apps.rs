//! Web content from MiMeis: `/mm/<mid>[:ver]/<path>` and `/entry?aid=…&ver=…` (the first part of
//! the apps issue): content types, version names and caching, and refused paths.

use crate::harness::*;

fn mid_of(out: &str) -> String {
    out.lines().find_map(|l| l.strip_prefix("mid= ")).expect("mid line").trim().to_string()
}

fn tree(dir: &std::path::Path, title: &str) {
    std::fs::create_dir_all(dir.join("js")).unwrap();
    std::fs::write(
        dir.join("index.html"),
        format!("<html><title>{title}</title><script src=\"js/app.js\"></script></html>"),
    )
    .unwrap();
    std::fs::write(dir.join("js/app.js"), format!("console.log('{title}')")).unwrap();
}

#[test]
fn mm_paths_and_entry_serve_a_mimeis_versions() {
    let n = Node::start();
    let work = tempfile::tempdir().unwrap();
    let (v1, v2) = (work.path().join("v1"), work.path().join("v2"));
    tree(&v1, "first");
    tree(&v2, "second");
    let mid = mid_of(&n.ok(&["mimei", "create", "-m", "webapp"]));
    let c1 = cid_from_add(&n.ok(&["ipfs", "add", "-r", v1.to_str().unwrap()]));
    let c2 = cid_from_add(&n.ok(&["ipfs", "add", "-r", v2.to_str().unwrap()]));
    n.ok(&["mimei", "setcid", &mid, &c1]);
    n.ok(&["mimei", "setcid", &mid, &c2]);
    let get = |p: &str| http(&n.addr(), "GET", p, &[], b"");

    // The newest version by default; not cacheable forever, since it may change.
    let r = get(&format!("/mm/{mid}/"));
    assert_eq!(r.status, 200);
    assert!(r.text().contains("<title>second</title>"), "{}", r.text());
    assert!(r.header("Content-Type").unwrap().starts_with("text/html"));
    assert_eq!(r.header("Cache-Control"), Some("no-cache"));
    let r = get(&format!("/mm/{mid}/js/app.js"));
    assert_eq!((r.status, r.text().as_str()), (200, "console.log('second')"));
    assert!(r.header("Content-Type").unwrap().contains("javascript"), "{:?}", r.header("Content-Type"));
    // A numbered version is immutable.
    let r = get(&format!("/mm/{mid}:1/js/app.js"));
    assert_eq!(r.text(), "console.log('first')");
    assert!(r.header("Cache-Control").unwrap().contains("immutable"));
    // Release names a version too.
    n.ok(&["mimei", "release", &mid, "1"]);
    assert!(get(&format!("/mm/{mid}:release/")).text().contains("first"));

    // /entry sends the browser to the app's index, so relative files resolve under /mm/.
    let r = get(&format!("/entry?aid={mid}&ver=1"));
    assert_eq!(r.status, 302);
    assert_eq!(r.header("Location"), Some(format!("/mm/{mid}:1/").as_str()));
    // Without a version: cur (the newest version where there is no working copy).
    assert_eq!(get(&format!("/entry?aid={mid}")).header("Location"), Some(format!("/mm/{mid}:cur/").as_str()));
    assert_eq!(get(&format!("/entry?aid={mid}&ver=latest")).status, 400);
    assert_eq!(get("/entry").status, 400);

    // Refused: traversal, unknown MiMeis and versions, databases.
    assert_eq!(get(&format!("/mm/{mid}/js/%2e%2e/index.html")).status, 400);
    let r = get("/mm/AAAAAAAAAAAAAAAAAAAAAAAAAAA/");
    assert_eq!(r.status, 404);
    assert!(r.text().contains("not held by this node"), "{}", r.text());
    assert_eq!(get(&format!("/mm/{mid}:7/")).status, 404);
    assert_eq!(get("/mm/not-a-mid/").status, 400);
    let db = mid_of(&n.ok(&["mimei", "create", "--db", "-m", "x"]));
    assert_eq!(get(&format!("/mm/{db}/")).status, 400);
    n.stop();
}

/// The domain node's template page in real Chromium: it lists the app's providers, the browser
/// picks one and the app renders from it (no app bytes from the domain node); after the chosen
/// provider is killed, a reload renders from the other one.
#[test]
fn chromium_opens_an_app_through_a_domain_node_and_survives_a_provider() {
    let mut dev = Node::start();
    let boot = peer_addr(&dev);
    let mut b = Node::start_with(std::slice::from_ref(&boot));
    let domain = Node::start_with(std::slice::from_ref(&boot));
    std::thread::sleep(std::time::Duration::from_millis(300));
    let work = tempfile::tempdir().unwrap();
    let app = work.path().join("app");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::write(
        app.join("index.html"),
        "<html><head><title>demo</title></head><body><h1 id=\"app\">Hello from the app</h1><p id=\"node\"></p><script src=\"app.js\"></script></body></html>",
    )
    .unwrap();
    // The app shows which node it runs on: its base is the provider the browser chose.
    std::fs::write(app.join("app.js"), "document.getElementById('node').textContent = new URL(document.baseURI).host")
        .unwrap();
    let mid = mid_of(&dev.ok(&["mimei", "create", "-m", "demo-app"]));
    let cid = cid_from_add(&dev.ok(&["ipfs", "add", "-r", app.to_str().unwrap()]));
    dev.ok(&["mimei", "setcid", &mid, &cid]);
    dev.ok(&["mimei", "publish", &mid]);
    b.ok(&["mimei", "sync", &mid]);
    b.ok(&["mimei", "provide", &mid]);

    // The domain node finds both providers (and the version each holds) through the DHT.
    let t0 = std::time::Instant::now();
    let provs = loop {
        let out = domain.ok(&["mimei", "findprovs", &mid]);
        if out.matches("ver= 1 ").count() == 2 || t0.elapsed() > std::time::Duration::from_secs(15) {
            break out;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    assert_eq!(provs.matches("ver= 1 ").count(), 2, "{provs}");
    let (_, json) = api(&domain.addr(), "MiMeiFindProvs", &format!("[\"{mid}\"]"), None);
    assert!(json.matches("\"http\":\"127.0.0.1:").count() == 2, "providers' HTTP addresses: {json}");

    let artifacts = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/e2e-artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/interop/browser_app.cjs");
    let url = format!("http://{}/tpt/,{mid}/", domain.addr());
    let open = |shot: &str| -> serde_json::Value {
        let out = std::process::Command::new("node").arg(&script).arg(&url).arg(artifacts.join(shot)).output().unwrap();
        assert!(out.status.success(), "browser: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let page = http(&domain.addr(), "GET", &format!("/tpt/,{mid}/"), &[], b"").text();
    assert!(page.matches("127.0.0.1:").count() >= 2, "{page}");
    let first = open("app-first.png");
    assert_eq!(first["app"], "Hello from the app", "{first}");
    assert!(first["templateBytes"].as_u64().unwrap() < 3072, "{first}");
    let chosen = first["node"].as_str().unwrap().to_string();
    assert!(chosen == dev.addr() || chosen == b.addr(), "rendered from {chosen}: {first}");
    // The domain node served the template page only (a browser may also ask it for a favicon).
    let origin = format!("http://{}/", domain.addr());
    for r in first["requests"].as_array().unwrap().iter().filter_map(|r| r.as_str()) {
        if let Some(path) = r.strip_prefix(&origin) {
            assert!(path.starts_with("tpt/") || path == "favicon.ico", "the domain node served {r}");
        }
    }
    assert!(first["requests"].as_array().unwrap().iter().any(|r| r.as_str().unwrap().ends_with("/app.js")), "{first}");

    // The chosen provider dies; a reload renders from the other.
    if chosen == dev.addr() {
        dev.kill9();
    } else {
        b.kill9();
    }
    let second = open("app-after-kill.png");
    assert_eq!(second["app"], "Hello from the app", "{second}");
    assert_ne!(second["node"].as_str().unwrap(), chosen, "{second}");
    domain.stop();
}
