//! The peer network on threads and blocking sockets. One loop thread owns the core (`Node`); an
//! acceptor thread, one reader and one writer thread per connection, and short-lived dialer
//! threads only move bytes and report through a channel. The loop executes the core's outputs.

use gateway::driver::{now, HeadHook, Local, Pending};
use gateway::net_methods::NetHandle;
use proto_core::dht::{Addr, CommandId};
use proto_core::maddr::Multiaddr;
use proto_core::node::{self, Command, ConnId, Input, Node, Output, Reply};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use storage::Store;

/// Frames queued for one connection's writer before the peer counts as too slow.
const WRITE_QUEUE: usize = 1024;
const DIAL_TIMEOUT: Duration = Duration::from_secs(5);
/// A connection's read buffer is `READ_BUF_MIN` until a read fills it, then `READ_BUF` (one
/// step, not doubling: buffers of many sizes fragmented the heap): bulk transfers get large
/// reads, a silent or slow connection holds little memory.
const READ_BUF: usize = 256 * 1024;
const READ_BUF_MIN: usize = 16 * 1024;
/// How long an API call waits for the core's answer.
const CALL_TIMEOUT: Duration = Duration::from_secs(120);

pub enum Ev {
    Accepted(ConnId, TcpStream, SocketAddr),
    Dialed(ConnId, TcpStream),
    DialFailed(ConnId),
    Bytes(ConnId, Vec<u8>),
    Closed(ConnId),
    Call(Command, Sender<Result<Reply, String>>),
    Stop,
}

/// The API's way into the loop.
pub struct Handle {
    /// Set once the API exists: what to do when a provided MiMei has a new head.
    pub on_head: HeadHook,
    tx: Mutex<Sender<Ev>>,
    listen: Vec<Addr>,
}

impl NetHandle for Handle {
    fn call(&self, command: Command) -> Result<Reply, String> {
        let (tx, rx) = mpsc::channel();
        self.tx
            .lock()
            .map_err(|_| "the node is stopping".to_string())?
            .send(Ev::Call(command, tx))
            .map_err(|_| "the node is stopping".to_string())?;
        rx.recv_timeout(CALL_TIMEOUT).map_err(|_| "the node did not answer in time".to_string())?
    }

    fn listen_addrs(&self) -> Vec<Addr> {
        self.listen.clone()
    }
}

impl Handle {
    pub fn stop(&self) {
        if let Ok(tx) = self.tx.lock() {
            let _ = tx.send(Ev::Stop);
        }
    }
}

pub struct Network {
    pub handle: Arc<Handle>,
    thread: std::thread::JoinHandle<()>,
}

impl Network {
    pub fn join(self) {
        self.handle.stop();
        let _ = self.thread.join();
    }
}

/// Starts listening and the loop; `bootstrap` addresses are dialed at once.
pub fn start(
    node_cfg: node::Config,
    identity: proto_core::identity::Identity,
    listen_on: SocketAddr,
    bootstrap: Vec<Multiaddr>,
    store: Arc<Store>,
    seed: [u8; 32],
) -> std::io::Result<Network> {
    let listener = TcpListener::bind(listen_on)
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen for peers on {listen_on}: {e}")))?;
    let bound = listener.local_addr()?;
    let listen = gateway::addrs::listen_addrs(bound);
    let (tx, rx) = mpsc::channel::<Ev>();
    let start = Instant::now();
    let restored = proto_core::dht::Restored { entries: store.load_prefix(b"dht/").unwrap_or_default() };
    let core = Node::new(node_cfg, identity, listen.clone(), proto_core::rng::Seed(seed), restored, now(start));
    let acc_tx = tx.clone();
    std::thread::Builder::new().name("peer-accept".into()).spawn(move || accept_loop(listener, acc_tx))?;
    let on_head = HeadHook::default();
    let handle = Arc::new(Handle { tx: Mutex::new(tx.clone()), listen, on_head: on_head.clone() });
    let thread = std::thread::Builder::new().name("node-loop".into()).spawn(move || {
        let corrupt_blocks = gateway::driver::corrupt_blocks();
        let mut l = Loop {
            core,
            rx,
            tx,
            writers: BTreeMap::new(),
            pending: BTreeMap::new(),
            next_call: 1,
            start,
            store,
            corrupt_blocks,
            on_head,
        };
        for (i, b) in bootstrap.into_iter().enumerate() {
            let (rtx, _) = mpsc::channel();
            l.pending.insert(u64::MAX / 4 + i as u64, rtx);
            let now = now(l.start);
            l.core.handle_input(
                now,
                Input::Command {
                    id: CommandId(u64::MAX / 4 + i as u64),
                    command: Command::Connect(Addr(b.as_bytes().to_vec())),
                },
            );
        }
        l.run();
    })?;
    Ok(Network { handle, thread })
}

