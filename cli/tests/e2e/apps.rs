//! Web content from MiMeis: `/mm/<mid>[:ver]/<path>` and `/entry?aid=…&ver=…` (the first part of
//! the apps issue): content types, version names and caching, and refused paths.

use crate::harness::*;

fn mid_of(out: &str) -> String {
    out.lines().find_map(|l| l.strip_prefix("mid= ")).expect("mid line").trim().to_string()
}

#[test]
fn mm_paths_and_entry_serve_a_mimeis_versions() {
    let n = Node::start();
    let work = tempfile::tempdir().unwrap();
    let (v1, v2) = (work.path().join("v1"), work.path().join("v2"));
    web_tree(&v1, "first");
    web_tree(&v2, "second");
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
