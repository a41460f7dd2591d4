//! Garbage collection: the blocks no kept root reaches are removed, all of them (`repo gc`) or
//! the least recently used first until the store is down to a size (the automatic collection
//! at `storage_max`).
//!
//! Kept roots: recursive pins, the MFS root (`kv` key `mfs/root`), and every version, working
//! copy (`cur`) and conflicting version of every MiMei held here (file MiMeis, apps, and database
//! MiMeis, whose snapshots are UnixFS files). Blocks that running adds hold are kept too.
//!
//! A collection runs beside reads and writes. From the moment its mark begins, the store notes
//! every block that is read, checked or written (`touched`); the sweep deletes in small write
//! transactions, which LMDB serializes with every other write, and each one first marks the
//! roots made since (read in the same transaction), then skips what is kept, touched or held.
//! A reader notes its block under the lock the sweep holds until its commit, so a block read
//! after the mark began is either seen gone or kept. Each transaction commits whole, so a
//! `kill -9` mid-collection leaves every kept block: only unkept ones were ever deleted.
//!
//! Access times (for least recently used first) are whole seconds of a clock the node sets
//! (`set_clock`), kept in memory and written in one transaction by `flush_atimes` (the node's
//! collector calls it periodically, and every collection does first): never a write per read.

use crate::blocks::Store;
use proto_core::cid::{Cid, CODEC_DAG_PB};
use proto_core::dagpb::PbNode;
use proto_core::mimei::{CidBytes, Kind, Mimei};
use proto_core::store::StoreError as Fault;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard};

/// The `kv` key under which the MFS root's CID (`Cid::to_bytes`) is kept.
pub const MFS_ROOT_KEY: &[u8] = b"mfs/root";
/// Where access times live in the state database: this prefix, then the block's key.
const ATIME: &[u8] = b"atime/";
/// Blocks deleted per write transaction (each one holds back writes for its length).
const BATCH: usize = 256;
/// Access times kept in memory between flushes at most; beyond, new blocks go unrecorded
/// until the next flush (they count as least recently used, as blocks from before LRU did).
const MAX_ATIMES: usize = 1 << 18;

/// What a collection and the access times need, inside the store.
#[derive(Default)]
pub(crate) struct GcState {
    /// A collection's mark has begun: note what is touched.
    active: AtomicBool,
    touched: Mutex<BTreeSet<Vec<u8>>>,
    atimes: Mutex<BTreeMap<Vec<u8>, u32>>,
    /// The clock's whole seconds, set by the node.
    now: AtomicU32,
    /// One collection at a time.
    running: Mutex<()>,
    /// Held (shared) by an operation that reads blocks and then stores a root over them; a
    /// collection takes it (exclusive) for a moment before it reads the roots, so no such
    /// operation straddles the start of its mark.
    gate: RwLock<()>,
    /// The configured limit (0 = none set).
    storage_max: AtomicU64,
    /// Runs between the mark and the sweep (tests: what happens meanwhile).
    #[cfg(test)]
    pub(crate) after_mark: Mutex<Option<Box<dyn FnOnce() + Send>>>,
}

/// A kept root and what keeps it (`pin`, `mfs`, `mimei MID version 3`, `app MID cur`, …).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Root {
    pub cid: Cid,
    pub why: String,
}

/// What a collection did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GcReport {
    pub removed: u64,
    /// The removed blocks' bytes.
    pub bytes: u64,
    /// Blocks the kept roots reach (present or not).
    pub kept: u64,
    /// Blocks of kept DAGs that are not here (skipped: e.g. a MiMei not fully fetched).
    pub missing: u64,
}

/// How much a collection removes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Goal {
    /// Every unkept block.
    All,
    /// Unkept blocks, least recently used first, until the pages in use are at most this.
    DownTo(u64),
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // What the locks guard stays usable after a panic: at worst a block is kept that could go.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn failed(e: heed::Error) -> Fault {
    Fault::failed(e)
}

/// Notes what is touched while a collection runs; stops (and forgets) when dropped.
struct Active<'a>(&'a GcState);

impl<'a> Active<'a> {
    fn start(g: &'a GcState) -> Self {
        lock(&g.touched).clear();
        g.active.store(true, Ordering::SeqCst);
        Active(g)
    }
}

