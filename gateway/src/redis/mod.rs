//! The node's database service: the group-commit engine over the LMDB database store and the
//! RESP (Redis protocol) endpoint.

pub mod conn;
pub mod engine;
pub mod server;

pub use engine::{prefix, Engine};
pub use server::RespServer;
