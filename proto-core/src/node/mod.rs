//! The node as one sans-IO machine: connections (each a Noise session over length-prefixed
//! frames) and the DHT on top. The runtime only dials, accepts, moves bytes and reads clocks;
//! every decision — whom to dial, what to send, when to give up — is made here.
//!
//! Run loop: after any `handle_*` (an input, or a timeout), call `poll_output` until it returns
//! `None`, executing each output in order (`Persist` before anything after it); answer every
//! load (`LoadBlock`, `LoadHead`) with its input (`BlockLoaded`, `HeadLoaded`), at once or later.
//! Then arm one timer at `poll_timeout` and call `handle_timeout` when it fires (early is
//! harmless); `poll_timeout` changes only after a `handle_*`.

mod admission;
mod blocks;
mod conn;
mod holders;
mod ipfs;

pub use blocks::BlockMsg;
pub use holders::Holds;

/// Messages of the `mimei` protocol.
#[derive(Clone, Debug, PartialEq, Eq, minicbor::Encode, minicbor::Decode)]
pub enum MimeiMsg {
    /// The author published a new head.
    #[n(0)]
    Head {
        #[n(0)]
        record: dht::Record,
    },
    /// Which version of this MiMei do you hold? (`mimei findprovs`)
    #[n(1)]
    Ask {
        #[n(0)]
        mid: Key,
    },
    /// The answer: the newest version held, if any.
    #[n(2)]
    Holds {
        #[n(0)]
        mid: Key,
        #[n(1)]
        version: Option<u64>,
        /// The provider's HTTP port (browsers reach it at its peer address's host and this port).
        #[n(2)]
        http_port: Option<u16>,
    },
}

use crate::dht::{self, Addr, CommandId, Dht, Key, PeerInfo};
use crate::identity::Identity;
use crate::rng::Seed;
use crate::time::{Mono, Now};
use conn::Conn;
use std::collections::{BTreeMap, VecDeque};

/// A connection, named by whoever made it: the runtime for accepted ones (below 2^63), the core
/// for dials (2^63 and up).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnId(pub u64);

const DIAL_BASE: u64 = 1 << 63;

