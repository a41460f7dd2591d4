//! `MiMeiFindProvs`: the providers of a MiMei, with the version each holds and where browsers reach it.

use super::*;

pub(super) fn register<B: Backend>(
    reg: &mut Registry,
    store: &Arc<B>,
    users: &Arc<Users>,
    net: Option<Arc<dyn NetHandle>>,
) {
    let (n, s, node_pk) = (net, store.clone(), users.keyring.node_pk());
    reg.register("MiMeiFindProvs", false, move |call| {
        let mid = mid_arg(&call)?;
        let provs = match net_call(&n, Command::Dht(dht::Command::GetProviders(Key(mid.0 .0))))? {
            Reply::Dht(dht::Reply::Providers(p)) => p,
            other => return Err(ApiError::internal(format!("unexpected reply {other:?}"))),
        };
        // Ask each provider which version it holds; the core waits a moment for the answers.
        let ask = Command::AskHolders { mid: mid.0, peers: provs.clone(), timeout_ms: 2000 };
        let heard = match net_call(&n, ask)? {
            Reply::Holders(h) => h,
            other => return Err(ApiError::internal(format!("unexpected reply {other:?}"))),
        };
        let me = Key::from(proto_core::identity::node_id_of(&node_pk));
        let local = s.get_mimei(&mid).ok().flatten().and_then(|m| m.last());
        Ok(Value::Array(
            provs
                .iter()
                .map(|p| {
                    let answer = heard.iter().find(|h| h.peer == p.id).map_or((None, None), |h| (h.version, h.http_port));
                    let (ver, port) = if p.id == me { (local, None) } else { answer };
                    let all = port.map(|port| http_addrs(&p.addrs, port)).unwrap_or_default();
                    // `http`: the address for anyone (a public one when there is one); `https_all`:
                    // every address, LAN ones too, for clients behind the same NAT.
                    let http = all.iter().find(|a| !gateway::template::is_private(a)).or(all.first()).cloned();
                    json!({"id": proto_core::id::NodeId::from(p.id).to_string(), "addrs": p.addrs.iter().map(addr_text).collect::<Vec<_>>(), "ver": ver, "http": http, "http_all": all})
                })
                .collect(),
        ))
    });
}
