//! The client side: queries. Each is a lookup (`query::Lookup`) toward the SHA-256 of its key
//! with FIND_NODE, GET_PROVIDERS or GET_VALUE requests, plus a second phase for Provide
//! (ADD_PROVIDER to the k closest, no reply) and PutValue (PUT_VALUE to the k closest, echoes
//! counted). Requests time out here too (`request_timeout_ms`) so a stuck driver cannot hang a
//! query, and every query ends by `query_timeout_ms`. A peer that answers goes into the table;
//! one that fails `max_failures` times in a row leaves it.

use super::msg::{KadPeer, Message, MessageType, Record};
use super::query::{Lookup, Step};
use super::serve::provider_key_ok;
use super::{records, Command, Found, Kad, Key, Output, QueryError, QueryId, QueryResult, QueryStats, RequestId};
use crate::libp2p::PeerId;

/// Why a request is out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Purpose {
    /// kubo's lookup check of a newly identified peer before it enters the table.
    Check,
    Lookup(QueryId),
    Put(QueryId),
}

#[derive(Clone, Debug)]
pub(super) struct Pending {
    peer: PeerId,
    addrs: Vec<Vec<u8>>,
    purpose: Purpose,
    expect: MessageType,
    deadline: u64,
}

#[derive(Clone, Debug)]
enum Goal {
    FindNode,
    FindPeer(PeerId),
    GetProviders {
        limit: usize,
    },
    Provide {
        addrs: Vec<Vec<u8>>,
    },
    GetValue,
    PutValue(Record),
    /// The self lookup; `report` when a command asked for it. Refreshes follow it.
    Bootstrap,
    Refresh,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Lookup,
    Put { waiting: usize, acks: usize },
}

pub(super) struct Query {
    goal: Goal,
    /// The key the requests carry.
    target: Vec<u8>,
    request: MessageType,
    lookup: Lookup,
    phase: Phase,
    started_ms: u64,
    deadline_ms: u64,
    report: bool,
    timed_out: bool,
    providers: Vec<KadPeer>,
    record: Option<Record>,
    found: Option<KadPeer>,
    extra_rpcs: u32,
    extra_failures: u32,
}

impl Query {
    fn provider_cap(&self, cfg: &super::Config) -> usize {
        match self.goal {
            Goal::GetProviders { limit } if limit > 0 => limit.min(cfg.max_providers_per_key),
            _ => cfg.max_providers_per_key,
        }
    }

    /// Whether the lookup may stop before its closest peers have answered.
    fn done_early(&self, cfg: &super::Config) -> bool {
        match self.goal {
            Goal::FindPeer(_) => self.found.is_some(),
            Goal::GetProviders { limit } => limit > 0 && self.providers.len() >= self.provider_cap(cfg),
            Goal::GetValue => self.record.is_some(),
            _ => false,
        }
    }
}

impl Kad {
    pub(super) fn start_command(&mut self, id: QueryId, cmd: Command) {
        let now = self.now_ms;
        let (goal, target, request) = match cmd {
            Command::FindNode(p) => (Goal::FindNode, p.as_bytes().to_vec(), MessageType::FindNode),
            Command::FindPeer(p) => {
                if p == self.local {
                    return self.done(id, Found::Peer(Some(self.local_peer_entry())));
                }
                if self.book.is_connected(&p) {
                    if let Some(addrs) = self.addrs_of(&p) {
                        return self.done(id, Found::Peer(Some(KadPeer { id: p, addrs })));
                    }
                }
                (Goal::FindPeer(p.clone()), p.as_bytes().to_vec(), MessageType::FindNode)
            }
            Command::GetProviders { key, limit } => {
                if !provider_key_ok(&key) {
                    return self.done(id, Found::Error(QueryError::BadKey));
                }
                (Goal::GetProviders { limit }, key, MessageType::GetProviders)
            }
            Command::Provide { key, mut addrs } => {
                if !provider_key_ok(&key) {
                    return self.done(id, Found::Error(QueryError::BadKey));
                }
                if addrs.is_empty() {
                    return self.done(id, Found::Error(QueryError::NoAddresses));
                }
                addrs.truncate(self.cfg.max_addrs_per_peer);
                let expires = now.saturating_add(self.cfg.provider_ttl_ms);
                self.providers.add(&key, &self.local.clone(), addrs.clone(), expires);
                (Goal::Provide { addrs }, key, MessageType::FindNode)
            }
            Command::GetValue(key) => (Goal::GetValue, key, MessageType::GetValue),
            Command::PutValue(r) => {
                if let Err(e) = records::validate(&r, self.cfg.max_record_size, &*self.rsa) {
                    return self.done(id, Found::Error(QueryError::BadRecord(e)));
                }
                self.records.put(r.clone(), now.saturating_add(self.cfg.max_record_age_ms));
                (Goal::PutValue(r.clone()), r.key, MessageType::FindNode)
            }
            Command::Bootstrap => (Goal::Bootstrap, self.local.as_bytes().to_vec(), MessageType::FindNode),
        };
        self.start_query(id, goal, target, request, true);
    }

