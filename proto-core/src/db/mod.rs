//! The MiMei database: Redis commands as pure functions over an ordered key-value transaction
//! (DESIGN.md §8). Time comes in as `Ctx::now_ms`; the runtime chooses the transaction (an LMDB
//! write transaction with group commit, a read snapshot, or memory in the simulator).

pub mod check;
pub mod glob;
pub mod keyspace;
pub mod num;
pub mod repl;
pub mod resp;
pub mod snapshot;
pub mod subs;
pub mod txn;

mod cmd_hash;
mod cmd_keys;
mod cmd_list;
mod cmd_set;
mod cmd_string;
mod cmd_zset;
mod table;

pub use resp::Reply;
pub use table::{lookup, Command, Kind};
pub use txn::{Fault, Read, Write};

use keyspace::{read_meta, write_meta, Meta, Type};

/// What a command needs besides its arguments.
#[derive(Clone, Copy, Debug)]
pub struct Ctx {
    /// Unix milliseconds, for expiry.
    pub now_ms: u64,
}

/// How a command ends early: with an error reply (nothing written by it) or a storage fault.
#[derive(Debug)]
pub enum E {
    Reply(Reply),
    Fault(Fault),
}

impl From<Fault> for E {
    fn from(f: Fault) -> E {
        E::Fault(f)
    }
}

pub type R = Result<Reply, E>;

pub const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
pub const NOT_INT: &str = "ERR value is not an integer or out of range";
pub const NOT_FLOAT: &str = "ERR value is not a valid float";
pub const SYNTAX: &str = "ERR syntax error";
pub const OVERFLOW: &str = "ERR increment or decrement would overflow";
pub const NO_KEY: &str = "ERR no such key";

pub(crate) fn fail<T>(text: &str) -> Result<T, E> {
    Err(E::Reply(Reply::err(text)))
}

pub(crate) fn int_arg(b: &[u8]) -> Result<i64, E> {
    num::parse_i64(b).map_or_else(|| fail(NOT_INT), Ok)
}

pub(crate) fn float_arg(b: &[u8]) -> Result<f64, E> {
    num::parse_f64(b).map_or_else(|| fail(NOT_FLOAT), Ok)
}

pub(crate) fn eq_ic(a: &[u8], b: &str) -> bool {
    a.eq_ignore_ascii_case(b.as_bytes())
}

/// The live meta of `key` if it holds `ty`; WRONGTYPE if it holds something else.
pub(crate) fn typed(txn: &dyn Read, cx: &Ctx, key: &[u8], ty: Type) -> Result<Option<Meta>, E> {
    match read_meta(txn, key, cx.now_ms)? {
        Some(m) if m.ty != ty => fail(WRONGTYPE),
        m => Ok(m),
    }
}

/// As `typed`, for a write: an expired key is removed first.
pub(crate) fn typed_w(txn: &mut dyn Write, cx: &Ctx, key: &[u8], ty: Type) -> Result<Option<Meta>, E> {
    match write_meta(txn, key, cx.now_ms)? {
        Some(m) if m.ty != ty => fail(WRONGTYPE),
        m => Ok(m),
    }
}

/// Runs a read-only command in a snapshot. `args[0]` is the command name.
pub fn run_read(txn: &dyn Read, cx: &Ctx, args: &[Vec<u8>]) -> Result<Reply, Fault> {
    let Some(cmd) = lookup(&args[0]) else { return Ok(unknown(args)) };
    if let Some(e) = cmd.check_arity(args) {
        return Ok(e);
    }
    finish(match cmd.kind {
        Kind::Read(f) => f(txn, cx, args),
        Kind::Write(_) => Ok(Reply::err("ERR write command in a read-only context")),
    })
}

/// Runs any command in a write transaction. `args[0]` is the command name.
pub fn run_write(txn: &mut dyn Write, cx: &Ctx, args: &[Vec<u8>]) -> Result<Reply, Fault> {
    let Some(cmd) = lookup(&args[0]) else { return Ok(unknown(args)) };
    if let Some(e) = cmd.check_arity(args) {
        return Ok(e);
    }
    finish(match cmd.kind {
        Kind::Read(f) => f(txn, cx, args),
        Kind::Write(f) => f(txn, cx, args),
    })
}

fn finish(r: R) -> Result<Reply, Fault> {
    match r {
        Ok(r) => Ok(r),
        Err(E::Reply(r)) => Ok(r),
        Err(E::Fault(f)) => Err(f),
    }
}

/// Redis's reply to a command it does not know.
pub fn unknown(args: &[Vec<u8>]) -> Reply {
    let name = String::from_utf8_lossy(&args[0]);
    let mut rest = String::new();
    for a in &args[1..] {
        if rest.len() >= 128 {
            break;
        }
        let a = String::from_utf8_lossy(a);
        let room = 128 - rest.len();
        rest.push_str(&format!("'{}' ", a.chars().take(room).collect::<String>()));
    }
    let name: String = name.chars().take(128).collect();
    Reply::err(format!("ERR unknown command '{name}', with args beginning with: {rest}"))
}

#[cfg(test)]
mod tests;
