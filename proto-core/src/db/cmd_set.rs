//! Sets: SADD SREM SMEMBERS SISMEMBER SCARD SINTER SUNION SDIFF SSCAN.

use super::glob::matches;
use super::keyspace::{collect_family, element_key, family_prefix, put_meta, Meta, Type};
use super::{typed, typed_w, Ctx, Read, Reply, Write, E, R};
use std::collections::BTreeSet;

fn members(txn: &dyn Read, cx: &Ctx, key: &[u8]) -> Result<Option<BTreeSet<Vec<u8>>>, E> {
    if typed(txn, cx, key, Type::Set)?.is_none() {
        return Ok(None);
    }
    Ok(Some(collect_family(txn, &family_prefix(b's', key))?.into_iter().map(|(m, _)| m).collect()))
}

fn set_reply(set: impl IntoIterator<Item = Vec<u8>>) -> Reply {
    Reply::Set(set.into_iter().map(Reply::Bulk).collect())
}

pub(super) fn sadd(txn: &mut dyn Write, cx: &Ctx, a: &[Vec<u8>]) -> R {
    let key = &a[1];
    let old = typed_w(txn, cx, key, Type::Set)?;
    let is_new = old.is_none();
    let mut m = old.unwrap_or_else(|| Meta::new(Type::Set, 0u64.to_be_bytes().to_vec()));
    let mut n = 0;
    for mem in &a[2..] {
        let ek = element_key(b's', key, mem);
        if txn.get(&ek)?.is_none() {
            txn.put(&ek, &[])?;
            n += 1;
        }
    }
    m.set_count(m.count() + n);
    put_meta(txn, key, &m, is_new)?;
    Ok(Reply::Int(n as i64))
}

pub(super) fn srem(txn: &mut dyn Write, cx: &Ctx, a: &[Vec<u8>]) -> R {
    let key = &a[1];
    let Some(mut m) = typed_w(txn, cx, key, Type::Set)? else { return Ok(Reply::Int(0)) };
    Ok(Reply::Int(super::keyspace::remove_elements(txn, key, &mut m, b's', &a[2..])? as i64))
}

pub(super) fn smembers(txn: &dyn Read, cx: &Ctx, a: &[Vec<u8>]) -> R {
    Ok(set_reply(members(txn, cx, &a[1])?.unwrap_or_default()))
}

pub(super) fn sismember(txn: &dyn Read, cx: &Ctx, a: &[Vec<u8>]) -> R {
    if typed(txn, cx, &a[1], Type::Set)?.is_none() {
        return Ok(Reply::Int(0));
    }
    Ok(Reply::Int(i64::from(txn.get(&element_key(b's', &a[1], &a[2]))?.is_some())))
}

pub(super) fn scard(txn: &dyn Read, cx: &Ctx, a: &[Vec<u8>]) -> R {
    Ok(Reply::Int(typed(txn, cx, &a[1], Type::Set)?.map_or(0, |m| m.count() as i64)))
}

/// Reads every named set first, so a wrong type anywhere is an error, as in Redis.
fn all_sets(txn: &dyn Read, cx: &Ctx, keys: &[Vec<u8>]) -> Result<Vec<Option<BTreeSet<Vec<u8>>>>, E> {
    keys.iter().map(|k| members(txn, cx, k)).collect()
}

pub(super) fn sinter(txn: &dyn Read, cx: &Ctx, a: &[Vec<u8>]) -> R {
    let sets = all_sets(txn, cx, &a[1..])?;
    if sets.iter().any(Option::is_none) {
        return Ok(Reply::Set(vec![]));
    }
    let mut it = sets.into_iter().flatten();
    let first = it.next().unwrap_or_default();
    let rest: Vec<_> = it.collect();
    Ok(set_reply(first.into_iter().filter(|m| rest.iter().all(|s| s.contains(m)))))
}

pub(super) fn sunion(txn: &dyn Read, cx: &Ctx, a: &[Vec<u8>]) -> R {
    let all: BTreeSet<Vec<u8>> = all_sets(txn, cx, &a[1..])?.into_iter().flatten().flatten().collect();
    Ok(set_reply(all))
}

pub(super) fn sdiff(txn: &dyn Read, cx: &Ctx, a: &[Vec<u8>]) -> R {
    let mut sets = all_sets(txn, cx, &a[1..])?.into_iter();
    let first = sets.next().flatten().unwrap_or_default();
    let rest: Vec<_> = sets.flatten().collect();
    Ok(set_reply(first.into_iter().filter(|m| !rest.iter().any(|s| s.contains(m)))))
}

pub(super) fn sscan(txn: &dyn Read, cx: &Ctx, a: &[Vec<u8>]) -> R {
    super::cmd_keys::parse_cursor(&a[2])?;
    let (pat, _count, _) = super::cmd_keys::scan_options(a, 3, false)?;
    let all = members(txn, cx, &a[1])?.unwrap_or_default();
    let out = all.into_iter().filter(|m| pat.is_none_or(|p| matches(p, m)));
    Ok(Reply::Array(vec![Reply::bulk("0"), Reply::Array(out.map(Reply::Bulk).collect())]))
}
