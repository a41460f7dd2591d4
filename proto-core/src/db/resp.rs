//! RESP2, the Redis wire protocol: requests (multibulk and inline) in, replies out. Pure
//! functions over byte buffers; the runtime owns the sockets.

/// Longest bulk argument accepted (Redis's `proto-max-bulk-len` default).
pub const MAX_BULK: usize = 512 * 1024 * 1024;
/// Most arguments in one request.
pub const MAX_ARGS: usize = 1024 * 1024;
/// Longest inline request line (Redis: 64 KiB).
pub const MAX_INLINE: usize = 64 * 1024;

/// A reply value.
#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Vec<u8>),
    Nil,
    Array(Vec<Reply>),
    NilArray,
    /// A map (HGETALL, HELLO): RESP3 `%`, a flat array in RESP2.
    Map(Vec<(Reply, Reply)>),
    /// A set (SMEMBERS, SINTER…): RESP3 `~`, an array in RESP2.
    Set(Vec<Reply>),
    /// A double (ZSCORE…): RESP3 `,`, a bulk string printed like `%.17g` in RESP2.
    Double(f64),
    /// An array of bulk strings stored back to back (`ends[i]` = end of the i-th): what LRANGE
    /// returns, without an allocation per element.
    Bulks {
        bytes: Vec<u8>,
        ends: Vec<u32>,
    },
    /// Pairs (… WITHSCORES): RESP3 an array of two-element arrays, RESP2 one flat array.
    Pairs(Vec<(Reply, Reply)>),
}

impl Reply {
    pub fn ok() -> Reply {
        Reply::Simple("OK".into())
    }
    pub fn err(text: impl Into<String>) -> Reply {
        Reply::Error(text.into())
    }
    pub fn bulk(b: impl AsRef<[u8]>) -> Reply {
        Reply::Bulk(b.as_ref().to_vec())
    }
    pub fn is_error(&self) -> bool {
        matches!(self, Reply::Error(_))
    }

    /// Appends the RESP2 encoding of the reply to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        self.encode_as(out, 2)
    }

    /// Appends the reply in protocol version 2 or 3.
    pub fn encode_as(&self, out: &mut Vec<u8>, proto: u8) {
        let v3 = proto >= 3;
        match self {
            Reply::Nil | Reply::NilArray if v3 => out.extend_from_slice(b"_\r\n"),
            Reply::Map(kv) => {
                num_line(out, if v3 { b'%' } else { b'*' }, (kv.len() * if v3 { 1 } else { 2 }) as i64);
                for (k, v) in kv {
                    k.encode_as(out, proto);
                    v.encode_as(out, proto);
                }
            }
            Reply::Pairs(kv) => {
                num_line(out, b'*', (kv.len() * if v3 { 1 } else { 2 }) as i64);
                for (k, v) in kv {
                    if v3 {
                        out.extend_from_slice(b"*2\r\n");
                    }
                    k.encode_as(out, proto);
                    v.encode_as(out, proto);
                }
            }
            Reply::Set(items) => {
                num_line(out, if v3 { b'~' } else { b'*' }, items.len() as i64);
                for i in items {
                    i.encode_as(out, proto);
                }
            }
            Reply::Double(d) => {
                let text = super::num::fmt_f64(*d);
                if v3 {
                    line(out, b',', text.as_bytes());
                } else {
                    Reply::Bulk(text.into_bytes()).encode_as(out, proto);
                }
            }
            Reply::Bulks { bytes, ends } => {
                num_line(out, b'*', ends.len() as i64);
                let mut start = 0;
                for &end in ends {
                    let b = &bytes[start..end as usize];
                    num_line(out, b'$', b.len() as i64);
                    out.extend_from_slice(b);
                    out.extend_from_slice(b"\r\n");
                    start = end as usize;
                }
            }
            Reply::Array(items) => {
                num_line(out, b'*', items.len() as i64);
                for i in items {
                    i.encode_as(out, proto);
                }
            }
            Reply::Simple(s) => line(out, b'+', s.as_bytes()),
            Reply::Error(s) => line(out, b'-', s.as_bytes()),
            Reply::Int(n) => num_line(out, b':', *n),
            Reply::Bulk(b) => {
                num_line(out, b'$', b.len() as i64);
                out.extend_from_slice(b);
                out.extend_from_slice(b"\r\n");
            }
            Reply::Nil => out.extend_from_slice(b"$-1\r\n"),
            Reply::NilArray => out.extend_from_slice(b"*-1\r\n"),
        }
    }
}

/// Appends `tag`, the decimal digits of `n` and CRLF (no allocation: this is the hot path).
fn num_line(out: &mut Vec<u8>, tag: u8, n: i64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut v = n.unsigned_abs();
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.push(tag);
    if n < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&digits[i..]);
    out.extend_from_slice(b"\r\n");
}

fn line(out: &mut Vec<u8>, tag: u8, body: &[u8]) {
    out.push(tag);
    // Simple strings and errors cannot carry line breaks.
    out.extend(body.iter().map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c }));
    out.extend_from_slice(b"\r\n");
}

