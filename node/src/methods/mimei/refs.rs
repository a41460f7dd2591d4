//! References with the original's names: `MMAddRef(sid, mid, fileids...)`,
//! `MMDelRef(sid, mid, fileids...)` (on the working copy; a backup copies them into the new
//! version), `MMGetRef(sid, mid, ver)` and `MMGetRefs(sid, mid, vers...)`.

use super::*;

fn ids(call: &Call<'_>) -> Result<Vec<String>, ApiError> {
    let mut out = Vec::new();
    for v in call.rest("fileids") {
        match v {
            Value::String(s) => out.push(s.clone()),
            // One list argument is the same as many.
            Value::Array(a) => out.extend(a.iter().filter_map(Value::as_str).map(str::to_string)),
            other => return Err(ApiError::bad_request(format!("a reference is an id (a string), not {other}"))),
        }
    }
    Ok(out)
}

fn refs_json(r: proto_core::mimei::refs::Refs) -> Value {
    Value::Object(r.into_iter().map(|(k, v)| (k, json!(v))).collect())
}

pub(super) fn register<B: Backend>(reg: &mut Registry, store: &Arc<B>, users: &Arc<Users>) {
    let (s, u) = (store.clone(), users.clone());
    reg.register("MMAddRef", true, move |call| {
        let mid = mid_arg(&call)?;
        let mut m = load_own(&*s, &u, &call, &mid, "change")?;
        let n = m.add_refs(&ids(&call)?).map_err(|e| ApiError::bad_request(e.to_string()))?;
        s.put_mimei(&m).map_err(ApiError::internal)?;
        Ok(json!(n))
    });
    let (s, u) = (store.clone(), users.clone());
    reg.register("MMDelRef", true, move |call| {
        let mid = mid_arg(&call)?;
        let mut m = load_own(&*s, &u, &call, &mid, "change")?;
        let n = m.del_refs(&ids(&call)?);
        s.put_mimei(&m).map_err(ApiError::internal)?;
        Ok(json!(n))
    });
    let s = store.clone();
    reg.register("MMGetRef", false, move |call| {
        let m = load(&*s, &mid_arg(&call)?)?;
        crate::methods::access::readable(&call, &m)?;
        let ver = call.arg("ver").and_then(Value::as_str).unwrap_or("cur");
        Ok(refs_json(m.refs_of(ver).map_err(|e| ApiError::not_found(e.to_string()))?))
    });
    let s = store.clone();
    reg.register("MMGetRefs", false, move |call| {
        let m = load(&*s, &mid_arg(&call)?)?;
        crate::methods::access::readable(&call, &m)?;
        let mut names: Vec<String> = call.rest("vers").iter().filter_map(Value::as_str).map(str::to_string).collect();
        if names.is_empty() {
            // None named: every numbered version, then cur.
            names = m.head.versions.keys().map(u64::to_string).collect();
            names.push("cur".into());
        }
        let mut out = serde_json::Map::new();
        for n in names {
            let r = m.refs_of(&n).map_err(|e| ApiError::not_found(e.to_string()))?;
            out.insert(n, refs_json(r));
        }
        Ok(Value::Object(out))
    });
}
