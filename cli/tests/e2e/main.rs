//! End-to-end tests: real `leither` processes on loopback, driven through the CLI and raw HTTP.
//! One test binary (ripgrep's layout) with a module per area.
#![allow(clippy::unwrap_used, unreachable_pub)] // a test: a failed unwrap is a failed test

mod harness;
mod probe;

mod app_browser;
mod apps;
mod bad_input;
mod cli_flow;
mod crash;
mod db_api;
mod db_repl;
mod dht_values;
mod disk_full;
mod files;
mod forged_heads;
mod gateway;
mod hardening;
mod hprose;
mod interop_js;
mod ipfs_helia;
mod ipfs_hostile;
mod ipfs_kubo;
mod ipfs_peers;
mod ipfs_reads;
mod lapp;
mod mfile;
mod mimei;
mod mimei_unpublish;
mod network;
mod peer_flood;
mod peer_ids;
mod redis;
mod refs;
mod registration;
mod repo_gc;
mod sim;
mod user_info;
mod users;
