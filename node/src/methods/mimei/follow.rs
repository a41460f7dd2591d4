//! Following a MiMei: `MiMeiSync` (the newest version from its providers) and `MiMeiProvide`.

use super::*;

/// `MiMeiSync` of `mid`: the newest head from the network with every version's DAG and what
/// the versions reference; referenced MiMeis are synced `depth` levels down.
fn sync_mimei<B: Backend>(s: &Arc<B>, n: &Option<Arc<dyn NetHandle>>, mid: &Mid, depth: u8) -> Result<Value, ApiError> {
    let (rec, head) =
        net_head(n, mid)?.ok_or_else(|| ApiError::not_found(format!("MiMei {mid} is not published on the network")))?;
    let net = n.clone().ok_or_else(|| ApiError::internal("this node has no peer network"))?;
    let mut blocks = 0;
    for c in head.versions.values().filter_map(|c| c.cid()) {
        blocks += fetch_dag(s, &net, &c)?;
    }
    // What the versions reference comes too: CIDs with their DAGs, and MiMeis (one level).
    let refs: std::collections::BTreeSet<&String> =
        head.refs.iter().flat_map(|r| r.values()).flat_map(|r| r.keys()).collect();
    for c in refs.iter().filter_map(|r| Cid::parse(r).ok()) {
        blocks += fetch_dag(s, &net, &c)?;
    }
    let local = s.get_mimei(mid).map_err(ApiError::internal)?;
    // The follower decides (the same machine the simulator runs): only a newer publication by
    // the author replaces what is held; an older or forged one never does.
    let mut f = proto_core::mimei::follow::HeadFollower::new(*mid);
    if let Some(l) = &local {
        f.head = Some(l.head.clone());
        f.record_version = l.published;
    }
    let keep = f.on_record(&rec, now_ms()) == proto_core::mimei::follow::Seen::Newer;
    if keep {
        let mut m = Mimei {
            author: rec.author,
            head: head.clone(),
            published: rec.version,
            members: None,
            conflicts: None,
            cur: None,
            home: None,
            cur_refs: None,
        };
        if let Some(l) = &local {
            // What the replaced head said differently stays, as a conflict.
            m.keep_conflicts_with(&l.head, l.conflicts.as_ref());
            m.members = l.members.clone();
            m.cur = l.cur.clone();
            m.home = l.home;
            m.cur_refs = l.cur_refs.clone();
        }
        s.put_mimei(&m).map_err(ApiError::internal)?;
    } else if let Some(mut l) = local.clone().filter(|l| !conflicts(&l.head, &head).is_empty()) {
        // An older publication that disagrees: kept as a conflict too.
        let earlier = l.conflicts.clone();
        l.keep_conflicts_with(&head, earlier.as_ref());
        s.put_mimei(&l).map_err(ApiError::internal)?;
    }
    let mut referenced = Vec::new();
    if depth > 0 {
        let mids = refs.iter().filter(|r| Cid::parse(r).is_err()).filter_map(|r| Mid::parse(r).ok());
        for other in mids.filter(|m| m != mid) {
            // A referenced MiMei that cannot be had now is reported, not fatal.
            let done = sync_mimei(s, n, &other, depth - 1).map(|_| "synced").unwrap_or("not found");
            referenced.push(json!({"mid": other.to_string(), "sync": done}));
        }
    }
    Ok(json!({"mid": mid.to_string(), "versions": head.versions.len(), "blocks": blocks, "referenced": referenced}))
}

pub(super) fn register<B: Backend>(reg: &mut Registry, store: &Arc<B>, net: &Option<Arc<dyn NetHandle>>) {
    let (s, n) = (store.clone(), net.clone());
    let sync = move |mid: &Mid| sync_mimei(&s, &n, mid, 1);
    let sync = Arc::new(sync);
    let sy = sync.clone();
    reg.register("MiMeiSync", true, move |call| sy(&mid_arg(&call)?));
    let (sy, n) = (sync, net.clone());
    reg.register("MiMeiProvide", true, move |call| {
        let mid = mid_arg(&call)?;
        let r = sy(&mid)?;
        let peers = match net_call(&n, Command::Dht(dht::Command::Provide(mid.0)))? {
            Reply::Dht(dht::Reply::Stored { peers }) => peers,
            _ => 0,
        };
        Ok(json!({"mid": mid.to_string(), "versions": r["versions"], "peers": peers}))
    });
}
