//! Answering peers, using their answers, finishing lookups, and the stores (records held for
//! others, provider records, what we provide) with their persistence.

use super::message::{Msg, PeerInfo};
use super::record::Record;
use super::task::{Goal, Kind, Purpose, PutTask};
use super::{persist_key, Dht, Event, Key, LookupStats, Output, Reply, Restored, Write};
use crate::time::Mono;

impl Dht {
    /// Unexpired provider records held here for `key`.
    fn local_providers(&self, key: &Key) -> Vec<PeerInfo> {
        let now = self.now.unix.0;
        self.providers
            .get(key)
            .map(|m| m.values().filter(|(_, exp)| *exp > now).map(|(p, _)| p.clone()).collect())
            .unwrap_or_default()
    }

    pub(super) fn serve(&mut self, from: PeerInfo, msg: Msg) {
        let k = self.cfg.k;
        let reply = match msg {
            Msg::Ping { rid } => Msg::Pong { rid },
            Msg::FindNode { rid, target } => Msg::Nodes { rid, closer: self.closer(&target, &from.id, k) },
            Msg::GetProviders { rid, key } => {
                // The records held here, and this node itself when it provides the key.
                let mut providers = self.local_providers(&key);
                if self.provided.contains_key(&key) && !providers.iter().any(|p| p.id == self.me.id) {
                    providers.insert(0, self.me.clone());
                }
                providers.truncate(super::message::MAX_PROVIDERS_IN_REPLY);
                Msg::Providers { rid, providers, closer: self.closer(&key, &from.id, k) }
            }
            Msg::AddProvider { rid, key } => {
                let ok = !from.addrs.is_empty() && self.add_provider(key, from.clone());
                Msg::Stored { rid, ok }
            }
            Msg::GetValue { rid, key } => {
                let record = self.records.get(&key).filter(|r| r.eol > self.now.unix.0).cloned();
                Msg::Value { rid, record, closer: self.closer(&key, &from.id, k) }
            }
            Msg::PutValue { rid, record } => {
                let ok = match record.verify(self.now.unix.0) {
                    Ok(()) => {
                        self.store_record(record);
                        true
                    }
                    Err(_) => {
                        self.fault(from.id, "invalid record");
                        false
                    }
                };
                Msg::Stored { rid, ok }
            }
            // Answers are handled in on_answer; is_request() routed only requests here.
            Msg::Pong { .. } | Msg::Nodes { .. } | Msg::Providers { .. } | Msg::Value { .. } | Msg::Stored { .. } => {
                return
            }
        };
        self.send(from, reply);
    }

    /// The closest peers we know to `target`, leaving out the asker.
    fn closer(&self, target: &Key, asker: &Key, n: usize) -> Vec<PeerInfo> {
        let mut v = self.table.closest(target, n + 1);
        v.retain(|p| &p.id != asker);
        v.truncate(n);
        v
    }

    pub(super) fn on_answer(&mut self, from: PeerInfo, purpose: Purpose, msg: Msg) {
        let me = self.me.id;
        let clean = |v: Vec<PeerInfo>| -> Vec<PeerInfo> {
            v.into_iter().filter(|p| p.id != me && !p.addrs.is_empty()).collect()
        };
        match (purpose, msg) {
            (Purpose::Ping, Msg::Pong { .. }) => {
                self.pinging.remove(&from.id);
            }
            (Purpose::Lookup(tid), msg) => {
                let now = self.now.unix.0;
                let mut faulty = false;
                let Some(t) = self.tasks.get_mut(&tid) else { return };
                let closer = match (t.kind, msg) {
                    (Kind::FindNode, Msg::Nodes { closer, .. }) => closer,
                    (Kind::GetProviders, Msg::Providers { providers, closer, .. }) => {
                        for p in providers.into_iter().filter(|p| !p.addrs.is_empty()) {
                            t.providers.insert(p.id, p);
                        }
                        closer
                    }
                    (Kind::GetValue, Msg::Value { record, closer, .. }) => {
                        if let Some(r) = record {
                            if r.key == t.lookup.target && r.verify(now).is_ok() {
                                if t.best.as_ref().is_none_or(|b| r.better_than(b)) {
                                    t.best = Some(r);
                                }
                            } else {
                                faulty = true;
                            }
                        }
                        closer
                    }
                    _ => {
                        t.lookup.on_failure(&from.id);
                        self.fault(from.id, "answer of the wrong kind");
                        return self.drive(tid);
                    }
                };
                if from.id == t.lookup.target {
                    t.found = Some(from.clone());
                }
                t.lookup.on_success(&from.id, clean(closer));
                if faulty {
                    self.fault(from.id, "invalid record in an answer");
                }
                self.drive(tid);
            }
            (Purpose::Put(pid), Msg::Stored { ok, .. }) => self.put_answered(pid, ok),
            (_, _) => self.fault(from.id, "answer of the wrong kind"),
        }
    }

