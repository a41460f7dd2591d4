//! A store that fetches what it lacks from the providers of one root (through the node's
//! core) and keeps it. Below every node it reads it fetches the children ahead of the reader —
//! and the children of the next sibling node too — on background workers with
//! `prefetch_window()` requests in flight, so the network, the hash checks, the stores and the
//! reader (a browser's download) all run at once instead of taking turns.
//!
//! Fetched blocks wait in memory (`Ahead::arrived`) until a writer has stored them in batches of
//! `crate::content::import::BATCH_BYTES` (one durable commit each); a reader that wants a block already in
//! flight waits for it rather than asking the network twice.

use crate::net::NetHandle;
use proto_core::cid::{Cid, CODEC_DAG_PB};
use proto_core::dagpb::PbNode;
use proto_core::node::{Command, Reply};
use proto_core::store::{BlockWrite, PinStore, StoreError};
use proto_core::unixfs::read::BlockRead;
use proto_core::unixfs::Block;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::sync_channel;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// Children fetched at once below a node: `PREFETCH_WINDOW`, or twice that on machines with
/// at least `ROOMY_RAM` (about 10–15 % faster on the bench machine; each request in flight can
/// hold a 256 KiB block, and two nodes' children may be in flight at once).
pub const PREFETCH_WINDOW: usize = 32;
const ROOMY_RAM: u64 = 2 << 30;

pub fn prefetch_window() -> usize {
    if roomy() {
        2 * PREFETCH_WINDOW
    } else {
        PREFETCH_WINDOW
    }
}

/// Whether this machine has at least `ROOMY_RAM` (not a router): it may spend memory for speed.
pub fn roomy() -> bool {
    static R: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *R.get_or_init(|| {
        let total = std::fs::read_to_string("/proc/meminfo").ok().and_then(|m| {
            let line = m.lines().find(|l| l.starts_with("MemTotal:"))?;
            line.split_whitespace().nth(1)?.parse::<u64>().ok().map(|kib| kib * 1024)
        });
        total.is_some_and(|t| t >= ROOMY_RAM)
    })
}
/// How long a reader waits for a block another worker is fetching before asking itself.
const WAIT_IN_FLIGHT: Duration = Duration::from_secs(30);

#[derive(Default)]
struct AheadState {
    /// Fetched and checked, not yet stored.
    arrived: HashMap<Cid, Arc<Vec<u8>>>,
    /// Being fetched by a background worker.
    in_flight: HashSet<Cid>,
    /// A node's next sibling (in its parent's link order), to prefetch below it early.
    next_sibling: HashMap<Cid, Cid>,
    /// Background fetches still running (their last batch not yet stored).
    active: usize,
    /// Bytes fetched from the network so far.
    fetched: usize,
}

#[derive(Default)]
struct Ahead {
    state: Mutex<AheadState>,
    changed: Condvar,
}

/// After a download this large the freed block buffers go back to the system.
const RELEASE_AFTER: usize = 16 << 20;

impl Drop for Ahead {
    fn drop(&mut self) {
        let fetched = self.state.get_mut().map(|st| st.fetched).unwrap_or(0);
        if fetched >= RELEASE_AFTER {
            storage::alloc::release_free();
        }
    }
}

pub struct Fetching<B> {
    pub inner: Arc<B>,
    pub net: Arc<dyn NetHandle>,
    pub root: Cid,
    ahead: Arc<Ahead>,
}

impl<B> Clone for Fetching<B> {
    fn clone(&self) -> Self {
        Fetching {
            inner: self.inner.clone(),
            net: self.net.clone(),
            root: self.root.clone(),
            ahead: self.ahead.clone(),
        }
    }
}

