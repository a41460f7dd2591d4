//! The database service of a node: one event-loop thread owns the RESP listener and every client
//! connection (non-blocking sockets over epoll/kqueue through `polling`), and runs each round of
//! ready requests — every client's pipeline plus API calls — in one LMDB transaction, committed
//! once before any of its replies is written. That is group commit without a thread per client,
//! and the reason the endpoint keeps up with Redis's own single-threaded loop.

use super::conn::{may_write, Session};
use super::engine::{prefix, Batch, Committed, Repl, Watch, Watched};
use polling::{Event, Events, PollMode, Poller};
use proto_core::db::repl::{Entry, Msg};
use proto_core::db::{resp, Fault, Reply};
use proto_core::mimei::Mid;
use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use storage::db::{DbStore, Durability};

/// Redis's default `maxclients`.
pub const MAX_CLIENTS: usize = 10_000;
/// Redis's `client-query-buffer-limit`: a client sending more unparsed bytes is dropped.
const MAX_QUERY_BUFFER: usize = 1 << 30;
/// Most bytes read from one client per round, so one busy client cannot starve the others.
const READ_PER_ROUND: usize = 1 << 20;
const LISTENER: usize = usize::MAX - 1;

/// Whether a mid names a DB MiMei this node holds: None = no; Some(true) = ours (writable);
/// Some(false) = a replica of another author's.
pub type IsDb = Box<dyn Fn(&Mid) -> Result<Option<bool>, String> + Send + Sync>;
/// Called after each commit with the keyspaces it changed and the replication entries it made.
pub type CommitHook = Box<dyn Fn(&[Vec<u8>], &[(Vec<u8>, Entry)]) + Send>;
/// Whether writes to a keyspace are replicated.
pub type Leads = Box<dyn Fn(&[u8]) -> bool + Send>;

/// What every connection shares.
pub struct Shared {
    pub default_prefix: Vec<u8>,
    pub default_mid: Mid,
    token: String,
    is_db: IsDb,
    durability: Durability,
    clients: std::sync::atomic::AtomicUsize,
}

impl Shared {
    pub fn check_token(&self, given: &[u8]) -> bool {
        let t = self.token.as_bytes();
        // Equality must not stop at the first differing byte.
        t.len() == given.len() && t.iter().zip(given).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    }

    /// `SELECT 0` is the node's default DB MiMei; `SELECT <mid>` any DB MiMei held here.
    /// Returns the keyspace and whether it may be written.
    pub fn select(&self, arg: &[u8]) -> Result<(Vec<u8>, bool), String> {
        if arg == b"0" {
            return Ok((self.default_prefix.clone(), true));
        }
        if proto_core::db::num::parse_i64(arg).is_some() {
            return Err("ERR DB index is out of range".into());
        }
        let text = String::from_utf8_lossy(arg);
        let mid = Mid::parse(&text).map_err(|e| format!("ERR invalid DB MiMei id '{text}': {e}"))?;
        match (self.is_db)(&mid) {
            Ok(Some(writable)) => Ok((prefix(&mid, 0), writable)),
            Ok(None) => Err(format!("ERR no database MiMei {text} on this node (create one with `mimei create --db`)")),
            Err(e) => Err(format!("ERR {e}")),
        }
    }

    pub fn info(&self) -> String {
        format!(
            "# Server\r\nredis_version:7.0.0\r\nleither_version:{}\r\nredis_mode:standalone\r\n\r\n# Clients\r\n\
             connected_clients:{}\r\n\r\n# Persistence\r\ndurability:{}\r\n\r\n# Keyspace\r\ndefault_db:{}\r\n",
            env!("CARGO_PKG_VERSION"),
            self.clients.load(Ordering::Relaxed),
            self.durability.name(),
            self.default_mid,
        )
    }
}

