//! The node's routes on the HTTP server (`crate::http`): the path gateway (`/ipfs/`, `/mm/`),
//! app entry and template pages, the JSON API (`/api/<Method>`), hprose on `/webapi/` and
//! `/ws/`, and the rules for tokens and cross-site requests (docs/passports.md).

use crate::api::{ApiError, Call, Registry};
use crate::http::{self, Head, Intake, Reply, Request, WsInfo, WsReply};
use crate::park::Polled;
use crate::path_gateway::{self, GatewayRequest};
use crate::Content;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{self, Read};
use std::net::SocketAddr;
use std::sync::Arc;

pub use crate::http::{error_response, header, Header, Resp, Running};

/// Largest JSON argument body the API accepts.
pub const MAX_JSON_BODY: usize = 1 << 20;

pub struct ServerConfig {
    /// The node's API token; write methods need `Authorization: Bearer <token>`.
    pub token: String,
    pub limits: http::Limits,
    /// The peer network, for fetching content this node does not have.
    pub net: Option<Arc<dyn crate::Network>>,
}

/// Methods that make or use an account: a browser page of another site may not call them with
/// a request it can send without a CORS preflight.
const ACCOUNT_METHODS: &[&str] = &["register", "login", "loginwithppt", "logout", "signppt"];

fn api_error(e: &ApiError) -> Resp {
    Resp::json(e.status, &json!({"error": e.message}))
}

pub struct Ctx<B> {
    store: Arc<B>,
    registry: Arc<Registry>,
    token: String,
    limits: http::Limits,
    /// When set, the gateway fetches missing blocks from the network.
    net: Option<Arc<dyn crate::Network>>,
    /// Gateway requests fetching from the network now.
    fetches: Arc<std::sync::atomic::AtomicUsize>,
}

/// Read methods that wait on the network (DHT lookups): an anonymous caller holds one of the
/// node's `max_fetches` network slots while one runs, so lookups that never finish cannot take
/// every worker. The token's holder is not limited.
const NETWORK_READS: &[&str] = &["dhtfindpeer", "dhtfindprovs", "mimeishow", "mimeifindprovs"];

/// One of the node's network slots, held until dropped.
struct NetSlot(Arc<std::sync::atomic::AtomicUsize>);

impl Drop for NetSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

impl<B> Ctx<B> {
    /// A network slot, or the 503 that says the node is waiting on the network enough already.
    fn net_slot(&self) -> Result<NetSlot, ApiError> {
        use std::sync::atomic::Ordering;
        let max = self.limits.max_fetches;
        if self.fetches.fetch_add(1, Ordering::SeqCst) >= max {
            self.fetches.fetch_sub(1, Ordering::SeqCst);
            return Err(ApiError {
                status: 503,
                message: format!("the node is waiting on the network for {max} requests already; try again shortly"),
            });
        }
        Ok(NetSlot(self.fetches.clone()))
    }

    /// The slot a call of `name` needs, if it needs one.
    fn slot_for(&self, name: &str, caller: &crate::api::Caller) -> Result<Option<NetSlot>, ApiError> {
        if caller.token || !NETWORK_READS.contains(&name.to_ascii_lowercase().as_str()) {
            return Ok(None);
        }
        self.net_slot().map(Some)
    }
}

/// A response body that holds one of the gateway's network-fetch slots until it is dropped.
struct Slotted {
    body: Box<dyn Read + Send>,
    _slot: NetSlot,
}

impl Read for Slotted {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.body.read(buf)
    }
}

