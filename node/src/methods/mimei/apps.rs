//! Apps: `LappUpload` (a tar archive as a new version of an app MiMei) and `SetDomain`.

use super::*;

pub(super) fn register<B: Backend>(reg: &mut Registry, store: &Arc<B>, me: &Arc<Identity>) {
    let (s, id) = (store.clone(), me.clone());
    reg.register("LappUpload", true, move |call| {
        let text = call.str_arg(0, "passport")?;
        let ppt = proto_core::ppt::verify_ppt(text, None, now_ms())
            .map_err(|e| ApiError::bad_request(format!("not a valid developer passport: {e}")))?;
        let name = ppt.pairs.get("AppName").filter(|n| !n.is_empty()).ok_or_else(|| {
            ApiError::bad_request("not a developer passport: it has no AppName=<name> (lpki signppt -m AppName=…)")
        })?;
        if name.contains(':') || name.len() > 64 {
            return Err(ApiError::bad_request(format!(
                "app name \"{name}\" must be at most 64 characters without ':'"
            )));
        }
        let cid = parse_cid(call.str_arg(1, "cid")?)?;
        let developer = ppt.signer.to_string();
        let info =
            Info { kind: Kind::File, appid: String::new(), ext: "app".into(), mark: format!("app:{developer}:{name}") };
        let mid = info.mid(&id.public_key());
        if let Some(want) = call.args.get(2).and_then(Value::as_str).filter(|a| !a.is_empty()) {
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
            Some(m) => m,
            None => Mimei::new(&id, info, now_ms(), DEFAULT_RIGHT),
        };
        // An upload writes the working copy; `MMBackup` makes it a version others can sync.
        m.set_cur(&cid).map_err(|e| ApiError::bad_request(e.to_string()))?;
        s.put_mimei(&m).map_err(ApiError::internal)?;
        Ok(json!({"appid": mid.to_string(), "name": name, "developer": developer, "ver": "cur", "cid": cid.to_string()}))
    });

    // SetDomain(domain, target): `http://<domain>/` on this node serves the template page of
    // `target` (`<mid>,<appid>`, `,<appid>` or a mid with a default app); "" removes it.
    let s2 = store.clone();
    reg.register("SetDomain", true, move |call| {
        let domain = call.str_arg(0, "domain")?.trim().to_ascii_lowercase();
        let valid = !domain.is_empty()
            && domain.len() <= 253
            && domain.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
        if !valid {
            return Err(ApiError::bad_request(format!("\"{domain}\" is not a host name")));
        }
        let target = call.str_arg(1, "app")?.trim().to_string();
        let key = format!("domain/{domain}");
        if target.is_empty() {
            s2.kv_put(key.as_bytes(), None).map_err(ApiError::internal)?;
            return Ok(Value::Null);
        }
        let ok = target.split(',').filter(|p| !p.is_empty()).all(|p| Mid::parse(p).is_ok())
            && !target.split(',').all(str::is_empty);
        if !ok {
            return Err(ApiError::bad_request(format!("\"{target}\" is not <mid>, <mid>,<appid> or ,<appid>")));
        }
        s2.kv_put(key.as_bytes(), Some(target.as_bytes())).map_err(ApiError::internal)?;
        Ok(json!({"domain": domain, "target": target}))
    });

    // MMSetRight(mid, member, word): "" = the default word; MMGetRight(mid, uid) → the word.
}
