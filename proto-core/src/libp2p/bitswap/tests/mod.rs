//! Tests of the bitswap machine: the engine's replies to hand-built messages, and whole fetches
//! between machines wired back to back by [`net::Net`].

mod client;
mod net;
mod server;
