//! The request head of HTTP/1.1 (RFC 9112 §2–5), parsed from bytes as they arrive: no I/O, a
//! limit on every part, and an error that says which status to answer with.

/// The bounds of one request head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeadLimits {
    /// The request line (method, target, version), without its CRLF: 414 above it.
    pub max_line: usize,
    /// The whole head, request line included: 431 above it.
    pub max_head: usize,
    /// Header fields: 431 above it.
    pub max_headers: usize,
}

impl Default for HeadLimits {
    fn default() -> Self {
        HeadLimits { max_line: 8 << 10, max_head: 64 << 10, max_headers: 100 }
    }
}

/// A parsed request head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Head {
    pub method: String,
    /// The request target as sent (origin form: path and query).
    pub target: String,
    /// HTTP/1.1 (true) or HTTP/1.0.
    pub http11: bool,
    /// Fields in order; names as sent, values trimmed. A value's bytes outside ASCII are kept as
    /// Latin-1 characters (RFC 9110 §5.5 obs-text).
    pub headers: Vec<(String, String)>,
}

/// Why a head was refused, with the status to answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeadError {
    pub status: u16,
    pub message: String,
}

fn err(status: u16, message: impl Into<String>) -> HeadError {
    HeadError { status, message: message.into() }
}

impl Head {
    /// The first field named `name` (names ignore case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Whether a comma-separated field (`Connection`, `Upgrade`) lists `token`.
    pub fn lists(&self, name: &str, token: &str) -> bool {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .any(|(_, v)| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    }

    /// The connection stays open after the response.
    pub fn keep_alive(&self) -> bool {
        if self.http11 {
            !self.lists("Connection", "close")
        } else {
            self.lists("Connection", "keep-alive")
        }
    }

    /// The body that follows the head.
    pub fn body(&self) -> Result<BodyKind, HeadError> {
        if let Some(te) = self.header("Transfer-Encoding") {
            if self.header("Content-Length").is_some() {
                // RFC 9112 §6.1: a request with both is a smuggling attempt.
                return Err(err(400, "a request may not carry both Transfer-Encoding and Content-Length"));
            }
            let last = te.rsplit(',').next().unwrap_or_default().trim();
            if !last.eq_ignore_ascii_case("chunked") {
                return Err(err(501, format!("transfer coding \"{te}\" is not supported")));
            }
            return Ok(BodyKind::Chunked);
        }
        let mut len = None;
        for (n, v) in &self.headers {
            if n.eq_ignore_ascii_case("Content-Length") {
                let v = v.trim();
                if v.is_empty() || v.len() > 19 || !v.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(err(400, format!("Content-Length \"{v}\" is not a number")));
                }
                let n: u64 = v.parse().map_err(|_| err(400, "Content-Length is out of range"))?;
                if len.is_some_and(|l| l != n) {
                    return Err(err(400, "two different Content-Length fields"));
                }
                len = Some(n);
            }
        }
        Ok(BodyKind::Length(len.unwrap_or(0)))
    }
}

