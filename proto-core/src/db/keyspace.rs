//! How Redis values are laid out in one ordered keyspace (the ledisdb idea, DESIGN.md §8): every
//! key has a meta entry (type, expiry, size) and each structure keeps its elements in a family of
//! entries under a type byte, so every operation is point reads and range scans.
//!
//! ```text
//! k <key>                          -> type u8 | expire_at_ms u64 BE (0 = never) | payload
//!     payload: string = the bytes; hash/set/zset = count u64 BE; list = head u64 BE, tail u64 BE
//! h <len u32 BE> <key> <field>     -> value
//! l <len u32 BE> <key> <seq u64 BE> -> element   (seq in head..tail)
//! s <len u32 BE> <key> <member>    -> (empty)
//! z <len u32 BE> <key> <member>    -> score f64 bits BE
//! Z <len u32 BE> <key> <score, order-preserving 8 bytes> <member> -> (empty)
//! ```

use super::txn::{Fault, Read, Write};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Type {
    String = 1,
    Hash = 2,
    List = 3,
    Set = 4,
    ZSet = 5,
}

impl Type {
    pub fn name(self) -> &'static str {
        match self {
            Type::String => "string",
            Type::Hash => "hash",
            Type::List => "list",
            Type::Set => "set",
            Type::ZSet => "zset",
        }
    }
    fn from_byte(b: u8) -> Option<Type> {
        Some(match b {
            1 => Type::String,
            2 => Type::Hash,
            3 => Type::List,
            4 => Type::Set,
            5 => Type::ZSet,
            _ => return None,
        })
    }
    fn family(self) -> Option<&'static [u8]> {
        match self {
            Type::String => None,
            Type::Hash => Some(b"h"),
            Type::List => Some(b"l"),
            Type::Set => Some(b"s"),
            Type::ZSet => Some(b"zZ"),
        }
    }
}

/// A key's meta entry.
#[derive(Clone, Debug, PartialEq)]
pub struct Meta {
    pub ty: Type,
    /// Unix milliseconds after which the key is gone; 0 = never.
    pub expire_at: u64,
    /// The string's bytes, or the structure's counters.
    pub payload: Vec<u8>,
}

/// The value under a meta entry could not be read: the store holds bytes we did not write.
pub fn corrupt(what: &str) -> Fault {
    Fault(format!("corrupt database entry ({what})"))
}

impl Meta {
    pub fn new(ty: Type, payload: Vec<u8>) -> Meta {
        Meta { ty, expire_at: 0, payload }
    }
    pub fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(9 + self.payload.len());
        v.push(self.ty as u8);
        v.extend_from_slice(&self.expire_at.to_be_bytes());
        v.extend_from_slice(&self.payload);
        v
    }
    pub fn decode(b: &[u8]) -> Result<Meta, Fault> {
        if b.len() < 9 {
            return Err(corrupt("short meta"));
        }
        let ty = Type::from_byte(b[0]).ok_or_else(|| corrupt("type"))?;
        let expire_at = u64::from_be_bytes(b[1..9].try_into().map_err(|_| corrupt("expiry"))?);
        Ok(Meta { ty, expire_at, payload: b[9..].to_vec() })
    }
    pub fn expired(&self, now_ms: u64) -> bool {
        self.expire_at != 0 && self.expire_at <= now_ms
    }
    /// The element count of a hash, set or zset.
    pub fn count(&self) -> u64 {
        self.payload.get(..8).map_or(0, |b| u64::from_be_bytes(b.try_into().unwrap_or([0; 8])))
    }
    pub fn set_count(&mut self, n: u64) {
        self.payload = n.to_be_bytes().to_vec();
    }
    /// A list's (head, tail): elements live at sequence numbers head..tail.
    pub fn list_bounds(&self) -> (u64, u64) {
        let p = &self.payload;
        if p.len() < 16 {
            return (LIST_MID, LIST_MID);
        }
        let h = u64::from_be_bytes(p[..8].try_into().unwrap_or([0; 8]));
        let t = u64::from_be_bytes(p[8..16].try_into().unwrap_or([0; 8]));
        (h, t)
    }
    pub fn set_list_bounds(&mut self, head: u64, tail: u64) {
        let mut p = head.to_be_bytes().to_vec();
        p.extend_from_slice(&tail.to_be_bytes());
        self.payload = p;
    }
}

/// Where a new list starts: both ends have room to grow.
pub const LIST_MID: u64 = 1 << 63;

pub fn meta_key(key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + key.len());
    k.push(b'k');
    k.extend_from_slice(key);
    k
}

/// The prefix of a key's element family `fam` (h, l, s, z or Z).
pub fn family_prefix(fam: u8, key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(5 + key.len() + 16);
    k.push(fam);
    k.extend_from_slice(&(key.len() as u32).to_be_bytes());
    k.extend_from_slice(key);
    k
}

pub fn element_key(fam: u8, key: &[u8], sub: &[u8]) -> Vec<u8> {
    let mut k = family_prefix(fam, key);
    k.extend_from_slice(sub);
    k
}

/// The exclusive upper bound of every key starting with `prefix` (prefixes here never are all 0xff).
pub fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0xff; prefix.len() + 1]
}

