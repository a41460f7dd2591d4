//! The HTTP server on tiny-http: routing, the JSON codec of the API, token checks and request
//! limits. Worker threads each take requests from the shared listener.

use crate::api::{ApiError, Call, Registry};
use crate::path_gateway::{self, GatewayRequest};
use crate::Backend;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{self, Cursor, Read};
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;
use tiny_http::{Header, Method as HttpMethod, Request, Response, StatusCode};

/// Largest JSON argument body the API accepts.
pub const MAX_JSON_BODY: usize = 1 << 20;

pub struct ServerConfig {
    /// The node's API token; write methods need `Authorization: Bearer <token>`.
    pub token: String,
    pub threads: usize,
    /// The peer network, for fetching content this node does not have.
    pub net: Option<Arc<dyn crate::net_methods::NetHandle>>,
}

/// The largest piece of a response body written at once.
const SEND_BUFFER: usize = 256 << 10;

/// A response under construction, independent of tiny-http's generic type.
pub struct Resp {
    status: u16,
    headers: Vec<Header>,
    body: Box<dyn Read + Send>,
    len: Option<u64>,
}

pub fn header(name: &str, value: &str) -> Header {
    // Header values we build are ASCII; a value tiny-http refuses is replaced, never a panic.
    Header::from_bytes(name.as_bytes(), value.as_bytes())
        .unwrap_or_else(|_| Header::from_bytes(name.as_bytes(), &b"invalid"[..]).expect("ascii header"))
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

    pub fn without_header(mut self, name: &'static str) -> Self {
        self.headers.retain(|h| !h.field.equiv(name));
        self
    }

    fn send(self, req: Request) {
        // tiny-http copies the body with `io::copy`, which moves 8 KiB at a time (one `send`
        // each) unless the reader is a `BufReader`: then each buffer goes out in one write.
        // 256 KiB is one block of a file.
        let cap = self.len.map_or(SEND_BUFFER, |l| (l as usize).clamp(8 << 10, SEND_BUFFER));
        let body = io::BufReader::with_capacity(cap, self.body);
        let mut resp = Response::new(StatusCode(self.status), self.headers, body, self.len.map(|l| l as usize), None);
        if self.len.is_some() {
            // tiny-http switches to chunked encoding above 32 KiB by default; a known length is
            // better for clients (progress, resumed downloads, HEAD).
            resp = resp.with_chunked_threshold(usize::MAX);
        }
        // The client may have gone away; nothing to do about it.
        let _ = req.respond(resp);
    }
}

/// A plain-text error with a status; every gateway error reads as one line.
pub fn error_response(status: u16, message: &str) -> Resp {
    Resp::bytes(status, format!("{message}\n").into_bytes(), "text/plain; charset=utf-8")
}

fn api_error(e: &ApiError) -> Resp {
    Resp::json(e.status, &json!({"error": e.message}))
}

pub struct Running {
    server: Arc<tiny_http::Server>,
    workers: Vec<JoinHandle<()>>,
    pub addr: SocketAddr,
}

impl Running {
    /// The URL clients on this machine use (an unspecified bind address becomes 127.0.0.1).
    pub fn api_url(&self) -> String {
        let host = if self.addr.ip().is_unspecified() { "127.0.0.1".to_string() } else { self.addr.ip().to_string() };
        format!("http://{host}:{}", self.addr.port())
    }

    /// Stops accepting requests and waits for the workers.
    pub fn shutdown(self) {
        for _ in &self.workers {
            self.server.unblock();
        }
        for w in self.workers {
            let _ = w.join();
        }
    }
}

pub struct Ctx<B> {
    store: Arc<B>,
    registry: Arc<Registry>,
    token: String,
    /// When set, the gateway fetches missing blocks from the network.
    net: Option<Arc<dyn crate::net_methods::NetHandle>>,
}

