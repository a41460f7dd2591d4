//! Moving database replication between nodes: the author pushes each committed entry of a
//! published DB MiMei to the replicas that subscribed (by asking), announces its position every
//! few seconds, and answers `Want`s; a node holding someone else's DB MiMei follows it — asks its
//! author, applies what comes back, and renews its subscription. The protocol decisions are
//! `proto_core::db::repl`'s; this thread only routes messages and checks who sent them: entries
//! are taken only from the MiMei's author, `Want`s only for MiMeis this node authors.

use crate::db::server::Work;
use crate::db::{prefix, DbService};
use crate::net::NetHandle;
use crate::Backend;
use proto_core::db::repl::{Entry, Msg, Wire};
use proto_core::dht::{self, Key, PeerInfo};
use proto_core::mimei::{Kind, Mid};
use proto_core::node::{Command, Reply};
use std::collections::{BTreeMap, HashMap};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// How often the author announces its position to subscribers.
const HEAD_EVERY: Duration = Duration::from_secs(2);
/// How often a replica renews its subscription (and so learns what it missed).
const RENEW_EVERY: Duration = Duration::from_secs(10);
/// A subscriber that has not renewed for this long is dropped.
const SUBSCRIBER_TTL: Duration = Duration::from_secs(60);

pub enum Task {
    /// Entries committed by the local database, to push.
    Push(Vec<(Vec<u8>, Entry)>),
    /// A replication message from a peer.
    Incoming(Key, Vec<u8>),
}

/// What the database service and the network hook send tasks through.
#[derive(Clone)]
pub struct ReplHandle {
    tx: Sender<Task>,
}

impl ReplHandle {
    pub fn push(&self, entries: &[(Vec<u8>, Entry)]) {
        if !entries.is_empty() {
            let _ = self.tx.send(Task::Push(entries.to_vec()));
        }
    }
    pub fn incoming(&self, peer: Key, body: Vec<u8>) {
        let _ = self.tx.send(Task::Incoming(peer, body));
    }
}

/// Makes the channel; the thread starts once the database and the network exist.
pub fn channel_pair() -> (ReplHandle, Receiver<Task>) {
    let (tx, rx) = channel();
    (ReplHandle { tx }, rx)
}

/// `prefix` → the mid, when it is a `cur` keyspace.
fn mid_of(prefix: &[u8]) -> Option<Mid> {
    if prefix.len() != 25 || prefix[0] != b'm' || prefix[21..] != [0, 0, 0, 0] {
        return None;
    }
    let mut k = [0u8; 20];
    k.copy_from_slice(&prefix[1..21]);
    Some(Mid(Key(k)))
}

/// Whether writes to `prefix` are replicated: the `cur` of a published DB MiMei of ours.
pub fn leads<B: Backend>(store: &B, me: &[u8; 32], prefix: &[u8]) -> bool {
    let Some(mid) = mid_of(prefix) else { return false };
    matches!(store.get_mimei(&mid), Ok(Some(m)) if m.author == *me && m.published > 0 && m.head.info.kind == Kind::Db)
}

struct State<B> {
    store: Arc<B>,
    db: Arc<DbService>,
    net: Arc<dyn NetHandle>,
    me: [u8; 32],
    subscribers: HashMap<Mid, BTreeMap<Key, Instant>>,
    authors: HashMap<Key, PeerInfo>,
    last_head: Instant,
    /// When each followed MiMei's subscription is renewed next.
    renew_at: HashMap<Mid, Instant>,
}

