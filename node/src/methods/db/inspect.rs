//! Looking into a version: `MMSum` (its snapshot digest) and `MMDump` (its keys and values).

use super::*;

pub(super) fn register<B: Backend>(reg: &mut Registry, api: &Arc<DbApi<B>>) {
    // MMSum(mid, ver) → {digest, keys}: SHA-256 of the version's snapshot encoding.
    let a = api.clone();
    reg.register("MMSum", false, move |call| {
        let mid = mid_arg(&call)?;
        let ver = call.args.get(1).and_then(Value::as_str).unwrap_or("cur");
        let (p, _) = a.version_prefix(&mid, ver)?;
        let entries = a.db.store.entries(&p).map_err(fault)?;
        let keys = entries.iter().filter(|(k, _)| k.first() == Some(&b'k')).count();
        Ok(json!({"digest": snapshot::digest(&entries), "keys": keys, "entries": entries.len()}))
    });

    // MMDump(mid, ver, match) → [{key, type, value}]: what `mimei grep` prints.
    let a = api.clone();
    reg.register("MMDump", false, move |call| {
        let mid = mid_arg(&call)?;
        let ver = call.args.get(1).and_then(Value::as_str).unwrap_or("cur");
        let pattern = call.args.get(2).and_then(Value::as_str).filter(|s| !s.is_empty()).unwrap_or("*").to_string();
        let (p, _) = a.version_prefix(&mid, ver)?;
        let keys = a.db.work(&p, Work::Run(vec![vec![b"KEYS".to_vec(), pattern.into_bytes()]])).map_err(fault)?;
        let mut names: Vec<Vec<u8>> = match keys.replies.into_iter().next() {
            Some(Reply::Array(a)) => {
                a.into_iter().filter_map(|r| if let Reply::Bulk(b) = r { Some(b) } else { None }).collect()
            }
            _ => Vec::new(),
        };
        names.sort();
        let mut out = Vec::new();
        for k in names {
            let ty = a.db.work(&p, Work::Run(vec![vec![b"TYPE".to_vec(), k.clone()]])).map_err(fault)?;
            let ty = match ty.replies.into_iter().next() {
                Some(Reply::Simple(t)) => t,
                _ => continue,
            };
            let read: Vec<&[u8]> = match ty.as_str() {
                "string" => vec![b"GET"],
                "hash" => vec![b"HGETALL"],
                "list" => vec![b"LRANGE", b"0", b"-1"],
                "set" => vec![b"SMEMBERS"],
                _ => vec![b"ZRANGE", b"0", b"-1", b"WITHSCORES"],
            };
            let mut cmd = vec![read[0].to_vec(), k.clone()];
            cmd.extend(read[1..].iter().map(|w| w.to_vec()));
            let v =
                a.db.work(&p, Work::Run(vec![cmd])).map_err(fault)?.replies.into_iter().next().unwrap_or(Reply::Nil);
            out.push(json!({"key": text(k), "type": ty, "value": to_json(v)?}));
        }
        Ok(Value::Array(out))
    });
}
