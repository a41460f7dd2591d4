//! Rights of a MiMei: `MMSetRight` and `MMGetRight`.

use super::*;

pub(super) fn register<B: Backend>(reg: &mut Registry, store: &Arc<B>, me: &Arc<Identity>) {
    let (s, id) = (store.clone(), me.clone());
    reg.register("MMSetRight", true, move |call| {
        let mid = mid_arg(&call, 0)?;
        let mut m = load_own(&*s, &id.public_key(), &mid, "change")?;
        let member = call.str_arg(1, "member")?.to_string();
        let word =
            call.args.get(2).and_then(Value::as_u64).ok_or_else(|| {
                ApiError::bad_request("argument 3 (right) must be a number like 0x07276705 = 120022789")
            })?;
        m.set_right(&member, word);
        s.put_mimei(&m).map_err(ApiError::internal)?;
        Ok(Value::Null)
    });
    let s = store.clone();
    reg.register("MMGetRight", false, move |call| {
        let mid = mid_arg(&call, 0)?;
        let m = load(&*s, &mid)?;
        let uid = call.args.get(1).and_then(Value::as_str).unwrap_or_default();
        Ok(json!(m.right_of(uid).0))
    });
}
