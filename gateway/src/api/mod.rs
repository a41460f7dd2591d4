//! The method registry: one table of named methods, independent of the wire codec. The JSON
//! codec (`POST /api/<Method>`) lives in `server`; another codec (hprose) decodes its own bytes
//! into the same `Vec<Value>` arguments and calls the same registry.

pub mod signatures;

use crate::park::Polled;
use serde_json::Value;
pub use signatures::{signature, Signature};
use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;

/// A method failure, with the HTTP status a codec should use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub message: String,
}

impl ApiError {
    pub fn bad_request(m: impl Into<String>) -> Self {
        ApiError { status: 400, message: m.into() }
    }
    pub fn not_found(m: impl Into<String>) -> Self {
        ApiError { status: 404, message: m.into() }
    }
    pub fn internal(m: impl Into<String>) -> Self {
        ApiError { status: 500, message: m.into() }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// One call: decoded arguments, plus a raw body stream for methods that take bulk data.
pub struct Call<'a> {
    pub args: Vec<Value>,
    pub query: BTreeMap<String, String>,
    pub body: Option<&'a mut dyn Read>,
    /// The user of the session the call came with ("" for a guest; `None` without a session).
    pub user: Option<String>,
    /// The caller may change the node (API token or the owner's session).
    pub may_write: bool,
    /// The session user's public key (a logged-in user, not a guest).
    pub user_pk: Option<[u8; 32]>,
    /// Where the call came from (`None` for the node's own calls).
    pub remote: Option<std::net::IpAddr>,
    /// The session id the call came with ("" or `None`: none).
    pub sid: Option<String>,
    /// The method's calling convention: `arg` finds arguments by name through it.
    pub sig: &'static Signature,
}

impl Call<'_> {
    /// An argument by its name in the method's signature.
    pub fn arg(&self, name: &str) -> Option<&Value> {
        self.sig.position(name).and_then(|i| self.args.get(i))
    }

    /// A string argument by name (an error names it when it is missing or not a string).
    pub fn str(&self, name: &str) -> Result<&str, ApiError> {
        let i = self.sig.position(name).unwrap_or_else(|| panic!("{} has no argument {name}", self.sig.name));
        self.str_arg(i, name)
    }

    /// The arguments from `name` on (a `...` parameter).
    pub fn rest(&self, name: &str) -> &[Value] {
        let i = self.sig.position(name).unwrap_or(self.args.len());
        self.args.get(i..).unwrap_or(&[])
    }

    pub fn str_arg(&self, i: usize, what: &str) -> Result<&str, ApiError> {
        match self.args.get(i) {
            Some(Value::String(s)) => Ok(s),
            Some(_) => Err(ApiError::bad_request(format!("argument {} ({what}) must be a string", i + 1))),
            None => Err(ApiError::bad_request(format!("missing argument {} ({what})", i + 1))),
        }
    }

    /// An optional object argument (options), or an empty map.
    pub fn opts(&self, i: usize) -> Result<serde_json::Map<String, Value>, ApiError> {
        match self.args.get(i) {
            None | Some(Value::Null) => Ok(Default::default()),
            Some(Value::Object(m)) => Ok(m.clone()),
            Some(_) => Err(ApiError::bad_request(format!("argument {} (options) must be an object", i + 1))),
        }
    }
}

