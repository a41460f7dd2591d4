//! The peer network on smol: async tasks accept, dial, read and write; one task owns the core
//! (`Node`) and executes its outputs, waking for channel events or the core's timer.

use gateway::driver::{now, HeadHook, Local, Pending};
use gateway::net_methods::NetHandle;
use proto_core::dht::{Addr, CommandId};
use proto_core::maddr::Multiaddr;
use proto_core::node::{self, Command, ConnId, Input, Node, Output, Reply};
use smol::channel::{self, Receiver, Sender};
use smol::io::{AsyncReadExt, AsyncWriteExt};
use smol::net::{TcpListener, TcpStream};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use storage::Store;

const WRITE_QUEUE: usize = 1024;
const DIAL_TIMEOUT: Duration = Duration::from_secs(5);
/// A connection's read buffer is `READ_BUF_MIN` until a read fills it, then `READ_BUF` (one
/// step, not doubling: buffers of many sizes fragmented the heap): bulk transfers get large
/// reads, a silent or slow connection holds little memory.
const READ_BUF: usize = 256 * 1024;
const READ_BUF_MIN: usize = 16 * 1024;
const CALL_TIMEOUT: Duration = Duration::from_secs(120);

enum Ev {
    Accepted(ConnId, TcpStream, SocketAddr),
    Dialed(ConnId, TcpStream),
    DialFailed(ConnId),
    Bytes(ConnId, Vec<u8>),
    Closed(ConnId),
    Call(Command, std::sync::mpsc::Sender<Result<Reply, String>>),
    Stop,
}

pub struct Handle {
    /// Set once the API exists: what to do when a provided MiMei has a new head.
    pub on_head: HeadHook,
    tx: Sender<Ev>,
    listen: Vec<Addr>,
}

impl NetHandle for Handle {
    fn call(&self, command: Command) -> Result<Reply, String> {
        let (tx, rx) = std::sync::mpsc::channel();
        self.tx.send_blocking(Ev::Call(command, tx)).map_err(|_| "the node is stopping".to_string())?;
        rx.recv_timeout(CALL_TIMEOUT).map_err(|_| "the node did not answer in time".to_string())?
    }

    fn listen_addrs(&self) -> Vec<Addr> {
        self.listen.clone()
    }
}

impl Handle {
    pub fn stop(&self) {
        let _ = self.tx.send_blocking(Ev::Stop);
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

pub fn start(
    node_cfg: node::Config,
    identity: proto_core::identity::Identity,
    listen_on: SocketAddr,
    bootstrap: Vec<Multiaddr>,
    store: Arc<Store>,
    seed: [u8; 32],
) -> std::io::Result<Network> {
    let listener = smol::block_on(TcpListener::bind(listen_on))
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen for peers on {listen_on}: {e}")))?;
    let bound = listener.local_addr()?;
    let listen = gateway::addrs::listen_addrs(bound);
    let (tx, rx) = channel::unbounded::<Ev>();
    let start = Instant::now();
    let restored = proto_core::dht::Restored { entries: store.load_prefix(b"dht/").unwrap_or_default() };
    let core = Node::new(node_cfg, identity, listen.clone(), proto_core::rng::Seed(seed), restored, now(start));
    let on_head = HeadHook::default();
    let handle = Arc::new(Handle { tx: tx.clone(), listen, on_head: on_head.clone() });
    let thread = std::thread::Builder::new().name("node-loop".into()).spawn(move || {
        let ex = smol::LocalExecutor::new();
        smol::block_on(ex.run(async {
            ex.spawn(accept_loop(listener, tx.clone())).detach();
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
                let t = now(l.start);
                l.core.handle_input(
                    t,
                    Input::Command {
                        id: CommandId(u64::MAX / 4 + i as u64),
                        command: Command::Connect(Addr(b.as_bytes().to_vec())),
                    },
                );
            }
            l.run(&ex).await;
        }));
    })?;
    Ok(Network { handle, thread })
}

async fn accept_loop(listener: TcpListener, tx: Sender<Ev>) {
    let mut next = 1u64;
    loop {
        let Ok((stream, peer)) = listener.accept().await else { continue };
        let conn = ConnId(next);
        next += 1;
        if tx.send(Ev::Accepted(conn, stream, peer)).await.is_err() {
            return;
        }
    }
}

async fn reader(conn: ConnId, mut stream: TcpStream, tx: Sender<Ev>) {
    let mut buf = vec![0u8; READ_BUF_MIN];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => {
                let _ = tx.send(Ev::Closed(conn)).await;
                return;
            }
            Ok(n) => {
                if tx.send(Ev::Bytes(conn, buf[..n].to_vec())).await.is_err() {
                    return;
                }
                if n == buf.len() && n < READ_BUF {
                    buf.resize(READ_BUF, 0);
                }
            }
        }
    }
}

