//! A minimal HTTP/1.1 client over a std TCP stream: enough to call a node's API and gateway
//! (plain http, Content-Length or chunked bodies). One connection per request.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

pub(crate) struct Response {
    pub status: u16,
    pub body: Box<dyn Read>,
}

impl Response {
    pub(crate) fn read_all(mut self) -> io::Result<Vec<u8>> {
        let mut v = Vec::new();
        self.body.read_to_end(&mut v)?;
        Ok(v)
    }
}

pub(crate) enum Body<'a> {
    None,
    Bytes(&'a [u8], &'a str),
    /// A stream of known length with its content type.
    Stream(&'a mut dyn Read, u64, &'a str),
}

/// `base` is `host:port`.
pub(crate) fn request(
    base: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Body<'_>,
) -> io::Result<Response> {
    let stream = TcpStream::connect(base)?;
    stream.set_read_timeout(Some(Duration::from_secs(3600)))?;
    let mut w = io::BufWriter::with_capacity(1 << 20, stream.try_clone()?);
    write!(w, "{method} {path} HTTP/1.1\r\nHost: {base}\r\nConnection: close\r\n")?;
    for (k, v) in headers {
        write!(w, "{k}: {v}\r\n")?;
    }
    match body {
        Body::None => write!(w, "Content-Length: 0\r\n\r\n")?,
        Body::Bytes(b, ctype) => {
            write!(w, "Content-Type: {ctype}\r\nContent-Length: {}\r\n\r\n", b.len())?;
            w.write_all(b)?;
        }
        Body::Stream(r, len, ctype) => {
            write!(w, "Content-Type: {ctype}\r\nContent-Length: {len}\r\n\r\n")?;
            let copied = io::copy(&mut r.take(len), &mut w)?;
            if copied != len {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("the input ended after {copied} of {len} bytes"),
                ));
            }
        }
    }
    w.flush()?;
    drop(w);
    let mut r = BufReader::with_capacity(1 << 20, stream);
    let mut line = String::new();
    r.read_line(&mut line)?;
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, format!("not an HTTP response: {line:?}")))?;
    let mut headers = Vec::new();
    loop {
        line.clear();
        if r.read_line(&mut line)? == 0 {
            break;
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let find = |n: &str| headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(n)).map(|(_, v)| v.clone());
    let body: Box<dyn Read> = if method == "HEAD" || status == 304 || status == 204 {
        Box::new(io::empty())
    } else if find("Transfer-Encoding").is_some_and(|t| t.eq_ignore_ascii_case("chunked")) {
        Box::new(Chunked { inner: r, left: 0, done: false })
    } else if let Some(len) = find("Content-Length").and_then(|l| l.parse::<u64>().ok()) {
        Box::new(r.take(len))
    } else {
        Box::new(r)
    };
    Ok(Response { status, body })
}

struct Chunked<R> {
    inner: R,
    left: u64,
    done: bool,
}

impl<R: BufRead> Read for Chunked<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.done {
            return Ok(0);
        }
        if self.left == 0 {
            let mut line = String::new();
            self.inner.read_line(&mut line)?;
            if line.trim().is_empty() {
                line.clear();
                self.inner.read_line(&mut line)?;
            }
            let size = line.trim().split(';').next().unwrap_or("");
            self.left = u64::from_str_radix(size, 16)
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad chunk size"))?;
            if self.left == 0 {
                self.done = true;
                return Ok(0);
            }
        }
        let n = (out.len() as u64).min(self.left) as usize;
        let got = self.inner.read(&mut out[..n])?;
        if got == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed inside a chunk"));
        }
        self.left -= got as u64;
        Ok(got)
    }
}
