//! Making the node an IPFS peer: the libp2p host from the `ipfs` settings, with ring's RSA
//! verifier (the core carries no RSA code) and the node's ciphers, and its bootstrap dials.

use proto_core::dht::{Addr, CommandId};
use proto_core::identity::Identity;
use proto_core::libp2p::host::{self, Host};
use proto_core::libp2p::kad;
use proto_core::maddr::Multiaddr;
use proto_core::node::{Command, Input, Node};
use proto_core::rng::Seed;
use proto_core::time::Now;
use std::sync::Arc;
use storage::repo_ipfs::{DhtMode, IpfsSettings};

/// The host's configuration from the settings.
pub fn host_config(s: &IpfsSettings) -> host::Config {
    let mut c =
        host::Config { max_conns: s.max_conns, max_streams_per_conn: s.max_streams_per_conn, ..Default::default() };
    c.kad.mode = match s.dht_mode {
        DhtMode::Client => kad::Mode::Client,
        DhtMode::Server | DhtMode::Auto => kad::Mode::Server,
    };
    c.bitswap.max_wants_per_peer = s.max_wants_per_peer;
    c
}

/// Adds the libp2p host to `core` and dials the bootstrap peers (nobody waits for those
/// replies: their ids are outside the API's range).
pub fn enable(core: &mut Node, identity: &Identity, seed: Seed, s: &IpfsSettings, listen: &[Addr], now: Now) {
    let listen: Vec<Multiaddr> = listen.iter().filter_map(|a| Multiaddr::from_bytes(&a.0).ok()).collect();
    let ciphers = core.config().ciphers.clone();
    let host = Host::new(identity, seed, host_config(s), Arc::new(super::rsa::RingRsa), ciphers, listen);
    core.enable_ipfs(host);
    for (i, b) in s.bootstrap.iter().enumerate() {
        let Ok(addr) = Multiaddr::parse(b) else { continue };
        let id = CommandId(u64::MAX / 8 + i as u64);
        core.handle_input(now, Input::Command { id, command: Command::Ipfs(host::Command::Connect(addr)) });
    }
}