pub fn start<B: Backend>(
    rx: Receiver<Task>,
    store: Arc<B>,
    db: Arc<DbService>,
    net: Arc<dyn NetHandle>,
    me: [u8; 32],
) -> std::io::Result<()> {
    let mut st = State {
        store,
        db,
        net,
        me,
        subscribers: HashMap::new(),
        authors: HashMap::new(),
        last_head: Instant::now(),
        renew_at: HashMap::new(),
    };
    std::thread::Builder::new().name("db-repl".into()).spawn(move || loop {
        match rx.recv_timeout(Duration::from_millis(500)) {
            Ok(Task::Push(entries)) => st.push(entries),
            Ok(Task::Incoming(peer, body)) => st.incoming(peer, &body),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        st.tick();
    })?;
    Ok(())
}

impl<B: Backend> State<B> {
    fn send(&self, to: PeerInfo, mid: &Mid, msg: Msg) {
        let body = Wire { mid: mid.0 .0, msg }.encode();
        let _ = self.net.call(Command::SendDb { to, body });
    }

    fn push(&mut self, entries: Vec<(Vec<u8>, Entry)>) {
        let mut by_mid: BTreeMap<Mid, Vec<Entry>> = BTreeMap::new();
        for (p, e) in entries {
            if let Some(mid) = mid_of(&p) {
                by_mid.entry(mid).or_default().push(e);
            }
        }
        for (mid, es) in by_mid {
            let subs: Vec<Key> = self.subscribers.get(&mid).map(|s| s.keys().copied().collect()).unwrap_or_default();
            for peer in subs {
                self.send(PeerInfo { id: peer, addrs: vec![] }, &mid, Msg::Entries(es.clone()));
            }
        }
    }

    fn incoming(&mut self, peer: Key, body: &[u8]) {
        let Ok(w) = Wire::decode(body) else { return };
        let mid = Mid(Key(w.mid));
        let Ok(Some(m)) = self.store.get_mimei(&mid) else { return };
        if m.head.info.kind != Kind::Db {
            return;
        }
        let author = Key::from(m.author_id());
        let p = prefix(&mid, 0);
        if m.author == self.me {
            // A replica asking: it subscribes, and gets what it asked for.
            if let Msg::Want(from) = w.msg {
                self.subscribers.entry(mid).or_default().insert(peer, Instant::now());
                if let Ok(done) = self.db.work(&p, Work::Want(from)) {
                    if let Some(reply) = done.msg {
                        self.send(PeerInfo { id: peer, addrs: vec![] }, &mid, reply);
                    }
                }
            }
        } else if peer == author && !matches!(w.msg, Msg::Want(_)) {
            if let Ok(done) = self.db.work(&p, Work::Follow(w.msg)) {
                if let Some(reply) = done.msg {
                    self.send(PeerInfo { id: peer, addrs: vec![] }, &mid, reply);
                }
            }
        }
    }

    /// The author's address, found through the DHT once and kept.
    fn author_info(&mut self, author: Key) -> Option<PeerInfo> {
        if let Some(p) = self.authors.get(&author) {
            return Some(p.clone());
        }
        match self.net.call(Command::Dht(dht::Command::FindPeer(author))) {
            Ok(Reply::Dht(dht::Reply::Peer(Some(p)))) => {
                self.authors.insert(author, p.clone());
                Some(p)
            }
            _ => None,
        }
    }

    fn tick(&mut self) {
        let now = Instant::now();
        if now.duration_since(self.last_head) >= HEAD_EVERY {
            self.last_head = now;
            for subs in self.subscribers.values_mut() {
                subs.retain(|_, seen| now.duration_since(*seen) < SUBSCRIBER_TTL);
            }
            self.subscribers.retain(|_, s| !s.is_empty());
            let mids: Vec<Mid> = self.subscribers.keys().copied().collect();
            for mid in mids {
                let Ok(done) = self.db.work(&prefix(&mid, 0), Work::Head) else { continue };
                let Some(head) = done.msg else { continue };
                let subs: Vec<Key> = self.subscribers[&mid].keys().copied().collect();
                for peer in subs {
                    self.send(PeerInfo { id: peer, addrs: vec![] }, &mid, head.clone());
                }
            }
        }
        // Follow every DB MiMei held here that another node authors; renew each subscription
        // every RENEW_EVERY (sooner again when the author could not be reached).
        let Ok(all) = self.store.list_mimeis() else { return };
        let me = self.me;
        for m in all.into_iter().filter(|m| m.head.info.kind == Kind::Db && m.author != me) {
            let mid = m.mid();
            let renew = self.renew_at.get(&mid).is_none_or(|t| now >= *t);
            let Ok(done) = self.db.work(&prefix(&mid, 0), Work::FollowTick(renew)) else { continue };
            let Some(msg) = done.msg else { continue };
            let author = Key::from(m.author_id());
            match self.author_info(author) {
                Some(p) => {
                    self.send(p, &mid, msg);
                    if renew {
                        self.renew_at.insert(mid, now + RENEW_EVERY);
                    }
                }
                None => {
                    self.authors.remove(&author);
                    self.renew_at.remove(&mid);
                }
            }
        }
    }
}

/// Set once both the database and the network run.
pub type ReplSlot = Arc<OnceLock<ReplHandle>>;
