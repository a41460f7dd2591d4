//! One client session: the CIDs it still has to fetch (a queue, then at most
//! `max_wants_per_session` live wants), the peers that answered it (they get its want-blocks),
//! and its two timers: the provider search and the idle give-up.

use super::Config;
use crate::cid::{Cid, Multihash};
use crate::libp2p::PeerId;
use std::collections::{BTreeSet, VecDeque};

#[derive(Debug)]
pub(super) struct Session {
    /// Wanted but not yet live, in the order the driver gave them.
    pub(super) queue: VecDeque<Cid>,
    /// Multihashes queued or live (a CID wanted twice is fetched once).
    pub(super) wanted: BTreeSet<Multihash>,
    /// Multihashes with a live want (a `client::Want` that lists this session).
    pub(super) live: BTreeSet<Multihash>,
    /// Peers that said HAVE or sent a block, or that the DHT named.
    pub(super) peers: BTreeSet<PeerId>,
    /// Wants this session started (for `Config::broadcast_wants`).
    pub(super) started: usize,
    /// The last block, or when the session (re)started wanting.
    pub(super) progress_ms: u64,
    pub(super) next_search_ms: u64,
}

impl Session {
    pub(super) fn new(now_ms: u64, cfg: &Config) -> Self {
        Session {
            queue: VecDeque::new(),
            wanted: BTreeSet::new(),
            live: BTreeSet::new(),
            peers: BTreeSet::new(),
            started: 0,
            progress_ms: now_ms,
            next_search_ms: now_ms.saturating_add(cfg.search_delay_ms),
        }
    }

    pub(super) fn is_idle(&self) -> bool {
        self.live.is_empty() && self.queue.is_empty()
    }

    /// A block arrived (or wanting began again): both timers restart.
    pub(super) fn progress(&mut self, now_ms: u64, cfg: &Config) {
        self.progress_ms = now_ms;
        self.next_search_ms = now_ms.saturating_add(cfg.search_delay_ms);
    }

    pub(super) fn give_up_ms(&self, cfg: &Config) -> u64 {
        self.progress_ms.saturating_add(cfg.session_idle_timeout_ms)
    }

    /// The session's next deadline: its search or give-up while it wants anything, else when it
    /// is forgotten (an idle session keeps its peers that long for the driver's next wants).
    pub(super) fn deadline(&self, cfg: &Config) -> u64 {
        if self.is_idle() {
            self.give_up_ms(cfg)
        } else {
            self.next_search_ms.min(self.give_up_ms(cfg))
        }
    }

    /// The next CIDs to make live.
    pub(super) fn next_to_start(&mut self, cfg: &Config) -> Option<Cid> {
        if self.live.len() >= cfg.max_wants_per_session {
            return None;
        }
        self.queue.pop_front()
    }
}
