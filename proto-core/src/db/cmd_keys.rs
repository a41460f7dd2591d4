//! Keys: DEL EXISTS EXPIRE PEXPIRE TTL PTTL PERSIST TYPE KEYS SCAN RENAME DBSIZE FLUSHDB, and
//! PING / ECHO.

use super::glob::matches;
use super::keyspace::{
    collect_family, collect_keys, delete_key, family_prefix, prefix_end, put_meta, read_meta, write_meta, Meta,
};
use super::{eq_ic, fail, int_arg, Ctx, Read, Reply, Write, E, NO_KEY, R, SYNTAX};

pub(super) fn del(txn: &mut dyn Write, cx: &Ctx, a: &[Vec<u8>]) -> R {
    let mut n = 0;
    for k in &a[1..] {
        if let Some(m) = write_meta(txn, k, cx.now_ms)? {
            delete_key(txn, k, &m)?;
            n += 1;
        }
    }
    Ok(Reply::Int(n))
}

pub(super) fn exists(txn: &dyn Read, cx: &Ctx, a: &[Vec<u8>]) -> R {
    let mut n = 0;
    for k in &a[1..] {
        n += i64::from(read_meta(txn, k, cx.now_ms)?.is_some());
    }
    Ok(Reply::Int(n))
}

fn expire_generic(txn: &mut dyn Write, cx: &Ctx, a: &[Vec<u8>], unit_ms: i64, name: &str) -> R {
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for o in &a[3..] {
        if eq_ic(o, "nx") {
            nx = true;
        } else if eq_ic(o, "xx") {
            xx = true;
        } else if eq_ic(o, "gt") {
            gt = true;
        } else if eq_ic(o, "lt") {
            lt = true;
        } else {
            return fail(&format!("ERR Unsupported option {}", String::from_utf8_lossy(o)));
        }
    }
    if nx && (xx || gt || lt) {
        return fail("ERR NX and XX, GT or LT options at the same time are not compatible");
    }
    if gt && lt {
        return fail("ERR GT and LT options at the same time are not compatible");
    }
    let n = int_arg(&a[2])?;
    let at = n.checked_mul(unit_ms).and_then(|ms| ms.checked_add(cx.now_ms as i64));
    let Some(at) = at else { return fail(&format!("ERR invalid expire time in '{name}' command")) };
    let Some(mut m) = write_meta(txn, &a[1], cx.now_ms)? else { return Ok(Reply::Int(0)) };
    // No expiry counts as an infinite one for GT and LT.
    let cur = if m.expire_at == 0 { i64::MAX } else { m.expire_at as i64 };
    let refused = (nx && m.expire_at != 0) || (xx && m.expire_at == 0) || (gt && at <= cur) || (lt && at >= cur);
    if refused {
        return Ok(Reply::Int(0));
    }
    if at <= cx.now_ms as i64 {
        delete_key(txn, &a[1], &m)?;
    } else {
        m.expire_at = at as u64;
        put_meta(txn, &a[1], &m, false)?;
    }
    Ok(Reply::Int(1))
}

pub(super) fn expire(txn: &mut dyn Write, cx: &Ctx, a: &[Vec<u8>]) -> R {
    expire_generic(txn, cx, a, 1000, "expire")
}

pub(super) fn pexpire(txn: &mut dyn Write, cx: &Ctx, a: &[Vec<u8>]) -> R {
    expire_generic(txn, cx, a, 1, "pexpire")
}

fn ttl_ms(txn: &dyn Read, cx: &Ctx, key: &[u8]) -> Result<i64, E> {
    Ok(match read_meta(txn, key, cx.now_ms)? {
        None => -2,
        Some(m) if m.expire_at == 0 => -1,
        Some(m) => (m.expire_at - cx.now_ms) as i64,
    })
}

pub(super) fn ttl(txn: &dyn Read, cx: &Ctx, a: &[Vec<u8>]) -> R {
    let t = ttl_ms(txn, cx, &a[1])?;
    Ok(Reply::Int(if t < 0 { t } else { (t + 500) / 1000 }))
}

pub(super) fn pttl(txn: &dyn Read, cx: &Ctx, a: &[Vec<u8>]) -> R {
    Ok(Reply::Int(ttl_ms(txn, cx, &a[1])?))
}

pub(super) fn persist(txn: &mut dyn Write, cx: &Ctx, a: &[Vec<u8>]) -> R {
    match write_meta(txn, &a[1], cx.now_ms)? {
        Some(mut m) if m.expire_at != 0 => {
            m.expire_at = 0;
            put_meta(txn, &a[1], &m, false)?;
            Ok(Reply::Int(1))
        }
        _ => Ok(Reply::Int(0)),
    }
}

pub(super) fn type_(txn: &dyn Read, cx: &Ctx, a: &[Vec<u8>]) -> R {
    let name = read_meta(txn, &a[1], cx.now_ms)?.map_or("none", |m| m.ty.name());
    Ok(Reply::Simple(name.into()))
}

/// Every live key with its meta, in key order.
fn live_keys(txn: &dyn Read, cx: &Ctx) -> Result<Vec<(Vec<u8>, Meta)>, E> {
    let mut out = Vec::new();
    let mut bad = None;
    txn.scan(b"k", b"l", &mut |k, v| match Meta::decode(v) {
        Ok(m) => {
            if !m.expired(cx.now_ms) {
                out.push((k[1..].to_vec(), m));
            }
            true
        }
        Err(e) => {
            bad = Some(e);
            false
        }
    })?;
    match bad {
        Some(e) => Err(E::Fault(e)),
        None => Ok(out),
    }
}

