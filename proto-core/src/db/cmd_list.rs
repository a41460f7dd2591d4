//! Lists: LPUSH RPUSH LPOP RPOP LRANGE LINDEX LLEN LSET LREM LTRIM. Elements sit at consecutive
//! sequence numbers head..tail, so index access is one point read.

use super::keyspace::{collect_family, delete_key, element_key, family_prefix, put_meta, Meta, Type, LIST_MID};
use super::{fail, int_arg, typed, typed_w, Ctx, Fault, Read, Reply, Write, NO_KEY, R};

fn el(key: &[u8], seq: u64) -> Vec<u8> {
    element_key(b'l', key, &seq.to_be_bytes())
}

fn len(m: &Meta) -> i64 {
    let (h, t) = m.list_bounds();
    (t - h) as i64
}

fn new_list() -> Meta {
    let mut m = Meta::new(Type::List, Vec::new());
    m.set_list_bounds(LIST_MID, LIST_MID);
    m
}

fn push(txn: &mut dyn Write, cx: &Ctx, a: &[Vec<u8>], left: bool) -> R {
    let key = &a[1];
    let old = typed_w(txn, cx, key, Type::List)?;
    let is_new = old.is_none();
    let mut m = old.unwrap_or_else(new_list);
    let (mut h, mut t) = m.list_bounds();
    for v in &a[2..] {
        if left {
            h -= 1;
            txn.put(&el(key, h), v)?;
        } else {
            txn.put(&el(key, t), v)?;
            t += 1;
        }
    }
    m.set_list_bounds(h, t);
    put_meta(txn, key, &m, is_new)?;
    Ok(Reply::Int((t - h) as i64))
}

pub(super) fn lpush(txn: &mut dyn Write, cx: &Ctx, a: &[Vec<u8>]) -> R {
    push(txn, cx, a, true)
}

pub(super) fn rpush(txn: &mut dyn Write, cx: &Ctx, a: &[Vec<u8>]) -> R {
    push(txn, cx, a, false)
}

/// Stores the meta after elements were removed, deleting the key when the list is empty.
fn save(txn: &mut dyn Write, key: &[u8], m: &mut Meta, h: u64, t: u64) -> Result<(), Fault> {
    m.set_list_bounds(h, t);
    if h == t {
        delete_key(txn, key, m)
    } else {
        put_meta(txn, key, m, false)
    }
}

fn pop(txn: &mut dyn Write, cx: &Ctx, a: &[Vec<u8>], left: bool) -> R {
    if a.len() > 3 {
        let name = if left { "lpop" } else { "rpop" };
        return fail(&format!("ERR wrong number of arguments for '{name}' command"));
    }
    let count = match a.get(2) {
        None => None,
        Some(c) => match super::num::parse_i64(c) {
            Some(n) if n >= 0 => Some(n as u64),
            _ => return fail("ERR value is out of range, must be positive"),
        },
    };
    let key = &a[1];
    let Some(mut m) = typed_w(txn, cx, key, Type::List)? else {
        return Ok(if count.is_some() { Reply::NilArray } else { Reply::Nil });
    };
    let (mut h, mut t) = m.list_bounds();
    let n = count.unwrap_or(1).min(t - h);
    let mut out = Vec::new();
    for _ in 0..n {
        let seq = if left {
            h += 1;
            h - 1
        } else {
            t -= 1;
            t
        };
        let k = el(key, seq);
        out.push(Reply::Bulk(txn.get(&k)?.ok_or_else(|| super::keyspace::corrupt("list element"))?));
        txn.del(&k)?;
    }
    save(txn, key, &mut m, h, t)?;
    Ok(match count {
        Some(_) => Reply::Array(out),
        None => out.pop().unwrap_or(Reply::Nil),
    })
}

pub(super) fn lpop(txn: &mut dyn Write, cx: &Ctx, a: &[Vec<u8>]) -> R {
    pop(txn, cx, a, true)
}

pub(super) fn rpop(txn: &mut dyn Write, cx: &Ctx, a: &[Vec<u8>]) -> R {
    pop(txn, cx, a, false)
}

/// Redis's range normalisation: negative indexes count from the end; None = empty.
pub(crate) fn norm_range(start: i64, stop: i64, len: i64) -> Option<(i64, i64)> {
    let start = if start < 0 { (start + len).max(0) } else { start };
    let stop = if stop < 0 { stop + len } else { stop };
    if start > stop || start >= len {
        return None;
    }
    Some((start, stop.min(len - 1)))
}

