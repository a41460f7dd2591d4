//! The API methods, one file or folder per family, with the original system's names and
//! argument order. `node::registry` puts them together.

pub mod access;
pub mod db;
pub mod dht_values;
pub mod files;
pub mod hash_gate;
pub mod ipfs;
pub mod ipfs_dag;
pub mod ipfs_net;
pub mod mailbox;
pub mod mfile;
pub mod mimei;
pub mod net;
pub mod node;
pub mod repo;
pub mod session;
pub mod users;
pub mod vars;
