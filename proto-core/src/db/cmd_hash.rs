//! Hashes: HSET HMSET HGET HMGET HGETALL HKEYS HVALS HLEN HDEL HEXISTS HINCRBY HSCAN.

use super::glob::matches;
use super::keyspace::{collect_family, element_key, family_prefix, put_meta, Meta, Type};
use super::{fail, int_arg, typed, typed_w, Ctx, Read, Reply, Write, OVERFLOW, R};

fn fields(txn: &dyn Read, key: &[u8]) -> Result<super::keyspace::Entries, super::Fault> {
    collect_family(txn, &family_prefix(b'h', key))
}

/// Sets field/value pairs; returns how many fields are new.
fn set_pairs(txn: &mut dyn Write, cx: &Ctx, a: &[Vec<u8>], name: &str) -> Result<i64, super::E> {
    if !a.len().is_multiple_of(2) {
        return fail(&format!("ERR wrong number of arguments for '{name}' command"));
    }
    let key = &a[1];
    let old = typed_w(txn, cx, key, Type::Hash)?;
    let is_new = old.is_none();
    let mut m = old.unwrap_or_else(|| Meta::new(Type::Hash, 0u64.to_be_bytes().to_vec()));
    let mut added = 0;
    for fv in a[2..].chunks(2) {
        let ek = element_key(b'h', key, &fv[0]);
        if txn.get(&ek)?.is_none() {
            added += 1;
        }
        txn.put(&ek, &fv[1])?;
    }
    m.set_count(m.count() + added as u64);
    put_meta(txn, key, &m, is_new)?;
    Ok(added)
}

pub(super) fn hset(txn: &mut dyn Write, cx: &Ctx, a: &[Vec<u8>]) -> R {
    Ok(Reply::Int(set_pairs(txn, cx, a, "hset")?))
}

pub(super) fn hmset(txn: &mut dyn Write, cx: &Ctx, a: &[Vec<u8>]) -> R {
    set_pairs(txn, cx, a, "hmset")?;
    Ok(Reply::ok())
}

pub(super) fn hget(txn: &dyn Read, cx: &Ctx, a: &[Vec<u8>]) -> R {
    if typed(txn, cx, &a[1], Type::Hash)?.is_none() {
        return Ok(Reply::Nil);
    }
    Ok(txn.get(&element_key(b'h', &a[1], &a[2]))?.map_or(Reply::Nil, Reply::Bulk))
}

pub(super) fn hmget(txn: &dyn Read, cx: &Ctx, a: &[Vec<u8>]) -> R {
    let exists = typed(txn, cx, &a[1], Type::Hash)?.is_some();
    let mut out = Vec::new();
    for f in &a[2..] {
        let v = if exists { txn.get(&element_key(b'h', &a[1], f))? } else { None };
        out.push(v.map_or(Reply::Nil, Reply::Bulk));
    }
    Ok(Reply::Array(out))
}

fn listing(txn: &dyn Read, cx: &Ctx, key: &[u8], keys: bool, vals: bool) -> R {
    if typed(txn, cx, key, Type::Hash)?.is_none() {
        return Ok(Reply::Array(vec![]));
    }
    let mut out = Vec::new();
    for (f, v) in fields(txn, key)? {
        if keys {
            out.push(Reply::Bulk(f));
        }
        if vals {
            out.push(Reply::Bulk(v));
        }
    }
    Ok(Reply::Array(out))
}

pub(super) fn hgetall(txn: &dyn Read, cx: &Ctx, a: &[Vec<u8>]) -> R {
    if typed(txn, cx, &a[1], Type::Hash)?.is_none() {
        return Ok(Reply::Map(vec![]));
    }
    Ok(Reply::Map(fields(txn, &a[1])?.into_iter().map(|(f, v)| (Reply::Bulk(f), Reply::Bulk(v))).collect()))
}

pub(super) fn hkeys(txn: &dyn Read, cx: &Ctx, a: &[Vec<u8>]) -> R {
    listing(txn, cx, &a[1], true, false)
}

pub(super) fn hvals(txn: &dyn Read, cx: &Ctx, a: &[Vec<u8>]) -> R {
    listing(txn, cx, &a[1], false, true)
}

pub(super) fn hlen(txn: &dyn Read, cx: &Ctx, a: &[Vec<u8>]) -> R {
    Ok(Reply::Int(typed(txn, cx, &a[1], Type::Hash)?.map_or(0, |m| m.count() as i64)))
}

pub(super) fn hdel(txn: &mut dyn Write, cx: &Ctx, a: &[Vec<u8>]) -> R {
    let key = &a[1];
    let Some(mut m) = typed_w(txn, cx, key, Type::Hash)? else { return Ok(Reply::Int(0)) };
    Ok(Reply::Int(super::keyspace::remove_elements(txn, key, &mut m, b'h', &a[2..])? as i64))
}

pub(super) fn hexists(txn: &dyn Read, cx: &Ctx, a: &[Vec<u8>]) -> R {
    if typed(txn, cx, &a[1], Type::Hash)?.is_none() {
        return Ok(Reply::Int(0));
    }
    Ok(Reply::Int(i64::from(txn.get(&element_key(b'h', &a[1], &a[2]))?.is_some())))
}

pub(super) fn hincrby(txn: &mut dyn Write, cx: &Ctx, a: &[Vec<u8>]) -> R {
    let by = int_arg(&a[3])?;
    let key = &a[1];
    let old = typed_w(txn, cx, key, Type::Hash)?;
    let is_new = old.is_none();
    let mut m = old.unwrap_or_else(|| Meta::new(Type::Hash, 0u64.to_be_bytes().to_vec()));
    let ek = element_key(b'h', key, &a[2]);
    let cur = txn.get(&ek)?;
    let v = match &cur {
        None => 0,
        Some(b) => match super::num::parse_i64(b) {
            Some(v) => v,
            None => return fail("ERR hash value is not an integer"),
        },
    };
    let Some(v) = v.checked_add(by) else { return fail(OVERFLOW) };
    txn.put(&ek, v.to_string().as_bytes())?;
    if cur.is_none() {
        m.set_count(m.count() + 1);
        put_meta(txn, key, &m, is_new)?;
    }
    Ok(Reply::Int(v))
}

pub(super) fn hscan(txn: &dyn Read, cx: &Ctx, a: &[Vec<u8>]) -> R {
    super::cmd_keys::parse_cursor(&a[2])?;
    let (pat, _count, _) = super::cmd_keys::scan_options(a, 3, false)?;
    // One pass returns everything (COUNT is a hint), so no element can be missed.
    let mut out = Vec::new();
    if typed(txn, cx, &a[1], Type::Hash)?.is_some() {
        for (f, v) in fields(txn, &a[1])? {
            if pat.is_none_or(|p| matches(p, &f)) {
                out.push(Reply::Bulk(f));
                out.push(Reply::Bulk(v));
            }
        }
    }
    Ok(Reply::Array(vec![Reply::bulk("0"), Reply::Array(out)]))
}