fn accept_loop(listener: TcpListener, tx: Sender<Ev>) {
    let mut next = 1u64;
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let Ok(peer) = stream.peer_addr() else { continue };
        let conn = ConnId(next);
        next += 1;
        if tx.send(Ev::Accepted(conn, stream, peer)).is_err() {
            return;
        }
    }
}

fn spawn_reader(conn: ConnId, mut stream: TcpStream, tx: Sender<Ev>) {
    let _ = std::thread::Builder::new().name("peer-read".into()).spawn(move || {
        let mut buf = vec![0u8; READ_BUF_MIN];
        loop {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => {
                    let _ = tx.send(Ev::Closed(conn));
                    return;
                }
                Ok(n) => {
                    if tx.send(Ev::Bytes(conn, buf[..n].to_vec())).is_err() {
                        return;
                    }
                    if n == buf.len() && n < READ_BUF {
                        buf.resize(READ_BUF, 0);
                    }
                }
            }
        }
    });
}

fn spawn_writer(mut stream: TcpStream) -> SyncSender<Vec<u8>> {
    let (tx, rx) = mpsc::sync_channel::<Vec<u8>>(WRITE_QUEUE);
    let _ = std::thread::Builder::new().name("peer-write".into()).spawn(move || {
        for bytes in rx {
            if stream.write_all(&bytes).is_err() {
                break;
            }
        }
        let _ = stream.shutdown(Shutdown::Both);
    });
    tx
}

struct Loop {
    core: Node,
    rx: Receiver<Ev>,
    tx: Sender<Ev>,
    writers: BTreeMap<ConnId, SyncSender<Vec<u8>>>,
    pending: Pending,
    next_call: u64,
    start: Instant,
    store: Arc<Store>,
    corrupt_blocks: bool,
    on_head: HeadHook,
}

impl Loop {
    fn run(&mut self) {
        loop {
            self.drain();
            let wait = match self.core.poll_timeout() {
                Some(t) => Duration::from_millis(t.0.saturating_sub(now(self.start).mono.0)),
                None => Duration::from_secs(3600),
            };
            let ev = match self.rx.recv_timeout(wait) {
                Ok(ev) => ev,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    let now = now(self.start);
                    self.core.handle_timeout(now);
                    continue;
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            };
            let now = now(self.start);
            let input = match ev {
                Ev::Accepted(conn, stream, peer) => {
                    // The core decides first; a refused stream is dropped (closed) here, before
                    // any thread is spent on it.
                    let remote = Addr(Multiaddr::from_socket(peer).as_bytes().to_vec());
                    self.core.handle_input(now, Input::Accepted { conn, remote });
                    if self.core.is_open(conn) {
                        self.open_accepted(conn, stream);
                    }
                    continue;
                }
                Ev::Dialed(conn, stream) => {
                    let _ = stream.set_nodelay(true);
                    match stream.try_clone() {
                        Ok(r) => spawn_reader(conn, r, self.tx.clone()),
                        Err(_) => continue,
                    }
                    self.writers.insert(conn, spawn_writer(stream));
                    Input::Connected { conn }
                }
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
                Ev::Stop => return,
            };
            self.core.handle_input(now, input);
        }
    }

    fn open_accepted(&mut self, conn: ConnId, stream: TcpStream) {
        let _ = stream.set_nodelay(true);
        match stream.try_clone() {
            Ok(r) => spawn_reader(conn, r, self.tx.clone()),
            Err(_) => {
                let now = now(self.start);
                return self.core.handle_input(now, Input::Closed { conn });
            }
        }
        self.writers.insert(conn, spawn_writer(stream));
    }

    fn drain(&mut self) {
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
                Output::Dial { conn, addr } => self.dial(conn, addr),
                Output::Send { conn, bytes } => {
                    let ok = self.writers.get(&conn).is_some_and(|w| w.try_send(bytes).is_ok());
                    if !ok {
                        // Gone, or too slow to keep up: drop it; the core hears it closed.
                        self.writers.remove(&conn);
                        let _ = self.tx.send(Ev::Closed(conn));
                    }
                }
                Output::Close { conn } => {
                    self.writers.remove(&conn);
                }
                Output::Event(_)
                | Output::Persist(_)
                | Output::Reply { .. }
                | Output::LoadBlock { .. }
                | Output::LoadHead { .. } => {}
            }
        }
    }

    fn dial(&mut self, conn: ConnId, addr: Addr) {
        let tx = self.tx.clone();
        let _ = std::thread::Builder::new().name("peer-dial".into()).spawn(move || {
            let target = Multiaddr::from_bytes(&addr.0).ok().and_then(|m| {
                m.to_socket()
                    .or_else(|| m.to_host_port().and_then(|(h, p)| (h.as_str(), p).to_socket_addrs().ok()?.next()))
            });
            let ev = match target.map(|sa| TcpStream::connect_timeout(&sa, DIAL_TIMEOUT)) {
                Some(Ok(s)) => Ev::Dialed(conn, s),
                _ => Ev::DialFailed(conn),
            };
            let _ = tx.send(ev);
        });
    }
}
