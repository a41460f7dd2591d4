//! Running database commands inside one batch: the event loop opens one LMDB transaction for
//! everything that is ready (every client's pipelines, API calls), runs it, commits once and only
//! then answers — group commit without a thread per writer. WATCH versions live here too.

use proto_core::db::{self, Ctx, Fault, Reply};
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
}

impl<'s> Batch<'s> {
    /// Opens a batch: a write transaction when `write`, else a read snapshot.
    pub fn open(store: &'s DbStore, write: bool) -> Result<Batch<'s>, Fault> {
        let txn = if write { Txn::Write(store.write_txn()?) } else { Txn::Read(store.read_txn()?) };
        Ok(Batch { store, txn, cx: Ctx { now_ms: now_ms() }, changed: Vec::new() })
    }

    /// Runs one command in keyspace `prefix`; a write command in a read batch is refused.
    pub fn run(&mut self, watch: &mut Watch, prefix: &[u8], args: &[Vec<u8>]) -> Result<Reply, Fault> {
        match &mut self.txn {
            Txn::Read(t) => db::run_read(&self.store.space(t, prefix), &self.cx, args),
            Txn::Write(t) => {
                let r = db::run_write(&mut self.store.space_mut(t, prefix), &self.cx, args)?;
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

    /// Commits (a read batch just ends).
    pub fn commit(self) -> Result<Vec<Vec<u8>>, Fault> {
        if let Txn::Write(t) = self.txn {
            t.commit().map_err(|e| Fault(format!("store error: {e}")))?;
        }
        Ok(self.changed)
    }
}
