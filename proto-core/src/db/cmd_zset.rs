//! Sorted sets: ZADD ZREM ZSCORE ZINCRBY ZCARD ZCOUNT ZRANK ZREVRANK ZRANGE ZREVRANGE
//! ZRANGEBYSCORE ZREVRANGEBYSCORE ZREMRANGEBYSCORE. Each member has a score entry (`z`) and an
//! entry in score order (`Z`), so ranges are one scan.

use super::keyspace::{collect_family, delete_key, element_key, family_prefix, put_meta, score_bytes, Meta, Type};
use super::num::parse_f64;
use super::{eq_ic, fail, float_arg, int_arg, typed, typed_w, Ctx, Fault, Read, Reply, Write, E, R, SYNTAX};

const NAN: &str = "ERR resulting score is not a number (NaN)";

fn score_of(txn: &dyn Read, key: &[u8], member: &[u8]) -> Result<Option<f64>, Fault> {
    Ok(match txn.get(&element_key(b'z', key, member))? {
        None => None,
        Some(b) => Some(f64::from_bits(u64::from_be_bytes(
            b.as_slice().try_into().map_err(|_| super::keyspace::corrupt("score"))?,
        ))),
    })
}

fn order_key(key: &[u8], score: f64, member: &[u8]) -> Vec<u8> {
    let mut k = family_prefix(b'Z', key);
    k.extend_from_slice(&score_bytes(score));
    k.extend_from_slice(member);
    k
}

/// Sets a member's score (removing its old place in score order).
fn put_score(txn: &mut dyn Write, key: &[u8], member: &[u8], old: Option<f64>, score: f64) -> Result<(), Fault> {
    if let Some(o) = old {
        txn.del(&order_key(key, o, member))?;
    }
    txn.put(&element_key(b'z', key, member), &score.to_bits().to_be_bytes())?;
    txn.put(&order_key(key, score, member), &[])
}

fn remove(txn: &mut dyn Write, key: &[u8], member: &[u8], score: f64) -> Result<(), Fault> {
    txn.del(&element_key(b'z', key, member))?;
    txn.del(&order_key(key, score, member))
}

/// All (member, score) in score order.
fn entries(txn: &dyn Read, key: &[u8]) -> Result<Vec<(Vec<u8>, f64)>, Fault> {
    let rows = collect_family(txn, &family_prefix(b'Z', key))?;
    rows.into_iter()
        .map(|(sub, _)| {
            if sub.len() < 8 {
                return Err(super::keyspace::corrupt("score order"));
            }
            let mut b = [0u8; 8];
            b.copy_from_slice(&sub[..8]);
            let ordered = u64::from_be_bytes(b);
            let bits = if ordered >> 63 == 1 { ordered & !(1 << 63) } else { !ordered };
            Ok((sub[8..].to_vec(), f64::from_bits(bits)))
        })
        .collect()
}

fn finish_count(txn: &mut dyn Write, key: &[u8], m: &mut Meta, count: u64, is_new: bool) -> Result<(), Fault> {
    m.set_count(count);
    if count == 0 {
        if !is_new {
            delete_key(txn, key, m)?;
        }
        Ok(())
    } else {
        put_meta(txn, key, m, is_new)
    }
}

