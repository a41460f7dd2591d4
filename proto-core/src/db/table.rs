//! The command table: name, arity (Redis's convention: n = exactly n words, -n = at least n),
//! access, and where the keys are (for WATCH).

use super::{cmd_hash as h, cmd_keys as k, cmd_list as l, cmd_set as s, cmd_string as st, cmd_zset as z};
use super::{Ctx, Read, Reply, Write, R};

pub(super) type ReadFn = fn(&dyn Read, &Ctx, &[Vec<u8>]) -> R;
pub(super) type WriteFn = fn(&mut dyn Write, &Ctx, &[Vec<u8>]) -> R;

#[derive(Clone, Copy)]
pub enum Kind {
    Read(ReadFn),
    Write(WriteFn),
}

#[derive(Clone, Copy)]
pub struct Command {
    pub name: &'static str,
    pub arity: i32,
    pub kind: Kind,
    /// Positions of the keys: first, last (negative counts from the end), step. first = 0: none.
    pub keys: (i32, i32, i32),
}

impl Command {
    pub fn is_write(&self) -> bool {
        matches!(self.kind, Kind::Write(_))
    }

    /// The wrong-arity reply, if the argument count does not fit.
    pub fn check_arity(&self, args: &[Vec<u8>]) -> Option<Reply> {
        let n = args.len() as i32;
        let ok = if self.arity >= 0 { n == self.arity } else { n >= -self.arity };
        (!ok).then(|| Reply::err(format!("ERR wrong number of arguments for '{}' command", self.name)))
    }

    /// The key arguments of a call (for WATCH and replication bookkeeping).
    pub fn key_args<'a>(&self, args: &'a [Vec<u8>]) -> Vec<&'a [u8]> {
        let (first, last, step) = self.keys;
        if first == 0 {
            return Vec::new();
        }
        let n = args.len() as i32;
        let last = if last < 0 { n + last } else { last.min(n - 1) };
        let mut out = Vec::new();
        let mut i = first;
        while i <= last && i < n {
            out.push(args[i as usize].as_slice());
            i += step.max(1);
        }
        out
    }
}

const fn r(name: &'static str, arity: i32, f: ReadFn, keys: (i32, i32, i32)) -> Command {
    Command { name, arity, kind: Kind::Read(f), keys }
}
const fn w(name: &'static str, arity: i32, f: WriteFn, keys: (i32, i32, i32)) -> Command {
    Command { name, arity, kind: Kind::Write(f), keys }
}

const ONE: (i32, i32, i32) = (1, 1, 1);
const ALL: (i32, i32, i32) = (1, -1, 1);
const NONE: (i32, i32, i32) = (0, 0, 0);

pub(super) static COMMANDS: &[Command] = &[
    // strings
    w("set", -3, st::set, ONE),
    r("get", 2, st::get, ONE),
    w("getset", 3, st::getset, ONE),
    r("mget", -2, st::mget, ALL),
    w("mset", -3, st::mset, (1, -1, 2)),
    w("incr", 2, st::incr, ONE),
    w("decr", 2, st::decr, ONE),
    w("incrby", 3, st::incrby, ONE),
    w("decrby", 3, st::decrby, ONE),
    w("append", 3, st::append, ONE),
    r("strlen", 2, st::strlen, ONE),
    // keys
    w("del", -2, k::del, ALL),
    r("exists", -2, k::exists, ALL),
    w("expire", -3, k::expire, ONE),
    w("pexpire", -3, k::pexpire, ONE),
    r("ttl", 2, k::ttl, ONE),
    r("pttl", 2, k::pttl, ONE),
    w("persist", 2, k::persist, ONE),
    r("type", 2, k::type_, ONE),
    r("keys", 2, k::keys, NONE),
    r("scan", -2, k::scan, NONE),
    w("rename", 3, k::rename, (1, 2, 1)),
    r("dbsize", 1, k::dbsize, NONE),
    w("flushdb", -1, k::flushdb, NONE),
    r("ping", -1, k::ping, NONE),
    r("echo", 2, k::echo, NONE),
    // hashes
    w("hset", -4, h::hset, ONE),
    w("hmset", -4, h::hmset, ONE),
    r("hget", 3, h::hget, ONE),
    r("hmget", -3, h::hmget, ONE),
    r("hgetall", 2, h::hgetall, ONE),
    r("hkeys", 2, h::hkeys, ONE),
    r("hvals", 2, h::hvals, ONE),
    r("hlen", 2, h::hlen, ONE),
    w("hdel", -3, h::hdel, ONE),
    r("hexists", 3, h::hexists, ONE),
    w("hincrby", 4, h::hincrby, ONE),
    r("hscan", -3, h::hscan, ONE),
    // lists
    w("lpush", -3, l::lpush, ONE),
    w("rpush", -3, l::rpush, ONE),
    w("lpop", -2, l::lpop, ONE),
    w("rpop", -2, l::rpop, ONE),
    r("lrange", 4, l::lrange, ONE),
    r("lindex", 3, l::lindex, ONE),
    r("llen", 2, l::llen, ONE),
    w("lset", 4, l::lset, ONE),
    w("lrem", 4, l::lrem, ONE),
    w("ltrim", 4, l::ltrim, ONE),
    // sets
    w("sadd", -3, s::sadd, ONE),
    w("srem", -3, s::srem, ONE),
    r("smembers", 2, s::smembers, ONE),
    r("sismember", 3, s::sismember, ONE),
    r("scard", 2, s::scard, ONE),
    r("sinter", -2, s::sinter, ALL),
    r("sunion", -2, s::sunion, ALL),
    r("sdiff", -2, s::sdiff, ALL),
    r("sscan", -3, s::sscan, ONE),
    // sorted sets
    w("zadd", -4, z::zadd, ONE),
    w("zrem", -3, z::zrem, ONE),
    r("zscore", 3, z::zscore, ONE),
    w("zincrby", 4, z::zincrby, ONE),
    r("zcard", 2, z::zcard, ONE),
    r("zcount", 4, z::zcount, ONE),
    r("zrank", 3, z::zrank, ONE),
    r("zrevrank", 3, z::zrevrank, ONE),
    r("zrange", -4, z::zrange, ONE),
    r("zrevrange", -4, z::zrevrange, ONE),
    r("zrangebyscore", -4, z::zrangebyscore, ONE),
    r("zrevrangebyscore", -4, z::zrevrangebyscore, ONE),
    w("zremrangebyscore", 4, z::zremrangebyscore, ONE),
];

/// Finds a command by name, case-insensitively.
pub fn lookup(name: &[u8]) -> Option<&'static Command> {
    if name.len() > 16 {
        return None;
    }
    let mut lower = [0u8; 16];
    for (d, s) in lower.iter_mut().zip(name) {
        *d = s.to_ascii_lowercase();
    }
    let lower = &lower[..name.len()];
    COMMANDS.iter().find(|c| c.name.len() == lower.len() && c.name.as_bytes() == lower)
}
