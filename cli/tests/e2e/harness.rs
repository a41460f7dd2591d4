//! Starting nodes, running CLI commands and plain HTTP requests for the e2e tests.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_leither");

pub(crate) struct Node {
    pub dir: tempfile::TempDir,
    pub child: Option<Child>,
    pub api: String,
    pub id: String,
    /// host:port of the node's Redis protocol endpoint.
    pub resp: String,
}

impl Node {
    pub(crate) fn repo(&self) -> PathBuf {
        self.dir.path().join("repo")
    }

    /// A fresh repo with a node listening on an ephemeral loopback port.
    pub(crate) fn start() -> Node {
        Node::start_with(&[])
    }

    /// A fresh node that joins the network through `bootstrap` multiaddrs.
    pub(crate) fn start_with(bootstrap: &[String]) -> Node {
        Node::start_env(bootstrap, &[])
    }

    pub(crate) fn start_env(bootstrap: &[String], env: &[(&str, &str)]) -> Node {
        Node::init_in(tempfile::tempdir().unwrap(), bootstrap).spawn_env(env)
    }

    /// A fresh repo (`leither init`), not started: edit its config.json, then `spawn`.
    pub(crate) fn init(bootstrap: &[String]) -> Node {
        Node::init_in(tempfile::tempdir().unwrap(), bootstrap)
    }

    /// A repo in `dir` (e.g. on a filesystem of the test's own), initialised as `start` does,
    /// not yet running. Every test node connects from 127.0.0.1, so the per-address connection
    /// cap is raised above the suite's largest network (twenty nodes).
    pub(crate) fn init_in(dir: tempfile::TempDir, bootstrap: &[String]) -> Node {
        let n = Node { dir, child: None, api: String::new(), id: String::new(), resp: String::new() };
        let mut args =
            vec!["init", "-p", "0", "--peer-port", "0", "--listen", "127.0.0.1", "--resp-addr", "127.0.0.1:0"];
        for b in bootstrap {
            args.extend(["-b", b.as_str()]);
        }
        let out = n.cli(&args);
        assert!(out.status.success(), "init failed: {}", String::from_utf8_lossy(&out.stderr));
        n.set_config("network", "max_conns_per_ip", serde_json::json!(64));
        // No test reaches the public IPFS network.
        n.set_config("ipfs", "bootstrap", serde_json::json!([]));
        n
    }

    /// Sets `section.key` in the repo's config.json.
    pub(crate) fn set_config(&self, section: &str, key: &str, value: serde_json::Value) {
        let p = self.repo().join("config.json");
        let mut c: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
        c[section][key] = value;
        std::fs::write(&p, serde_json::to_vec_pretty(&c).unwrap()).unwrap();
    }

