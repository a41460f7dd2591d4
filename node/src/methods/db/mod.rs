//! The database API with the original's names: `MMOpen` gives an mmsid for a DB MiMei version,
//! then `Set`, `Get`, `Hset`, `Zadd`, … run on it (each a Redis command underneath), `Begin` /
//! `Commit` / `Rollback` make optimistic transactions, `MMBackup` snapshots `cur` into a numbered
//! version, `MMSum` / `MMDump` digest and dump a version, and `MMCommand` runs any Redis command
//! (the CLI's `mimei db`).

mod backup;
mod inspect;
mod messages;
mod sessions;

use crate::db::server::{Done, Work};
use crate::db::{prefix, DbService};
use crate::methods::mailbox::{queue_of, Mailbox};
use crate::methods::mimei::mid_arg;
use crate::Backend;
use gateway::api::{ApiError, Call, Registry};
use proto_core::db::{self, snapshot, Reply};
use proto_core::mimei::{Kind, Mid, Mimei};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Most open mmsids kept; the least recently used go first.
const MAX_OPEN: usize = 10_000;

struct Tx {
    cmds: Vec<Vec<Vec<u8>>>,
    watched: crate::db::engine::Watched,
    deadline: Instant,
}

struct Open {
    prefix: Vec<u8>,
    writable: bool,
    tx: Option<Tx>,
    used: Instant,
}

struct DbApi<B> {
    mail: Arc<Mailbox>,
    store: Arc<B>,
    /// Who may change which MiMei, and this node's key.
    users: Arc<crate::methods::users::Users>,
    db: Arc<DbService>,
    open: Mutex<HashMap<String, Open>>,
    entropy: fn() -> [u8; 32],
    /// Where `MMOpen` of a file MiMei goes.
    files: Option<Arc<crate::methods::mfile::FileSessions<B>>>,
}

fn bad(m: impl Into<String>) -> ApiError {
    ApiError::bad_request(m.into())
}

fn fault(f: db::Fault) -> ApiError {
    ApiError::internal(f.0)
}

/// Marks a stored value as a JSON map or list written through the API, so it reads back as one
/// (the original's values are dynamic: tables round-trip as maps). Redis clients see the bytes.
const JSON_MARK: u8 = 0x1e;

/// A JSON argument as the bytes a command gets: strings as they are, numbers in decimal, maps
/// and lists as marked JSON text.
fn word(v: &Value) -> Vec<u8> {
    match v {
        Value::String(s) => s.clone().into_bytes(),
        Value::Null => Vec::new(),
        Value::Bool(b) => {
            if *b {
                b"1".to_vec()
            } else {
                b"0".to_vec()
            }
        }
        Value::Number(n) => n.to_string().into_bytes(),
        other => [vec![JSON_MARK], other.to_string().into_bytes()].concat(),
    }
}

fn text(b: Vec<u8>) -> Value {
    if b.first() == Some(&JSON_MARK) {
        if let Ok(v) = serde_json::from_slice(&b[1..]) {
            return v;
        }
    }
    match String::from_utf8(b) {
        Ok(s) => Value::String(s),
        Err(e) => Value::Array(e.into_bytes().into_iter().map(Value::from).collect()),
    }
}

/// A reply as JSON; an error reply becomes the call's error.
fn to_json(r: Reply) -> Result<Value, ApiError> {
    Ok(match r {
        Reply::Error(e) => return Err(bad(e)),
        Reply::Simple(s) => Value::String(s),
        Reply::Int(n) => json!(n),
        Reply::Bulk(b) => text(b),
        Reply::Nil | Reply::NilArray => Value::Null,
        Reply::Double(d) if d.is_finite() => json!(d),
        Reply::Double(d) => Value::String(db::num::fmt_f64(d)),
        Reply::Array(a) | Reply::Set(a) => Value::Array(a.into_iter().map(to_json).collect::<Result<_, _>>()?),
        Reply::Bulks { bytes, ends } => {
            let mut start = 0;
            let mut out = Vec::with_capacity(ends.len());
            for e in ends {
                out.push(text(bytes[start..e as usize].to_vec()));
                start = e as usize;
            }
            Value::Array(out)
        }
        Reply::Map(kv) => Value::Array(
            kv.into_iter()
                .map(|(k, v)| Ok(json!({"field": to_json(k)?, "value": to_json(v)?})))
                .collect::<Result<_, ApiError>>()?,
        ),
        Reply::Pairs(kv) => Value::Array(
            kv.into_iter()
                .map(|(m, s)| Ok(json!({"member": to_json(m)?, "score": to_json(s)?})))
                .collect::<Result<_, ApiError>>()?,
        ),
    })
}