/// A parsed request: its words and how many bytes it took.
pub type Request = (Vec<Vec<u8>>, usize);

/// A protocol error: the connection is answered with this text and closed, as Redis does.
#[derive(Debug, PartialEq)]
pub struct ProtocolError(pub String);

/// Parses one request from the front of `buf`. `Ok(None)`: more bytes are needed.
/// `Ok(Some((args, used)))`: a request and the bytes it took (an empty line gives no args).
pub fn parse_request(buf: &[u8]) -> Result<Option<Request>, ProtocolError> {
    if buf.is_empty() {
        return Ok(None);
    }
    if buf[0] != b'*' {
        return parse_inline(buf);
    }
    let Some((n, mut pos)) = read_number(buf, 1, "multibulk length")? else { return Ok(None) };
    if n > MAX_ARGS as i64 {
        return Err(ProtocolError("Protocol error: invalid multibulk length".into()));
    }
    let n = n.max(0) as usize;
    let mut args = Vec::with_capacity(n.min(64));
    for _ in 0..n {
        if pos >= buf.len() {
            return Ok(None);
        }
        if buf[pos] != b'$' {
            return Err(ProtocolError(format!("Protocol error: expected '$', got '{}'", buf[pos] as char)));
        }
        let Some((len, p)) = read_number(buf, pos + 1, "bulk length")? else { return Ok(None) };
        if len < 0 || len as usize > MAX_BULK {
            return Err(ProtocolError("Protocol error: invalid bulk length".into()));
        }
        let len = len as usize;
        if buf.len() < p + len + 2 {
            return Ok(None);
        }
        if &buf[p + len..p + len + 2] != b"\r\n" {
            return Err(ProtocolError("Protocol error: bulk not terminated by CRLF".into()));
        }
        args.push(buf[p..p + len].to_vec());
        pos = p + len + 2;
    }
    Ok(Some((args, pos)))
}

/// Reads a decimal number terminated by CRLF starting at `at`; returns it and the position after CRLF.
fn read_number(buf: &[u8], at: usize, what: &str) -> Result<Option<(i64, usize)>, ProtocolError> {
    let Some(end) = find_crlf(buf, at) else {
        if buf.len() - at > 32 {
            return Err(ProtocolError(format!("Protocol error: too big {what}")));
        }
        return Ok(None);
    };
    let n =
        super::num::parse_i64(&buf[at..end]).ok_or_else(|| ProtocolError(format!("Protocol error: invalid {what}")))?;
    Ok(Some((n, end + 2)))
}

fn find_crlf(buf: &[u8], from: usize) -> Option<usize> {
    buf.get(from..)?.windows(2).position(|w| w == b"\r\n").map(|p| p + from)
}

fn parse_inline(buf: &[u8]) -> Result<Option<Request>, ProtocolError> {
    let Some(nl) = buf.iter().position(|&c| c == b'\n') else {
        if buf.len() > MAX_INLINE {
            return Err(ProtocolError("Protocol error: too big inline request".into()));
        }
        return Ok(None);
    };
    let line = &buf[..nl];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let args =
        split_inline(line).ok_or_else(|| ProtocolError("Protocol error: unbalanced quotes in request".into()))?;
    Ok(Some((args, nl + 1)))
}

/// Splits an inline line into arguments: spaces separate, double quotes (with \-escapes) and
/// single quotes group, as `redis-cli` and Redis's `sdssplitargs` do.
pub fn split_inline(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut args = Vec::new();
    let mut i = 0;
    while i < line.len() {
        while i < line.len() && line[i].is_ascii_whitespace() {
            i += 1;
        }
        if i == line.len() {
            break;
        }
        let mut cur = Vec::new();
        match line[i] {
            b'"' => {
                i += 1;
                loop {
                    let c = *line.get(i)?;
                    i += 1;
                    match c {
                        b'"' => break,
                        b'\\' => {
                            let e = *line.get(i)?;
                            i += 1;
                            match e {
                                b'n' => cur.push(b'\n'),
                                b'r' => cur.push(b'\r'),
                                b't' => cur.push(b'\t'),
                                b'x' if i + 1 < line.len() => {
                                    let h = core::str::from_utf8(&line[i..i + 2]).ok();
                                    match h.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                                        Some(b) => {
                                            cur.push(b);
                                            i += 2;
                                        }
                                        None => cur.push(b'x'),
                                    }
                                }
                                other => cur.push(other),
                            }
                        }
                        other => cur.push(other),
                    }
                }
                if line.get(i).is_some_and(|c| !c.is_ascii_whitespace()) {
                    return None;
                }
            }
            b'\'' => {
                i += 1;
                loop {
                    let c = *line.get(i)?;
                    i += 1;
                    match c {
                        b'\'' => break,
                        b'\\' if line.get(i) == Some(&b'\'') => {
                            cur.push(b'\'');
                            i += 1;
                        }
                        other => cur.push(other),
                    }
                }
                if line.get(i).is_some_and(|c| !c.is_ascii_whitespace()) {
                    return None;
                }
            }
            _ => {
                while i < line.len() && !line[i].is_ascii_whitespace() {
                    cur.push(line[i]);
                    i += 1;
                }
            }
        }
        args.push(cur);
    }
    Some(args)
}