pub fn start<B: Backend>(addr: &str, store: Arc<B>, registry: Arc<Registry>, cfg: ServerConfig) -> io::Result<Running> {
    let server = tiny_http::Server::http(addr)
        .map_err(|e| io::Error::new(io::ErrorKind::AddrInUse, format!("cannot listen on {addr}: {e}")))?;
    let local = server.server_addr().to_ip().ok_or_else(|| io::Error::other("not an IP listener"))?;
    let server = Arc::new(server);
    let ctx = Arc::new(Ctx { store, registry, token: cfg.token, net: cfg.net });
    let mut workers = Vec::new();
    for i in 0..cfg.threads.max(1) {
        let (server, ctx) = (server.clone(), ctx.clone());
        let handle = std::thread::Builder::new().name(format!("http-{i}")).spawn(move || {
            while let Ok(req) = server.recv() {
                handle(&ctx, req);
            }
        })?;
        workers.push(handle);
    }
    Ok(Running { server, workers, addr: local })
}

fn header_value<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers().iter().find(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name)).map(|h| h.value.as_str())
}

pub fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

pub fn parse_query(q: Option<&str>) -> BTreeMap<String, String> {
    q.unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .filter_map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            Some((percent_decode(&k.replace('+', " "))?, percent_decode(&v.replace('+', " "))?))
        })
        .collect()
}

/// `/tpt/<mid>,<appid>/` or `/tpt/,<appid>/` (or `/tpt/<mid>/`, its default app): the template
/// page listing the app's providers.
fn tpt<B: Backend>(ctx: &Arc<Ctx<B>>, rest: &str, client: &str, own: Option<&str>) -> Resp {
    let target = rest.trim_end_matches('/');
    let (mid, app) = target.split_once(',').unwrap_or((target, ""));
    let aid = if app.is_empty() {
        // A MiMei opened with its default app.
        let Ok(m) = proto_core::mimei::Mid::parse(mid) else {
            return error_response(400, &format!("invalid mid \"{mid}\""));
        };
        match ctx.store.get_mimei(&m) {
            Ok(Some(mm)) if !mm.head.info.appid.is_empty() => mm.head.info.appid.clone(),
            Ok(_) => return error_response(404, &format!("MiMei {mid} has no default app here")),
            Err(e) => return error_response(500, &e),
        }
    } else {
        app.to_string()
    };
    if proto_core::mimei::Mid::parse(&aid).is_err() {
        return error_response(400, &format!("invalid app id \"{aid}\""));
    }
    // This node is a provider too when it holds the app (reached at the address the browser used).
    let holds = proto_core::mimei::Mid::parse(&aid)
        .ok()
        .and_then(|m| ctx.store.get_mimei(&m).ok().flatten())
        .is_some_and(|m| m.last().is_some());
    let mut providers: Vec<String> = own.filter(|_| holds).map(str::to_string).into_iter().collect();
    let caller = crate::api::Caller::node();
    let found = ctx.registry.dispatch("MiMeiFindProvs", vec![serde_json::json!(aid)], &caller, None, BTreeMap::new());
    match found {
        Ok(serde_json::Value::Array(ps)) => {
            for p in &ps {
                let all: Vec<String> = p["http_all"]
                    .as_array()
                    .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
                    .unwrap_or_default();
                for a in crate::template::candidates(&all, client) {
                    if !providers.contains(&a) {
                        providers.push(a);
                    }
                }
            }
            providers.truncate(crate::template::MAX_ADDRS);
        }
        Ok(_) => {}
        Err(e) if providers.is_empty() => {
            return error_response(502, &format!("cannot find the app's providers: {}", e.message))
        }
        Err(_) => {}
    }
    let html = crate::template::page(&aid, mid, &providers, client);
    Resp::bytes(200, html.into_bytes(), "text/html; charset=utf-8").with_header(header("Cache-Control", "no-cache"))
}