/// `[{field, value}…]` / `[{member, score}…]` or flat pairs, as flat words.
fn pairs(args: &[Value], a: &str, b: &str) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for v in args {
        match v {
            Value::Object(o) => {
                let get = |k: &str| {
                    o.iter().find(|(n, _)| n.eq_ignore_ascii_case(k)).map(|(_, v)| word(v)).unwrap_or_default()
                };
                out.push(get(a));
                out.push(get(b));
            }
            Value::Array(inner) => out.extend(inner.iter().map(word)),
            other => out.push(word(other)),
        }
    }
    out
}

impl<B: Backend> DbApi<B> {
    fn mimei(&self, mid: &Mid) -> Result<Mimei, ApiError> {
        let m = self
            .store
            .get_mimei(mid)
            .map_err(ApiError::internal)?
            .ok_or_else(|| bad(format!("unknown MiMei {mid}")))?;
        if m.head.info.kind != Kind::Db {
            return Err(bad(format!("MiMei {mid} holds a file, not a database")));
        }
        Ok(m)
    }

    /// The keyspace of a version name, and whether it may be written (`cur` of a MiMei this
    /// node authors; a copy of someone else's is a read-only replica). Numbered versions are
    /// loaded from their snapshot once.
    fn version_prefix(&self, mid: &Mid, ver: &str) -> Result<(Vec<u8>, bool), ApiError> {
        let m = self.mimei(mid)?;
        if ver.is_empty() || ver == "cur" {
            return Ok((prefix(mid, 0), m.is_home(&self.users.keyring.node_pk())));
        }
        let n = m.resolve(ver).map_err(|e| bad(e.to_string()))?;
        let n32 = u32::try_from(n).map_err(|_| bad(format!("version {n} is out of range")))?;
        let p = prefix(mid, n32);
        let marker = [b"dbver/".as_slice(), &p].concat();
        if self.store.kv_get(&marker).map_err(ApiError::internal)?.is_none() {
            let cid = m.cid_of(&n.to_string()).map_err(|e| bad(e.to_string()))?;
            let bytes = proto_core::unixfs::read::read_all(&*self.store, &cid, 1 << 34)
                .map_err(|e| bad(format!("version {n}'s snapshot {cid} is not here: {e}")))?;
            let entries = snapshot::decode(&bytes).map_err(|e| bad(format!("version {n}'s snapshot: {}", e.0)))?;
            self.db.work(&p, Work::Load(entries)).map_err(fault)?;
            self.store.kv_put(&marker, Some(b"1")).map_err(ApiError::internal)?;
        }
        Ok((p, false))
    }

    fn open(&self, call: &Call<'_>) -> Result<Value, ApiError> {
        use proto_core::mimei::rights::{allows, WRITE};
        let mid = mid_arg(call)?;
        let ver = call.args.get(1).and_then(Value::as_str).unwrap_or("cur");
        if let Some(files) = &self.files {
            let any = self.store.get_mimei(&mid).map_err(ApiError::internal)?;
            if let Some(m) = any.filter(|m| m.head.info.kind == Kind::File) {
                return files.open_mimei(call, &m, ver);
            }
        }
        let m = self.mimei(&mid)?;
        let (word, role) = crate::methods::access::readable(call, &m)?;
        let (p, writable) = self.version_prefix(&mid, ver)?;
        let is_cur = writable && allows(word, role, WRITE);
        let id: String = (self.entropy)()[..16].iter().map(|b| format!("{b:02x}")).collect();
        let mut open = self.open.lock().map_err(|_| ApiError::internal("lock"))?;
        if open.len() >= MAX_OPEN {
            if let Some(oldest) = open.iter().min_by_key(|(_, o)| o.used).map(|(k, _)| k.clone()) {
                open.remove(&oldest);
            }
        }
        open.insert(id.clone(), Open { prefix: p, writable: is_cur, tx: None, used: Instant::now() });
        Ok(Value::String(id))
    }

