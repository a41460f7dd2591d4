//! Seeded random Redis command sequences over a small keyspace, so that types collide
//! (WRONGTYPE), numbers overflow and ranges go out of bounds. Used by the differential test
//! against a real `redis-server`, the fuzz model and the replication scenarios.

use proto_core::db::Reply;
use proto_core::rng::Rng;

const KEYS: &[&str] = &["k0", "k1", "k2", "k3", "k4", "k5", "user:1", "user:2"];
const FIELDS: &[&str] = &["f0", "f1", "f2", "f3"];
const MEMBERS: &[&str] = &["a", "b", "c", "d", "e"];
const VALUES: &[&str] = &[
    "v",
    "hello",
    "",
    "0",
    "1",
    "-1",
    "42",
    "01",
    "+5",
    " 7",
    "9223372036854775807",
    "-9223372036854775808",
    "3.5",
    "x y",
];
const INTS: &[&str] = &["0", "1", "-1", "2", "-2", "5", "100", "-100", "9223372036854775807", "abc", "1.5", ""];
const SCORES: &[&str] = &["0", "1", "-1", "2.5", "-2.5", "10", "1e3", "inf", "-inf", "+inf", "abc", "1.1", "0.1"];
const BOUNDS: &[&str] = &["-inf", "+inf", "0", "1", "(1", "2.5", "(2.5", "-1", "10", "abc", "("];
const PATTERNS: &[&str] = &["*", "k*", "user:*", "k[0-2]", "?1", "*:?", "[^k]*", "f*", "a", "\\k*"];

/// A generator of commands; the same seed gives the same sequence.
pub struct RedisGen {
    rng: Rng,
}

