//! The database engine of a node: one writer thread that group-commits every client's writes
//! (one LMDB transaction, one sync, many acknowledgements), read snapshots on the caller's
//! thread, and WATCH bookkeeping for optimistic transactions.

use proto_core::db::{self, Ctx, Fault, Reply};
use std::collections::HashMap;
use std::sync::{mpsc, Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};
use storage::db::{DbStore, Durability};

/// Most jobs folded into one commit.
const MAX_BATCH: usize = 512;

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

/// Keys being watched: their version counters (bumped by every write to them).
#[derive(Default)]
struct Watch {
    keys: HashMap<(Vec<u8>, Vec<u8>), (usize, u64)>,
    /// Bumped per keyspace by FLUSHDB (it touches every key).
    epochs: HashMap<Vec<u8>, u64>,
}

/// What a connection watches: (key, version seen) and the keyspace epoch seen.
#[derive(Clone, Debug, Default)]
pub struct Watched {
    pub prefix: Vec<u8>,
    pub keys: Vec<(Vec<u8>, u64)>,
    pub epoch: u64,
}

/// One client's commands to run in order inside the next commit.
struct Job {
    prefix: Vec<u8>,
    cmds: Vec<Vec<Vec<u8>>>,
    /// For EXEC: run only if nothing watched changed.
    watched: Option<Watched>,
    done: mpsc::SyncSender<Result<Option<Vec<Reply>>, Fault>>,
}

/// Called after each commit with the keyspaces it changed (replication hooks in here).
pub type CommitHook = Box<dyn Fn(&[Vec<u8>]) + Send + Sync>;

pub struct Engine {
    pub store: Arc<DbStore>,
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    watch: Arc<Mutex<Watch>>,
}

impl Engine {
    /// Starts the writer thread (and, for `process` durability, the periodic flush).
    pub fn start(store: Arc<DbStore>, sync_interval_ms: u64, hook: Option<CommitHook>) -> Arc<Engine> {
        let (tx, rx) = mpsc::channel::<Job>();
        let watch = Arc::new(Mutex::new(Watch::default()));
        let (s, w) = (store.clone(), watch.clone());
        std::thread::Builder::new()
            .name("db-writer".into())
            .spawn(move || writer(&s, &w, &rx, hook))
            .expect("spawn the database writer");
        if store.durability == Durability::Process {
            let weak = Arc::downgrade(&store);
            std::thread::Builder::new()
                .name("db-flush".into())
                .spawn(move || loop {
                    std::thread::sleep(std::time::Duration::from_millis(sync_interval_ms.max(10)));
                    match weak.upgrade() {
                        Some(s) => {
                            if let Err(e) = s.sync() {
                                eprintln!("database flush failed: {e}");
                            }
                        }
                        None => return,
                    }
                })
                .expect("spawn the database flusher");
        }
        Arc::new(Engine { store, jobs: Mutex::new(Some(tx)), watch })
    }

    /// Stops accepting writes; the writer finishes what it has and flushes.
    pub fn stop(&self) {
        if let Ok(mut j) = self.jobs.lock() {
            j.take();
        }
    }

    fn submit(
        &self,
        prefix: &[u8],
        cmds: Vec<Vec<Vec<u8>>>,
        watched: Option<Watched>,
    ) -> Result<Option<Vec<Reply>>, Fault> {
        let (done, wait) = mpsc::sync_channel(1);
        let job = Job { prefix: prefix.to_vec(), cmds, watched, done };
        let sent = match self.jobs.lock() {
            Ok(j) => j.as_ref().map(|tx| tx.send(job).is_ok()).unwrap_or(false),
            Err(_) => false,
        };
        if !sent {
            return Err(Fault("the database is shutting down".into()));
        }
        wait.recv().map_err(|_| Fault("the database writer stopped".into()))?
    }

    /// Runs commands (reads and writes, in order) in the next group commit; replies once durable.
    pub fn write(&self, prefix: &[u8], cmds: Vec<Vec<Vec<u8>>>) -> Result<Vec<Reply>, Fault> {
        Ok(self.submit(prefix, cmds, None)?.unwrap_or_default())
    }

    /// EXEC: runs the commands atomically unless a watched key changed (then None).
    pub fn exec(&self, prefix: &[u8], cmds: Vec<Vec<Vec<u8>>>, watched: Watched) -> Result<Option<Vec<Reply>>, Fault> {
        self.submit(prefix, cmds, Some(watched))
    }

