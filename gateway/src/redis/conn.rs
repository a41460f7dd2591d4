//! One RESP client connection: parse pipelined requests, keep connection state (selected DB
//! MiMei, AUTH, MULTI queue, WATCH), run database commands through the engine in order.

use super::engine::{Engine, Watched};
use super::server::Shared;
use proto_core::db::{self, resp, Reply};
use std::io::{Read, Write};
use std::net::TcpStream;

const NOAUTH: &str = "NOAUTH Authentication required.";

pub struct Conn {
    shared: std::sync::Arc<Shared>,
    prefix: Vec<u8>,
    authed: bool,
    /// Commands queued by MULTI; `Some` while a transaction is open.
    multi: Option<Vec<Vec<Vec<u8>>>>,
    multi_error: bool,
    watched: Watched,
    /// RESP protocol version (2 until HELLO 3).
    proto: u8,
}

/// Where one request's reply comes from.
enum Slot {
    Ready(Reply),
    /// The n-th command of the pending database run.
    Db(usize),
}

impl Conn {
    pub fn new(shared: std::sync::Arc<Shared>) -> Conn {
        let prefix = shared.default_prefix.clone();
        Conn { shared, prefix, authed: false, multi: None, multi_error: false, watched: Watched::default(), proto: 2 }
    }

    fn engine(&self) -> &Engine {
        &self.shared.engine
    }