/// Work from elsewhere in the node (API methods), done in the next round.
pub enum Work {
    /// Run commands in order.
    Run(Vec<Vec<Vec<u8>>>),
    /// What commands would answer (in an undone child transaction); their keys get watched.
    Probe(Vec<Vec<Vec<u8>>>, Watched),
    /// Run commands unless a watched key changed (then `Done::aborted`).
    Commit(Vec<Vec<Vec<u8>>>, Watched),
    /// Stop watching.
    Unwatch(Watched),
    /// Copy this keyspace to another (a backup).
    CopyTo(Vec<u8>),
    /// Replace this keyspace's entries.
    Load(Vec<(Vec<u8>, Vec<u8>)>),
    /// Replace this keyspace (an author's `cur`) with another (a version): a restore.
    Restore(Vec<u8>),
    /// As the author: answer a replica's `Want(from)` (`Done::msg`).
    Want(u64),
    /// As the author: the position to announce (`Done::msg` = `Head`, if replicated).
    Head,
    /// As a replica: a message from the author; `Done::msg` is the answer to send back.
    Follow(Msg),
    /// As a replica: the periodic check (`Done::msg`: a `Want` when behind, or always when
    /// `true` — which keeps the replica subscribed).
    FollowTick(bool),
}

/// What work answered.
#[derive(Default)]
pub struct Done {
    pub replies: Vec<Reply>,
    pub watched: Watched,
    pub aborted: bool,
    /// A replication message to send.
    pub msg: Option<Msg>,
}

struct Job {
    prefix: Vec<u8>,
    work: Work,
    done: mpsc::SyncSender<Result<Done, Fault>>,
}

/// The running database service.
pub struct DbService {
    pub resp_addr: Option<SocketAddr>,
    /// The store, for snapshots read outside the loop (LMDB readers never block the writer).
    pub store: Arc<DbStore>,
    /// Where replication messages go (set once the network runs).
    pub repl: std::sync::OnceLock<crate::db::repl::ReplHandle>,
    pub default_mid: Mid,
    poller: Arc<Poller>,
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    stopping: Arc<AtomicBool>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

/// How to start the service.
pub struct DbOptions {
    pub store: Arc<DbStore>,
    pub sync_interval_ms: u64,
    /// Where Redis clients connect; empty = no RESP endpoint.
    pub resp_addr: String,
    pub default_mid: Mid,
    pub token: String,
    pub is_db: IsDb,
    pub hook: Option<CommitHook>,
    pub leads: Leads,
}

impl DbService {
    pub fn start(o: DbOptions) -> std::io::Result<Arc<DbService>> {
        let listener = if o.resp_addr.is_empty() {
            None
        } else {
            // A busy port (a real Redis, a second node) costs the RESP endpoint, not the node:
            // the database stays reachable through the API and the CLI.
            match TcpListener::bind(&o.resp_addr) {
                Ok(l) => {
                    l.set_nonblocking(true)?;
                    Some(l)
                }
                Err(e) => {
                    eprintln!(
                        "leither: no Redis endpoint: cannot listen on {} ({e}); set resp_addr in config.json or run with --resp-addr",
                        o.resp_addr
                    );
                    None
                }
            }
        };
        let resp_addr = listener.as_ref().map(TcpListener::local_addr).transpose()?;
        let poller = Arc::new(Poller::new()?);
        if let Some(l) = &listener {
            // SAFETY: the listener lives in the loop until the loop ends, and is removed from the
            // poller before it is dropped.
            #[allow(unsafe_code)]
            unsafe {
                poller.add_with_mode(l, Event::readable(LISTENER), PollMode::Level)?
            };
        }
        let shared = Shared {
            default_prefix: prefix(&o.default_mid, 0),
            default_mid: o.default_mid,
            token: o.token,
            is_db: o.is_db,
            durability: o.store.durability,
            clients: Default::default(),
        };
        let (tx, rx) = mpsc::channel();
        let stopping = Arc::new(AtomicBool::new(false));
        if o.store.durability == Durability::Process {
            start_flusher(&o.store, o.sync_interval_ms, stopping.clone());
        }
        let mut lp = Loop {
            store: o.store.clone(),
            poller: poller.clone(),
            listener,
            shared,
            watch: Watch::default(),
            clients: HashMap::new(),
            next_key: 0,
            jobs: rx,
            stopping: stopping.clone(),
            hook: o.hook,
            repl: Repl::new(o.leads),
        };
        let thread = std::thread::Builder::new().name("db-loop".into()).spawn(move || lp.run())?;
        Ok(Arc::new(DbService {
            resp_addr,
            store: o.store,
            repl: std::sync::OnceLock::new(),
            default_mid: o.default_mid,
            poller,
            jobs: Mutex::new(Some(tx)),
            stopping,
            thread: Mutex::new(Some(thread)),
        }))
    }

    /// Runs commands (in order, in one transaction) in keyspace `prefix`; replies once committed.
    pub fn submit(&self, prefix: &[u8], cmds: Vec<Vec<Vec<u8>>>) -> Result<Vec<Reply>, Fault> {
        Ok(self.work(prefix, Work::Run(cmds))?.replies)
    }

