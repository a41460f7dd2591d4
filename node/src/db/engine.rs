//! Running database commands inside one batch: the event loop opens one LMDB transaction for
//! everything that is ready (every client's pipelines, API calls), runs it, commits once and only
//! then answers — group commit without a thread per writer. WATCH versions live here too.

use proto_core::db::repl::{digest_of, Entry, Follower, Leader, Msg, Pos, Recorder};
use proto_core::db::{self, Ctx, Fault, Read, Reply, Write};

/// What a commit changed: keyspaces, and replication entries to push.
pub type Committed = (Vec<Vec<u8>>, Vec<(Vec<u8>, Entry)>);
use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};
use storage::db::{DbStore, Snapshot};

pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// A keyspace: `m` + mid (20 bytes) + version (u32 BE; 0 = the live `cur` state).
pub fn prefix(mid: &proto_core::mimei::Mid, version: u32) -> Vec<u8> {
    let mut p = Vec::with_capacity(25);
    p.push(b'm');
    p.extend_from_slice(&mid.0 .0);
    p.extend_from_slice(&version.to_be_bytes());
    p
}

/// Version counters of watched keys (bumped by every write to them) and per-keyspace epochs
/// (bumped by FLUSHDB, which touches every key).
#[derive(Default)]
pub struct Watch {
    keys: HashMap<(Vec<u8>, Vec<u8>), (usize, u64)>,
    epochs: HashMap<Vec<u8>, u64>,
}

/// What a connection watches: (key, version seen) and the keyspace epoch seen.
#[derive(Clone, Debug, Default)]
pub struct Watched {
    pub prefix: Vec<u8>,
    pub keys: Vec<(Vec<u8>, u64)>,
    pub epoch: u64,
}

impl Watch {
    /// Starts watching `keys` of a keyspace (adds to what `w` already watches).
    pub fn watch(&mut self, w: &mut Watched, prefix: &[u8], keys: &[Vec<u8>]) {
        if w.keys.is_empty() {
            w.prefix = prefix.to_vec();
            w.epoch = self.epochs.get(prefix).copied().unwrap_or(0);
        }
        for k in keys {
            let e = self.keys.entry((w.prefix.clone(), k.clone())).or_insert((0, 0));
            e.0 += 1;
            w.keys.push((k.clone(), e.1));
        }
    }

    /// Forgets what `w` watches.
    pub fn unwatch(&mut self, w: &mut Watched) {
        for (k, _) in w.keys.drain(..) {
            let id = (w.prefix.clone(), k);
            if let Some(e) = self.keys.get_mut(&id) {
                e.0 -= 1;
                if e.0 == 0 {
                    self.keys.remove(&id);
                }
            }
        }
    }

    /// True when something `w` watches changed since it was watched.
    pub fn moved(&self, w: &Watched) -> bool {
        self.epochs.get(&w.prefix).copied().unwrap_or(0) != w.epoch
            || w.keys.iter().any(|(k, v)| self.keys.get(&(w.prefix.clone(), k.clone())).is_some_and(|e| e.1 != *v))
    }

    fn touched(&mut self, prefix: &[u8], cmd: &db::Command, args: &[Vec<u8>]) {
        if cmd.name == "flushdb" {
            *self.epochs.entry(prefix.to_vec()).or_insert(0) += 1;
        }
        if self.keys.is_empty() {
            return;
        }
        for k in cmd.key_args(args) {
            if let Some(e) = self.keys.get_mut(&(prefix.to_vec(), k.to_vec())) {
                e.1 += 1;
            }
        }
    }
}

/// Replication state the loop keeps: a leader per published DB MiMei this node authors (fed by
/// every write to its `cur`), a follower per DB MiMei it copies. Positions persist under
/// `r` + keyspace prefix, in the same transaction as the data they describe.
pub struct Repl {
    /// Whether writes to a keyspace are replicated (its MiMei is ours and published).
    pub leads: super::server::Leads,
    cache: HashMap<Vec<u8>, (bool, std::time::Instant)>,
    leaders: HashMap<Vec<u8>, Leader>,
    followers: HashMap<Vec<u8>, Follower>,
}