#[derive(Clone, Debug)]
pub struct Config {
    pub dht: dht::Config,
    /// Connections at once (in + out); at the limit an accept drops the oldest pending
    /// handshake, or is closed at once when there is none (`admission`).
    pub max_conns: usize,
    /// Accepted connections from one IPv4 address (or IPv6 /64) at once; more are closed at once.
    pub max_conns_per_ip: usize,
    /// Accepted connections still in their handshake at once; a new one drops the oldest.
    pub max_handshakes: usize,
    /// A connection must finish its handshake within this time.
    pub handshake_timeout_ms: u64,
    /// A connection with no traffic this long is closed.
    pub idle_timeout_ms: u64,
    /// Messages queued for a peer while its connection is being set up.
    pub max_queued: usize,
    /// A connection that has sent nothing for this long sends an empty frame, so a live peer's
    /// connection never reaches the idle timeout while a dead one does.
    pub keepalive_ms: u64,
    /// The cipher of the sessions this node dials (the runtime picks AES-GCM on CPUs with AES
    /// instructions); accepted sessions use whatever the dialer chose.
    pub cipher: crate::session::Suite,
    /// Faster implementations of the ciphers, if the runtime has them.
    pub ciphers: crate::session::Ciphers,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            dht: dht::Config::default(),
            max_conns: 256,
            max_conns_per_ip: 16,
            max_handshakes: 64,
            handshake_timeout_ms: 10_000,
            idle_timeout_ms: 300_000,
            max_queued: 64,
            keepalive_ms: 60_000,
            cipher: crate::session::Suite::ChaChaPoly,
            ciphers: crate::session::Ciphers(None),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Dht(dht::Command),
    /// Dial an address (id learned in the handshake) and join the DHT through it.
    Connect(Addr),
    Disconnect(Key),
    /// Connected peers.
    Peers,
    /// Known peers (the routing table).
    Known,
    /// Get a block from the providers of `root` (the hash is checked before the reply).
    Fetch {
        root: crate::cid::Cid,
        cid: crate::cid::Cid,
    },
    /// Send a database replication message (`db::repl::Wire`, encoded) to a peer.
    SendDb {
        to: PeerInfo,
        body: Vec<u8>,
    },
    /// Send a MiMei protocol message to a peer.
    SendMimei {
        to: PeerInfo,
        msg: Box<MimeiMsg>,
    },
    /// Ask these peers which version of `mid` they hold; the reply (`Reply::Holders`) comes
    /// once every one answered, or after `timeout_ms` with the answers heard by then.
    AskHolders {
        mid: Key,
        peers: Vec<PeerInfo>,
        timeout_ms: u64,
    },
    /// The HTTP port this node reports when asked which version it holds (`Reply::Done`).
    SetHttpPort(Option<u16>),
    /// Tell these peers about a new signed head (a MiMei publication).
    Notify {
        to: Vec<PeerInfo>,
        record: dht::Record,
    },
    /// A command for the IPFS network (libp2p).
    Ipfs(crate::libp2p::host::Command),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    Dht(dht::Reply),
    Connected(PeerInfo),
    Disconnected,
    Peers(Vec<PeerInfo>),
    Block(Vec<u8>),
    /// The answers to `AskHolders`, in the order the peers were given.
    Holders(Vec<Holds>),
    Done,
    Ipfs(crate::libp2p::host::Reply),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommandError {
    Dht(dht::CommandError),
    ConnectFailed(String),
    NotConnected,
    TooManyConnections,
    NotFound(String),
    Busy,
    Ipfs(String),
}

impl std::fmt::Display for CommandError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CommandError::Dht(e) => e.fmt(f),
            CommandError::ConnectFailed(e) => write!(f, "cannot connect: {e}"),
            CommandError::NotConnected => write!(f, "not connected to that peer"),
            CommandError::TooManyConnections => write!(f, "the connection limit is reached"),
            CommandError::NotFound(e) => write!(f, "{e}"),
            CommandError::Busy => write!(f, "too many fetches are under way; try again shortly"),
            CommandError::Ipfs(e) => f.write_str(e),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    Dht(dht::Event),
    PeerFaulted {
        conn: ConnId,
        peer: Option<Key>,
        reason: String,
    },
    /// A valid head for a key this node provides arrived: the runtime syncs it.
    HeadUpdated {
        record: dht::Record,
    },
    /// A database replication message from an authenticated peer, for `db::subs` (which
    /// decides whether the peer may send it: entries only from the DB MiMei's author).
    DbMsg {
        peer: Key,
        body: Vec<u8>,
    },
    Connected {
        conn: ConnId,
        peer: Key,
    },
    Disconnected {
        conn: ConnId,
        peer: Option<Key>,
    },
    Ipfs(crate::libp2p::host::Event),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    Accepted {
        conn: ConnId,
        remote: Addr,
    },
    /// A dial the core asked for is up.
    Connected {
        conn: ConnId,
    },
    /// A dial failed, or a connection closed.
    Closed {
        conn: ConnId,
    },
    Bytes {
        conn: ConnId,
        bytes: Vec<u8>,
    },
    Command {
        id: CommandId,
        command: Command,
    },
    /// The runtime's answer to `Output::LoadBlock` (`None`: not here).
    BlockLoaded {
        peer: Key,
        rid: u64,
        data: Option<Vec<u8>>,
    },
    /// The runtime's answer to `Output::LoadHead`: the newest version of `mid` held here.
    HeadLoaded {
        peer: Key,
        mid: Key,
        version: Option<u64>,
    },
    /// The runtime's answer to `Output::LoadIpfsBlock`.
    IpfsBlockLoaded {
        cid: crate::cid::Cid,
        data: Option<Vec<u8>>,
    },
    /// The runtime's answer to `Output::HasIpfsBlock`.
    IpfsBlockHeld {
        cid: crate::cid::Cid,
        have: bool,
        size: usize,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// A peer wants this block: read it from the store and answer with `Input::BlockLoaded`.
    LoadBlock {
        peer: Key,
        rid: u64,
        cid: crate::cid::Cid,
    },
    /// A peer asks which version of MiMei `mid` this node holds: read it from the store and
    /// answer with `Input::HeadLoaded`.
    LoadHead {
        peer: Key,
        mid: Key,
    },
    /// An IPFS peer wants this block: answer with `Input::IpfsBlockLoaded`.
    LoadIpfsBlock {
        cid: crate::cid::Cid,
    },
    /// Whether this block is here: answer with `Input::IpfsBlockHeld`.
    HasIpfsBlock {
        cid: crate::cid::Cid,
    },
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
    Persist(Vec<dht::Write>),
    Reply {
        id: CommandId,
        result: Result<Reply, CommandError>,
    },
    Event(Event),
}

pub struct Node {
    cfg: Config,
    identity: Identity,
    seed: Seed,
    me: PeerInfo,
    dht: Dht,
    now: Now,
    conns: BTreeMap<ConnId, Conn>,
    by_peer: BTreeMap<Key, ConnId>,
    next_dial: u64,
    out: VecDeque<Output>,
    fetches: BTreeMap<u64, blocks::Fetch>,
    wants: BTreeMap<u64, u64>,
    providers: BTreeMap<Key, blocks::Providers>,
    provider_lookups: BTreeMap<u64, Key>,
    next_fid: u64,
    asks: holders::Asks,
    ipfs: Option<Box<crate::libp2p::host::Host>>,
    /// Roots no node provided when last asked, until when: their blocks come from IPFS peers.
    ipfs_roots: BTreeMap<Key, Mono>,
}

impl Node {
    pub fn new(
        cfg: Config,
        identity: Identity,
        listen: Vec<Addr>,
        seed: Seed,
        restored: dht::Restored,
        now: Now,
    ) -> Self {
        let me = PeerInfo { id: Key::from(identity.node_id()), addrs: listen };
        let dht = Dht::new(cfg.dht.clone(), me.clone(), seed.derive("dht"), restored, now);
        Node {
            cfg,
            identity,
            seed,
            me,
            dht,
            now,
            conns: BTreeMap::new(),
            by_peer: BTreeMap::new(),
            next_dial: DIAL_BASE,
            out: VecDeque::new(),
            fetches: BTreeMap::new(),
            wants: BTreeMap::new(),
            providers: BTreeMap::new(),
            provider_lookups: BTreeMap::new(),
            next_fid: 1,
            asks: holders::Asks::default(),
            ipfs: None,
            ipfs_roots: BTreeMap::new(),
        }
    }