pub fn start<B: Content>(addr: &str, store: Arc<B>, registry: Arc<Registry>, cfg: ServerConfig) -> io::Result<Running> {
    let limits = cfg.limits.clone();
    let ctx =
        Arc::new(Ctx { store, registry, token: cfg.token, limits: cfg.limits, net: cfg.net, fetches: Arc::default() });
    http::start(addr, ctx, limits)
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
fn tpt<B: Content>(ctx: &Ctx<B>, rest: &str, client: &str, own: Option<&str>) -> Resp {
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
            Err(e) => return error_response(500, &e.to_string()),
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
    // Looked up for anyone who asks: the lookup holds one of the node's network slots.
    let _slot = match ctx.net_slot() {
        Ok(s) => s,
        Err(e) => return error_response(e.status, &e.message).with_header(header("Retry-After", "2")),
    };
    let caller = crate::api::Caller::node();
    let found = ctx.registry.dispatch(
        "MiMeiFindProvs",
        vec!["".into(), "".into(), aid.clone().into()],
        &caller,
        None,
        BTreeMap::new(),
    );
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
        accept: req.header("Accept"),
        range: req.header("Range"),
        if_none_match: req.header("If-None-Match"),
        name: None,
    }
}

/// `/mf<path>?mmsid=<fsid>`: an open file (or a path inside an open directory) of the MiMei
/// file API, streamed as the gateway streams content, ranges included (video, pdf, images).
fn open_file<B: Content>(
    ctx: &Ctx<B>,
    req: &Request,
    path: &str,
    raw_path: &str,
    raw_query: Option<&str>,
    query: &BTreeMap<String, String>,
) -> Resp {
    let Some(fsid) = query.get("mmsid").or_else(|| query.get("fsid")) else {
        return error_response(400, "/mf needs ?mmsid=FSID (from MMOpenUrl, MMOpen or MFOpenByPath)");
    };
    let Some((cid, name)) = ctx.registry.files.as_ref().and_then(|f| f.content(fsid)) else {
        return error_response(404, &format!("unknown or closed fsid \"{fsid}\""));
    };
    let Some(path) = percent_decode(path) else {
        return error_response(400, "the path is not valid percent-encoded UTF-8");
    };
    let rest = format!("{cid}/{}", path.trim_matches('/'));
    let mut greq = gateway_request(req, rest.trim_end_matches('/'), raw_path, raw_query, query);
    if !name.is_empty() {
        greq.name = Some(&name);
    }
    path_gateway::serve(&ctx.store, &greq)
}

fn is_ws_path(p: &str) -> bool {
    p == "/ws" || p.starts_with("/ws/")
}

fn is_webapi_path(p: &str) -> bool {
    p == "/webapi" || p.starts_with("/webapi/") || is_ws_path(p)
}

fn path_of(target: &str) -> &str {
    target.split_once('?').map_or(target, |(p, _)| p)
}

/// Whether a browser sent this request from a page of another origin. Browsers send `Origin`
/// with every cross-origin POST (and `Sec-Fetch-Site`); other clients send neither.
pub fn cross_site(head: &Head) -> bool {
    if head.header("Sec-Fetch-Site").is_some_and(|s| s.eq_ignore_ascii_case("cross-site")) {
        return true;
    }
    let Some(origin) = head.header("Origin") else { return false };
    let host = head.header("Host").unwrap_or_default();
    let o = origin.split_once("://").map_or(origin, |(_, rest)| rest).trim_end_matches('/');
    origin == "null" || !o.eq_ignore_ascii_case(host)
}

impl<B: Content> http::Service for Ctx<B> {
    fn intake(&self, head: &Head) -> Intake {
        let path = path_of(&head.target);
        if head.method == "GET" && is_ws_path(path) && head.lists("Upgrade", "websocket") {
            return Intake::WebSocket;
        }
        if head.method == "POST"
            && head.header("Content-Type").is_some_and(|t| t.starts_with("application/octet-stream"))
        {
            if let Some(m) = path.strip_prefix("/api/").and_then(|n| self.registry.get(n)) {
                if m.streams_body {
                    return Intake::Stream;
                }
            }
        }
        Intake::Buffer
    }

    fn call(&self, req: &mut Request) -> Reply {
        handle(self, req)
    }

