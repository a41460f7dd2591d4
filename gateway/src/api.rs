//! The method registry: one table of named methods, independent of the wire codec. The JSON
//! codec (`POST /api/<Method>`) lives in `server`; another codec (hprose) decodes its own bytes
//! into the same `Vec<Value>` arguments and calls the same registry.

use crate::park::Polled;
use serde_json::Value;
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
    /// Where the call came from (`None` for the node's own calls).
    pub remote: Option<std::net::IpAddr>,
}

impl Call<'_> {
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
}

/// Who a session id belongs to: the registry asks this before it runs a method.
pub trait SessionLookup: Send + Sync {
    /// Whether `arg` has the form of a session id (so it is taken off the arguments).
    fn is_sid(&self, arg: &str) -> bool;
    /// The session's user, if the session is alive (and marks it used).
    fn user(&self, sid: &str) -> Option<SessionUser>;
}

/// A live session's user.
pub struct SessionUser {
    /// The user id ("" for a guest).
    pub uid: String,
    /// May change the node (the node's own key logged in).
    pub owner: bool,
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
        let takes_sid = matches!(m.name, "Logout");
        if let (false, Some(Value::String(first)), Some(sessions)) = (takes_sid, args.first(), &self.sessions) {
            if sessions.is_sid(first) {
                let s = sessions.user(first).ok_or_else(|| ApiError {
                    status: 401,
                    message: "unknown or expired session: log in again".into(),
                })?;
                may_write |= s.owner;
                user = Some(s.uid);
                args.remove(0);
            }
        }
        if m.write && !may_write {
            return Err(ApiError { status: 401, message: format!("{} changes the node and needs its API token or the owner's session (Login with the node key's passport)", m.name) });
        }
        m.call_parkable(Call { args, query, body, user, may_write, remote: caller.remote })
    }
}

impl Registry {
    pub fn register<F>(&mut self, name: &'static str, write: bool, handler: F)
    where
        F: Fn(Call<'_>) -> Result<Value, ApiError> + Send + Sync + 'static,
    {
        self.insert(Method {
            name,
            write,
            streams_body: false,
            handler: Box::new(move |c| handler(c).map(Polled::Ready)),
        });
    }

    /// A method that may answer later (a long poll): it gives back `Polled::Wait`.
    pub fn register_long_poll<F>(&mut self, name: &'static str, write: bool, handler: F)
    where
        F: Fn(Call<'_>) -> Result<Polled, ApiError> + Send + Sync + 'static,
    {
        self.insert(Method { name, write, streams_body: false, handler: Box::new(handler) });
    }

    /// A method that may receive its payload as a raw request body.
    pub fn register_streaming<F>(&mut self, name: &'static str, write: bool, handler: F)
    where
        F: Fn(Call<'_>) -> Result<Value, ApiError> + Send + Sync + 'static,
    {
        self.insert(Method {
            name,
            write,
            streams_body: true,
            handler: Box::new(move |c| handler(c).map(Polled::Ready)),
        });
    }

    fn insert(&mut self, m: Method) {
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