    pub fn id(&self) -> Key {
        self.me.id
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    pub fn listen_addrs(&self) -> &[Addr] {
        &self.me.addrs
    }

    /// Takes one input; then drain `poll_output`.
    pub fn handle_input(&mut self, now: Now, input: Input) {
        self.advance(now);
        if self.ipfs_input(&input) {
            return;
        }
        match input {
            Input::Accepted { conn, remote } => self.on_accepted(conn, remote),
            Input::Connected { conn } => self.on_connected(conn),
            Input::Closed { conn } => self.on_closed(conn, None),
            Input::Bytes { conn, bytes } => self.on_bytes(conn, &bytes),
            Input::Command { id, command } => self.on_command(id, command),
            Input::BlockLoaded { peer, rid, data } => self.on_block_loaded(peer, rid, data),
            Input::HeadLoaded { peer, mid, version } => self.on_head_loaded(peer, mid, version),
            Input::IpfsBlockLoaded { cid, data } => self.ipfs_loaded(crate::libp2p::host::Input::Loaded { cid, data }),
            Input::IpfsBlockHeld { cid, have, size } => {
                self.ipfs_loaded(crate::libp2p::host::Input::Held { cid, have, size })
            }
        }
        self.drain_dht();
    }

    /// Runs what is due by `now` (the time `poll_timeout` gave, or later); then drain
    /// `poll_output`.
    pub fn handle_timeout(&mut self, now: Now) {
        self.advance(now);
        self.dht.handle_timeout(self.now);
        self.expire_wants();
        self.expire_asks();
        let now = self.now.mono;
        let expired: Vec<(ConnId, &'static str)> =
            self.conns.iter().filter_map(|(id, c)| c.expired(now, &self.cfg).map(|why| (*id, why))).collect();
        for (id, why) in expired {
            self.close(id, Some(why.to_string()));
        }
        let quiet: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, c)| c.session_established() && now.0 >= c.last_sent.0 + self.cfg.keepalive_ms)
            .map(|(id, _)| *id)
            .collect();
        for id in quiet {
            self.send_to(id, &[]);
        }
        self.ipfs_timeout();
        self.drain_dht();
    }

