//! `GET`/`HEAD /ipfs/<cid>[/path]` following the path-gateway rules (DESIGN.md §6): immutable
//! caching, Etag and 304, X-Ipfs-Path/Roots, single ranges that read only the blocks they need,
//! content types, directory redirects, index.html or a listing, and `?format=raw|car`.

use crate::content_type;
use crate::listing;
use crate::range::{self, RangeReq};
use crate::server::{error_response, header, Resp};
use crate::Content;
use proto_core::car;
use proto_core::cid::Cid;
use proto_core::unixfs::read::{self, FileCursor, Kind, Node, ReadError};
use std::collections::BTreeSet;
use std::io::{self, Read};
use std::sync::Arc;

const IMMUTABLE: &str = "public, max-age=29030400, immutable";
const LISTING_VERSION: &str = "1";

#[derive(Clone, Copy)]
pub struct GatewayRequest<'a> {
    /// The URL path after `/ipfs/`, percent-decoded.
    pub rest: &'a str,
    /// The raw URL path, for redirects and X-Ipfs-Path.
    pub raw_path: &'a str,
    pub raw_query: Option<&'a str>,
    pub format: Option<&'a str>,
    pub accept: Option<&'a str>,
    pub range: Option<&'a str>,
    pub if_none_match: Option<&'a str>,
    /// The name of what the root CID is (an open file's), for its content type.
    pub name: Option<&'a str>,
}

fn status_of(e: &ReadError) -> u16 {
    match e {
        // A path below a file names nothing: not found, as kubo answers.
        ReadError::Missing(_) | ReadError::NotFound(_) | ReadError::NotADirectory(_) => 404,
        ReadError::Store(_) => 500,
        _ => 502,
    }
}

fn etag_matches(header: Option<&str>, etag: &str) -> bool {
    header.is_some_and(|h| {
        h.split(',').map(str::trim).any(|t| t == "*" || t == etag || t.strip_prefix("W/") == Some(etag))
    })
}

pub fn serve<B: Content + ?Sized>(store: &Arc<B>, req: &GatewayRequest<'_>) -> Resp {
    let (root_text, path) = req.rest.split_once('/').unwrap_or((req.rest, ""));
    let root = match Cid::parse(root_text) {
        Ok(c) => c,
        Err(e) => return error_response(400, &format!("invalid cid \"{root_text}\": {e}")),
    };
    // Resolve segment by segment, remembering each CID for X-Ipfs-Roots.
    let mut roots = vec![root.clone()];
    let mut last_name = req.name.unwrap_or(root_text).to_string();
    for seg in path.split('/').filter(|s| !s.is_empty()) {
        let cur = roots.last().expect("root present").clone();
        match read::lookup(&**store, &cur, seg.as_bytes()) {
            Ok(c) => roots.push(c),
            Err(e) => return error_response(status_of(&e), &format!("cannot resolve /ipfs/{}: {e}", req.rest)),
        }
        last_name = seg.to_string();
    }
    let cid = roots.last().expect("root present").clone();
    let roots_header = roots.iter().map(Cid::to_string).collect::<Vec<_>>().join(",");
    let format = req.format.or_else(|| match req.accept {
        Some(a) if a.contains("application/vnd.ipld.raw") => Some("raw"),
        Some(a) if a.contains("application/vnd.ipld.car") => Some("car"),
        _ => None,
    });
    match format {
        Some("raw") => return serve_raw(store, &cid, req),
        Some("car") => return serve_car(store, &cid, req),
        Some(other) => return error_response(400, &format!("unsupported format \"{other}\" (use raw or car)")),
        None => {}
    }
    let node = match read::load_node(&**store, &cid) {
        Ok(n) => n,
        Err(e) => return error_response(status_of(&e), &e.to_string()),
    };
    let stat = match read::stat_node(&cid, &node) {
        Ok(s) => s,
        Err(e) => return error_response(502, &e.to_string()),
    };
    let common = |resp: Resp| {
        resp.with_header(header("X-Ipfs-Path", req.raw_path))
            .with_header(header("X-Ipfs-Roots", &roots_header))
            .with_header(header("Cache-Control", IMMUTABLE))
    };
    match stat.kind {
        Kind::Directory => {
            if !req.raw_path.ends_with('/') {
                let loc = match req.raw_query {
                    Some(q) => format!("{}/?{q}", req.raw_path),
                    None => format!("{}/", req.raw_path),
                };
                return common(Resp::empty(301).with_header(header("Location", &loc)));
            }
            if let Ok(index) = read::lookup(&**store, &cid, b"index.html") {
                return common(serve_file(store, &index, "index.html", req));
            }
            let etag = format!("\"DirIndex-{LISTING_VERSION}_CID-{cid}\"");
            if etag_matches(req.if_none_match, &etag) {
                return common(Resp::empty(304).with_header(header("Etag", &etag)));
            }
            let entries = match read::list(&**store, &cid) {
                Ok(e) => e,
                Err(e) => return error_response(status_of(&e), &e.to_string()),
            };
            let html = listing::render(req.raw_path, &cid, &entries);
            common(Resp::bytes(200, html.into_bytes(), "text/html; charset=utf-8").with_header(header("Etag", &etag)))
        }
        Kind::Symlink => {
            let target = match node {
                Node::Pb(_, fs) => fs.data.unwrap_or_default(),
                Node::Raw(_) => Vec::new(),
            };
            common(Resp::bytes(200, target, "inode/symlink").with_header(header("Etag", &format!("\"{cid}\""))))
        }
        Kind::File => common(serve_file(store, &cid, &last_name, req)),
    }
}