async fn writer(mut stream: TcpStream, rx: Receiver<Vec<u8>>) {
    while let Ok(bytes) = rx.recv().await {
        if stream.write_all(&bytes).await.is_err() {
            break;
        }
    }
    let _ = stream.close().await;
}

struct Loop {
    core: Node,
    rx: Receiver<Ev>,
    tx: Sender<Ev>,
    writers: BTreeMap<ConnId, Sender<Vec<u8>>>,
    pending: Pending,
    next_call: u64,
    start: Instant,
    store: Arc<Store>,
    corrupt_blocks: bool,
    on_head: HeadHook,
}

impl Loop {
    fn open(&mut self, ex: &smol::LocalExecutor<'_>, conn: ConnId, stream: TcpStream) {
        let _ = stream.set_nodelay(true);
        let (wtx, wrx) = channel::bounded(WRITE_QUEUE);
        ex.spawn(reader(conn, stream.clone(), self.tx.clone())).detach();
        ex.spawn(writer(stream, wrx)).detach();
        self.writers.insert(conn, wtx);
    }

    async fn run(&mut self, ex: &smol::LocalExecutor<'_>) {
        loop {
            self.drain(ex);
            let wait = match self.core.poll_timeout() {
                Some(t) => Duration::from_millis(t.0.saturating_sub(now(self.start).mono.0)),
                None => Duration::from_secs(3600),
            };
            let rx = self.rx.clone();
            let ev = smol::future::or(async { rx.recv().await.ok() }, async {
                smol::Timer::after(wait).await;
                None
            })
            .await;
            let t = now(self.start);
            let Some(ev) = ev else {
                self.core.handle_timeout(t);
                continue;
            };
            let input = match ev {
                Ev::Accepted(conn, stream, peer) => {
                    // The core decides first; a refused stream is dropped (closed) here, before
                    // any task is spent on it.
                    let remote = Addr(Multiaddr::from_socket(peer).as_bytes().to_vec());
                    self.core.handle_input(t, Input::Accepted { conn, remote });
                    if self.core.is_open(conn) {
                        self.open(ex, conn, stream);
                    }
                    continue;
                }
                Ev::Dialed(conn, stream) => {
                    self.open(ex, conn, stream);
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
            self.core.handle_input(t, input);
        }
    }

    fn drain(&mut self, ex: &smol::LocalExecutor<'_>) {
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
                Output::Dial { conn, addr } => {
                    let tx = self.tx.clone();
                    ex.spawn(async move {
                        let target = Multiaddr::from_bytes(&addr.0).ok().and_then(|m| m.to_host_port());
                        let ev = match target {
                            Some((h, p)) => {
                                let dial = async { TcpStream::connect((h.as_str(), p)).await.ok() };
                                let late = async {
                                    smol::Timer::after(DIAL_TIMEOUT).await;
                                    None
                                };
                                match smol::future::or(dial, late).await {
                                    Some(s) => Ev::Dialed(conn, s),
                                    None => Ev::DialFailed(conn),
                                }
                            }
                            None => Ev::DialFailed(conn),
                        };
                        let _ = tx.send(ev).await;
                    })
                    .detach();
                }
                Output::Send { conn, bytes } => {
                    let ok = self.writers.get(&conn).is_some_and(|w| w.try_send(bytes).is_ok());
                    if !ok {
                        self.writers.remove(&conn);
                        let _ = self.tx.try_send(Ev::Closed(conn));
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
}