    pub fn serve(mut self, mut stream: TcpStream) {
        let _ = stream.set_nodelay(true);
        let mut buf: Vec<u8> = Vec::with_capacity(16 * 1024);
        let mut chunk = vec![0u8; 64 * 1024];
        let mut out = Vec::with_capacity(16 * 1024);
        'conn: loop {
            let n = match stream.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            buf.extend_from_slice(&chunk[..n]);
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
            let quit = self.handle(reqs, &mut out);
            let fatal = fatal.map(|e| Reply::Error(format!("ERR {e}")).encode(&mut out)).is_some();
            if stream.write_all(&out).is_err() {
                break 'conn;
            }
            out.clear();
            if quit || fatal {
                break;
            }
        }
        let mut w = std::mem::take(&mut self.watched);
        self.engine().unwatch(&mut w);
    }

    /// Handles a pipeline of requests, appending replies in order; true when the client quit.
    fn handle(&mut self, reqs: Vec<Vec<Vec<u8>>>, out: &mut Vec<u8>) -> bool {
        let mut slots = Vec::with_capacity(reqs.len());
        let mut run: Vec<Vec<Vec<u8>>> = Vec::new();
        let mut run_writes = false;
        let mut results: Vec<Reply> = Vec::new();
        let mut quit = false;
        for args in reqs {
            let name = String::from_utf8_lossy(&args[0]).to_ascii_lowercase();
            if self.multi.is_some() && !matches!(name.as_str(), "exec" | "discard" | "multi" | "watch" | "quit") {
                slots.push(Slot::Ready(self.queue(args)));
                continue;
            }
            match db::lookup(&args[0]) {
                Some(cmd) => {
                    if cmd.is_write() && !self.authed {
                        slots.push(Slot::Ready(Reply::err(NOAUTH)));
                        continue;
                    }
                    run_writes |= cmd.is_write();
                    slots.push(Slot::Db(results.len() + run.len()));
                    run.push(args);
                }
                None => {
                    // Connection commands see the effects of everything before them.
                    self.flush(&mut run, &mut run_writes, &mut results);
                    let (r, q) = self.connection_command(&name, &args);
                    quit |= q;
                    slots.push(Slot::Ready(r));
                }
            }
        }
        self.flush(&mut run, &mut run_writes, &mut results);
        for s in slots {
            match s {
                Slot::Ready(r) => r.encode_as(out, self.proto),
                Slot::Db(i) => results.get(i).cloned().unwrap_or(Reply::Nil).encode_as(out, self.proto),
            }
        }
        quit
    }

    /// Runs the pending database commands: in a snapshot when all read, else in a commit.
    fn flush(&self, run: &mut Vec<Vec<Vec<u8>>>, writes: &mut bool, results: &mut Vec<Reply>) {
        if run.is_empty() {
            return;
        }
        let cmds = std::mem::take(run);
        let n = cmds.len();
        let r = if *writes { self.engine().write(&self.prefix, cmds) } else { self.engine().read(&self.prefix, &cmds) };
        *writes = false;
        match r {
            Ok(replies) => results.extend(replies),
            Err(f) => results.extend(std::iter::repeat_n(Reply::Error(format!("ERR {}", f.0)), n)),
        }
    }

    fn queue(&mut self, args: Vec<Vec<u8>>) -> Reply {
        let err = match db::lookup(&args[0]) {
            None => Some(db::unknown(&args)),
            Some(cmd) => match cmd.check_arity(&args) {
                Some(e) => Some(e),
                None if cmd.is_write() && !self.authed => Some(Reply::err(NOAUTH)),
                None => None,
            },
        };
        match err {
            Some(e) => {
                self.multi_error = true;
                e
            }
            None => {
                if let Some(q) = self.multi.as_mut() {
                    q.push(args);
                }
                Reply::Simple("QUEUED".into())
            }
        }
    }

    fn connection_command(&mut self, name: &str, a: &[Vec<u8>]) -> (Reply, bool) {
        let arity = |_n: usize| Reply::err(format!("ERR wrong number of arguments for '{name}' command"));
        let r = match name {
            "quit" => return (Reply::ok(), true),
            "auth" => match a.len() {
                2 | 3 => {
                    let pass = &a[a.len() - 1];
                    let user_ok = a.len() == 2 || a[1] == b"default";
                    if user_ok && self.shared.check_token(pass) {
                        self.authed = true;
                        Reply::ok()
                    } else {
                        Reply::err("WRONGPASS invalid username-password pair or user is disabled.")
                    }
                }
                n => arity(n),
            },
            "select" => match a.len() {
                2 => match self.shared.select(&a[1]) {
                    Ok(p) => {
                        if self.multi.is_none() {
                            self.prefix = p;
                        }
                        Reply::ok()
                    }
                    Err(e) => Reply::Error(e),
                },
                n => arity(n),
            },
            "multi" => {
                if self.multi.is_some() {
                    Reply::err("ERR MULTI calls can not be nested")
                } else {
                    self.multi = Some(Vec::new());
                    self.multi_error = false;
                    Reply::ok()
                }
            }
            "discard" => match self.multi.take() {
                None => Reply::err("ERR DISCARD without MULTI"),
                Some(_) => {
                    self.unwatch();
                    Reply::ok()
                }
            },
            "exec" => match self.multi.take() {
                None => Reply::err("ERR EXEC without MULTI"),
                Some(_) if self.multi_error => {
                    self.unwatch();
                    Reply::err("EXECABORT Transaction discarded because of previous errors.")
                }
                Some(q) => {
                    let mut w = self.watched.clone();
                    if w.keys.is_empty() {
                        w.prefix = self.prefix.clone();
                        w.epoch = u64::MAX; // nothing watched: never aborts
                    }
                    let watching = !self.watched.keys.is_empty();
                    let r = if watching {
                        self.engine().exec(&self.prefix, q, w)
                    } else {
                        self.engine().write(&self.prefix, q).map(Some)
                    };
                    self.unwatch();
                    match r {
                        Ok(Some(replies)) => Reply::Array(replies),
                        Ok(None) => Reply::NilArray,
                        Err(f) => Reply::Error(format!("ERR {}", f.0)),
                    }
                }
            },
            "watch" => {
                if self.multi.is_some() {
                    Reply::err("ERR WATCH inside MULTI is not allowed")
                } else if a.len() < 2 {
                    arity(a.len())
                } else {
                    let mut w = std::mem::take(&mut self.watched);
                    let prefix = self.prefix.clone();
                    self.shared.engine.watch(&mut w, &prefix, &a[1..]);
                    self.watched = w;
                    Reply::ok()
                }
            }
            "unwatch" => {
                self.unwatch();
                Reply::ok()
            }
            "hello" => self.hello(a),
            "info" => Reply::Bulk(self.shared.info().into_bytes()),
            "command" => Reply::Array(vec![]),
            "client" => match a.get(1).map(|s| String::from_utf8_lossy(s).to_ascii_lowercase()) {
                Some(s) if s == "getname" => Reply::Nil,
                Some(s) if s == "id" => Reply::Int(1),
                _ => Reply::ok(),
            },
            "config" => Reply::Map(vec![]),
            "reset" => {
                self.multi = None;
                self.unwatch();
                self.prefix = self.shared.default_prefix.clone();
                self.authed = false;
                Reply::Simple("RESET".into())
            }
            _ => db::unknown(a),
        };
        (r, false)
    }

    /// HELLO [protover [AUTH user pass] [SETNAME name]]: switches the protocol and authenticates.
    fn hello(&mut self, a: &[Vec<u8>]) -> Reply {
        let proto = match a.get(1) {
            None => self.proto,
            Some(v) => match db::num::parse_i64(v) {
                Some(p @ 2..=3) => p as u8,
                Some(_) => return Reply::err("NOPROTO unsupported protocol version"),
                None => return Reply::err("ERR Protocol version is not an integer or out of range"),
            },
        };
        let mut i = 2;
        let mut authed = self.authed;
        while i < a.len() {
            let opt = String::from_utf8_lossy(&a[i]).to_ascii_lowercase();
            match (opt.as_str(), a.get(i + 1), a.get(i + 2)) {
                ("auth", Some(user), Some(pass)) => {
                    if user.as_slice() != b"default" || !self.shared.check_token(pass) {
                        return Reply::err("WRONGPASS invalid username-password pair or user is disabled.");
                    }
                    authed = true;
                    i += 3;
                }
                ("setname", Some(_), _) => i += 2,
                _ => return Reply::Error(format!("ERR Syntax error in HELLO option '{opt}'")),
            }
        }
        self.authed = authed;
        self.proto = proto;
        let s = |t: &str| Reply::bulk(t);
        Reply::Map(vec![
            (s("server"), s("redis")),
            (s("version"), s("7.0.0")),
            (s("leither"), s(env!("CARGO_PKG_VERSION"))),
            (s("proto"), Reply::Int(i64::from(proto))),
            (s("id"), Reply::Int(1)),
            (s("mode"), s("standalone")),
            (s("role"), s("master")),
            (s("modules"), Reply::Array(vec![])),
        ])
    }

    fn unwatch(&mut self) {
        let mut w = std::mem::take(&mut self.watched);
        self.shared.engine.unwatch(&mut w);
    }
}