    /// Does `work` on keyspace `prefix` in the next round; answers once committed.
    pub fn work(&self, prefix: &[u8], work: Work) -> Result<Done, Fault> {
        let (done, wait) = mpsc::sync_channel(1);
        let sent = self
            .jobs
            .lock()
            .ok()
            .and_then(|j| j.as_ref().map(|tx| tx.send(Job { prefix: prefix.to_vec(), work, done }).is_ok()))
            .unwrap_or(false);
        if !sent {
            return Err(Fault("the database is shutting down".into()));
        }
        let _ = self.poller.notify();
        wait.recv().map_err(|_| Fault("the database stopped".into()))?
    }

    /// Stops the loop after its current round; committed data is flushed to disk.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        if let Ok(mut j) = self.jobs.lock() {
            j.take();
        }
        let _ = self.poller.notify();
        if let Some(t) = self.thread.lock().ok().and_then(|mut t| t.take()) {
            let _ = t.join();
        }
    }
}

fn start_flusher(store: &Arc<DbStore>, interval_ms: u64, stopping: Arc<AtomicBool>) {
    let weak = Arc::downgrade(store);
    let spawned = std::thread::Builder::new().name("db-flush".into()).spawn(move || {
        while !stopping.load(Ordering::Relaxed) {
            std::thread::sleep(std::time::Duration::from_millis(interval_ms.max(10)));
            let Some(s) = weak.upgrade() else { return };
            if let Err(e) = s.sync() {
                eprintln!("database flush failed: {e}");
            }
        }
    });
    if let Err(e) = spawned {
        eprintln!("cannot start the database flusher ({e}); commits still reach the OS before replies");
    }
}

struct Client {
    stream: TcpStream,
    inbuf: Vec<u8>,
    out: Vec<u8>,
    session: Session,
    /// Close once `out` is written.
    closing: bool,
    /// Waiting for the socket to take `out` (reading paused meanwhile).
    blocked: bool,
}

struct Loop {
    store: Arc<DbStore>,
    poller: Arc<Poller>,
    listener: Option<TcpListener>,
    shared: Shared,
    watch: Watch,
    clients: HashMap<usize, Client>,
    next_key: usize,
    jobs: mpsc::Receiver<Job>,
    stopping: Arc<AtomicBool>,
    hook: Option<CommitHook>,
    repl: Repl,
}

impl Loop {
    fn run(&mut self) {
        let mut events = Events::new();
        while !self.stopping.load(Ordering::SeqCst) {
            events.clear();
            if let Err(e) = self.poller.wait(&mut events, None) {
                if e.kind() != ErrorKind::Interrupted {
                    eprintln!("database loop: {e}");
                    break;
                }
            }
            let mut ready: Vec<usize> = Vec::new();
            for ev in events.iter() {
                if ev.key == LISTENER {
                    self.accept();
                    continue;
                }
                let Some(c) = self.clients.get_mut(&ev.key) else { continue };
                if ev.writable {
                    flush(c);
                }
                if ev.readable && !c.blocked {
                    read_some(c);
                    ready.push(ev.key);
                }
            }
            self.round(&ready);
            for key in ready {
                self.finish(key);
            }
            let blocked: Vec<usize> = self.clients.iter().filter(|(_, c)| c.blocked).map(|(k, _)| *k).collect();
            for key in blocked {
                self.finish(key);
            }
        }
        let keys: Vec<usize> = self.clients.keys().copied().collect();
        for k in keys {
            self.close(k);
        }
        if let Some(l) = self.listener.take() {
            let _ = self.poller.delete(&l);
        }
        if let Err(e) = self.store.sync() {
            eprintln!("database flush at shutdown failed: {e}");
        }
    }