    pub(super) fn start_internal_bootstrap(&mut self, id: QueryId) {
        let target = self.local.as_bytes().to_vec();
        self.start_query(id, Goal::Bootstrap, target, MessageType::FindNode, false);
    }

    fn start_query(&mut self, id: QueryId, goal: Goal, target: Vec<u8>, request: MessageType, report: bool) {
        if self.queries.len() >= self.cfg.max_queries {
            return self.done_if(report, id, Found::Error(QueryError::TooManyQueries));
        }
        if self.table.is_empty() {
            return self.done_if(report, id, Found::Error(QueryError::NoPeers));
        }
        let key = Key::of(&target);
        let seeds = self.table.closest(&key, self.cfg.k, None);
        let deadline_ms = self.now_ms.saturating_add(self.cfg.query_timeout_ms);
        // Lookups for the k closest need them all to answer; the others stop on kubo's β rule.
        let stop = match goal {
            Goal::FindPeer(_) | Goal::GetProviders { .. } | Goal::GetValue | Goal::Refresh => self.cfg.beta,
            _ => self.cfg.k,
        };
        let mut q = Query {
            lookup: Lookup::new(key, &self.cfg, stop, seeds),
            goal,
            target,
            request,
            phase: Phase::Lookup,
            started_ms: self.now_ms,
            deadline_ms,
            report,
            timed_out: false,
            providers: Vec::new(),
            record: None,
            found: None,
            extra_rpcs: 0,
            extra_failures: 0,
        };
        if let Goal::GetProviders { .. } = q.goal {
            q.providers = self.providers_of(&q.target);
            q.providers.truncate(q.provider_cap(&self.cfg));
        }
        self.queries.insert(id, q);
        self.query_deadlines.insert((deadline_ms, id));
        self.drive(id);
    }

    fn done_if(&mut self, report: bool, query: QueryId, found: Found) {
        if report {
            self.done(query, found);
        }
    }

    fn done(&mut self, query: QueryId, found: Found) {
        let result = QueryResult { found, stats: QueryStats::default() };
        self.out.push_back(Output::Done { query, result });
    }

    /// Sends a request and remembers it until its answer, failure or deadline.
    pub(super) fn request(&mut self, to: PeerId, addrs: Vec<Vec<u8>>, mut msg: Message, purpose: Purpose) -> bool {
        if self.pending.len() >= self.cfg.max_pending {
            return false;
        }
        let req = self.fresh_request_id();
        let deadline = self.now_ms.saturating_add(self.cfg.request_timeout_ms);
        msg.cluster_level = 1; // kubo's NewMessage(type, key, 0)
        let expect = msg.typ;
        self.pending.insert(req, Pending { peer: to.clone(), addrs: addrs.clone(), purpose, expect, deadline });
        self.deadlines.insert((deadline, req));
        self.out.push_back(Output::Send { req, to, addrs, msg, expect_reply: true });
        true
    }

    pub(super) fn on_response(&mut self, req: RequestId, msg: Message) {
        let Some(p) = self.take_pending(req) else { return };
        if msg.typ != p.expect {
            return self.on_request_failed(p);
        }
        match p.purpose {
            Purpose::Check => {
                self.checking.remove(&p.peer);
                if !msg.closer.is_empty() {
                    self.table.insert(&p.peer, &p.addrs);
                    self.arm_refresh();
                }
            }
            Purpose::Lookup(q) => {
                self.table.insert(&p.peer, &p.addrs);
                self.arm_refresh();
                self.lookup_answer(q, &p, msg);
            }
            Purpose::Put(q) => {
                self.table.insert(&p.peer, &p.addrs);
                if let Some(query) = self.queries.get_mut(&q) {
                    if let Phase::Put { waiting, acks } = query.phase {
                        let echoed = matches!((&msg.record, &query.goal),
                            (Some(r), Goal::PutValue(ours)) if r.value == ours.value);
                        let acks = acks + usize::from(echoed);
                        query.phase = Phase::Put { waiting: waiting.saturating_sub(1), acks };
                    }
                }
                self.drive(q);
            }
        }
    }

