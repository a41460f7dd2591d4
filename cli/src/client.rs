//! How the CLI reaches a node: which address, which token, and the JSON API call.

use crate::http::{self, Body};
use serde_json::Value;
use std::io::Read;
use std::path::PathBuf;
use storage::repo::Repo;

pub(crate) struct Client {
    /// host:port
    pub base: String,
    pub url: String,
    token: Option<String>,
    /// The session the calls go with ("" = none: the token's rights, or a guest's).
    pub sid: String,
    /// The session user's key file on this machine (`-p PPT` with the key in the keyring, or
    /// `-k KEY`): when the node answers that the user has not asked for the mimei service, or
    /// that it cannot sign for them, the call asks or delegates with it and runs once more.
    pub user_key: Option<String>,
}

/// A CLI failure: one line for stderr.
pub(crate) struct CliError(pub String);

impl<E: std::fmt::Display> From<E> for CliError {
    fn from(e: E) -> Self {
        CliError(e.to_string())
    }
}

impl Client {
    /// The node named by `-n`, else the one running on the repo, else the repo's configured port.
    pub(crate) fn new(repo: &Repo, node: Option<&str>) -> Result<Self, CliError> {
        if let Some(n) = node {
            let base = n
                .strip_prefix("http://")
                .ok_or_else(|| CliError(format!("-n takes a node URL like http://127.0.0.1:4800, not \"{n}\"")))?;
            let base = base.trim_end_matches('/').to_string();
            let token = std::env::var("LEITHER_TOKEN").ok();
            return Ok(Client { url: format!("http://{base}"), base, token, sid: String::new(), user_key: None });
        }
        let url = match repo.daemon_info() {
            Some((_, api)) => api,
            None => {
                let port = repo
                    .config()?
                    .http_addr
                    .rsplit_once(':')
                    .map(|(_, p)| p.to_string())
                    .unwrap_or_else(|| "4800".into());
                format!("http://127.0.0.1:{port}")
            }
        };
        let base = url.trim_start_matches("http://").to_string();
        // The local token is only ever sent to the local node.
        let token = std::fs::read_to_string(repo.token_path()).ok().map(|t| t.trim().to_string());
        Ok(Client { base, url, token, sid: String::new(), user_key: None })
    }

    /// Logs in with a passport file: calls go with its session, never with the repo's token.
    /// Returns the user's id.
    pub(crate) fn login_ppt(&mut self, path: &str) -> Result<String, CliError> {
        let ppt = std::fs::read_to_string(path).map_err(|e| CliError(format!("cannot read passport {path}: {e}")))?;
        let r = self.call("LoginWithPPT", serde_json::json!([ppt]))?;
        self.sid = r.get("Sid").and_then(Value::as_str).unwrap_or_default().to_string();
        self.token = None;
        Ok(r.get("Uid").and_then(Value::as_str).unwrap_or_default().to_string())
    }

    fn unreachable(&self, e: std::io::Error) -> CliError {
        CliError(format!("cannot reach the node at {}: {e} (is it running? start it with `leither run`)", self.url))
    }

    fn auth(&self) -> Option<String> {
        self.token.as_ref().map(|t| format!("Bearer {t}"))
    }

    /// Calls a method with its arguments after the session id: the client puts its session id
    /// first for every method whose signature has one. With the user's key at hand, a refusal
    /// for a missing service or delegation is mended and the call runs once more.
    pub(crate) fn call(&self, method: &str, args: Value) -> Result<Value, CliError> {
        let Some(key) = &self.user_key else { return self.call_once(method, args) };
        match self.call_once(method, args.clone()) {
            Err(CliError(e)) if e.contains("has not requested the mimei service") => {
                crate::cmd_lpki::request_mimei_with_key(self, key)?;
                self.call_once(method, args)
            }
            Err(CliError(e)) if e.contains("cannot sign for user") => {
                crate::cmd_lpki::delegate_with(self, key, crate::cmd_lpki::DEFAULT_DELEGATION_MINUTES)?;
                self.call_once(method, args)
            }
            r => r,
        }
    }

    fn call_once(&self, method: &str, args: Value) -> Result<Value, CliError> {
        let args = match (gateway::api::signature(method).is_some_and(|s| s.sid), args) {
            (true, Value::Array(mut a)) => {
                a.insert(0, Value::String(self.sid.clone()));
                Value::Array(a)
            }
            (_, a) => a,
        };
        let body = args.to_string();
        let auth = self.auth();
        let mut headers = Vec::new();
        if let Some(a) = &auth {
            headers.push(("Authorization", a.as_str()));
        }
        let resp = http::request(
            &self.base,
            "POST",
            &format!("/api/{method}"),
            &headers,
            Body::Bytes(body.as_bytes(), "application/json"),
        )
        .map_err(|e| self.unreachable(e))?;
        decode(resp)
    }

    /// Calls a method with a raw body stream (e.g. `IpfsAdd` of a file).
    pub(crate) fn call_stream(
        &self,
        method: &str,
        query: &str,
        body: &mut dyn Read,
        len: u64,
    ) -> Result<Value, CliError> {
        let auth = self.auth();
        let mut headers = Vec::new();
        if let Some(a) = &auth {
            headers.push(("Authorization", a.as_str()));
        }
        let path = if self.sid.is_empty() {
            format!("/api/{method}?{query}")
        } else {
            format!("/api/{method}?{query}&sid={}", self.sid)
        };
        let resp =
            http::request(&self.base, "POST", &path, &headers, Body::Stream(body, len, "application/octet-stream"))
                .map_err(|e| self.unreachable(e))?;
        decode(resp)
    }

    /// `GET` on the gateway; errors carry the gateway's message.
    pub(crate) fn get(&self, path: &str) -> Result<http::Response, CliError> {
        self.get_with(path, &[])
    }

    /// `GET` with request headers (a `Range`); 200 and 206 are answers, the rest errors.
    pub(crate) fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Result<http::Response, CliError> {
        let resp = http::request(&self.base, "GET", path, headers, Body::None).map_err(|e| self.unreachable(e))?;
        if resp.status != 200 && resp.status != 206 {
            let status = resp.status;
            let text = String::from_utf8_lossy(&resp.read_all().unwrap_or_default()).trim().to_string();
            return Err(CliError(format!("{text} (HTTP {status})")));
        }
        Ok(resp)
    }
}

fn decode(resp: http::Response) -> Result<Value, CliError> {
    let status = resp.status;
    let bytes = resp.read_all()?;
    let v: Value = serde_json::from_slice(&bytes)
        .map_err(|_| CliError(format!("the node sent a response that is not JSON (HTTP {status})")))?;
    if let Some(e) = v.get("error").and_then(Value::as_str) {
        return Err(CliError(e.to_string()));
    }
    v.get("result").cloned().ok_or_else(|| CliError(format!("the node's response has no result (HTTP {status})")))
}

/// `--repo`, else `$LEITHER_PATH`, else `~/.leither`.
pub(crate) fn repo_dir(flag: Option<&str>) -> Result<PathBuf, CliError> {
    if let Some(r) = flag {
        return Ok(PathBuf::from(r));
    }
    if let Some(p) = std::env::var_os("LEITHER_PATH").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .ok_or_else(|| CliError("HOME is not set; pass --repo DIR or set LEITHER_PATH".into()))?;
    Ok(PathBuf::from(home).join(".leither"))
}