    fn accept(&mut self) {
        let Some(l) = &self.listener else { return };
        loop {
            match l.accept() {
                Ok((mut s, _)) => {
                    if self.clients.len() >= MAX_CLIENTS {
                        let _ = s.write_all(b"-ERR max number of clients reached\r\n");
                        continue;
                    }
                    if s.set_nonblocking(true).is_err() {
                        continue;
                    }
                    let _ = s.set_nodelay(true);
                    let key = self.next_key;
                    self.next_key = (self.next_key + 1) % LISTENER;
                    // SAFETY: the stream is owned by `clients[key]` and removed from the poller
                    // in `close` before it is dropped.
                    #[allow(unsafe_code)]
                    let added = unsafe { self.poller.add_with_mode(&s, Event::readable(key), PollMode::Level) };
                    if added.is_err() {
                        continue;
                    }
                    let session = Session::new(self.shared.default_prefix.clone());
                    let c = Client {
                        stream: s,
                        inbuf: Vec::new(),
                        out: Vec::new(),
                        session,
                        closing: false,
                        blocked: false,
                    };
                    self.clients.insert(key, c);
                    self.shared.clients.store(self.clients.len(), Ordering::Relaxed);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                // Out of descriptors and the like: try again on the next event.
                Err(_) => return,
            }
        }
    }

    /// Parses and answers every complete request of the ready clients, and the queued API jobs,
    /// in one transaction.
    fn round(&mut self, ready: &[usize]) {
        let mut work: Vec<(usize, Vec<Vec<Vec<u8>>>)> = Vec::new();
        for &key in ready {
            let Some(c) = self.clients.get_mut(&key) else { continue };
            let (reqs, fatal) = parse_all(&mut c.inbuf);
            if let Some(e) = fatal {
                c.closing = true;
                c.inbuf.clear();
                work.push((key, reqs));
                // The error goes after the replies of the requests before it.
                work.push((key, vec![vec![b"\0protocol-error".to_vec(), e.into_bytes()]]));
                continue;
            }
            if !reqs.is_empty() {
                work.push((key, reqs));
            }
        }
        let jobs: Vec<Job> = self.jobs.try_iter().collect();
        if work.is_empty() && jobs.is_empty() {
            return;
        }
        let write = !jobs.is_empty() || work.iter().any(|(_, rs)| rs.iter().any(|r| may_write(r)));
        // Replies are encoded at once (small working set) but written only after the commit.
        let mut answers: Vec<(usize, Vec<u8>)> = Vec::with_capacity(work.len());
        let mut job_answers: Vec<Done> = Vec::with_capacity(jobs.len());
        let outcome = (|| -> Result<Committed, Fault> {
            let mut b = Batch::open(&self.store, write, &mut self.repl)?;
            for (key, reqs) in &work {
                let Some(c) = self.clients.get_mut(key) else { continue };
                let mut out = Vec::new();
                for r in reqs {
                    if r[0] == b"\0protocol-error" {
                        Reply::Error(format!("ERR {}", String::from_utf8_lossy(&r[1])))
                            .encode_as(&mut out, c.session.proto);
                        continue;
                    }
                    let reply = c.session.handle(&self.shared, &mut b, &mut self.watch, r)?;
                    reply.encode_as(&mut out, c.session.proto);
                    if c.session.quit {
                        c.closing = true;
                        break;
                    }
                }
                answers.push((*key, out));
            }
            for j in &jobs {
                job_answers.push(do_work(&mut b, &mut self.watch, &j.prefix, &j.work)?);
            }
            b.commit()
        })();
        match outcome {
            Ok((changed, entries)) => {
                if let (Some(h), false) = (&self.hook, changed.is_empty()) {
                    h(&changed, &entries);
                }
                for (key, out) in answers {
                    if let Some(c) = self.clients.get_mut(&key) {
                        if c.out.is_empty() {
                            c.out = out;
                        } else {
                            c.out.extend_from_slice(&out);
                        }
                    }
                }
                for (j, out) in jobs.into_iter().zip(job_answers) {
                    let _ = j.done.send(Ok(out));
                }
            }
            Err(f) => {
                // Nothing of this round was committed: every request of it gets the error, and
                // replication positions are reloaded from what is on disk.
                self.repl.reset_all();
                for (key, reqs) in &work {
                    if let Some(c) = self.clients.get_mut(key) {
                        for _ in reqs {
                            Reply::Error(format!("ERR {}", f.0)).encode_as(&mut c.out, c.session.proto);
                        }
                    }
                }
                for j in jobs {
                    let _ = j.done.send(Err(f.clone()));
                }
            }
        }
    }

    /// Writes what a client is owed; pauses reading while its socket is full; closes it when done.
    fn finish(&mut self, key: usize) {
        let Some(c) = self.clients.get_mut(&key) else { return };
        flush(c);
        let done = c.closing && c.out.is_empty();
        let gone = done || c.inbuf.len() > MAX_QUERY_BUFFER;
        if gone {
            self.close(key);
            return;
        }
        let blocked = !c.out.is_empty();
        if blocked != c.blocked {
            c.blocked = blocked;
            let interest = if blocked { Event::writable(key) } else { Event::readable(key) };
            if self.poller.modify_with_mode(&c.stream, interest, PollMode::Level).is_err() {
                self.close(key);
            }
        }
    }

    fn close(&mut self, key: usize) {
        if let Some(mut c) = self.clients.remove(&key) {
            let _ = self.poller.delete(&c.stream);
            self.watch.unwatch(&mut c.session.watched);
        }
        self.shared.clients.store(self.clients.len(), Ordering::Relaxed);
    }
}

fn do_work(b: &mut Batch<'_>, w: &mut Watch, prefix: &[u8], work: &Work) -> Result<Done, Fault> {
    let run_all = |b: &mut Batch<'_>, w: &mut Watch, cmds: &[Vec<Vec<u8>>]| -> Result<Vec<Reply>, Fault> {
        cmds.iter().map(|c| b.run(w, prefix, c)).collect()
    };
    Ok(match work {
        Work::Run(cmds) => Done { replies: run_all(b, w, cmds)?, ..Done::default() },
        Work::Probe(cmds, watched) => {
            let mut watched = watched.clone();
            let replies = b.probe(w, prefix, cmds, &mut watched)?;
            Done { replies, watched, ..Done::default() }
        }
        Work::Commit(cmds, watched) => {
            let mut watched = watched.clone();
            let aborted = !watched.keys.is_empty() && w.moved(&watched);
            w.unwatch(&mut watched);
            let replies = if aborted { Vec::new() } else { run_all(b, w, cmds)? };
            Done { replies, watched, aborted, ..Done::default() }
        }
        Work::Unwatch(watched) => {
            let mut watched = watched.clone();
            w.unwatch(&mut watched);
            Done::default()
        }
        Work::CopyTo(to) => {
            let n = b.copy(prefix, to)?;
            Done { replies: vec![Reply::Int(n as i64)], ..Done::default() }
        }
        Work::Restore(from) => {
            let n = b.restore(prefix, from)?;
            Done { replies: vec![Reply::Int(n as i64)], ..Done::default() }
        }
        Work::Load(entries) => {
            b.load(prefix, entries)?;
            Done::default()
        }
        Work::Want(from) => Done { msg: b.lead(prefix, Some(*from))?, ..Done::default() },
        Work::Head => Done { msg: b.lead(prefix, None)?, ..Done::default() },
        Work::Follow(m) => Done { msg: b.follow(prefix, Some(m.clone()))?, ..Done::default() },
        Work::FollowTick(force) => Done { msg: b.follow_tick(prefix, *force)?, ..Done::default() },
    })
}

