//! Ending a working copy: `MMRelease` (the current version becomes a numbered one) and
//! `MMDelVers` (versions deleted, or a DB MiMei's current data emptied).

use super::*;

pub(super) fn register<B: Backend>(reg: &mut Registry, store: &Arc<B>, users: &Arc<Users>, db_wipe: Option<DbWipe>) {
    let (s, u) = (store.clone(), users.clone());
    reg.register("MMRelease", true, move |call| {
        let mid = mid_arg(&call)?;
        let mut m = load_own(&*s, &u, &call, &mid, "change")?;
        let v = m.release(call.str("ver")?).map_err(|e| ApiError::bad_request(e.to_string()))?;
        s.put_mimei(&m).map_err(ApiError::internal)?;
        Ok(json!(v))
    });
    let (s, u) = (store.clone(), users.clone());
    reg.register("MMDelVers", true, move |call| {
        let mid = mid_arg(&call)?;
        let mut m = load_own(&*s, &u, &call, &mid, "change")?;
        let mut names: Vec<String> =
            call.rest("vers").iter().map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())).collect();
        // `cur` of a database: wipe its current data (its numbered versions stay).
        if m.head.info.kind == Kind::Db && names.iter().any(|n| n == "cur") {
            names.retain(|n| n != "cur");
            let wipe = db_wipe.as_ref().ok_or_else(|| ApiError::internal("the database is not running"))?;
            wipe(&mid).map_err(ApiError::internal)?;
            if names.is_empty() {
                return Ok(json!(["cur"]));
            }
        }
        let gone = m.delete(&names).map_err(|e| ApiError::bad_request(e.to_string()))?;
        s.put_mimei(&m).map_err(ApiError::internal)?;
        Ok(json!(gone))
    });
}
