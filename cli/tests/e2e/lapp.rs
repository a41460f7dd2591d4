//! `lapp`: apps uploaded as tar archives into their working copy (`cur`), backed up into numbered
//! versions, released, restored and deleted — and what `/entry` serves after each step; passports
//! and other developers' apps; archives that try to leave the tree.

use crate::harness::*;

fn field(out: &str, name: &str) -> String {
    out.lines().find_map(|l| l.strip_prefix(name)).unwrap_or_else(|| panic!("no {name} in {out}")).trim().to_string()
}

struct Dev<'a> {
    n: &'a Node,
    dir: std::path::PathBuf,
}

impl Dev<'_> {
    fn p(&self, f: &str) -> String {
        self.dir.join(f).to_str().unwrap().to_string()
    }
    /// A developer key, certificate and passport with the given pairs.
    fn passport(&self, who: &str, pairs: &str) -> String {
        let n = self.n;
        n.ok(&["lpki", "genkey", "-o", &self.p(&format!("{who}.key"))]);
        n.ok(&["lpki", "gencert", "-k", &self.p(&format!("{who}.key")), "-o", &self.p(&format!("{who}.cert"))]);
        n.ok(&[
            "lpki",
            "signppt",
            "-c",
            &self.p(&format!("{who}.cert")),
            "-m",
            pairs,
            "-o",
            &self.p(&format!("{who}.ppt")),
        ]);
        // The node's default policy: a user asks for the mimei service before making MiMeis.
        n.ok(&["lpki", "reqservice", "-c", &self.p(&format!("{who}.cert"))]);
        self.p(&format!("{who}.ppt"))
    }
}

/// What `/entry?…` leads to: the page at its Location.
fn entry_page(n: &Node, query: &str) -> (u16, String) {
    let r = http(&n.addr(), "GET", &format!("/entry?{query}"), &[], b"");
    if r.status != 302 {
        return (r.status, r.text());
    }
    let page = http(&n.addr(), "GET", r.header("Location").unwrap(), &[], b"");
    (page.status, page.text())
}

