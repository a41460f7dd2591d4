//! `ipfs add | cat | get | ls | pin | repo stat | repo gc | repo ls`.

use crate::args::{IpfsAdd, PinCmd};
use crate::client::{CliError, Client};
use crate::progress::{Progress, Ticker};
use node::content::import::{import_path, Batcher, TreeOptions};
use proto_core::unixfs::Profile;
use serde_json::{json, Value};
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// A JSON field as text (strings as they are, other values as JSON).
pub(crate) fn s(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

/// Adds a file without printing; returns its CID.
pub(crate) fn add_quiet(c: &Client, a: IpfsAdd) -> Result<String, CliError> {
    let path = Path::new(&a.path);
    let meta = std::fs::metadata(path).map_err(|e| CliError(format!("cannot read {}: {e}", a.path)))?;
    if meta.is_dir() {
        return Err(CliError(format!("{} is a directory; add it with ipfs add -r and use mimei setcid", a.path)));
    }
    let f = File::open(path).map_err(|e| CliError(format!("cannot read {}: {e}", a.path)))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let query = format!("cid-version={}&only-hash=false&name={}", a.cid_version, encode(&name));
    let mut body = Progress::new(f, meta.len(), "adding");
    let r = c.call_stream("IpfsAdd", &query, &mut body, meta.len());
    body.finish();
    Ok(s(&r?, "cid"))
}

pub(crate) fn add(c: &Client, a: IpfsAdd, remote: bool) -> Result<(), CliError> {
    let path = Path::new(&a.path);
    let meta = std::fs::metadata(path).map_err(|e| CliError(format!("cannot read {}: {e}", a.path)))?;
    if meta.is_dir() && !a.recursive {
        return Err(CliError(format!("{} is a directory; add it with -r", a.path)));
    }
    let result = if a.only_hash {
        // Computing a CID needs no node (as kubo's `add -n`): hash here, store nothing.
        only_hash(path, &a, meta.len())?
    } else if meta.is_dir() {
        if remote {
            return Err(CliError(
                "adding a directory to another node (-n) is not supported yet; add it on that node".into(),
            ));
        }
        // The local node reads the tree itself.
        let abs = std::fs::canonicalize(path).map_err(|e| CliError(format!("cannot read {}: {e}", a.path)))?;
        let opts =
            json!({"recursive": true, "hidden": a.hidden, "cid_version": a.cid_version, "only_hash": a.only_hash});
        c.call("IpfsAdd", json!([abs.to_string_lossy(), opts]))?
    } else {
        let f = File::open(path).map_err(|e| CliError(format!("cannot read {}: {e}", a.path)))?;
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let query = format!("cid-version={}&only-hash={}&name={}", a.cid_version, a.only_hash, encode(&name));
        let mut body = Progress::new(f, meta.len(), "adding");
        let r = c.call_stream("IpfsAdd", &query, &mut body, meta.len());
        body.finish();
        r?
    };
    let cid = s(&result, "cid");
    println!("add /ipfs/{cid} {}", s(&result, "size"));
    if let Some(dst) = &a.to_files {
        if a.only_hash {
            return Err(CliError("--to-files stores into the file system: it cannot go with --only-hash".into()));
        }
        // kubo's --to-files: a destination ending in / keeps the added name.
        let dst = if dst.ends_with('/') {
            format!("{dst}{}", path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default())
        } else {
            dst.clone()
        };
        c.call("FilesCopy", json!([format!("/ipfs/{cid}"), dst, true, false]))?;
    }
    println!("ipfs add ok  /ipfs/{cid}");
    Ok(())
}

fn only_hash(path: &Path, a: &IpfsAdd, total: u64) -> Result<Value, CliError> {
    let profile = match a.cid_version {
        0 => Profile::UNIXFS_V0_2015,
        1 => Profile::UNIXFS_V1_2025,
        v => return Err(CliError(format!("cid version {v} is not supported (use 0 or 1)"))),
    };
    let mut batch = Batcher::new(None)?;
    let mut ticker = Ticker::new(total, "hashing");
    let root = import_path(&mut batch, TreeOptions { profile, hidden: a.hidden }, path, &mut |n| ticker.tick(n))?;
    ticker.finish();
    Ok(json!({"cid": root.cid.to_string(), "size": root.filesize}))
}

pub(crate) fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn gateway_path(cid: &str) -> String {
    let cid = cid.trim_start_matches("/ipfs/");
    format!("/ipfs/{}", cid.split('/').map(encode).collect::<Vec<_>>().join("/"))
}

pub(crate) fn cat(c: &Client, cid: &str) -> Result<(), CliError> {
    let st = c.call("IpfsStat", json!([cid]))?;
    if s(&st, "type") != "file" {
        return Err(CliError(format!("{cid} is a {}, not a file", s(&st, "type"))));
    }
    let mut resp = c.get(&gateway_path(cid))?;
    let size = st.get("size").and_then(Value::as_u64).unwrap_or(0);
    let mut body = Progress::new(&mut resp.body, size, "fetching");
    let r = to_stdout(&mut body);
    body.finish();
    r
}

/// Copies a download to stdout; a reader that went away (`| head`) ends it quietly.
pub(crate) fn to_stdout(r: &mut dyn io::Read) -> Result<(), CliError> {
    let stdout = io::stdout();
    let mut out = stdout.lock();
    match io::copy(r, &mut out).and_then(|_| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        r => r.map_err(|e| CliError(format!("download failed: {e}"))),
    }
}

pub(crate) fn get(c: &Client, cid: &str, output: Option<String>) -> Result<(), CliError> {
    let out = PathBuf::from(output.unwrap_or_else(|| cid.trim_start_matches("/ipfs/").replace('/', "_")));
    let n = get_into(c, cid, &out)?;
    println!("saved {} ({n} bytes)", out.display());
    Ok(())
}

fn get_into(c: &Client, cid: &str, out: &Path) -> Result<u64, CliError> {
    let st = c.call("IpfsStat", json!([cid]))?;
    match s(&st, "type").as_str() {
        "dir" => {
            std::fs::create_dir_all(out).map_err(|e| CliError(format!("cannot create {}: {e}", out.display())))?;
            let mut total = 0;
            for e in c.call("IpfsLs", json!([cid]))?.as_array().cloned().unwrap_or_default() {
                let name = s(&e, "name");
                if name.is_empty() || name == "." || name == ".." || name.contains('/') || name.contains('\0') {
                    return Err(CliError(format!("refusing unsafe entry name {name:?} in {cid}")));
                }
                // By path under the root, so what this node lacks is fetched from the root's
                // providers (a child's own CID may have none).
                total += get_into(c, &format!("{}/{name}", cid.trim_end_matches('/')), &out.join(&name))?;
            }
            Ok(total)
        }
        "symlink" => {
            let target = c.get(&gateway_path(cid))?.read_all()?;
            #[cfg(unix)]
            std::os::unix::fs::symlink(String::from_utf8_lossy(&target).as_ref(), out)
                .map_err(|e| CliError(format!("cannot create {}: {e}", out.display())))?;
            Ok(0)
        }
        _ => {
            let mut resp = c.get(&gateway_path(cid))?;
            let tmp = out.with_extension("part");
            let mut f = File::create(&tmp).map_err(|e| CliError(format!("cannot create {}: {e}", tmp.display())))?;
            let size = st.get("size").and_then(Value::as_u64).unwrap_or(0);
            let mut body = Progress::new(&mut resp.body, size, "fetching");
            let n = io::copy(&mut body, &mut f);
            body.finish();
            let n = n.map_err(|e| CliError(format!("download failed: {e}")))?;
            f.flush()?;
            std::fs::rename(&tmp, out).map_err(|e| CliError(format!("cannot create {}: {e}", out.display())))?;
            Ok(n)
        }
    }
}

pub(crate) fn ls(c: &Client, cid: &str) -> Result<(), CliError> {
    for e in c.call("IpfsLs", json!([cid]))?.as_array().cloned().unwrap_or_default() {
        let slash = if s(&e, "type") == "dir" { "/" } else { "" };
        println!("{} {} {}{slash}", s(&e, "cid"), s(&e, "size"), s(&e, "name"));
    }
    Ok(())
}

pub(crate) fn pin(c: &Client, cmd: PinCmd) -> Result<(), CliError> {
    match cmd {
        PinCmd::Add(p) => {
            let r = c.call("PinAdd", json!([p.cid]))?;
            println!("pinned {} recursively", s(&r, "cid"));
        }
        PinCmd::Rm(p) => {
            let r = c.call("PinRm", json!([p.cid]))?;
            println!("unpinned {}", s(&r, "cid"));
        }
        PinCmd::Ls(_) => {
            for p in c.call("PinLs", json!([]))?.as_array().cloned().unwrap_or_default() {
                println!("{} recursive", p.as_str().unwrap_or_default());
            }
        }
    }
    Ok(())
}

/// kubo's `repo stat` layout, plus the room on the repo's disk.
pub(crate) fn repo_stat(c: &Client) -> Result<(), CliError> {
    let r = c.call("RepoStat", json!([]))?;
    for key in ["NumObjects", "RepoSize", "StorageMax", "RepoPath", "Version", "FileSize", "DiskSize", "DiskFree"] {
        if r.get(key).is_some() {
            println!("{:<12}{}", format!("{key}:"), s(&r, key));
        }
    }
    Ok(())
}

/// `removed N blocks (M bytes)`, as a summary of kubo's `removed <cid>` lines.
pub(crate) fn repo_gc(c: &Client) -> Result<(), CliError> {
    let r = c.call("RepoGC", json!([{}]))?;
    println!("removed {} blocks ({} bytes)", s(&r, "Removed"), s(&r, "Bytes"));
    Ok(())
}

/// One kept root a line: its CID and what keeps it.
pub(crate) fn repo_ls(c: &Client) -> Result<(), CliError> {
    for r in c.call("RepoLs", json!([]))?.as_array().cloned().unwrap_or_default() {
        println!("{} {}", s(&r, "Cid"), s(&r, "Why"));
    }
    Ok(())
}
