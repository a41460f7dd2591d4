//! Bitswap 1.2.0 (with 1.1.0 / 1.0.0 peers) as one sans-IO machine: the server engine that
//! answers peers' wantlists from this node's blocks, and the client that fetches blocks in
//! sessions, spreading want-blocks over the peers that have them.
//!
//! Driving it: the driver decodes each length-prefixed message (≤ [`MAX_MESSAGE`]) of a peer's
//! inbound bitswap stream with [`Message::decode`] and gives it as [`Input::Message`]; it reports
//! connections ([`Input::Connected`] with the version its outbound stream negotiated,
//! [`Input::Disconnected`]). After any `handle_*`, `want` or `cancel` it drains
//! [`Bitswap::poll_output`] and does each output in order:
//! - [`Output::Send`]: write `msg.encode()` length-prefixed on the outbound stream to `to`;
//! - [`Output::Load`] / [`Output::Has`]: read storage and answer with [`Input::Loaded`] /
//!   [`Input::Held`] (every one must be answered, or that peer's replies stall);
//! - [`Output::Received`]: a block that verified; store it (before later outputs run);
//! - [`Output::FindProviders`]: ask the DHT, connect, then give [`Input::Providers`];
//! - [`Output::Failed`]: the session gave up on the CID.
//!
//! Then it arms one timer at [`Bitswap::poll_timeout`] and calls [`Bitswap::handle_timeout`].
//! The machine fetches exactly the CIDs it is given; walking a DAG is the driver's (it decodes
//! each received block and wants its children in the same session).

mod client;
pub mod msg;
mod server;
mod session;
#[cfg(test)]
mod tests;

pub use msg::{Block, Entry, Message, Presence, WantType, Wantlist, MAX_CID};

use crate::cid::Cid;
use crate::libp2p::PeerId;

/// The protocol ids, preferred first.
pub const PROTOCOLS: [&str; 4] = ["/ipfs/bitswap/1.2.0", "/ipfs/bitswap/1.1.0", "/ipfs/bitswap/1.0.0", "/ipfs/bitswap"];
/// Longest message read from a peer (`network.MessageSizeMax`).
pub const MAX_MESSAGE: usize = 4 << 20;

/// The bitswap version a peer speaks: want-have and presences need 1.2; 1.0 sends blocks bare.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Version {
    V1_0,
    V1_1,
    V1_2,
}

impl Version {
    /// The version of a negotiated protocol id (`/ipfs/bitswap` is 1.0.0).
    pub fn from_protocol(id: &str) -> Option<Version> {
        match id {
            "/ipfs/bitswap/1.2.0" => Some(Version::V1_2),
            "/ipfs/bitswap/1.1.0" => Some(Version::V1_1),
            "/ipfs/bitswap/1.0.0" | "/ipfs/bitswap" => Some(Version::V1_0),
            _ => None,
        }
    }
}

/// One fetch (usually the blocks of one root). The driver picks the numbers; any `u64` not in
/// use by another live session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SessionId(pub u64);

#[derive(Clone, Debug)]
pub struct Config {
    /// Wants kept per peer; further new wants are dropped silently (boxo: 1024).
    pub max_wants_per_peer: usize,
    /// Largest message sent: replies are batched up to it, a block always whole (2 MiB).
    pub max_message: usize,
    /// Largest block accepted from a peer or sent to one (2 MiB; kubo makes ≤ 1 MiB).
    pub max_block: usize,
    /// Blocks up to this size are sent in place of a HAVE (boxo: 1024 bytes).
    pub replace_have_with_block: usize,
    /// Storage reads in flight for one peer's wants (64): bounds the loaded bytes per peer.
    pub max_lookups_per_peer: usize,
    /// A want-block with no block and no DONT_HAVE for this long (counted from the later of the
    /// send and the peer's last message) moves to another peer (5000 ms).
    pub dont_have_timeout_ms: u64,
    /// Want-blocks in flight to one peer (64): enough to keep a fast link full.
    pub max_want_blocks_per_peer: usize,
    /// Sessions at once; wants of further sessions fail (256).
    pub max_sessions: usize,
    /// Live wants per session; the rest wait in the session's queue (64).
    pub max_wants_per_session: usize,
    /// A session's first this many wants also go as want-have to every connected peer outside
    /// the session (16), so a peer that answers late still joins it and shares the load.
    pub broadcast_wants: usize,
    /// CIDs waiting in one session's queue; more fail (100 000).
    pub max_queued_per_session: usize,
    /// A session with no block for this long asks the DHT for providers (1000 ms).
    pub search_delay_ms: u64,
    /// Then it asks again this often while still stuck (60 000 ms).
    pub search_interval_ms: u64,
    /// A session with live wants and no block for this long fails them (60 000 ms).
    pub session_idle_timeout_ms: u64,
    /// Live wants are sent again this often (30 000 ms).
    pub rebroadcast_ms: u64,
    /// Unwanted or unverifiable blocks a peer may send before it is asked for nothing more (3).
    pub max_strikes: u32,
    /// Recently received blocks remembered, so a late duplicate is no strike (1024).
    pub recent_blocks: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_wants_per_peer: 1024,
            max_message: 2 << 20,
            max_block: 2 << 20,
            replace_have_with_block: 1024,
            max_lookups_per_peer: 64,
            dont_have_timeout_ms: 5000,
            max_want_blocks_per_peer: 64,
            max_sessions: 256,
            max_wants_per_session: 64,
            broadcast_wants: 16,
            max_queued_per_session: 100_000,
            search_delay_ms: 1000,
            search_interval_ms: 60_000,
            session_idle_timeout_ms: 60_000,
            rebroadcast_ms: 30_000,
            max_strikes: 3,
            recent_blocks: 1024,
        }
    }
}