impl Drop for Active<'_> {
    fn drop(&mut self) {
        self.0.active.store(false, Ordering::SeqCst);
        *lock(&self.0.touched) = BTreeSet::new();
    }
}

impl Store {
    /// A block was read: its access time, and a running collection keeps it.
    pub(crate) fn note_read(&self, key: &[u8]) {
        self.note_touch(std::iter::once(key));
        self.note_atime(std::iter::once(key));
    }

    /// Blocks were checked or written: a running collection keeps them.
    pub(crate) fn note_touch<'k>(&self, keys: impl Iterator<Item = &'k [u8]>) {
        if self.gc.active.load(Ordering::SeqCst) {
            let mut t = lock(&self.gc.touched);
            for k in keys {
                t.insert(k.to_vec());
            }
        }
    }

    pub(crate) fn note_atime<'k>(&self, keys: impl Iterator<Item = &'k [u8]>) {
        let now = self.gc.now.load(Ordering::Relaxed);
        let mut m = lock(&self.gc.atimes);
        for k in keys {
            if let Some(t) = m.get_mut(k) {
                *t = now;
            } else if m.len() < MAX_ATIMES {
                m.insert(k.to_vec(), now);
            }
        }
    }

    /// Sets the clock access times are recorded with (whole seconds).
    pub fn set_clock(&self, secs: u32) {
        self.gc.now.store(secs, Ordering::Relaxed);
    }

    /// Sets the size (bytes of pages in use) the automatic collection keeps the store under.
    pub fn set_storage_max(&self, bytes: u64) {
        self.gc.storage_max.store(bytes, Ordering::Relaxed);
    }

    /// The configured limit, when one was set.
    pub fn storage_max(&self) -> Option<u64> {
        Some(self.gc.storage_max.load(Ordering::Relaxed)).filter(|n| *n > 0)
    }

    /// Bytes of the pages the databases use (`Usage::used_bytes`, without the rest of `usage`).
    pub fn used_bytes(&self) -> Result<u64, Fault> {
        self.env.non_free_pages_size().map_err(failed)
    }

    /// Access times noted in memory and not yet written.
    pub fn pending_atimes(&self) -> usize {
        lock(&self.gc.atimes).len()
    }

    /// Writes the access times noted in memory, in one transaction. Returns how many.
    pub fn flush_atimes(&self) -> Result<usize, Fault> {
        let taken = std::mem::take(&mut *lock(&self.gc.atimes));
        if taken.is_empty() {
            return Ok(0);
        }
        let w = |e: heed::Error| self.write_fault(&e, taken.len() as u64 * 48);
        let mut txn = self.env.write_txn().map_err(w)?;
        let mut k = ATIME.to_vec();
        for (key, t) in &taken {
            k.truncate(ATIME.len());
            k.extend_from_slice(key);
            self.state.put(&mut txn, &k, &t.to_le_bytes()).map_err(w)?;
        }
        txn.commit().map_err(w)?;
        Ok(taken.len())
    }

    /// The kept roots and what keeps each (`repo ls`).
    pub fn kept_roots(&self) -> Result<Vec<Root>, Fault> {
        let txn = self.env.read_txn().map_err(failed)?;
        self.roots(&txn).map_err(failed)
    }

    fn roots(&self, txn: &heed::RoTxn) -> Result<Vec<Root>, heed::Error> {
        let mut out = Vec::new();
        for item in self.pins.iter(txn)? {
            if let Ok(cid) = Cid::from_bytes(item?.0) {
                out.push(Root { cid, why: "pin".into() });
            }
        }
        let mfs = [b"kv/".as_slice(), MFS_ROOT_KEY].concat();
        if let Some(cid) = self.state.get(txn, &mfs)?.and_then(|v| Cid::from_bytes(v).ok()) {
            out.push(Root { cid, why: "mfs".into() });
        }
        for item in self.state.prefix_iter(txn, b"mm/")? {
            // One that does not decode keeps nothing (it is skipped everywhere else too).
            let Ok(m) = minicbor::decode::<Mimei>(item?.1) else { continue };
            let what = match m.head.info.kind {
                Kind::Db => "db",
                Kind::File if m.head.info.ext == "app" => "app",
                Kind::File => "mimei",
            };
            let mid = m.mid();
            let mut add = |c: &CidBytes, which: String| {
                if let Some(cid) = c.cid() {
                    out.push(Root { cid, why: format!("{what} {mid} {which}") });
                }
            };
            for (v, c) in &m.head.versions {
                add(c, format!("version {v}"));
            }
            if let Some(c) = &m.cur {
                add(c, "cur".into());
            }
            for (v, list) in m.conflicts.iter().flatten() {
                for c in list {
                    add(c, format!("conflict {v}"));
                }
            }
            // References that are CIDs (`MMAddRef`); mac files and MiMeis are kept as such.
            for r in m.all_refs() {
                if let Ok(cid) = Cid::parse(r) {
                    out.push(Root { cid, why: format!("{what} {mid} ref") });
                }
            }
        }
        Ok(out)
    }

    /// Adds every block `root` reaches to `kept` (dag-pb links; a missing block is counted and
    /// skipped). A root already kept is not walked again.
    fn mark(
        &self,
        txn: &heed::RoTxn,
        root: &Cid,
        kept: &mut BTreeSet<Vec<u8>>,
        missing: &mut u64,
    ) -> Result<(), heed::Error> {
        let mut stack = vec![root.clone()];
        while let Some(cid) = stack.pop() {
            let key = cid.hash().to_bytes();
            if kept.contains(&key) {
                continue;
            }
            if cid.codec() == CODEC_DAG_PB {
                match self.blocks.get(txn, &key)? {
                    Some(b) => {
                        if let Ok((links, _)) = PbNode::decode_links(b) {
                            stack.extend(links.into_iter().map(|l| l.cid));
                        }
                    }
                    None => *missing += 1,
                }
            }
            kept.insert(key);
        }
        Ok(())
    }

    /// Held while an operation reads blocks and stores a root over them (an MFS change, a pin,
    /// a MiMei version): a collection's mark starts before the operation or after it, never in
    /// the middle; what the operation reads after a mark began is touched, so kept.
    pub fn root_op(&self) -> RwLockReadGuard<'_, ()> {
        self.gc.gate.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Removes unkept blocks (see the module's notes). Waits for a collection already running.
    pub fn gc(&self, goal: Goal) -> Result<GcReport, Fault> {
        let _one = lock(&self.gc.running);
        let _active = Active::start(&self.gc);
        // Operations in flight finish first: their roots are in what the mark reads.
        drop(self.gc.gate.write().unwrap_or_else(PoisonError::into_inner));
        self.flush_atimes()?;
        let mut report = GcReport::default();
        let mut kept = BTreeSet::new();
        // Each candidate is its access time (big-endian, so the set is oldest first) and key.
        let mut candidates = BTreeSet::new();
        let mut orphans = Vec::new();
        {
            let txn = self.env.read_txn().map_err(failed)?;
            for r in self.roots(&txn).map_err(failed)? {
                self.mark(&txn, &r.cid, &mut kept, &mut report.missing).map_err(failed)?;
            }
            let mut atimes = BTreeMap::new();
            for item in self.state.prefix_iter(&txn, ATIME).map_err(failed)? {
                let (k, v) = item.map_err(failed)?;
                atimes.insert(k[ATIME.len()..].to_vec(), v.try_into().map(u32::from_le_bytes).unwrap_or(0));
            }
            for item in self.blocks.iter(&txn).map_err(failed)? {
                let k = item.map_err(failed)?.0;
                let t = atimes.remove(k).unwrap_or(0);
                if !kept.contains(k) {
                    let t = if goal == Goal::All { 0 } else { t };
                    candidates.insert([&t.to_be_bytes(), k].concat());
                }
            }
            // Times of blocks that are gone.
            orphans.extend(atimes.into_keys());
        }
        #[cfg(test)]
        if let Some(f) = lock(&self.gc.after_mark).take() {
            f();
        }
        let mut used = self.env.non_free_pages_size().map_err(failed)?;
        loop {
            let need = match goal {
                Goal::All => u64::MAX,
                Goal::DownTo(target) => used.saturating_sub(target),
            };
            if need == 0 || (candidates.is_empty() && orphans.is_empty()) {
                break;
            }
            self.sweep(&mut candidates, need, &mut kept, &mut orphans, &mut report)?;
            used = self.env.non_free_pages_size().map_err(failed)?;
        }
        report.kept = kept.len() as u64;
        Ok(report)
    }

    /// One write transaction of the sweep, taking candidates oldest first until it has freed
    /// `need` bytes or deleted `BATCH` blocks.
    fn sweep(
        &self,
        candidates: &mut BTreeSet<Vec<u8>>,
        need: u64,
        kept: &mut BTreeSet<Vec<u8>>,
        orphans: &mut Vec<Vec<u8>>,
        report: &mut GcReport,
    ) -> Result<(), Fault> {
        // The same order as every add's writes: the holds, then the transaction.
        let holds = self.holds();
        let w = |e: heed::Error| self.write_fault(&e, 0);
        let mut txn = self.env.write_txn().map_err(w)?;
        // Roots made since the mark (a pin, a MiMei version, the MFS root) keep their blocks.
        for r in self.roots(&txn).map_err(failed)? {
            self.mark(&txn, &r.cid, kept, &mut report.missing).map_err(failed)?;
        }
        let mut k = ATIME.to_vec();
        for o in orphans.drain(..) {
            k.truncate(ATIME.len());
            k.extend_from_slice(&o);
            self.state.delete(&mut txn, &k).map_err(w)?;
        }
        // Held to the commit: a reader noting a block now waits, then finds it kept or gone.
        let touched = lock(&self.gc.touched);
        let (mut freed, mut gone) = (0u64, Vec::new());
        while gone.len() < BATCH && freed < need {
            let Some(c) = candidates.pop_first() else { break };
            let key = &c[4..];
            if kept.contains(key) || touched.contains(key) || holds.contains_key(key) {
                continue;
            }
            let Some(size) = self.blocks.get(&txn, key).map_err(failed)?.map(|b| b.len() as u64) else { continue };
            self.blocks.delete(&mut txn, key).map_err(w)?;
            k.truncate(ATIME.len());
            k.extend_from_slice(key);
            self.state.delete(&mut txn, &k).map_err(w)?;
            freed += size;
            gone.push(c);
        }
        txn.commit().map_err(w)?;
        drop(touched);
        let mut atimes = lock(&self.gc.atimes);
        for c in &gone {
            atimes.remove(&c[4..]);
        }
        report.removed += gone.len() as u64;
        report.bytes += freed;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto_core::store::{BlockWrite, KvStore, MimeiStore, PinStore};
    use proto_core::unixfs::file::import_bytes;
    use proto_core::unixfs::read::BlockRead;
    use proto_core::unixfs::{Block, Profile};
    use std::sync::Arc;

    use crate::test_data::data;

    /// A file of `len` bytes stored (not pinned): its root and blocks.
    fn file(store: &Store, len: usize, seed: u64) -> (Cid, Vec<Block>) {
        let (root, blocks) = import_bytes(Profile::UNIXFS_V0_2015, &data(len, seed));
        store.put_blocks(&blocks).unwrap();
        (root.cid, blocks)
    }

    fn all_there(store: &Store, blocks: &[Block]) -> bool {
        blocks.iter().all(|b| store.has_block(&b.cid).unwrap())
    }

    fn none_there(store: &Store, blocks: &[Block]) -> bool {
        blocks.iter().all(|b| !store.has_block(&b.cid).unwrap())
    }

    #[test]
    fn a_collection_starts_its_mark_only_after_a_root_operation_in_flight() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path()).unwrap());
        // Blocks stored long ago, unpinned: an operation is about to make a root over them.
        let (cid, blocks) = file(&store, 700_000, 21);
        let op = store.root_op();
        let (tx, rx) = std::sync::mpsc::channel();
        let s = store.clone();
        let gc = std::thread::spawn(move || {
            let r = s.gc(Goal::All).unwrap();
            tx.send(()).unwrap();
            r
        });
        assert!(rx.recv_timeout(std::time::Duration::from_millis(300)).is_err(), "the collection waits");
        store.pin_add(&cid).unwrap();
        drop(op);
        let r = gc.join().unwrap();
        assert_eq!(r.removed, 0);
        assert!(all_there(&store, &blocks), "the root made meanwhile keeps its blocks");
    }

    #[test]
    fn removes_what_no_root_reaches_and_keeps_pins_mfs_and_mimei_versions() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let (pinned, pinned_blocks) = file(&store, 700_000, 1);
        store.pin_add(&pinned).unwrap();
        let (mfs, mfs_blocks) = file(&store, 600_000, 2);
        store.kv_put(MFS_ROOT_KEY, Some(&mfs.to_bytes())).unwrap();
        let (v1, v1_blocks) = file(&store, 500_000, 3);
        let (cur, cur_blocks) = file(&store, 300_000, 4);
        let info =
            proto_core::mimei::Info { kind: Kind::File, appid: String::new(), ext: "app".into(), mark: "m".into() };
        let mut m = Mimei::new([7; 32], info, 0, 0);
        m.set_cid(&v1).unwrap();
        m.set_cur(&cur).unwrap();
        // A reference of cur, copied into version 2 below (`MMAddRef`).
        let (referenced, ref_blocks) = file(&store, 200_000, 8);
        m.add_refs(&[referenced.to_string(), "not-a-cid".into()]).unwrap();
        // A version whose blocks never came (a MiMei not fully fetched): skipped, not an error.
        let absent = import_bytes(Profile::UNIXFS_V0_2015, &data(400_000, 5)).0.cid;
        m.set_cid(&absent).unwrap();
        store.put_mimei(&m).unwrap();
        let (_, junk) = file(&store, 900_000, 6);
        let (_, junk2) = file(&store, 10, 7);

        let roots = store.kept_roots().unwrap();
        let whys: Vec<&str> = roots.iter().map(|r| r.why.as_str()).collect();
        let mid = m.mid();
        assert_eq!(
            whys,
            [
                "pin",
                "mfs",
                &format!("app {mid} version 1"),
                &format!("app {mid} version 2"),
                &format!("app {mid} cur"),
                &format!("app {mid} ref"),
                &format!("app {mid} ref")
            ]
        );
        let before = store.block_count().unwrap();
        let r = store.gc(Goal::All).unwrap();
        assert_eq!(r.removed as usize, junk.len() + junk2.len());
        assert_eq!(r.bytes, junk.iter().chain(&junk2).map(|b| b.bytes.len() as u64).sum::<u64>());
        assert_eq!(r.missing, 1, "the absent version's root");
        assert_eq!(store.block_count().unwrap(), before - r.removed);
        assert!(none_there(&store, &junk) && none_there(&store, &junk2));
        for kept in [&pinned_blocks, &mfs_blocks, &v1_blocks, &cur_blocks, &ref_blocks] {
            assert!(all_there(&store, kept));
        }
        assert_eq!(store.verify_all().unwrap().1, Vec::<Vec<u8>>::new());
        // Nothing more to remove; an unpinned DAG goes the next time.
        assert_eq!(store.gc(Goal::All).unwrap().removed, 0);
        store.pin_rm(&pinned).unwrap();
        assert_eq!(store.gc(Goal::All).unwrap().removed as usize, pinned_blocks.len());
        assert!(all_there(&store, &mfs_blocks));
    }

    #[test]
    fn blocks_running_adds_hold_stay_until_the_add_ends() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let (_, blocks) = import_bytes(Profile::UNIXFS_V0_2015, &data(800_000, 8));
        let mut held = crate::AddHeld::default();
        store.put_add_blocks(&mut held, &blocks[..2]).unwrap();
        assert_eq!(store.gc(Goal::All).unwrap().removed, 0);
        assert!(all_there(&store, &blocks[..2]));
        // The add ends without a pin of its root: its blocks are nobody's now.
        store.release_add(held);
        assert_eq!(store.gc(Goal::All).unwrap().removed, 2);
    }

    #[test]
    fn what_is_touched_or_rooted_during_a_collection_survives() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path()).unwrap());
        let (_, read) = file(&store, 300_000, 10);
        let (_, checked) = file(&store, 300_000, 11);
        let (pin_later, pinned_later) = file(&store, 600_000, 12);
        let (mfs_later, mfs_blocks) = file(&store, 300_000, 13);
        let (_, junk) = file(&store, 600_000, 14);
        let written = import_bytes(Profile::UNIXFS_V0_2015, &data(300_000, 15)).1;
        let s = store.clone();
        let (w, pl) = (written.clone(), pin_later.clone());
        let (r0, c0) = (read[0].cid.clone(), checked[0].cid.clone());
        *lock(&store.gc.after_mark) = Some(Box::new(move || {
            // After the mark, before the sweep: a read, a check, a write, a new pin, a new MFS root.
            assert!(s.get_block(&r0).unwrap().is_some());
            assert!(s.has_block(&c0).unwrap());
            s.put_blocks(&w).unwrap();
            s.pin_add(&pl).unwrap();
            s.kv_put(MFS_ROOT_KEY, Some(&mfs_later.to_bytes())).unwrap();
        }));
        let r = store.gc(Goal::All).unwrap();
        assert!(store.has_block(&read[0].cid).unwrap() && store.has_block(&checked[0].cid).unwrap());
        assert!(all_there(&store, &written) && all_there(&store, &pinned_later) && all_there(&store, &mfs_blocks));
        // The other blocks of the read and checked files were not touched: gone, as the junk.
        assert!(none_there(&store, &read[1..]) && none_there(&store, &checked[1..]) && none_there(&store, &junk));
        assert_eq!(r.removed as usize, junk.len() + read.len() - 1 + checked.len() - 1);
        // Touches are noted only while a collection runs.
        assert!(store.get_block(&read[0].cid).unwrap().is_some());
        assert_eq!(store.gc(Goal::All).unwrap().removed as usize, 2 + written.len());
    }

    #[test]
    fn the_automatic_collection_removes_least_recently_used_first() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b, c, pinned);
        {
            let store = Store::open(dir.path()).unwrap();
            store.set_clock(100);
            a = file(&store, 1_000_000, 20).1;
            store.set_clock(200);
            b = file(&store, 1_000_000, 21).1;
            store.set_clock(250);
            let p = file(&store, 1_000_000, 22);
            store.pin_add(&p.0).unwrap();
            pinned = p.1;
            store.set_clock(300);
            c = file(&store, 1_000_000, 23).1;
            // `a` is read again: now the most recently used.
            store.set_clock(400);
            for blk in &a {
                store.get_block(&blk.cid).unwrap();
            }
            // The times reach the disk, and a reopened store orders by them.
            assert_eq!(store.flush_atimes().unwrap(), a.len() + b.len() + c.len() + pinned.len());
            assert_eq!(store.pending_atimes(), 0);
        }
        let store = Store::open(dir.path()).unwrap();
        let used = store.env.non_free_pages_size().unwrap();
        let r = store.gc(Goal::DownTo(used - 400_000)).unwrap();
        // Two of b's leaves (the oldest) make the room; nothing else is touched.
        assert!(r.removed >= 1 && r.bytes >= 400_000 - 8192 && r.removed < b.len() as u64, "{r:?}");
        assert!(store.env.non_free_pages_size().unwrap() <= used - 400_000);
        assert_eq!(b.iter().filter(|x| !store.has_block(&x.cid).unwrap()).count() as u64, r.removed);
        assert!(all_there(&store, &a) && all_there(&store, &c) && all_there(&store, &pinned));
        // Further down: all of b, then c (time 300) before a (time 400); the pin never.
        let used = store.env.non_free_pages_size().unwrap();
        let r = store.gc(Goal::DownTo(used - 1_200_000)).unwrap();
        assert!(none_there(&store, &b), "{r:?}");
        assert!(!all_there(&store, &c) && all_there(&store, &a) && all_there(&store, &pinned), "{r:?}");
        let r = store.gc(Goal::DownTo(0)).unwrap();
        assert!(none_there(&store, &a) && none_there(&store, &c) && all_there(&store, &pinned), "{r:?}");
        // The times of removed blocks went with them.
        let txn = store.env.read_txn().unwrap();
        assert_eq!(store.state.prefix_iter(&txn, ATIME).unwrap().count(), pinned.len());
    }
}
