//! The leither-rs node on std threads and blocking sockets. It reads the clock and OS entropy,
//! opens the repo and the store, serves HTTP, and executes what the core decides; it makes no
//! protocol decisions of its own.
#![forbid(unsafe_code)]

pub mod net;
pub mod node;

pub use node::{run, NodeError, RunOptions, Started};
