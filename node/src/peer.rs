//! The peer loop, the same on every runtime: one loop owns the core (`Node`), turns what the
//! runtime reports (accepted and dialed sockets, bytes, closes, API calls) into the core's
//! inputs, and executes the core's outputs. A runtime supplies only its sockets and its way of
//! waiting ([`PeerIo`], [`Mailbox`]) and calls the loop's verbs:
//!
//! - after each event, [`PeerLoop::handle`] it (`false` means stop), then [`PeerLoop::drain`];
//! - when nothing came within [`PeerLoop::wait`], call [`PeerLoop::timeout`], then `drain`.

use crate::execute::{now, HeadHook, Local, Pending};
use crate::net::NetHandle;
use proto_core::dht::{Addr, CommandId, Restored};
use proto_core::identity::Identity;
use proto_core::maddr::Multiaddr;
use proto_core::node::{self, Command, ConnId, Input, Node, Output, Reply};
use proto_core::rng::Seed;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};
use storage::Store;

/// Frames queued for one connection's writer before the peer counts as too slow.
pub const WRITE_QUEUE: usize = 1024;
/// How long a dial may take.
pub const DIAL_TIMEOUT: Duration = Duration::from_secs(5);
/// A connection's read buffer is `READ_BUF_MIN` until a read fills it, then `READ_BUF` (one
/// step, not doubling: buffers of many sizes fragmented the heap): bulk transfers get large
/// reads, a silent or slow connection holds little memory.
pub const READ_BUF: usize = 256 * 1024;
pub const READ_BUF_MIN: usize = 16 * 1024;
/// How long an API call waits for the core's answer.
const CALL_TIMEOUT: Duration = Duration::from_secs(120);

/// What a runtime reports to the loop.
pub enum Ev<S> {
    Accepted(ConnId, S, SocketAddr),
    Dialed(ConnId, S),
    DialFailed(ConnId),
    Bytes(ConnId, Vec<u8>),
    Closed(ConnId),
    Call(Command, mpsc::Sender<Result<Reply, String>>),
    Stop,
}

/// A runtime's sockets, as the loop uses them.
pub trait PeerIo {
    type Stream;
    /// What the loop queues a connection's bytes on.
    type Writer;
    /// Starts moving bytes on a connection (its reader reports `Bytes` and `Closed`); `None`
    /// when the socket cannot be used.
    fn open(&mut self, conn: ConnId, stream: Self::Stream) -> Option<Self::Writer>;
    /// Queues bytes without waiting; `false` when the writer is gone or too far behind.
    fn send(writer: &Self::Writer, bytes: Vec<u8>) -> bool;
    /// Connects to `host:port` in the background (within [`DIAL_TIMEOUT`]) and reports
    /// `Dialed` or `DialFailed`.
    fn dial(&mut self, conn: ConnId, host: String, port: u16);
    /// Reports an event to the loop itself, after the current one.
    fn post(&self, ev: Ev<Self::Stream>);
}

/// How events reach the loop (a runtime's channel): `false` once the loop is gone.
type Post<S> = Box<dyn Fn(Ev<S>) -> bool + Send + Sync>;

/// The API's way into the loop.
pub struct Handle<S> {
    /// Set once the services exist: what to do with the core's events.
    pub on_head: HeadHook,
    post: Post<S>,
    listen: Vec<Addr>,
}

impl<S: 'static> Handle<S> {
    pub fn new(post: impl Fn(Ev<S>) -> bool + Send + Sync + 'static, listen: Vec<Addr>) -> Self {
        Handle { on_head: HeadHook::default(), post: Box::new(post), listen }
    }

    pub fn stop(&self) {
        (self.post)(Ev::Stop);
    }
}

impl<S: 'static> NetHandle for Handle<S> {
    fn call(&self, command: Command) -> Result<Reply, String> {
        let (tx, rx) = mpsc::channel();
        if !(self.post)(Ev::Call(command, tx)) {
            return Err("the node is stopping".into());
        }
        rx.recv_timeout(CALL_TIMEOUT).map_err(|_| "the node did not answer in time".to_string())?
    }

    fn listen_addrs(&self) -> Vec<Addr> {
        self.listen.clone()
    }
}

/// What starting the peer network takes (the runtime binds `listen_on` itself).
pub struct NetStart {
    pub config: node::Config,
    pub identity: Identity,
    pub listen_on: SocketAddr,
    pub bootstrap: Vec<Multiaddr>,
    pub store: Arc<Store>,
    pub seed: [u8; 32],
    /// The IPFS network's settings (`None`: not an IPFS peer).
    pub ipfs: Option<storage::repo_ipfs::IpfsSettings>,
}

impl NetStart {
    /// The error for a listen address that cannot be bound.
    pub fn bind_error(&self, e: std::io::Error) -> std::io::Error {
        std::io::Error::new(e.kind(), format!("cannot listen for peers on {}: {e}", self.listen_on))
    }
}

/// A started peer network: its handle and how to stop it.
pub struct Network {
    pub handle: Arc<dyn NetHandle>,
    pub on_head: HeadHook,
    stop: Box<dyn FnOnce() + Send>,
}

impl Network {
    /// `join` waits for the loop's thread once the loop has been told to stop.
    pub fn new<S: 'static>(handle: Arc<Handle<S>>, join: impl FnOnce() + Send + 'static) -> Self {
        let on_head = handle.on_head.clone();
        let stopping = handle.clone();
        let stop = move || {
            stopping.stop();
            join();
        };
        Network { handle, on_head, stop: Box::new(stop) }
    }

    pub fn join(self) {
        (self.stop)()
    }
}