    /// Runs one Redis command on an mmsid (inside its transaction, if one is open).
    fn exec(&self, mmsid: &str, args: Vec<Vec<u8>>) -> Result<Value, ApiError> {
        let is_write = db::lookup(&args[0]).is_some_and(|c| c.is_write());
        let (p, tx) = {
            let mut open = self.open.lock().map_err(|_| ApiError::internal("lock"))?;
            let o =
                open.get_mut(mmsid).ok_or_else(|| bad(format!("unknown or closed mmsid \"{mmsid}\": call MMOpen")))?;
            o.used = Instant::now();
            if is_write && !o.writable {
                return Err(ApiError {
                    status: 401,
                    message: "this mmsid is read-only (open version cur with the node's token or the owner's session)"
                        .into(),
                });
            }
            if o.tx.as_ref().is_some_and(|t| Instant::now() > t.deadline) {
                let t = o.tx.take();
                drop(open);
                if let Some(t) = t {
                    let _ = self.db.work(&[], Work::Unwatch(t.watched));
                }
                return Err(bad("the transaction timed out and was rolled back"));
            }
            let tx = o.tx.as_mut().map(|t| {
                t.cmds.push(args.clone());
                (t.cmds.clone(), t.watched.clone())
            });
            (o.prefix.clone(), tx)
        };
        match tx {
            None => {
                let r = if is_write {
                    self.db.submit(&p, vec![args]).map_err(fault)?
                } else {
                    self.db.work(&p, Work::Run(vec![args])).map_err(fault)?.replies
                };
                to_json(r.into_iter().next().unwrap_or(Reply::Nil))
            }
            Some((cmds, watched)) => {
                let Done { replies, watched, .. } = self.db.work(&p, Work::Probe(cmds, watched)).map_err(fault)?;
                if let Ok(mut open) = self.open.lock() {
                    if let Some(t) = open.get_mut(mmsid).and_then(|o| o.tx.as_mut()) {
                        t.watched = watched;
                    }
                }
                let last = replies.into_iter().last().unwrap_or(Reply::Nil);
                if last.is_error() {
                    // A refused command is not part of the transaction.
                    if let Ok(mut open) = self.open.lock() {
                        if let Some(t) = open.get_mut(mmsid).and_then(|o| o.tx.as_mut()) {
                            t.cmds.pop();
                        }
                    }
                }
                to_json(last)
            }
        }
    }

    fn begin(&self, mmsid: &str, timeout_s: u64) -> Result<Value, ApiError> {
        let mut open = self.open.lock().map_err(|_| ApiError::internal("lock"))?;
        let o = open.get_mut(mmsid).ok_or_else(|| bad(format!("unknown or closed mmsid \"{mmsid}\"")))?;
        if o.tx.is_some() {
            return Err(bad("a transaction is already open on this mmsid"));
        }
        let secs = if timeout_s == 0 { 60 } else { timeout_s.min(3600) };
        o.tx = Some(Tx {
            cmds: Vec::new(),
            watched: Default::default(),
            deadline: Instant::now() + Duration::from_secs(secs),
        });
        Ok(Value::Null)
    }