pub(super) fn zadd(txn: &mut dyn Write, cx: &Ctx, a: &[Vec<u8>]) -> R {
    let (mut nx, mut xx, mut gt, mut lt, mut ch, mut incr) = (false, false, false, false, false, false);
    let mut i = 2;
    while i < a.len() {
        let o = &a[i];
        match () {
            _ if eq_ic(o, "nx") => nx = true,
            _ if eq_ic(o, "xx") => xx = true,
            _ if eq_ic(o, "gt") => gt = true,
            _ if eq_ic(o, "lt") => lt = true,
            _ if eq_ic(o, "ch") => ch = true,
            _ if eq_ic(o, "incr") => incr = true,
            _ => break,
        }
        i += 1;
    }
    let pairs = &a[i..];
    if pairs.is_empty() || !pairs.len().is_multiple_of(2) {
        return fail(SYNTAX);
    }
    if nx && xx {
        return fail("ERR XX and NX options at the same time are not compatible");
    }
    if ((gt || lt) && nx) || (gt && lt) {
        return fail("ERR GT, LT, and/or NX options at the same time are not compatible");
    }
    if incr && pairs.len() > 2 {
        return fail("ERR INCR option supports a single increment-element pair");
    }
    let scores: Vec<f64> = pairs.chunks(2).map(|p| float_arg(&p[0])).collect::<Result<_, _>>()?;
    let key = &a[1];
    let old = typed_w(txn, cx, key, Type::ZSet)?;
    if old.is_none() && xx {
        return Ok(if incr { Reply::Nil } else { Reply::Int(0) });
    }
    let is_new = old.is_none();
    let mut m = old.unwrap_or_else(|| Meta::new(Type::ZSet, 0u64.to_be_bytes().to_vec()));
    let mut count = m.count();
    let (mut added, mut updated) = (0, 0);
    let mut incr_reply = Reply::Nil;
    for (p, &s) in pairs.chunks(2).zip(&scores) {
        let member = &p[1];
        match score_of(txn, key, member)? {
            Some(cur) => {
                if nx {
                    continue;
                }
                let new = if incr { cur + s } else { s };
                if new.is_nan() {
                    return fail(NAN);
                }
                if (gt && new <= cur) || (lt && new >= cur) {
                    continue;
                }
                incr_reply = Reply::Double(new);
                if new != cur {
                    put_score(txn, key, member, Some(cur), new)?;
                    updated += 1;
                }
            }
            None => {
                if xx {
                    continue;
                }
                put_score(txn, key, member, None, s)?;
                incr_reply = Reply::Double(s);
                added += 1;
                count += 1;
            }
        }
    }
    finish_count(txn, key, &mut m, count, is_new)?;
    Ok(if incr { incr_reply } else { Reply::Int(added + if ch { updated } else { 0 }) })
}

pub(super) fn zincrby(txn: &mut dyn Write, cx: &Ctx, a: &[Vec<u8>]) -> R {
    let by = float_arg(&a[2])?;
    let key = &a[1];
    let old = typed_w(txn, cx, key, Type::ZSet)?;
    let is_new = old.is_none();
    let mut m = old.unwrap_or_else(|| Meta::new(Type::ZSet, 0u64.to_be_bytes().to_vec()));
    let cur = score_of(txn, key, &a[3])?;
    let new = cur.unwrap_or(0.0) + by;
    if new.is_nan() {
        return fail(NAN);
    }
    put_score(txn, key, &a[3], cur, new)?;
    let count = m.count() + u64::from(cur.is_none());
    finish_count(txn, key, &mut m, count, is_new)?;
    Ok(Reply::Double(new))
}

pub(super) fn zrem(txn: &mut dyn Write, cx: &Ctx, a: &[Vec<u8>]) -> R {
    let key = &a[1];
    let Some(mut m) = typed_w(txn, cx, key, Type::ZSet)? else { return Ok(Reply::Int(0)) };
    let mut n = 0;
    for member in &a[2..] {
        if let Some(s) = score_of(txn, key, member)? {
            remove(txn, key, member, s)?;
            n += 1;
        }
    }
    let count = m.count() - n;
    finish_count(txn, key, &mut m, count, false)?;
    Ok(Reply::Int(n as i64))
}

pub(super) fn zscore(txn: &dyn Read, cx: &Ctx, a: &[Vec<u8>]) -> R {
    if typed(txn, cx, &a[1], Type::ZSet)?.is_none() {
        return Ok(Reply::Nil);
    }
    Ok(score_of(txn, &a[1], &a[2])?.map_or(Reply::Nil, Reply::Double))
}

