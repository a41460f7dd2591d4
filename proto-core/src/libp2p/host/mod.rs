//! The node's libp2p side as one sans-IO machine: its libp2p connections (each a
//! [`Connection`]), identify and ping on every one, the IPFS DHT ([`Kad`]) and bitswap
//! ([`Bitswap`]) on top, and the commands the API gives (`swarm connect`, `ping`, `dht
//! findpeer`, fetching a block from IPFS peers). The node machine hands it the connections whose
//! first bytes are multistream-select and the dials it makes; it never touches a socket.
//!
//! Verbs: [`Host::handle_input`], [`Host::command`], [`Host::handle_timeout`],
//! [`Host::poll_output`] (until `None` after each call), [`Host::poll_timeout`].

mod streams;
mod wiring;

use super::bitswap::{self, Bitswap};
use super::conn::{ConnConfig, Connection};
use super::identify::Identify;
use super::kad::{self, Kad};
use super::keys::{PublicKey, RsaVerifier};
use super::PeerId;
use crate::cid::Cid;
use crate::dht::{Addr, CommandId};
use crate::identity::Identity;
use crate::maddr::Multiaddr;
use crate::node::ConnId;
use crate::rng::Seed;
use crate::session::Ciphers;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use streams::Handler;

/// Dials the host makes are numbered from here (the node's own dials start at 2^63).
pub const DIAL_BASE: u64 = (1 << 63) | (1 << 62);

