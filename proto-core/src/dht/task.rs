//! Bookkeeping for requests in flight, running lookups and put phases.

use super::key::Key;
use super::lookup::Lookup;
use super::message::{Msg, PeerInfo};
use super::record::Record;
use super::CommandId;
use crate::time::Mono;
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    FindNode,
    GetValue,
    GetProviders,
}

/// Why a lookup runs and what happens when it ends.
#[derive(Clone, Debug)]
pub(super) enum Goal {
    Bootstrap(Option<CommandId>),
    Refresh,
    FindPeer(CommandId),
    FindClosest(CommandId),
    GetRecord(CommandId),
    GetProviders(CommandId),
    /// Store the record on the closest peers found.
    Put(Record, Option<CommandId>),
    /// Announce ourselves as provider to the closest peers found.
    Provide(Key, Option<CommandId>),
}

impl Goal {
    pub(super) fn command(&self) -> Option<CommandId> {
        match self {
            Goal::Bootstrap(c) | Goal::Put(_, c) | Goal::Provide(_, c) => *c,
            Goal::Refresh => None,
            Goal::FindPeer(c) | Goal::FindClosest(c) | Goal::GetRecord(c) | Goal::GetProviders(c) => Some(*c),
        }
    }
}

pub(super) struct Task {
    pub lookup: Lookup,
    pub kind: Kind,
    pub goal: Goal,
    /// FindPeer: the target answered us itself (so it is alive at these addresses).
    pub found: Option<PeerInfo>,
    pub best: Option<Record>,
    pub providers: BTreeMap<Key, PeerInfo>,
}

impl Task {
    pub(super) fn new(lookup: Lookup, kind: Kind, goal: Goal) -> Self {
        Task { lookup, kind, goal, found: None, best: None, providers: BTreeMap::new() }
    }

    /// Whether the lookup may stop before the k closest have answered.
    pub(super) fn done_early(&self, enough_providers: usize) -> bool {
        match self.goal {
            Goal::FindPeer(_) => self.found.is_some(),
            Goal::GetProviders(_) => self.providers.len() >= enough_providers,
            _ => false,
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub(super) enum Purpose {
    Ping,
    Lookup(u64),
    Put(u64),
}

#[derive(Clone, Debug)]
pub(super) struct Pending {
    pub peer: Key,
    pub deadline: Mono,
    pub purpose: Purpose,
    /// The request, kept for one retry of lookup requests (a single lost packet must not drop
    /// a peer from a lookup).
    pub retry: Option<(PeerInfo, Msg)>,
}

pub(super) struct PutTask {
    pub command: Option<CommandId>,
    pub waiting: usize,
    pub acks: usize,
}
