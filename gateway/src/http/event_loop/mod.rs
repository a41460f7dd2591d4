//! The event loop: accepts connections within the caps, reads heads and bodies under their
//! deadlines, keeps idle keep-alive connections, WebSockets and parked long polls, and hands
//! complete requests to idle workers, fairly across client addresses.

use super::conn::{head_end, Conn, Phase, Ready, WsConn};
use super::head::{self, BodyKind, HeadLimits};
use super::parker::Parker;
use super::pool::{self, After, Done, Job};
use super::response::{error_response, Resp};
use super::{Intake, Limits, Service};
use polling::{Event, Events, Poller};
use std::collections::{HashMap, VecDeque};
use std::io::{self, ErrorKind, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

mod dispatch;
mod websocket;

const LISTENER: usize = usize::MAX - 1;
/// Most bytes read from one connection per wake-up, so a fast client cannot starve the rest.
const READ_CHUNK: usize = 64 << 10;
/// Bodies up to this size are not counted against the node-wide buffer budget (every
/// connection may hold one; the connection cap bounds them).
const SMALL_BODY: usize = 64 << 10;
/// How often deadlines are checked.
const TICK: Duration = Duration::from_millis(100);

pub struct Running {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    poller: Arc<Poller>,
    threads: Vec<JoinHandle<()>>,
}

impl Running {
    /// The URL clients on this machine use (an unspecified bind address becomes 127.0.0.1).
    pub fn api_url(&self) -> String {
        let host = if self.addr.ip().is_unspecified() { "127.0.0.1".to_string() } else { self.addr.ip().to_string() };
        match self.addr.ip() {
            IpAddr::V6(_) if !self.addr.ip().is_unspecified() => format!("http://[{host}]:{}", self.addr.port()),
            _ => format!("http://{host}:{}", self.addr.port()),
        }
    }

    /// Stops accepting, closes every connection and waits for the threads.
    pub fn shutdown(self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.poller.notify();
        for t in self.threads {
            let _ = t.join();
        }
    }
}

pub fn start(addr: &str, service: Arc<dyn Service>, limits: Limits) -> io::Result<Running> {
    let listener =
        TcpListener::bind(addr).map_err(|e| io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))?;
    listener.set_nonblocking(true)?;
    let local = listener.local_addr()?;
    let poller = Arc::new(Poller::new()?);
    // SAFETY: the listener outlives its registration: it is removed from the poller (and
    // dropped) only by the loop thread that owns both.
    #[allow(unsafe_code)]
    unsafe {
        poller.add(&listener, Event::readable(LISTENER))?
    };
    let stop = Arc::new(AtomicBool::new(false));
    let (done_tx, done_rx) = mpsc::channel();
    let (job_tx, job_rx) = mpsc::channel::<Job>();
    let (parker, parker_thread) = Parker::start(limits.max_parked)?;
    let ctx = Arc::new(pool::Ctx {
        service: service.clone(),
        limits: limits.clone(),
        done: done_tx,
        wake: poller.clone(),
        parker,
        drains: Arc::default(),
    });
    let jobs = Arc::new(Mutex::new(job_rx));
    let mut threads = Vec::new();
    for i in 0..limits.workers.max(1) {
        let (ctx, jobs) = (ctx.clone(), jobs.clone());
        threads.push(std::thread::Builder::new().name(format!("http-{i}")).spawn(move || pool::run(&ctx, &jobs))?);
    }
    let mut lp = Loop {
        listener,
        poller: poller.clone(),
        service,
        limits: limits.clone(),
        head_limits: HeadLimits {
            max_line: limits.max_request_line,
            max_head: limits.max_head_bytes,
            max_headers: limits.max_headers,
        },
        conns: HashMap::new(),
        next_key: 0,
        per_ip: HashMap::new(),
        inflight_ip: HashMap::new(),
        buffered: 0,
        idle_workers: limits.workers.max(1),
        waiting: VecDeque::new(),
        jobs: job_tx,
        done: done_rx,
        stop: stop.clone(),
        scratch: vec![0; READ_CHUNK],
        accept_paused: false,
    };
    let ctx_for_stop = ctx;
    let main = std::thread::Builder::new().name("http-loop".into()).spawn(move || {
        lp.run();
        // Parked calls are answered with what they have, and those answers sent.
        ctx_for_stop.parker.stop();
        lp.drain(Duration::from_millis(500));
        drop(lp);
    })?;
    threads.insert(0, main);
    threads.push(parker_thread);
    Ok(Running { addr: local, stop, poller, threads })
}