pub(super) fn lrange(txn: &dyn Read, cx: &Ctx, a: &[Vec<u8>]) -> R {
    let (start, stop) = (int_arg(&a[2])?, int_arg(&a[3])?);
    let Some(m) = typed(txn, cx, &a[1], Type::List)? else { return Ok(Reply::Array(vec![])) };
    let Some((s, e)) = norm_range(start, stop, len(&m)) else { return Ok(Reply::Array(vec![])) };
    let (h, _) = m.list_bounds();
    let (mut bytes, mut ends) = (Vec::new(), Vec::with_capacity((e - s + 1) as usize));
    let from = el(&a[1], h + s as u64);
    let to = el(&a[1], h + e as u64 + 1);
    txn.scan(&from, &to, &mut |_, v| {
        bytes.extend_from_slice(v);
        ends.push(bytes.len() as u32);
        true
    })?;
    Ok(Reply::Bulks { bytes, ends })
}

fn index(m: &Meta, i: i64) -> Option<u64> {
    let n = len(m);
    let i = if i < 0 { i + n } else { i };
    (0..n).contains(&i).then(|| m.list_bounds().0 + i as u64)
}

pub(super) fn lindex(txn: &dyn Read, cx: &Ctx, a: &[Vec<u8>]) -> R {
    let Some(m) = typed(txn, cx, &a[1], Type::List)? else { return Ok(Reply::Nil) };
    let i = int_arg(&a[2])?;
    let Some(seq) = index(&m, i) else { return Ok(Reply::Nil) };
    Ok(txn.get(&el(&a[1], seq))?.map_or(Reply::Nil, Reply::Bulk))
}

pub(super) fn llen(txn: &dyn Read, cx: &Ctx, a: &[Vec<u8>]) -> R {
    Ok(Reply::Int(typed(txn, cx, &a[1], Type::List)?.map_or(0, |m| len(&m))))
}

pub(super) fn lset(txn: &mut dyn Write, cx: &Ctx, a: &[Vec<u8>]) -> R {
    let i = int_arg(&a[2])?;
    let Some(m) = typed_w(txn, cx, &a[1], Type::List)? else { return fail(NO_KEY) };
    let Some(seq) = index(&m, i) else { return fail("ERR index out of range") };
    txn.put(&el(&a[1], seq), &a[3])?;
    Ok(Reply::ok())
}

pub(super) fn lrem(txn: &mut dyn Write, cx: &Ctx, a: &[Vec<u8>]) -> R {
    let count = int_arg(&a[2])?;
    let key = &a[1];
    let Some(mut m) = typed_w(txn, cx, key, Type::List)? else { return Ok(Reply::Int(0)) };
    let items: Vec<Vec<u8>> = collect_family(txn, &family_prefix(b'l', key))?.into_iter().map(|(_, v)| v).collect();
    let limit = if count == 0 { usize::MAX } else { count.unsigned_abs() as usize };
    let mut keep = vec![true; items.len()];
    let mut removed = 0;
    let order: Box<dyn Iterator<Item = usize>> =
        if count < 0 { Box::new((0..items.len()).rev()) } else { Box::new(0..items.len()) };
    for i in order {
        if removed == limit {
            break;
        }
        if items[i] == a[3] {
            keep[i] = false;
            removed += 1;
        }
    }
    if removed == 0 {
        return Ok(Reply::Int(0));
    }
    // Renumber the survivors from the old head.
    let (h, t) = m.list_bounds();
    for seq in h..t {
        txn.del(&el(key, seq))?;
    }
    let mut seq = h;
    for (v, k) in items.iter().zip(&keep) {
        if *k {
            txn.put(&el(key, seq), v)?;
            seq += 1;
        }
    }
    save(txn, key, &mut m, h, seq)?;
    Ok(Reply::Int(removed as i64))
}

pub(super) fn ltrim(txn: &mut dyn Write, cx: &Ctx, a: &[Vec<u8>]) -> R {
    let (start, stop) = (int_arg(&a[2])?, int_arg(&a[3])?);
    let key = &a[1];
    let Some(mut m) = typed_w(txn, cx, key, Type::List)? else { return Ok(Reply::ok()) };
    let (h, t) = m.list_bounds();
    let (nh, nt) = match norm_range(start, stop, (t - h) as i64) {
        None => (h, h),
        Some((s, e)) => (h + s as u64, h + e as u64 + 1),
    };
    for seq in (h..nh).chain(nt..t) {
        txn.del(&el(key, seq))?;
    }
    let (nh, nt) = if nh == nt { (h, h) } else { (nh, nt) };
    save(txn, key, &mut m, nh, nt)?;
    Ok(Reply::ok())
}