    fn ws_open(&self, head: &Head, remote: SocketAddr) -> Result<WsInfo, Resp> {
        if head.header("Sec-WebSocket-Key").is_none() {
            return Err(error_response(400, "missing Sec-WebSocket-Key"));
        }
        if head.header("Sec-WebSocket-Version").is_some_and(|v| v.trim() != "13") {
            return Err(error_response(426, "only WebSocket version 13 is served")
                .with_header(header("Sec-WebSocket-Version", "13")));
        }
        Ok(WsInfo { remote, auth_ok: token_ok(head.header("Authorization"), &self.token) })
    }

    fn ws_message(&self, info: &WsInfo, msg: &[u8]) -> WsReply {
        if msg.len() < 4 {
            return WsReply::None; // not an hprose message; nothing to answer
        }
        let id = msg[..4].to_vec();
        let with_id = move |body: Vec<u8>| {
            let mut r = id.clone();
            r.extend(body);
            r
        };
        let who = Who { token: info.auth_ok, remote: Some(info.remote.ip()), cross_site: false };
        match hprose_dispatch(self, &msg[4..], &who) {
            HproseOut::Now(b) => WsReply::Now(with_id(b)),
            HproseOut::Later(park, finish) => WsReply::Later(park, Box::new(move |v| with_id(finish(v)))),
        }
    }
}

fn handle<B: Content>(ctx: &Ctx<B>, req: &mut Request) -> Reply {
    let url = req.url().to_string();
    let (raw_path, raw_query) = match url.split_once('?') {
        Some((p, q)) => (p.to_string(), Some(q.to_string())),
        None => (url.clone(), None),
    };
    let method = req.method().to_string();
    let get = method == "GET" || method == "HEAD";
    let resp = match raw_path.as_str() {
        p if get && p.starts_with("/ipfs/") => {
            let query = parse_query(raw_query.as_deref());
            match percent_decode(&p["/ipfs/".len()..]) {
                None => error_response(400, "the path is not valid percent-encoded UTF-8"),
                Some(rest) => {
                    let greq = gateway_request(req, &rest, &raw_path, raw_query.as_deref(), &query);
                    match (&ctx.net, proto_core::cid::Cid::parse(rest.split('/').next().unwrap_or_default())) {
                        (Some(net), Ok(root)) if !net.holds(&root) => fetch_from_network(ctx, net, root, &greq),
                        (Some(net), Ok(root)) => path_gateway::serve(&net.reader(root), &greq),
                        _ => path_gateway::serve(&ctx.store, &greq),
                    }
                }
            }
        }
        p if get && p.starts_with("/mm/") => {
            let query = parse_query(raw_query.as_deref());
            match percent_decode(&p["/mm/".len()..]) {
                None => error_response(400, "the path is not valid percent-encoded UTF-8"),
                Some(rest) => {
                    let base = gateway_request(req, "", &raw_path, raw_query.as_deref(), &query);
                    // Template pages on other nodes load apps from here.
                    crate::mm_gateway::serve_mm(&ctx.store, &rest, &base)
                        .with_header(header("Access-Control-Allow-Origin", "*"))
                }
            }
        }
        p if get && (p == "/mf" || p.starts_with("/mf/")) => {
            let query = parse_query(raw_query.as_deref());
            open_file(ctx, req, &p["/mf".len()..], &raw_path, raw_query.as_deref(), &query)
        }
        "/getvar" if get => getvar(ctx, req, raw_query.as_deref()),
        "/entry" if get => crate::mm_gateway::entry(&*ctx.store, &parse_query(raw_query.as_deref()))
            .with_header(header("Access-Control-Allow-Origin", "*")),
        p if get && p.starts_with("/tpt/") => {
            let client = req.remote_addr().ip().to_string();
            tpt(ctx, &p["/tpt/".len()..], &client, req.header("Host"))
        }
        p if is_ws_path(p) && method == "GET" && req.head.lists("Upgrade", "websocket") => {
            error_response(400, "a WebSocket upgrade needs Connection: Upgrade and Sec-WebSocket-Key")
        }
        p if is_webapi_path(p) => return hprose_http(ctx, req),
        p if method == "POST" && p.starts_with("/api/") => {
            let name = p["/api/".len()..].to_string();
            return api(ctx, req, &name, raw_query.as_deref());
        }
        "/api/" | "/ipfs/" => error_response(400, "missing method name or cid"),
        p if p.starts_with("/api/") => error_response(405, "API methods are called with POST"),
        "/" if get => {
            // A Host name mapped with SetDomain gets its app's template page.
            let host = req.header("Host").map(|h| h.rsplit_once(':').map_or(h, |(n, _)| n).to_ascii_lowercase());
            let target = host.and_then(|h| ctx.store.kv_get(format!("domain/{h}").as_bytes()).ok().flatten());
            match target.and_then(|t| String::from_utf8(t).ok()) {
                Some(t) => {
                    let client = req.remote_addr().ip().to_string();
                    tpt(ctx, &t, &client, req.header("Host"))
                }
                // Also what template pages probe and time.
                None => Resp::bytes(200, b"leither node\n".to_vec(), "text/plain; charset=utf-8")
                    .with_header(header("Access-Control-Allow-Origin", "*"))
                    .with_header(header("Cache-Control", "no-store")),
            }
        }
        _ => error_response(404, &format!("no such page: {raw_path}")),
    };
    Reply::Now(resp)
}

