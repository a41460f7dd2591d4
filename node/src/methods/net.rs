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
    reg.register("SwarmPing", false, move |call| ipfs_net::ping(&*h, call.str("pid")?));
    let h = handle.clone();
    reg.register("SwarmConnect", true, move |call| {
        let text = call.str("addr")?;
        let m = Multiaddr::parse(text).map_err(|e| ApiError::bad_request(e.to_string()))?;
        match h.call(Command::Connect(Addr(m.as_bytes().to_vec()))).map_err(failed)? {
            Reply::Connected(p) => Ok(peer_json(&p)),
            Reply::Ipfs(proto_core::libp2p::host::Reply::Connected(s)) => Ok(ipfs_net::summary_json(&s)),
            other => Err(ApiError::internal(format!("unexpected reply {other:?}"))),
        }
    });
    let h = handle.clone();
    reg.register("SwarmDisconnect", true, move |call| {
        let text = call.str("addr")?;
        let node = node_id(text).ok().map(|id| h.call(Command::Disconnect(id)));
        if let Some(Ok(_)) = node {
            return Ok(Value::Bool(true));
        }
        // Not a node connected to us: an IPFS peer, perhaps.
        let peer = ipfs_net::parse_peer(text)?;
        match ipfs_net::call(&*h, proto_core::libp2p::host::Command::Disconnect(peer)) {
            Ok(Some(_)) => Ok(Value::Bool(true)),
            Ok(None) => Err(ApiError::not_found(
                node.and_then(Result::err).unwrap_or_else(|| "not connected to that peer".into()),
            )),
            Err(e) => Err(ApiError::not_found(e)),
        }
    });
    let h = handle.clone();
    reg.register("DhtFindPeer", false, move |call| {
        let text = call.str("pid")?;
        let not_found = || ApiError::not_found(format!("peer {text} was not found in the network"));
        // The nodes' DHT first (a peer id of another key type, `Qm…`, can only be an IPFS
        // peer), then the IPFS DHT; the nodes' error is told when neither knows the peer.
        let mut why = None;
        if let Ok(id) = node_id(text) {
            match h.call(Command::Dht(dht::Command::FindPeer(id))) {
                Ok(Reply::Dht(dht::Reply::Peer(Some(p)))) => return Ok(peer_json(&p)),
                Ok(_) => {}
                Err(e) => why = Some(e),
            }
        }
        let peer = match ipfs_net::parse_peer(text) {
            Ok(p) => p,
            // A 27-character id names no IPFS peer: the nodes' answer is the answer. Neither
            // form: the node id's error, which names the forms an id takes.
            Err(_) => return Err(node_id(text).err().unwrap_or_else(|| why.map(failed).unwrap_or_else(not_found))),
        };
        match ipfs_net::find_peer(&*h, peer) {
            Ok(Some(p)) => Ok(p),
            Ok(None) => Err(why.map(failed).unwrap_or_else(not_found)),
            Err(e) if e.contains("not found") => Err(not_found()),
            Err(e) => Err(failed(why.unwrap_or(e))),
        }
    });
    let h = handle.clone();
    reg.register("DhtProvide", true, move |call| {
        let cid = parse_cid(call.str("cid")?)?;
        // Both networks are told; it fails only when neither could be.
        let nodes = match h.call(Command::Dht(dht::Command::Provide(content_key(&cid)))) {
            Ok(Reply::Dht(dht::Reply::Stored { peers })) => Ok(peers),
            Ok(other) => Err(format!("unexpected reply {other:?}")),
            Err(e) => Err(e),
        };
        let ipfs = ipfs_net::provide(&*h, &cid);
        match (nodes, ipfs) {
            (Err(e), Err(_) | Ok(None)) => Err(failed(e)),
            (n, i) => Ok(json!({"cid": cid.to_string(), "peers": n.unwrap_or(0), "ipfs_peers": i.ok().flatten()})),
        }
    });
    let h = handle;
    reg.register("DhtFindProvs", false, move |call| {
        let cid = parse_cid(call.str("cid")?)?;
        let nodes = match h.call(Command::Dht(dht::Command::GetProviders(content_key(&cid)))) {
            Ok(Reply::Dht(dht::Reply::Providers(p))) => Ok(p.iter().map(peer_json).collect::<Vec<_>>()),
            Ok(other) => Err(format!("unexpected reply {other:?}")),
            Err(e) => Err(e),
        };
        let ipfs = ipfs_net::find_providers(&*h, &cid);
        match (nodes, ipfs) {
            (Err(e), Err(_)) => Err(failed(e)),
            (n, i) => {
                let mut all = n.unwrap_or_default();
                all.extend(i.unwrap_or_default());
                Ok(Value::Array(all))
            }
        }
    });
}