impl<B: BlockRead + BlockWrite + Send + Sync + 'static> Fetching<B> {
    pub fn new(inner: Arc<B>, net: Arc<dyn NetHandle>, root: Cid) -> Self {
        Fetching { inner, net, root, ahead: Arc::default() }
    }

    /// One block from the network; the core checked its bytes against the CID.
    fn fetch(&self, cid: &Cid) -> Result<Vec<u8>, String> {
        // From a node that provides the root, or else from the IPFS network (the core decides).
        match self.net.call(Command::Fetch { root: self.root.clone(), cid: cid.clone() })? {
            Reply::Block(data) | Reply::Ipfs(proto_core::libp2p::host::Reply::Block(data)) => {
                if let Ok(mut st) = self.ahead.state.lock() {
                    st.fetched += data.len();
                }
                Ok(data)
            }
            other => Err(format!("unexpected reply {other:?}")),
        }
    }

    /// Starts fetching the children of `node` that are neither here nor on their way, on
    /// background workers; returns at once. Tells whether the node has children at all.
    fn prefetch_children(&self, node: &[u8]) -> bool {
        let Ok(pb) = PbNode::decode(node) else { return false };
        if pb.links.is_empty() {
            return false;
        }
        let links: Vec<Cid> = pb.links.into_iter().map(|l| l.cid).collect();
        let mut missing = Vec::new();
        {
            let Ok(mut st) = self.ahead.state.lock() else { return true };
            for pair in links.windows(2) {
                if pair[0].codec() == CODEC_DAG_PB {
                    st.next_sibling.insert(pair[0].clone(), pair[1].clone());
                }
            }
            for c in links {
                if st.in_flight.contains(&c) || st.arrived.contains_key(&c) || self.inner.has_block(&c).unwrap_or(true)
                {
                    continue;
                }
                st.in_flight.insert(c.clone());
                missing.push(c);
            }
            if missing.is_empty() {
                return true;
            }
            st.active += 1;
        }
        let me = self.clone();
        let spawned = std::thread::Builder::new().name("prefetch".into()).spawn(move || {
            me.fetch_all(missing);
            if let Ok(mut st) = me.ahead.state.lock() {
                st.active -= 1;
            }
            me.ahead.changed.notify_all();
        });
        if spawned.is_err() {
            // No thread: forget the marks, readers fetch for themselves.
            if let Ok(mut st) = self.ahead.state.lock() {
                st.in_flight.clear();
                st.active -= 1;
            }
            self.ahead.changed.notify_all();
        }
        true
    }

    /// Waits until every background fetch has stored what it fetched (a sync is done only then).
    pub fn settle(&self) {
        let Ok(mut st) = self.ahead.state.lock() else { return };
        while st.active > 0 {
            match self.ahead.changed.wait(st) {
                Ok(next) => st = next,
                Err(_) => return,
            }
        }
    }

    /// Fetches `missing` with `prefetch_window()` requests in flight while this thread stores
    /// them in batches.
    fn fetch_all(&self, missing: Vec<Cid>) {
        let next = AtomicUsize::new(0);
        let window = prefetch_window();
        let (tx, rx) = sync_channel::<(Cid, Arc<Vec<u8>>)>(window);
        std::thread::scope(|s| {
            for _ in 0..window.min(missing.len()) {
                let tx = tx.clone();
                let (next, missing) = (&next, &missing);
                s.spawn(move || loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(c) = missing.get(i) else { return };
                    let got = self.fetch(c).ok().map(Arc::new);
                    if let Ok(mut st) = self.ahead.state.lock() {
                        st.in_flight.remove(c);
                        if let Some(b) = &got {
                            st.arrived.insert(c.clone(), b.clone());
                        }
                    }
                    self.ahead.changed.notify_all();
                    if let Some(b) = got {
                        if tx.send((c.clone(), b)).is_err() {
                            return;
                        }
                    }
                });
            }
            drop(tx);
            // A committer stores one batch (one durable commit) while the next one gathers, so
            // the network never waits for an fsync.
            // The batch shares its buffers with `arrived` (readers may still take them there).
            let (btx, brx) = sync_channel::<Vec<(Cid, Arc<Vec<u8>>)>>(1);
            s.spawn(move || {
                for batch in brx {
                    let refs: Vec<(&Cid, &[u8])> = batch.iter().map(|(c, b)| (c, b.as_slice())).collect();
                    let _ = self.inner.put_block_refs(&refs);
                    if let Ok(mut st) = self.ahead.state.lock() {
                        for (c, _) in &batch {
                            st.arrived.remove(c);
                        }
                    }
                }
            });
            let mut batch = Vec::new();
            let mut size = 0;
            for (cid, bytes) in rx {
                size += bytes.len();
                batch.push((cid, bytes));
                if size >= crate::content::import::BATCH_BYTES {
                    let _ = btx.send(std::mem::take(&mut batch));
                    size = 0;
                }
            }
            let _ = btx.send(batch);
            drop(btx);
        });
    }

    /// A block a background worker has fetched or is fetching (waiting for it), if any.
    fn fetched_ahead(&self, cid: &Cid) -> Option<Vec<u8>> {
        let mut st = self.ahead.state.lock().ok()?;
        loop {
            if let Some(b) = st.arrived.get(cid) {
                return Some(b.as_ref().clone());
            }
            if !st.in_flight.contains(cid) {
                return None;
            }
            let (next, timeout) = self.ahead.changed.wait_timeout(st, WAIT_IN_FLIGHT).ok()?;
            if timeout.timed_out() {
                return None;
            }
            st = next;
        }
    }

    /// After reading node `cid`: fetch below it, and — if it is an inner node — below its next
    /// sibling (a leaf's sibling is a leaf: nothing below it to start early).
    fn read_ahead(&self, cid: &Cid, bytes: &[u8]) {
        if cid.codec() != CODEC_DAG_PB {
            return;
        }
        // Taken once read (leaves' entries too), so the map holds only what is still ahead.
        let sibling = self.ahead.state.lock().ok().and_then(|mut st| st.next_sibling.remove(cid));
        if !self.prefetch_children(bytes) {
            return;
        }
        if let Some(s) = sibling {
            let have =
                self.inner.get_block(&s).ok().flatten().or_else(|| {
                    self.ahead.state.lock().ok().and_then(|st| st.arrived.get(&s).map(|b| b.as_ref().clone()))
                });
            if let Some(b) = have {
                self.prefetch_children(&b);
            }
        }
    }
}

