//! Numbered versions of a database: `MMBackup` (cur snapshotted into a new version) and
//! `MMRestore` (a version becomes cur again).

use super::*;

pub(super) fn register<B: Backend>(
    reg: &mut Registry,
    api: &Arc<DbApi<B>>,
    announce: Option<Arc<dyn Fn(proto_core::cid::Cid) + Send + Sync>>,
) {
    // MMBackup(mid, memo) → ver: snapshot cur into a new numbered version (a database's data, a
    // file MiMei's working copy).
    let a = api.clone();
    reg.register("MMBackup", true, move |call| {
        let mid = mid_arg(&call)?;
        let raw = crate::methods::mimei::load_own(&*a.store, &a.users, &call, &mid, "back up")?;
        if raw.head.info.kind == Kind::File {
            // A file MiMei (an app): its working copy becomes the next numbered version.
            let mut m = raw;
            let v = m.backup_cur().map_err(|e| bad(e.to_string()))?;
            a.store.put_mimei(&m).map_err(ApiError::internal)?;
            if let Some(q) = queue_of(&call) {
                a.mail.post(&q, format!("ver={v}"));
            }
            return Ok(json!(v));
        }
        let mut m = a.mimei(&mid)?;
        let entries = a.db.store.entries(&prefix(&mid, 0)).map_err(fault)?;
        let bytes = snapshot::encode(&entries);
        let cid = crate::content::import::import_bytes(&*a.store, &bytes).map_err(ApiError::internal)?;
        let v = m.add_snapshot(&cid).map_err(|e| bad(e.to_string()))?;
        let v32 = u32::try_from(v).map_err(|_| bad("too many versions"))?;
        a.db.work(&prefix(&mid, 0), Work::CopyTo(prefix(&mid, v32))).map_err(fault)?;
        a.store.kv_put(&[b"dbver/".as_slice(), &prefix(&mid, v32)].concat(), Some(b"1")).map_err(ApiError::internal)?;
        a.store.put_mimei(&m).map_err(ApiError::internal)?;
        let _ = a.store.pin_add(&cid);
        // Other nodes fetch the snapshot like any content: this node provides it.
        if let Some(announce) = &announce {
            announce(cid);
        }
        // The original reports a backup's end as a message (scripts poll PullMsg for `ver=N`).
        if let Some(q) = queue_of(&call) {
            a.mail.post(&q, format!("ver={v}"));
        }
        Ok(json!(v))
    });

    // MMRestore(mid, ver) → ver: a version becomes `cur` again — a file MiMei's working copy,
    // or a database's data (its replicas follow by snapshot).
    let a = api.clone();
    reg.register("MMRestore", true, move |call| {
        let mid = mid_arg(&call)?;
        let ver = call.str("ver")?;
        let mut m = crate::methods::mimei::load_own(&*a.store, &a.users, &call, &mid, "change")?;
        if m.head.info.kind == Kind::File {
            let v = m.restore(ver).map_err(|e| bad(e.to_string()))?;
            a.store.put_mimei(&m).map_err(ApiError::internal)?;
            return Ok(json!(v));
        }
        if matches!(ver, "" | "cur") {
            return Err(bad("restore a numbered version (or last, release) into cur"));
        }
        let v = m.resolve(ver).map_err(|e| bad(e.to_string()))?;
        let (from, _) = a.version_prefix(&mid, ver)?;
        a.db.work(&prefix(&mid, 0), Work::Restore(from)).map_err(fault)?;
        Ok(json!(v))
    });
}
