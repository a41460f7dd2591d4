//! API methods of the peer network: `SwarmLocal`, `SwarmAddrs`, `SwarmPeers`, `SwarmConnect`,
//! `SwarmDisconnect`, `SwarmPing`, `DhtFindPeer`, `DhtProvide`, `DhtFindProvs`. They reach the
//! node's core through `NetHandle`, which each runtime implements on its own event loop; each
//! covers both networks, the nodes' own and the IPFS network (`ipfs_net`).

use crate::methods::ipfs::parse_cid;
use crate::methods::ipfs_net;
use crate::net::NetHandle;
use gateway::api::{ApiError, Registry};
use proto_core::dht::{self, content_key, Addr, Key, PeerInfo};
use proto_core::id::NodeId;
use proto_core::maddr::Multiaddr;
use proto_core::node::{Command, Reply};
use serde_json::{json, Value};
use std::sync::Arc;

pub fn addr_text(a: &Addr) -> String {
    Multiaddr::from_bytes(&a.0).map(|m| m.to_string()).unwrap_or_else(|_| "/invalid".into())
}

fn peer_json(p: &PeerInfo) -> Value {
    json!({"id": NodeId::from(p.id).to_string(), "addrs": p.addrs.iter().map(addr_text).collect::<Vec<_>>()})
}

fn node_id(text: &str) -> Result<Key, ApiError> {
    proto_core::peer_id::node_id(text)
        .map(Key::from)
        .map_err(|e| ApiError::bad_request(format!("invalid node id \"{text}\": {e}")))
}

fn failed(e: String) -> ApiError {
    ApiError { status: 502, message: e }
}

fn peers(h: &dyn NetHandle, c: Command) -> Result<Value, ApiError> {
    match h.call(c).map_err(failed)? {
        Reply::Peers(p) => Ok(Value::Array(p.iter().map(peer_json).collect())),
        other => Err(ApiError::internal(format!("unexpected reply {other:?}"))),
    }
}

pub fn register(reg: &mut Registry, handle: Arc<dyn NetHandle>) {
    let h = handle.clone();
    reg.register("SwarmLocal", false, move |_| {
        Ok(Value::Array(h.listen_addrs().iter().map(|a| Value::String(addr_text(a))).collect()))
    });
    let h = handle.clone();
    reg.register("SwarmAddrs", false, move |_| peers(&*h, Command::Known));
    let h = handle.clone();
    reg.register("SwarmPeers", false, move |_| {
        let mut all = peers(&*h, Command::Peers)?;
        if let Value::Array(a) = &mut all {
            a.extend(ipfs_net::peers(&*h));
        }
        Ok(all)
    });
    let h = handle.clone();
    reg.register("SwarmPing", false, move |call| ipfs_net::ping(&*h, call.str_arg(0, "peer id")?));
    let h = handle.clone();
    reg.register("SwarmConnect", true, move |call| {
        let text = call.str_arg(0, "multiaddr")?;
        let m = Multiaddr::parse(text).map_err(|e| ApiError::bad_request(e.to_string()))?;
        match h.call(Command::Connect(Addr(m.as_bytes().to_vec()))).map_err(failed)? {
            Reply::Connected(p) => Ok(peer_json(&p)),
            Reply::Ipfs(proto_core::libp2p::host::Reply::Connected(s)) => Ok(ipfs_net::summary_json(&s)),
            other => Err(ApiError::internal(format!("unexpected reply {other:?}"))),
        }
    });
    let h = handle.clone();
    reg.register("SwarmDisconnect", true, move |call| {
        let id = node_id(call.str_arg(0, "node id")?)?;
        h.call(Command::Disconnect(id)).map_err(ApiError::not_found)?;
        Ok(Value::Bool(true))
    });
    let h = handle.clone();
    reg.register("DhtFindPeer", false, move |call| {
        let text = call.str_arg(0, "node id")?;
        // A peer id of another key type (`Qm…`) can only be an IPFS peer.
        let Ok(id) = node_id(text) else {
            let peer = ipfs_net::parse_peer(text)?;
            return ipfs_net::find_peer(&*h, peer)
                .map_err(failed)?
                .ok_or_else(|| ApiError::not_found(format!("peer {text} was not found in the network")));
        };
        match h.call(Command::Dht(dht::Command::FindPeer(id))).map_err(failed)? {
            Reply::Dht(dht::Reply::Peer(Some(p))) => Ok(peer_json(&p)),
            Reply::Dht(dht::Reply::Peer(None)) => {
                let ipfs = match proto_core::libp2p::PeerId::parse(text) {
                    Ok(peer) => ipfs_net::find_peer(&*h, peer).map_err(failed)?,
                    Err(_) => None,
                };
                ipfs.ok_or_else(|| ApiError::not_found(format!("peer {text} was not found in the network")))
            }
            other => Err(ApiError::internal(format!("unexpected reply {other:?}"))),
        }
    });
    let h = handle.clone();
    reg.register("DhtProvide", true, move |call| {
        let cid = parse_cid(call.str_arg(0, "cid")?)?;
        match h.call(Command::Dht(dht::Command::Provide(content_key(&cid)))).map_err(failed)? {
            Reply::Dht(dht::Reply::Stored { peers }) => {
                let ipfs = ipfs_net::provide(&*h, &cid).map_err(failed)?;
                Ok(json!({"cid": cid.to_string(), "peers": peers, "ipfs_peers": ipfs}))
            }
            other => Err(ApiError::internal(format!("unexpected reply {other:?}"))),
        }
    });
    let h = handle;
    reg.register("DhtFindProvs", false, move |call| {
        let cid = parse_cid(call.str_arg(0, "cid")?)?;
        match h.call(Command::Dht(dht::Command::GetProviders(content_key(&cid)))).map_err(failed)? {
            Reply::Dht(dht::Reply::Providers(p)) => {
                let mut all: Vec<Value> = p.iter().map(peer_json).collect();
                all.extend(ipfs_net::find_providers(&*h, &cid).map_err(failed)?);
                Ok(Value::Array(all))
            }
            other => Err(ApiError::internal(format!("unexpected reply {other:?}"))),
        }
    });
}