impl RedisGen {
    pub fn new(rng: Rng) -> Self {
        RedisGen { rng }
    }

    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.rng.below(xs.len() as u64) as usize]
    }

    fn key(&mut self) -> String {
        self.pick(KEYS).into()
    }

    fn some(&mut self, xs: &[&str], min: u64, max: u64) -> Vec<String> {
        let n = min + self.rng.below(max - min + 1);
        (0..n).map(|_| self.pick(xs).to_string()).collect()
    }

    fn idx(&mut self) -> String {
        (self.rng.below(13) as i64 - 6).to_string()
    }

    /// The next command, as its words.
    pub fn next_command(&mut self) -> Vec<String> {
        let mut c: Vec<String> = Vec::new();
        macro_rules! push { ($($e:expr),*) => {{ $( c.push($e.to_string()); )* }} }
        let k = self.key();
        match self.rng.below(76) {
            0..=3 => {
                let v = self.pick(VALUES);
                push!("SET", k, v);
                match self.rng.below(8) {
                    0 => push!("NX"),
                    1 => push!("XX"),
                    2 => push!("EX", self.pick(&["100", "0", "-5", "abc", "1000000"])),
                    3 => push!("PX", "500000", "GET"),
                    4 => push!("GET"),
                    5 => push!("KEEPTTL"),
                    6 => push!("NX", "XX"),
                    _ => {}
                }
            }
            4..=5 => push!("GET", k),
            6 => push!("GETSET", k, self.pick(VALUES)),
            7 => {
                push!("MGET");
                c.extend(self.some(KEYS, 1, 4));
            }
            8 => {
                push!("MSET");
                for _ in 0..1 + self.rng.below(3) {
                    push!(self.key(), self.pick(VALUES));
                }
                if self.rng.chance(0.1) {
                    push!("odd");
                }
            }
            9 => push!("INCR", k),
            10 => push!("DECR", k),
            11 => push!("INCRBY", k, self.pick(INTS)),
            12 => push!("DECRBY", k, self.pick(INTS)),
            13 => push!("APPEND", k, self.pick(VALUES)),
            14 => push!("STRLEN", k),
            15 => {
                push!("DEL");
                c.extend(self.some(KEYS, 1, 3));
            }
            16 => {
                push!("EXISTS");
                c.extend(self.some(KEYS, 1, 3));
            }
            17 => {
                push!(self.pick(&["EXPIRE", "PEXPIRE"]), k, self.pick(&["1000", "100000", "-1", "0", "abc", "5000"]));
                if self.rng.chance(0.3) {
                    push!(self.pick(&["NX", "XX", "GT", "LT", "BAD"]));
                }
            }
            18 => push!(self.pick(&["TTL", "PTTL"]), k),
            19 => push!("PERSIST", k),
            20 => push!("TYPE", k),
            21 => push!("KEYS", self.pick(PATTERNS)),
            22 => {
                push!("SCAN", "0", "COUNT", "1000");
                if self.rng.chance(0.5) {
                    push!("MATCH", self.pick(PATTERNS));
                }
                if self.rng.chance(0.3) {
                    push!("TYPE", self.pick(&["string", "hash", "list", "set", "zset"]));
                }
            }
            23 => push!("RENAME", k, self.key()),
            24 => push!("DBSIZE"),
            25 if self.rng.chance(0.1) => push!("FLUSHDB"),
            26..=28 => {
                push!(self.pick(&["HSET", "HMSET"]), k);
                for _ in 0..1 + self.rng.below(3) {
                    push!(self.pick(FIELDS), self.pick(VALUES));
                }
            }
            29 => push!("HGET", k, self.pick(FIELDS)),
            30 => {
                push!("HMGET", k);
                c.extend(self.some(FIELDS, 1, 3));
            }
            31 => push!(self.pick(&["HGETALL", "HKEYS", "HVALS", "HLEN"]), k),
            32 => {
                push!("HDEL", k);
                c.extend(self.some(FIELDS, 1, 3));
            }
            33 => push!("HEXISTS", k, self.pick(FIELDS)),
            34..=35 => push!("HINCRBY", k, self.pick(FIELDS), self.pick(INTS)),
            36 => {
                push!("HSCAN", k, "0", "COUNT", "1000");
                if self.rng.chance(0.5) {
                    push!("MATCH", self.pick(&["f*", "*1", "x"]));
                }
            }
            37..=39 => {
                push!(self.pick(&["LPUSH", "RPUSH"]), k);
                c.extend(self.some(MEMBERS, 1, 4));
            }
            40..=41 => {
                push!(self.pick(&["LPOP", "RPOP"]), k);
                if self.rng.chance(0.4) {
                    push!(self.pick(&["0", "1", "2", "5", "-1", "x"]));
                }
            }
            42..=43 => push!("LRANGE", k, self.idx(), self.idx()),
            44 => push!("LINDEX", k, self.idx()),
            45 => push!("LLEN", k),
            46 => push!("LSET", k, self.idx(), self.pick(MEMBERS)),
            47 => push!("LREM", k, self.idx(), self.pick(MEMBERS)),
            48 => push!("LTRIM", k, self.idx(), self.idx()),
            49..=51 => {
                push!("SADD", k);
                c.extend(self.some(MEMBERS, 1, 4));
            }
            52 => {
                push!("SREM", k);
                c.extend(self.some(MEMBERS, 1, 3));
            }
            53 => push!(self.pick(&["SMEMBERS", "SCARD"]), k),
            54 => push!("SISMEMBER", k, self.pick(MEMBERS)),
            55 => {
                push!(self.pick(&["SINTER", "SUNION", "SDIFF"]));
                c.extend(self.some(KEYS, 1, 3));
            }
            56 => push!("SSCAN", k, "0", "COUNT", "1000"),
            57..=60 => {
                push!("ZADD", k);
                for o in ["NX", "XX", "GT", "LT", "CH", "INCR"] {
                    if self.rng.chance(0.08) {
                        push!(o);
                    }
                }
                for _ in 0..1 + self.rng.below(3) {
                    push!(self.pick(SCORES), self.pick(MEMBERS));
                }
            }
            61 => {
                push!("ZREM", k);
                c.extend(self.some(MEMBERS, 1, 3));
            }
            62 => push!("ZSCORE", k, self.pick(MEMBERS)),
            63 => push!("ZINCRBY", k, self.pick(SCORES), self.pick(MEMBERS)),
            64 => push!("ZCARD", k),
            65 => push!("ZCOUNT", k, self.pick(BOUNDS), self.pick(BOUNDS)),
            66 => push!(self.pick(&["ZRANK", "ZREVRANK"]), k, self.pick(MEMBERS)),
            67..=68 => {
                push!(self.pick(&["ZRANGE", "ZREVRANGE"]), k, self.idx(), self.idx());
                if self.rng.chance(0.5) {
                    push!("WITHSCORES");
                }
            }
            69 => {
                push!("ZRANGE", k, self.pick(BOUNDS), self.pick(BOUNDS), "BYSCORE");
                if self.rng.chance(0.5) {
                    push!("REV");
                }
                if self.rng.chance(0.5) {
                    push!("LIMIT", self.idx(), self.idx());
                }
                if self.rng.chance(0.5) {
                    push!("WITHSCORES");
                }
            }
            70..=71 => {
                push!(self.pick(&["ZRANGEBYSCORE", "ZREVRANGEBYSCORE"]), k, self.pick(BOUNDS), self.pick(BOUNDS));
                if self.rng.chance(0.5) {
                    push!("WITHSCORES");
                }
                if self.rng.chance(0.4) {
                    push!("LIMIT", self.idx(), self.idx());
                }
            }
            72 => push!("ZREMRANGEBYSCORE", k, self.pick(BOUNDS), self.pick(BOUNDS)),
            73 => {
                // Wrong arity for a random command.
                push!(self.pick(&["GET", "SET", "HGET", "LPUSH", "ZADD", "EXPIRE", "TTL", "SADD", "LRANGE"]));
            }
            74 => push!(self.pick(&["PING", "ECHO"]), "hi"),
            _ => push!("NOSUCHCMD", k, "arg"),
        }
        c
    }
}