/// What the path gateway needs of a request (`/ipfs/` and `/mm/` alike).
fn gateway_request<'a>(
    req: &'a Request,
    rest: &'a str,
    raw_path: &'a str,
    raw_query: Option<&'a str>,
    query: &'a BTreeMap<String, String>,
) -> GatewayRequest<'a> {
    GatewayRequest {
        rest,
        raw_path,
        raw_query,
        format: query.get("format").map(String::as_str),
        accept: header_value(req, "Accept"),
        range: header_value(req, "Range"),
        if_none_match: header_value(req, "If-None-Match"),
    }
}

fn handle<B: Backend>(ctx: &Arc<Ctx<B>>, req: Request) {
    let url = req.url().to_string();
    let (raw_path, raw_query) = match url.split_once('?') {
        Some((p, q)) => (p.to_string(), Some(q.to_string())),
        None => (url.clone(), None),
    };
    let method = req.method().clone();
    let resp = match (&method, raw_path.as_str()) {
        (HttpMethod::Get | HttpMethod::Head, p) if p.starts_with("/ipfs/") => {
            let query = parse_query(raw_query.as_deref());
            match percent_decode(&p["/ipfs/".len()..]) {
                None => error_response(400, "the path is not valid percent-encoded UTF-8"),
                Some(rest) => {
                    let greq = gateway_request(&req, &rest, &raw_path, raw_query.as_deref(), &query);
                    match (&ctx.net, proto_core::cid::Cid::parse(rest.split('/').next().unwrap_or_default())) {
                        (Some(net), Ok(root)) => {
                            let f = Arc::new(crate::fetching::Fetching::new(ctx.store.clone(), net.clone(), root));
                            path_gateway::serve(&f, &greq)
                        }
                        _ => path_gateway::serve(&ctx.store, &greq),
                    }
                }
            }
        }
        (HttpMethod::Get | HttpMethod::Head, p) if p.starts_with("/mm/") => {
            let query = parse_query(raw_query.as_deref());
            match percent_decode(&p["/mm/".len()..]) {
                None => error_response(400, "the path is not valid percent-encoded UTF-8"),
                Some(rest) => {
                    let base = gateway_request(&req, "", &raw_path, raw_query.as_deref(), &query);
                    // Template pages on other nodes load apps from here.
                    crate::mm_gateway::serve_mm(&ctx.store, &rest, &base)
                        .with_header(header("Access-Control-Allow-Origin", "*"))
                }
            }
        }
        (HttpMethod::Get | HttpMethod::Head, "/entry") => {
            crate::mm_gateway::entry(&*ctx.store, &parse_query(raw_query.as_deref()))
                .with_header(header("Access-Control-Allow-Origin", "*"))
        }
        (HttpMethod::Get | HttpMethod::Head, p) if p.starts_with("/tpt/") => {
            let client = req.remote_addr().map(|a| a.ip().to_string()).unwrap_or_default();
            tpt(ctx, &p["/tpt/".len()..], &client, header_value(&req, "Host"))
        }
        (HttpMethod::Get, p)
            if (p == "/ws" || p.starts_with("/ws/"))
                && header_value(&req, "Upgrade").is_some_and(|u| u.eq_ignore_ascii_case("websocket")) =>
        {
            return hprose_ws(ctx, req);
        }
        (_, p) if p == "/webapi" || p.starts_with("/webapi/") || p == "/ws" || p.starts_with("/ws/") => {
            return hprose_http(ctx, req)
        }
        (HttpMethod::Post, p) if p.starts_with("/api/") => {
            let name = p["/api/".len()..].to_string();
            return api(ctx, req, &name, raw_query.as_deref());
        }
        (_, "/api/" | "/ipfs/") => error_response(400, "missing method name or cid"),
        (_, p) if p.starts_with("/api/") => error_response(405, "API methods are called with POST"),
        (HttpMethod::Get | HttpMethod::Head, "/") => {
            // A Host name mapped with SetDomain gets its app's template page.
            let host =
                header_value(&req, "Host").map(|h| h.rsplit_once(':').map_or(h, |(n, _)| n).to_ascii_lowercase());
            let target = host.and_then(|h| ctx.store.kv_get(format!("domain/{h}").as_bytes()).ok().flatten());
            match target.and_then(|t| String::from_utf8(t).ok()) {
                Some(t) => {
                    let client = req.remote_addr().map(|a| a.ip().to_string()).unwrap_or_default();
                    tpt(ctx, &t, &client, header_value(&req, "Host"))
                }
                // Also what template pages probe and time.
                None => Resp::bytes(200, b"leither node\n".to_vec(), "text/plain; charset=utf-8")
                    .with_header(header("Access-Control-Allow-Origin", "*"))
                    .with_header(header("Cache-Control", "no-store")),
            }
        }
        _ => error_response(404, &format!("no such page: {raw_path}")),
    };
    resp.send(req);
}

