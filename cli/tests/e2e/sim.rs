//! `leither sim` through the binary: the file workload's report line and its flags.

use crate::harness::BIN;
use std::process::Command;

fn sim(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(BIN).arg("sim").args(args).env_remove("SIM_SEED").env_remove("SIM_SEEDS").output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

#[test]
// The simulator is the same code in either runtime's binary: the 20-second run is made once.
#[cfg_attr(not(feature = "runtime-std"), ignore = "runs with the runtime-std binary")]
fn fifty_files_on_five_hundred_whole_nodes_are_fetched_byte_identical() {
    let (ok, out, err) = sim(&["--nodes", "500", "--files", "50", "--seed", "9"]);
    assert!(ok, "{out}\n{err}");
    assert!(out.lines().any(|l| l == "file fetches 50 / 50 byte-identical"), "{out}");
    assert!(out.lines().any(|l| l.starts_with("whole nodes ")), "{out}");
    assert!(out.contains("checkers           0 violations"), "{out}");
    assert!(out.contains(" --files 50"), "the replay line names the files: {out}");
}

#[test]
fn files_need_whole_nodes_and_the_machine_is_named() {
    let (ok, _, err) = sim(&["--nodes", "20", "--files", "2", "--machine", "dht"]);
    assert!(!ok && err.contains("--files runs on whole nodes"), "{err}");
    let (ok, _, err) = sim(&["--nodes", "20", "--machine", "router"]);
    assert!(!ok && err.contains("--machine is dht, node or kad"), "{err}");
    let (ok, out, err) = sim(&["--nodes", "20", "--lookups", "20", "--duration", "30s", "--machine", "node"]);
    assert!(ok, "{out}\n{err}");
    assert!(out.contains("findpeer lookups   20 / 20") && out.contains(" --machine node"), "{out}");
    assert!(!out.contains("file fetches"), "no files, no file line: {out}");
}
