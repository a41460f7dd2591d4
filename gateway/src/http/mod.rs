//! The node's HTTP/1.1 server. One event-loop thread owns the listener and every connection
//! while it is cheap to hold — reading a request head, buffering a body, idle between requests,
//! an open WebSocket, a parked long poll — and a fixed pool of workers runs requests. A slow or
//! silent client therefore holds a socket and a bounded buffer, never a thread; every stage has
//! a deadline and every buffer a limit (`limits::HttpLimits`, docs/architecture.md
//! "HTTP server").

mod conn;
mod drain;
mod event_loop;
pub mod head;
pub mod limits;
mod parker;
mod pool;
pub mod request;
pub mod response;
mod sending;

pub use event_loop::{start, Running};
pub use head::{Head, HeadLimits};
pub use limits::HttpLimits as Limits;
pub use request::Request;
pub use response::{error_response, header, Header, Resp};

use crate::park::Park;
use std::net::SocketAddr;

/// How the event loop takes a request's body, decided from its head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Intake {
    /// Read the whole body (within `max_body_bytes`) before a worker runs the request.
    Buffer,
    /// A worker reads the body from the socket as the method consumes it (bulk uploads).
    Stream,
    /// Upgrade to a WebSocket (RFC 6455); the loop keeps the connection.
    WebSocket,
}

/// What a request is answered with.
pub enum Reply {
    Now(Resp),
    /// A long poll: parked until its answer, then encoded by `finish`.
    Later(Park, Box<dyn FnOnce(serde_json::Value) -> Resp + Send>),
}

/// What a WebSocket message is answered with (the payload of one binary frame).
pub enum WsReply {
    Now(Vec<u8>),
    Later(Park, Box<dyn FnOnce(serde_json::Value) -> Vec<u8> + Send>),
    /// Nothing to send back.
    None,
}

/// What an open WebSocket was opened with.
#[derive(Clone, Debug)]
pub struct WsInfo {
    pub remote: SocketAddr,
    /// The upgrade request carried the node's API token.
    pub auth_ok: bool,
}

/// The application behind the server.
pub trait Service: Send + Sync + 'static {
    fn intake(&self, head: &Head) -> Intake;
    /// Runs one request on a worker.
    fn call(&self, req: &mut Request) -> Reply;
    /// Accepts or refuses a WebSocket upgrade: `Err` is the response to send instead.
    fn ws_open(&self, head: &Head, remote: SocketAddr) -> Result<WsInfo, Resp>;
    /// One message of an open WebSocket, on a worker.
    fn ws_message(&self, info: &WsInfo, msg: &[u8]) -> WsReply;
}