/// Largest hprose request body.
pub const MAX_HPROSE_BODY: usize = 16 << 20;

/// hprose over HTTP (hprose-2.0.md §3): always status 200, `E` replies for errors, CORS that
/// echoes the origin, GET returns the function list.
fn hprose_http<B: Backend>(ctx: &Ctx<B>, mut req: Request) {
    let origin = header_value(&req, "Origin").filter(|o| *o != "null").map(str::to_string);
    let auth_ok = token_ok(header_value(&req, "Authorization"), &ctx.token);
    let body = match req.method() {
        HttpMethod::Post => {
            let mut body = Vec::new();
            match req.as_reader().take(MAX_HPROSE_BODY as u64 + 1).read_to_end(&mut body) {
                Ok(_) if body.len() > MAX_HPROSE_BODY => crate::hprose::error_reply("request body is too large"),
                Ok(_) => hprose_dispatch(ctx, &body, auth_ok),
                Err(e) => crate::hprose::error_reply(&format!("cannot read the request body: {e}")),
            }
        }
        HttpMethod::Get => crate::hprose::function_list(ctx.registry.names()),
        _ => Vec::new(),
    };
    let mut resp = Resp::bytes(200, body, "text/plain");
    resp = match origin {
        Some(o) => resp
            .with_header(header("Access-Control-Allow-Origin", &o))
            .with_header(header("Access-Control-Allow-Credentials", "true")),
        None => resp.with_header(header("Access-Control-Allow-Origin", "*")),
    };
    resp.send(req);
}

/// hprose over WebSocket: upgrade, then serve the connection on this worker's own thread.
fn hprose_ws<B: Backend>(ctx: &Arc<Ctx<B>>, req: Request) {
    let Some(key) = header_value(&req, "Sec-WebSocket-Key").map(crate::ws::accept_key) else {
        return error_response(400, "missing Sec-WebSocket-Key").send(req);
    };
    let auth_ok = token_ok(header_value(&req, "Authorization"), &ctx.token);
    let resp = Response::empty(StatusCode(101))
        .with_header(header("Upgrade", "websocket"))
        .with_header(header("Connection", "Upgrade"))
        .with_header(header("Sec-WebSocket-Accept", &key));
    let mut stream = req.upgrade("websocket", resp);
    let ctx = ctx.clone();
    // A connection lives long; it gets its own thread so HTTP workers stay free.
    let _ = std::thread::Builder::new().name("ws".into()).spawn(move || {
        crate::ws::serve(&mut *stream, &|body| hprose_dispatch(&ctx, body, auth_ok));
    });
}

/// Runs every call of an hprose request through the registry.
pub fn hprose_dispatch<B>(ctx: &Ctx<B>, body: &[u8], auth_ok: bool) -> Vec<u8> {
    use crate::hprose::{function_list, parse_request, reply, Request};
    let calls = match parse_request(body) {
        Ok(Request::FunctionList) => return function_list(ctx.registry.names()),
        Ok(Request::Calls(c)) => c,
        Err(e) => return crate::hprose::error_reply(&e.0),
    };
    let results: Vec<_> = calls
        .into_iter()
        .map(|c| {
            let caller = crate::api::Caller { token: auth_ok, remote: None };
            let result =
                ctx.registry.dispatch(&c.name, c.args.clone(), &caller, None, BTreeMap::new()).map_err(|e| e.message);
            (result, c.by_ref.then_some(c.args))
        })
        .collect();
    reply(&results)
}