#[derive(Clone, Debug)]
pub enum Input {
    /// A decoded message from a peer's inbound stream.
    Message {
        from: PeerId,
        msg: Message,
    },
    /// A connection whose outbound bitswap stream speaks `version`.
    Connected {
        peer: PeerId,
        version: Version,
    },
    Disconnected {
        peer: PeerId,
    },
    /// The answer to [`Output::Load`]: the block's bytes, or `None` when this node lacks it.
    Loaded {
        cid: Cid,
        data: Option<Vec<u8>>,
    },
    /// The answer to [`Output::Has`]: whether the block is here, and its size.
    Held {
        cid: Cid,
        have: bool,
        size: usize,
    },
    /// More peers for a session (providers the driver found and connects to).
    Providers {
        session: SessionId,
        peers: Vec<PeerId>,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub enum Output {
    /// Write `msg` on the outbound bitswap stream to `to`.
    Send { to: PeerId, msg: Message },
    /// Read a block; answer with [`Input::Loaded`].
    Load { cid: Cid },
    /// Look whether a block is here; answer with [`Input::Held`].
    Has { cid: Cid },
    /// A block that verified against its CID: store it.
    Received { session: SessionId, cid: Cid, data: Vec<u8> },
    /// The session is stuck: find providers of `cid` and give them as [`Input::Providers`].
    FindProviders { session: SessionId, cid: Cid },
    /// The session gave up on `cid` (idle timeout, cancelled, a limit).
    Failed { session: SessionId, cid: Cid, why: String },
}

/// The bitswap machine of one node: server engine and client sessions.
pub struct Bitswap {
    config: Config,
    engine: server::Engine,
    client: client::Client,
}

impl Bitswap {
    pub fn new(config: Config) -> Self {
        Bitswap { config, engine: server::Engine::default(), client: client::Client::default() }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn handle_input(&mut self, now_ms: u64, input: Input) {
        let cfg = &self.config;
        match input {
            Input::Message { from, msg } => {
                self.engine.handle_wantlist(cfg, &from, msg.wantlist);
                let got = self.client.handle_reply(now_ms, cfg, &from, msg.blocks, msg.payload, msg.presences);
                for cid in got {
                    self.engine.block_added(&cid);
                }
            }
            Input::Connected { peer, version } => {
                self.engine.connected(&peer, version);
                self.client.connected(now_ms, &peer, version);
            }
            Input::Disconnected { peer } => {
                self.engine.disconnected(&peer);
                self.client.disconnected(now_ms, cfg, &peer);
            }
            Input::Loaded { cid, data } => self.engine.loaded(cfg, &cid, data),
            Input::Held { cid, have, size } => self.engine.held(cfg, &cid, have, size),
            Input::Providers { session, peers } => self.client.providers(now_ms, cfg, session, peers),
        }
        self.client.flush(cfg);
    }

    /// Fetches `cids` in `session` (made on first use), in the order given.
    pub fn want(&mut self, now_ms: u64, session: SessionId, cids: Vec<Cid>) {
        self.client.want(now_ms, &self.config, session, cids);
        self.client.flush(&self.config);
    }

    /// Ends a session: its wants are cancelled and reported [`Output::Failed`].
    pub fn cancel(&mut self, now_ms: u64, session: SessionId) {
        self.client.cancel(now_ms, &self.config, session, "cancelled");
        self.client.flush(&self.config);
    }

    /// How many of the session's CIDs have not arrived yet (0 once done or unknown). A done
    /// session keeps its peers for more wants until `session_idle_timeout_ms` passes or it is
    /// cancelled.
    pub fn pending(&self, session: SessionId) -> usize {
        self.client.pending(session)
    }

    pub fn handle_timeout(&mut self, now_ms: u64) {
        self.client.handle_timeout(now_ms, &self.config);
        self.client.flush(&self.config);
    }

    pub fn poll_output(&mut self) -> Option<Output> {
        self.client.poll_output().or_else(|| self.engine.poll(&self.config))
    }

    pub fn poll_timeout(&self) -> Option<u64> {
        self.client.poll_timeout(&self.config)
    }
}