pub struct PeerLoop<I: PeerIo> {
    core: Node,
    io: I,
    writers: BTreeMap<ConnId, I::Writer>,
    pending: Pending,
    next_call: u64,
    start: Instant,
    store: Arc<Store>,
    corrupt_blocks: bool,
    on_head: HeadHook,
}

impl<I: PeerIo> PeerLoop<I> {
    /// The core for `start`, listening at `bound`, with the DHT entries the store kept; the
    /// bootstrap peers are dialed at once.
    pub fn new(start: NetStart, listen: Vec<Addr>, io: I, on_head: HeadHook) -> Self {
        let t0 = Instant::now();
        let restored = Restored { entries: start.store.load_prefix(b"dht/").unwrap_or_default() };
        let seed = Seed(start.seed);
        let mut core = Node::new(
            start.config,
            Identity::from_seed(start.identity.seed()),
            listen.clone(),
            seed,
            restored,
            now(t0),
        );
        if let Some(s) = &start.ipfs {
            crate::net::ipfs::enable(&mut core, &start.identity, seed.derive("libp2p"), s, &listen, now(t0));
        }
        let mut l = PeerLoop {
            core,
            io,
            writers: BTreeMap::new(),
            pending: Pending::new(),
            next_call: 1,
            start: t0,
            store: start.store,
            corrupt_blocks: crate::execute::corrupt_blocks(),
            on_head,
        };
        for (i, b) in start.bootstrap.into_iter().enumerate() {
            // Nobody waits for these replies: the ids are outside the API's range.
            let id = CommandId(u64::MAX / 4 + i as u64);
            l.core.handle_input(now(t0), Input::Command { id, command: Command::Connect(Addr(b.as_bytes().to_vec())) });
        }
        l
    }

    /// How long the runtime may wait for the next event before calling `timeout`.
    pub fn wait(&self) -> Duration {
        match self.core.poll_timeout() {
            Some(t) => Duration::from_millis(t.0.saturating_sub(now(self.start).mono.0)),
            None => Duration::from_secs(3600),
        }
    }

    pub fn timeout(&mut self) {
        self.core.handle_timeout(now(self.start));
    }

    /// Feeds one event to the core; `false` when the loop is to stop.
    pub fn handle(&mut self, ev: Ev<I::Stream>) -> bool {
        let t = now(self.start);
        let input = match ev {
            Ev::Accepted(conn, stream, peer) => {
                // The core decides first; a refused stream is dropped (closed) here, before
                // any thread or task is spent on it.
                let remote = Addr(Multiaddr::from_socket(peer).as_bytes().to_vec());
                self.core.handle_input(t, Input::Accepted { conn, remote });
                if !self.core.is_open(conn) {
                    return true;
                }
                match self.io.open(conn, stream) {
                    Some(w) => {
                        self.writers.insert(conn, w);
                        return true;
                    }
                    None => Input::Closed { conn },
                }
            }
            Ev::Dialed(conn, stream) => match self.io.open(conn, stream) {
                Some(w) => {
                    self.writers.insert(conn, w);
                    Input::Connected { conn }
                }
                None => Input::Closed { conn },
            },
            Ev::DialFailed(conn) => Input::Closed { conn },
            Ev::Bytes(conn, bytes) => Input::Bytes { conn, bytes },
            Ev::Closed(conn) => {
                self.writers.remove(&conn);
                Input::Closed { conn }
            }
            Ev::Call(command, reply) => {
                let id = self.next_call;
                self.next_call += 1;
                self.pending.insert(id, reply);
                Input::Command { id: CommandId(id), command }
            }
            Ev::Stop => return false,
        };
        self.core.handle_input(t, input);
        true
    }

    /// Executes the core's outputs until it has none.
    pub fn drain(&mut self) {
        while let Some(out) = self.core.poll_output() {
            let mut local = Local {
                store: &*self.store,
                pending: &mut self.pending,
                on_head: &self.on_head,
                corrupt_blocks: self.corrupt_blocks,
            };
            let start = self.start;
            let Some(out) = local.execute(&mut self.core, || now(start), out) else { continue };
            match out {
                Output::Dial { conn, addr } => match Multiaddr::from_bytes(&addr.0).ok().and_then(|m| m.to_host_port())
                {
                    Some((host, port)) => self.io.dial(conn, host, port),
                    None => self.io.post(Ev::DialFailed(conn)),
                },
                Output::Send { conn, bytes } => {
                    if !self.writers.get(&conn).is_some_and(|w| I::send(w, bytes)) {
                        // Gone, or too slow to keep up: drop it; the core hears it closed.
                        self.writers.remove(&conn);
                        self.io.post(Ev::Closed(conn));
                    }
                }
                Output::Close { conn } => {
                    self.writers.remove(&conn);
                }
                Output::Event(_)
                | Output::Persist(_)
                | Output::Reply { .. }
                | Output::LoadBlock { .. }
                | Output::LoadHead { .. }
                | Output::LoadIpfsBlock { .. }
                | Output::HasIpfsBlock { .. } => {}
            }
        }
    }
}

/// The bytes of a read of `n` into `buf`, which grows from `READ_BUF_MIN` to `READ_BUF` once a
/// read fills it.
pub fn take_read(buf: &mut Vec<u8>, n: usize) -> Vec<u8> {
    let bytes = buf[..n].to_vec();
    if n == buf.len() && n < READ_BUF {
        buf.resize(READ_BUF, 0);
    }
    bytes
}