/// Serves a root this node lacks, holding one of `max_fetches` slots until the response body
/// is done: waiting on the network must not take every worker.
fn fetch_from_network<B: Content>(
    ctx: &Ctx<B>,
    net: &Arc<dyn crate::Network>,
    root: proto_core::cid::Cid,
    greq: &GatewayRequest<'_>,
) -> Resp {
    let slot = match ctx.net_slot() {
        Ok(s) => s,
        Err(e) => return error_response(e.status, &e.message).with_header(header("Retry-After", "2")),
    };
    let mut resp = path_gateway::serve(&net.reader(root), greq);
    resp.body = Box::new(Slotted { body: resp.body, _slot: slot });
    resp
}

/// Largest hprose request body.
pub const MAX_HPROSE_BODY: usize = 16 << 20;

/// Who calls, as a codec sees it.
struct Who {
    token: bool,
    remote: Option<std::net::IpAddr>,
    /// A browser page of another site sent the request without a preflight.
    cross_site: bool,
}

/// hprose over HTTP (hprose-2.0.md §3): always status 200, `E` replies for errors, GET returns
/// the function list. CORS lets any page call (no credentials are involved: the token is a
/// header a page cannot add without a preflight, and none is answered).
fn hprose_http<B: Content>(ctx: &Ctx<B>, req: &mut Request) -> Reply {
    let who = Who {
        token: token_ok(req.header("Authorization"), &ctx.token),
        remote: Some(req.remote_addr().ip()),
        cross_site: cross_site(&req.head),
    };
    let cors = |r: Resp| r.with_header(header("Access-Control-Allow-Origin", "*"));
    let out = match req.method() {
        "POST" => {
            let mut body = Vec::new();
            match req.as_reader().take(MAX_HPROSE_BODY as u64 + 1).read_to_end(&mut body) {
                Ok(_) if body.len() > MAX_HPROSE_BODY => {
                    HproseOut::Now(crate::hprose::error_reply("request body is too large"))
                }
                Ok(_) => hprose_dispatch(ctx, &body, &who),
                Err(e) => HproseOut::Now(crate::hprose::error_reply(&format!("cannot read the request body: {e}"))),
            }
        }
        "GET" => HproseOut::Now(crate::hprose::function_list(ctx.registry.names())),
        "OPTIONS" => {
            return Reply::Now(
                cors(Resp::empty(204))
                    .with_header(header("Access-Control-Allow-Methods", "GET, POST"))
                    .with_header(header("Access-Control-Max-Age", "86400")),
            )
        }
        _ => HproseOut::Now(Vec::new()),
    };
    match out {
        HproseOut::Now(b) => Reply::Now(cors(Resp::bytes(200, b, "text/plain"))),
        HproseOut::Later(park, finish) => {
            Reply::Later(park, Box::new(move |v| cors(Resp::bytes(200, finish(v), "text/plain"))))
        }
    }
}

