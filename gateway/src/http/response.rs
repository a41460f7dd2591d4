//! A response under construction and its bytes on the wire (HTTP/1.1, RFC 9112 §4–7).

use serde_json::Value;
use std::io::{self, Cursor, Read, Write};

/// One header field of a response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub name: String,
    pub value: String,
}

impl Header {
    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }
}

/// A header; a value with a byte that may not appear in a field (CR, LF, other controls) is
/// replaced, never sent, so nothing a client supplied can split the response.
pub fn header(name: &str, value: &str) -> Header {
    let ok = value.bytes().all(|b| b == b'\t' || (b >= 0x20 && b != 0x7f));
    Header { name: name.to_string(), value: if ok { value.to_string() } else { "invalid".to_string() } }
}

pub struct Resp {
    pub status: u16,
    pub headers: Vec<Header>,
    pub body: Box<dyn Read + Send>,
    /// The body's length when known; otherwise it is sent chunked.
    pub len: Option<u64>,
}

impl Resp {
    pub fn empty(status: u16) -> Self {
        Resp { status, headers: Vec::new(), body: Box::new(io::empty()), len: Some(0) }
    }

    pub fn bytes(status: u16, body: Vec<u8>, ctype: &str) -> Self {
        let len = body.len() as u64;
        Resp { status, headers: vec![header("Content-Type", ctype)], body: Box::new(Cursor::new(body)), len: Some(len) }
    }

    pub fn stream(status: u16, body: Box<dyn Read + Send>, len: Option<u64>, ctype: &str) -> Self {
        Resp { status, headers: vec![header("Content-Type", ctype)], body, len }
    }

    pub fn json(status: u16, v: &Value) -> Self {
        Resp::bytes(status, v.to_string().into_bytes(), "application/json")
    }

    pub fn with_header(mut self, h: Header) -> Self {
        self.headers.push(h);
        self
    }

    pub fn without_header(mut self, name: &str) -> Self {
        self.headers.retain(|h| !h.is(name));
        self
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|h| h.is(name)).map(|h| h.value.as_str())
    }

    /// Whether this status carries no body (RFC 9110 §6.4.1).
    fn bodiless(&self) -> bool {
        matches!(self.status, 100..=199 | 204 | 304)
    }

    /// The status line and fields. `keep_alive` false adds `Connection: close`.
    pub(crate) fn head_bytes(&self, http11: bool, keep_alive: bool, chunked: bool) -> Vec<u8> {
        let mut h = Vec::with_capacity(256);
        let version = if http11 { "HTTP/1.1" } else { "HTTP/1.0" };
        let _ = write!(h, "{version} {} {}\r\n", self.status, reason(self.status));
        for f in &self.headers {
            if f.is("Content-Length") || f.is("Transfer-Encoding") || f.is("Connection") {
                continue;
            }
            let _ = write!(h, "{}: {}\r\n", f.name, f.value);
        }
        if !self.bodiless() {
            match self.len {
                Some(n) => {
                    let _ = write!(h, "Content-Length: {n}\r\n");
                }
                None if chunked => h.extend_from_slice(b"Transfer-Encoding: chunked\r\n"),
                None => {}
            }
        }
        if !keep_alive {
            h.extend_from_slice(b"Connection: close\r\n");
        } else if !http11 {
            h.extend_from_slice(b"Connection: keep-alive\r\n");
        }
        h.extend_from_slice(b"\r\n");
        h
    }

    /// Writes the whole response. `head_only` for HEAD requests. Returns whether the
    /// connection can carry another request (the body went out whole and framed).
    pub fn write_to(self, w: &mut dyn Write, http11: bool, head_only: bool, keep_alive: bool) -> io::Result<bool> {
        let mut s = super::sending::Sending::new(self, http11, head_only, keep_alive);
        match s.pump(w, None)? {
            super::sending::Pumped::Done => Ok(s.keep_alive()),
            _ => Err(io::Error::new(io::ErrorKind::TimedOut, "the client stopped reading")),
        }
    }

    /// The whole response as bytes (small replies written by the event loop).
    pub fn to_bytes(self, http11: bool, keep_alive: bool) -> (Vec<u8>, bool) {
        let mut out = Vec::new();
        match self.write_to(&mut out, http11, false, keep_alive) {
            Ok(k) => (out, k),
            Err(_) => (out, false),
        }
    }
}

pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Content Too Large",
        414 => "URI Too Long",
        416 => "Range Not Satisfiable",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

/// A plain-text error with a status; every error reads as one line.
pub fn error_response(status: u16, message: &str) -> Resp {
    Resp::bytes(status, format!("{message}\n").into_bytes(), "text/plain; charset=utf-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(r: Resp, http11: bool, head_only: bool, keep: bool) -> (String, bool) {
        let mut out = Vec::new();
        let k = r.write_to(&mut out, http11, head_only, keep).unwrap();
        (String::from_utf8(out).unwrap(), k)
    }

    #[test]
    fn framing_follows_the_length() {
        let (t, k) = text(Resp::bytes(200, b"hello".to_vec(), "text/plain"), true, false, true);
        assert_eq!(t, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello");
        assert!(k);
        let body: Box<dyn Read + Send> = Box::new(Cursor::new(b"abc".to_vec()));
        let (t, k) = text(Resp::stream(200, body, None, "x/y"), true, false, true);
        assert!(t.ends_with("Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"), "{t}");
        assert!(k);
        // HTTP/1.0 with no length: the close ends the body.
        let body: Box<dyn Read + Send> = Box::new(Cursor::new(b"abc".to_vec()));
        let (t, k) = text(Resp::stream(200, body, None, "x/y"), false, false, true);
        assert!(t.contains("Connection: close\r\n") && t.ends_with("\r\n\r\nabc"), "{t}");
        assert!(!k);
        // HEAD: the length, no body.
        let (t, _) = text(Resp::bytes(200, b"hello".to_vec(), "text/plain"), true, true, true);
        assert!(t.ends_with("Content-Length: 5\r\n\r\n"), "{t}");
        let (t, _) = text(Resp::empty(304).with_header(header("Etag", "\"x\"")), true, false, false);
        assert_eq!(t, "HTTP/1.1 304 Not Modified\r\nEtag: \"x\"\r\nConnection: close\r\n\r\n");
    }

    #[test]
    fn header_values_cannot_split_a_response() {
        assert_eq!(header("Location", "/a\r\nSet-Cookie: x").value, "invalid");
        assert_eq!(header("X", "caf\u{e9}\tok").value, "caf\u{e9}\tok");
    }
}