pub(super) fn keys(txn: &dyn Read, cx: &Ctx, a: &[Vec<u8>]) -> R {
    let all = live_keys(txn, cx)?;
    Ok(Reply::Array(all.into_iter().filter(|(k, _)| matches(&a[1], k)).map(|(k, _)| Reply::Bulk(k)).collect()))
}

pub(super) fn dbsize(txn: &dyn Read, cx: &Ctx, _a: &[Vec<u8>]) -> R {
    Ok(Reply::Int(live_keys(txn, cx)?.len() as i64))
}

/// SCAN's cursor: 0 starts and ends; otherwise 1 + the scan hash to resume from.
pub(crate) fn parse_cursor(b: &[u8]) -> Result<u64, E> {
    let s = core::str::from_utf8(b).ok();
    match s.and_then(|s| s.parse::<u64>().ok()) {
        Some(c) if !s.is_some_and(|s| s.starts_with('+')) => Ok(c),
        _ => fail("ERR invalid cursor"),
    }
}

/// (MATCH pattern, COUNT, TYPE).
pub(crate) type ScanOptions<'a> = (Option<&'a [u8]>, usize, Option<&'a [u8]>);

/// MATCH, COUNT and (for SCAN) TYPE options from `a[from..]`.
pub(crate) fn scan_options(a: &[Vec<u8>], from: usize, allow_type: bool) -> Result<ScanOptions<'_>, E> {
    let (mut pat, mut count, mut ty) = (None, 10usize, None);
    let mut i = from;
    while i < a.len() {
        let Some(v) = a.get(i + 1) else { return fail(SYNTAX) };
        if eq_ic(&a[i], "match") {
            pat = Some(v.as_slice()).filter(|p| *p != b"*");
        } else if eq_ic(&a[i], "count") {
            let n = int_arg(v)?;
            if n < 1 {
                return fail(SYNTAX);
            }
            count = n as usize;
        } else if allow_type && eq_ic(&a[i], "type") {
            ty = Some(v.as_slice());
        } else {
            return fail(SYNTAX);
        }
        i += 2;
    }
    Ok((pat, count, ty))
}

pub(super) fn scan(txn: &dyn Read, cx: &Ctx, a: &[Vec<u8>]) -> R {
    let cursor = parse_cursor(&a[1])?;
    let (pat, count, ty) = scan_options(a, 2, true)?;
    let start_hash = cursor.saturating_sub(1);
    let mut from = b"x".to_vec();
    from.extend_from_slice(&start_hash.to_be_bytes());
    let mut seen: Vec<Vec<u8>> = Vec::new();
    let mut next = 0u64;
    txn.scan(&from, b"y", &mut |k, _| {
        let hash = u64::from_be_bytes(k[1..9].try_into().unwrap_or([0; 8]));
        if seen.len() >= count {
            next = hash + 1;
            return false;
        }
        seen.push(k[9..].to_vec());
        true
    })?;
    let mut out = Vec::new();
    for key in seen {
        let Some(m) = read_meta(txn, &key, cx.now_ms)? else { continue };
        if pat.is_some_and(|p| !matches(p, &key)) || ty.is_some_and(|t| !eq_ic(t, m.ty.name())) {
            continue;
        }
        out.push(Reply::Bulk(key));
    }
    Ok(Reply::Array(vec![Reply::bulk(next.to_string()), Reply::Array(out)]))
}

pub(super) fn rename(txn: &mut dyn Write, cx: &Ctx, a: &[Vec<u8>]) -> R {
    let (src, dst) = (&a[1], &a[2]);
    let Some(m) = write_meta(txn, src, cx.now_ms)? else { return fail(NO_KEY) };
    if src == dst {
        return Ok(Reply::ok());
    }
    let mut elements = Vec::new();
    for fam in [b'h', b'l', b's', b'z', b'Z'] {
        for (sub, v) in collect_family(txn, &family_prefix(fam, src))? {
            elements.push((fam, sub, v));
        }
    }
    if let Some(old) = write_meta(txn, dst, cx.now_ms)? {
        delete_key(txn, dst, &old)?;
    }
    delete_key(txn, src, &m)?;
    for (fam, sub, v) in elements {
        let mut k = family_prefix(fam, dst);
        k.extend_from_slice(&sub);
        txn.put(&k, &v)?;
    }
    put_meta(txn, dst, &m, true)?;
    Ok(Reply::ok())
}

pub(super) fn flushdb(txn: &mut dyn Write, _cx: &Ctx, a: &[Vec<u8>]) -> R {
    match a.get(1) {
        None => {}
        Some(o) if a.len() == 2 && (eq_ic(o, "async") || eq_ic(o, "sync")) => {}
        Some(_) => return fail(SYNTAX),
    }
    for k in collect_keys(txn, b"", &prefix_end(b"\xfe"))? {
        txn.del(&k)?;
    }
    Ok(Reply::ok())
}

pub(super) fn ping(_txn: &dyn Read, _cx: &Ctx, a: &[Vec<u8>]) -> R {
    match a.len() {
        1 => Ok(Reply::Simple("PONG".into())),
        2 => Ok(Reply::Bulk(a[1].clone())),
        _ => fail("ERR wrong number of arguments for 'ping' command"),
    }
}

pub(super) fn echo(_txn: &dyn Read, _cx: &Ctx, a: &[Vec<u8>]) -> R {
    Ok(Reply::Bulk(a[1].clone()))
}
