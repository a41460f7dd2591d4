//! API methods of the peer network: `SwarmLocal`, `SwarmAddrs`, `SwarmPeers`, `SwarmConnect`,
//! `SwarmDisconnect`, `DhtFindPeer`, `DhtProvide`, `DhtFindProvs`. They reach the node's core
//! through `NetHandle`, which each runtime implements on its own event loop.

use crate::methods::ipfs::parse_cid;
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
    reg.register("SwarmPeers", false, move |_| peers(&*h, Command::Peers));
    let h = handle.clone();
    reg.register("SwarmConnect", true, move |call| {
        let text = call.str_arg(0, "multiaddr")?;
        let m = Multiaddr::parse(text).map_err(|e| ApiError::bad_request(e.to_string()))?;
        match h.call(Command::Connect(Addr(m.as_bytes().to_vec()))).map_err(failed)? {
            Reply::Connected(p) => Ok(peer_json(&p)),
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
        let id = node_id(text)?;
        match h.call(Command::Dht(dht::Command::FindPeer(id))).map_err(failed)? {
            Reply::Dht(dht::Reply::Peer(Some(p))) => Ok(peer_json(&p)),
            Reply::Dht(dht::Reply::Peer(None)) => {
                Err(ApiError::not_found(format!("peer {text} was not found in the network")))
            }
            other => Err(ApiError::internal(format!("unexpected reply {other:?}"))),
        }
    });
    let h = handle.clone();
    reg.register("DhtProvide", true, move |call| {
        let cid = parse_cid(call.str_arg(0, "cid")?)?;
        match h.call(Command::Dht(dht::Command::Provide(content_key(&cid)))).map_err(failed)? {
            Reply::Dht(dht::Reply::Stored { peers }) => Ok(json!({"cid": cid.to_string(), "peers": peers})),
            other => Err(ApiError::internal(format!("unexpected reply {other:?}"))),
        }
    });
    let h = handle;
    reg.register("DhtFindProvs", false, move |call| {
        let cid = parse_cid(call.str_arg(0, "cid")?)?;
        match h.call(Command::Dht(dht::Command::GetProviders(content_key(&cid)))).map_err(failed)? {
            Reply::Dht(dht::Reply::Providers(p)) => Ok(Value::Array(p.iter().map(peer_json).collect())),
            other => Err(ApiError::internal(format!("unexpected reply {other:?}"))),
        }
    });
}