    pub(super) fn complete(&mut self, tid: u64) {
        let Some(t) = self.tasks.remove(&tid) else { return };
        // FindPeer: rounds until the target became known (its discovery depth); otherwise until
        // the k closest were all known.
        let rounds = match &t.goal {
            Goal::FindPeer(_) => t.lookup.depth_of(&t.lookup.target).unwrap_or_else(|| t.lookup.rounds()),
            _ => t.lookup.rounds(),
        };
        let stats = LookupStats { rounds, rpcs: t.lookup.rpcs };
        let closest = t.lookup.closest();
        self.out.push_back(Output::Event(Event::LookupFinished { id: t.goal.command(), stats }));
        match t.goal {
            Goal::Bootstrap(id) => {
                self.next_refresh = Some(Mono(self.now.mono.0 + self.cfg.refresh_interval_ms));
                self.persist_table();
                if let Some(id) = id {
                    self.reply(id, Ok(Reply::Bootstrapped { peers: self.table.len() }));
                }
            }
            Goal::Refresh => {}
            Goal::FindPeer(id) => {
                // The target itself answered, or other peers told us its addresses (as kubo's
                // findpeer does when the target cannot be reached from here).
                let found = t.found.or_else(|| t.lookup.known(&t.lookup.target));
                self.reply(id, Ok(Reply::Peer(found)));
            }
            Goal::FindClosest(id) => self.reply(id, Ok(Reply::Closest(closest))),
            Goal::GetRecord(id) => {
                let local = self.records.get(&t.lookup.target).filter(|r| r.eol > self.now.unix.0).cloned();
                let best = match (t.best, local) {
                    (Some(a), Some(b)) => Some(if b.better_than(&a) { b } else { a }),
                    (a, b) => a.or(b),
                };
                self.reply(id, Ok(Reply::Record(best)));
            }
            Goal::GetProviders(id) => {
                let mut found: Vec<PeerInfo> = t.providers.into_values().collect();
                // Records this node holds count too: the nodes that answered may not hold them all.
                for p in self.local_providers(&t.lookup.target) {
                    if !found.iter().any(|f| f.id == p.id) {
                        found.push(p);
                    }
                }
                if self.provided.contains_key(&t.lookup.target) && !found.iter().any(|f| f.id == self.me.id) {
                    found.insert(0, self.me.clone());
                }
                self.reply(id, Ok(Reply::Providers(found)));
            }
            Goal::Put(record, id) => {
                let pid = tid;
                let mut sent = 0;
                for p in closest {
                    let r = record.clone();
                    if self.request(p, Purpose::Put(pid), |rid| Msg::PutValue { rid, record: r }) {
                        sent += 1;
                    }
                }
                self.start_put(pid, id, sent);
            }
            Goal::Provide(key, id) => {
                let pid = tid;
                let mut sent = 0;
                for p in closest {
                    if self.request(p, Purpose::Put(pid), |rid| Msg::AddProvider { rid, key }) {
                        sent += 1;
                    }
                }
                self.start_put(pid, id, sent);
            }
        }
    }

    fn start_put(&mut self, pid: u64, command: Option<super::CommandId>, sent: usize) {
        if sent == 0 {
            if let Some(id) = command {
                self.reply(id, Ok(Reply::Stored { peers: 0 }));
            }
            return;
        }
        self.puts.insert(pid, PutTask { command, waiting: sent, acks: 0 });
    }

    pub(super) fn put_answered(&mut self, pid: u64, ok: bool) {
        let Some(p) = self.puts.get_mut(&pid) else { return };
        p.waiting -= 1;
        p.acks += usize::from(ok);
        if p.waiting == 0 {
            let p = self.puts.remove(&pid).expect("present");
            if let Some(id) = p.command {
                self.reply(id, Ok(Reply::Stored { peers: p.acks }));
            }
        }
    }