impl<B: BlockRead + BlockWrite + Send + Sync + 'static> BlockRead for Fetching<B> {
    fn get_block(&self, cid: &Cid) -> Result<Option<Vec<u8>>, StoreError> {
        if let Some(b) = self.inner.get_block(cid)? {
            // An inner node we have (fetched as someone's child) may still lack its children.
            self.read_ahead(cid, &b);
            return Ok(Some(b));
        }
        if let Some(b) = self.fetched_ahead(cid).or_else(|| self.inner.get_block(cid).ok().flatten()) {
            self.read_ahead(cid, &b);
            return Ok(Some(b));
        }
        match self.fetch(cid) {
            Ok(data) => {
                self.inner.put_blocks(&[Block { cid: cid.clone(), bytes: data.clone() }])?;
                self.read_ahead(cid, &data);
                Ok(Some(data))
            }
            // Not on the network either: a plain "missing", which the gateway answers with 404.
            Err(e) if e.contains("no provider") => Ok(None),
            Err(e) => Err(StoreError::Failed(e)),
        }
    }
}

impl<B: BlockWrite> BlockWrite for Fetching<B> {
    fn put_blocks(&self, blocks: &[Block]) -> Result<(), StoreError> {
        self.inner.put_blocks(blocks)
    }
    fn put_block_refs(&self, blocks: &[(&Cid, &[u8])]) -> Result<(), StoreError> {
        self.inner.put_block_refs(blocks)
    }
    fn has_block(&self, cid: &Cid) -> Result<bool, StoreError> {
        self.inner.has_block(cid)
    }
}

impl<B: proto_core::store::MimeiStore> proto_core::store::MimeiStore for Fetching<B> {
    fn get_mimei(&self, mid: &proto_core::mimei::Mid) -> Result<Option<proto_core::mimei::Mimei>, StoreError> {
        self.inner.get_mimei(mid)
    }
    fn put_mimei(&self, m: &proto_core::mimei::Mimei) -> Result<(), StoreError> {
        self.inner.put_mimei(m)
    }
    fn list_mimeis(&self) -> Result<Vec<proto_core::mimei::Mimei>, StoreError> {
        self.inner.list_mimeis()
    }
    fn authored_mimeis(&self, author: &proto_core::id::NodeId) -> Result<Vec<proto_core::mimei::Mimei>, StoreError> {
        self.inner.authored_mimeis(author)
    }
}

impl<B: proto_core::store::KvStore> proto_core::store::KvStore for Fetching<B> {
    fn kv_get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.kv_get(key)
    }
    fn kv_put(&self, key: &[u8], value: Option<&[u8]>) -> Result<(), StoreError> {
        self.inner.kv_put(key, value)
    }
}

impl<B: PinStore> PinStore for Fetching<B> {
    fn pin_add(&self, cid: &Cid) -> Result<(), StoreError> {
        self.inner.pin_add(cid)
    }
    fn pin_rm(&self, cid: &Cid) -> Result<bool, StoreError> {
        self.inner.pin_rm(cid)
    }
    fn pin_ls(&self) -> Result<Vec<Cid>, StoreError> {
        self.inner.pin_ls()
    }
}
/// The gateway's way to content this node lacks: readers over a root that fetch from peers.
pub struct NetReads<B> {
    pub store: Arc<B>,
    pub net: Arc<dyn NetHandle>,
}

impl<B: crate::Backend> gateway::Network for NetReads<B> {
    fn reader(&self, root: Cid) -> Arc<dyn gateway::Content> {
        Arc::new(Fetching::new(self.store.clone(), self.net.clone(), root))
    }
    fn holds(&self, root: &Cid) -> bool {
        self.store.has_block(root).unwrap_or(false)
    }
}