    fn lookup_answer(&mut self, q: QueryId, p: &Pending, msg: Message) {
        let closer = self.accept_peers(msg.closer);
        let providers = self.accept_peers(msg.providers);
        let cap = match self.queries.get(&q) {
            Some(query) => query.provider_cap(&self.cfg),
            None => return,
        };
        let max_size = self.cfg.max_record_size;
        let Some(query) = self.queries.get_mut(&q) else { return };
        if query.phase != Phase::Lookup {
            return;
        }
        match &query.goal {
            Goal::GetProviders { .. } => {
                for pr in providers {
                    if query.providers.len() < cap && query.providers.iter().all(|x| x.id != pr.id) {
                        query.providers.push(pr);
                    }
                }
            }
            Goal::FindPeer(t) => {
                if &p.peer == t {
                    query.found = Some(KadPeer { id: t.clone(), addrs: p.addrs.clone() });
                } else if let Some(c) = closer.iter().find(|c| &c.id == t && !c.addrs.is_empty()) {
                    query.found = Some(c.clone());
                }
            }
            Goal::GetValue => {
                if let Some(r) = msg.record {
                    if query.record.is_none()
                        && r.key == query.target
                        && records::validate(&r, max_size, &*self.rsa).is_ok()
                    {
                        query.record = Some(r);
                    }
                }
            }
            _ => {}
        }
        query.lookup.on_answer(&p.peer, closer);
        self.drive(q);
    }

    pub(super) fn on_failed(&mut self, req: RequestId) {
        if let Some(p) = self.take_pending(req) {
            self.on_request_failed(p);
        }
    }

    fn take_pending(&mut self, req: RequestId) -> Option<Pending> {
        let p = self.pending.remove(&req)?;
        self.deadlines.remove(&(p.deadline, req));
        Some(p)
    }

    fn on_request_failed(&mut self, p: Pending) {
        self.table.failed(&p.peer);
        match p.purpose {
            Purpose::Check => {
                self.checking.remove(&p.peer);
            }
            Purpose::Lookup(q) => {
                if let Some(query) = self.queries.get_mut(&q) {
                    query.lookup.on_failure(&p.peer);
                    self.drive(q);
                }
            }
            Purpose::Put(q) => {
                if let Some(query) = self.queries.get_mut(&q) {
                    if let Phase::Put { waiting, acks } = query.phase {
                        query.phase = Phase::Put { waiting: waiting.saturating_sub(1), acks };
                        query.extra_failures += 1;
                    }
                }
                self.drive(q);
            }
        }
    }

    pub(super) fn time_out_query(&mut self, q: QueryId) {
        let Some(query) = self.queries.get_mut(&q) else { return };
        query.timed_out = true;
        match query.phase {
            Phase::Lookup => self.lookup_finished(q),
            Phase::Put { .. } => self.finish(q),
        }
    }

    /// Sends what the query wants next, or moves it on.
    fn drive(&mut self, q: QueryId) {
        loop {
            let Some(query) = self.queries.get_mut(&q) else { return };
            if let Phase::Put { waiting, .. } = query.phase {
                if waiting == 0 {
                    self.finish(q);
                }
                return;
            }
            if query.done_early(&self.cfg) {
                return self.finish(q);
            }
            match query.lookup.next_step() {
                Step::Ask(peer) => {
                    let msg = Message::new(query.request, query.target.clone());
                    let addrs =
                        if peer.addrs.is_empty() { self.addrs_of(&peer.id).unwrap_or_default() } else { peer.addrs };
                    if !self.request(peer.id.clone(), addrs, msg, Purpose::Lookup(q)) {
                        if let Some(query) = self.queries.get_mut(&q) {
                            query.lookup.give_up(&peer.id);
                        }
                    }
                }
                Step::Wait => return,
                Step::Finished => return self.lookup_finished(q),
            }
        }
    }

