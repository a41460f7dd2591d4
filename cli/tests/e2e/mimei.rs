//! The seed README's MiMei walkthrough on three real nodes: author, syncing node, provider.

use crate::harness::*;

fn line<'a>(out: &'a str, prefix: &str) -> &'a str {
    out.lines().find(|l| l.starts_with(prefix)).unwrap_or_else(|| panic!("no line starting {prefix:?} in:\n{out}"))
}

#[test]
fn create_setcid_add_publish_show_sync_provide() {
    let author = Node::start();
    let boot = peer_addr(&author);
    let syncer = Node::start_with(std::slice::from_ref(&boot));
    let provider = Node::start_with(std::slice::from_ref(&boot));
    std::thread::sleep(std::time::Duration::from_millis(300));
    let work = tempfile::tempdir().unwrap();
    let (f1, f2) = (work.path().join("Leither.txt"), work.path().join("v2.txt"));
    std::fs::write(&f1, bytes(300_000, 1)).unwrap();
    std::fs::write(&f2, b"second version\n").unwrap();

    let out = author.ok(&["mimei", "create", "-m", "walkthrough"]);
    assert_eq!(out.lines().next(), Some("Create MiMei  ok"));
    let mid = line(&out, "mid= ").trim_start_matches("mid= ").to_string();
    assert_eq!(mid.len(), 27);
    assert_eq!(author.ok(&["mimei", "create", "-m", "walkthrough"]), out, "same inputs, same mid");
    assert_ne!(author.ok(&["mimei", "create"]), out, "no mark: a fresh mid");

    let cid1 = author.add(&f1);
    let out = author.ok(&["mimei", "setcid", &mid, &cid1]);
    assert_eq!(out, format!("mid= {mid}\ncid= {cid1}\nMiMeiSetCid ver= 1\n"));
    let out = author.ok(&["mimei", "add", &mid, f2.to_str().unwrap()]);
    let cid2 = line(&out, "MiMeiAdd cid= /ipfs/").trim_start_matches("MiMeiAdd cid= /ipfs/").to_string();
    assert_eq!(line(&out, "MiMeiAdd ver= "), "MiMeiAdd ver= 2");
    let out = author.ok(&["mimei", "publish", &mid]);
    assert_eq!(out, format!("MiMeiPublish mids= [{mid}] EOL = 168h\nMiMeiPublish ok\n"));

    let show = author.ok(&["mimei", "show", &mid]);
    assert_eq!(line(&show, "Author  : "), format!("Author  : {}", author.id));
    assert_eq!(line(&show, "Mark    : "), "Mark    : walkthrough");
    assert!(show.contains(&format!("from local\n-------------------------------------------------------------\n1        {cid1}\n2        {cid2}\nlast     2\n")), "{show}");
    assert!(show.contains(&format!("from net\n-------------------------------------------------------------\n1        {cid1}\n2        {cid2}\n")), "{show}");
    assert!(
        show.contains("no conflict")
            && show.contains("local version is same with net")
            && show.ends_with("mimei show ok\n"),
        "{show}"
    );

    // Another node syncs it and reads both versions' bytes.
    let out = syncer.ok(&["mimei", "sync", &mid]);
    assert!(out.starts_with(&format!("MiMeiSync mid = {mid}\n")) && out.ends_with("mimei sync ok\n"), "{out}");
    assert_eq!(syncer.ok(&["mimei", "get", &mid]), "second version\n");
    let got = std::process::Command::new(BIN)
        .args(["mimei", "get", &mid, "1", "--repo"])
        .arg(syncer.repo())
        .output()
        .unwrap();
    assert_eq!(sha256_hex(&got.stdout), sha256_hex(&bytes(300_000, 1)));
    let out = syncer.cli(&["mimei", "setcid", &mid, &cid1]);
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        e.contains("holds a replica of MiMei") && e.contains("node that writes it"),
        "a replica is not written: {e}"
    );

    // A provider holds everything and is found.
    let out = provider.ok(&["mimei", "provide", &mid]);
    assert!(out.starts_with(&format!("MiMeiProvide mids= [{mid}]")), "{out}");
    let provs = syncer.ok(&["mimei", "findprovs", &mid]);
    assert!(provs.contains(&author.id) && provs.contains(&provider.id), "{provs}");
    // Each provider with the version it holds (both hold version 2).
    for who in [&author.id, &provider.id] {
        let line = provs.lines().find(|l| l.contains(who.as_str())).unwrap();
        assert!(line.starts_with(&format!("ver= 2 [{{{who} [")), "{provs}");
    }

    // Versions: release protects, delvers removes, bad names are refused.
    author.ok(&["mimei", "release", &mid, "1"]);
    let out = author.cli(&["mimei", "delvers", &mid, "1"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("released"), "released versions stay");
    let out = author.cli(&["mimei", "get", &mid, "latest"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a version"));
    let out = author.cli(&["mimei", "show", "AAAAAAAAAAAAAAAAAAAAAAAAAAA"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("neither here nor on the network"));
    for n in [author, syncer, provider] {
        n.stop();
    }
}

#[test]
fn providers_follow_new_versions_at_once() {
    let author = Node::start();
    let boot = peer_addr(&author);
    let providers: Vec<Node> = (0..3).map(|_| Node::start_with(std::slice::from_ref(&boot))).collect();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let work = tempfile::tempdir().unwrap();
    let mid =
        author.ok(&["mimei", "create", "-m", "follow"]).lines().nth(1).unwrap().trim_start_matches("mid= ").to_string();
    let f = work.path().join("v.txt");
    std::fs::write(&f, b"version one\n").unwrap();
    author.ok(&["mimei", "add", &mid, f.to_str().unwrap()]);
    author.ok(&["mimei", "publish", &mid]);
    for p in &providers {
        p.ok(&["mimei", "provide", &mid]);
    }
    // A new version, published: every provider has it shortly, without being asked to sync.
    std::fs::write(&f, b"version two\n").unwrap();
    author.ok(&["mimei", "add", &mid, f.to_str().unwrap()]);
    let t0 = std::time::Instant::now();
    author.ok(&["mimei", "publish", &mid]);
    for p in &providers {
        loop {
            let (_, body) = api(&p.addr(), "MMGetCid", &format!("[\"{mid}\", \"last\"]"), None);
            if body.contains("\"ver\":2") {
                break;
            }
            assert!(t0.elapsed() < std::time::Duration::from_secs(10), "provider {} did not follow: {body}", p.id);
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert_eq!(p.ok(&["mimei", "get", &mid]), "version two\n");
    }
    for n in providers.into_iter().chain([author]) {
        n.stop();
    }
}

#[test]
fn an_offline_provider_catches_up_and_getvar_reports_versions() {
    let author = Node::start();
    let boot = peer_addr(&author);
    let helper = Node::start_with(std::slice::from_ref(&boot));
    let mut provider = Node::start_with(std::slice::from_ref(&boot));
    std::thread::sleep(std::time::Duration::from_millis(300));
    let work = tempfile::tempdir().unwrap();
    let mid =
        author.ok(&["mimei", "create", "-m", "away"]).lines().nth(1).unwrap().trim_start_matches("mid= ").to_string();
    let f = work.path().join("v.txt");
    std::fs::write(&f, b"one\n").unwrap();
    author.ok(&["mimei", "add", &mid, f.to_str().unwrap()]);
    author.ok(&["mimei", "publish", &mid]);
    provider.ok(&["mimei", "provide", &mid]);

    // The provider goes away; two versions are published meanwhile.
    provider.ok(&["stop"]);
    provider.child.take().unwrap().wait().unwrap();
    for text in ["two\n", "three\n"] {
        std::fs::write(&f, text).unwrap();
        author.ok(&["mimei", "add", &mid, f.to_str().unwrap()]);
        author.ok(&["mimei", "publish", &mid]);
    }
    provider.api.clear();
    let provider = provider.spawn();
    let t0 = std::time::Instant::now();
    loop {
        let (_, body) = api(&provider.addr(), "GetVar", &format!("[\"mmversions\", \"{mid}\"]"), None);
        if body.contains("\"last\":3") {
            break;
        }
        assert!(t0.elapsed() < std::time::Duration::from_secs(15), "no catch-up: {body}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(provider.ok(&["mimei", "get", &mid]), "three\n");
    let (_, info) = api(&author.addr(), "GetVar", &format!("[\"mminfo\", \"{mid}\"]"), None);
    assert!(info.contains(&format!("\"Author\":\"{}\"", author.id)) && info.contains("\"Mark\":\"away\""), "{info}");
    let (_, addrs) = api(&author.addr(), "GetVar", "[\"nodeaddrs\"]", None);
    assert!(addrs.contains(&boot), "{addrs}");
    for n in [author, helper, provider] {
        n.stop();
    }
}

/// Two contents claiming one version (the author deleted version 1 and made a new one) are a
/// conflict: a provider that held the first keeps it, and `show` says so.
#[test]
fn a_conflicting_version_is_kept_and_shown() {
    let author = Node::start();
    let provider = Node::start_with(&[peer_addr(&author)]);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let work = tempfile::tempdir().unwrap();
    let (a, b) = (work.path().join("a.txt"), work.path().join("b.txt"));
    std::fs::write(&a, b"first content\n").unwrap();
    std::fs::write(&b, b"second content\n").unwrap();
    let out = author.ok(&["mimei", "create", "-m", "conflict"]);
    let mid = line(&out, "mid= ").trim_start_matches("mid= ").to_string();
    let (ca, cb) = (author.add(&a), author.add(&b));
    author.ok(&["mimei", "setcid", &mid, &ca]);
    author.ok(&["mimei", "publish", &mid]);
    provider.ok(&["mimei", "sync", &mid]);
    // Version 1 again, with other content.
    author.ok(&["mimei", "delvers", &mid, "1"]);
    assert!(author.ok(&["mimei", "setcid", &mid, &cb]).contains("MiMeiSetCid ver= 1"));
    author.ok(&["mimei", "publish", &mid]);
    provider.ok(&["mimei", "sync", &mid]);
    assert_eq!(provider.ok(&["mimei", "get", &mid]), "second content\n");
    let show = provider.ok(&["mimei", "show", &mid]);
    assert!(show.contains(&format!("version 1: other content {ca} kept")), "{show}");
    // A sync that repeats nothing new keeps it.
    provider.ok(&["mimei", "sync", &mid]);
    assert!(provider.ok(&["mimei", "show", &mid]).contains(&format!("other content {ca} kept")));
    author.stop();
    provider.stop();
}
