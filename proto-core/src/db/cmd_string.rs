//! Strings: SET GET GETSET MGET MSET INCR DECR INCRBY DECRBY APPEND STRLEN.

use super::keyspace::{delete_key, put_meta, read_meta, write_meta, Meta, Type};
use super::{eq_ic, fail, int_arg, typed, typed_w, Ctx, Read, Reply, Write, NOT_INT, OVERFLOW, R, SYNTAX};

/// Replaces whatever `key` holds with the string `value` (expiry `expire_at`, 0 = none).
pub(crate) fn store(txn: &mut dyn Write, cx: &Ctx, key: &[u8], value: &[u8], expire_at: u64) -> Result<(), super::E> {
    let old = write_meta(txn, key, cx.now_ms)?;
    if let Some(m) = &old {
        if m.ty != Type::String {
            delete_key(txn, key, m)?;
        }
    }
    let new = old.as_ref().is_none_or(|m| m.ty != Type::String);
    let m = Meta { ty: Type::String, expire_at, payload: value.to_vec() };
    put_meta(txn, key, &m, new)?;
    Ok(())
}

pub(super) fn set(txn: &mut dyn Write, cx: &Ctx, a: &[Vec<u8>]) -> R {
    let (mut nx, mut xx, mut get, mut keepttl) = (false, false, false, false);
    // (unit, value) of EX/PX/EXAT/PXAT; the value is read after all options, as Redis does.
    let mut expire_arg: Option<(&str, &[u8])> = None;
    let mut i = 3;
    while i < a.len() {
        let o = &a[i];
        let unit = ["ex", "px", "exat", "pxat"].into_iter().find(|u| eq_ic(o, u));
        if eq_ic(o, "nx") && !xx {
            nx = true;
        } else if eq_ic(o, "xx") && !nx {
            xx = true;
        } else if eq_ic(o, "get") {
            get = true;
        } else if eq_ic(o, "keepttl") && expire_arg.is_none() {
            keepttl = true;
        } else if let (Some(unit), Some(v), None, false) = (unit, a.get(i + 1), expire_arg, keepttl) {
            expire_arg = Some((unit, v));
            i += 1;
        } else {
            return fail(SYNTAX);
        }
        i += 1;
    }
    let mut expire: Option<u64> = None;
    if let Some((unit, v)) = expire_arg {
        let n = int_arg(v)?;
        let bad = || fail("ERR invalid expire time in 'set' command");
        if n <= 0 {
            return bad();
        }
        let now = cx.now_ms as i64;
        let at = match unit {
            "ex" => n.checked_mul(1000).and_then(|ms| ms.checked_add(now)),
            "px" => n.checked_add(now),
            "exat" => n.checked_mul(1000),
            _ => Some(n),
        };
        match at {
            Some(at) => expire = Some(at as u64),
            None => return bad(),
        }
    }
    let key = &a[1];
    let old = write_meta(txn, key, cx.now_ms)?;
    let old_reply = if get {
        match &old {
            None => Reply::Nil,
            Some(m) if m.ty == Type::String => Reply::Bulk(m.payload.clone()),
            Some(_) => return fail(super::WRONGTYPE),
        }
    } else {
        Reply::ok()
    };
    if (nx && old.is_some()) || (xx && old.is_none()) {
        return Ok(if get { old_reply } else { Reply::Nil });
    }
    let at = match expire {
        // An absolute time in the past deletes the key, as Redis does.
        Some(at) if at <= cx.now_ms => {
            if let Some(m) = &old {
                delete_key(txn, key, m)?;
            }
            return Ok(old_reply);
        }
        Some(at) => at,
        None if keepttl => old.as_ref().map_or(0, |m| m.expire_at),
        None => 0,
    };
    store(txn, cx, key, &a[2], at)?;
    Ok(old_reply)
}

pub(super) fn get(txn: &dyn Read, cx: &Ctx, a: &[Vec<u8>]) -> R {
    Ok(typed(txn, cx, &a[1], Type::String)?.map_or(Reply::Nil, |m| Reply::Bulk(m.payload)))
}

pub(super) fn getset(txn: &mut dyn Write, cx: &Ctx, a: &[Vec<u8>]) -> R {
    let old = typed_w(txn, cx, &a[1], Type::String)?;
    store(txn, cx, &a[1], &a[2], 0)?;
    Ok(old.map_or(Reply::Nil, |m| Reply::Bulk(m.payload)))
}

pub(super) fn mget(txn: &dyn Read, cx: &Ctx, a: &[Vec<u8>]) -> R {
    let mut out = Vec::with_capacity(a.len() - 1);
    for k in &a[1..] {
        out.push(match read_meta(txn, k, cx.now_ms)? {
            Some(m) if m.ty == Type::String => Reply::Bulk(m.payload),
            _ => Reply::Nil,
        });
    }
    Ok(Reply::Array(out))
}

pub(super) fn mset(txn: &mut dyn Write, cx: &Ctx, a: &[Vec<u8>]) -> R {
    if a.len().is_multiple_of(2) {
        return fail("ERR wrong number of arguments for 'mset' command");
    }
    for kv in a[1..].chunks(2) {
        store(txn, cx, &kv[0], &kv[1], 0)?;
    }
    Ok(Reply::ok())
}

fn incr_by(txn: &mut dyn Write, cx: &Ctx, key: &[u8], by: i64) -> R {
    let old = typed_w(txn, cx, key, Type::String)?;
    let cur = match &old {
        None => 0,
        Some(m) => match super::num::parse_i64(&m.payload) {
            Some(v) => v,
            None => return fail(NOT_INT),
        },
    };
    let Some(v) = cur.checked_add(by) else { return fail(OVERFLOW) };
    let m = Meta {
        ty: Type::String,
        expire_at: old.as_ref().map_or(0, |m| m.expire_at),
        payload: v.to_string().into_bytes(),
    };
    put_meta(txn, key, &m, old.is_none())?;
    Ok(Reply::Int(v))
}

pub(super) fn incr(txn: &mut dyn Write, cx: &Ctx, a: &[Vec<u8>]) -> R {
    incr_by(txn, cx, &a[1], 1)
}

pub(super) fn decr(txn: &mut dyn Write, cx: &Ctx, a: &[Vec<u8>]) -> R {
    incr_by(txn, cx, &a[1], -1)
}

pub(super) fn incrby(txn: &mut dyn Write, cx: &Ctx, a: &[Vec<u8>]) -> R {
    let by = int_arg(&a[2])?;
    incr_by(txn, cx, &a[1], by)
}

pub(super) fn decrby(txn: &mut dyn Write, cx: &Ctx, a: &[Vec<u8>]) -> R {
    let by = int_arg(&a[2])?;
    let Some(neg) = by.checked_neg() else { return fail("ERR decrement would overflow") };
    incr_by(txn, cx, &a[1], neg)
}

pub(super) fn append(txn: &mut dyn Write, cx: &Ctx, a: &[Vec<u8>]) -> R {
    let old = typed_w(txn, cx, &a[1], Type::String)?;
    let new = old.is_none();
    let mut m = old.unwrap_or_else(|| Meta::new(Type::String, Vec::new()));
    m.payload.extend_from_slice(&a[2]);
    put_meta(txn, &a[1], &m, new)?;
    Ok(Reply::Int(m.payload.len() as i64))
}

pub(super) fn strlen(txn: &dyn Read, cx: &Ctx, a: &[Vec<u8>]) -> R {
    Ok(Reply::Int(typed(txn, cx, &a[1], Type::String)?.map_or(0, |m| m.payload.len() as i64)))
}