    /// The next output to execute; call until it returns `None` after every `handle_*`.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// When `handle_timeout` is due next (`None`: nothing is timed).
    pub fn poll_timeout(&self) -> Option<Mono> {
        let conns = self
            .conns
            .values()
            .map(|c| {
                let d = c.deadline(&self.cfg);
                if c.session_established() {
                    d.min(Mono(c.last_sent.0 + self.cfg.keepalive_ms))
                } else {
                    d
                }
            })
            .min();
        [self.dht.poll_timeout(), conns, self.next_want_deadline(), self.next_ask_deadline(), self.ipfs_deadline()]
            .into_iter()
            .flatten()
            .min()
    }

    fn advance(&mut self, now: Now) {
        self.now.mono = self.now.mono.max(now.mono);
        self.now.unix = self.now.unix.max(now.unix);
    }

    fn reply(&mut self, id: CommandId, result: Result<Reply, CommandError>) {
        self.out.push_back(Output::Reply { id, result });
    }

    fn on_command(&mut self, id: CommandId, command: Command) {
        match command {
            Command::Dht(c) => self.dht.handle_input(self.now, dht::Input::Command { id, command: c }),
            Command::Connect(addr) => {
                // An address that names its peer (`/p2p/12D3KooW…`) is that peer's or nobody's.
                let named = crate::maddr::Multiaddr::from_bytes(&addr.0).ok().and_then(|m| m.peer_key());
                let expected = match named {
                    None => None,
                    Some(Ok(key)) => Some(Key::from(crate::identity::node_id_of(&key))),
                    // Only an IPFS peer has a key of another type (RSA: `Qm…`).
                    Some(Err(_)) if self.ipfs.is_some() => {
                        let Ok(m) = crate::maddr::Multiaddr::from_bytes(&addr.0) else { return };
                        return self.ipfs_command(id, crate::libp2p::host::Command::Connect(m));
                    }
                    Some(Err(e)) => return self.reply(id, Err(CommandError::ConnectFailed(e.to_string()))),
                };
                if let Some(conn) = self.dial(addr, expected) {
                    if let Some(c) = self.conns.get_mut(&conn) {
                        c.connect_cmd = Some(id);
                    }
                } else {
                    self.reply(id, Err(CommandError::TooManyConnections));
                }
            }
            Command::Disconnect(peer) => match self.by_peer.get(&peer).copied() {
                Some(conn) => {
                    self.close(conn, None);
                    self.reply(id, Ok(Reply::Disconnected));
                }
                None => self.reply(id, Err(CommandError::NotConnected)),
            },
            Command::Peers => {
                let peers = self
                    .by_peer
                    .iter()
                    .filter_map(|(k, c)| {
                        self.conns.get(c).map(|c| PeerInfo { id: *k, addrs: c.addr.iter().cloned().collect() })
                    })
                    .collect();
                self.reply(id, Ok(Reply::Peers(peers)));
            }
            Command::Fetch { root, cid } => self.on_fetch(id, root, cid),
            Command::Notify { to, record } => {
                let body = minicbor::to_vec(MimeiMsg::Head { record }).expect("encoding to a Vec cannot fail");
                let n = to.len();
                let me = self.me.id;
                for p in to.into_iter().filter(|p| p.id != me) {
                    self.transmit(p, crate::wire::Envelope::encode(crate::wire::Proto::Mimei, body.clone()));
                }
                self.reply(id, Ok(Reply::Dht(dht::Reply::Stored { peers: n })));
            }
            Command::SendMimei { to, msg } => {
                let body = minicbor::to_vec(&*msg).expect("encoding to a Vec cannot fail");
                self.transmit(to, crate::wire::Envelope::encode(crate::wire::Proto::Mimei, body));
                self.reply(id, Ok(Reply::Dht(dht::Reply::Stored { peers: 1 })));
            }
            Command::AskHolders { mid, peers, timeout_ms } => self.on_ask_holders(id, mid, peers, timeout_ms),
            Command::SetHttpPort(port) => {
                self.asks.http_port = port;
                self.reply(id, Ok(Reply::Done));
            }
            Command::SendDb { to, body } => {
                self.transmit(to, crate::wire::Envelope::encode(crate::wire::Proto::Db, body));
                self.reply(id, Ok(Reply::Dht(dht::Reply::Stored { peers: 1 })));
            }
            Command::Ipfs(c) => self.ipfs_command(id, c),
            Command::Known => {
                let peers = self.dht.known_peers();
                self.reply(id, Ok(Reply::Peers(peers)));
            }
        }
    }