enum HproseOut {
    Now(Vec<u8>),
    Later(crate::park::Park, Box<dyn FnOnce(Value) -> Vec<u8> + Send>),
}

/// Refuses a cross-site call of a write or account method.
fn refuse_cross_site(registry: &Registry, name: &str, who: &Who) -> Result<(), ApiError> {
    if !who.cross_site {
        return Ok(());
    }
    let write = registry.get(name).is_some_and(|m| m.write);
    if write || ACCOUNT_METHODS.contains(&name.to_ascii_lowercase().as_str()) {
        return Err(ApiError {
            status: 403,
            message: format!("{name} refuses cross-site requests from browser pages (docs/passports.md)"),
        });
    }
    Ok(())
}

/// Runs every call of an hprose request through the registry. A batch of one call may park a
/// long poll; in a longer batch a long poll answers with what it has now.
fn hprose_dispatch<B>(ctx: &Ctx<B>, body: &[u8], who: &Who) -> HproseOut {
    use crate::hprose::{function_list, parse_request_with, reply, HproseLimits, Request};
    let limits = HproseLimits { max_decoded: ctx.limits.max_decoded_bytes, ..Default::default() };
    let calls = match parse_request_with(body, &limits) {
        Ok(Request::FunctionList) => return HproseOut::Now(function_list(ctx.registry.names())),
        Ok(Request::Calls(c)) => c,
        Err(e) => return HproseOut::Now(crate::hprose::error_reply(&e.0)),
    };
    let caller = crate::api::Caller { token: who.token, remote: who.remote };
    let single = calls.len() == 1;
    let mut results = Vec::with_capacity(calls.len());
    for c in calls {
        let by_ref = c.by_ref.then(|| c.args.clone());
        let outcome = refuse_cross_site(&ctx.registry, &c.name, who).and_then(|_| {
            let _slot = ctx.slot_for(&c.name, &caller)?;
            ctx.registry.dispatch_parkable(&c.name, c.args, &caller, None, BTreeMap::new())
        });
        let result = match outcome {
            Ok(Polled::Ready(v)) => Ok(v),
            Ok(Polled::Wait(park)) if single => {
                return HproseOut::Later(park, Box::new(move |v| reply(&[(Ok(v), by_ref)])));
            }
            Ok(Polled::Wait(park)) => Ok(park.now()),
            Err(e) => Err(e.message),
        };
        results.push((result, by_ref));
    }
    HproseOut::Now(reply(&results))
}

