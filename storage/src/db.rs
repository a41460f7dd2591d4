//! The database store: one LMDB environment (`<repo>/db`) holding every DB MiMei's keyspace
//! under its own prefix, so each keyspace is one ordered range (DESIGN.md §8). It implements
//! proto-core's `db::Read` / `db::Write` for snapshots and write transactions.
//!
//! Durability (config `db.durability`):
//! - `always`: each group commit is fsynced before any of its writes is acknowledged; survives
//!   power loss.
//! - `process` (default): a commit reaches the OS (LMDB's write of its pages) before it is
//!   acknowledged, and a background flush syncs every `db.sync_interval_ms`; survives `kill -9`
//!   and any crash of the process with every acknowledged write; a power loss may lose the last
//!   interval, like Redis's `appendfsync everysec`.

use crate::LmdbError;
use heed::types::Bytes;
use heed::{Database, Env, EnvFlags, RoTxn, RwTxn, WithTls};
use proto_core::db::{Fault, Read, Write};
use std::ops::Bound;
use std::path::Path;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    Always,
    Process,
}

impl Durability {
    pub fn parse(s: &str) -> Option<Durability> {
        match s {
            "always" => Some(Durability::Always),
            "process" => Some(Durability::Process),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Durability::Always => "always",
            Durability::Process => "process",
        }
    }
}

/// A write transaction: committed with [`DbStore::commit`], undone when dropped. Callers never
/// see LMDB's own transaction types.
pub struct WriteTxn<'e>(RwTxn<'e>);

/// A read snapshot (bound to the thread that opened it).
pub struct Snapshot<'e>(RoTxn<'e, WithTls>);

pub struct DbStore {
    env: Env,
    kv: Database<Bytes, Bytes>,
    pub durability: Durability,
    dir: std::path::PathBuf,
}

fn fault(e: heed::Error) -> Fault {
    Fault(format!("store error: {e}"))
}

impl DbStore {
    pub fn open(dir: &Path, durability: Durability) -> Result<Self, LmdbError> {
        let flags = match durability {
            Durability::Always => EnvFlags::empty(),
            Durability::Process => EnvFlags::NO_SYNC,
        };
        let env = crate::blocks::open_env(dir, 2, flags)?;
        let mut txn = env.write_txn()?;
        let kv = env.create_database(&mut txn, Some("kv"))?;
        txn.commit()?;
        Ok(DbStore { env, kv, durability, dir: dir.to_path_buf() })
    }

    /// Flushes committed transactions to disk (the periodic flush of `process` durability).
    /// A failed commit as a client should read it: a full disk is named as such
    /// (`storage::space`), anything else keeps LMDB's words.
    fn commit_fault(&self, e: heed::Error) -> Fault {
        Fault(format!("store error: {}", crate::space::write_error(&e, &self.dir, 4096)))
    }

    pub fn sync(&self) -> Result<(), LmdbError> {
        Ok(self.env.force_sync()?)
    }

    pub fn read_txn(&self) -> Result<Snapshot<'_>, Fault> {
        self.env.read_txn().map(Snapshot).map_err(fault)
    }

    pub fn write_txn(&self) -> Result<WriteTxn<'_>, Fault> {
        self.env.write_txn().map(WriteTxn).map_err(fault)
    }

    /// Commits `t`; a full disk is named as such (`storage::space`).
    pub fn commit(&self, t: WriteTxn<'_>) -> Result<(), Fault> {
        t.0.commit().map_err(|e| self.commit_fault(e))
    }

    /// A child transaction of `parent`: dropping it undoes its writes (API transactions read
    /// their own uncommitted writes through one).
    pub fn nested<'p>(&'p self, parent: &'p mut WriteTxn<'_>) -> Result<WriteTxn<'p>, Fault> {
        self.env.nested_write_txn(&mut parent.0).map(WriteTxn).map_err(fault)
    }

    /// Every entry under `prefix` (prefix cut off), in key order, from a fresh snapshot.
    pub fn entries(&self, prefix: &[u8]) -> Result<proto_core::db::snapshot::Entries, Fault> {
        let txn = self.read_txn()?;
        let mut out = Vec::new();
        for item in self.kv.prefix_iter(&txn.0, prefix).map_err(fault)? {
            let (k, v) = item.map_err(fault)?;
            out.push((k[prefix.len()..].to_vec(), v.to_vec()));
        }
        Ok(out)
    }

    /// Replaces everything under `prefix` with `entries`.
    pub fn load_space(
        &self,
        txn: &mut WriteTxn<'_>,
        prefix: &[u8],
        entries: &[(Vec<u8>, Vec<u8>)],
    ) -> Result<(), Fault> {
        self.clear_space(txn, prefix)?;
        let mut key = prefix.to_vec();
        for (k, v) in entries {
            key.truncate(prefix.len());
            key.extend_from_slice(k);
            self.kv.put(&mut txn.0, &key, v).map_err(fault)?;
        }
        Ok(())
    }

    /// The keyspace under `prefix` in a read snapshot.
    pub fn space<'a>(&self, txn: &'a Snapshot<'a>, prefix: &[u8]) -> Space<&'a Snapshot<'a>> {
        Space { txn, db: self.kv, prefix: prefix.to_vec() }
    }

    /// The keyspace under `prefix` in a write transaction.
    pub fn space_mut<'a, 'e>(&self, txn: &'a mut WriteTxn<'e>, prefix: &[u8]) -> Space<&'a mut WriteTxn<'e>> {
        Space { txn, db: self.kv, prefix: prefix.to_vec() }
    }

    /// Copies every entry under `from` to `to` (replacing what `to` held): a snapshot.
    pub fn copy_space(&self, txn: &mut WriteTxn<'_>, from: &[u8], to: &[u8]) -> Result<u64, Fault> {
        self.clear_space(txn, to)?;
        let mut entries = Vec::new();
        for item in self.kv.prefix_iter(&txn.0, from).map_err(fault)? {
            let (k, v) = item.map_err(fault)?;
            entries.push((k[from.len()..].to_vec(), v.to_vec()));
        }
        for (k, v) in &entries {
            let mut key = to.to_vec();
            key.extend_from_slice(k);
            self.kv.put(&mut txn.0, &key, v).map_err(fault)?;
        }
        Ok(entries.len() as u64)
    }

    /// Removes every entry under `prefix`.
    pub fn clear_space(&self, txn: &mut WriteTxn<'_>, prefix: &[u8]) -> Result<(), Fault> {
        let keys: Vec<Vec<u8>> = self
            .kv
            .prefix_iter(&txn.0, prefix)
            .map_err(fault)?
            .map(|r| r.map(|(k, _)| k.to_vec()))
            .collect::<Result<_, _>>()
            .map_err(fault)?;
        for k in keys {
            self.kv.delete(&mut txn.0, &k).map_err(fault)?;
        }
        Ok(())
    }
}

