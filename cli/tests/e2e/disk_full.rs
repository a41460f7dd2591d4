//! A node whose repo's disk fills up: a clear error for the add that does not fit, nothing of it
//! left behind, and a restart on the still-full disk that serves what was pinned.

use crate::harness::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A small tmpfs mounted for one test, unmounted when dropped (also when the test fails).
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(mib: u64) -> Tmpfs {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"])
            .arg(dir.path())
            .output()
            .expect("running mount");
        assert!(
            out.status.success(),
            "this test needs a tmpfs of its own (it runs as root): mount -t tmpfs failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
        Tmpfs { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let ok = Command::new("umount").arg(self.dir.path()).status().is_ok_and(|s| s.success());
        if !ok {
            // Something still holds it open: detach it now, the kernel frees it when let go.
            let _ = Command::new("umount").arg("-l").arg(self.dir.path()).status();
        }
    }
}

/// Ends the test process if it runs past `secs`: a hung step fails the test instead of holding
/// the suite, and the node (found by its daemon file) and the mount are cleaned up first.
struct Watchdog {
    done: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Watchdog {
    fn start(secs: u64, repo: PathBuf, mount: PathBuf) -> Watchdog {
        use std::sync::atomic::{AtomicBool, Ordering};
        let done = std::sync::Arc::new(AtomicBool::new(false));
        let flag = done.clone();
        std::thread::spawn(move || {
            let t0 = Instant::now();
            while t0.elapsed() < Duration::from_secs(secs) {
                if flag.load(Ordering::Relaxed) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            eprintln!("the disk-full test did not finish within {secs} s");
            let pid = std::fs::read(repo.join("daemon.json"))
                .ok()
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
                .and_then(|v| v["pid"].as_u64());
            if let Some(pid) = pid {
                let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            }
            let _ = Command::new("umount").arg("-l").arg(&mount).status();
            std::process::exit(1);
        });
        Watchdog { done }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.done.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// `ipfs repo stat`'s numeric fields.
fn stat(n: &Node) -> std::collections::BTreeMap<String, u64> {
    let out = n.cli_within(20, &["ipfs", "repo", "stat"]);
    assert!(out.status.success(), "repo stat failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once(':'))
        .filter_map(|(k, v)| Some((k.to_string(), v.trim().parse().ok()?)))
        .collect()
}

/// Fills what is left of the filesystem under `dir` with one file.
fn fill(dir: &Path) -> PathBuf {
    use std::io::Write;
    let p = dir.join("filler");
    let mut f = std::fs::File::create(&p).unwrap();
    let chunk = vec![0u8; 4096];
    while f.write_all(&chunk).is_ok() {}
    let _ = f.sync_all();
    p
}

#[test]
fn a_full_disk_fails_one_add_clearly_and_the_node_restarts_on_it() {
    let t0 = Instant::now();
    let mnt = Tmpfs::mount(64);
    let work = tempfile::tempdir().unwrap();
    let node = Node::init_in(tempfile::tempdir_in(mnt.path()).unwrap(), &[]);
    let _watchdog = Watchdog::start(180, node.repo(), mnt.path().to_path_buf());
    let node = node.spawn();

    let small = bytes(300_000, 11);
    std::fs::write(work.path().join("small"), &small).unwrap();
    let cid = node.add(&work.path().join("small"));
    let before = stat(&node);
    assert!(before["DiskFree"] > 50 << 20, "the fresh tmpfs is nearly empty: {before:?}");

    // 100 MiB into 64 MiB: the add fails with the disk named, not an I/O error.
    let big = bytes(100 << 20, 12);
    std::fs::write(work.path().join("big"), &big).unwrap();
    let out = node.cli_within(120, &["ipfs", "add", work.path().join("big").to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the add into a full disk succeeded");
    assert!(err.contains("no space left on device: the repo's disk is full ("), "{err}");
    assert!(!err.contains("Input/output error"), "{err}");

    // Its ~60 MB of committed blocks are gone: the store holds what it held before.
    let after = stat(&node);
    assert_eq!(after["NumObjects"], before["NumObjects"], "blocks of the failed add remain: {after:?}");
    assert!(after["RepoSize"] <= before["RepoSize"] + (1 << 20), "before {before:?}, after {after:?}");
    assert!(after["DiskFree"] < 1 << 20, "the disk should be full now: {after:?}");

    // Restart with the disk full to the last byte.
    let mut node = node;
    node.ok(&["stop"]);
    let _ = node.child.take().unwrap().wait();
    let filler = fill(mnt.path());
    assert!(std::fs::metadata(&filler).is_ok());
    let node = node.spawn();
    let out = node.cli_within(20, &["ipfs", "cat", &cid]);
    assert!(out.status.success(), "cat after the restart: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(sha256_hex(&out.stdout), sha256_hex(&small), "pinned content after the restart");
    let r = http(&node.addr(), "GET", &format!("/ipfs/{cid}"), &[], b"");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(sha256_hex(&r.body), sha256_hex(&small));
    let pins = node.ok(&["ipfs", "pin", "ls"]);
    assert!(pins.contains(&cid), "{pins}");
    let st = stat(&node);
    assert_eq!(st["DiskFree"], 0, "{st:?}");
    assert!(st["DiskSize"] >= 60 << 20, "{st:?}");
    assert_eq!(st["NumObjects"], before["NumObjects"]);

    // Writes that do not fit answer the same clear error; the node keeps serving.
    let out = node.cli_within(120, &["ipfs", "add", work.path().join("big").to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no space left on device"));
    assert_eq!(http(&node.addr(), "GET", &format!("/ipfs/{cid}"), &[], b"").status, 200);
    node.stop();
    eprintln!("disk-full run took {:?}", t0.elapsed());
}