    /// Starts a dial; the session is created when the runtime says the socket is up.
    fn dial(&mut self, addr: Addr, expected: Option<Key>) -> Option<ConnId> {
        if self.conns.len() >= self.cfg.max_conns {
            return None;
        }
        let conn = ConnId(self.next_dial);
        self.next_dial += 1;
        self.conns.insert(conn, Conn::dialing(addr.clone(), expected, self.now.mono));
        self.out.push_back(Output::Dial { conn, addr });
        Some(conn)
    }

    /// Whether a connection is open in the core: after `Input::Accepted`, a runtime starts
    /// reading and writing only when it is (a refused one is closed at once).
    pub fn is_open(&self, conn: ConnId) -> bool {
        self.conns.contains_key(&conn)
    }

    /// Connections open now (dialing, in their handshake or established).
    pub fn conn_count(&self) -> usize {
        self.conns.len()
    }

    fn on_accepted(&mut self, conn: ConnId, remote: Addr) {
        match admission::admit(&self.cfg, &self.conns, admission::Source::of(&remote)) {
            admission::Admit::Yes => {}
            admission::Admit::Evict(old) => self.close(old, Some("dropped for a newer handshake".into())),
            admission::Admit::Refuse(_) => {
                self.out.push_back(Output::Close { conn });
                return;
            }
        }
        let seed = self.seed.derive(&format!("conn-{}", conn.0));
        match Conn::accepted(&self.identity, seed, remote, self.now.mono, &self.cfg) {
            Ok(c) => {
                self.conns.insert(conn, c);
            }
            Err(_) => self.out.push_back(Output::Close { conn }),
        }
    }

    fn on_connected(&mut self, conn: ConnId) {
        let seed = self.seed.derive(&format!("conn-{}", conn.0));
        let Some(c) = self.conns.get_mut(&conn) else { return };
        match c.start_initiator(&self.identity, seed, self.now.mono, &self.cfg) {
            Ok(first) => self.out.push_back(Output::Send { conn, bytes: crate::frame::encode(&first) }),
            Err(e) => self.close(conn, Some(e.to_string())),
        }
    }

    fn on_bytes(&mut self, conn: ConnId, bytes: &[u8]) {
        let Some(c) = self.conns.get_mut(&conn) else { return };
        c.last_activity = self.now.mono;
        c.got_bytes = true;
        c.reader.push(bytes);
        loop {
            let Some(c) = self.conns.get_mut(&conn) else { return };
            if c.session_established() {
                match c.decrypt_next() {
                    Ok(Some(plain)) => {
                        let peer = c.peer.expect("established sessions know their peer");
                        self.route(peer, plain);
                    }
                    Ok(None) => return,
                    Err(e) => return self.close(conn, Some(e.to_string())),
                }
                continue;
            }
            let frame = match c.reader.next_frame() {
                Ok(Some(f)) => f,
                Ok(None) => return,
                Err(e) => return self.close(conn, Some(e.to_string())),
            };
            match c.handshake(&frame) {
                Ok(reply) => {
                    if let Some(r) = reply {
                        self.out.push_back(Output::Send { conn, bytes: crate::frame::encode(&r) });
                    }
                    if let Some(peer) = c.peer.filter(|_| c.session_established()) {
                        self.on_established(conn, peer);
                    }
                }
                Err(e) => return self.close(conn, Some(e.to_string())),
            }
        }
    }