// Comparing replies of two servers.

fn sorted(items: Vec<Reply>, pairs: bool) -> Vec<Reply> {
    let key = |r: &Reply| format!("{r:?}");
    if pairs {
        let mut ps: Vec<Vec<Reply>> = items.chunks(2).map(|c| c.to_vec()).collect();
        ps.sort_by_key(|p| p.iter().map(key).collect::<Vec<_>>());
        ps.into_iter().flatten().collect()
    } else {
        let mut items = items;
        items.sort_by_key(key);
        items
    }
}

/// Puts replies whose order Redis does not define into one order.
pub fn normalise(cmd: &str, r: Reply) -> Reply {
    match (cmd, r) {
        (_, Reply::Set(a)) => Reply::Set(sorted(a, false)),
        (_, Reply::Map(mut kv)) => {
            kv.sort_by_key(|(k, v)| format!("{k:?}{v:?}"));
            Reply::Map(kv)
        }
        ("KEYS" | "SMEMBERS" | "SINTER" | "SUNION" | "SDIFF" | "HKEYS" | "HVALS", Reply::Array(a)) => {
            Reply::Array(sorted(a, false))
        }
        ("HGETALL", Reply::Array(a)) => Reply::Array(sorted(a, true)),
        ("SCAN" | "SSCAN" | "HSCAN", Reply::Array(mut a)) if a.len() == 2 => {
            let items = match a.pop() {
                Some(Reply::Array(items)) => items,
                other => return Reply::Array(vec![a.remove(0), other.unwrap_or(Reply::Nil)]),
            };
            Reply::Array(vec![a.remove(0), Reply::Array(sorted(items, cmd == "HSCAN"))])
        }
        (_, r) => r,
    }
}

/// Equal replies; TTLs may differ a little, as the two servers read their clocks a moment apart.
pub fn same(name: &str, t: &Reply, m: &Reply) -> bool {
    t == m
        || match (name, t, m) {
            ("TTL", Reply::Int(a), Reply::Int(b)) => *a >= 0 && *b >= 0 && (a - b).abs() <= 1,
            ("PTTL", Reply::Int(a), Reply::Int(b)) => *a >= 0 && *b >= 0 && (a - b).abs() <= 1000,
            _ => false,
        }
}
