//! Apps: `LappUpload` (an uploaded directory as the working copy of a developer's app MiMei).

use super::*;

pub(super) fn register<B: Backend>(reg: &mut Registry, store: &Arc<B>, users: &Arc<Users>) {
    // LappUpload(sid, cid, name[, appid]): the session's user is the developer; the app is
    // their file MiMei with mark `app:<developer>:<name>`, so its id is the same on every node
    // the developer uploads to. The uploaded directory becomes its working copy, `cur`.
    let (s, u) = (store.clone(), users.clone());
    reg.register("LappUpload", true, move |call| {
        let name = call.str("name")?.trim().to_string();
        if name.is_empty() || name.contains(':') || name.len() > 64 {
            return Err(ApiError::bad_request(format!(
                "app name \"{name}\" must be 1 to 64 characters without ':'"
            )));
        }
        let cid = parse_cid(call.str("cid")?)?;
        let author = u.creator(&call)?;
        let developer = proto_core::identity::node_id_of(&author).to_string();
        let info =
            Info { kind: Kind::File, appid: String::new(), ext: "app".into(), mark: format!("app:{developer}:{name}") };
        let mid = info.mid(&author);
        if let Some(want) = call.arg("app").and_then(Value::as_str).filter(|a| !a.is_empty()) {
            if want != mid.to_string() {
                return Err(ApiError {
                    status: 403,
                    message: format!(
                        "app {want} is not {developer}'s app \"{name}\" ({mid}); a developer can only upload into their own app"
                    ),
                });
            }
        }
        let mut m = match s.get_mimei(&mid).map_err(ApiError::internal)? {
            Some(m) => {
                u.check_change(&call, &m, "upload into")?;
                m
            }
            None => {
                u.check_count(&call, super::versions::count_authored(&*s, &author)?)?;
                Mimei::new(author, info, now_ms(), DEFAULT_RIGHT)
            }
        };
        // An upload writes the working copy; `MMBackup` makes it a version others can sync.
        m.set_cur(&cid).map_err(|e| ApiError::bad_request(e.to_string()))?;
        s.put_mimei(&m).map_err(ApiError::internal)?;
        Ok(json!({"appid": mid.to_string(), "name": name, "developer": developer, "ver": "cur", "cid": cid.to_string()}))
    });
}
