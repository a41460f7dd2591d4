//! The versions of a MiMei this node authors: `MMCreate`, `MFSetCid`, `MMGetCid`.

use super::*;

pub(super) fn register<B: Backend>(reg: &mut Registry, store: &Arc<B>, me: &Arc<Identity>, entropy: fn() -> [u8; 32]) {
    let (s, id) = (store.clone(), me.clone());
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
        let mid = info.mid(&id.public_key());
        if s.get_mimei(&mid).map_err(ApiError::internal)?.is_none() {
            s.put_mimei(&Mimei::new(&id, info, now_ms(), right)).map_err(ApiError::internal)?;
        }
        Ok(Value::String(mid.to_string()))
    });
    let (s, id) = (store.clone(), me.clone());
    reg.register("MFSetCid", true, move |call| {
        let mid = mid_arg(&call, 0)?;
        let cid = parse_cid(call.str_arg(1, "cid")?)?;
        let mut m = load(&*s, &mid)?;
        if m.author != id.public_key() {
            return Err(ApiError {
                status: 403,
                message: format!("only the author ({}) can change MiMei {mid}", m.author_id()),
            });
        }
        let v = m.set_cid(&cid).map_err(|e| ApiError::bad_request(e.to_string()))?;
        s.put_mimei(&m).map_err(ApiError::internal)?;
        Ok(json!({"mid": mid.to_string(), "cid": cid.to_string(), "ver": v}))
    });
    let s = store.clone();
    reg.register("MMGetCid", false, move |call| {
        let m = load(&*s, &mid_arg(&call, 0)?)?;
        let ver = call.args.get(1).and_then(Value::as_str).unwrap_or("last");
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