    /// Runs a CLI command, killed (and the test failed) after `secs` seconds.
    pub(crate) fn cli_within(&self, secs: u64, args: &[&str]) -> Output {
        let mut child = Command::new(BIN)
            .args(args)
            .arg("--repo")
            .arg(self.repo())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Read while it runs, so a long output never blocks it.
        let drain = |mut r: Box<dyn Read + Send>| {
            std::thread::spawn(move || {
                let mut v = Vec::new();
                let _ = r.read_to_end(&mut v);
                v
            })
        };
        let out = drain(Box::new(child.stdout.take().unwrap()));
        let err = drain(Box::new(child.stderr.take().unwrap()));
        let t0 = std::time::Instant::now();
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            if t0.elapsed() > Duration::from_secs(secs) {
                let _ = child.kill();
                let _ = child.wait();
                panic!("leither {args:?} did not finish within {secs} s");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        Output { status, stdout: out.join().unwrap(), stderr: err.join().unwrap() }
    }

    /// Changes the repo's config.json (before `spawn`).
    pub(crate) fn configure(self, edit: impl FnOnce(&mut serde_json::Value)) -> Node {
        let path = self.repo().join("config.json");
        let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        edit(&mut v);
        std::fs::write(&path, v.to_string()).unwrap();
        self
    }

    /// Starts `leither run` on this repo and waits for its address line.
    pub(crate) fn spawn(self) -> Node {
        self.spawn_env(&[])
    }

    pub(crate) fn spawn_env(self, env: &[(&str, &str)]) -> Node {
        self.spawn_wrapped(&[], env)
    }

    /// Starts the node through `wrapper` (e.g. `prlimit --data=…`, which execs the node in the
    /// same process).
    pub(crate) fn spawn_wrapped(mut self, wrapper: &[&str], env: &[(&str, &str)]) -> Node {
        let mut cmd = match wrapper.split_first() {
            Some((w, rest)) => {
                let mut c = Command::new(w);
                c.args(rest).arg(BIN);
                c
            }
            None => Command::new(BIN),
        };
        let mut child = cmd
            .args(["run", "--repo"])
            .arg(self.repo())
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        for line in lines.by_ref() {
            let line = line.unwrap();
            if let Some(id) = line.strip_prefix("leither node ") {
                self.id = id.to_string();
            }
            if let Some(r) = line.strip_prefix("Redis protocol on ") {
                self.resp = r.to_string();
            }
            if let Some(api) = line.strip_prefix("API and gateway on ") {
                self.api = api.to_string();
                break;
            }
        }
        assert!(!self.api.is_empty(), "node did not start: {}", {
            let mut e = String::new();
            child.stderr.take().unwrap().read_to_string(&mut e).unwrap();
            e
        });
        // Keep draining stdout so the node never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        self.child = Some(child);
        self
    }

    pub(crate) fn cli(&self, args: &[&str]) -> Output {
        Command::new(BIN).args(args).arg("--repo").arg(self.repo()).output().unwrap()
    }

    /// Runs a CLI command that must succeed; returns its stdout.
    pub(crate) fn ok(&self, args: &[&str]) -> String {
        let out = self.cli(args);
        assert!(out.status.success(), "leither {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    /// Adds a file and returns its CID from the printed `ipfs add ok` line.
    pub(crate) fn add(&self, path: &Path) -> String {
        let out = self.ok(&["ipfs", "add", path.to_str().unwrap()]);
        cid_from_add(&out)
    }

    pub(crate) fn addr(&self) -> String {
        self.api.trim_start_matches("http://").to_string()
    }

    pub(crate) fn token(&self) -> String {
        std::fs::read_to_string(self.repo().join("api.token")).unwrap().trim().to_string()
    }

    pub(crate) fn stop(mut self) {
        self.ok(&["stop"]);
        let mut child = self.child.take().unwrap();
        let status = child.wait().unwrap();
        assert!(status.success(), "node exited with {status}");
    }

    /// Stops the node cleanly and starts it again on the same repo.
    pub(crate) fn restart(mut self) -> Node {
        self.ok(&["stop"]);
        let mut child = self.child.take().unwrap();
        assert!(child.wait().unwrap().success());
        self.api.clear();
        self.resp.clear();
        self.spawn()
    }

    /// The process's resident anonymous memory (its heaps), in KiB.
    pub(crate) fn rss_anon_kib(&self) -> u64 {
        let pid = self.child.as_ref().expect("running").id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
        let line = status.lines().find(|l| l.starts_with("RssAnon:")).expect("RssAnon line");
        line.split_whitespace().nth(1).and_then(|v| v.parse().ok()).expect("RssAnon value")
    }

    pub(crate) fn kill9(&mut self) {
        let mut child = self.child.take().unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Calls an API method with the JSON arguments that follow its session id: where the method's
/// signature starts with one, "" (no session) goes first. Returns (status, body).
pub(crate) fn api(addr: &str, method: &str, args: &str, token: Option<&str>) -> (u16, String) {
    let sid_first = gateway::api::signature(method).is_some_and(|s| s.sid);
    let args = match args.trim().strip_prefix('[') {
        Some(rest) if sid_first && rest.trim_start().starts_with(']') => "[\"\"]".to_string(),
        Some(rest) if sid_first => format!("[\"\", {rest}"),
        _ => args.to_string(),
    };
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
    let r = http(addr, "POST", &format!("/api/{method}"), &headers, args.as_bytes());
    (r.status, r.text())
}

/// A node's first peer address (`SwarmLocal`), to bootstrap others from.
pub(crate) fn peer_addr(n: &Node) -> String {
    let (status, body) = api(&n.addr(), "SwarmLocal", "[]", None);
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    v["result"][0].as_str().unwrap().to_string()
}

pub(crate) fn cid_from_add(out: &str) -> String {
    let line = out
        .lines()
        .find(|l| l.starts_with("ipfs add ok  /ipfs/"))
        .unwrap_or_else(|| panic!("no add ok line in {out:?}"));
    line.trim_start_matches("ipfs add ok  /ipfs/").to_string()
}

pub(crate) struct HttpResp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResp {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One HTTP/1.1 request with `Connection: close`; decodes chunked bodies.
pub(crate) fn http(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> HttpResp {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut req =
        format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("header end");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines.next().unwrap().split_whitespace().nth(1).unwrap().parse().unwrap();
    let headers: Vec<(String, String)> =
        lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_string(), v.trim().to_string())).collect();
    let mut body = raw[split + 4..].to_vec();
    if method != "HEAD"
        && headers.iter().any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"))
    {
        body = dechunk(&body);
    }
    HttpResp { status, headers, body }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let eol = b.windows(2).position(|w| w == b"\r\n").unwrap();
        let size = usize::from_str_radix(std::str::from_utf8(&b[..eol]).unwrap().split(';').next().unwrap().trim(), 16)
            .unwrap();
        b = &b[eol + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&b[..size]);
        b = &b[size + 2..];
    }
}

/// Deterministic pseudo-random bytes (xorshift), for test files.
/// `lpki genkey`, `gencert`, `signppt -m CertFor=Self` through `n`'s CLI: a user's key,
/// certificate and passport files `<dir>/<who>.key|cert|ppt`.
pub(crate) fn user_files(n: &Node, dir: &Path, who: &str) -> (String, String, String) {
    let p = |ext: &str| dir.join(format!("{who}.{ext}")).to_str().unwrap().to_string();
    n.ok(&["lpki", "genkey", "-o", &p("key")]);
    n.ok(&["lpki", "gencert", "-k", &p("key"), "-o", &p("cert")]);
    n.ok(&["lpki", "signppt", "-c", &p("cert"), "-m", "CertFor=Self", "-o", &p("ppt")]);
    (p("key"), p("cert"), p("ppt"))
}

pub(crate) fn bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e3779b97f4a7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

pub(crate) fn sha256_hex(b: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(b).iter().map(|x| format!("{x:02x}")).collect()
}

/// A small web app directory: `index.html` loading `js/app.js`, both naming `title`.
pub(crate) fn web_tree(dir: &std::path::Path, title: &str) {
    std::fs::create_dir_all(dir.join("js")).unwrap();
    std::fs::write(
        dir.join("index.html"),
        format!("<html><title>{title}</title><script src=\"js/app.js\"></script></html>"),
    )
    .unwrap();
    std::fs::write(dir.join("js/app.js"), format!("console.log('{title}')")).unwrap();
}
