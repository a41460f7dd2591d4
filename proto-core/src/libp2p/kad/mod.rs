//! The IPFS Kademlia DHT (`/ipfs/kad/1.0.0`, LAN `/ipfs/lan/kad/1.0.0`) as a sans-IO machine:
//! a server answering FIND_NODE, GET_PROVIDERS, ADD_PROVIDER, GET_VALUE, PUT_VALUE and PING as
//! kubo 0.22 does, and a client running iterative lookups (find node / peer, providers, values,
//! provide, put, bootstrap with bucket refresh) on the 256-bit SHA-256 key space.
//!
//! Driving it: the connection driver owns the streams. It feeds each decoded inbound request
//! as [`Input::Request`] (the machine answers it at once: after draining [`Kad::poll_output`]
//! there is a [`Output::Respond`] for it, or a [`Output::Reset`] — reset the stream — or, for
//! ADD_PROVIDER, nothing), each [`Output::Send`] as a request on a stream to `to`, and its answer
//! or failure back as [`Input::Response`] / [`Input::Failed`] with the same [`RequestId`].
//! Inbound and outbound request ids are separate name spaces: the driver picks the inbound ones,
//! the machine the outbound ones. Identify results come in as [`Input::PeerIdentified`]. After
//! every call drain `poll_output`, then arm a timer for [`Kad::poll_timeout`] and call
//! [`Kad::handle_timeout`] then (early or late is harmless). Time is `now_ms`, monotonic
//! milliseconds; randomness comes from the seed.
//!
//! Why not `crate::dht`'s routing table and lookup: those are typed on its 160-bit node id that
//! *is* the peer's name and address key, with its own `PeerInfo`; here a peer is named by a
//! variable-length multihash (`PeerId`) and placed by the SHA-256 of it, lists carry opaque
//! multiaddrs, and kubo's membership rules differ (no ping of the oldest entry; only peers that
//! serve the protocol). Making those generic would change the project DHT's types and persisted
//! layout, so kad has its own, small `table` and `query`.

mod addrbook;
mod client;
pub mod ipns;
pub mod key;
pub mod msg;
mod providers;
mod query;
pub mod records;
mod serve;
mod table;
#[cfg(test)]
mod tests;

pub use key::{Distance, Key};
pub use msg::{KadPeer, Message, MessageType, Record};
pub use records::RecordError;

use crate::libp2p::keys::{NoRsa, RsaVerifier};
use crate::libp2p::PeerId;
use crate::rng::{Rng, Seed};
use addrbook::AddrBook;
use client::{Pending, Query};
use providers::Providers;
use records::Records;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use table::Table;

pub const PROTOCOL: &str = "/ipfs/kad/1.0.0";
pub const LAN_PROTOCOL: &str = "/ipfs/lan/kad/1.0.0";
/// Largest kad message either way (`network.MessageSizeMax`, 4 MiB).
pub const MAX_MESSAGE: usize = 4 << 20;

/// Server: answer requests and be listed in identify. Client: neither (the driver registers
/// the protocol only in server mode; requests that still arrive are reset).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Client,
    Server,
}

