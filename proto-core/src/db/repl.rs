//! Database replication (DESIGN.md §7), sans-IO. Every committed write transaction of the author
//! becomes an [`Entry`]: its effects on the keyspace (puts and deletes, in order — expiry included,
//! as the author's own deletes), a sequence number, and the hash chain link to the entry before.
//! A [`Pos`] says where a keyspace is: sequence, chain hash and a multiset digest of its entries
//! that every replica can update per operation. Replicas apply entries strictly in order; a gap
//! is asked for, and a replica too far behind (or diverged) is sent a snapshot instead.

use super::txn::{Fault, Read, Write};
use minicbor::{Decode, Encode};
use sha2::{Digest, Sha256};

/// One operation on the keyspace: a put (`value` = Some) or a delete.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Op {
    #[cbor(n(0), with = "minicbor::bytes")]
    pub key: Vec<u8>,
    #[n(1)]
    pub value: Option<Bytes>,
}

/// Bytes inside CBOR.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
#[cbor(transparent)]
pub struct Bytes(#[cbor(n(0), with = "minicbor::bytes")] pub Vec<u8>);

/// One committed transaction.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Entry {
    #[n(0)]
    pub seq: u64,
    /// The chain hash after entry `seq - 1`.
    #[cbor(n(1), with = "minicbor::bytes")]
    pub prev: [u8; 32],
    #[n(2)]
    pub ops: Vec<Op>,
    /// The author's keyspace digest after this entry: a replica that ends anywhere else has
    /// diverged (or missed data from before replication) and starts over from a snapshot.
    #[cbor(n(3), with = "minicbor::bytes")]
    pub digest: [u8; 32],
}

/// Most bytes of an encoded entry or message accepted from a peer.
pub const MAX_MESSAGE: usize = 4 << 20;

fn encode_cbor<T: Encode<()>>(v: &T) -> Vec<u8> {
    minicbor::to_vec(v).expect("encoding to a Vec cannot fail")
}

/// Decodes a peer's bytes, refusing more than `MAX_MESSAGE`.
fn decode_cbor<T: for<'b> Decode<'b, ()>>(b: &[u8], what: &str) -> Result<T, String> {
    if b.len() > MAX_MESSAGE {
        return Err(format!("{what} too large"));
    }
    minicbor::decode(b).map_err(|e| format!("bad {what}: {e}"))
}

impl Entry {
    pub fn encode(&self) -> Vec<u8> {
        encode_cbor(self)
    }
    pub fn decode(b: &[u8]) -> Result<Entry, String> {
        decode_cbor(b, "replication entry")
    }
    /// The chain hash after this entry.
    pub fn chain(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.prev);
        h.update(self.encode());
        h.finalize().into()
    }
}

/// Where a keyspace is in its history.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Encode, Decode)]
pub struct Pos {
    #[n(0)]
    pub seq: u64,
    #[cbor(n(1), with = "minicbor::bytes")]
    pub chain: [u8; 32],
    /// XOR of H(entry) over the keyspace's entries: order-free, updated per operation.
    #[cbor(n(2), with = "minicbor::bytes")]
    pub digest: [u8; 32],
}

fn entry_hash(key: &[u8], value: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update((key.len() as u64).to_be_bytes());
    h.update(key);
    h.update(value);
    h.finalize().into()
}

fn xor(d: &mut [u8; 32], h: &[u8; 32]) {
    for (a, b) in d.iter_mut().zip(h) {
        *a ^= b;
    }
}

/// The digest of a whole keyspace (what `Pos::digest` must equal).
pub fn digest_of(txn: &dyn Read) -> Result<[u8; 32], Fault> {
    let mut d = [0u8; 32];
    txn.scan(b"", &[0xff; 8], &mut |k, v| {
        xor(&mut d, &entry_hash(k, v));
        true
    })?;
    Ok(d)
}

/// A write transaction that records its effects (with the values they replace, for the digest).
pub struct Recorder<'a> {
    inner: &'a mut dyn Write,
    pub ops: Vec<Op>,
    pub digest: [u8; 32],
}

impl<'a> Recorder<'a> {
    pub fn new(inner: &'a mut dyn Write, digest: [u8; 32]) -> Self {
        Recorder { inner, ops: Vec::new(), digest }
    }
}