    fn on_established(&mut self, conn: ConnId, peer: Key) {
        if peer == self.me.id {
            return self.close(conn, Some("connected to ourselves".into()));
        }
        let (established, mut conn) = (conn, conn);
        if let Some(old) = self.by_peer.insert(peer, conn) {
            if old != conn {
                // One connection per peer; the other one's queue and Connect move over. Keep the
                // newest, except when the two ends dialed each other at once: then both keep the
                // one the smaller id dialed (each keeping its newest would close both).
                let dialed = |c: ConnId| c.0 >= DIAL_BASE;
                let keep_old = dialed(old) != dialed(conn) && dialed(old) == (self.me.id < peer);
                let (keep, drop) = if keep_old { (old, conn) } else { (conn, old) };
                self.by_peer.insert(peer, keep);
                if let Some(mut o) = self.conns.remove(&drop) {
                    if let Some(c) = self.conns.get_mut(&keep) {
                        c.queue.append(&mut o.queue);
                        c.connect_cmd = c.connect_cmd.or(o.connect_cmd);
                        c.addr = c.addr.take().or(o.addr);
                    }
                    self.out.push_back(Output::Close { conn: drop });
                }
                conn = keep;
            }
        }
        if conn == established {
            self.out.push_back(Output::Event(Event::Connected { conn, peer }));
        }
        let Some(c) = self.conns.get_mut(&conn) else { return };
        let queued = std::mem::take(&mut c.queue);
        let cmd = c.connect_cmd.take();
        let addr = c.addr.clone();
        for msg in queued {
            self.send_to(conn, &msg);
        }
        if let Some(id) = cmd {
            let info = PeerInfo { id: peer, addrs: addr.into_iter().collect() };
            // Join the DHT through this peer; the reply says who answered.
            self.dht.handle_input(
                self.now,
                dht::Input::Command {
                    id: CommandId(u64::MAX - id.0),
                    command: dht::Command::Bootstrap(vec![info.clone()]),
                },
            );
            self.reply(id, Ok(Reply::Connected(info)));
        }
    }

    /// An envelope from an authenticated peer, routed by protocol.
    fn route(&mut self, peer: Key, plain: Vec<u8>) {
        if plain.is_empty() {
            return; // a keep-alive: its arrival already counted as activity
        }
        match crate::wire::Envelope::decode_ref(&plain) {
            Ok(env) if env.proto == crate::wire::Proto::Block as u8 => self.on_block_msg(peer, env.body),
            Ok(env) if env.proto == crate::wire::Proto::Mimei as u8 => self.on_mimei_msg(peer, env.body),
            Ok(env) if env.proto == crate::wire::Proto::Db as u8 => {
                self.out.push_back(Output::Event(Event::DbMsg { peer, body: env.body.to_vec() }));
            }
            // The DHT decodes its own envelope and reports what it cannot read.
            _ => self.dht.handle_input(self.now, dht::Input::Received { from: peer, bytes: plain }),
        }
    }

    /// A head from a peer: passed on only when it verifies and this node provides its key.
    fn on_mimei_msg(&mut self, peer: Key, body: &[u8]) {
        let fault = |reason: &'static str| Output::Event(Event::Dht(dht::Event::PeerFaulted { peer, reason }));
        match minicbor::decode::<MimeiMsg>(body) {
            Ok(MimeiMsg::Head { record }) => {
                if record.verify(self.now.unix.0).is_err() {
                    return self.out.push_back(fault("invalid head record"));
                }
                if self.dht.provides(&record.key) {
                    self.out.push_back(Output::Event(Event::HeadUpdated { record }));
                }
            }
            Ok(MimeiMsg::Ask { mid }) => self.out.push_back(Output::LoadHead { peer, mid }),
            Ok(MimeiMsg::Holds { mid, version, http_port }) => self.on_holds(peer, mid, version, http_port),
            Err(_) => self.out.push_back(fault("undecodable mimei message")),
        }
    }