/// Eight bytes whose byte order is the numeric order of the score (-0 sorts as 0).
pub fn score_bytes(score: f64) -> [u8; 8] {
    let score = if score == 0.0 { 0.0 } else { score };
    let bits = score.to_bits();
    let ordered = if bits >> 63 == 1 { !bits } else { bits | (1 << 63) };
    ordered.to_be_bytes()
}

/// Reads the meta entry of `key`, treating an expired key as absent (readers never delete).
pub fn read_meta(txn: &(impl Read + ?Sized), key: &[u8], now_ms: u64) -> Result<Option<Meta>, Fault> {
    match txn.get(&meta_key(key))? {
        None => Ok(None),
        Some(b) => {
            let m = Meta::decode(&b)?;
            Ok(if m.expired(now_ms) { None } else { Some(m) })
        }
    }
}

/// Reads the meta entry of `key` for a write; an expired key is deleted first, so the write
/// starts from nothing (and the deletion is part of the replicated transaction).
pub fn write_meta(txn: &mut (impl Write + ?Sized), key: &[u8], now_ms: u64) -> Result<Option<Meta>, Fault> {
    match txn.get(&meta_key(key))? {
        None => Ok(None),
        Some(b) => {
            let m = Meta::decode(&b)?;
            if m.expired(now_ms) {
                delete_key(txn, key, &m)?;
                Ok(None)
            } else {
                Ok(Some(m))
            }
        }
    }
}

/// Writes a key's meta entry; `new` when the key did not exist, so it joins the scan index.
pub fn put_meta(txn: &mut (impl Write + ?Sized), key: &[u8], m: &Meta, new: bool) -> Result<(), Fault> {
    if new {
        txn.put(&scan_key(key), &[])?;
    }
    txn.put(&meta_key(key), &m.encode())
}

/// The scan index orders keys by a hash, so a SCAN cursor (an integer) can name a position that
/// stays valid while keys come and go: `x <hash u64 BE> <key>`.
pub fn scan_key(key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(9 + key.len());
    k.push(b'x');
    k.extend_from_slice(&scan_hash(key).to_be_bytes());
    k.extend_from_slice(key);
    k
}

/// A key's place in scan order: 63 bits, so `hash + 1` is a valid nonzero cursor.
pub fn scan_hash(key: &[u8]) -> u64 {
    crate::unixfs::murmur3::x64_128(key, 0x006c_6569_7468_6572).0 >> 1
}

/// Removes a key and all its elements.
pub fn delete_key(txn: &mut (impl Write + ?Sized), key: &[u8], m: &Meta) -> Result<(), Fault> {
    for &fam in m.ty.family().unwrap_or(&[]) {
        let from = family_prefix(fam, key);
        for k in collect_keys(txn, &from, &prefix_end(&from))? {
            txn.del(&k)?;
        }
    }
    txn.del(&scan_key(key))?;
    txn.del(&meta_key(key))
}

/// Removes elements `subs` of family `fam` from a counted structure (hash, set) and keeps its
/// count; an emptied structure is deleted. Returns how many were there.
pub fn remove_elements(
    txn: &mut (impl Write + ?Sized),
    key: &[u8],
    m: &mut Meta,
    fam: u8,
    subs: &[Vec<u8>],
) -> Result<u64, Fault> {
    let mut n = 0;
    for s in subs {
        let ek = element_key(fam, key, s);
        if txn.get(&ek)?.is_some() {
            txn.del(&ek)?;
            n += 1;
        }
    }
    m.set_count(m.count() - n);
    if m.count() == 0 {
        delete_key(txn, key, m)?;
    } else {
        put_meta(txn, key, m, false)?;
    }
    Ok(n)
}

/// All keys in `from..to`.
pub fn collect_keys(txn: &(impl Read + ?Sized), from: &[u8], to: &[u8]) -> Result<Vec<Vec<u8>>, Fault> {
    let mut out = Vec::new();
    txn.scan(from, to, &mut |k, _| {
        out.push(k.to_vec());
        true
    })?;
    Ok(out)
}

/// Keys and values.
pub type Entries = Vec<(Vec<u8>, Vec<u8>)>;

/// All entries under `prefix`, with the prefix cut off the keys.
pub fn collect_family(txn: &(impl Read + ?Sized), prefix: &[u8]) -> Result<Entries, Fault> {
    let mut out = Vec::new();
    txn.scan(prefix, &prefix_end(prefix), &mut |k, v| {
        out.push((k[prefix.len()..].to_vec(), v.to_vec()));
        true
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_bytes_sort_numerically() {
        let xs = [f64::NEG_INFINITY, -1e300, -2.5, -1.0, -0.0, 0.0, 1e-300, 1.0, 2.5, 1e300, f64::INFINITY];
        for w in xs.windows(2) {
            assert!(score_bytes(w[0]) <= score_bytes(w[1]), "{} {}", w[0], w[1]);
        }
        assert_eq!(score_bytes(-0.0), score_bytes(0.0));
    }

    #[test]
    fn prefix_end_bounds_the_family() {
        assert_eq!(prefix_end(b"ab"), b"ac".to_vec());
        assert_eq!(prefix_end(&[1, 0xff]), vec![2]);
    }
}
