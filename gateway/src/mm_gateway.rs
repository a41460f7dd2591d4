//! MiMei paths for browsers: `/mm/<mid>[:ver]/<path>` serves a file MiMei's content (a UnixFS file
//! or directory tree) like `/ipfs/`, and `/entry?aid=<appid>&ver=…` opens an app (a MiMei whose
//! content is a web directory) at its index page. A version named by number is immutable and
//! cached as such; `cur`/`last`/`release` may change, so they are not. `cur` is the working copy
//! where there is one (an app's upload on its developer's node) and the newest version elsewhere.

use crate::path_gateway::{self, GatewayRequest};
use crate::server::{error_response, header, Resp};
use crate::Content;
use proto_core::mimei::{Kind, Mid};
use std::sync::Arc;

/// What `/mm/<mid>[:ver]/…` names: the content CID and whether the version may change.
fn resolve<B: Content + ?Sized>(store: &B, target: &str) -> Result<(proto_core::cid::Cid, bool), Resp> {
    let (mid_text, ver) = target.split_once(':').unwrap_or((target, "last"));
    let mid = Mid::parse(mid_text).map_err(|e| error_response(400, &format!("invalid mid \"{mid_text}\": {e}")))?;
    let m = store
        .get_mimei(&mid)
        .map_err(|e| error_response(500, &e.to_string()))?
        .ok_or_else(|| error_response(404, &format!("MiMei {mid} is not held by this node (mimei sync it first)")))?;
    if m.head.info.kind != Kind::File {
        return Err(error_response(400, &format!("MiMei {mid} is a database; /mm/ serves file MiMeis")));
    }
    let cid = m.cid_of(ver).map_err(|e| error_response(404, &format!("MiMei {mid}: {e}")))?;
    Ok((cid, ver.parse::<u64>().is_err()))
}

/// `rest` is the decoded path after `/mm/`.
pub fn serve_mm<B: Content + ?Sized>(store: &Arc<B>, rest: &str, base: &GatewayRequest<'_>) -> Resp {
    let (target, path) = rest.split_once('/').unwrap_or((rest, ""));
    if path.split('/').any(|s| s == ".." || s == ".") {
        return error_response(400, "path segments \".\" and \"..\" are not allowed");
    }
    let (cid, mutable) = match resolve(&**store, target) {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let inner = format!("{cid}/{path}");
    let req = GatewayRequest { rest: &inner, ..*base };
    let resp = path_gateway::serve(store, &req);
    if mutable {
        resp.without_header("Cache-Control").with_header(header("Cache-Control", "no-cache"))
    } else {
        resp
    }
}

/// `/entry?aid=<appid>&ver=…` or `/entry?author=<developer>&app=<name>&ver=…` (an app this node
/// holds, found by its developer and name): to the app's index, so its files load relative to it.
/// Without `ver` it is `cur` — the working copy on the developer's node, the newest version
/// elsewhere.
pub fn entry<B: Content + ?Sized>(store: &B, query: &std::collections::BTreeMap<String, String>) -> Resp {
    let aid = match (query.get("aid").filter(|a| !a.is_empty()), query.get("author"), query.get("app")) {
        (Some(aid), _, _) => match Mid::parse(aid) {
            Ok(m) => m.to_string(),
            Err(e) => return error_response(400, &format!("invalid aid \"{aid}\": {e}")),
        },
        (None, Some(author), Some(app)) if !author.is_empty() && !app.is_empty() => {
            let mark = format!("app:{author}:{app}");
            let found = match store.list_mimeis() {
                Ok(list) => list.into_iter().find(|m| m.head.info.kind == Kind::File && m.head.info.mark == mark),
                Err(e) => return error_response(500, &e.to_string()),
            };
            match found {
                Some(m) => m.mid().to_string(),
                None => return error_response(404, &format!("this node holds no app \"{app}\" by developer {author}")),
            }
        }
        _ => {
            return error_response(
                400,
                "missing app: /entry?aid=<app mid>&ver=… or /entry?author=<developer>&app=<name>&ver=…",
            )
        }
    };
    let ver = query.get("ver").map(String::as_str).unwrap_or("cur");
    if !(matches!(ver, "cur" | "last" | "release") || ver.parse::<u64>().is_ok()) {
        return error_response(400, &format!("\"{ver}\" is not a version (use a number, cur, last or release)"));
    }
    Resp::empty(302)
        .with_header(header("Location", &format!("/mm/{aid}:{ver}/")))
        .with_header(header("Cache-Control", "no-cache"))
}
