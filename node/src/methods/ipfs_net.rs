//! The IPFS network's side of the peer methods: libp2p peers in `SwarmPeers`, `SwarmConnect`
//! to a kubo or helia peer, `SwarmPing`, and the IPFS DHT in `DhtFindPeer`, `DhtProvide` and
//! `DhtFindProvs`. Peers are shown by their peer id (`12D3KooW…`, `Qm…`) with the agent that
//! identify reported.

use crate::net::NetHandle;
use gateway::api::ApiError;
use proto_core::cid::Cid;
use proto_core::libp2p::host::{Command as P2p, PeerSummary, Reply as P2pReply};
use proto_core::libp2p::PeerId;
use proto_core::maddr::Multiaddr;
use proto_core::node::{Command, Reply};
use serde_json::{json, Value};

pub fn summary_json(s: &PeerSummary) -> Value {
    json!({
        "id": s.peer.to_text(),
        "addrs": s.addr.iter().map(Multiaddr::to_string).collect::<Vec<_>>(),
        "agent": s.agent.clone().unwrap_or_default(),
        "protocols": s.protocols,
    })
}

fn peer_json(peer: &PeerId, addrs: &[Multiaddr]) -> Value {
    json!({"id": peer.to_text(), "addrs": addrs.iter().map(Multiaddr::to_string).collect::<Vec<_>>()})
}

/// Runs an IPFS command; `Ok(None)` when the node is not an IPFS peer.
pub fn call(h: &dyn NetHandle, c: P2p) -> Result<Option<P2pReply>, String> {
    match h.call(Command::Ipfs(c)) {
        Ok(Reply::Ipfs(r)) => Ok(Some(r)),
        Ok(other) => Err(format!("unexpected reply {other:?}")),
        Err(e) if e.contains("ipfs.enabled") => Ok(None),
        Err(e) => Err(e),
    }
}

/// Connected libp2p peers (none when the node is not an IPFS peer).
pub fn peers(h: &dyn NetHandle) -> Vec<Value> {
    match call(h, P2p::Peers) {
        Ok(Some(P2pReply::Peers(p))) => p.iter().map(summary_json).collect(),
        _ => Vec::new(),
    }
}

pub fn parse_peer(text: &str) -> Result<PeerId, ApiError> {
    PeerId::parse(text).map_err(|e| ApiError::bad_request(format!("invalid peer id \"{text}\": {e}")))
}

pub fn ping(h: &dyn NetHandle, text: &str) -> Result<Value, ApiError> {
    let peer = parse_peer(text)?;
    match call(h, P2p::Ping(peer)).map_err(|e| ApiError { status: 502, message: e })? {
        Some(P2pReply::Pong { rtt_ms }) => Ok(json!({"id": text, "rtt_ms": rtt_ms})),
        None => Err(ApiError::bad_request("the IPFS network is disabled (ipfs.enabled)")),
        Some(other) => Err(ApiError::internal(format!("unexpected reply {other:?}"))),
    }
}

/// A peer's addresses from the IPFS DHT (or the connection to it).
pub fn find_peer(h: &dyn NetHandle, peer: PeerId) -> Result<Option<Value>, String> {
    match call(h, P2p::FindPeer(peer))? {
        Some(P2pReply::Peer { peer, addrs }) => Ok(Some(peer_json(&peer, &addrs))),
        _ => Ok(None),
    }
}

/// Announces a CID's multihash on the IPFS DHT: the number of peers told, `None` when the
/// node is not an IPFS peer.
pub fn provide(h: &dyn NetHandle, cid: &Cid) -> Result<Option<usize>, String> {
    match call(h, P2p::Provide { key: cid.hash().to_bytes() })? {
        Some(P2pReply::Provided { peers }) => Ok(Some(peers)),
        _ => Ok(None),
    }
}

pub fn find_providers(h: &dyn NetHandle, cid: &Cid) -> Result<Vec<Value>, String> {
    match call(h, P2p::FindProviders { key: cid.hash().to_bytes(), limit: 20 })? {
        Some(P2pReply::Providers(p)) => Ok(p.iter().map(|(id, a)| peer_json(id, a)).collect()),
        _ => Ok(Vec::new()),
    }
}