pub(super) fn zcard(txn: &dyn Read, cx: &Ctx, a: &[Vec<u8>]) -> R {
    Ok(Reply::Int(typed(txn, cx, &a[1], Type::ZSet)?.map_or(0, |m| m.count() as i64)))
}

/// One end of a score range: the value and whether it is excluded.
#[derive(Clone, Copy)]
struct Bound(f64, bool);

/// A range bound as Redis reads it: C's `strtod` over the whole rest, so leading spaces pass
/// and an empty number is 0 (`(` alone is "above 0").
fn parse_bound(b: &[u8]) -> Option<Bound> {
    let (ex, rest) = match b.strip_prefix(b"(") {
        Some(r) => (true, r),
        None => (false, b),
    };
    let start = rest.iter().position(|c| !c.is_ascii_whitespace()).unwrap_or(rest.len());
    if start == rest.len() {
        return (start == 0).then_some(Bound(0.0, ex));
    }
    parse_f64(&rest[start..]).map(|v| Bound(v, ex))
}

fn range_args(min: &[u8], max: &[u8]) -> Result<(Bound, Bound), E> {
    match (parse_bound(min), parse_bound(max)) {
        (Some(a), Some(b)) => Ok((a, b)),
        _ => fail("ERR min or max is not a float"),
    }
}

fn in_range(s: f64, min: Bound, max: Bound) -> bool {
    let above = if min.1 { s > min.0 } else { s >= min.0 };
    let below = if max.1 { s < max.0 } else { s <= max.0 };
    above && below
}

pub(super) fn zcount(txn: &dyn Read, cx: &Ctx, a: &[Vec<u8>]) -> R {
    let (min, max) = range_args(&a[2], &a[3])?;
    if typed(txn, cx, &a[1], Type::ZSet)?.is_none() {
        return Ok(Reply::Int(0));
    }
    let n = entries(txn, &a[1])?.into_iter().filter(|(_, s)| in_range(*s, min, max)).count();
    Ok(Reply::Int(n as i64))
}

fn rank(txn: &dyn Read, cx: &Ctx, a: &[Vec<u8>], rev: bool) -> R {
    if typed(txn, cx, &a[1], Type::ZSet)?.is_none() {
        return Ok(Reply::Nil);
    }
    let all = entries(txn, &a[1])?;
    Ok(match all.iter().position(|(m, _)| *m == a[2]) {
        None => Reply::Nil,
        Some(i) => Reply::Int(if rev { (all.len() - 1 - i) as i64 } else { i as i64 }),
    })
}

pub(super) fn zrank(txn: &dyn Read, cx: &Ctx, a: &[Vec<u8>]) -> R {
    rank(txn, cx, a, false)
}

pub(super) fn zrevrank(txn: &dyn Read, cx: &Ctx, a: &[Vec<u8>]) -> R {
    rank(txn, cx, a, true)
}

fn emit(items: Vec<(Vec<u8>, f64)>, scores: bool) -> Reply {
    if scores {
        Reply::Pairs(items.into_iter().map(|(m, s)| (Reply::Bulk(m), Reply::Double(s))).collect())
    } else {
        Reply::Array(items.into_iter().map(|(m, _)| Reply::Bulk(m)).collect())
    }
}

/// What a range call asks for.
struct Query {
    by_score: bool,
    rev: bool,
    scores: bool,
    limit: Option<(i64, i64)>,
}