fn serve_file<B: Content + ?Sized>(store: &Arc<B>, cid: &Cid, name: &str, req: &GatewayRequest<'_>) -> Resp {
    let size = match read::load_node(&**store, cid).and_then(|n| read::stat_node(cid, &n)) {
        Ok(s) => s.size,
        Err(e) => return error_response(status_of(&e), &e.to_string()),
    };
    let etag = format!("\"{cid}\"");
    if etag_matches(req.if_none_match, &etag) {
        return Resp::empty(304).with_header(header("Etag", &etag));
    }
    let (status, start, end) = match range::parse(req.range, size) {
        RangeReq::Full => (200, 0, size),
        RangeReq::Part(a, b) => (206, a, b),
        RangeReq::Unsatisfiable => {
            return error_response(416, "range not satisfiable")
                .with_header(header("Content-Range", &format!("bytes */{size}")));
        }
    };
    let mut stream = FileStream {
        store: store.clone(),
        cursor: FileCursor::new(cid.clone(), start, end),
        buf: Vec::new(),
        pos: 0,
        end: 0,
    };
    let ctype = match content_type::from_name(name) {
        Some(t) => t,
        None => {
            // Sniff from the first bytes of the file (one block), independent of the range.
            let mut head = FileCursor::new(cid.clone(), 0, size.min(512));
            match head.next_piece(&**store) {
                Ok(p) => content_type::sniff(p.as_deref().unwrap_or_default()),
                Err(e) => return error_response(status_of(&e), &e.to_string()),
            }
        }
    };
    // Surface a missing first block as a clean error instead of a truncated body.
    if let Err(e) = stream.fill() {
        return error_response(404, &e.to_string());
    }
    let mut resp = Resp::stream(status, Box::new(stream), Some(end - start), ctype)
        .with_header(header("Etag", &etag))
        .with_header(header("Accept-Ranges", "bytes"));
    if status == 206 {
        let last = end.saturating_sub(1);
        resp = resp.with_header(header("Content-Range", &format!("bytes {start}-{last}/{size}")));
    }
    resp
}

fn serve_raw<B: Content + ?Sized>(store: &Arc<B>, cid: &Cid, req: &GatewayRequest<'_>) -> Resp {
    let etag = format!("\"{cid}.raw\"");
    if etag_matches(req.if_none_match, &etag) {
        return Resp::empty(304).with_header(header("Etag", &etag));
    }
    match read::load(&**store, cid) {
        Ok(bytes) => Resp::bytes(200, bytes, "application/vnd.ipld.raw")
            .with_header(header("Etag", &etag))
            .with_header(header("X-Content-Type-Options", "nosniff"))
            .with_header(header("Cache-Control", IMMUTABLE))
            .with_header(header("X-Ipfs-Path", req.raw_path)),
        Err(e) => error_response(status_of(&e), &e.to_string()),
    }
}

fn serve_car<B: Content + ?Sized>(store: &Arc<B>, cid: &Cid, req: &GatewayRequest<'_>) -> Resp {
    let etag = format!("\"{cid}.car\"");
    if etag_matches(req.if_none_match, &etag) {
        return Resp::empty(304).with_header(header("Etag", &etag));
    }
    // Check the root first so a missing root is a 404, not an empty CAR.
    if let Err(e) = read::load(&**store, cid) {
        return error_response(status_of(&e), &e.to_string());
    }
    let stream = CarStream {
        store: store.clone(),
        stack: vec![cid.clone()],
        seen: BTreeSet::new(),
        buf: car::header(cid),
        pos: 0,
    };
    Resp::stream(200, Box::new(stream), None, "application/vnd.ipld.car; version=1; order=dfs; dups=n")
        .with_header(header("Etag", &etag))
        .with_header(header("X-Content-Type-Options", "nosniff"))
        .with_header(header("Cache-Control", IMMUTABLE))
        .with_header(header("X-Ipfs-Path", req.raw_path))
}

fn io_err(e: ReadError) -> io::Error {
    io::Error::other(e.to_string())
}

/// A file's bytes as a `Read`, block by block.
struct FileStream<B: Content + ?Sized> {
    store: Arc<B>,
    cursor: FileCursor,
    /// The current block; bytes `pos..end` of it are still to be sent.
    buf: Vec<u8>,
    pos: usize,
    end: usize,
}

impl<B: Content + ?Sized> FileStream<B> {
    fn fill(&mut self) -> Result<bool, ReadError> {
        while self.pos >= self.end {
            match self.cursor.next_slice(&*self.store)? {
                Some(p) => {
                    (self.pos, self.end) = (p.range.start, p.range.end);
                    self.buf = p.buf;
                }
                None => return Ok(false),
            }
        }
        Ok(true)
    }
}

impl<B: Content + ?Sized> Read for FileStream<B> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if !self.fill().map_err(io_err)? {
            return Ok(0);
        }
        let n = out.len().min(self.end - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// A CARv1 of a DAG: header, then a pre-order walk, each block once.
struct CarStream<B: Content + ?Sized> {
    store: Arc<B>,
    stack: Vec<Cid>,
    seen: BTreeSet<Cid>,
    buf: Vec<u8>,
    pos: usize,
}

impl<B: Content + ?Sized> Read for CarStream<B> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos >= self.buf.len() {
            let Some(cid) = self.stack.pop() else {
                return Ok(0);
            };
            if cid.hash().code() == proto_core::cid::HASH_IDENTITY || !self.seen.insert(cid.clone()) {
                continue;
            }
            let bytes = read::load(&*self.store, &cid).map_err(io_err)?;
            if cid.codec() == proto_core::cid::CODEC_DAG_PB {
                if let Ok(pb) = proto_core::dagpb::PbNode::decode(&bytes) {
                    self.stack.extend(pb.links.into_iter().rev().map(|l| l.cid));
                }
            }
            self.buf = car::section(&cid, &bytes);
            self.pos = 0;
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}