    /// The lookup is over: put phases start, everything else ends.
    fn lookup_finished(&mut self, q: QueryId) {
        let Some(query) = self.queries.get(&q) else { return };
        let closest = query.lookup.closest();
        match query.goal.clone() {
            Goal::Provide { addrs } => {
                let mut msg = Message::new(MessageType::AddProvider, query.target.clone());
                msg.providers = vec![KadPeer { id: self.local.clone(), addrs }];
                msg.cluster_level = 1;
                for p in &closest {
                    let req = self.fresh_request_id();
                    let send = Output::Send {
                        req,
                        to: p.id.clone(),
                        addrs: p.addrs.clone(),
                        msg: msg.clone(),
                        expect_reply: false,
                    };
                    self.out.push_back(send);
                }
                if let Some(query) = self.queries.get_mut(&q) {
                    query.extra_rpcs += closest.len() as u32;
                }
                self.finish(q);
            }
            Goal::PutValue(r) if !query.timed_out => {
                let mut msg = Message::new(MessageType::PutValue, r.key.clone());
                msg.record = Some(r);
                let mut sent = 0;
                for p in closest {
                    if self.request(p.id, p.addrs, msg.clone(), Purpose::Put(q)) {
                        sent += 1;
                    }
                }
                if let Some(query) = self.queries.get_mut(&q) {
                    query.extra_rpcs += sent as u32;
                    query.phase = Phase::Put { waiting: sent, acks: 0 };
                }
                self.drive(q);
            }
            Goal::Bootstrap => {
                self.finish(q);
                self.refresh_buckets();
            }
            _ => self.finish(q),
        }
    }

    /// Ends a query and reports it.
    fn finish(&mut self, q: QueryId) {
        let Some(query) = self.queries.remove(&q) else { return };
        self.query_deadlines.remove(&(query.deadline_ms, q));
        if !query.report {
            return;
        }
        let stats = QueryStats {
            rounds: query.lookup.rounds(),
            rpcs: query.lookup.rpcs + query.extra_rpcs,
            failures: query.lookup.failures + query.extra_failures,
            elapsed_ms: self.now_ms.saturating_sub(query.started_ms),
            timed_out: query.timed_out,
        };
        let found = match query.goal {
            Goal::FindNode | Goal::Bootstrap | Goal::Refresh => Found::Peers(query.lookup.closest()),
            Goal::FindPeer(_) => Found::Peer(query.found),
            Goal::GetProviders { .. } => Found::Providers(query.providers),
            Goal::Provide { .. } => Found::Provided(query.extra_rpcs as usize),
            Goal::GetValue => {
                Found::Value(query.record.or_else(|| self.records.get(&query.target, self.now_ms).cloned()))
            }
            Goal::PutValue(_) => Found::Stored(match query.phase {
                Phase::Put { acks, .. } => acks,
                Phase::Lookup => 0,
            }),
        };
        self.out.push_back(Output::Done { query: q, result: QueryResult { found, stats } });
    }

    /// One lookup of a random key per bucket from the farthest (cpl 0) to the deepest one in
    /// use, leaving a slot free for commands.
    fn refresh_buckets(&mut self) {
        let Some(deepest) = self.table.max_cpl() else { return };
        for cpl in 0..=deepest.min(self.cfg.max_refresh_cpl) {
            if self.queries.len() + 1 >= self.cfg.max_queries {
                return;
            }
            if let Some(target) = self.random_key_with_cpl(cpl) {
                let id = self.fresh_query_id();
                self.start_query(id, Goal::Refresh, target, MessageType::FindNode, false);
            }
        }
    }

    /// A random sha2-256 style peer id whose key shares exactly `cpl` leading bits with ours
    /// (kubo refreshes with such ids too); found by trial, about 2^(cpl+1) hashes.
    fn random_key_with_cpl(&mut self, cpl: usize) -> Option<Vec<u8>> {
        let tries = 16u64 << cpl.min(20);
        for _ in 0..tries {
            let mut id = vec![0x12, 0x20];
            id.extend(self.rng.bytes::<32>());
            if Key::of(&id).common_prefix_len(&self.local_key) == cpl {
                return Some(id);
            }
        }
        None
    }
}