struct Loop {
    listener: TcpListener,
    poller: Arc<Poller>,
    service: Arc<dyn Service>,
    limits: Limits,
    head_limits: HeadLimits,
    conns: HashMap<usize, Conn>,
    next_key: usize,
    /// Open connections per client address.
    per_ip: HashMap<IpAddr, usize>,
    /// Jobs with workers per client address.
    inflight_ip: HashMap<IpAddr, usize>,
    /// Body bytes held node-wide.
    buffered: usize,
    idle_workers: usize,
    /// Connections with a job for a worker, oldest first.
    waiting: VecDeque<usize>,
    jobs: Sender<Job>,
    done: Receiver<Done>,
    stop: Arc<AtomicBool>,
    /// Where reads land before they are appended to a connection's buffer.
    scratch: Vec<u8>,
    /// Accepting failed (out of descriptors): the listener is armed again at the next tick.
    accept_paused: bool,
}

impl Loop {
    fn run(&mut self) {
        let mut events = Events::new();
        let mut next_tick = Instant::now() + TICK;
        while !self.stop.load(Ordering::SeqCst) {
            events.clear();
            let timeout = next_tick.saturating_duration_since(Instant::now());
            if let Err(e) = self.poller.wait(&mut events, Some(timeout)) {
                if e.kind() != ErrorKind::Interrupted {
                    eprintln!("leither: the HTTP server's poller failed: {e}");
                    return;
                }
            }
            let now = Instant::now();
            let ready: Vec<(usize, bool, bool)> = events.iter().map(|e| (e.key, e.readable, e.writable)).collect();
            for (key, readable, writable) in ready {
                if key == LISTENER {
                    self.accept(now);
                    continue;
                }
                if let Some(c) = self.conns.get_mut(&key) {
                    c.armed = None;
                }
                if writable {
                    self.flush(key, now);
                }
                if readable {
                    self.read(key, now);
                }
                self.advance(key, now);
            }
            while let Ok(d) = self.done.try_recv() {
                self.finished(d, Instant::now());
            }
            self.pump();
            let now = Instant::now();
            if now >= next_tick {
                self.sweep(now);
                next_tick = now + TICK;
                if std::mem::take(&mut self.accept_paused) {
                    let _ = self.poller.modify(&self.listener, Event::readable(LISTENER));
                }
            }
            self.rearm_all();
        }
    }

    /// After a stop: delivers what workers and the parker still send, for up to `wait`.
    fn drain(&mut self, wait: Duration) {
        let until = Instant::now() + wait;
        loop {
            let parked = self.conns.values().any(|c| matches!(c.phase, Phase::Parked | Phase::Busy));
            let pending = self.conns.values().any(Conn::has_output);
            if (!parked && !pending) || Instant::now() >= until {
                return;
            }
            match self.done.recv_timeout(Duration::from_millis(10)) {
                Ok(d) => self.finished(d, Instant::now()),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            }
            let keys: Vec<usize> = self.conns.keys().copied().collect();
            for k in keys {
                self.flush(k, Instant::now());
            }
        }
    }

    fn accept(&mut self, now: Instant) {
        loop {
            let (stream, remote) = match self.listener.accept() {
                Ok(x) => x,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                // Out of descriptors or similar: the listener stays readable, so it is left
                // unarmed until the next tick instead of waking the loop at once, forever.
                Err(_) => {
                    self.accept_paused = true;
                    return;
                }
            };
            let n = self.per_ip.get(&remote.ip()).copied().unwrap_or(0);
            let refuse = if self.conns.len() >= self.limits.max_conns {
                Some(format!("the node has its {} HTTP connections open; try again later", self.limits.max_conns))
            } else if n >= self.limits.max_conns_per_ip {
                Some(format!("{} connections from {} are open; close one first", n, remote.ip()))
            } else {
                None
            };
            if let Some(why) = refuse {
                refuse_now(stream, &why);
                continue;
            }
            if stream.set_nonblocking(true).is_err() {
                continue;
            }
            let _ = stream.set_nodelay(true);
            let key = self.next_key;
            self.next_key += 1;
            let mut c = Conn::new(stream, remote, now);
            c.deadline = Some(now + Duration::from_millis(self.limits.head_timeout_ms));
            *self.per_ip.entry(remote.ip()).or_default() += 1;
            self.conns.insert(key, c);
            self.register(key);
        }
        let _ = self.poller.modify(&self.listener, Event::readable(LISTENER));
    }

