//! Moving database replication between nodes: a thin driver of `proto_core::db::subs`, which
//! decides who is subscribed, when a replica renews and the author announces its position, and
//! who may send what (entries only from the MiMei's author, `Want`s only for MiMeis this node
//! authors). This thread only moves messages between that machine, the network and the database
//! service (where `proto_core::db::repl` keeps the positions), and reads the clock.

use crate::db::server::Work;
use crate::db::{prefix, DbService};
use crate::net::NetHandle;
use crate::Backend;
use proto_core::db::repl::{Entry, Msg};
use proto_core::db::subs::{self, Input, Output, Subscriptions};
use proto_core::dht::{self, Key, PeerInfo};
use proto_core::mimei::{Kind, Mid};
use proto_core::node::{Command, Reply};
use proto_core::time::Mono;
use std::collections::BTreeMap;
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

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
    matches!(store.get_mimei(&mid), Ok(Some(m)) if m.is_home(me) && m.published > 0 && m.head.info.kind == Kind::Db)
}

struct Driver<B> {
    store: Arc<B>,
    db: Arc<DbService>,
    net: Arc<dyn NetHandle>,
    subs: Subscriptions,
    /// Authors' addresses, found through the DHT once and kept.
    authors: BTreeMap<Key, PeerInfo>,
    start: Instant,
    /// This node's public key.
    me: [u8; 32],
}

pub fn start<B: Backend>(
    rx: Receiver<Task>,
    store: Arc<B>,
    db: Arc<DbService>,
    net: Arc<dyn NetHandle>,
    me: [u8; 32],
) -> std::io::Result<()> {
    let me_pk = me;
    let me = Key::from(proto_core::identity::node_id_of(&me));
    let subs = Subscriptions::new(subs::Config::default(), me, Mono(0));
    let mut d = Driver { store, db, net, subs, authors: BTreeMap::new(), start: Instant::now(), me: me_pk };
    std::thread::Builder::new().name("db-repl".into()).spawn(move || loop {
        let now = d.now().mono.0;
        let due = d.subs.poll_timeout().map_or(500, |t| t.0.saturating_sub(now));
        match rx.recv_timeout(Duration::from_millis(due)) {
            Ok(Task::Push(entries)) => {
                let entries = entries.into_iter().filter_map(|(p, e)| Some((mid_of(&p)?, e))).collect();
                d.input(Input::Committed(entries));
            }
            Ok(Task::Incoming(peer, body)) => d.input(Input::Received { peer, body }),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        let now = d.now();
        if d.subs.poll_timeout().is_some_and(|t| t <= now.mono) {
            d.subs.handle_timeout(now);
            d.drain();
        }
    })?;
    Ok(())
}

impl<B: Backend> Driver<B> {
    fn now(&self) -> proto_core::time::Now {
        crate::execute::now(self.start)
    }

    fn input(&mut self, input: Input) {
        let now = self.now();
        self.subs.handle_input(now, input);
        self.drain();
    }

    /// Executes the machine's outputs, answering each continuation from the store.
    fn drain(&mut self) {
        while let Some(o) = self.subs.poll_output() {
            let answer = match o {
                Output::Send { to, body } => {
                    let _ = self.net.call(Command::SendDb { to: PeerInfo { id: to, addrs: vec![] }, body });
                    None
                }
                Output::ToAuthor { mid, author, body } => match self.author_info(author) {
                    Some(to) => {
                        let _ = self.net.call(Command::SendDb { to, body });
                        None
                    }
                    None => Some(Input::Unreachable { mid }),
                },
                // Each with the node that writes it: this one for what it made (a user's too),
                // else the head's writer, which replicas follow and take entries from.
                Output::ListDbs => self.store.list_mimeis().ok().map(|all| {
                    let dbs = all.into_iter().filter(|m| m.head.info.kind == Kind::Db);
                    let me = self.me;
                    let writer = move |m: &proto_core::mimei::Mimei| if m.is_home(&me) { me } else { m.writer() };
                    Input::Dbs(
                        dbs.map(|m| (m.mid(), Key::from(proto_core::identity::node_id_of(&writer(&m))))).collect(),
                    )
                }),
                Output::LoadWant { peer, mid, from } => {
                    Some(Input::WantLoaded { peer, mid, msg: self.work(&mid, Work::Want(from)) })
                }
                Output::LoadHead { mid } => {
                    let pos = match self.work(&mid, Work::Head) {
                        Some(Msg::Head(p)) => Some(p),
                        _ => None,
                    };
                    Some(Input::HeadLoaded { mid, pos })
                }
                Output::Apply { mid, msg } => Some(Input::Applied { mid, reply: self.work(&mid, Work::Follow(msg)) }),
                Output::Check { mid, renew } => {
                    Some(Input::Checked { mid, msg: self.work(&mid, Work::FollowTick(renew)) })
                }
            };
            if let Some(input) = answer {
                let now = self.now();
                self.subs.handle_input(now, input);
            }
        }
    }

    /// Replication work on a MiMei's `cur` keyspace: the message it answers with.
    fn work(&self, mid: &Mid, work: Work) -> Option<Msg> {
        self.db.work(&prefix(mid, 0), work).ok().and_then(|done| done.msg)
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
}

/// Set once both the database and the network run.
pub type ReplSlot = Arc<OnceLock<ReplHandle>>;
