//! Rights of a MiMei: `MMSetRight` and `MMGetRight`.

use super::*;

pub(super) fn register<B: Backend>(reg: &mut Registry, store: &Arc<B>, users: &Arc<Users>) {
    let (s, u) = (store.clone(), users.clone());
    reg.register("MMSetRight", true, move |call| {
        let mid = mid_arg(&call)?;
        let mut m = load_own(&*s, &u, &call, &mid, "change")?;
        let member = call.str("member")?.to_string();
        let word = call
            .arg("right")
            .and_then(Value::as_u64)
            .ok_or_else(|| ApiError::bad_request("argument 3 (right) must be a number like 0x07276705 = 120022789"))?;
        m.set_right(&member, word);
        s.put_mimei(&m).map_err(ApiError::internal)?;
        Ok(Value::Null)
    });
    let s = store.clone();
    reg.register("MMGetRight", false, move |call| {
        let mid = mid_arg(&call)?;
        let m = load(&*s, &mid)?;
        let uid = call.arg("uid").and_then(Value::as_str).unwrap_or_default();
        Ok(json!(m.right_of(uid).0))
    });
}