/// How the body of a request is framed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyKind {
    Length(u64),
    Chunked,
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Parses the head at the start of `buf`. `Ok(None)`: not complete yet (and within the limits
/// so far); `Ok(Some((head, n)))`: the head took `n` bytes. Empty lines before the request line
/// are skipped (RFC 9112 §2.2).
pub fn parse(buf: &[u8], limits: &HeadLimits) -> Result<Option<(Head, usize)>, HeadError> {
    let mut start = 0;
    while buf[start..].starts_with(b"\r\n") {
        start += 2;
    }
    if buf[start..].first() == Some(&b'\n') {
        start += 1;
    }
    let rest = &buf[start..];
    // The request line.
    let Some(line_end) = rest.iter().position(|&b| b == b'\n') else {
        if rest.len() > limits.max_line {
            return Err(err(414, format!("the request line is over the {}-byte limit", limits.max_line)));
        }
        return Ok(None);
    };
    let line = strip_cr(&rest[..line_end]);
    if line.len() > limits.max_line {
        return Err(err(414, format!("the request line is over the {}-byte limit", limits.max_line)));
    }
    let (method, target, http11) = request_line(line)?;
    // The header fields, up to the empty line.
    let mut pos = line_end + 1;
    let mut headers = Vec::new();
    loop {
        if pos > limits.max_head {
            return Err(err(431, format!("the request head is over the {}-byte limit", limits.max_head)));
        }
        let Some(end) = rest[pos..].iter().position(|&b| b == b'\n') else {
            if rest.len() > limits.max_head {
                return Err(err(431, format!("the request head is over the {}-byte limit", limits.max_head)));
            }
            return Ok(None);
        };
        let field = strip_cr(&rest[pos..pos + end]);
        pos += end + 1;
        if pos > limits.max_head {
            return Err(err(431, format!("the request head is over the {}-byte limit", limits.max_head)));
        }
        if field.is_empty() {
            break;
        }
        if headers.len() >= limits.max_headers {
            return Err(err(431, format!("the request has more than {} header fields", limits.max_headers)));
        }
        if matches!(field[0], b' ' | b'\t') {
            return Err(err(400, "obsolete line folding in a header field"));
        }
        let colon = field.iter().position(|&b| b == b':').ok_or_else(|| err(400, "a header field without ':'"))?;
        let name = &field[..colon];
        if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
            return Err(err(400, "a header field name is not a token"));
        }
        let value = trim_ows(&field[colon + 1..]);
        if value.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f) {
            return Err(err(400, "a control character in a header field value"));
        }
        // Names are tchars (ASCII); values map each byte to the char of that code point.
        let name = String::from_utf8_lossy(name).into_owned();
        headers.push((name, value.iter().map(|&b| b as char).collect()));
    }
    Ok(Some((Head { method, target, http11, headers }, start + pos)))
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn trim_ows(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

fn request_line(line: &[u8]) -> Result<(String, String, bool), HeadError> {
    let mut parts = line.split(|&b| b == b' ');
    let (Some(method), Some(target), Some(version), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(err(400, "the request line is not \"METHOD target HTTP/1.1\""));
    };
    if method.is_empty() || !method.iter().all(|&b| is_tchar(b)) {
        return Err(err(400, "the request method is not a token"));
    }
    if target.is_empty() || !target.iter().all(|&b| b.is_ascii_graphic()) {
        return Err(err(400, "the request target has a character that must be percent-encoded"));
    }
    let http11 = match version {
        b"HTTP/1.1" => true,
        b"HTTP/1.0" => false,
        v if v.starts_with(b"HTTP/") => return Err(err(505, "only HTTP/1.0 and HTTP/1.1 are served")),
        _ => return Err(err(400, "the request line does not end with an HTTP version")),
    };
    // Every byte checked above is ASCII.
    let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    Ok((s(method), s(target), http11))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(b: &[u8]) -> (Head, usize) {
        parse(b, &HeadLimits::default()).unwrap().unwrap()
    }

    fn status(b: &[u8], l: &HeadLimits) -> u16 {
        parse(b, l).unwrap_err().status
    }

    #[test]
    fn a_head_is_parsed_and_its_length_reported() {
        let raw = b"\r\nGET /ipfs/Qm?x=1 HTTP/1.1\r\nHost: a:1\r\nX-Y:  v w \t\r\n\r\nBODY";
        let (h, n) = ok(raw);
        assert_eq!(&raw[n..], b"BODY");
        assert_eq!((h.method.as_str(), h.target.as_str(), h.http11), ("GET", "/ipfs/Qm?x=1", true));
        assert_eq!(h.header("host"), Some("a:1"));
        assert_eq!(h.header("x-y"), Some("v w"));
        assert!(h.keep_alive());
        // Bare LF line ends are accepted (RFC 9112 §2.2).
        let (h, _) = ok(b"POST /api/Id HTTP/1.0\nContent-Length: 5\n\n");
        assert_eq!(h.body().unwrap(), BodyKind::Length(5));
        assert!(!h.keep_alive());
    }

    #[test]
    fn incomplete_heads_wait_for_more() {
        let raw = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        for cut in 0..raw.len() {
            assert_eq!(parse(&raw[..cut], &HeadLimits::default()).unwrap(), None, "cut at {cut}");
        }
    }

    #[test]
    fn limits_answer_414_and_431() {
        let l = HeadLimits { max_line: 32, max_head: 128, max_headers: 3 };
        // Too long a line is refused before its end arrives.
        assert_eq!(status(&[b'G'; 40], &l), 414);
        assert_eq!(status(format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(40)).as_bytes(), &l), 414);
        let many = "GET / HTTP/1.1\r\na: 1\r\nb: 2\r\nc: 3\r\nd: 4\r\n\r\n";
        assert_eq!(status(many.as_bytes(), &l), 431);
        let big = format!("GET / HTTP/1.1\r\na: {}", "v".repeat(200));
        assert_eq!(status(big.as_bytes(), &l), 431);
    }

    #[test]
    fn bad_heads_are_refused_with_a_status() {
        let l = HeadLimits::default();
        for (raw, want) in [
            (&b"GET /\r\n\r\n"[..], 400),
            (b"GET / HTTP/2.0\r\n\r\n", 505),
            (b"GE(T / HTTP/1.1\r\n\r\n", 400),
            (b"GET /a b HTTP/1.1\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nno colon\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nA: 1\r\n folded\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nA\x01: 1\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nA: \x00\r\n\r\n", 400),
        ] {
            assert_eq!(status(raw, &l), want, "{:?}", String::from_utf8_lossy(raw));
        }
        let (h, _) = ok(b"POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n");
        assert_eq!(h.body().unwrap_err().status, 400);
        let (h, _) = ok(b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n");
        assert_eq!(h.body().unwrap_err().status, 400);
        let (h, _) = ok(b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n");
        assert_eq!(h.body().unwrap_err().status, 400);
    }

    #[test]
    fn non_ascii_header_bytes_are_kept_as_latin1() {
        let (h, _) = ok(b"GET / HTTP/1.1\r\nX-Name: caf\xe9\r\n\r\n");
        assert_eq!(h.header("X-Name"), Some("caf\u{e9}"));
    }
}