impl Read for Recorder<'_> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, Fault> {
        self.inner.get(key)
    }
    fn scan(&self, from: &[u8], to: &[u8], f: &mut dyn FnMut(&[u8], &[u8]) -> bool) -> Result<(), Fault> {
        self.inner.scan(from, to, f)
    }
}

impl Write for Recorder<'_> {
    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), Fault> {
        if let Some(old) = self.inner.get(key)? {
            xor(&mut self.digest, &entry_hash(key, &old));
        }
        xor(&mut self.digest, &entry_hash(key, value));
        self.ops.push(Op { key: key.to_vec(), value: Some(Bytes(value.to_vec())) });
        self.inner.put(key, value)
    }
    fn del(&mut self, key: &[u8]) -> Result<(), Fault> {
        match self.inner.get(key)? {
            Some(old) => xor(&mut self.digest, &entry_hash(key, &old)),
            None => return Ok(()),
        }
        self.ops.push(Op { key: key.to_vec(), value: None });
        self.inner.del(key)
    }
}

/// The author's side: turns a recorded transaction into the next entry and moves `pos`.
pub fn seal(pos: &mut Pos, ops: Vec<Op>, digest: [u8; 32]) -> Option<Entry> {
    if ops.is_empty() {
        return None;
    }
    let e = Entry { seq: pos.seq + 1, prev: pos.chain, ops, digest };
    *pos = Pos { seq: e.seq, chain: e.chain(), digest };
    Some(e)
}

#[derive(Debug, PartialEq, Eq)]
pub enum ApplyError {
    /// The entry is not the next one: entries `pos.seq + 1 ..` are missing.
    Gap {
        have: u64,
        got: u64,
    },
    /// The entry does not continue this replica's chain: it diverged; needs a snapshot.
    Fork {
        seq: u64,
    },
    Fault(String),
}

/// Applies the next entry to a replica's keyspace.
pub fn apply(txn: &mut dyn Write, pos: &mut Pos, e: &Entry) -> Result<(), ApplyError> {
    if e.seq != pos.seq + 1 {
        return Err(ApplyError::Gap { have: pos.seq, got: e.seq });
    }
    if e.prev != pos.chain {
        return Err(ApplyError::Fork { seq: e.seq });
    }
    let mut rec = Recorder::new(txn, pos.digest);
    for op in &e.ops {
        let r = match &op.value {
            Some(v) => rec.put(&op.key, &v.0),
            None => rec.del(&op.key),
        };
        r.map_err(|f| ApplyError::Fault(f.0))?;
    }
    if rec.digest != e.digest {
        // The keyspace now holds something the position does not describe; the snapshot this
        // leads to replaces all of it.
        return Err(ApplyError::Fork { seq: e.seq });
    }
    *pos = Pos { seq: e.seq, chain: e.chain(), digest: rec.digest };
    Ok(())
}

/// Replaces a replica's keyspace with a snapshot taken at `at`.
pub fn install(txn: &mut dyn Write, pos: &mut Pos, at: Pos, entries: &[(Vec<u8>, Vec<u8>)]) -> Result<(), Fault> {
    let mut old = Vec::new();
    txn.scan(b"", &[0xff; 8], &mut |k, _| {
        old.push(k.to_vec());
        true
    })?;
    for k in old {
        txn.del(&k)?;
    }
    for (k, v) in entries {
        txn.put(k, v)?;
    }
    *pos = at;
    Ok(())
}

/// A replication message on the wire between nodes: which DB MiMei it is about, and the message.
#[derive(Clone, Debug, PartialEq, Encode, Decode)]
pub struct Wire {
    #[cbor(n(0), with = "minicbor::bytes")]
    pub mid: [u8; 20],
    #[n(1)]
    pub msg: Msg,
}

impl Wire {
    pub fn encode(&self) -> Vec<u8> {
        encode_cbor(self)
    }
    pub fn decode(b: &[u8]) -> Result<Wire, String> {
        decode_cbor(b, "replication message")
    }
}