/// Parses one reply (for clients and tests). `Ok(None)`: more bytes are needed.
pub fn parse_reply(buf: &[u8]) -> Result<Option<(Reply, usize)>, ProtocolError> {
    if buf.is_empty() {
        return Ok(None);
    }
    let Some(end) = find_crlf(buf, 1) else { return Ok(None) };
    let text = &buf[1..end];
    let next = end + 2;
    let s = || String::from_utf8_lossy(text).into_owned();
    let num = || super::num::parse_i64(text).ok_or_else(|| ProtocolError("Protocol error: bad number".into()));
    match buf[0] {
        b'+' => Ok(Some((Reply::Simple(s()), next))),
        b'-' => Ok(Some((Reply::Error(s()), next))),
        b':' => Ok(Some((Reply::Int(num()?), next))),
        b'$' => {
            let n = num()?;
            if n < 0 {
                return Ok(Some((Reply::Nil, next)));
            }
            let n = n as usize;
            if n > MAX_BULK {
                return Err(ProtocolError("Protocol error: bulk too long".into()));
            }
            if buf.len() < next + n + 2 {
                return Ok(None);
            }
            Ok(Some((Reply::Bulk(buf[next..next + n].to_vec()), next + n + 2)))
        }
        b'*' => {
            let n = num()?;
            if n < 0 {
                return Ok(Some((Reply::NilArray, next)));
            }
            let mut items = Vec::new();
            let mut pos = next;
            for _ in 0..n {
                match parse_reply(&buf[pos..])? {
                    Some((r, used)) => {
                        items.push(r);
                        pos += used;
                    }
                    None => return Ok(None),
                }
            }
            Ok(Some((Reply::Array(items), pos)))
        }
        b'_' => Ok(Some((Reply::Nil, next))),
        b',' => {
            let t = String::from_utf8_lossy(text);
            let d = match &*t {
                "inf" => f64::INFINITY,
                "-inf" => f64::NEG_INFINITY,
                t => t.parse().map_err(|_| ProtocolError("Protocol error: bad double".into()))?,
            };
            Ok(Some((Reply::Double(d), next)))
        }
        b'%' | b'~' => {
            let n = num()?.max(0) as usize;
            let per = if buf[0] == b'%' { 2 } else { 1 };
            let mut items = Vec::new();
            let mut pos = next;
            for _ in 0..n * per {
                match parse_reply(&buf[pos..])? {
                    Some((r, used)) => {
                        items.push(r);
                        pos += used;
                    }
                    None => return Ok(None),
                }
            }
            let r = if per == 2 {
                let mut kv = Vec::new();
                let mut it = items.into_iter();
                while let (Some(k), Some(v)) = (it.next(), it.next()) {
                    kv.push((k, v));
                }
                Reply::Map(kv)
            } else {
                Reply::Set(items)
            };
            Ok(Some((r, pos)))
        }
        c => Err(ProtocolError(format!("Protocol error: unknown reply type '{}'", c as char))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multibulk_requests_parse_whole_or_wait() {
        let req = b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n";
        for cut in 0..req.len() {
            assert_eq!(parse_request(&req[..cut]).unwrap(), None, "cut at {cut}");
        }
        let (args, used) = parse_request(req).unwrap().unwrap();
        assert_eq!(args, vec![b"GET".to_vec(), b"k".to_vec()]);
        assert_eq!(used, req.len());
    }

    #[test]
    fn inline_requests_split_with_quotes() {
        let line = b"set \"a b\" 'c\\'d' \"\\x41\\n\"\r\n";
        let mut buf = line.to_vec();
        buf.extend_from_slice(b"rest");
        let (args, used) = parse_request(&buf).unwrap().unwrap();
        assert_eq!(args, vec![b"set".to_vec(), b"a b".to_vec(), b"c'd".to_vec(), b"A\n".to_vec()]);
        assert_eq!(used, line.len());
        assert!(parse_request(b"set \"a\r\n").is_err());
    }

    #[test]
    fn bad_lengths_are_protocol_errors() {
        assert!(parse_request(b"*x\r\n").is_err());
        assert!(parse_request(b"*1\r\n$-5\r\n").is_err());
        assert!(parse_request(b"*1\r\n:1\r\n").is_err());
        assert!(parse_request(b"*1\r\n$1\r\nab\r\n").is_err());
    }

    #[test]
    fn replies_round_trip() {
        let r = Reply::Array(vec![
            Reply::ok(),
            Reply::err("ERR x"),
            Reply::Int(-3),
            Reply::bulk("v"),
            Reply::Nil,
            Reply::NilArray,
            Reply::Array(vec![]),
        ]);
        let mut out = Vec::new();
        r.encode(&mut out);
        let (back, used) = parse_reply(&out).unwrap().unwrap();
        assert_eq!(back, r);
        assert_eq!(used, out.len());
    }
}