    fn end(&self, mmsid: &str, commit: bool) -> Result<Value, ApiError> {
        let (p, t) = {
            let mut open = self.open.lock().map_err(|_| ApiError::internal("lock"))?;
            let o = open.get_mut(mmsid).ok_or_else(|| bad(format!("unknown or closed mmsid \"{mmsid}\"")))?;
            let t = o.tx.take().ok_or_else(|| bad("no transaction is open on this mmsid (call Begin)"))?;
            (o.prefix.clone(), t)
        };
        if !commit {
            self.db.work(&p, Work::Unwatch(t.watched)).map_err(fault)?;
            return Ok(Value::Null);
        }
        if Instant::now() > t.deadline {
            self.db.work(&p, Work::Unwatch(t.watched)).map_err(fault)?;
            return Err(bad("the transaction timed out and was rolled back"));
        }
        let done = self.db.work(&p, Work::Commit(t.cmds, t.watched)).map_err(fault)?;
        if done.aborted {
            return Err(ApiError {
                status: 409,
                message: "commit conflict: another writer changed keys this transaction used; retry it".into(),
            });
        }
        Ok(Value::Null)
    }
}

/// How an API method maps onto a Redis command.
#[derive(Clone, Copy)]
enum Shape {
    /// Arguments in order.
    Plain,
    /// key, then field/value pairs (objects or flat).
    FieldValues,
    /// key, then score/member pairs (objects or flat).
    ScoreMembers,
    /// key start stop → WITHSCORES.
    WithScores,
    /// key min max [offset count] → WITHSCORES LIMIT.
    ByScore,
}

const METHODS: &[(&str, &str, Shape)] = &[
    ("Set", "SET", Shape::Plain),
    ("Get", "GET", Shape::Plain),
    ("Del", "DEL", Shape::Plain),
    ("Exists", "EXISTS", Shape::Plain),
    ("Incr", "INCR", Shape::Plain),
    ("IncrBy", "INCRBY", Shape::Plain),
    ("Decr", "DECR", Shape::Plain),
    ("DecrBy", "DECRBY", Shape::Plain),
    ("Append", "APPEND", Shape::Plain),
    ("Strlen", "STRLEN", Shape::Plain),
    ("Expire", "EXPIRE", Shape::Plain),
    ("TTL", "TTL", Shape::Plain),
    ("Persist", "PERSIST", Shape::Plain),
    ("Type", "TYPE", Shape::Plain),
    ("Keys", "KEYS", Shape::Plain),
    ("Hset", "HSET", Shape::Plain),
    ("Hget", "HGET", Shape::Plain),
    ("Hmget", "HMGET", Shape::Plain),
    ("Hmset", "HMSET", Shape::FieldValues),
    ("Hgetall", "HGETALL", Shape::Plain),
    ("Hkeys", "HKEYS", Shape::Plain),
    ("Hvals", "HVALS", Shape::Plain),
    ("Hlen", "HLEN", Shape::Plain),
    ("Hdel", "HDEL", Shape::Plain),
    ("HincrBy", "HINCRBY", Shape::Plain),
    ("HExists", "HEXISTS", Shape::Plain),
    ("Hclear", "DEL", Shape::Plain),
    ("Hmclear", "DEL", Shape::Plain),
    ("Lpush", "LPUSH", Shape::Plain),
    ("Rpush", "RPUSH", Shape::Plain),
    ("Lpop", "LPOP", Shape::Plain),
    ("Rpop", "RPOP", Shape::Plain),
    ("Lrange", "LRANGE", Shape::Plain),
    ("Lindex", "LINDEX", Shape::Plain),
    ("Llen", "LLEN", Shape::Plain),
    ("Lset", "LSET", Shape::Plain),
    ("Lrem", "LREM", Shape::Plain),
    ("Ltrim", "LTRIM", Shape::Plain),
    ("Lclear", "DEL", Shape::Plain),
    ("Lmclear", "DEL", Shape::Plain),
    ("Sadd", "SADD", Shape::Plain),
    ("Srem", "SREM", Shape::Plain),
    ("Scard", "SCARD", Shape::Plain),
    ("Smembers", "SMEMBERS", Shape::Plain),
    ("Sismember", "SISMEMBER", Shape::Plain),
    ("Sinter", "SINTER", Shape::Plain),
    ("Sunion", "SUNION", Shape::Plain),
    ("Sdiff", "SDIFF", Shape::Plain),
    ("Sclear", "DEL", Shape::Plain),
    ("Smclear", "DEL", Shape::Plain),
    ("Zadd", "ZADD", Shape::ScoreMembers),
    ("Zrem", "ZREM", Shape::Plain),
    ("Zscore", "ZSCORE", Shape::Plain),
    ("ZincrBy", "ZINCRBY", Shape::Plain),
    ("Zcard", "ZCARD", Shape::Plain),
    ("Zcount", "ZCOUNT", Shape::Plain),
    ("Zrank", "ZRANK", Shape::Plain),
    ("Zrevrank", "ZREVRANK", Shape::Plain),
    ("Zrange", "ZRANGE", Shape::WithScores),
    ("Zrevrange", "ZREVRANGE", Shape::WithScores),
    ("Zrangebyscore", "ZRANGEBYSCORE", Shape::ByScore),
    ("Zrevrangebyscore", "ZREVRANGEBYSCORE", Shape::ByScore),
    ("Zremrangebyscore", "ZREMRANGEBYSCORE", Shape::Plain),
    ("Zclear", "DEL", Shape::Plain),
    ("Zmclear", "DEL", Shape::Plain),
];

