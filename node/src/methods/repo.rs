//! Garbage collection of the repo: `RepoGC` (every block no kept root reaches), `RepoLs` (the
//! kept roots and what keeps each), and the collector that runs when the store reaches
//! `storage_max`, in the background, least recently used first (`storage::gc`).

use crate::methods::ipfs::RepoUsage;
use crate::Backend;
use gateway::api::{ApiError, Registry};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use storage::gc::Goal;
use storage::repo_storage::StorageSettings;

/// Access times noted in memory that make the collector write them before their time.
const FLUSH_AT: usize = 1 << 16;

fn lmdb<B: RepoUsage + ?Sized>(s: &B) -> Result<&storage::Store, ApiError> {
    s.lmdb().ok_or_else(|| ApiError::not_found("this store keeps no garbage to collect"))
}

fn fault(e: proto_core::store::StoreError) -> ApiError {
    match e {
        proto_core::store::StoreError::Full(message) => ApiError { status: 507, message },
        other => ApiError::internal(other),
    }
}

pub fn register<B: Backend>(reg: &mut Registry, store: Arc<B>) {
    let s = store.clone();
    // RepoGC(sid, opt): the owner's; no options yet (an object is accepted for the original's
    // calling form).
    reg.register("RepoGC", true, move |call| {
        if let Some(k) = call.opts(0)?.keys().next() {
            return Err(ApiError::bad_request(format!("RepoGC has no option \"{k}\"")));
        }
        let r = lmdb(&*s)?.gc(Goal::All).map_err(fault)?;
        Ok(json!({"Removed": r.removed, "Bytes": r.bytes, "Kept": r.kept, "Missing": r.missing}))
    });
    reg.register("RepoLs", false, move |_| {
        let roots = lmdb(&*store)?.kept_roots().map_err(fault)?;
        Ok(Value::Array(roots.into_iter().map(|r| json!({"Cid": r.cid.to_string(), "Why": r.why})).collect()))
    });
}

/// The collector: started with the node, stopped at its shutdown.
pub struct Collector {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Collector {
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn now_secs() -> u32 {
    (crate::db::engine::now_ms() / 1000) as u32
}

/// Sets the store's limit (`storage_max`, or the default rule over its disk's room) and starts
/// the collector: every `gc_check_interval_ms` it sets the access-time clock, writes the access
/// times when due, and collects down to the low-water mark when the store is at its limit.
pub fn start_collector(store: Arc<storage::Store>, settings: StorageSettings) -> std::io::Result<Collector> {
    let u = store.usage().map_err(std::io::Error::other)?;
    let max = settings.effective_max(u.used_bytes, u.disk.map(|d| d.avail));
    store.set_storage_max(max);
    store.set_clock(now_secs());
    let stop = Arc::new(AtomicBool::new(false));
    let halt = stop.clone();
    let thread = std::thread::Builder::new().name("repo-gc".into()).spawn(move || {
        let (low, tick) = (settings.low_water(max), Duration::from_millis(settings.gc_check_interval_ms));
        let flush_every = Duration::from_millis(settings.atime_flush_ms);
        let mut flushed = Instant::now();
        // After a collection that could not get down to `low` (kept blocks fill the store), the
        // next waits until the store has grown by the gap again, not one per tick.
        let mut stuck: Option<u64> = None;
        while !halt.load(Ordering::Relaxed) {
            let t0 = Instant::now();
            while t0.elapsed() < tick && !halt.load(Ordering::Relaxed) {
                std::thread::sleep(tick.min(Duration::from_millis(100)));
            }
            store.set_clock(now_secs());
            if flushed.elapsed() >= flush_every || store.pending_atimes() >= FLUSH_AT {
                if let Err(e) = store.flush_atimes() {
                    eprintln!("leither: cannot write access times: {e}");
                }
                flushed = Instant::now();
            }
            let Ok(used) = store.used_bytes() else { continue };
            if used < max || stuck.is_some_and(|s| used < s + (max - low)) {
                stuck = stuck.filter(|_| used >= max);
                continue;
            }
            match store.gc(Goal::DownTo(low)) {
                Ok(r) => {
                    let after = store.used_bytes().unwrap_or(0);
                    eprintln!(
                        "leither: the store reached storage_max ({max} bytes): removed {} blocks ({} bytes), {after} bytes in use",
                        r.removed, r.bytes
                    );
                    stuck = (after > low).then_some(after);
                }
                Err(e) => eprintln!("leither: garbage collection failed: {e}"),
            }
            flushed = Instant::now();
        }
        let _ = store.flush_atimes();
    })?;
    Ok(Collector { stop, thread: Some(thread) })
}