/// Constant-time comparison so the token cannot be guessed byte by byte from timings.
fn token_ok(given: Option<&str>, token: &str) -> bool {
    let Some(given) = given.and_then(|h| h.strip_prefix("Bearer ")) else {
        return false;
    };
    given.len() == token.len() && given.bytes().zip(token.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

fn api<B: Backend>(ctx: &Ctx<B>, mut req: Request, name: &str, raw_query: Option<&str>) {
    let Some(method) = ctx.registry.get(name) else {
        return api_error(&ApiError::not_found(format!("unknown method \"{name}\""))).send(req);
    };
    let caller = crate::api::Caller {
        token: token_ok(header_value(&req, "Authorization"), &ctx.token),
        remote: req.remote_addr().map(|a| a.ip()),
    };
    let query = parse_query(raw_query);
    let raw_body = header_value(&req, "Content-Type").is_some_and(|t| t.starts_with("application/octet-stream"));
    let result = if raw_body && method.streams_body {
        if method.write && !caller.token {
            let message = format!(
                "{} changes the node and needs its API token (the api.token file in the node's repo)",
                method.name
            );
            return api_error(&ApiError { status: 401, message }).send(req);
        }
        method.call(Call { args: Vec::new(), query, body: Some(req.as_reader()), user: None, may_write: caller.token, remote: caller.remote })
    } else {
        if req.body_length().is_some_and(|n| n > MAX_JSON_BODY) {
            return api_error(&ApiError {
                status: 413,
                message: format!("request body is over the {MAX_JSON_BODY}-byte limit"),
            })
            .send(req);
        }
        let mut body = Vec::new();
        if let Err(e) = req.as_reader().take(MAX_JSON_BODY as u64 + 1).read_to_end(&mut body) {
            return api_error(&ApiError::bad_request(format!("cannot read the request body: {e}"))).send(req);
        }
        if body.len() > MAX_JSON_BODY {
            return api_error(&ApiError {
                status: 413,
                message: format!("request body is over the {MAX_JSON_BODY}-byte limit"),
            })
            .send(req);
        }
        match decode_args(&body) {
            Ok(args) => ctx.registry.dispatch(name, args, &caller, None, query),
            Err(e) => Err(e),
        }
    };
    match result {
        Ok(v) => Resp::json(200, &json!({ "result": v })).send(req),
        Err(e) => api_error(&e).send(req),
    }
}

/// The JSON codec: the body is an array of arguments (empty body = no arguments).
pub fn decode_args(body: &[u8]) -> Result<Vec<Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Array(a)) => Ok(a),
        Ok(_) => Err(ApiError::bad_request("the request body must be a JSON array of arguments")),
        Err(e) => Err(ApiError::bad_request(format!("the request body is not valid JSON: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_numbers_round_trip_exactly() {
        // Found by the api_body fuzz target: without correctly rounded float parsing, a
        // re-encoded argument decoded to a different value.
        let args = decode_args(b"[55550000000081833659506]\t\n").unwrap();
        let again = decode_args(Value::Array(args.clone()).to_string().as_bytes()).unwrap();
        assert_eq!(again, args);
    }

    #[test]
    fn query_and_percent_decoding() {
        let q = parse_query(Some("name=a%20b&x=1&flag&bad=%zz"));
        assert_eq!(q.get("name").map(String::as_str), Some("a b"));
        assert_eq!(q.get("flag").map(String::as_str), Some(""));
        assert!(!q.contains_key("bad"), "undecodable pairs are dropped");
        assert_eq!(percent_decode("%E4%BD%A0"), Some("你".to_string()));
        assert_eq!(percent_decode("%"), None);
    }
}
