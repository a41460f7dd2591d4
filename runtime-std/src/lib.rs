//! The leither-rs node on std threads and blocking sockets. Only the peer network's sockets are
//! this crate's: an acceptor thread, a reader and a writer thread per connection, and short
//! dialer threads move bytes; one loop thread runs `node::peer::PeerLoop`, which owns the core.
//! Everything else a node runs is `node`'s and the same on every runtime.
#![forbid(unsafe_code)]

use node::peer::{Ev, Handle, NetStart, Network, PeerIo, PeerLoop};
use node::peer::{DIAL_TIMEOUT, READ_BUF_MIN, WRITE_QUEUE};
use proto_core::node::ConnId;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::mpsc::{self, RecvTimeoutError, Sender, SyncSender};
use std::sync::Arc;
use std::thread;

type Event = Ev<TcpStream>;

/// The peer network for `node::start::run`: starts listening, the acceptor and the loop thread.
pub fn start_net(s: NetStart) -> std::io::Result<Network> {
    let listener = TcpListener::bind(s.listen_on).map_err(|e| s.bind_error(e))?;
    let listen = node::net::addrs::listen_addrs(listener.local_addr()?);
    let (tx, rx) = mpsc::channel::<Event>();
    let mail = tx.clone();
    let handle = Arc::new(Handle::new(move |ev| mail.send(ev).is_ok(), listen.clone()));
    let accepted = tx.clone();
    thread::Builder::new().name("peer-accept".into()).spawn(move || accept(listener, accepted))?;
    let on_head = handle.on_head.clone();
    let thread = thread::Builder::new().name("node-loop".into()).spawn(move || {
        let mut l = PeerLoop::new(s, listen, Threads { tx }, on_head);
        loop {
            l.drain();
            let going = match rx.recv_timeout(l.wait()) {
                Ok(ev) => l.handle(ev),
                Err(RecvTimeoutError::Timeout) => {
                    l.timeout();
                    true
                }
                Err(RecvTimeoutError::Disconnected) => false,
            };
            if !going {
                return;
            }
        }
    })?;
    Ok(Network::new(handle, move || {
        let _ = thread.join();
    }))
}

fn accept(listener: TcpListener, tx: Sender<Event>) {
    for (n, stream) in listener.incoming().enumerate() {
        let Ok(stream) = stream else { continue };
        let Ok(peer) = stream.peer_addr() else { continue };
        if tx.send(Ev::Accepted(ConnId(n as u64 + 1), stream, peer)).is_err() {
            return;
        }
    }
}

/// Threads that move one connection's bytes.
struct Threads {
    tx: Sender<Event>,
}

impl PeerIo for Threads {
    type Stream = TcpStream;
    type Writer = SyncSender<Vec<u8>>;

    fn open(&mut self, conn: ConnId, stream: TcpStream) -> Option<Self::Writer> {
        let _ = stream.set_nodelay(true);
        let mut reading = stream.try_clone().ok()?;
        let tx = self.tx.clone();
        thread::Builder::new()
            .name("peer-read".into())
            .spawn(move || {
                let mut buf = vec![0u8; READ_BUF_MIN];
                while let Ok(n @ 1..) = reading.read(&mut buf) {
                    if tx.send(Ev::Bytes(conn, node::peer::take_read(&mut buf, n))).is_err() {
                        return;
                    }
                }
                let _ = tx.send(Ev::Closed(conn));
            })
            .ok()?;
        let (wtx, wrx) = mpsc::sync_channel::<Vec<u8>>(WRITE_QUEUE);
        let mut writing = stream;
        thread::Builder::new()
            .name("peer-write".into())
            .spawn(move || {
                for bytes in wrx {
                    if writing.write_all(&bytes).is_err() {
                        break;
                    }
                }
                let _ = writing.shutdown(Shutdown::Both);
            })
            .ok()?;
        Some(wtx)
    }

    fn send(writer: &Self::Writer, bytes: Vec<u8>) -> bool {
        writer.try_send(bytes).is_ok()
    }

    fn dial(&mut self, conn: ConnId, host: String, port: u16) {
        let tx = self.tx.clone();
        let spawned = thread::Builder::new().name("peer-dial".into()).spawn(move || {
            let target = (host.as_str(), port).to_socket_addrs().ok().and_then(|mut a| a.next());
            let ev = match target.map(|sa| TcpStream::connect_timeout(&sa, DIAL_TIMEOUT)) {
                Some(Ok(s)) => Ev::Dialed(conn, s),
                _ => Ev::DialFailed(conn),
            };
            let _ = tx.send(ev);
        });
        if spawned.is_err() {
            self.post(Ev::DialFailed(conn));
        }
    }

    fn post(&self, ev: Event) {
        let _ = self.tx.send(ev);
    }
}
