//! One RESP client's state: selected DB MiMei, AUTH, protocol version, MULTI queue and WATCH.
//! Requests are answered in order within the event loop's batch.

use super::engine::{Batch, Watch, Watched};
use super::server::Shared;
use proto_core::db::{self, Fault, Reply};

const NOAUTH: &str = "NOAUTH Authentication required.";
/// Redis's reply to a write on a replica.
const READONLY: &str = "READONLY You can't write against a read only replica.";

pub struct Session {
    pub prefix: Vec<u8>,
    authed: bool,
    /// Commands queued by MULTI; `Some` while a transaction is open.
    multi: Option<Vec<Vec<Vec<u8>>>>,
    multi_error: bool,
    pub watched: Watched,
    /// RESP protocol version (2 until HELLO 3).
    pub proto: u8,
    pub quit: bool,
    /// The selected keyspace is a replica of another author's DB MiMei.
    read_only: bool,
}

/// True when a request may write (the batch then needs a write transaction).
pub fn may_write(args: &[Vec<u8>]) -> bool {
    db::lookup(&args[0]).is_some_and(|c| c.is_write()) || args[0].eq_ignore_ascii_case(b"exec")
}

impl Session {
    pub fn new(prefix: Vec<u8>) -> Session {
        Session {
            prefix,
            authed: false,
            multi: None,
            multi_error: false,
            watched: Watched::default(),
            proto: 2,
            quit: false,
            read_only: false,
        }
    }

    /// Answers one request inside the batch.
    pub fn handle(&mut self, sh: &Shared, b: &mut Batch<'_>, w: &mut Watch, args: &[Vec<u8>]) -> Result<Reply, Fault> {
        let name = String::from_utf8_lossy(&args[0]).to_ascii_lowercase();
        if self.multi.is_some() && !matches!(name.as_str(), "exec" | "discard" | "multi" | "watch" | "quit" | "reset") {
            return Ok(self.queue(args));
        }
        match db::lookup(&args[0]) {
            Some(cmd) if cmd.is_write() && !self.authed => Ok(Reply::err(NOAUTH)),
            Some(cmd) if cmd.is_write() && self.read_only => Ok(Reply::err(READONLY)),
            Some(_) => b.run(w, &self.prefix, args),
            None => self.connection_command(sh, b, w, &name, args),
        }
    }

    fn queue(&mut self, args: &[Vec<u8>]) -> Reply {
        let err = match db::lookup(&args[0]) {
            None => Some(db::unknown(args)),
            Some(cmd) => match cmd.check_arity(args) {
                Some(e) => Some(e),
                None if cmd.is_write() && !self.authed => Some(Reply::err(NOAUTH)),
                None if cmd.is_write() && self.read_only => Some(Reply::err(READONLY)),
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
                    q.push(args.to_vec());
                }
                Reply::Simple("QUEUED".into())
            }
        }
    }

    fn connection_command(
        &mut self,
        sh: &Shared,
        b: &mut Batch<'_>,
        w: &mut Watch,
        name: &str,
        a: &[Vec<u8>],
    ) -> Result<Reply, Fault> {
        let arity = || Reply::err(format!("ERR wrong number of arguments for '{name}' command"));
        Ok(match name {
            "quit" => {
                self.quit = true;
                Reply::ok()
            }
            "auth" => match a.len() {
                2 | 3 => {
                    let user_ok = a.len() == 2 || a[1] == b"default";
                    if user_ok && sh.check_token(&a[a.len() - 1]) {
                        self.authed = true;
                        Reply::ok()
                    } else {
                        Reply::err("WRONGPASS invalid username-password pair or user is disabled.")
                    }
                }
                _ => arity(),
            },
            "select" => match a.len() {
                2 => match sh.select(&a[1]) {
                    Ok((p, writable)) => {
                        self.prefix = p;
                        self.read_only = !writable;
                        Reply::ok()
                    }
                    Err(e) => Reply::Error(e),
                },
                _ => arity(),
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
                    w.unwatch(&mut self.watched);
                    Reply::ok()
                }
            },
            "exec" => match self.multi.take() {
                None => Reply::err("ERR EXEC without MULTI"),
                Some(_) if self.multi_error => {
                    w.unwatch(&mut self.watched);
                    Reply::err("EXECABORT Transaction discarded because of previous errors.")
                }
                Some(q) => {
                    let aborted = !self.watched.keys.is_empty() && w.moved(&self.watched);
                    w.unwatch(&mut self.watched);
                    if aborted {
                        Reply::NilArray
                    } else {
                        let mut replies = Vec::with_capacity(q.len());
                        for c in &q {
                            replies.push(b.run(w, &self.prefix, c)?);
                        }
                        Reply::Array(replies)
                    }
                }
            },
            "watch" => {
                if self.multi.is_some() {
                    Reply::err("ERR WATCH inside MULTI is not allowed")
                } else if a.len() < 2 {
                    arity()
                } else {
                    let prefix = self.prefix.clone();
                    w.watch(&mut self.watched, &prefix, &a[1..]);
                    Reply::ok()
                }
            }
            "unwatch" => {
                w.unwatch(&mut self.watched);
                Reply::ok()
            }
            "hello" => self.hello(sh, a),
            "info" => Reply::Bulk(sh.info().into_bytes()),
            "command" => Reply::Array(vec![]),
            "client" => match a.get(1).map(|s| String::from_utf8_lossy(s).to_ascii_lowercase()) {
                Some(s) if s == "getname" => Reply::Nil,
                Some(s) if s == "id" => Reply::Int(1),
                _ => Reply::ok(),
            },
            "config" => Reply::Map(vec![]),
            "reset" => {
                self.multi = None;
                w.unwatch(&mut self.watched);
                self.prefix = sh.default_prefix.clone();
                self.read_only = false;
                self.authed = false;
                self.proto = 2;
                Reply::Simple("RESET".into())
            }
            _ => db::unknown(a),
        })
    }

    /// HELLO [protover [AUTH user pass] [SETNAME name]]: switches the protocol and authenticates.
    fn hello(&mut self, sh: &Shared, a: &[Vec<u8>]) -> Reply {
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
                    if user.as_slice() != b"default" || !sh.check_token(pass) {
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
}
