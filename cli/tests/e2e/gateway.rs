//! The path gateway over real HTTP.

use crate::harness::*;
use proto_core::cid::Cid;

fn setup() -> (Node, tempfile::TempDir) {
    (Node::start(), tempfile::tempdir().unwrap())
}

#[test]
fn file_headers_etag_head_and_ranges() {
    let (node, work) = setup();
    let data = bytes(600_000, 1); // three leaves: 262144 + 262144 + 75712
    let f = work.path().join("data.bin");
    std::fs::write(&f, &data).unwrap();
    let cid = node.add(&f);
    let path = format!("/ipfs/{cid}");
    let r = http(&node.addr(), "GET", &path, &[], b"");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, data);
    assert_eq!(r.header("Cache-Control"), Some("public, max-age=29030400, immutable"));
    let etag = format!("\"{cid}\"");
    assert_eq!(r.header("Etag"), Some(etag.as_str()));
    assert_eq!(r.header("X-Ipfs-Path"), Some(path.as_str()));
    assert_eq!(r.header("Accept-Ranges"), Some("bytes"));
    assert_eq!(r.header("Content-Type"), Some("application/octet-stream"));

    let r = http(&node.addr(), "GET", &path, &[("If-None-Match", &etag)], b"");
    assert_eq!((r.status, r.body.len()), (304, 0));

    let r = http(&node.addr(), "HEAD", &path, &[], b"");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Content-Length"), Some("600000"));
    assert!(r.body.is_empty());

    for (spec, a, b) in [
        ("bytes=262143-262144", 262_143usize, 262_145usize),
        ("bytes=262144-262144", 262_144, 262_145),
        ("bytes=524287-524290", 524_287, 524_291),
        ("bytes=0-0", 0, 1),
        ("bytes=-10", 599_990, 600_000),
        ("bytes=599000-", 599_000, 600_000),
    ] {
        let r = http(&node.addr(), "GET", &path, &[("Range", spec)], b"");
        assert_eq!(r.status, 206, "{spec}");
        assert_eq!(r.body, &data[a..b], "{spec}");
        assert_eq!(r.header("Content-Range"), Some(format!("bytes {a}-{}/600000", b - 1).as_str()), "{spec}");
    }
    let r = http(&node.addr(), "GET", &path, &[("Range", "bytes=600000-")], b"");
    assert_eq!(r.status, 416);
    assert_eq!(r.header("Content-Range"), Some("bytes */600000"));
    node.stop();
}

#[test]
fn directories_redirect_index_and_listing() {
    let (node, work) = setup();
    let site = work.path().join("site");
    std::fs::create_dir_all(site.join("docs")).unwrap();
    std::fs::write(site.join("index.html"), b"<h1>home</h1>").unwrap();
    std::fs::write(site.join("docs/a b.txt"), b"spaced").unwrap();
    std::fs::write(site.join("docs/style.css"), b"p{}").unwrap();
    let root = cid_from_add(&node.ok(&["ipfs", "add", "-r", site.to_str().unwrap()]));

    let r = http(&node.addr(), "GET", &format!("/ipfs/{root}"), &[], b"");
    assert_eq!(r.status, 301);
    assert_eq!(r.header("Location"), Some(format!("/ipfs/{root}/").as_str()));
    let r = http(&node.addr(), "GET", &format!("/ipfs/{root}/"), &[], b"");
    assert_eq!((r.status, r.text()), (200, "<h1>home</h1>".to_string()));
    assert_eq!(r.header("Content-Type"), Some("text/html; charset=utf-8"));

    let r = http(&node.addr(), "GET", &format!("/ipfs/{root}/docs/"), &[], b"");
    assert_eq!(r.status, 200);
    let html = r.text();
    assert!(html.contains("href=\"a%20b.txt\"") && html.contains(">style.css<"), "{html}");
    let etag = r.header("Etag").unwrap().to_string();
    assert!(etag.starts_with("\"DirIndex-"));
    assert_eq!(http(&node.addr(), "GET", &format!("/ipfs/{root}/docs/"), &[("If-None-Match", &etag)], b"").status, 304);

    let r = http(&node.addr(), "GET", &format!("/ipfs/{root}/docs/a%20b.txt"), &[], b"");
    assert_eq!((r.status, r.text()), (200, "spaced".to_string()));
    let roots = r.header("X-Ipfs-Roots").unwrap();
    assert_eq!(roots.split(',').count(), 3, "{roots}");
    let r = http(&node.addr(), "GET", &format!("/ipfs/{root}/docs/style.css"), &[], b"");
    assert_eq!(r.header("Content-Type"), Some("text/css; charset=utf-8"));
    let r = http(&node.addr(), "GET", &format!("/ipfs/{root}/nope"), &[], b"");
    assert_eq!(r.status, 404);
    assert!(r.text().contains("no link named \"nope\""), "{}", r.text());
    node.stop();
}

#[test]
fn raw_and_car_verify_by_rehashing() {
    let (node, work) = setup();
    let data = bytes(700_000, 2);
    let f = work.path().join("d");
    std::fs::write(&f, &data).unwrap();
    let cid = node.add(&f);
    let root = Cid::parse(&cid).unwrap();

    let r = http(&node.addr(), "GET", &format!("/ipfs/{cid}?format=raw"), &[], b"");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Content-Type"), Some("application/vnd.ipld.raw"));
    assert!(root.hash().verifies(&r.body), "raw block hashes to its CID");

    let r = http(&node.addr(), "GET", &format!("/ipfs/{cid}"), &[("Accept", "application/vnd.ipld.car")], b"");
    assert_eq!(r.status, 200);
    assert!(r.header("Content-Type").unwrap().starts_with("application/vnd.ipld.car"));
    // Parse the CAR: header, then sections; every block must hash to its CID.
    let car = &r.body;
    let (hlen, n) = proto_core::varint::read(car).unwrap();
    let header = &car[n..n + hlen as usize];
    assert!(header.windows(root.to_bytes().len()).any(|w| w == root.to_bytes()), "root in header");
    let mut pos = n + hlen as usize;
    let mut blocks = Vec::new();
    while pos < car.len() {
        let (len, n) = proto_core::varint::read(&car[pos..]).unwrap();
        let sec = &car[pos + n..pos + n + len as usize];
        let (c, used) = Cid::read_bytes(sec).unwrap();
        assert!(c.hash().verifies(&sec[used..]), "block {c} verifies");
        blocks.push(c);
        pos += n + len as usize;
    }
    assert_eq!(blocks.len(), 4, "root + 3 leaves");
    assert_eq!(blocks[0], root, "root first (pre-order)");
    node.stop();
}

#[test]
fn bad_and_unknown_cids() {
    let node = Node::start();
    let r = http(&node.addr(), "GET", "/ipfs/not-a-cid", &[], b"");
    assert_eq!(r.status, 400);
    assert!(r.text().starts_with("invalid cid"), "{}", r.text());
    let r = http(&node.addr(), "GET", "/ipfs/QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQa", &[], b"");
    assert_eq!(r.status, 404, "{}", r.text());
    assert!(r.text().contains("not available"));
    let r = http(&node.addr(), "GET", "/ipfs/QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn?format=zip", &[], b"");
    assert_eq!(r.status, 400);
    node.stop();
}