/// Every limit of the machine.
#[derive(Clone, Debug)]
pub struct Config {
    /// Bucket size and the number of closest peers answered and looked for (kubo: 20).
    pub k: usize,
    /// Requests in flight per lookup. 10 as kubo (`Concurrency`): our lookups are as fast as
    /// kubo's and load each peer no more than kubo's do.
    pub alpha: usize,
    /// Lookups for providers, values, a peer's addresses and bucket refreshes end when the β
    /// closest candidates that did not fail have answered (kubo's `Resiliency`, 3). Lookups for
    /// the k closest (FindNode, Provide, PutValue, Bootstrap) end when the k closest have.
    pub beta: usize,
    /// A request with no answer by then has failed (kubo's `dhtReadMessageTimeout`, 10 s).
    pub request_timeout_ms: u64,
    /// A query still running then ends with what it has (`timed_out` in its stats).
    pub query_timeout_ms: u64,
    /// How long a provider announcement is served (kubo's `ProvideValidity`, 48 h).
    pub provider_ttl_ms: u64,
    pub max_provider_keys: usize,
    pub max_providers_per_key: usize,
    pub max_records: usize,
    /// Largest record value stored or accepted (IPNS records are at most 10 KiB).
    pub max_record_size: usize,
    /// A stored record is dropped this long after it came (kubo's `MaxRecordAge`, 36 h).
    pub max_record_age_ms: u64,
    /// Queries running at once, refreshes included; more end at once with `TooManyQueries`.
    pub max_queries: usize,
    /// Requests awaiting an answer, all queries together.
    pub max_pending: usize,
    /// A lookup asks a peer that failed again this many times (kubo's messenger retries a
    /// failed request once): one lost message must not cost a lookup its closest peer.
    pub lookup_retries: u32,
    /// Candidates a lookup tracks; the farthest beyond it are forgotten.
    pub max_candidates: usize,
    /// Peers taken from one message's closer or provider list (the rest are ignored).
    pub max_peers_per_message: usize,
    /// Addresses kept per peer.
    pub max_addrs_per_peer: usize,
    /// Peers whose addresses are remembered (the address book).
    pub max_known_peers: usize,
    /// A disconnected peer's addresses are forgotten this long after (kubo: 30 min).
    pub recent_addr_ttl_ms: u64,
    /// A table entry is dropped after this many consecutive failed requests.
    pub max_failures: u32,
    /// Before adding an identified peer, ask it FIND_NODE(its own id) and add it only if it
    /// names at least one peer (kubo's lookup check).
    pub lookup_check: bool,
    /// Self lookup and bucket refresh this often while the table is not empty (0: never).
    pub refresh_interval_ms: u64,
    /// Buckets refreshed: common prefix lengths 0 to min(this, deepest non-empty bucket).
    pub max_refresh_cpl: usize,
    /// Expired providers, records and addresses are swept this often.
    pub gc_interval_ms: u64,
    pub mode: Mode,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            k: 20,
            alpha: 10,
            beta: 3,
            request_timeout_ms: 10_000,
            query_timeout_ms: 60_000,
            provider_ttl_ms: 48 * 3_600_000,
            max_provider_keys: 65_536,
            max_providers_per_key: 64,
            max_records: 4_096,
            max_record_size: 16 * 1024,
            max_record_age_ms: 36 * 3_600_000,
            max_queries: 64,
            max_pending: 1_024,
            lookup_retries: 1,
            max_candidates: 200,
            max_peers_per_message: 40,
            max_addrs_per_peer: 16,
            max_known_peers: 4_096,
            recent_addr_ttl_ms: 30 * 60_000,
            max_failures: 2,
            lookup_check: true,
            refresh_interval_ms: 10 * 60_000,
            max_refresh_cpl: 15,
            gc_interval_ms: 3_600_000,
            mode: Mode::Server,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QueryId(pub u64);

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId(pub u64);

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// An inbound request on one of our kad streams (server mode): answered by
    /// `Output::Respond`, refused by `Output::Reset`, or (ADD_PROVIDER) neither.
    Request {
        req: RequestId,
        from: PeerId,
        from_addrs: Vec<Vec<u8>>,
        msg: Message,
    },
    /// The answer to an `Output::Send`.
    Response {
        req: RequestId,
        msg: Message,
    },
    /// An `Output::Send` failed: timeout, stream reset, dial failure, undecodable answer.
    Failed {
        req: RequestId,
    },
    /// A connected peer identified itself: its listen addrs and whether it lists our DHT
    /// protocol. Only peers that list it become routing table candidates (after the lookup
    /// check when `Config::lookup_check`); a peer that stops listing it leaves the table.
    PeerIdentified {
        peer: PeerId,
        addrs: Vec<Vec<u8>>,
        serves_dht: bool,
    },
    PeerDisconnected {
        peer: PeerId,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// The k closest peers to a peer id (or any key), as answered by them.
    FindNode(PeerId),
    /// A peer's addresses: ends as soon as someone names it with addresses.
    FindPeer(PeerId),
    /// Providers of a multihash; ends early once `limit` are found (0: no early end).
    GetProviders {
        key: Vec<u8>,
        limit: usize,
    },
    /// Announce us (at `addrs`) as a provider of a multihash to the k closest peers; also
    /// answers GET_PROVIDERS for it ourselves. Re-announcing (kubo: every 22 h) is the caller's.
    Provide {
        key: Vec<u8>,
        addrs: Vec<Vec<u8>>,
    },
    GetValue(Vec<u8>),
    /// Store a `/pk/` or `/ipns/` record on the k closest peers (and here).
    PutValue(Record),
    /// Self lookup, then one lookup of a random key per bucket (refresh).
    Bootstrap,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QueryError {
    /// The routing table is empty: add bootstrap peers first.
    NoPeers,
    TooManyQueries,
    /// A provider key must be 1–80 bytes.
    BadKey,
    BadRecord(RecordError),
    /// Provide needs our addresses (servers ignore announcements without them).
    NoAddresses,
}

/// What a query found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Found {
    /// FindNode, Bootstrap: the closest peers that answered, nearest first.
    Peers(Vec<KadPeer>),
    Peer(Option<KadPeer>),
    Providers(Vec<KadPeer>),
    /// Provide: ADD_PROVIDER messages sent.
    Provided(usize),
    Value(Option<Record>),
    /// PutValue: peers that acknowledged the record.
    Stored(usize),
    Error(QueryError),
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueryStats {
    /// Deepest discovery step among the closest peers that answered (0: all from our table).
    pub rounds: u32,
    /// Requests sent (lookup and put phases).
    pub rpcs: u32,
    pub failures: u32,
    pub elapsed_ms: u64,
    pub timed_out: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryResult {
    pub found: Found,
    pub stats: QueryStats,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// Open or reuse a stream to `to` (dial `addrs` if not connected) and write `msg`
    /// length-prefixed; with `expect_reply` read one message back as `Input::Response`.
    Send {
        req: RequestId,
        to: PeerId,
        addrs: Vec<Vec<u8>>,
        msg: Message,
        expect_reply: bool,
    },
    /// Write this answer to the inbound request `req`.
    Respond {
        req: RequestId,
        msg: Message,
    },
    /// The inbound request `req` is refused: reset its stream (kubo does on handler errors).
    Reset {
        req: RequestId,
    },
    Done {
        query: QueryId,
        result: QueryResult,
    },
}

/// The kad machine: routing table, provider and record stores, queries.
pub struct Kad {
    cfg: Config,
    local: PeerId,
    local_key: Key,
    local_addrs: Vec<Vec<u8>>,
    rng: Rng,
    now_ms: u64,
    table: Table,
    book: AddrBook,
    providers: Providers,
    records: Records,
    queries: BTreeMap<QueryId, Query>,
    query_deadlines: BTreeSet<(u64, QueryId)>,
    pending: BTreeMap<RequestId, Pending>,
    deadlines: BTreeSet<(u64, RequestId)>,
    /// Peers whose lookup check is out.
    checking: BTreeSet<PeerId>,
    next_id: u64,
    next_refresh_ms: Option<u64>,
    next_gc_ms: u64,
    out: VecDeque<Output>,
    /// Checks RSA signatures of IPNS records (none until `set_rsa_verifier`).
    rsa: std::sync::Arc<dyn RsaVerifier>,
}

impl Kad {
    pub fn new(local: PeerId, config: Config, seed: Seed) -> Self {
        let local_key = Key::of(local.as_bytes());
        Kad {
            table: Table::new(local_key, config.k, config.max_failures),
            book: AddrBook::new(config.max_known_peers, config.recent_addr_ttl_ms),
            providers: Providers::new(config.max_provider_keys, config.max_providers_per_key),
            records: Records::new(config.max_records),
            rng: seed.derive("kad").rng(),
            local,
            local_key,
            local_addrs: Vec::new(),
            now_ms: 0,
            queries: BTreeMap::new(),
            query_deadlines: BTreeSet::new(),
            pending: BTreeMap::new(),
            deadlines: BTreeSet::new(),
            checking: BTreeSet::new(),
            next_id: 1,
            next_refresh_ms: None,
            next_gc_ms: config.gc_interval_ms,
            out: VecDeque::new(),
            rsa: std::sync::Arc::new(NoRsa),
            cfg: config,
        }
    }

    /// IPNS records of RSA-keyed names are checked with `rsa` (refused without one).
    pub fn set_rsa_verifier(&mut self, rsa: std::sync::Arc<dyn RsaVerifier>) {
        self.rsa = rsa;
    }

    pub fn local_peer(&self) -> &PeerId {
        &self.local
    }

    pub fn mode(&self) -> Mode {
        self.cfg.mode
    }

    /// Switches mode (kubo's WAN DHT turns server once AutoNAT says we are public).
    pub fn set_mode(&mut self, mode: Mode) {
        self.cfg.mode = mode;
    }

    /// Our listen addresses, as FIND_NODE(our id) answers them.
    pub fn set_local_addrs(&mut self, addrs: Vec<Vec<u8>>) {
        self.local_addrs = addrs;
        self.local_addrs.truncate(self.cfg.max_addrs_per_peer);
    }

    /// Every routing table entry with its addresses (for the `dht` commands).
    pub fn routing_table(&self) -> impl Iterator<Item = (&PeerId, &[Vec<u8>])> {
        self.table.iter().map(|e| (&e.id, e.addrs.as_slice()))
    }

    pub fn table_len(&self) -> usize {
        self.table.len()
    }

    /// Keys with stored providers (ours included).
    pub fn provider_keys(&self) -> usize {
        self.providers.keys()
    }

    /// Queries running now.
    pub fn queries(&self) -> usize {
        self.queries.len()
    }

    /// A known DHT server (bootstrap peers): into the table without a lookup check.
    pub fn add_address(&mut self, peer: PeerId, mut addrs: Vec<Vec<u8>>, now_ms: u64) {
        self.advance(now_ms);
        if peer == self.local {
            return;
        }
        addrs.truncate(self.cfg.max_addrs_per_peer);
        self.table.insert(&peer, &addrs);
        self.arm_refresh();
    }

    pub fn handle_input(&mut self, now_ms: u64, input: Input) {
        self.advance(now_ms);
        match input {
            Input::Request { req, from, from_addrs, msg } => self.on_request(req, from, from_addrs, msg),
            Input::Response { req, msg } => self.on_response(req, msg),
            Input::Failed { req } => self.on_failed(req),
            Input::PeerIdentified { peer, addrs, serves_dht } => self.on_identified(peer, addrs, serves_dht),
            Input::PeerDisconnected { peer } => self.book.disconnected(&peer, self.now_ms),
        }
    }

    /// Starts a query; its result comes as `Output::Done` with this id (perhaps at once).
    pub fn command(&mut self, now_ms: u64, cmd: Command) -> QueryId {
        self.advance(now_ms);
        let id = self.fresh_query_id();
        self.start_command(id, cmd);
        id
    }

    /// Acts on what is due: request and query deadlines, refresh, expiry.
    pub fn handle_timeout(&mut self, now_ms: u64) {
        self.advance(now_ms);
        let now = self.now_ms;
        while let Some(&(at, req)) = self.deadlines.first() {
            if at > now {
                break;
            }
            self.on_failed(req);
        }
        while let Some(&(at, q)) = self.query_deadlines.first() {
            if at > now {
                break;
            }
            self.query_deadlines.pop_first();
            self.time_out_query(q);
        }
        if self.next_refresh_ms.is_some_and(|t| t <= now) {
            self.next_refresh_ms = None;
            if !self.table.is_empty() {
                let id = self.fresh_query_id();
                self.start_internal_bootstrap(id);
            }
            self.arm_refresh();
        }
        if self.next_gc_ms <= now {
            self.next_gc_ms = now.saturating_add(self.cfg.gc_interval_ms.max(1));
            self.providers.expire(now);
            self.records.expire(now);
            self.book.expire(now);
        }
    }

    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// When `handle_timeout` is next needed.
    pub fn poll_timeout(&self) -> Option<u64> {
        [
            self.deadlines.first().map(|d| d.0),
            self.query_deadlines.first().map(|d| d.0),
            self.next_refresh_ms,
            Some(self.next_gc_ms),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn advance(&mut self, now_ms: u64) {
        self.now_ms = self.now_ms.max(now_ms);
    }

    fn fresh_query_id(&mut self) -> QueryId {
        let id = QueryId(self.next_id);
        self.next_id += 1;
        id
    }

    fn fresh_request_id(&mut self) -> RequestId {
        let id = RequestId(self.next_id);
        self.next_id += 1;
        id
    }

    /// Arms the periodic refresh once the table has someone in it.
    fn arm_refresh(&mut self) {
        if self.next_refresh_ms.is_none() && self.cfg.refresh_interval_ms > 0 && !self.table.is_empty() {
            self.next_refresh_ms = Some(self.now_ms.saturating_add(self.cfg.refresh_interval_ms));
        }
    }

    /// Our own entry as a peer list names it.
    fn local_peer_entry(&self) -> KadPeer {
        KadPeer { id: self.local.clone(), addrs: self.local_addrs.clone() }
    }

    /// Takes at most `max_peers_per_message` peers of a list, never ourselves, addresses capped.
    fn accept_peers(&self, list: Vec<KadPeer>) -> Vec<KadPeer> {
        list.into_iter()
            .filter(|p| p.id != self.local)
            .take(self.cfg.max_peers_per_message)
            .map(|mut p| {
                p.addrs.truncate(self.cfg.max_addrs_per_peer);
                p
            })
            .collect()
    }
}