/// Entries the author keeps in memory for replicas that fall behind; older gaps get snapshots.
pub const LOG_KEEP: usize = 4096;

fn pos_key(prefix: &[u8]) -> Vec<u8> {
    [b"r".as_slice(), prefix].concat()
}

impl Repl {
    pub fn new(leads: super::server::Leads) -> Repl {
        Repl { leads, cache: HashMap::new(), leaders: HashMap::new(), followers: HashMap::new() }
    }

    fn is_led(&mut self, prefix: &[u8]) -> bool {
        let now = std::time::Instant::now();
        match self.cache.get(prefix) {
            Some((v, at)) if now.duration_since(*at).as_millis() < 1000 => *v,
            _ => {
                let v = (self.leads)(prefix);
                self.cache.insert(prefix.to_vec(), (v, now));
                v
            }
        }
    }

    /// `is_led` without the cache (a replica asking must not wait for it).
    fn is_led_now(&mut self, prefix: &[u8]) -> bool {
        let v = (self.leads)(prefix);
        self.cache.insert(prefix.to_vec(), (v, std::time::Instant::now()));
        v
    }

    /// Forgets in-memory positions (after a failed commit they may be ahead of the disk).
    pub fn reset_all(&mut self) {
        self.reset();
    }

    fn reset(&mut self) {
        self.leaders.clear();
        self.followers.clear();
    }
}

fn load_pos(store: &DbStore, t: &mut storage::db::WriteTxn<'_>, prefix: &[u8]) -> Result<Option<Pos>, Fault> {
    let raw = store.space_mut(t, b"").get(&pos_key(prefix))?;
    Ok(raw.and_then(|b| minicbor::decode::<Pos>(&b).ok()))
}

fn save_pos(store: &DbStore, t: &mut storage::db::WriteTxn<'_>, prefix: &[u8], pos: &Pos) -> Result<(), Fault> {
    let bytes = minicbor::to_vec(pos).map_err(|e| Fault(e.to_string()))?;
    store.space_mut(t, b"").put(&pos_key(prefix), &bytes)
}

enum Txn<'s> {
    Read(Snapshot<'s>),
    Write(storage::db::WriteTxn<'s>),
}

/// One batch: a transaction over the database store that every ready request runs in.
pub struct Batch<'s> {
    store: &'s DbStore,
    txn: Txn<'s>,
    pub cx: Ctx,
    /// Keyspaces written in this batch (for replication hooks).
    pub changed: Vec<Vec<u8>>,
    repl: &'s mut Repl,
    /// Replication entries made by this batch's writes, to push once it commits.
    pub entries: Vec<(Vec<u8>, Entry)>,
}