    pub(super) fn store_record(&mut self, r: Record) {
        let better = self.records.get(&r.key).is_none_or(|old| r.better_than(old));
        if !better || (!self.records.contains_key(&r.key) && self.records.len() >= self.cfg.max_records) {
            return;
        }
        let bytes = minicbor::to_vec(&r).expect("encoding to a Vec cannot fail");
        self.out.push_back(Output::Persist(vec![(persist_key(b"dht/r/", &r.key), Some(bytes))]));
        self.records.insert(r.key, r);
    }

    fn add_provider(&mut self, key: Key, p: PeerInfo) -> bool {
        if !self.providers.contains_key(&key) && self.providers.len() >= self.cfg.max_provider_keys {
            return false;
        }
        let set = self.providers.entry(key).or_default();
        if !set.contains_key(&p.id) && set.len() >= self.cfg.max_providers_per_key {
            return false;
        }
        let expires = self.now.unix.0 + self.cfg.provider_ttl_ms;
        let mut pk = persist_key(b"dht/p/", &key);
        pk.extend_from_slice(&p.id.0);
        let bytes = minicbor::to_vec((&p, expires)).expect("encoding to a Vec cannot fail");
        set.insert(p.id, (p, expires));
        self.out.push_back(Output::Persist(vec![(pk, Some(bytes))]));
        true
    }

    pub(super) fn persist_table(&mut self) {
        let peers = self.table.peers();
        let bytes = minicbor::to_vec(&peers).expect("encoding to a Vec cannot fail");
        self.out.push_back(Output::Persist(vec![(b"dht/peers".to_vec(), Some(bytes))]));
    }

    /// Looks up a random key in every stale bucket, so distant parts of the table stay fresh.
    pub(super) fn refresh(&mut self) {
        let before = Mono(self.now.mono.0.saturating_sub(self.cfg.refresh_interval_ms));
        for i in self.table.stale_buckets(before) {
            let target = self.me.id.random_in_bucket(i, self.rng.bytes());
            self.start(Kind::FindNode, target, Goal::Refresh);
        }
        self.persist_table();
    }

    /// Drops expired records and provider records.
    pub(super) fn gc(&mut self) {
        let now = self.now.unix.0;
        let mut writes: Vec<Write> = Vec::new();
        let expired: Vec<Key> = self.records.iter().filter(|(_, r)| r.eol <= now).map(|(k, _)| *k).collect();
        for k in expired {
            self.records.remove(&k);
            writes.push((persist_key(b"dht/r/", &k), None));
        }
        for (key, set) in self.providers.iter_mut() {
            let gone: Vec<Key> = set.iter().filter(|(_, (_, exp))| *exp <= now).map(|(id, _)| *id).collect();
            for id in gone {
                set.remove(&id);
                let mut pk = persist_key(b"dht/p/", key);
                pk.extend_from_slice(&id.0);
                writes.push((pk, None));
            }
        }
        self.providers.retain(|_, s| !s.is_empty());
        if !writes.is_empty() {
            self.out.push_back(Output::Persist(writes));
        }
    }

    /// Rebuilds state from persisted entries; anything that does not decode is skipped.
    pub(super) fn restore(&mut self, restored: Restored) {
        let now = self.now;
        for (k, v) in restored.entries {
            if k == b"dht/peers" {
                if let Ok(peers) = minicbor::decode::<Vec<PeerInfo>>(&v) {
                    for p in peers.iter().filter(|p| p.is_sane()) {
                        self.table.update(p, now.mono);
                    }
                }
            } else if k.starts_with(b"dht/r/") {
                if let Ok(r) = minicbor::decode::<Record>(&v) {
                    if r.verify(now.unix.0).is_ok() {
                        self.records.insert(r.key, r);
                    }
                }
            } else if let Some(rest) = k.strip_prefix(b"dht/p/") {
                let key = rest.get(..20).and_then(|b| <[u8; 20]>::try_from(b).ok()).map(Key);
                if let (Some(key), Ok((p, exp))) = (key, minicbor::decode::<(PeerInfo, u64)>(&v)) {
                    if exp > now.unix.0 {
                        self.providers.entry(key).or_default().insert(p.id, (p, exp));
                    }
                }
            } else if let Some(rest) = k.strip_prefix(b"dht/provided/") {
                if let Ok(arr) = <[u8; 20]>::try_from(rest) {
                    // Re-announce soon after a restart: records may have lapsed while down.
                    self.provided.insert(Key(arr), now.mono);
                }
            }
        }
    }
}