    /// Runs read-only commands in one snapshot.
    pub fn read(&self, prefix: &[u8], cmds: &[Vec<Vec<u8>>]) -> Result<Vec<Reply>, Fault> {
        let txn = self.store.read_txn()?;
        let space = self.store.space(&txn, prefix);
        let cx = Ctx { now_ms: now_ms() };
        cmds.iter().map(|c| db::run_read(&space, &cx, c)).collect()
    }

    /// Starts watching `keys` of a keyspace (adds to what `w` already watches).
    pub fn watch(&self, w: &mut Watched, prefix: &[u8], keys: &[Vec<u8>]) {
        let Ok(mut reg) = self.watch.lock() else { return };
        if w.keys.is_empty() {
            w.prefix = prefix.to_vec();
            w.epoch = reg.epochs.get(prefix).copied().unwrap_or(0);
        }
        for k in keys {
            let e = reg.keys.entry((prefix.to_vec(), k.clone())).or_insert((0, 0));
            e.0 += 1;
            w.keys.push((k.clone(), e.1));
        }
    }

    /// Forgets what `w` watches.
    pub fn unwatch(&self, w: &mut Watched) {
        let Ok(mut reg) = self.watch.lock() else { return };
        for (k, _) in w.keys.drain(..) {
            let id = (w.prefix.clone(), k);
            if let Some(e) = reg.keys.get_mut(&id) {
                e.0 -= 1;
                if e.0 == 0 {
                    reg.keys.remove(&id);
                }
            }
        }
    }
}

fn writer(store: &DbStore, watch: &Mutex<Watch>, rx: &mpsc::Receiver<Job>, hook: Option<CommitHook>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(j) => batch.push(j),
                Err(_) => break,
            }
        }
        let results = commit(store, watch, &batch);
        match results {
            Ok((results, changed)) => {
                if let Some(h) = &hook {
                    if !changed.is_empty() {
                        h(&changed);
                    }
                }
                for (job, r) in batch.into_iter().zip(results) {
                    let _ = job.done.send(Ok(r));
                }
            }
            Err(f) => {
                for job in batch {
                    let _ = job.done.send(Err(f.clone()));
                }
            }
        }
    }
    if let Err(e) = store.sync() {
        eprintln!("database flush at shutdown failed: {e}");
    }
}

type Committed = (Vec<Option<Vec<Reply>>>, Vec<Vec<u8>>);

/// Runs a batch of jobs in one write transaction and commits it.
fn commit(store: &DbStore, watch: &Mutex<Watch>, batch: &[Job]) -> Result<Committed, Fault> {
    let mut txn = store.write_txn()?;
    let cx = Ctx { now_ms: now_ms() };
    let mut reg = watch.lock().map_err(|_| Fault("watch registry poisoned".into()))?;
    let mut results = Vec::with_capacity(batch.len());
    let mut changed: Vec<Vec<u8>> = Vec::new();
    for job in batch {
        if let Some(w) = &job.watched {
            let epoch_now = reg.epochs.get(&w.prefix).copied().unwrap_or(0);
            let moved = epoch_now != w.epoch
                || w.keys.iter().any(|(k, v)| reg.keys.get(&(w.prefix.clone(), k.clone())).is_some_and(|e| e.1 != *v));
            if moved {
                results.push(None);
                continue;
            }
        }
        let mut space = store.space_mut(&mut txn, &job.prefix);
        let mut replies = Vec::with_capacity(job.cmds.len());
        let mut wrote = false;
        for c in &job.cmds {
            let r = db::run_write(&mut space, &cx, c)?;
            if let Some(cmd) = db::lookup(&c[0]).filter(|cmd| cmd.is_write()) {
                if !r.is_error() {
                    wrote = true;
                    if cmd.name == "flushdb" {
                        *reg.epochs.entry(job.prefix.clone()).or_insert(0) += 1;
                    }
                    for k in cmd.key_args(c) {
                        if let Some(e) = reg.keys.get_mut(&(job.prefix.clone(), k.to_vec())) {
                            e.1 += 1;
                        }
                    }
                }
            }
            replies.push(r);
        }
        if wrote && !changed.contains(&job.prefix) {
            changed.push(job.prefix.clone());
        }
        results.push(Some(replies));
    }
    drop(reg);
    txn.commit().map_err(|e| Fault(format!("store error: {e}")))?;
    Ok((results, changed))
}
