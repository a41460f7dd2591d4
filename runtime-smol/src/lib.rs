//! The leither-rs node on smol. Only the peer network's sockets are this crate's: async tasks on
//! one thread's local executor accept, dial, read and write, and the same thread runs
//! `node::peer::PeerLoop`, which owns the core, waking for an event or the core's timer. The HTTP
//! server and everything else a node runs are `node`'s and the same on every runtime.
#![forbid(unsafe_code)]

use node::peer::{Ev, Handle, NetStart, Network, PeerIo, PeerLoop};
use node::peer::{DIAL_TIMEOUT, READ_BUF_MIN, WRITE_QUEUE};
use proto_core::node::ConnId;
use smol::channel::{self, Receiver, Sender};
use smol::io::{AsyncReadExt, AsyncWriteExt};
use smol::net::{TcpListener, TcpStream};
use smol::{future, LocalExecutor, Timer};
use std::sync::Arc;

type Event = Ev<TcpStream>;

/// The peer network for `node::start::run`: starts listening and the loop's thread, whose executor runs every socket task.
pub fn start_net(s: NetStart) -> std::io::Result<Network> {
    let listener = smol::block_on(TcpListener::bind(s.listen_on)).map_err(|e| s.bind_error(e))?;
    let listen = node::net::addrs::listen_addrs(listener.local_addr()?);
    let (tx, rx) = channel::unbounded::<Event>();
    let mail = tx.clone();
    let handle = Arc::new(Handle::new(move |ev| mail.try_send(ev).is_ok(), listen.clone()));
    let on_head = handle.on_head.clone();
    let thread = std::thread::Builder::new().name("node-loop".into()).spawn(move || {
        let ex: LocalExecutor<'static> = LocalExecutor::new();
        smol::block_on(ex.run(async {
            ex.spawn(accept(listener, tx.clone())).detach();
            let mut l = PeerLoop::new(s, listen, Tasks { ex: &ex, tx }, on_head);
            loop {
                l.drain();
                let wait = l.wait();
                let late = async {
                    Timer::after(wait).await;
                    None
                };
                let Some(ev) = future::or(async { rx.recv().await.ok() }, late).await else {
                    l.timeout();
                    continue;
                };
                if !l.handle(ev) {
                    return;
                }
            }
        }));
    })?;
    Ok(Network::new(handle, move || {
        let _ = thread.join();
    }))
}

async fn accept(listener: TcpListener, tx: Sender<Event>) {
    let mut next = 1u64;
    loop {
        let Ok((stream, peer)) = listener.accept().await else { continue };
        next += 1;
        if tx.send(Ev::Accepted(ConnId(next - 1), stream, peer)).await.is_err() {
            return;
        }
    }
}

async fn read(conn: ConnId, mut stream: TcpStream, tx: Sender<Event>) {
    let mut buf = vec![0u8; READ_BUF_MIN];
    while let Ok(n @ 1..) = stream.read(&mut buf).await {
        if tx.send(Ev::Bytes(conn, node::peer::take_read(&mut buf, n))).await.is_err() {
            return;
        }
    }
    let _ = tx.send(Ev::Closed(conn)).await;
}

async fn write(mut stream: TcpStream, rx: Receiver<Vec<u8>>) {
    while let Ok(bytes) = rx.recv().await {
        if stream.write_all(&bytes).await.is_err() {
            break;
        }
    }
    let _ = stream.close().await;
}

/// The loop thread's executor and the loop's mailbox.
struct Tasks<'a> {
    ex: &'a LocalExecutor<'static>,
    tx: Sender<Event>,
}

impl PeerIo for Tasks<'_> {
    type Stream = TcpStream;
    type Writer = Sender<Vec<u8>>;

    fn open(&mut self, conn: ConnId, stream: TcpStream) -> Option<Self::Writer> {
        let _ = stream.set_nodelay(true);
        let (wtx, wrx) = channel::bounded(WRITE_QUEUE);
        self.ex.spawn(read(conn, stream.clone(), self.tx.clone())).detach();
        self.ex.spawn(write(stream, wrx)).detach();
        Some(wtx)
    }

    fn send(writer: &Self::Writer, bytes: Vec<u8>) -> bool {
        writer.try_send(bytes).is_ok()
    }

    fn dial(&mut self, conn: ConnId, host: String, port: u16) {
        let tx = self.tx.clone();
        let dialing = async move {
            let connect = async { TcpStream::connect((host.as_str(), port)).await.ok() };
            let late = async {
                Timer::after(DIAL_TIMEOUT).await;
                None
            };
            let ev = match future::or(connect, late).await {
                Some(s) => Ev::Dialed(conn, s),
                None => Ev::DialFailed(conn),
            };
            let _ = tx.send(ev).await;
        };
        self.ex.spawn(dialing).detach();
    }

    fn post(&self, ev: Event) {
        let _ = self.tx.try_send(ev);
    }
}