/// Reads what the socket has (up to a round's share); EOF or an error marks the client closing.
fn read_some(c: &mut Client) {
    let mut chunk = [0u8; 64 * 1024];
    let mut got = 0;
    while got < READ_PER_ROUND {
        match c.stream.read(&mut chunk) {
            Ok(0) => {
                c.closing = true;
                return;
            }
            Ok(n) => {
                c.inbuf.extend_from_slice(&chunk[..n]);
                got += n;
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => return,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => {
                c.closing = true;
                c.out.clear();
                return;
            }
        }
    }
}

/// Writes as much of `out` as the socket takes.
fn flush(c: &mut Client) {
    let mut written = 0;
    while written < c.out.len() {
        match c.stream.write(&c.out[written..]) {
            Ok(0) => break,
            Ok(n) => written += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => {
                // The peer is gone: drop what it was owed.
                c.closing = true;
                c.out.clear();
                return;
            }
        }
    }
    c.out.drain(..written);
}

/// Every complete request in `buf` (consumed), and the protocol error that stops parsing, if any.
fn parse_all(buf: &mut Vec<u8>) -> (Vec<Vec<Vec<u8>>>, Option<String>) {
    let mut reqs = Vec::new();
    let mut used = 0;
    let mut fatal = None;
    loop {
        match resp::parse_request(&buf[used..]) {
            Ok(Some((args, n))) => {
                used += n;
                if !args.is_empty() {
                    reqs.push(args);
                }
            }
            Ok(None) => break,
            Err(e) => {
                fatal = Some(e.0);
                break;
            }
        }
    }
    buf.drain(..used);
    (reqs, fatal)
}