#[derive(Clone, Debug)]
pub struct Config {
    pub conn: ConnConfig,
    pub kad: kad::Config,
    pub bitswap: bitswap::Config,
    /// libp2p connections at once; more accepted ones are closed at once.
    pub max_conns: usize,
    /// Streams open on one connection at once; more inbound ones are reset.
    pub max_streams_per_conn: usize,
    /// Bytes queued for one peer's bitswap stream beyond what yamux takes; more messages are
    /// dropped (the peer asks again).
    pub max_bitswap_queue: usize,
    /// What identify says this node is.
    pub agent: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            conn: ConnConfig::default(),
            kad: kad::Config::default(),
            bitswap: bitswap::Config::default(),
            max_conns: 128,
            max_streams_per_conn: 256,
            max_bitswap_queue: 8 << 20,
            agent: concat!("leither/", env!("CARGO_PKG_VERSION")).to_string(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Dial `/ip4|ip6|dns…/tcp/…[/p2p/<id>]`; the reply comes once the peer identified itself.
    Connect(Multiaddr),
    Disconnect(PeerId),
    Peers,
    Ping(PeerId),
    FindPeer(PeerId),
    /// Providers of a multihash on the IPFS DHT.
    FindProviders {
        key: Vec<u8>,
        limit: usize,
    },
    /// Announce that this node provides a multihash.
    Provide {
        key: Vec<u8>,
    },
    /// A block from the IPFS network (connected peers first, then the DHT's providers); the
    /// reply carries bytes that hash to `cid`.
    Fetch {
        root: Cid,
        cid: Cid,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerSummary {
    pub peer: PeerId,
    pub addr: Option<Multiaddr>,
    pub agent: Option<String>,
    pub protocols: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    Connected(PeerSummary),
    Disconnected,
    Peers(Vec<PeerSummary>),
    Pong { rtt_ms: u64 },
    Peer { peer: PeerId, addrs: Vec<Multiaddr> },
    Providers(Vec<(PeerId, Vec<Multiaddr>)>),
    Provided { peers: usize },
    Block(Vec<u8>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    Connected { conn: ConnId, peer: PeerId },
    Disconnected { conn: ConnId, peer: Option<PeerId>, why: String },
}

#[derive(Debug)]
pub enum Output {
    Dial {
        conn: ConnId,
        addr: Addr,
    },
    Send {
        conn: ConnId,
        bytes: Vec<u8>,
    },
    Close {
        conn: ConnId,
    },
    Reply {
        id: CommandId,
        result: Result<Reply, String>,
    },
    /// Read a block for bitswap: answer with [`Input::Loaded`].
    Load {
        cid: Cid,
    },
    /// Whether a block is here: answer with [`Input::Held`].
    Has {
        cid: Cid,
    },
    Event(Event),
}

pub enum Input<'a> {
    /// A connection whose first bytes were multistream-select; they follow as `Bytes`.
    Accepted {
        conn: ConnId,
        remote: Option<Multiaddr>,
    },
    /// A dial the host asked for is up.
    Connected {
        conn: ConnId,
    },
    Bytes {
        conn: ConnId,
        bytes: &'a [u8],
    },
    Closed {
        conn: ConnId,
    },
    Loaded {
        cid: Cid,
        data: Option<Vec<u8>>,
    },
    Held {
        cid: Cid,
        have: bool,
        size: usize,
    },
}

pub(crate) struct PConn {
    c: Connection,
    peer: Option<PeerId>,
    key: Option<PublicKey>,
    addr: Option<Multiaddr>,
    /// The socket is up (accepted, or the dial finished): bytes may go out.
    up: bool,
    theirs: Option<Identify>,
    handlers: BTreeMap<super::yamux::StreamId, Handler>,
    bitswap_out: Option<super::yamux::StreamId>,
    bitswap_ready: bool,
    bitswap_queue: VecDeque<Vec<u8>>,
    queued_bytes: usize,
    /// Commands waiting for this connection: `Connect` until identify, kad sends until ready.
    connect_cmd: Option<CommandId>,
    kad_waiting: Vec<(kad::RequestId, kad::Message, bool)>,
}

pub struct Host {
    identity: Identity,
    seed: Seed,
    cfg: Config,
    rsa: Arc<dyn RsaVerifier>,
    ciphers: Ciphers,
    listen: Vec<Multiaddr>,
    conns: BTreeMap<ConnId, PConn>,
    peers: BTreeMap<PeerId, ConnId>,
    kad: Kad,
    bitswap: Bitswap,
    out: VecDeque<Output>,
    next_dial: u64,
    now_ms: u64,
    /// Inbound kad requests waiting for the machine's answer.
    kad_inbound: BTreeMap<kad::RequestId, (ConnId, super::yamux::StreamId)>,
    next_req: u64,
    /// Commands waiting on kad queries, pings and fetches.
    kad_cmds: BTreeMap<kad::QueryId, (Option<CommandId>, wiring::KadAsk)>,
    fetch_cmds: BTreeMap<Cid, Vec<CommandId>>,
    ping_cmds: BTreeMap<(ConnId, super::yamux::StreamId), CommandId>,
}

impl Host {
    /// Whether a fetch has anyone to ask: a connected peer, or a DHT peer to find providers
    /// through. Without either a fetch fails at once instead of waiting out its session.
    pub fn can_search(&self) -> bool {
        !self.peers.is_empty() || self.kad.table_len() > 0
    }

    pub fn new(
        identity: &Identity,
        seed: Seed,
        cfg: Config,
        rsa: Arc<dyn RsaVerifier>,
        ciphers: Ciphers,
        listen: Vec<Multiaddr>,
    ) -> Self {
        let me = PeerId::from_ed25519(&identity.public_key());
        let mut kad = Kad::new(me, cfg.kad.clone(), seed.derive("kad"));
        kad.set_rsa_verifier(rsa.clone());
        let bitswap = Bitswap::new(cfg.bitswap.clone());
        Host {
            identity: Identity::from_seed(identity.seed()),
            seed,
            cfg,
            rsa,
            ciphers,
            listen,
            conns: BTreeMap::new(),
            peers: BTreeMap::new(),
            kad,
            bitswap,
            out: VecDeque::new(),
            next_dial: DIAL_BASE,
            now_ms: 0,
            kad_inbound: BTreeMap::new(),
            next_req: 1 << 40,
            kad_cmds: BTreeMap::new(),
            fetch_cmds: BTreeMap::new(),
            ping_cmds: BTreeMap::new(),
        }
    }

    pub fn peer_id(&self) -> PeerId {
        PeerId::from_ed25519(&self.identity.public_key())
    }

    /// Whether this machine owns the connection.
    pub fn owns(&self, conn: ConnId) -> bool {
        self.conns.contains_key(&conn)
    }

    pub fn conn_count(&self) -> usize {
        self.conns.len()
    }

    /// Peers the IPFS DHT knows (for `dht` commands).
    pub fn known(&self) -> Vec<(PeerId, Vec<Multiaddr>)> {
        self.kad
            .routing_table()
            .map(|(p, a)| (p.clone(), a.iter().filter_map(|b| Multiaddr::from_bytes(b).ok()).collect()))
            .collect()
    }

    /// Addresses the DHT may start from (bootstrap peers).
    pub fn add_known(&mut self, peer: PeerId, addrs: Vec<Multiaddr>) {
        let now = self.now_ms;
        self.kad.add_address(peer, addrs.iter().map(|a| a.as_bytes().to_vec()).collect(), now);
    }

    pub fn handle_input(&mut self, now_ms: u64, input: Input<'_>) {
        self.now_ms = self.now_ms.max(now_ms);
        match input {
            Input::Accepted { conn, remote } => self.on_accepted(conn, remote),
            Input::Connected { conn } => self.on_dialed(conn),
            Input::Bytes { conn, bytes } => self.on_bytes(conn, bytes),
            Input::Closed { conn } => self.drop_conn(conn, "the connection closed".into()),
            Input::Loaded { cid, data } => {
                self.bitswap.handle_input(self.now_ms, bitswap::Input::Loaded { cid, data });
            }
            Input::Held { cid, have, size } => {
                self.bitswap.handle_input(self.now_ms, bitswap::Input::Held { cid, have, size });
            }
        }
        self.drain();
    }

    pub fn handle_timeout(&mut self, now_ms: u64) {
        self.now_ms = self.now_ms.max(now_ms);
        let now = self.now_ms;
        let ids: Vec<ConnId> = self.conns.keys().copied().collect();
        for id in ids {
            if let Some(pc) = self.conns.get_mut(&id) {
                pc.c.handle_timeout(now);
            }
            self.pump(id);
        }
        self.kad.handle_timeout(now);
        self.bitswap.handle_timeout(now);
        self.drain();
    }

    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    pub fn poll_timeout(&self) -> Option<u64> {
        let conns = self.conns.values().filter_map(|pc| pc.c.poll_timeout()).min();
        [conns, self.kad.poll_timeout(), self.bitswap.poll_timeout()].into_iter().flatten().min()
    }

    fn supported(&self) -> Vec<String> {
        let mut p: Vec<String> =
            vec![super::identify::PROTOCOL.into(), super::identify::PUSH_PROTOCOL.into(), super::ping::PROTOCOL.into()];
        p.extend(bitswap::PROTOCOLS.iter().map(|s| s.to_string()));
        if self.kad.mode() == kad::Mode::Server {
            p.push(kad::PROTOCOL.into());
            p.push(kad::LAN_PROTOCOL.into());
        }
        p
    }

    fn on_accepted(&mut self, conn: ConnId, remote: Option<Multiaddr>) {
        if self.conns.len() >= self.cfg.max_conns {
            self.out.push_back(Output::Close { conn });
            return;
        }
        let seed = self.seed.derive(&format!("p2p-{}", conn.0));
        let c = Connection::listener(
            &self.identity,
            seed,
            self.supported(),
            self.cfg.conn.clone(),
            &self.ciphers,
            self.now_ms,
        );
        self.conns.insert(conn, PConn::new(c, remote, true));
        self.pump(conn);
    }

    /// Starts a dial to `addr` (expecting `peer` when known); `None` at the connection limit or
    /// for an address that is no TCP address.
    pub(crate) fn dial(&mut self, addr: &Multiaddr, peer: Option<PeerId>) -> Result<ConnId, String> {
        if self.conns.len() >= self.cfg.max_conns {
            return Err("the libp2p connection limit is reached".into());
        }
        if addr.to_host_port().is_none() {
            return Err(format!("{addr} is not a TCP address"));
        }
        let conn = ConnId(self.next_dial);
        self.next_dial += 1;
        let seed = self.seed.derive(&format!("p2p-{}", conn.0));
        let c = Connection::dialer(
            &self.identity,
            seed,
            peer,
            self.supported(),
            self.cfg.conn.clone(),
            &self.ciphers,
            self.now_ms,
        );
        self.conns.insert(conn, PConn::new(c, Some(addr.clone()), false));
        self.out.push_back(Output::Dial { conn, addr: Addr(addr.as_bytes().to_vec()) });
        Ok(conn)
    }

    fn on_dialed(&mut self, conn: ConnId) {
        // The dialer's first bytes were made with the connection; they go out now.
        if let Some(pc) = self.conns.get_mut(&conn) {
            pc.up = true;
        }
        self.pump(conn);
    }

    fn on_bytes(&mut self, conn: ConnId, bytes: &[u8]) {
        let now = self.now_ms;
        let Some(pc) = self.conns.get_mut(&conn) else { return };
        pc.c.handle_input(now, bytes, &*self.rsa);
        self.pump(conn);
    }

    /// Sends what the connection has for the socket and handles its events.
    fn pump(&mut self, conn: ConnId) {
        loop {
            let Some(pc) = self.conns.get_mut(&conn) else { return };
            if pc.up {
                if let Some(bytes) = pc.c.poll_transmit() {
                    self.out.push_back(Output::Send { conn, bytes });
                    continue;
                }
            }
            let Some(ev) = pc.c.poll_event() else { return };
            self.on_conn_event(conn, ev);
        }
    }

    fn drop_conn(&mut self, conn: ConnId, why: String) {
        let Some(pc) = self.conns.remove(&conn) else { return };
        if let Some(p) = &pc.peer {
            if self.peers.get(p) == Some(&conn) {
                self.peers.remove(p);
                self.kad.handle_input(self.now_ms, kad::Input::PeerDisconnected { peer: p.clone() });
                self.bitswap.handle_input(self.now_ms, bitswap::Input::Disconnected { peer: p.clone() });
            }
        }
        if let Some(id) = pc.connect_cmd {
            self.out.push_back(Output::Reply { id, result: Err(format!("cannot connect: {why}")) });
        }
        for (req, _, _) in pc.kad_waiting {
            self.kad.handle_input(self.now_ms, kad::Input::Failed { req });
        }
        for (_, h) in pc.handlers {
            self.handler_gone(conn, h);
        }
        self.ping_cmds.retain(|(c, _), id| {
            if *c == conn {
                self.out.push_back(Output::Reply { id: *id, result: Err(format!("the peer went away: {why}")) });
            }
            *c != conn
        });
        self.out.push_back(Output::Event(Event::Disconnected { conn, peer: pc.peer, why }));
    }
}

impl PConn {
    fn new(c: Connection, addr: Option<Multiaddr>, up: bool) -> Self {
        PConn {
            c,
            peer: None,
            key: None,
            addr,
            up,
            theirs: None,
            handlers: BTreeMap::new(),
            bitswap_out: None,
            bitswap_ready: false,
            bitswap_queue: VecDeque::new(),
            queued_bytes: 0,
            connect_cmd: None,
            kad_waiting: Vec::new(),
        }
    }
}
