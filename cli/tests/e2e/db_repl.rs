//! Database replication between real node processes: the author writes through Redis, two
//! replicas follow in real time — one of them restarted in the middle of the stream — and all
//! three end with the same keyspace digest.

use crate::harness::*;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

fn mid_of(out: &str) -> String {
    out.lines().find_map(|l| l.strip_prefix("mid= ")).expect("mid line").trim().to_string()
}

fn sum(n: &Node, mid: &str) -> String {
    let out = n.cli(&["mimei", "sum", mid]);
    String::from_utf8_lossy(&out.stdout).lines().last().unwrap_or_default().to_string()
}

/// Waits until `n`'s digest of `mid` equals `want`.
fn converges(n: &Node, mid: &str, want: &str, within: Duration) -> bool {
    let t0 = Instant::now();
    while t0.elapsed() < within {
        if sum(n, mid) == want {
            eprintln!("converged in {:?}", t0.elapsed());
            return true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    false
}

fn redis(addr: &str, token: &str, script: &[String]) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    let mut req = format!("AUTH {token}\r\n");
    for l in script {
        req.push_str(l);
        req.push_str("\r\n");
    }
    req.push_str("QUIT\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(!out.contains("-ERR") && !out.contains("-WRONGTYPE"), "{out}");
}

#[test]
fn replicas_follow_the_author_and_one_restarts_mid_stream() {
    let author = Node::start();
    let boot = peer_addr(&author);
    let b = Node::start_with(std::slice::from_ref(&boot));
    let mut c = Node::start_with(std::slice::from_ref(&boot));
    std::thread::sleep(Duration::from_millis(300));
    let token = author.token();

    let mid = mid_of(&author.ok(&["mimei", "create", "--db", "-m", "replicated"]));
    // Data from before publication reaches replicas as a snapshot.
    author.ok(&["mimei", "db", &mid, "SET", "before", "publish"]);
    author.ok(&["mimei", "publish", &mid]);
    for n in [&b, &c] {
        assert!(n.ok(&["mimei", "sync", &mid]).ends_with("mimei sync ok\n"));
    }
    let select = format!("SELECT {mid}");
    let batch = |from: usize, to: usize| -> Vec<String> {
        let mut v = vec![select.clone()];
        for i in from..to {
            v.push(format!("SET k{i} v{i}"));
            v.push(format!("RPUSH log {i}"));
            v.push(format!("HINCRBY counts c{} 1", i % 7));
            if i % 10 == 0 {
                v.push(format!("DEL k{}", i / 2));
            }
        }
        v
    };
    redis(&author.resp, &token, &batch(0, 100));
    let want = sum(&author, &mid);
    assert!(converges(&b, &mid, &want, Duration::from_secs(30)), "b did not follow: {} vs {want}", sum(&b, &mid));

    // C goes down while the author keeps writing, and comes back.
    c.kill9();
    redis(&author.resp, &token, &batch(100, 300));
    c.api.clear();
    c.resp.clear();
    let c = c.spawn();
    redis(&author.resp, &token, &batch(300, 400));
    let want = sum(&author, &mid);
    for (name, n) in [("b", &b), ("c", &c)] {
        assert!(
            converges(n, &mid, &want, Duration::from_secs(40)),
            "{name} did not converge: {} vs {want}",
            sum(n, &mid)
        );
    }
    assert_eq!(c.ok(&["mimei", "db", &mid, "LLEN", "log"]), "(integer) 400\n");
    assert_eq!(b.ok(&["mimei", "db", &mid, "GET", "before"]), "\"publish\"\n");
    // A numbered version (backup) travels as content: a replica syncs it and reads it.
    assert_eq!(author.ok(&["mimei", "backup", &mid]), "MMBackup ver= 1\n");
    author.ok(&["mimei", "publish", &mid]);
    assert!(b.ok(&["mimei", "sync", &mid]).ends_with("mimei sync ok\n"));
    assert_eq!(b.ok(&["mimei", "db", "-v", "1", &mid, "LLEN", "log"]), "(integer) 400\n");
    assert_eq!(b.ok(&["mimei", "sum", &mid, "1"]), author.ok(&["mimei", "sum", &mid, "1"]));
    // A replica is read-only.
    let refused = b.cli(&["mimei", "db", &mid, "SET", "x", "y"]);
    assert!(!refused.status.success(), "a replica must refuse writes");
    // Restoring version 1 into cur undoes later writes, on the author and on its replicas.
    author.ok(&["mimei", "db", &mid, "SET", "after", "backup"]);
    author.ok(&["mimei", "db", &mid, "RPUSH", "log", "extra"]);
    let later = sum(&author, &mid);
    assert!(converges(&b, &mid, &later, Duration::from_secs(40)), "b before the restore");
    assert_eq!(author.ok(&["mimei", "restore", &mid, "1"]), "MMRestore ver= 1 into cur\n");
    assert_eq!(author.ok(&["mimei", "db", &mid, "LLEN", "log"]), "(integer) 400\n");
    assert_eq!(author.ok(&["mimei", "db", &mid, "GET", "after"]), "(nil)\n");
    let restored = sum(&author, &mid);
    assert_ne!(restored, later);
    for (name, n) in [("b", &b), ("c", &c)] {
        assert!(
            converges(n, &mid, &restored, Duration::from_secs(40)),
            "{name} did not follow the restore: {} vs {restored}",
            sum(n, &mid)
        );
    }
    assert_eq!(c.ok(&["mimei", "db", &mid, "GET", "after"]), "(nil)\n");
    // Writes after the restore flow as entries again.
    author.ok(&["mimei", "db", &mid, "SET", "again", "1"]);
    let again = sum(&author, &mid);
    assert!(converges(&b, &mid, &again, Duration::from_secs(40)), "b after the restore");
    author.stop();
    b.stop();
    c.stop();
}

/// A user's database (made in the user's session on node A, which holds the user's key):
/// replicas follow the node that writes it — the head names it — not the author's id, which
/// is no node.
#[test]
fn a_users_database_replicates_from_the_node_that_writes_it() {
    let a = Node::start();
    let b = Node::start_with(&[peer_addr(&a)]);
    std::thread::sleep(Duration::from_millis(300));
    let work = tempfile::tempdir().unwrap();
    let p = |f: &str| work.path().join(f).to_str().unwrap().to_string();
    user_files(&a, work.path(), "u");
    a.ok(&["lpki", "reqservice", "-c", &p("u.cert")]);
    a.ok(&["lpki", "addkey", &p("u.key")]);
    let call = |method: &str, args: serde_json::Value| {
        let r = http(&a.addr(), "POST", &format!("/api/{method}"), &[], args.to_string().as_bytes());
        assert_eq!(r.status, 200, "{method}: {}", r.text());
        serde_json::from_slice::<serde_json::Value>(&r.body).unwrap()["result"].clone()
    };
    let ppt = std::fs::read_to_string(p("u.ppt")).unwrap();
    let sid = call("LoginWithPPT", serde_json::json!([ppt]))["Sid"].as_str().unwrap().to_string();
    let mid = call("MMCreate", serde_json::json!([sid, "", "", "userdb", 2, 0x0727_6705u64]));
    let mid = mid.as_str().unwrap().to_string();
    let mm = call("MMOpen", serde_json::json!([sid, mid, "cur"])).as_str().unwrap().to_string();
    call("Set", serde_json::json!([mm, "before", "publish"]));
    assert!(a.ok(&["mimei", "publish", &mid, "-p", &p("u.ppt")]).ends_with("MiMeiPublish ok\n"));
    assert!(b.ok(&["mimei", "sync", &mid]).ends_with("mimei sync ok\n"));
    for i in 0..20 {
        call("Set", serde_json::json!([mm, format!("k{i}"), format!("v{i}")]));
    }
    let want = sum(&a, &mid);
    assert!(converges(&b, &mid, &want, Duration::from_secs(15)), "B never reached A's digest {want}");
    let got = b.ok(&["mimei", "db", &mid, "GET", "k19"]);
    assert!(got.contains("v19"), "{got}");
    b.stop();
    a.stop();
}