#[test]
fn lapp_versions_drive_what_entry_serves() {
    let n = Node::start();
    let work = tempfile::tempdir().unwrap();
    let d = Dev { n: &n, dir: work.path().to_path_buf() };
    let (v1, v2) = (work.path().join("v1"), work.path().join("v2"));
    web_tree(&v1, "first");
    web_tree(&v2, "second");
    let dev = d.passport("dev", "CertFor=Self,AppName=demo");
    let out = n.ok(&["lapp", "uploadapp", "-i", v1.to_str().unwrap(), "-p", &dev]);
    let appid = field(&out, "app id= ");
    let developer = field(&out, "developer= ");
    assert!(out.contains("ver= cur\n") && out.contains(&format!("/entry?aid={appid}&ver=cur\n")), "{out}");
    // The archive's tree is the same UnixFS directory `ipfs add -r` makes of the directory.
    assert_eq!(field(&out, "cid= "), cid_from_add(&n.ok(&["ipfs", "add", "-r", v1.to_str().unwrap()])));
    // The upload is the working copy only: no numbered version yet.
    assert!(entry_page(&n, &format!("aid={appid}")).1.contains("first"));
    assert_eq!(entry_page(&n, &format!("aid={appid}&ver=last")).0, 404);
    assert_eq!(n.ok(&["lapp", "backup", "-a", &appid]), "backup ver= 1\n");
    assert!(entry_page(&n, &format!("aid={appid}&ver=last")).1.contains("first"));

    n.ok(&["lapp", "uploadapp", "-i", v2.to_str().unwrap(), "-p", &dev]);
    assert!(entry_page(&n, &format!("aid={appid}&ver=cur")).1.contains("second"));
    assert!(entry_page(&n, &format!("aid={appid}&ver=last")).1.contains("first"), "uploads do not touch versions");
    assert_eq!(n.ok(&["lapp", "backup", "-a", &appid]), "backup ver= 2\n");
    // The app by its developer and name.
    assert!(entry_page(&n, &format!("author={developer}&app=demo&ver=2")).1.contains("second"));
    let (status, text) = entry_page(&n, &format!("author={developer}&app=nothing"));
    assert!(status == 404 && text.contains("no app \"nothing\""), "{status} {text}");

    // Release 1, restore it into cur; the released version cannot be deleted, the other can.
    assert_eq!(n.ok(&["lapp", "release", "-a", &appid, "-v", "1"]), "release ver= 1\n");
    assert!(entry_page(&n, &format!("aid={appid}&ver=release")).1.contains("first"));
    assert_eq!(n.ok(&["lapp", "restore", "-a", &appid, "-v", "release"]), "restore ver= 1 into cur\n");
    assert!(entry_page(&n, &format!("aid={appid}&ver=cur")).1.contains("first"));
    let e = n.cli(&["lapp", "delvers", "-a", &appid, "-v", "1"]);
    assert!(String::from_utf8_lossy(&e.stderr).contains("released and cannot be deleted"));
    assert!(entry_page(&n, &format!("aid={appid}&ver=1")).1.contains("first"));
    n.ok(&["lapp", "delvers", "-a", &appid, "-v", "2"]);
    assert_eq!(entry_page(&n, &format!("aid={appid}&ver=2")).0, 404);
    assert!(entry_page(&n, &format!("aid={appid}&ver=last")).1.contains("first"));
    let e = n.cli(&["lapp", "restore", "-a", &appid, "-v", "2"]);
    assert!(String::from_utf8_lossy(&e.stderr).contains("no version 2"), "{}", String::from_utf8_lossy(&e.stderr));
    let show = n.ok(&["lapp", "showapp", "-a", &appid]);
    assert!(show.contains("release  1") && show.contains("Name    : demo\n"), "{show}");
    assert!(show.contains(&format!("Author  : {developer}\n")), "{show}");
    // One version's files; every app held here.
    let one = n.ok(&["lapp", "showapp", "-a", &appid, "-v", "cur"]);
    assert!(
        one.starts_with(&format!("app id= {appid}\n")) && one.contains("ver= \"cur\"") && one.contains(" index.html\n"),
        "{one}"
    );
    assert!(one.contains(" js\n") && one.contains(&format!("/entry?aid={appid}&ver=cur")), "{one}");
    let all = n.ok(&["lapp", "showapp"]);
    assert!(all.contains(&appid) && all.contains(&format!("developer= {developer}")), "{all}");

    // A MiMei with a default app opens in it: /tpt/<mid>/ is the template page of that app.
    let doc = field(&n.ok(&["mimei", "create", "-a", &appid, "-m", "doc"]), "mid= ");
    let page = http(&n.addr(), "GET", &format!("/tpt/{doc}/"), &[], b"").text();
    assert!(page.contains(&format!("A=\"{appid}\"")) && page.contains(&format!("M=\"{doc}\"")), "{page}");
    assert!(page.contains(&format!("\"{}\"", n.addr())), "the node holding the app lists itself: {page}");
    let plain = field(&n.ok(&["mimei", "create", "-m", "plain"]), "mid= ");
    let r = http(&n.addr(), "GET", &format!("/tpt/{plain}/"), &[], b"");
    assert!(r.status == 404 && r.text().contains("no default app"), "{}", r.text());

    // A host name mapped to the app gets its template page at `/`; other names get the node.
    assert!(n.ok(&["lapp", "setdomain", "-a", &appid, "-d", "Demo.Example"]).starts_with("setdomain ok"));
    let root_as = |host: &str| {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(n.addr()).unwrap();
        write!(s, "GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    };
    let page = root_as("demo.example:80");
    assert!(page.contains(&format!("A=\"{appid}\"")) && page.contains("const P="), "{page}");
    assert!(root_as("other.example").ends_with("leither node\n"));
    assert!(!n.cli(&["lapp", "setdomain", "-a", &appid, "-d", "bad host!"]).status.success());
    n.stop();
}

#[test]
fn lapp_refuses_bad_passports_and_other_developers_apps() {
    let n = Node::start();
    let work = tempfile::tempdir().unwrap();
    let d = Dev { n: &n, dir: work.path().to_path_buf() };
    let v1 = work.path().join("v1");
    web_tree(&v1, "first");
    let dev = d.passport("dev", "CertFor=Self,AppName=demo");
    let appid = field(&n.ok(&["lapp", "uploadapp", "-i", v1.to_str().unwrap(), "-p", &dev]), "app id= ");
    n.ok(&["lapp", "backup", "-a", &appid]);
    // Another developer's "demo" is another app; asking to upload into the first is refused.
    let other = d.passport("other", "CertFor=Self,AppName=demo");
    let e = n.cli(&["lapp", "uploadapp", "-i", v1.to_str().unwrap(), "-p", &other, "-a", &appid]);
    let err = String::from_utf8_lossy(&e.stderr);
    assert!(!e.status.success() && err.contains("only upload into their own app"), "{err}");
    let other_id = field(&n.ok(&["lapp", "uploadapp", "-i", v1.to_str().unwrap(), "-p", &other]), "app id= ");
    assert_ne!(other_id, appid);
    // Its own id is fine.
    n.ok(&["lapp", "uploadapp", "-i", v1.to_str().unwrap(), "-p", &dev, "-a", &appid]);
    // A passport without AppName names the app after its directory; a tampered one is refused.
    let plain = d.passport("plain", "CertFor=Self");
    let up = n.ok(&["lapp", "uploadapp", "-i", v1.to_str().unwrap(), "-p", &plain]);
    assert_eq!(field(&up, "app name= "), "v1", "{up}");
    std::fs::write(d.p("bad.ppt"), std::fs::read_to_string(&dev).unwrap().replace("AppName=demo", "AppName=evil"))
        .unwrap();
    let e = n.cli(&["lapp", "uploadapp", "-i", v1.to_str().unwrap(), "-p", &d.p("bad.ppt")]);
    assert!(String::from_utf8_lossy(&e.stderr).contains("passport refused"), "{}", String::from_utf8_lossy(&e.stderr));
    // Backing up or restoring someone else's MiMei: only its author may.
    let e = n.cli(&["lapp", "backup", "-a", "AAAAAAAAAAAAAAAAAAAAAAAAAAA"]);
    assert!(!e.status.success());
    // An id starting with `-` (one in 64 are) is the option's value, not an option.
    let dashed = n.cli(&["lapp", "backup", "-a", "-AAAAAAAAAAAAAAAAAAAAAAAAAA"]);
    let (err, dashed_err) = (String::from_utf8_lossy(&e.stderr), String::from_utf8_lossy(&dashed.stderr));
    assert!(!dashed.status.success() && !dashed_err.contains("Unrecognized"), "{dashed_err}");
    assert_eq!(dashed_err.replace("-AAAAAAAAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAAAAAAAAAA"), err, "same refusal");
    n.stop();
}

/// Archives from other tar writers (GNU tar, Python's tarfile): accepted when they stay in the
/// tree, refused with the reason when an entry climbs out, is absolute, or links outside.
#[test]
fn tar_uploads_from_other_writers_and_escapes() {
    let n = Node::start();
    let work = tempfile::tempdir().unwrap();
    let v1 = work.path().join("v1");
    web_tree(&v1, "first");
    let post = |tar: &[u8]| {
        http(
            &n.addr(),
            "POST",
            "/api/IpfsAdd?tar=true",
            &[("Authorization", &format!("Bearer {}", n.token())), ("Content-Type", "application/octet-stream")],
            tar,
        )
    };
    // GNU tar, with a "./" prefix on every name: the same tree as `ipfs add -r`.
    let gnu = work.path().join("gnu.tar");
    let st = std::process::Command::new("tar")
        .args(["-cf", gnu.to_str().unwrap(), "-C", v1.to_str().unwrap(), "."])
        .status()
        .unwrap();
    assert!(st.success());
    let r = post(&std::fs::read(&gnu).unwrap());
    assert_eq!(r.status, 200, "{}", r.text());
    let want = cid_from_add(&n.ok(&["ipfs", "add", "-r", v1.to_str().unwrap()]));
    assert!(r.text().contains(&format!("\"cid\":\"{want}\"")), "{}", r.text());

    // Python's tarfile (pax format) writes the hostile ones.
    let script = r#"
import io, sys, tarfile
kind, name, link = sys.argv[1], sys.argv[2], sys.argv[3]
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
    ok = tarfile.TarInfo("index.html"); data = b"<h1>ok</h1>"; ok.size = len(data)
    t.addfile(ok, io.BytesIO(data))
    i = tarfile.TarInfo(name)
    if kind == "file":
        i.size = 4; t.addfile(i, io.BytesIO(b"evil"))
    else:
        i.type = tarfile.SYMTYPE if kind == "sym" else tarfile.LNKTYPE; i.linkname = link; t.addfile(i)
sys.stdout.buffer.write(buf.getvalue())
"#;
    let make = |kind: &str, name: &str, link: &str| {
        let out = std::process::Command::new("python3").args(["-c", script, kind, name, link]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        out.stdout
    };
    for (kind, name, link, why) in [
        ("file", "../escape.html", "", "climbs out of the tree"),
        ("file", "js/../../escape.html", "", "climbs out of the tree"),
        ("file", "/etc/cron.d/evil", "", "absolute path"),
        ("sym", "passwd", "/etc/passwd", "points outside the tree"),
        ("sym", "js/up", "../../..", "points outside the tree"),
        ("hard", "shadow", "../../etc/shadow", "climbs out of the tree"),
        ("file", &format!("{}/deep.html", "d/".repeat(70)), "", "nested deeper"),
    ] {
        let r = post(&make(kind, name, link));
        assert_eq!(r.status, 400, "{kind} {name} -> {link}: {}", r.text());
        assert!(r.text().contains(why), "{kind} {name}: {}", r.text());
    }
    // An in-tree symlink is kept (as `ipfs add -r` keeps one).
    let r = post(&make("sym", "home.html", "index.html"));
    assert_eq!(r.status, 200, "{}", r.text());
    // Not an archive at all.
    let r = post(b"this is not a tar archive, just some text that is long enough to look like a header maybe");
    assert_eq!(r.status, 400);
    assert!(r.text().contains("bad tar archive"), "{}", r.text());
    n.stop();
}
