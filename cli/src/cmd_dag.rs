//! `ipfs refs | block get|put|stat | dag get|stat`, printed as kubo does.

use crate::args_ipfs::{BlockCmd, DagCmd, IpfsRefs};
use crate::client::{CliError, Client};
use crate::cmd_ipfs::s;
use serde_json::json;
use std::io::{self, Write};

pub(crate) fn refs(c: &Client, a: IpfsRefs) -> Result<(), CliError> {
    let list = c.call("IpfsRefs", json!([a.cid, a.recursive, a.unique]))?;
    let stdout = io::stdout();
    let mut out = stdout.lock();
    for r in list.as_array().cloned().unwrap_or_default() {
        let _ = writeln!(out, "{}", r.as_str().unwrap_or_default());
    }
    Ok(())
}

pub(crate) fn block(c: &Client, cmd: BlockCmd) -> Result<(), CliError> {
    match cmd {
        BlockCmd::Get(a) => {
            // The raw block through the gateway (which fetches what the node lacks).
            let path = format!("/ipfs/{}?format=raw", a.cid.trim_start_matches("/ipfs/"));
            crate::cmd_ipfs::to_stdout(&mut c.get(&path)?.body)?;
        }
        BlockCmd::Put(a) => {
            let meta = std::fs::metadata(&a.file).map_err(|e| CliError(format!("cannot read {}: {e}", a.file)))?;
            let mut f = std::fs::File::open(&a.file).map_err(|e| CliError(format!("cannot read {}: {e}", a.file)))?;
            let r = c.call_stream("BlockPut", &format!("format={}", a.format), &mut f, meta.len())?;
            println!("{}", s(&r, "Key"));
        }
        BlockCmd::Stat(a) => {
            let r = c.call("BlockStat", json!([a.cid]))?;
            println!("Key: {}\nSize: {}", s(&r, "Key"), s(&r, "Size"));
        }
    }
    Ok(())
}

pub(crate) fn dag(c: &Client, cmd: DagCmd) -> Result<(), CliError> {
    match cmd {
        DagCmd::Get(a) => println!("{}", c.call("DagGet", json!([a.cid]))?),
        DagCmd::Stat(a) => {
            let r = c.call("DagStat", json!([a.cid]))?;
            println!("Size: {}, NumBlocks: {}", s(&r, "TotalSize"), s(&r, "UniqueBlocks"));
        }
    }
    Ok(())
}
