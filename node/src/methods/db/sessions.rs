//! Sessions on a DB MiMei's versions: `MMOpen`, `MMClose`, the Redis-named methods on an open
//! session, `Begin`/`Commit`/`Rollback`, and `MMCommand` (any Redis command on a version).

use super::*;

pub(super) fn register<B: Backend>(reg: &mut Registry, api: &Arc<DbApi<B>>) {
    let a = api.clone();
    reg.register("MMOpen", false, move |call| a.open(&call));
    let a = api.clone();
    reg.register("MMClose", false, move |call| {
        let id = call.str_arg(0, "mmsid")?;
        if a.files.as_ref().is_some_and(|f| f.close(id)) {
            return Ok(Value::Null);
        }
        let removed = a.open.lock().map_err(|_| ApiError::internal("lock"))?.remove(id);
        if let Some(t) = removed.and_then(|o| o.tx) {
            let _ = a.db.work(&[], Work::Unwatch(t.watched));
        }
        Ok(Value::Null)
    });
    for &(name, cmd, shape) in METHODS {
        let a = api.clone();
        reg.register_on_mmsid(name, move |call| {
            let id = call.str_arg(0, "mmsid")?.to_string();
            a.exec(&id, build(cmd, shape, &call.args[1..]))
        });
    }
    let a = api.clone();
    reg.register("Begin", false, move |call| {
        let timeout = call.args.get(1).and_then(Value::as_u64).unwrap_or(0);
        a.begin(call.str_arg(0, "mmsid")?, timeout)
    });
    let a = api.clone();
    reg.register("Commit", false, move |call| a.end(call.str_arg(0, "mmsid")?, true));
    let a = api.clone();
    reg.register("Rollback", false, move |call| a.end(call.str_arg(0, "mmsid")?, false));

    // MMCommand(mid, ver, [words]): any Redis command on a version (the CLI's `mimei db`).
    let a = api.clone();
    reg.register("MMCommand", false, move |call| {
        let mid = mid_arg(&call)?;
        let ver = call.args.get(1).and_then(Value::as_str).unwrap_or("cur").to_string();
        let words: Vec<Vec<u8>> = match call.args.get(2) {
            Some(Value::Array(w)) if !w.is_empty() => w.iter().map(word).collect(),
            _ => return Err(bad("MMCommand needs the command as a list of words, like [\"SET\", \"k\", \"v\"]")),
        };
        let write = db::lookup(&words[0]).is_some_and(|c| c.is_write());
        let author = a.mimei(&mid)?.author;
        if write && !call.may_write && call.user_pk != Some(author) {
            return Err(ApiError { status: 401, message: "this command writes and needs the node's API token".into() });
        }
        let (p, is_cur) = a.version_prefix(&mid, &ver)?;
        if write && !is_cur {
            return Err(bad(if ver.is_empty() || ver == "cur" {
                "READONLY this node holds a replica of another author's database; write on the author's node"
                    .to_string()
            } else {
                format!("version {ver} is a read-only snapshot; write to cur")
            }));
        }
        let r =
            if write { a.db.submit(&p, vec![words]) } else { a.db.work(&p, Work::Run(vec![words])).map(|d| d.replies) };
        let r = r.map_err(fault)?.into_iter().next().unwrap_or(Reply::Nil);
        match r {
            Reply::Error(e) => Err(bad(e)),
            r => Ok(resp_json(r)),
        }
    });
}
