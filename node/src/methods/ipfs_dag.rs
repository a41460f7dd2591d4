//! Blocks and DAGs as kubo shows them: `IpfsRefs` (`ipfs refs [-r] [-u]`), `BlockGet`,
//! `BlockPut`, `BlockStat`, `DagGet` (dag-json of a dag-pb node), `DagStat`. Each fetches what
//! the node lacks from the providers of the argument's root, as the gateway does.

use crate::methods::ipfs::{parse_cid, read_err, resolve_arg, store_err, with_network};
use crate::net::NetHandle;
use crate::Backend;
use gateway::api::{ApiError, Registry};
use proto_core::cid::{Cid, CODEC_DAG_PB, CODEC_RAW};
use proto_core::dagpb::PbNode;
use proto_core::multibase::base64_encode;
use proto_core::unixfs::read::{self, BlockRead};
use proto_core::unixfs::Block;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::Arc;

/// Most CIDs one `IpfsRefs` lists and most blocks one `DagStat` walks.
pub const MAX_REFS: usize = 1_000_000;

/// Most bytes `BlockPut` takes: kubo's largest block (its bitswap limit).
pub const MAX_BLOCK_BYTES: usize = 2 << 20;

fn links(s: &dyn BlockRead, cid: &Cid) -> Result<Vec<(Cid, String, u64)>, ApiError> {
    if cid.codec() != CODEC_DAG_PB {
        return Ok(Vec::new());
    }
    let bytes = read::load(s, cid).map_err(read_err)?;
    let pb = PbNode::decode(&bytes).map_err(|e| ApiError::bad_request(format!("block {cid} does not decode: {e}")))?;
    Ok(pb.links.into_iter().map(|l| (l.cid, String::from_utf8_lossy(&l.name).into_owned(), l.tsize)).collect())
}

/// The links below `root` (all of them, depth first, with `recursive`), each once with `unique`.
fn refs(s: &dyn BlockRead, root: &Cid, recursive: bool, unique: bool) -> Result<Vec<Cid>, ApiError> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    let mut stack = vec![root.clone()];
    while let Some(cid) = stack.pop() {
        let mut below = Vec::new();
        for (c, _, _) in links(s, &cid)? {
            if unique && !seen.insert(c.to_bytes()) {
                continue;
            }
            if out.len() >= MAX_REFS {
                return Err(ApiError::bad_request(format!("the DAG has more than {MAX_REFS} links")));
            }
            out.push(c.clone());
            if recursive {
                below.push(c);
            }
        }
        stack.extend(below.into_iter().rev());
    }
    Ok(out)
}

/// kubo's `dag get` of a dag-pb node (dag-json), or a raw block's bytes.
fn dag_json(s: &dyn BlockRead, cid: &Cid) -> Result<Value, ApiError> {
    let bytes = read::load(s, cid).map_err(read_err)?;
    match cid.codec() {
        CODEC_RAW => Ok(json!({"/": {"bytes": base64_encode(&bytes)}})),
        CODEC_DAG_PB => {
            let pb = PbNode::decode(&bytes)
                .map_err(|e| ApiError::bad_request(format!("block {cid} does not decode: {e}")))?;
            let links: Vec<Value> = pb
                .links
                .iter()
                .map(|l| json!({"Hash": {"/": l.cid.to_string()}, "Name": String::from_utf8_lossy(&l.name), "Tsize": l.tsize}))
                .collect();
            let mut v = json!({"Links": links});
            if let Some(d) = &pb.data {
                v["Data"] = json!({"/": {"bytes": base64_encode(d)}});
            }
            Ok(v)
        }
        c => Err(ApiError::bad_request(format!("dag get of codec 0x{c:x} is not supported"))),
    }
}

/// Blocks and bytes of the whole DAG under `root`, each block counted once.
fn dag_stat(s: &dyn BlockRead, root: &Cid) -> Result<Value, ApiError> {
    let mut seen = BTreeSet::new();
    let mut stack = vec![root.clone()];
    let mut size = 0u64;
    while let Some(cid) = stack.pop() {
        if !seen.insert(cid.hash().to_bytes()) {
            continue;
        }
        if seen.len() > MAX_REFS {
            return Err(ApiError::bad_request(format!("the DAG has more than {MAX_REFS} blocks")));
        }
        size += read::load(s, &cid).map_err(read_err)?.len() as u64;
        stack.extend(links(s, &cid)?.into_iter().map(|(c, _, _)| c));
    }
    let n = seen.len();
    Ok(
        json!({"UniqueBlocks": n, "TotalSize": size, "DagStats": [{"Cid": root.to_string(), "Size": size, "NumBlocks": n}]}),
    )
}

