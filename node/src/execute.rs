//! Executing the core's outputs that touch only the store and the API's callers (`Persist`,
//! `Reply`, `LoadBlock`, `LoadHead`) and handing its events to the services: the same on every
//! runtime. The peer loop (`crate::peer`) executes the socket outputs through its runtime.

use proto_core::node::{Input, Node, Output, Reply};
use proto_core::time::Now;
use std::collections::BTreeMap;
use std::sync::mpsc::Sender;

/// API calls waiting for the core's reply, by command id.
pub type Pending = BTreeMap<u64, Sender<Result<Reply, String>>>;

pub use proto_core::store::StateStore;

/// Events of the core that the services act on.
pub enum NodeEvent {
    /// A provided MiMei has a new head.
    Head(proto_core::dht::Record),
    /// A database replication message from a peer.
    Db { peer: proto_core::dht::Key, body: Vec<u8> },
}

/// What the runtime does with those events (set once the services exist).
pub type HeadHook = std::sync::Arc<std::sync::OnceLock<Box<dyn Fn(NodeEvent) + Send + Sync>>>;

pub struct Local<'a, S: StateStore> {
    pub store: &'a S,
    pub pending: &'a mut Pending,
    pub on_head: &'a HeadHook,
    /// Fault injection for tests of hostile providers (`LEITHER_TEST_CORRUPT_BLOCKS`).
    pub corrupt_blocks: bool,
}

impl<S: StateStore> Local<'_, S> {
    /// Executes `out` if it is a store or reply output; otherwise hands it back.
    pub fn execute(&mut self, core: &mut Node, now: impl Fn() -> Now, out: Output) -> Option<Output> {
        match out {
            Output::Persist(writes) => {
                // The barrier: committed before any later output runs.
                if let Err(e) = self.store.persist_state(&writes) {
                    eprintln!("leither: cannot persist node state: {e}");
                }
            }
            Output::Reply { id, result } => {
                if let Some(tx) = self.pending.remove(&id.0) {
                    let _ = tx.send(result.map_err(|e| e.to_string()));
                }
            }
            Output::LoadBlock { peer, rid, cid } => {
                let mut data = self.store.get_block(&cid).ok().flatten();
                if self.corrupt_blocks {
                    if let Some(b) = data.as_mut().and_then(|d| d.first_mut()) {
                        *b ^= 0xff;
                    }
                }
                core.handle_input(now(), Input::BlockLoaded { peer, rid, data });
            }
            Output::LoadIpfsBlock { cid } => {
                let data = self.store.get_block(&cid).ok().flatten();
                core.handle_input(now(), Input::IpfsBlockLoaded { cid, data });
            }
            Output::HasIpfsBlock { cid } => {
                // The size decides whether a small block goes instead of HAVE.
                let size = self.store.get_block(&cid).ok().flatten().map(|b| b.len());
                core.handle_input(now(), Input::IpfsBlockHeld { cid, have: size.is_some(), size: size.unwrap_or(0) });
            }
            Output::LoadHead { peer, mid } => {
                let m = self.store.get_mimei(&proto_core::mimei::Mid(mid)).ok().flatten();
                core.handle_input(now(), Input::HeadLoaded { peer, mid, version: m.and_then(|m| m.last()) });
            }
            Output::Event(proto_core::node::Event::HeadUpdated { record }) => {
                if let Some(f) = self.on_head.get() {
                    f(NodeEvent::Head(record));
                }
            }
            Output::Event(proto_core::node::Event::DbMsg { peer, body }) => {
                if let Some(f) = self.on_head.get() {
                    f(NodeEvent::Db { peer, body });
                }
            }
            other => return Some(other),
        }
        None
    }
}

/// The core's two clocks: monotonic since `start`, and the wall clock.
pub fn now(start: std::time::Instant) -> Now {
    let unix =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
    Now { mono: proto_core::time::Mono(start.elapsed().as_millis() as u64), unix: proto_core::time::UnixMs(unix) }
}

/// Whether this process serves corrupted blocks on purpose (tests only).
pub fn corrupt_blocks() -> bool {
    std::env::var_os("LEITHER_TEST_CORRUPT_BLOCKS").is_some()
}
