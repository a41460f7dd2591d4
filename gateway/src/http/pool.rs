//! The workers: a fixed number of threads that run requests and WebSocket messages. The event
//! loop hands a job only to an idle worker, so nothing queues here.

use super::conn::Ready;
use super::parker::Parker;
use super::request::{Body, Request, StreamBody};
use super::{Limits, Reply, Service, WsInfo, WsReply};
use std::io::Cursor;
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub(crate) enum Job {
    Http { key: usize, stream: TcpStream, remote: SocketAddr, ready: Ready },
    Ws { key: usize, info: Arc<WsInfo>, msg: Vec<u8> },
}

/// What comes back to the event loop.
pub(crate) enum Done {
    /// A request is finished (by a worker, which is free now, or by a drain thread:
    /// `worker` false). `stream` is `None` when it was closed.
    Http { key: usize, stream: Option<TcpStream>, after: After, worker: bool },
    /// A worker handed its response to a drain thread and is free; the connection stays busy.
    HandedOff { key: usize },
    /// A worker finished a WebSocket message (and is free).
    Ws { key: usize, reply: Option<Vec<u8>> },
    /// A parked HTTP call's response.
    Respond { key: usize, bytes: Vec<u8>, keep_alive: bool },
    /// A parked WebSocket call's reply.
    WsLater { key: usize, reply: Vec<u8> },
}

pub(crate) enum After {
    KeepAlive,
    Close,
    /// The call is parked; a `Respond` follows.
    Parked,
    /// The response is out; what the client still sends is read and dropped until it closes.
    Linger,
}

pub(crate) struct Ctx {
    pub service: Arc<dyn Service>,
    pub limits: Limits,
    pub done: Sender<Done>,
    pub wake: Arc<polling::Poller>,
    pub parker: Parker,
    pub drains: Arc<super::drain::Drains>,
}

impl Ctx {
    fn send(&self, d: Done) {
        let _ = self.done.send(d);
        let _ = self.wake.notify();
    }
}

pub(crate) fn run(ctx: &Ctx, jobs: &Mutex<Receiver<Job>>) {
    loop {
        let job = match jobs.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        match job {
            Ok(Job::Http { key, stream, remote, ready }) => http(ctx, key, stream, remote, ready),
            Ok(Job::Ws { key, info, msg }) => ws(ctx, key, &info, &msg),
            Err(_) => return,
        }
    }
}

fn http(ctx: &Ctx, key: usize, stream: TcpStream, remote: SocketAddr, ready: Ready) {
    let l = &ctx.limits;
    let blocking = stream.set_nonblocking(false).is_ok()
        && stream.set_read_timeout(Some(Duration::from_millis(l.body_timeout_ms))).is_ok()
        && stream.set_write_timeout(Some(Duration::from_millis(l.write_timeout_ms))).is_ok();
    if !blocking {
        return ctx.send(Done::Http { key, stream: None, after: After::Close, worker: true });
    }
    let (head, body, mut writer) = match ready {
        Ready::Buffered { head, body } => (head, Body::Buffered(Cursor::new(body)), Some(stream)),
        Ready::Stream { head, prefix, len } => {
            let expect_continue = head.lists("Expect", "100-continue");
            let remaining = len - prefix.len() as u64;
            let sb = StreamBody {
                prefix: Cursor::new(prefix),
                stream,
                remaining,
                stall: Duration::from_millis(l.body_timeout_ms),
                continue_sent: false,
                expect_continue,
            };
            (head, Body::Stream(sb), None)
        }
    };
    let (http11, head_only, keep) = (head.http11, head.method == "HEAD", head.keep_alive());
    let mut req = Request { head, remote, body };
    let reply = ctx.service.call(&mut req);
    // The socket, and whether the body was read to its end (else the connection cannot go on).
    let (stream, whole) = match req.body {
        Body::Buffered(_) => (writer.take().expect("buffered requests keep their socket here"), true),
        Body::Stream(sb) => {
            let whole = sb.remaining == 0 && sb.prefix.position() as usize == sb.prefix.get_ref().len();
            (sb.stream, whole)
        }
    };
    let keep = keep && whole;
    match reply {
        Reply::Now(resp) => {
            let sending = super::sending::Sending::new(resp, http11, head_only, keep);
            respond(ctx, key, remote, stream, sending, !whole);
        }
        Reply::Later(park, finish) => {
            ctx.send(Done::Http { key, stream: Some(stream), after: After::Parked, worker: true });
            let (done, wake) = (ctx.done.clone(), ctx.wake.clone());
            ctx.parker.park(
                park,
                Box::new(move |v| {
                    let (bytes, keep_alive) = finish(v).to_bytes(http11, keep);
                    let _ = done.send(Done::Respond { key, bytes, keep_alive });
                    let _ = wake.notify();
                }),
            );
        }
    }
}

/// Writes a response; one still going out after `handoff_ms` moves to a drain thread.
/// `unread`: the client is still sending a body the method did not read; the connection then
/// lingers (input read and dropped) so the client gets the response instead of a reset.
fn respond(
    ctx: &Ctx,
    key: usize,
    remote: SocketAddr,
    mut stream: TcpStream,
    mut sending: super::sending::Sending,
    unread: bool,
) {
    use super::sending::Pumped;
    let l = &ctx.limits;
    let _ = stream.set_write_timeout(Some(Duration::from_millis(l.handoff_ms.min(l.write_timeout_ms))));
    let deadline = std::time::Instant::now() + Duration::from_millis(l.handoff_ms);
    let mut may_hand_off = true;
    loop {
        let until = may_hand_off.then_some(deadline);
        match sending.pump(&mut stream, until) {
            Ok(Pumped::Done) => {
                let keep = sending.keep_alive();
                if !keep && unread {
                    let _ = stream.shutdown(std::net::Shutdown::Write);
                    return ctx.send(Done::Http { key, stream: Some(stream), after: After::Linger, worker: true });
                }
                let after = if keep { After::KeepAlive } else { After::Close };
                return ctx.send(Done::Http { key, stream: keep.then_some(stream), after, worker: true });
            }
            Ok(_) if may_hand_off => {
                let (done, wake) = (ctx.done.clone(), ctx.wake.clone());
                match super::drain::hand_off(&ctx.drains, l, key, remote.ip(), stream, sending, done, wake) {
                    Ok(()) => return ctx.send(Done::HandedOff { key }),
                    // Every drain thread this client may have is busy: this worker goes on
                    // writing while the client keeps reading, and lets go of it at its first
                    // stall (a worker never waits on a reader that stopped).
                    Err((s, snd)) => {
                        stream = s;
                        sending = snd;
                        may_hand_off = false;
                    }
                }
            }
            Ok(Pumped::Paused) => {}
            _ => return ctx.send(Done::Http { key, stream: None, after: After::Close, worker: true }),
        }
    }
}

fn ws(ctx: &Ctx, key: usize, info: &WsInfo, msg: &[u8]) {
    match ctx.service.ws_message(info, msg) {
        WsReply::Now(r) => ctx.send(Done::Ws { key, reply: Some(r) }),
        WsReply::None => ctx.send(Done::Ws { key, reply: None }),
        WsReply::Later(park, finish) => {
            ctx.send(Done::Ws { key, reply: None });
            let (done, wake) = (ctx.done.clone(), ctx.wake.clone());
            ctx.parker.park(
                park,
                Box::new(move |v| {
                    let _ = done.send(Done::WsLater { key, reply: finish(v) });
                    let _ = wake.notify();
                }),
            );
        }
    }
}
