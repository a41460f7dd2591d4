//! The node's database service: an event loop that serves the RESP (Redis protocol) endpoint
//! and the API's database calls over the LMDB database store, with group commit.

pub mod conn;
pub mod engine;
pub mod repl;
pub mod server;

pub use engine::prefix;
pub use server::{DbOptions, DbService};