    fn register(&mut self, key: usize) {
        let Some(c) = self.conns.get_mut(&key) else { return };
        let Some(s) = &c.stream else { return };
        // SAFETY: a stream is deleted from the poller before it is dropped or handed to a
        // worker (`unregister`), so the poller never holds a closed descriptor.
        #[allow(unsafe_code)]
        let added = unsafe { self.poller.add(s, Event::none(key)) };
        if added.is_ok() {
            c.registered = true;
            c.armed = None;
        }
    }

    fn unregister(&mut self, key: usize) {
        if let Some(c) = self.conns.get_mut(&key) {
            if let (true, Some(s)) = (c.registered, &c.stream) {
                let _ = self.poller.delete(s);
            }
            c.registered = false;
            c.armed = None;
        }
    }

    fn close(&mut self, key: usize) {
        self.unregister(key);
        if let Some(c) = self.conns.remove(&key) {
            if let Some(n) = self.per_ip.get_mut(&c.ip()) {
                *n -= 1;
                if *n == 0 {
                    self.per_ip.remove(&c.ip());
                }
            }
            self.buffered -= c.reserved;
        }
    }

    /// Sends a final response from the loop and closes after it.
    fn fail(&mut self, key: usize, resp: Resp, now: Instant) {
        let Some(c) = self.conns.get_mut(&key) else { return };
        let (bytes, _) = resp.to_bytes(true, false);
        c.queue_output(&bytes, now);
        c.phase = Phase::Closing;
        c.buf = Vec::new();
        c.deadline = Some(now + Duration::from_millis(self.limits.write_timeout_ms));
        self.release(key);
        self.flush(key, now);
    }

    fn release(&mut self, key: usize) {
        if let Some(c) = self.conns.get_mut(&key) {
            self.buffered -= c.reserved;
            c.reserved = 0;
        }
    }

