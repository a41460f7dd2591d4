//! Publishing and showing a MiMei's head on the network: `MiMeiPublish`, `MiMeiShow`,
//! `MiMeiUnpublish` (a newer record with no head replaces it) and `MiMeiUnprovide`.

use super::*;

pub(super) fn register<B: Backend>(
    reg: &mut Registry,
    store: &Arc<B>,
    users: &Arc<Users>,
    net: &Option<Arc<dyn NetHandle>>,
) {
    let (s, u, n) = (store.clone(), users.clone(), net.clone());
    reg.register("MiMeiPublish", true, move |call| {
        let mid = mid_arg(&call)?;
        let mut m = load_own(&*s, &u, &call, &mid, "publish")?;
        // Signed by the author's key, or by this node with the author's delegation.
        let signing = u.keyring.signing_for(&m.author, now_ms())?;
        // A user's MiMei names the node that writes it, for the replicas of its database.
        let node_pk = u.keyring.node_pk();
        m.head.writer = (m.author != node_pk).then_some(node_pk);
        let rec = m.head_record(signing.signer(), now_ms());
        s.put_mimei(&m).map_err(ApiError::internal)?;
        let stored = match net_call(&n, Command::Dht(dht::Command::PutRecord(rec.clone())))? {
            Reply::Dht(dht::Reply::Stored { peers }) => peers,
            _ => 0,
        };
        // The author is a provider of its own MiMei.
        let _ = net_call(&n, Command::Dht(dht::Command::Provide(mid.0)));
        // …and of its newest versions' content, announced before anyone is told to fetch it.
        for cid in m.head.versions.values().rev().take(8).filter_map(|c| c.cid()) {
            let _ = net_call(&n, Command::Dht(dht::Command::Provide(proto_core::dht::content_key(&cid))));
        }
        // Providers hear of the new head at once and fetch it (no polling).
        let notified = match net_call(&n, Command::Dht(dht::Command::GetProviders(mid.0)))? {
            Reply::Dht(dht::Reply::Providers(p)) => match net_call(&n, Command::Notify { to: p, record: rec })? {
                Reply::Dht(dht::Reply::Stored { peers }) => peers,
                _ => 0,
            },
            _ => 0,
        };
        Ok(json!({"mids": [mid.to_string()], "eol": "168h", "peers": stored, "notified": notified, "version": m.published}))
    });
    let (s, u, n) = (store.clone(), users.clone(), net.clone());
    reg.register("MiMeiUnpublish", true, move |call| {
        let mid = mid_arg(&call)?;
        let mut m = load_own(&*s, &u, &call, &mid, "publish")?;
        let signing = u.keyring.signing_for(&m.author, now_ms())?;
        let rec = m.withdrawal_record(signing.signer(), now_ms());
        s.put_mimei(&m).map_err(ApiError::internal)?;
        let stored = match net_call(&n, Command::Dht(dht::Command::PutRecord(rec)))? {
            Reply::Dht(dht::Reply::Stored { peers }) => peers,
            _ => 0,
        };
        let _ = net_call(&n, Command::Dht(dht::Command::Unprovide(mid.0)));
        Ok(json!({"mids": [mid.to_string()], "peers": stored, "version": m.published}))
    });
    let n = net.clone();
    reg.register("MiMeiUnprovide", true, move |call| {
        let mid = mid_arg(&call)?;
        match net_call(&n, Command::Dht(dht::Command::Unprovide(mid.0)))? {
            Reply::Dht(dht::Reply::Unprovided { was }) => Ok(json!({"mid": mid.to_string(), "was": was})),
            other => Err(ApiError::internal(format!("unexpected reply {other:?}"))),
        }
    });
    let (s, n) = (store.clone(), net.clone());
    reg.register("MiMeiShow", false, move |call| {
        let mid = mid_arg(&call)?;
        let local = s.get_mimei(&mid).map_err(ApiError::internal)?;
        let remote = net_head(&n, &mid).ok().flatten();
        let Some(head) = local.as_ref().map(|m| m.head.clone()).or_else(|| remote.as_ref().map(|r| r.1.clone())) else {
            return Err(ApiError::not_found(format!("MiMei {mid} is neither here nor on the network")));
        };
        let author = local
            .as_ref()
            .map(|m| m.author_id().to_string())
            .or_else(|| remote.as_ref().map(|r| proto_core::identity::node_id_of(&r.0.author).to_string()))
            .unwrap_or_default();
        let conflict: Vec<u64> = match (&local, &remote) {
            (Some(l), Some(r)) => conflicts(&l.head, &r.1),
            _ => Vec::new(),
        };
        let compare = match (&local, &remote) {
            (Some(l), Some(r)) => match l.head.versions.keys().next_back().cmp(&r.1.versions.keys().next_back()) {
                std::cmp::Ordering::Equal => "local version is same with net",
                std::cmp::Ordering::Greater => "local version is newer than net",
                std::cmp::Ordering::Less => "net version is newer than local",
            },
            (Some(_), None) => "not published",
            (None, _) => "not on this node",
        };
        Ok(json!({
            "mid": mid.to_string(),
            "author": author,
            "apptype": head.info.appid,
            "ext": head.info.ext,
            "mark": head.info.mark,
            "type": if head.info.kind == Kind::Db { "db" } else { "file" },
            "create": proto_core::ppt::rfc3339(head.created),
            "right": format!("{:x}", head.right),
            "local": local.as_ref().map(|m| head_json(&m.head)),
            "net": remote.as_ref().map(|r| head_json(&r.1)),
            "conflicts": conflict,
            "kept": local.as_ref().and_then(|m| m.conflicts.as_ref()).map(|k| k.iter().map(|(v, cs)| json!({"ver": v, "cids": cs.iter().filter_map(|c| c.cid()).map(|c| c.to_string()).collect::<Vec<_>>()})).collect::<Vec<_>>()).unwrap_or_default(),
            "compare": compare,
        }))
    });
}