fn flag(v: Option<&Value>) -> bool {
    matches!(v, Some(Value::Bool(true))) || v.and_then(Value::as_str).is_some_and(|s| s == "true")
}

pub fn register<B: Backend>(reg: &mut Registry, store: Arc<B>, net: Option<Arc<dyn NetHandle>>) {
    let (s, n) = (store.clone(), net.clone());
    reg.register("IpfsRefs", false, move |call| {
        let text = call.str("path")?;
        let (recursive, unique) = (flag(call.arg("recursive")), flag(call.arg("unique")));
        with_network(&s, &n, text, |b| {
            let root = resolve_arg(b, text)?;
            Ok(Value::Array(refs(b, &root, recursive, unique)?.iter().map(|c| json!(c.to_string())).collect()))
        })
    });
    let (s, n) = (store.clone(), net.clone());
    reg.register("BlockGet", false, move |call| {
        let text = call.str("cid")?;
        with_network(&s, &n, text, |b| {
            let bytes = read::load(b, &resolve_arg(b, text)?).map_err(read_err)?;
            Ok(crate::methods::files::bytes_value(bytes))
        })
    });
    let (s, n) = (store.clone(), net.clone());
    reg.register("BlockStat", false, move |call| {
        let text = call.str("cid")?;
        with_network(&s, &n, text, |b| {
            let cid = resolve_arg(b, text)?;
            let len = read::load(b, &cid).map_err(read_err)?.len();
            Ok(json!({"Key": cid.to_string(), "Size": len}))
        })
    });
    let s = store.clone();
    reg.register_streaming("BlockPut", true, move |mut call| {
        let bytes = match call.body.take() {
            Some(body) => {
                let mut buf = Vec::new();
                std::io::Read::read_to_end(&mut std::io::Read::take(body, MAX_BLOCK_BYTES as u64 + 1), &mut buf)
                    .map_err(|e| ApiError::bad_request(format!("cannot read the block: {e}")))?;
                buf
            }
            None => crate::methods::files::bytes_arg(call.arg("data"))?,
        };
        if bytes.len() > MAX_BLOCK_BYTES {
            return Err(ApiError::bad_request(format!("a block holds at most {MAX_BLOCK_BYTES} bytes")));
        }
        let format = call.arg("format").and_then(Value::as_str).map(str::to_string);
        let format = format.or_else(|| call.query.get("format").cloned()).unwrap_or_else(|| "raw".into());
        let codec = match format.as_str() {
            "raw" => CODEC_RAW,
            "dag-pb" | "protobuf" => {
                PbNode::decode(&bytes).map_err(|e| ApiError::bad_request(format!("not a dag-pb block: {e}")))?;
                CODEC_DAG_PB
            }
            f => return Err(ApiError::bad_request(format!("block format \"{f}\" is not supported (raw or dag-pb)"))),
        };
        let cid = Cid::of_block(proto_core::cid::Version::V1, codec, &bytes);
        let size = bytes.len();
        s.put_blocks(&[Block { cid: cid.clone(), bytes }]).map_err(store_err)?;
        Ok(json!({"Key": cid.to_string(), "Size": size}))
    });
    let (s, n) = (store.clone(), net.clone());
    reg.register("DagGet", false, move |call| {
        let text = call.str("path")?;
        with_network(&s, &n, text, |b| dag_json(b, &resolve_arg(b, text)?))
    });
    let (s, n) = (store, net);
    reg.register("DagStat", false, move |call| {
        let text = call.str("path")?;
        let _ = parse_cid(text.trim_start_matches("/ipfs/").split('/').next().unwrap_or(""))?;
        with_network(&s, &n, text, |b| dag_stat(b, &resolve_arg(b, text)?))
    });
}