impl<'s> Batch<'s> {
    /// Opens a batch: a write transaction when `write`, else a read snapshot.
    pub fn open(store: &'s DbStore, write: bool, repl: &'s mut Repl) -> Result<Batch<'s>, Fault> {
        let txn = if write { Txn::Write(store.write_txn()?) } else { Txn::Read(store.read_txn()?) };
        Ok(Batch { store, txn, cx: Ctx { now_ms: now_ms() }, changed: Vec::new(), repl, entries: Vec::new() })
    }

    /// The leader of a replicated keyspace, loaded (or started from what the keyspace holds).
    fn leader(&mut self, prefix: &[u8]) -> Result<&mut Leader, Fault> {
        if !self.repl.leaders.contains_key(prefix) {
            let store = self.store;
            let t = self.write_txn()?;
            let leader = match load_pos(store, t, prefix)? {
                Some(pos) => Leader { pos, keep: LOG_KEEP, ..Leader::default() },
                None => {
                    // Replication starts now: what the keyspace already holds goes by snapshot.
                    let digest = digest_of(&store.space_mut(t, prefix))?;
                    let floor = u64::from(digest != [0; 32]);
                    Leader { pos: Pos { digest, ..Pos::default() }, keep: LOG_KEEP, floor, ..Leader::default() }
                }
            };
            self.repl.leaders.insert(prefix.to_vec(), leader);
        }
        Ok(self.repl.leaders.get_mut(prefix).expect("just inserted"))
    }

    fn follower(&mut self, prefix: &[u8]) -> Result<&mut Follower, Fault> {
        if !self.repl.followers.contains_key(prefix) {
            let store = self.store;
            let t = self.write_txn()?;
            let pos = load_pos(store, t, prefix)?.unwrap_or_default();
            self.repl.followers.insert(prefix.to_vec(), Follower { pos, known: pos.seq, asked_at: None });
        }
        Ok(self.repl.followers.get_mut(prefix).expect("just inserted"))
    }

    /// The author answering a replica's `Want`, or announcing its position (`from` = None).
    pub fn lead(&mut self, prefix: &[u8], from: Option<u64>) -> Result<Option<Msg>, Fault> {
        if !self.repl.is_led_now(prefix) {
            return Ok(None);
        }
        let leader = self.leader(prefix)?.clone();
        let Some(from) = from else { return Ok(Some(Msg::Head(leader.pos))) };
        let store = self.store;
        let t = self.write_txn()?;
        leader.on_want(&store.space_mut(t, prefix), from).map(Some)
    }

    /// A replica handling a message from the author (`None`: its periodic tick).
    pub fn follow(&mut self, prefix: &[u8], msg: Option<Msg>) -> Result<Option<Msg>, Fault> {
        let (store, now) = (self.store, self.cx.now_ms);
        let mut f = self.follower(prefix)?.clone();
        let before = f.pos;
        let reply = match msg {
            None => f.on_tick(now),
            Some(m) => {
                let t = self.write_txn()?;
                f.on_msg(&mut store.space_mut(t, prefix), now, m)?
            }
        };
        if f.pos != before {
            let t = self.write_txn()?;
            save_pos(store, t, prefix, &f.pos)?;
            if !self.changed.iter().any(|p| p == prefix) {
                self.changed.push(prefix.to_vec());
            }
        }
        self.repl.followers.insert(prefix.to_vec(), f);
        Ok(reply)
    }

    /// A replica's periodic check; `force` always asks (and so renews its subscription).
    pub fn follow_tick(&mut self, prefix: &[u8], force: bool) -> Result<Option<Msg>, Fault> {
        let now = self.cx.now_ms;
        let f = self.follower(prefix)?;
        Ok(if force { Some(f.refresh(now)) } else { f.on_tick(now) })
    }

    /// After a failed commit: in-memory replication positions are dropped and reloaded.
    pub fn abandon(self) {
        self.repl.reset();
    }

    /// Runs one command in keyspace `prefix`; a write command in a read batch is refused.
    pub fn run(&mut self, watch: &mut Watch, prefix: &[u8], args: &[Vec<u8>]) -> Result<Reply, Fault> {
        match &mut self.txn {
            Txn::Read(t) => db::run_read(&self.store.space(t, prefix), &self.cx, args),
            Txn::Write(_) => {
                let is_write = db::lookup(&args[0]).is_some_and(|c| c.is_write());
                let r = if is_write && self.repl.is_led(prefix) {
                    // A replicated keyspace: record the command's effects as the next entry.
                    let digest = self.leader(prefix)?.pos.digest;
                    let (store, cx) = (self.store, self.cx);
                    let t = self.write_txn()?;
                    let mut space = store.space_mut(t, prefix);
                    let mut rec = Recorder::new(&mut space, digest);
                    let r = db::run_write(&mut rec, &cx, args)?;
                    let (ops, digest) = (rec.ops, rec.digest);
                    let entry = self.leader(prefix)?.commit(ops, digest);
                    if let Some(e) = entry {
                        let pos = self.leader(prefix)?.pos;
                        save_pos(store, self.write_txn()?, prefix, &pos)?;
                        self.entries.push((prefix.to_vec(), e));
                    }
                    r
                } else {
                    let (store, cx) = (self.store, self.cx);
                    db::run_write(&mut store.space_mut(self.write_txn()?, prefix), &cx, args)?
                };
                if let Some(cmd) = db::lookup(&args[0]).filter(|c| c.is_write()) {
                    if !r.is_error() {
                        watch.touched(prefix, cmd, args);
                        if !self.changed.iter().any(|p| p == prefix) {
                            self.changed.push(prefix.to_vec());
                        }
                    }
                }
                Ok(r)
            }
        }
    }

    fn write_txn(&mut self) -> Result<&mut storage::db::WriteTxn<'s>, Fault> {
        match &mut self.txn {
            Txn::Write(t) => Ok(t),
            Txn::Read(_) => Err(Fault("internal: a write in a read batch".into())),
        }
    }

    /// Runs `cmds` in a child transaction that is then undone: what they would answer, with
    /// their writes visible to each other only. The keys they use join `watched` (first use).
    pub fn probe(
        &mut self,
        watch: &mut Watch,
        prefix: &[u8],
        cmds: &[Vec<Vec<u8>>],
        watched: &mut Watched,
    ) -> Result<Vec<Reply>, Fault> {
        for c in cmds {
            if let Some(cmd) = db::lookup(&c[0]) {
                let fresh: Vec<Vec<u8>> = cmd
                    .key_args(c)
                    .into_iter()
                    .filter(|k| !watched.keys.iter().any(|(w, _)| w == k))
                    .map(<[u8]>::to_vec)
                    .collect();
                watch.watch(watched, prefix, &fresh);
            }
        }
        let (store, cx) = (self.store, self.cx);
        let parent = self.write_txn()?;
        let mut child = store.nested(parent)?;
        let mut out = Vec::with_capacity(cmds.len());
        for c in cmds {
            out.push(db::run_write(&mut store.space_mut(&mut child, prefix), &cx, c)?);
        }
        drop(child);
        Ok(out)
    }

    /// Copies keyspace `from` to `to` (a backup).
    pub fn copy(&mut self, from: &[u8], to: &[u8]) -> Result<u64, Fault> {
        let store = self.store;
        let t = self.write_txn()?;
        store.copy_space(t, from, to)
    }

    /// Replaces keyspace `prefix` (an author's `cur`) with keyspace `from` (a version): a
    /// restore. Replication starts over at a new position replicas reach by snapshot.
    pub fn restore(&mut self, prefix: &[u8], from: &[u8]) -> Result<u64, Fault> {
        let store = self.store;
        let n = store.copy_space(self.write_txn()?, from, prefix)?;
        let digest = digest_of(&store.space_mut(self.write_txn()?, prefix))?;
        let leader = self.leader(prefix)?;
        leader.rebase(digest);
        let pos = leader.pos;
        save_pos(store, self.write_txn()?, prefix, &pos)?;
        if !self.changed.iter().any(|p| p == prefix) {
            self.changed.push(prefix.to_vec());
        }
        Ok(n)
    }

    /// Replaces keyspace `prefix` with `entries` (a snapshot from elsewhere).
    pub fn load(&mut self, prefix: &[u8], entries: &[(Vec<u8>, Vec<u8>)]) -> Result<(), Fault> {
        let store = self.store;
        let t = self.write_txn()?;
        store.load_space(t, prefix, entries)?;
        if !self.changed.iter().any(|p| p == prefix) {
            self.changed.push(prefix.to_vec());
        }
        Ok(())
    }

    /// Commits (a read batch just ends): the keyspaces changed and the entries to push.
    pub fn commit(self) -> Result<Committed, Fault> {
        if let Txn::Write(t) = self.txn {
            if let Err(e) = self.store.commit(t) {
                self.repl.reset();
                return Err(e);
            }
        }
        Ok((self.changed, self.entries))
    }
}