    fn send_to(&mut self, conn: ConnId, plain: &[u8]) {
        let now = self.now.mono;
        let Some(c) = self.conns.get_mut(&conn) else { return };
        c.last_sent = now;
        match c.encrypt_frame(plain) {
            Ok(bytes) => self.out.push_back(Output::Send { conn, bytes }),
            Err(e) => self.close(conn, Some(e.to_string())),
        }
    }

    fn close(&mut self, conn: ConnId, fault: Option<String>) {
        self.on_closed(conn, fault);
        self.out.push_back(Output::Close { conn });
    }

    fn on_closed(&mut self, conn: ConnId, fault: Option<String>) {
        let Some(c) = self.conns.remove(&conn) else { return };
        if let (Some(expected), false) = (c.expected, c.session_established()) {
            // A dial that never became a session: the DHT's requests to that peer fail now.
            self.dht.peer_unreachable(self.now, &expected);
        }
        if let Some(p) = c.peer {
            if self.by_peer.get(&p) == Some(&conn) {
                self.by_peer.remove(&p);
            }
        }
        if let Some(reason) = fault {
            self.out.push_back(Output::Event(Event::PeerFaulted { conn, peer: c.peer, reason: reason.clone() }));
            if let Some(id) = c.connect_cmd {
                self.reply(id, Err(CommandError::ConnectFailed(reason)));
            }
        } else if let Some(id) = c.connect_cmd {
            self.reply(id, Err(CommandError::ConnectFailed("the connection closed".into())));
        }
        self.out.push_back(Output::Event(Event::Disconnected { conn, peer: c.peer }));
    }

    /// Moves the DHT's outputs out, turning its transmissions into sends and dials.
    fn drain_dht(&mut self) {
        while let Some(o) = self.dht.poll_output() {
            match o {
                dht::Output::Transmit { to, bytes } => self.transmit(to, bytes),
                dht::Output::Persist(w) => self.out.push_back(Output::Persist(w)),
                dht::Output::Reply { id, result } if Node::is_internal(id) => {
                    let found = match result {
                        Ok(dht::Reply::Providers(p)) => p,
                        _ => Vec::new(),
                    };
                    self.on_providers(id.0, found);
                }
                // Replies to the bootstraps that Connect starts are internal.
                dht::Output::Reply { id, .. } if id.0 > u64::MAX / 2 => {}
                dht::Output::Reply { id, result } => self.reply(id, result.map(Reply::Dht).map_err(CommandError::Dht)),
                dht::Output::Event(e) => self.out.push_back(Output::Event(Event::Dht(e))),
            }
        }
    }

    fn transmit(&mut self, to: PeerInfo, bytes: Vec<u8>) {
        if let Some(&conn) = self.by_peer.get(&to.id) {
            if self.conns.get(&conn).is_some_and(Conn::session_established) {
                return self.send_to(conn, &bytes);
            }
        }
        // Any other live session with the peer (both sides may have dialed).
        let live = self.conns.iter().find(|(_, c)| c.peer == Some(to.id) && c.session_established()).map(|(id, _)| *id);
        if let Some(conn) = live {
            return self.send_to(conn, &bytes);
        }
        // A dial to this peer already under way takes the message in its queue.
        let max = self.cfg.max_queued;
        if let Some(c) = self.conns.values_mut().find(|c| c.expected == Some(to.id) && !c.session_established()) {
            if c.queue.len() < max {
                c.queue.push(bytes);
            }
            return;
        }
        // No address given (an answer to a peer, say): the routing table may know one.
        let addr = to.addrs.first().cloned().or_else(|| {
            self.dht.known_peers().into_iter().find(|p| p.id == to.id).and_then(|p| p.addrs.first().cloned())
        });
        let Some(addr) = addr else { return };
        if let Some(conn) = self.dial(addr, Some(to.id)) {
            if let Some(c) = self.conns.get_mut(&conn) {
                c.queue.push(bytes);
            }
        }
    }
}
