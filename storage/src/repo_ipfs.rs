//! The IPFS network's settings in `config.json` (`"ipfs": {…}`; absent fields keep defaults):
//! whether the node is an IPFS peer at all, whom it joins through, its DHT mode, and the limits
//! it puts on libp2p peers. libp2p peers reach the node on its peer port (told apart from nodes
//! by their first bytes).

use serde_json::{json, Value};

/// The public IPFS bootstrap peer that has a fixed address (the others are `/dnsaddr` names,
/// which need DNS TXT look-ups).
pub const PUBLIC_BOOTSTRAP: &[&str] =
    &["/ip4/104.131.131.82/tcp/4001/p2p/QmaCpDMGvV2BGHeYERUEnRQAwe3N8SzbUtfsmvsqQLuvuJ"];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DhtMode {
    Client,
    Server,
    /// Server when the node is reachable, which on a LAN or loopback it is: server.
    Auto,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpfsSettings {
    pub enabled: bool,
    /// libp2p multiaddrs dialed at start (`/ip4/…/tcp/…/p2p/…`).
    pub bootstrap: Vec<String>,
    pub dht_mode: DhtMode,
    /// libp2p connections at once.
    pub max_conns: usize,
    /// Streams open on one libp2p connection at once.
    pub max_streams_per_conn: usize,
    /// Wants kept for one peer (bitswap); more are dropped.
    pub max_wants_per_peer: usize,
}

impl Default for IpfsSettings {
    fn default() -> Self {
        IpfsSettings {
            enabled: true,
            bootstrap: PUBLIC_BOOTSTRAP.iter().map(|s| s.to_string()).collect(),
            dht_mode: DhtMode::Auto,
            max_conns: 128,
            max_streams_per_conn: 256,
            max_wants_per_peer: 1024,
        }
    }
}

impl IpfsSettings {
    pub fn to_json(&self) -> Value {
        json!({
            "enabled": self.enabled,
            "bootstrap": self.bootstrap,
            "dht_mode": match self.dht_mode { DhtMode::Client => "client", DhtMode::Server => "server", DhtMode::Auto => "auto" },
            "max_conns": self.max_conns,
            "max_streams_per_conn": self.max_streams_per_conn,
            "max_wants_per_peer": self.max_wants_per_peer,
        })
    }

    pub fn from_json(o: &Value) -> Result<Self, String> {
        if !o.is_object() {
            return Err("ipfs must be an object like {\"enabled\": false}".into());
        }
        let mut s = IpfsSettings::default();
        if let Some(x) = o.get("enabled") {
            s.enabled = x.as_bool().ok_or("ipfs.enabled must be true or false")?;
        }
        if let Some(x) = o.get("bootstrap") {
            let list = x.as_array().ok_or("ipfs.bootstrap must be a list of multiaddrs")?;
            s.bootstrap = list
                .iter()
                .map(|v| v.as_str().map(str::to_string).ok_or("ipfs.bootstrap must be a list of multiaddrs"))
                .collect::<Result<_, _>>()?;
            for b in &s.bootstrap {
                proto_core::maddr::Multiaddr::parse(b).map_err(|e| format!("ipfs.bootstrap entry {b}: {e}"))?;
            }
        }
        if let Some(x) = o.get("dht_mode") {
            s.dht_mode = match x.as_str() {
                Some("client") => DhtMode::Client,
                Some("server") => DhtMode::Server,
                Some("auto") => DhtMode::Auto,
                _ => return Err("ipfs.dht_mode must be \"client\", \"server\" or \"auto\"".into()),
            };
        }
        let positive = |k: &str, d: usize| crate::repo::positive_field(o, "ipfs", k, d);
        s.max_conns = positive("max_conns", s.max_conns)?;
        s.max_streams_per_conn = positive("max_streams_per_conn", s.max_streams_per_conn)?;
        s.max_wants_per_peer = positive("max_wants_per_peer", s.max_wants_per_peer)?;
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_errors() {
        let d = IpfsSettings::from_json(&json!({})).unwrap();
        assert!(d.enabled);
        assert_eq!(d.bootstrap.len(), 1);
        assert_eq!(IpfsSettings::from_json(&d.to_json()).unwrap(), d);
        let s = IpfsSettings::from_json(&json!({"enabled": false, "bootstrap": [], "dht_mode": "client"})).unwrap();
        assert!(!s.enabled && s.bootstrap.is_empty() && s.dht_mode == DhtMode::Client);
        for (bad, says) in [
            (json!({"enabled": 1}), "ipfs.enabled"),
            (json!({"bootstrap": ["/ip4/1.2.3.4/udp/1"]}), "ipfs.bootstrap entry"),
            (json!({"dht_mode": "full"}), "ipfs.dht_mode"),
            (json!({"max_conns": 0}), "ipfs.max_conns"),
            (json!(true), "ipfs must be an object"),
        ] {
            assert!(IpfsSettings::from_json(&bad).unwrap_err().contains(says), "{bad}");
        }
    }
}