    fn read(&mut self, key: usize, now: Instant) {
        let Some(c) = self.conns.get_mut(&key) else { return };
        let Some(s) = c.stream.as_mut() else { return };
        if matches!(c.phase, Phase::Closing) {
            // Input after a final response is read and dropped, so the close is not a reset
            // that could destroy the response before the client reads it.
            for _ in 0..16 {
                match s.read(&mut self.scratch) {
                    Ok(0) => {
                        c.eof = true;
                        break;
                    }
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
            return;
        }
        let cap = match &c.phase {
            Phase::Head => self.head_limits.max_head + 1,
            Phase::Body { need, .. } => *need,
            Phase::WebSocket(_) => self.limits.ws_max_message + 16,
            // A client may send more while it waits; it is read later.
            _ => 0,
        };
        let room = cap.saturating_sub(c.buf.len()).min(READ_CHUNK);
        if room == 0 {
            return;
        }
        let old = c.buf.len();
        // A body reads into its buffer (sized once for the whole body); anything else through
        // the loop's scratch buffer, so an idle or slow connection holds only what it sent.
        let got = if matches!(c.phase, Phase::Body { .. }) {
            c.buf.resize(old + room, 0);
            let r = s.read(&mut c.buf[old..]);
            c.buf.truncate(old + *r.as_ref().unwrap_or(&0));
            r
        } else {
            let r = s.read(&mut self.scratch[..room]);
            if let Ok(n) = r {
                c.buf.extend_from_slice(&self.scratch[..n]);
            }
            r
        };
        match got {
            Ok(0) => {
                c.eof = true;
            }
            Ok(_) => {
                if matches!(c.phase, Phase::Head) && old == 0 && c.scanned == 0 {
                    // A new request started: its head must arrive within the head timeout.
                    let d = now + Duration::from_millis(self.limits.head_timeout_ms);
                    c.deadline = Some(c.deadline.map_or(d, |x| x.min(d)));
                }
                if let Phase::WebSocket(_) = c.phase {
                    c.deadline = Some(now + Duration::from_millis(self.limits.ws_idle_timeout_ms));
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {}
            Err(_) => {
                c.eof = true;
            }
        }
    }

    fn flush(&mut self, key: usize, now: Instant) {
        let Some(c) = self.conns.get_mut(&key) else { return };
        let Some(mut s) = c.stream.take() else { return };
        while c.has_output() {
            match s.write(&c.out[c.out_pos..]) {
                Ok(0) => break,
                Ok(n) => {
                    c.out_pos += n;
                    c.last_write = now;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(_) => {
                    c.eof = true;
                    c.out.clear();
                    c.out_pos = 0;
                    break;
                }
            }
        }
        c.stream = Some(s);
        if !c.has_output() {
            c.out = Vec::new();
            c.out_pos = 0;
            if matches!(c.phase, Phase::Closing) {
                if let Some(s) = &c.stream {
                    let _ = s.shutdown(std::net::Shutdown::Write);
                }
                self.close(key);
            }
        }
    }

    /// Moves a connection on with what it has read.
    fn advance(&mut self, key: usize, now: Instant) {
        loop {
            let Some(c) = self.conns.get_mut(&key) else { return };
            match &mut c.phase {
                Phase::Head => {
                    // Blank lines before a request line are skipped (RFC 9112 §2.2).
                    let skip = c.buf.iter().take_while(|b| matches!(b, b'\r' | b'\n')).count();
                    if skip > 0 {
                        c.buf.drain(..skip);
                        c.scanned = 0;
                    }
                    let Some(end) = head_end(&c.buf, c.scanned) else {
                        c.scanned = c.buf.len();
                        let over = c.buf.len() > self.head_limits.max_head
                            || (!c.buf.contains(&b'\n') && c.buf.len() > self.head_limits.max_line);
                        if over {
                            // The parser names which limit (414 or 431).
                            let e = match head::parse(&c.buf, &self.head_limits) {
                                Err(e) => e,
                                Ok(_) => {
                                    head::HeadError { status: 431, message: "the request head is too large".into() }
                                }
                            };
                            return self.fail(key, error_response(e.status, &e.message), now);
                        }
                        if c.eof {
                            return self.close(key);
                        }
                        return;
                    };
                    let parsed = head::parse(&c.buf[..end], &self.head_limits);
                    let head = match parsed {
                        Ok(Some((h, _))) => h,
                        Ok(None) => return self.fail(key, error_response(400, "the request head does not parse"), now),
                        Err(e) => return self.fail(key, error_response(e.status, &e.message), now),
                    };
                    c.buf.drain(..end);
                    c.scanned = 0;
                    if let Err(resp) = self.start_request(key, head, now) {
                        return self.fail(key, resp, now);
                    }
                }
                Phase::Body { need, .. } => {
                    if c.buf.len() < *need {
                        if c.eof {
                            return self.close(key);
                        }
                        return;
                    }
                    let need = *need;
                    let Phase::Body { head, .. } = std::mem::replace(&mut c.phase, Phase::Busy) else { unreachable!() };
                    // The buffer becomes the body when it holds nothing else (no copy).
                    let body =
                        if c.buf.len() == need { std::mem::take(&mut c.buf) } else { c.buf.drain(..need).collect() };
                    c.phase = Phase::Ready(Ready::Buffered { head, body });
                    c.deadline = None;
                    self.waiting.push_back(key);
                    return;
                }
                Phase::WebSocket(_) => return self.advance_ws(key, now),
                Phase::Closing => {
                    if c.eof && !c.has_output() {
                        self.close(key);
                    }
                    return;
                }
                Phase::Ready(_) | Phase::Busy | Phase::Parked => return,
            }
        }
    }

    /// A head arrived: decide how its body is taken.
    fn start_request(&mut self, key: usize, head: head::Head, now: Instant) -> Result<(), Resp> {
        let intake = self.service.intake(&head);
        let c = self.conns.get_mut(&key).expect("the connection exists");
        if intake == Intake::WebSocket {
            let info = self.service.ws_open(&head, c.remote)?;
            let accept = head.header("Sec-WebSocket-Key").map(crate::ws::accept_key).unwrap_or_default();
            let hs = format!(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
            );
            c.queue_output(hs.as_bytes(), now);
            let decoder = crate::ws::Decoder::new(crate::ws::WsLimits { max_message: self.limits.ws_max_message });
            c.phase = Phase::WebSocket(Box::new(WsConn {
                decoder,
                info: Arc::new(info),
                queued: VecDeque::new(),
                inflight: 0,
                closing: false,
            }));
            c.deadline = Some(now + Duration::from_millis(self.limits.ws_idle_timeout_ms));
            return Ok(());
        }
        let len = match head.body().map_err(|e| error_response(e.status, &e.message))? {
            BodyKind::Length(n) => n,
            BodyKind::Chunked => {
                return Err(error_response(
                    411,
                    "send the request body with a Content-Length (chunked bodies are not taken)",
                ))
            }
        };
        if intake == Intake::Stream {
            let take = (len.min(c.buf.len() as u64)) as usize;
            let prefix: Vec<u8> = c.buf.drain(..take).collect();
            c.phase = Phase::Ready(Ready::Stream { head, prefix, len });
            c.deadline = None;
            self.waiting.push_back(key);
            return Ok(());
        }
        let max = self.limits.max_body_bytes;
        if len > max as u64 {
            return Err(error_response(413, &format!("the request body is over the {max}-byte limit")));
        }
        let len = len as usize;
        if len > SMALL_BODY {
            if self.buffered + len > self.limits.max_buffered_bytes {
                return Err(error_response(503, "the node is reading too many request bodies; try again shortly")
                    .with_header(super::header("Retry-After", "1")));
            }
            self.buffered += len;
            c.reserved = len;
        }
        if head.lists("Expect", "100-continue") && c.buf.len() < len {
            c.queue_output(b"HTTP/1.1 100 Continue\r\n\r\n", now);
        }
        c.deadline = Some(now + Duration::from_millis(self.limits.body_timeout_ms));
        // One allocation of the body's size, not a doubling series of copies.
        c.buf.reserve_exact(len.saturating_sub(c.buf.len()));
        c.phase = Phase::Body { head, need: len };
        Ok(())
    }

    /// Deadlines: heads, bodies, idle connections, stalled writes.
    fn sweep(&mut self, now: Instant) {
        let write_stall = Duration::from_millis(self.limits.write_timeout_ms);
        let mut expired = Vec::new();
        for (&key, c) in &self.conns {
            if c.has_output() && now.duration_since(c.last_write) > write_stall {
                expired.push((key, false));
            } else if c.deadline.is_some_and(|d| now >= d) {
                expired.push((key, true));
            }
        }
        for (key, deadline) in expired {
            let Some(c) = self.conns.get_mut(&key) else { continue };
            if !deadline {
                self.close(key);
                continue;
            }
            match &c.phase {
                Phase::Head if c.buf.is_empty() && !c.has_output() => self.close(key),
                Phase::Head => {
                    let s = self.limits.head_timeout_ms as f64 / 1000.0;
                    self.fail(key, error_response(408, &format!("the request head did not arrive within {s} s")), now)
                }
                Phase::Body { .. } => {
                    let s = self.limits.body_timeout_ms as f64 / 1000.0;
                    self.fail(key, error_response(408, &format!("the request body did not arrive within {s} s")), now)
                }
                Phase::WebSocket(_) => {
                    c.queue_output(&crate::ws::close_frame(1001, "idle"), now);
                    c.phase = Phase::Closing;
                    c.deadline = Some(now + write_stall);
                    self.flush(key, now);
                }
                _ => self.close(key),
            }
        }
    }

    /// Tells the poller what each connection waits for now.
    fn rearm_all(&mut self) {
        let keys: Vec<usize> = self.conns.keys().copied().collect();
        for key in keys {
            let Some(c) = self.conns.get_mut(&key) else { continue };
            if !c.registered {
                continue;
            }
            let readable = !c.eof
                && match &c.phase {
                    Phase::Head | Phase::Body { .. } => true,
                    Phase::WebSocket(ws) => {
                        !ws.closing
                            && ws.queued.len() < self.limits.ws_max_inflight
                            && c.out.len() - c.out_pos < self.limits.ws_max_outbox
                    }
                    // A client that closes while parked or while waiting is noticed later.
                    Phase::Closing => true,
                    _ => false,
                };
            let writable = c.has_output();
            let want = (readable, writable);
            if c.armed == Some(want) {
                continue;
            }
            let ev = match want {
                (true, true) => Event::all(key),
                (true, false) => Event::readable(key),
                (false, true) => Event::writable(key),
                (false, false) => Event::none(key),
            };
            if let Some(s) = &c.stream {
                if self.poller.modify(s, ev).is_ok() {
                    c.armed = Some(want);
                }
            }
        }
    }
}

/// Answers a connection over a cap and closes it, without waiting on it.
fn refuse_now(stream: TcpStream, why: &str) {
    let _ = stream.set_nonblocking(true);
    let (bytes, _) = error_response(503, why).with_header(super::header("Retry-After", "5")).to_bytes(true, false);
    let mut s = stream;
    let _ = s.write(&bytes);
}