fn build(cmd: &str, shape: Shape, args: &[Value]) -> Vec<Vec<u8>> {
    let mut out = vec![cmd.as_bytes().to_vec()];
    match shape {
        Shape::Plain => out.extend(args.iter().flat_map(|v| match v {
            Value::Array(a) => a.iter().map(word).collect::<Vec<_>>(),
            v => vec![word(v)],
        })),
        Shape::FieldValues => {
            out.extend(args.first().map(word));
            out.extend(pairs(args.get(1..).unwrap_or(&[]), "field", "value"));
        }
        Shape::ScoreMembers => {
            out.extend(args.first().map(word));
            out.extend(pairs(args.get(1..).unwrap_or(&[]), "score", "member"));
        }
        Shape::WithScores => {
            out.extend(args.iter().map(word));
            out.push(b"WITHSCORES".to_vec());
        }
        Shape::ByScore => {
            out.extend(args.iter().take(3).map(word));
            out.push(b"WITHSCORES".to_vec());
            if let (Some(o), Some(c)) = (args.get(3), args.get(4)) {
                out.extend([b"LIMIT".to_vec(), word(o), word(c)]);
            }
        }
    }
    out
}

#[allow(clippy::too_many_arguments)]
pub fn register<B: Backend>(
    reg: &mut Registry,
    store: Arc<B>,
    db: Arc<DbService>,
    users: Arc<crate::methods::users::Users>,
    entropy: fn() -> [u8; 32],
    announce: Option<Arc<dyn Fn(proto_core::cid::Cid) + Send + Sync>>,
    mail: Arc<Mailbox>,
    files: Option<Arc<crate::methods::mfile::FileSessions<B>>>,
) {
    let api = Arc::new(DbApi { mail, store, users, db, open: Mutex::new(HashMap::new()), entropy, files });
    sessions::register(reg, &api);
    backup::register(reg, &api, announce);
    messages::register(reg, &api);
    inspect::register(reg, &api);
}

/// A reply as JSON in Redis's own shapes (for `mimei db`): maps as objects, pairs flat.
fn resp_json(r: Reply) -> Value {
    match r {
        Reply::Simple(s) => json!({"status": s}),
        Reply::Double(d) => Value::String(db::num::fmt_f64(d)),
        Reply::Map(kv) => {
            let mut m = Map::new();
            for (k, v) in kv {
                let k = match resp_json(k) {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                m.insert(k, resp_json(v));
            }
            Value::Object(m)
        }
        Reply::Pairs(kv) => Value::Array(kv.into_iter().flat_map(|(a, b)| [resp_json(a), resp_json(b)]).collect()),
        Reply::Array(a) | Reply::Set(a) => Value::Array(a.into_iter().map(resp_json).collect()),
        other => to_json(other).unwrap_or(Value::Null),
    }
}
