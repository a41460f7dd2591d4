//! `files ls | stat | mkdir | cp | mv | rm | write | read | flush | chcid`, printed as kubo does.

use crate::args_files::FilesCmd;
use crate::client::{CliError, Client};
use crate::cmd_ipfs::s;
use serde_json::{json, Value};
use std::io::{self, Read};

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

pub(crate) fn files(c: &Client, cmd: FilesCmd) -> Result<(), CliError> {
    match cmd {
        FilesCmd::Ls(a) => {
            for e in c.call("FilesLs", json!([a.path]))?.as_array().cloned().unwrap_or_default() {
                let dir = e.get("Type").and_then(Value::as_u64) == Some(1);
                let name = if dir && a.long { format!("{}/", s(&e, "Name")) } else { s(&e, "Name") };
                if a.long {
                    println!("{name}\t{}\t{}", s(&e, "Hash"), s(&e, "Size"));
                } else {
                    println!("{name}");
                }
            }
        }
        FilesCmd::Stat(a) => {
            let st = c.call("FilesStat", json!([a.path]))?;
            if a.hash {
                println!("{}", s(&st, "Hash"));
            } else {
                println!("{}", s(&st, "Hash"));
                println!("Size: {}", s(&st, "Size"));
                println!("CumulativeSize: {}", s(&st, "CumulativeSize"));
                println!("ChildBlocks: {}", s(&st, "Blocks"));
                println!("Type: {}", s(&st, "Type"));
            }
        }
        FilesCmd::Mkdir(a) => {
            c.call("FilesMkdir", json!([a.path, true, a.parents, a.cid_version]))?;
        }
        FilesCmd::Cp(a) => {
            c.call("FilesCopy", json!([a.src, a.dst, true, a.parents]))?;
        }
        FilesCmd::Mv(a) => {
            c.call("FilesMv", json!([a.src, a.dst, true]))?;
        }
        FilesCmd::Rm(a) => {
            c.call("FilesRm", json!([a.path, a.recursive, true, a.force]))?;
        }
        FilesCmd::Flush(a) => println!("{}", c.call("FilesFlush", json!([a.path]))?.as_str().unwrap_or_default()),
        FilesCmd::Chcid(a) => {
            c.call("FilesChcid", json!([a.path, a.cid_version]))?;
        }
        FilesCmd::Write(a) => {
            let mut query = format!(
                "path={}&offset={}&create={}&truncate={}&parents={}",
                encode(&a.path),
                a.offset,
                a.create,
                a.truncate,
                a.parents
            );
            if let Some(n) = a.count {
                query.push_str(&format!("&count={n}"));
            }
            match a.input {
                Some(f) => {
                    let meta = std::fs::metadata(&f).map_err(|e| CliError(format!("cannot read {f}: {e}")))?;
                    let mut file = std::fs::File::open(&f).map_err(|e| CliError(format!("cannot read {f}: {e}")))?;
                    c.call_stream("FilesWrite", &query, &mut file, meta.len())?;
                }
                None => {
                    // The length must be known up front: stdin is read whole first.
                    let mut data = Vec::new();
                    io::stdin().read_to_end(&mut data).map_err(|e| CliError(format!("cannot read stdin: {e}")))?;
                    c.call_stream("FilesWrite", &query, &mut data.as_slice(), data.len() as u64)?;
                }
            }
        }
        FilesCmd::Read(a) => {
            let st = c.call("FilesStat", json!([a.path]))?;
            if s(&st, "Type") == "directory" {
                return Err(CliError(format!("{} is a directory", a.path)));
            }
            let size = st.get("Size").and_then(Value::as_u64).unwrap_or(0);
            let end = a.count.map_or(size, |n| size.min(a.offset.saturating_add(n)));
            if a.offset >= end {
                return Ok(());
            }
            // Streamed through the gateway: only the range's blocks are read.
            let range = format!("bytes={}-{}", a.offset, end - 1);
            let mut resp = c.get_with(&format!("/ipfs/{}", s(&st, "Hash")), &[("Range", range.as_str())])?;
            crate::cmd_ipfs::to_stdout(&mut resp.body)?;
        }
    }
    Ok(())
}