fn range(txn: &dyn Read, cx: &Ctx, key: &[u8], start: &[u8], stop: &[u8], q: Query) -> R {
    if q.limit.is_some() && !q.by_score {
        return fail("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
    }
    if q.by_score {
        // With REV the first bound is the maximum.
        let (lo, hi) = if q.rev { (stop, start) } else { (start, stop) };
        let (min, max) = range_args(lo, hi)?;
        if typed(txn, cx, key, Type::ZSet)?.is_none() {
            return Ok(Reply::Array(vec![]));
        }
        let mut all: Vec<_> = entries(txn, key)?.into_iter().filter(|(_, s)| in_range(*s, min, max)).collect();
        if q.rev {
            all.reverse();
        }
        if let Some((off, count)) = q.limit {
            if off < 0 {
                return Ok(Reply::Array(vec![]));
            }
            let it = all.into_iter().skip(off as usize);
            all = if count < 0 { it.collect() } else { it.take(count as usize).collect() };
        }
        return Ok(emit(all, q.scores));
    }
    let (s, e) = (int_arg(start)?, int_arg(stop)?);
    if typed(txn, cx, key, Type::ZSet)?.is_none() {
        return Ok(Reply::Array(vec![]));
    }
    let mut all = entries(txn, key)?;
    if q.rev {
        all.reverse();
    }
    let Some((s, e)) = super::cmd_list::norm_range(s, e, all.len() as i64) else { return Ok(Reply::Array(vec![])) };
    Ok(emit(all.into_iter().skip(s as usize).take((e - s + 1) as usize).collect(), q.scores))
}

/// Reads WITHSCORES / LIMIT (and for ZRANGE: BYSCORE, REV) from `a[from..]`.
fn options(a: &[Vec<u8>], from: usize, extended: bool, limit_ok: bool) -> Result<Query, E> {
    let mut q = Query { by_score: false, rev: false, scores: false, limit: None };
    let mut i = from;
    while i < a.len() {
        let o = &a[i];
        if eq_ic(o, "withscores") {
            q.scores = true;
        } else if limit_ok && eq_ic(o, "limit") && i + 2 < a.len() {
            q.limit = Some((int_arg(&a[i + 1])?, int_arg(&a[i + 2])?));
            i += 2;
        } else if extended && eq_ic(o, "byscore") {
            q.by_score = true;
        } else if extended && eq_ic(o, "rev") {
            q.rev = true;
        } else if extended && eq_ic(o, "bylex") {
            return fail("ERR BYLEX is not supported by this server");
        } else {
            return fail(SYNTAX);
        }
        i += 1;
    }
    Ok(q)
}

pub(super) fn zrange(txn: &dyn Read, cx: &Ctx, a: &[Vec<u8>]) -> R {
    let q = options(a, 4, true, true)?;
    range(txn, cx, &a[1], &a[2], &a[3], q)
}

pub(super) fn zrevrange(txn: &dyn Read, cx: &Ctx, a: &[Vec<u8>]) -> R {
    let mut q = options(a, 4, false, false)?;
    q.rev = true;
    range(txn, cx, &a[1], &a[2], &a[3], q)
}

pub(super) fn zrangebyscore(txn: &dyn Read, cx: &Ctx, a: &[Vec<u8>]) -> R {
    let mut q = options(a, 4, false, true)?;
    q.by_score = true;
    range(txn, cx, &a[1], &a[2], &a[3], q)
}

pub(super) fn zrevrangebyscore(txn: &dyn Read, cx: &Ctx, a: &[Vec<u8>]) -> R {
    let mut q = options(a, 4, false, true)?;
    q.by_score = true;
    q.rev = true;
    range(txn, cx, &a[1], &a[2], &a[3], q)
}

pub(super) fn zremrangebyscore(txn: &mut dyn Write, cx: &Ctx, a: &[Vec<u8>]) -> R {
    let (min, max) = range_args(&a[2], &a[3])?;
    let key = &a[1];
    let Some(mut m) = typed_w(txn, cx, key, Type::ZSet)? else { return Ok(Reply::Int(0)) };
    let mut n = 0;
    for (member, s) in entries(txn, key)? {
        if in_range(s, min, max) {
            remove(txn, key, &member, s)?;
            n += 1;
        }
    }
    let count = m.count() - n;
    finish_count(txn, key, &mut m, count, false)?;
    Ok(Reply::Int(n as i64))
}
