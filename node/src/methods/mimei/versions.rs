//! Making a MiMei and its versions: `MMCreate` (the caller's: the owner's MiMeis are the node's,
//! a user's are the user's), `MFSetCid`, `MMGetCid`, `GetUserMids`.

use super::*;

pub(super) fn register<B: Backend>(reg: &mut Registry, store: &Arc<B>, users: &Arc<Users>, entropy: fn() -> [u8; 32]) {
    let (s, u) = (store.clone(), users.clone());
    reg.register("MMCreate", true, move |call| {
        let arg = |i: usize| call.args.get(i).and_then(Value::as_str).unwrap_or_default().to_string();
        let kind = match call.args.get(3).and_then(Value::as_u64).unwrap_or(1) {
            1 => Kind::File,
            2 => Kind::Db,
            t => return Err(ApiError::bad_request(format!("MiMei type {t} is unknown (1 = file, 2 = database)"))),
        };
        let mut mark = arg(2);
        if mark.is_empty() || mark == "{{auto}}" {
            // Creation seconds and a random number, as the original's CLI makes them.
            let r = u64::from_le_bytes(entropy()[..8].try_into().expect("8 bytes")) >> 1;
            mark = format!("{}{:019}", now_ms() / 1000, r);
        }
        let right = call.args.get(4).and_then(Value::as_u64).unwrap_or(DEFAULT_RIGHT);
        let info = Info { kind, appid: arg(0), ext: arg(1), mark };
        // The mid derives from the author's key: the same user gets the same mid on any node.
        let author = u.creator(&call)?;
        let mid = info.mid(&author);
        if s.get_mimei(&mid).map_err(ApiError::internal)?.is_none() {
            u.check_count(&call, count_authored(&*s, &author)?)?;
            s.put_mimei(&Mimei::new(author, info, now_ms(), right)).map_err(ApiError::internal)?;
        }
        Ok(Value::String(mid.to_string()))
    });
    let (s, u) = (store.clone(), users.clone());
    reg.register("MFSetCid", true, move |call| {
        let mid = mid_arg(&call)?;
        let cid = parse_cid(call.str("cid")?)?;
        let _gate = s.lmdb().map(storage::Store::root_op);
        let mut m = load_own(&*s, &u, &call, &mid, "change")?;
        // The version's blocks are read, so a collection running meanwhile keeps them.
        crate::methods::ipfs::touch_dag(&*s, &cid);
        let v = m.set_cid(&cid).map_err(|e| ApiError::bad_request(e.to_string()))?;
        s.put_mimei(&m).map_err(ApiError::internal)?;
        Ok(json!({"mid": mid.to_string(), "cid": cid.to_string(), "ver": v}))
    });
    // GetUserMids(sid, uid, start, count): the MiMeis `uid` made on this node, oldest first, as
    // the original's ScorePairs (score = creation time in ms, member = mid).
    let s = store.clone();
    reg.register("GetUserMids", false, move |call| {
        let uid = call.str("uid")?;
        let num =
            |n: &str, d: u64| call.arg(n).and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok())).unwrap_or(d);
        let (start, count) = (num("start", 0) as usize, num("count", 1000).min(10_000) as usize);
        let id = proto_core::id::NodeId::parse(uid)
            .map_err(|_| ApiError::bad_request(format!("\"{uid}\" is not a user id")))?;
        let mine = s.authored_mimeis(&id).map_err(ApiError::internal)?;
        Ok(Value::Array(
            mine.iter()
                .skip(start)
                .take(count)
                .map(|m| json!({"Score": m.head.created, "Member": m.mid().to_string()}))
                .collect(),
        ))
    });
    let s = store.clone();
    reg.register("MMGetCid", false, move |call| {
        let m = load(&*s, &mid_arg(&call)?)?;
        let ver = call.arg("ver").and_then(Value::as_str).unwrap_or("last");
        let cid = m.cid_of(ver).map_err(|e| ApiError::not_found(e.to_string()))?;
        // `cur` may be a working copy that is no numbered version.
        let v = if matches!(ver, "" | "cur") && m.cur.is_some() {
            json!("cur")
        } else {
            json!(m.resolve(ver).map_err(|e| ApiError::not_found(e.to_string()))?)
        };
        Ok(json!({"ver": v, "cid": cid.to_string()}))
    });
}

/// The MiMeis made on this node by `author` (what the per-user quota counts), from the store's
/// index by author.
pub(super) fn count_authored<B: Backend>(s: &B, author: &[u8; 32]) -> Result<usize, ApiError> {
    Ok(s.authored_mimeis(&proto_core::identity::node_id_of(author)).map_err(ApiError::internal)?.len())
}