/// One DB MiMei's keyspace inside an LMDB transaction: keys are stored with the prefix.
pub struct Space<T> {
    txn: T,
    db: Database<Bytes, Bytes>,
    prefix: Vec<u8>,
}

impl<T> Space<T> {
    /// Calls `f` with prefix + key, built on the stack when short (the hot path allocates nothing).
    fn with_full<R>(&self, key: &[u8], f: impl FnOnce(&[u8]) -> R) -> R {
        let n = self.prefix.len() + key.len();
        if n <= 256 {
            let mut buf = [0u8; 256];
            buf[..self.prefix.len()].copy_from_slice(&self.prefix);
            buf[self.prefix.len()..n].copy_from_slice(key);
            f(&buf[..n])
        } else {
            let mut k = Vec::with_capacity(n);
            k.extend_from_slice(&self.prefix);
            k.extend_from_slice(key);
            f(&k)
        }
    }
}

fn scan_in(
    db: &Database<Bytes, Bytes>,
    txn: &RoTxn<'_>,
    prefix: &[u8],
    from: &[u8],
    to: &[u8],
    f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
) -> Result<(), Fault> {
    if from >= to {
        return Ok(());
    }
    let (mut a, mut b) = (prefix.to_vec(), prefix.to_vec());
    a.extend_from_slice(from);
    b.extend_from_slice(to);
    let range = (Bound::Included(a.as_slice()), Bound::Excluded(b.as_slice()));
    for item in db.range(txn, &range).map_err(fault)? {
        let (k, v) = item.map_err(fault)?;
        if !f(&k[prefix.len()..], v) {
            break;
        }
    }
    Ok(())
}

impl Read for Space<&Snapshot<'_>> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, Fault> {
        self.with_full(key, |k| Ok(self.db.get(&self.txn.0, k).map_err(fault)?.map(<[u8]>::to_vec)))
    }
    fn scan(&self, from: &[u8], to: &[u8], f: &mut dyn FnMut(&[u8], &[u8]) -> bool) -> Result<(), Fault> {
        scan_in(&self.db, &self.txn.0, &self.prefix, from, to, f)
    }
}

impl Read for Space<&mut WriteTxn<'_>> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, Fault> {
        self.with_full(key, |k| Ok(self.db.get(&self.txn.0, k).map_err(fault)?.map(<[u8]>::to_vec)))
    }
    fn scan(&self, from: &[u8], to: &[u8], f: &mut dyn FnMut(&[u8], &[u8]) -> bool) -> Result<(), Fault> {
        scan_in(&self.db, &self.txn.0, &self.prefix, from, to, f)
    }
}

impl Write for Space<&mut WriteTxn<'_>> {
    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), Fault> {
        let (db, prefix) = (self.db, std::mem::take(&mut self.prefix));
        let txn = &mut self.txn.0;
        let space = Space { txn: (), db, prefix };
        let r = space.with_full(key, |k| db.put(txn, k, value).map_err(fault));
        self.prefix = space.prefix;
        r
    }
    fn del(&mut self, key: &[u8]) -> Result<(), Fault> {
        let (db, prefix) = (self.db, std::mem::take(&mut self.prefix));
        let txn = &mut self.txn.0;
        let space = Space { txn: (), db, prefix };
        let r = space.with_full(key, |k| db.delete(txn, k).map_err(fault).map(|_| ()));
        self.prefix = space.prefix;
        r
    }
}