type Handler = Box<dyn Fn(Call<'_>) -> Result<Polled, ApiError> + Send + Sync>;

pub struct Method {
    pub name: &'static str,
    /// Its calling convention (`signatures::SIGNATURES`).
    pub sig: &'static Signature,
    /// Needs the node's token (or, later, a session with write rights).
    pub write: bool,
    /// Takes a raw body instead of JSON arguments when the request is `application/octet-stream`.
    pub streams_body: bool,
    handler: Handler,
}

impl Method {
    /// Runs the method; a long poll blocks this thread until its answer.
    pub fn call(&self, call: Call<'_>) -> Result<Value, ApiError> {
        match (self.handler)(call)? {
            Polled::Ready(v) => Ok(v),
            Polled::Wait(p) => Ok(p.wait()),
        }
    }

    /// Runs the method; a long poll comes back parked.
    pub fn call_parkable(&self, call: Call<'_>) -> Result<Polled, ApiError> {
        (self.handler)(call)
    }
}

/// Methods by name; lookups ignore case, as hprose does.
#[derive(Default)]
pub struct Registry {
    methods: BTreeMap<String, Method>,
    /// Login sessions, when the node has them.
    pub sessions: Option<std::sync::Arc<dyn SessionLookup>>,
    /// Files opened by the MiMei file API, when the node has them (`/mf`).
    pub files: Option<std::sync::Arc<dyn OpenFiles>>,
}

/// Open files by their fsid: the content an fsid names (a CID and its name), for `/mf`.
pub trait OpenFiles: Send + Sync {
    fn content(&self, fsid: &str) -> Option<(proto_core::cid::Cid, String)>;
}

/// Who a session id belongs to: the registry asks this before it runs a method.
pub trait SessionLookup: Send + Sync {
    /// The session's user, if the session is alive (and marks it used).
    fn user(&self, sid: &str) -> Option<SessionUser>;
}

/// A live session's user.
pub struct SessionUser {
    /// The user id ("" for a guest).
    pub uid: String,
    /// May change the node (the node's own key logged in).
    pub owner: bool,
    /// The user's public key (`None` for a guest).
    pub pk: Option<[u8; 32]>,
}

/// Who is calling, as far as the codec could tell.
pub struct Caller {
    /// The request carried the node's API token.
    pub token: bool,
    /// Where the request came from (`None` for the node's own calls): rate limits count by it.
    pub remote: Option<std::net::IpAddr>,
}

impl Caller {
    /// The node itself (background work, internal dispatch): the token's rights, no address.
    pub fn node() -> Caller {
        Caller { token: true, remote: None }
    }
}

impl Registry {
    /// Runs a method for a codec: takes a leading session id off the arguments (the original
    /// API's convention), then checks that the caller may run the method.
    pub fn dispatch(
        &self,
        name: &str,
        args: Vec<Value>,
        caller: &Caller,
        body: Option<&mut dyn Read>,
        query: BTreeMap<String, String>,
    ) -> Result<Value, ApiError> {
        match self.dispatch_parkable(name, args, caller, body, query)? {
            Polled::Ready(v) => Ok(v),
            Polled::Wait(p) => Ok(p.wait()),
        }
    }

    /// `dispatch` for a codec that parks long polls instead of blocking a thread on them.
    pub fn dispatch_parkable(
        &self,
        name: &str,
        mut args: Vec<Value>,
        caller: &Caller,
        body: Option<&mut dyn Read>,
        query: BTreeMap<String, String>,
    ) -> Result<Polled, ApiError> {
        let Some(m) = self.get(name) else {
            return Err(ApiError::not_found(format!("Can't find this function {name}().")));
        };
        let mut may_write = caller.token;
        let mut user = None;
        let mut sid = None;
        let mut user_pk = None;
        // The signature says whether the first argument is a session id: "" (or none) is a guest.
        if m.sig.sid && !args.is_empty() {
            let first = match args.remove(0) {
                Value::String(s) => s,
                Value::Null => String::new(),
                _ => {
                    return Err(ApiError::bad_request(format!(
                        "argument 1 of {} is the session id: give a string (\"\" for a guest)",
                        m.name
                    )))
                }
            };
            if !first.is_empty() {
                let s = self.session(&first).map_err(|e| ApiError {
                    message: format!(
                        "{} (argument 1 of {} is the session id; give \"\" for a guest)",
                        e.message, m.name
                    ),
                    ..e
                })?;
                may_write |= s.owner;
                user = Some(s.uid);
                user_pk = s.pk;
                sid = Some(first);
            }
        }
        if m.write && !may_write && !(m.sig.users && user_pk.is_some()) {
            let who = if m.sig.users { "a logged-in user's session (for the user's own MiMeis), " } else { "" };
            return Err(ApiError {
                status: 401,
                message: format!(
                    "{} changes the node and needs its API token, {who}or the owner's session (Login with the node key's passport)",
                    m.name
                ),
            });
        }
        m.call_parkable(Call { args, query, body, user, may_write, user_pk, remote: caller.remote, sid, sig: m.sig })
    }
}

impl Registry {
    /// The live session `sid`, or 401.
    pub fn session(&self, sid: &str) -> Result<SessionUser, ApiError> {
        self.sessions
            .as_ref()
            .and_then(|l| l.user(sid))
            .ok_or_else(|| ApiError { status: 401, message: "unknown or expired session: log in again".into() })
    }

    pub fn register<F>(&mut self, name: &'static str, write: bool, handler: F)
    where
        F: Fn(Call<'_>) -> Result<Value, ApiError> + Send + Sync + 'static,
    {
        self.insert(answering(name, declared(name), write, false, handler));
    }

    /// A Redis-named method on an mmsid (`Set(mmsid, key, value)`): no session id.
    pub fn register_on_mmsid<F>(&mut self, name: &'static str, handler: F)
    where
        F: Fn(Call<'_>) -> Result<Value, ApiError> + Send + Sync + 'static,
    {
        self.insert(answering(name, &signatures::DB_METHOD, false, false, handler));
    }

    /// A method that may answer later (a long poll): it gives back `Polled::Wait`.
    pub fn register_long_poll<F>(&mut self, name: &'static str, write: bool, handler: F)
    where
        F: Fn(Call<'_>) -> Result<Polled, ApiError> + Send + Sync + 'static,
    {
        self.insert(Method { name, sig: declared(name), write, streams_body: false, handler: Box::new(handler) });
    }

    /// A method that may receive its payload as a raw request body.
    pub fn register_streaming<F>(&mut self, name: &'static str, write: bool, handler: F)
    where
        F: Fn(Call<'_>) -> Result<Value, ApiError> + Send + Sync + 'static,
    {
        self.insert(answering(name, declared(name), write, true, handler));
    }

    fn insert(&mut self, m: Method) {
        assert!(
            std::ptr::eq(m.sig, &signatures::DB_METHOD) || m.sig.name == m.name,
            "method {} is declared as {}",
            m.name,
            m.sig.name
        );
        let key = m.name.to_ascii_lowercase();
        assert!(!self.methods.contains_key(&key), "method {} registered twice", m.name);
        self.methods.insert(key, m);
    }

    pub fn get(&self, name: &str) -> Option<&Method> {
        self.methods.get(&name.to_ascii_lowercase())
    }

    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.methods.values().map(|m| m.name)
    }
}

/// A method that answers at once.
fn answering<F>(name: &'static str, sig: &'static Signature, write: bool, streams_body: bool, handler: F) -> Method
where
    F: Fn(Call<'_>) -> Result<Value, ApiError> + Send + Sync + 'static,
{
    Method { name, sig, write, streams_body, handler: Box::new(move |c| handler(c).map(Polled::Ready)) }
}

/// A method's declared signature; every method must be in the table.
fn declared(name: &str) -> &'static Signature {
    signature(name).unwrap_or_else(|| panic!("method {name} has no signature in api::signatures::SIGNATURES"))
}