/// Messages between an author and its replicas.
#[derive(Clone, Debug, PartialEq, Encode, Decode)]
pub enum Msg {
    /// Author → replica: new entries (pushed in real time, or answering `Want`).
    #[n(0)]
    Entries(#[n(0)] Vec<Entry>),
    /// Replica → author: send entries from `from` on.
    #[n(1)]
    Want(#[n(0)] u64),
    /// Author → replica: the whole keyspace at `pos` (when the log no longer reaches back).
    #[n(2)]
    Snapshot(#[n(0)] Pos, #[n(1)] Vec<(Bytes, Bytes)>),
    /// Author → replica: where the author is (periodic; lets a replica notice it is behind).
    #[n(3)]
    Head(#[n(0)] Pos),
}

impl Msg {
    pub fn encode(&self) -> Vec<u8> {
        encode_cbor(self)
    }
    pub fn decode(b: &[u8]) -> Result<Msg, String> {
        decode_cbor(b, "replication message")
    }
}

/// A replica's protocol state besides its keyspace: what it asked for and when.
///
/// Driving it: give each message from the author to [`Follower::on_msg`] inside the write
/// transaction of the replica's keyspace, commit, and send what it returns to the author; call
/// [`Follower::on_tick`] now and then (every check) and send what it returns (a `Want` asked
/// again after [`RETRY_MS`]). Time comes in with each call; who may send it messages and when to
/// renew are `db::subs::Subscriptions`' decisions.
#[derive(Clone, Debug, Default)]
pub struct Follower {
    pub pos: Pos,
    /// The newest position the author announced.
    pub known: u64,
    /// When the last `Want` went out (ms), to re-ask after a timeout.
    pub asked_at: Option<u64>,
}

/// How long a replica waits for an answer before asking again.
pub const RETRY_MS: u64 = 1_000;

impl Follower {
    /// Handles a message from the author; returns what to send back.
    pub fn on_msg(&mut self, txn: &mut dyn Write, now_ms: u64, msg: Msg) -> Result<Option<Msg>, Fault> {
        match msg {
            Msg::Entries(es) => {
                for e in &es {
                    self.known = self.known.max(e.seq);
                    if e.seq <= self.pos.seq {
                        continue;
                    }
                    match apply(txn, &mut self.pos, e) {
                        Ok(()) => self.asked_at = None,
                        Err(ApplyError::Gap { .. }) => return Ok(self.ask(now_ms)),
                        Err(ApplyError::Fork { .. }) => {
                            // Diverged (a replica that applied a different history): start over.
                            self.asked_at = Some(now_ms);
                            return Ok(Some(Msg::Want(0)));
                        }
                        Err(ApplyError::Fault(f)) => return Err(Fault(f)),
                    }
                }
                Ok(None)
            }
            Msg::Snapshot(at, entries) => {
                if at.seq >= self.pos.seq || at.chain != self.pos.chain {
                    let entries: Vec<(Vec<u8>, Vec<u8>)> = entries.into_iter().map(|(k, v)| (k.0, v.0)).collect();
                    install(txn, &mut self.pos, at, &entries)?;
                    self.known = self.known.max(at.seq);
                    self.asked_at = None;
                }
                Ok(if self.known > self.pos.seq { self.ask(now_ms) } else { None })
            }
            Msg::Head(at) => {
                self.known = self.known.max(at.seq);
                let diverged = at.seq == self.pos.seq && (at.chain != self.pos.chain || at.digest != self.pos.digest);
                if diverged {
                    self.asked_at = Some(now_ms);
                    return Ok(Some(Msg::Want(0)));
                }
                Ok(if at.seq > self.pos.seq { self.ask(now_ms) } else { None })
            }
            Msg::Want(_) => Ok(None),
        }
    }

    /// A `Want` for what is missing, unless one is already out and not yet timed out.
    fn ask(&mut self, now_ms: u64) -> Option<Msg> {
        if self.asked_at.is_some_and(|t| now_ms < t + RETRY_MS) {
            return None;
        }
        self.asked_at = Some(now_ms);
        Some(Msg::Want(self.pos.seq + 1))
    }

    /// Asks for everything after this replica's position, now (renews its subscription).
    pub fn refresh(&mut self, now_ms: u64) -> Msg {
        self.asked_at = Some(now_ms);
        Msg::Want(self.pos.seq + 1)
    }

    /// Called now and then: asks again when behind and the last ask went unanswered.
    /// A replica that never heard from the author asks at once (that also subscribes it).
    pub fn on_tick(&mut self, now_ms: u64) -> Option<Msg> {
        let fresh = self.pos == Pos::default() && self.asked_at.is_none();
        (fresh || self.known > self.pos.seq).then(|| self.ask(now_ms)).flatten()
    }
}

/// The author's side: the recent log it can replay, and how it answers `Want`.
#[derive(Clone, Debug, Default)]
pub struct Leader {
    pub pos: Pos,
    /// The most recent entries, oldest first (at most `keep`).
    pub log: std::collections::VecDeque<Entry>,
    pub keep: usize,
    /// `Want(from)` with `from <= floor` gets a snapshot: the history up to there is not entries
    /// (data written before replication started).
    pub floor: u64,
}

impl Leader {
    pub fn new(keep: usize) -> Self {
        Leader { keep, ..Default::default() }
    }

    /// Records a committed transaction; returns the entry to push to replicas.
    pub fn commit(&mut self, ops: Vec<Op>, digest: [u8; 32]) -> Option<Entry> {
        let e = seal(&mut self.pos, ops, digest)?;
        self.log.push_back(e.clone());
        while self.log.len() > self.keep {
            self.log.pop_front();
        }
        Some(e)
    }

    /// The keyspace was replaced wholesale (a restore of an older version): the history starts
    /// over at a new position that replicas reach by snapshot only. Its chain hash commits to
    /// the one before and to the new content, so no replica mistakes it for where it is.
    pub fn rebase(&mut self, digest: [u8; 32]) {
        let mut h = Sha256::new();
        h.update(b"leither-db-rebase");
        h.update(self.pos.chain);
        h.update(digest);
        self.pos = Pos { seq: self.pos.seq + 1, chain: h.finalize().into(), digest };
        self.log.clear();
        self.floor = self.pos.seq;
    }

    /// Answers a replica's `Want(from)`: the entries from there, or a snapshot when the log no
    /// longer reaches back that far (or `from` is 0: start over).
    pub fn on_want(&self, txn: &dyn Read, from: u64) -> Result<Msg, Fault> {
        let oldest = self.log.front().map_or(self.pos.seq + 1, |e| e.seq);
        if from > self.floor && from >= oldest {
            let mut batch = Vec::new();
            let mut bytes = 0;
            for e in self.log.iter().filter(|e| e.seq >= from) {
                bytes += e.ops.iter().map(|o| o.key.len() + o.value.as_ref().map_or(0, |v| v.0.len())).sum::<usize>();
                batch.push(e.clone());
                if bytes > MAX_MESSAGE / 2 {
                    break;
                }
            }
            return Ok(Msg::Entries(batch));
        }
        let mut entries = Vec::new();
        txn.scan(b"", &[0xff; 8], &mut |k, v| {
            entries.push((Bytes(k.to_vec()), Bytes(v.to_vec())));
            true
        })?;
        Ok(Msg::Snapshot(self.pos, entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::txn::MemKv;
    use crate::db::{run_write, Ctx};

    fn write(kv: &mut MemKv, leader: &mut Leader, now: u64, cmd: &str) -> Option<Entry> {
        let args = crate::db::resp::split_inline(cmd.as_bytes()).unwrap();
        let mut rec = Recorder::new(kv, leader.pos.digest);
        run_write(&mut rec, &Ctx { now_ms: now }, &args).unwrap();
        let (ops, d) = (rec.ops, rec.digest);
        leader.commit(ops, d)
    }

    #[test]
    fn a_rebase_brings_replicas_over_by_snapshot() {
        let (mut a, mut leader) = (MemKv::default(), Leader::new(100));
        let (mut r, mut f) = (MemKv::default(), Follower::default());
        for cmd in ["SET a 1", "SET b 2"] {
            let e = write(&mut a, &mut leader, 0, cmd).unwrap();
            f.on_msg(&mut r, 0, Msg::Entries(vec![e])).unwrap();
        }
        // The author replaces its data (as a restore does) outside the recorded writes.
        let mut old = MemKv::default();
        run_write(&mut old, &Ctx { now_ms: 0 }, &crate::db::resp::split_inline(b"SET a 0").unwrap()).unwrap();
        a = old;
        leader.rebase(digest_of(&a).unwrap());
        // The replica hears the new head, asks, and gets a snapshot (not entries).
        let want = f.on_msg(&mut r, 10, Msg::Head(leader.pos)).unwrap().unwrap();
        let Msg::Want(from) = want else { panic!("{want:?}") };
        let answer = leader.on_want(&a, from).unwrap();
        assert!(matches!(answer, Msg::Snapshot(..)), "{answer:?}");
        assert_eq!(f.on_msg(&mut r, 10, answer).unwrap(), None);
        assert_eq!((a.clone(), f.pos), (r.clone(), leader.pos));
        // And later writes flow as entries again.
        let e = write(&mut a, &mut leader, 0, "SET c 3").unwrap();
        assert_eq!(f.on_msg(&mut r, 20, Msg::Entries(vec![e])).unwrap(), None);
        assert_eq!(a, r);
    }

    #[test]
    fn replicas_follow_entries_and_match_the_digest() {
        let (mut a, mut leader) = (MemKv::default(), Leader::new(100));
        let (mut r, mut f) = (MemKv::default(), Follower::default());
        for cmd in ["SET a 1", "RPUSH l x y", "HSET h f v", "DEL a", "ZADD z 1 m", "GET l"] {
            if let Some(e) = write(&mut a, &mut leader, 0, cmd) {
                assert_eq!(f.on_msg(&mut r, 0, Msg::Entries(vec![e])).unwrap(), None);
            }
        }
        assert_eq!(leader.pos.seq, 5, "GET wrote nothing and made no entry");
        assert_eq!(f.pos, leader.pos);
        assert_eq!(a, r);
        assert_eq!(digest_of(&a).unwrap(), leader.pos.digest);
    }

    #[test]
    fn gaps_are_asked_for_and_short_logs_send_snapshots() {
        let (mut a, mut leader) = (MemKv::default(), Leader::new(2));
        let mut entries = Vec::new();
        for i in 0..5 {
            entries.extend(write(&mut a, &mut leader, 0, &format!("SET k{i} {i}")));
        }
        let (mut r, mut f) = (MemKv::default(), Follower::default());
        // Entry 1 lost: entry 2 shows the gap.
        assert_eq!(f.on_msg(&mut r, 0, Msg::Entries(vec![entries[1].clone()])).unwrap(), Some(Msg::Want(1)));
        // The log keeps only 4 and 5, so the answer is a snapshot.
        let answer = leader.on_want(&a, 1).unwrap();
        assert!(matches!(answer, Msg::Snapshot(..)));
        assert_eq!(f.on_msg(&mut r, 10, answer).unwrap(), None);
        assert_eq!((f.pos, &r), (leader.pos, &a));
        // A diverged replica (same seq, other chain) starts over from a snapshot.
        let mut g = Follower { pos: Pos { seq: 5, chain: [9; 32], digest: [0; 32] }, ..Default::default() };
        let mut junk = MemKv::default();
        assert_eq!(g.on_msg(&mut junk, 0, Msg::Head(leader.pos)).unwrap(), Some(Msg::Want(0)));
        let snap = leader.on_want(&a, 0).unwrap();
        g.on_msg(&mut junk, 0, snap).unwrap();
        assert_eq!((g.pos, &junk), (leader.pos, &a));
    }

    #[test]
    fn data_from_before_replication_reaches_replicas_by_snapshot() {
        let mut a = MemKv::default();
        let args = crate::db::resp::split_inline(b"SET old data").unwrap();
        run_write(&mut a, &Ctx { now_ms: 0 }, &args).unwrap();
        // Replication starts on a keyspace that already holds data.
        let digest = digest_of(&a).unwrap();
        let mut leader = Leader { pos: Pos { digest, ..Pos::default() }, keep: 10, floor: 1, ..Leader::default() };
        let e = write(&mut a, &mut leader, 0, "SET new x").unwrap();
        let (mut r, mut f) = (MemKv::default(), Follower::default());
        // The entry alone does not give the author's digest: the replica starts over.
        assert_eq!(f.on_msg(&mut r, 0, Msg::Entries(vec![e])).unwrap(), Some(Msg::Want(0)));
        assert_eq!(leader.on_want(&a, 1).map(|m| matches!(m, Msg::Snapshot(..))), Ok(true), "below the floor");
        f.on_msg(&mut r, 0, leader.on_want(&a, 0).unwrap()).unwrap();
        assert_eq!((f.pos, &r), (leader.pos, &a));
    }

    #[test]
    fn messages_round_trip_and_junk_is_refused() {
        let m = Msg::Entries(vec![Entry {
            seq: 1,
            prev: [0; 32],
            ops: vec![Op { key: b"k".to_vec(), value: None }],
            digest: [0; 32],
        }]);
        assert_eq!(Msg::decode(&m.encode()).unwrap(), m);
        assert!(Msg::decode(b"\xff\x00").is_err());
    }
}
