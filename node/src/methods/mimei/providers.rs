//! `MiMeiFindProvs`: the providers of a MiMei, with the version each holds and where browsers reach it.

use super::*;

pub(super) fn register<B: Backend>(
    reg: &mut Registry,
    store: &Arc<B>,
    me: &Arc<Identity>,
    net: Option<Arc<dyn NetHandle>>,
    answers: Arc<Answers>,
) {
    let (n, s, id, heard) = (net, store.clone(), me.clone(), answers);
    reg.register("MiMeiFindProvs", false, move |call| {
        let mid = mid_arg(&call, 0)?;
        let provs = match net_call(&n, Command::Dht(dht::Command::GetProviders(Key(mid.0 .0))))? {
            Reply::Dht(dht::Reply::Providers(p)) => p,
            other => return Err(ApiError::internal(format!("unexpected reply {other:?}"))),
        };
        // Ask each provider which version it holds; wait a moment for the answers.
        let asked = std::time::Instant::now();
        for p in &provs {
            let _ = net_call(&n, Command::SendMimei { to: p.clone(), msg: Box::new(proto_core::node::MimeiMsg::Ask { mid: mid.0 }) });
        }
        let me = Key::from(id.node_id());
        let answered = |p: &dht::PeerInfo| p.id == me || heard.since(p.id, mid.0, asked).is_some();
        let mut retried = false;
        while !provs.iter().all(answered) && asked.elapsed() < std::time::Duration::from_millis(2000) {
            // A message can be lost while two nodes replace crossing connections: ask once more.
            if !retried && asked.elapsed() > std::time::Duration::from_millis(500) {
                retried = true;
                for p in provs.iter().filter(|p| !answered(p)) {
                    let ask = Box::new(proto_core::node::MimeiMsg::Ask { mid: mid.0 });
                    let _ = net_call(&n, Command::SendMimei { to: p.clone(), msg: ask });
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let local = s.get_mimei(&mid).ok().flatten().and_then(|m| m.last());
        Ok(Value::Array(
            provs
                .iter()
                .map(|p| {
                    let (ver, port) = if p.id == me { (local, None) } else { heard.since(p.id, mid.0, asked).unwrap_or((None, None)) };
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