/// Constant-time comparison so the token cannot be guessed byte by byte from timings. The
/// scheme is case-insensitive (RFC 9110 §11.1).
fn token_ok(given: Option<&str>, token: &str) -> bool {
    let Some((scheme, given)) = given.and_then(|h| h.trim().split_once(' ')) else {
        return false;
    };
    let given = given.trim();
    scheme.eq_ignore_ascii_case("bearer")
        && given.len() == token.len()
        && given.bytes().zip(token.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

/// `GET /getvar?name=N&arg0=…&arg1=…[&nojson]`: `GetVar("", N, arg0, …)` over plain HTTP, as the
/// original's helper; the value as JSON, or with `nojson` a string value as plain text.
fn getvar<B: Content>(ctx: &Ctx<B>, req: &Request, raw_query: Option<&str>) -> Resp {
    let query = parse_query(raw_query);
    let Some(name) = query.get("name").filter(|n| !n.is_empty()) else {
        return error_response(400, "give the variable's name: /getvar?name=ver");
    };
    let mut args = vec![serde_json::Value::String(String::new()), serde_json::Value::String(name.clone())];
    for i in 0..16 {
        match query.get(&format!("arg{i}")) {
            Some(a) => args.push(serde_json::Value::String(a.clone())),
            None => break,
        }
    }
    let caller = crate::api::Caller {
        token: token_ok(req.header("Authorization"), &ctx.token),
        remote: Some(req.remote_addr().ip()),
    };
    match ctx.registry.dispatch("GetVar", args, &caller, None, BTreeMap::new()) {
        Ok(serde_json::Value::String(s)) if query.contains_key("nojson") => {
            Resp::bytes(200, s.into_bytes(), "text/plain; charset=utf-8")
        }
        Ok(v) => Resp::json(200, &v),
        Err(e) => error_response(e.status, &e.message),
    }
    .with_header(header("Access-Control-Allow-Origin", "*"))
}

fn api<B: Content>(ctx: &Ctx<B>, req: &mut Request, name: &str, raw_query: Option<&str>) -> Reply {
    let Some(method) = ctx.registry.get(name) else {
        return Reply::Now(api_error(&ApiError::not_found(format!("unknown method \"{name}\""))));
    };
    let caller = crate::api::Caller {
        token: token_ok(req.header("Authorization"), &ctx.token),
        remote: Some(req.remote_addr().ip()),
    };
    let who = Who { token: caller.token, remote: caller.remote, cross_site: cross_site(&req.head) };
    if let Err(e) = refuse_cross_site(&ctx.registry, method.name, &who) {
        return Reply::Now(api_error(&e));
    }
    let query = parse_query(raw_query);
    let raw_body = req.header("Content-Type").is_some_and(|t| t.starts_with("application/octet-stream"));
    let result = if raw_body && method.streams_body {
        // A streamed body carries its session id in the query (`?sid=…`).
        let session = match query.get("sid").filter(|s| !s.is_empty()) {
            Some(sid) => match ctx.registry.session(sid) {
                Ok(s) => Some(s),
                Err(e) => return Reply::Now(api_error(&e)),
            },
            None => None,
        };
        let session_id = query.get("sid").filter(|s| !s.is_empty()).cloned();
        let owner = caller.token || session.as_ref().is_some_and(|s| s.owner);
        let user_pk = session.as_ref().and_then(|s| s.pk);
        if method.write && !owner && !(method.sig.users && user_pk.is_some()) {
            let message = format!(
                "{} changes the node and needs its API token (the api.token file in the node's repo)",
                method.name
            );
            return Reply::Now(api_error(&ApiError { status: 401, message }));
        }
        method
            .call(Call {
                args: Vec::new(),
                query,
                body: Some(req.as_reader()),
                user: session.as_ref().map(|s| s.uid.clone()),
                may_write: owner,
                user_pk,
                remote: caller.remote,
                sid: session_id,
                sig: method.sig,
            })
            .map(Polled::Ready)
    } else {
        let too_big =
            || ApiError { status: 413, message: format!("request body is over the {MAX_JSON_BODY}-byte limit") };
        if req.body_length().is_some_and(|n| n > MAX_JSON_BODY as u64) {
            return Reply::Now(api_error(&too_big()));
        }
        let mut body = Vec::new();
        if let Err(e) = req.as_reader().take(MAX_JSON_BODY as u64 + 1).read_to_end(&mut body) {
            return Reply::Now(api_error(&ApiError::bad_request(format!("cannot read the request body: {e}"))));
        }
        if body.len() > MAX_JSON_BODY {
            return Reply::Now(api_error(&too_big()));
        }
        decode_args(&body).and_then(|args| {
            let _slot = ctx.slot_for(method.name, &caller)?;
            ctx.registry.dispatch_parkable(name, args, &caller, None, query)
        })
    };
    match result {
        Ok(Polled::Ready(v)) => Reply::Now(Resp::json(200, &json!({ "result": v }))),
        Ok(Polled::Wait(park)) => Reply::Later(park, Box::new(|v| Resp::json(200, &json!({ "result": v })))),
        Err(e) => Reply::Now(api_error(&e)),
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
