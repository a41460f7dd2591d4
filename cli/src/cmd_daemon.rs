//! `init`, `run`, `stop`, `lpki id`.

use crate::args::{Init, Run};
use crate::client::{CliError, Client};
use serde_json::json;
use std::time::{Duration, Instant};
use storage::repo::{Config, Repo};

#[cfg(all(feature = "runtime-smol", not(feature = "runtime-std")))]
use runtime_smol as runtime;
#[cfg(feature = "runtime-std")]
use runtime_std as runtime;

pub(crate) fn init(repo: &Repo, a: Init) -> Result<(), CliError> {
    let mut c: Config = repo.config()?;
    let host = a
        .listen
        .unwrap_or_else(|| c.http_addr.rsplit_once(':').map(|(h, _)| h.to_string()).unwrap_or("0.0.0.0".into()));
    let port = a
        .port
        .map(|p| p.to_string())
        .unwrap_or_else(|| c.http_addr.rsplit_once(':').map(|(_, p)| p.to_string()).unwrap_or("4800".into()));
    c.http_addr = format!("{host}:{port}");
    if !a.bootstrap.is_empty() {
        for b in &a.bootstrap {
            proto_core::maddr::Multiaddr::parse(b).map_err(|e| CliError(format!("bootstrap address {b}: {e}")))?;
        }
        c.bootstrap = a.bootstrap;
    }
    if let Some(p) = a.peer_port {
        c.peer_port = p;
    }
    if let Some(r) = a.resp_addr {
        c.resp_addr = resp_addr_arg(&r)?;
    }
    repo.write_config(&c)?;
    let id = repo.identity(node::start::entropy)?;
    repo.token(node::start::entropy)?;
    println!("initialized leither repo {}", repo.dir.display());
    println!("node id {}", id.node_id());
    println!("http {}", c.http_addr);
    Ok(())
}

/// A RESP address from the command line: host:port, or "off".
fn resp_addr_arg(a: &str) -> Result<String, CliError> {
    if a == "off" {
        return Ok(String::new());
    }
    a.parse::<std::net::SocketAddr>()
        .map(|_| a.to_string())
        .map_err(|e| CliError(format!("--resp-addr {a}: {e} (expected host:port like 127.0.0.1:6379, or off)")))
}

pub(crate) fn run(repo: &Repo, a: Run) -> Result<(), CliError> {
    let config = repo.config()?;
    let http_addr = match (a.listen, a.port) {
        (None, None) => None,
        (l, p) => {
            let (h, cp) = config.http_addr.rsplit_once(':').unwrap_or(("0.0.0.0", "4800"));
            Some(format!("{}:{}", l.as_deref().unwrap_or(h), p.map(|p| p.to_string()).unwrap_or(cp.to_string())))
        }
    };
    let opts = node::start::RunOptions {
        repo: repo.dir.clone(),
        http_addr,
        peer_port: a.peer_port,
        bootstrap: a.bootstrap,
        resp_addr: a.resp_addr.as_deref().map(resp_addr_arg).transpose()?,
    };
    storage::alloc::tune();
    node::start::run(opts, runtime::start_net, |s| {
        println!("leither node {}", s.node_id);
        println!("repo {}", repo.dir.display());
        if let Some(r) = &s.resp {
            println!("Redis protocol on {r}");
        }
        println!("API and gateway on {}", s.api);
    })?;
    println!("leither node stopped");
    Ok(())
}

pub(crate) fn stop(repo: &Repo, node: Option<&str>) -> Result<(), CliError> {
    let c = Client::new(repo, node)?;
    c.call("Shutdown", json!([]))?;
    if node.is_none() {
        // Wait until the node has let go of the repo, so a following `run` works.
        let deadline = Instant::now() + Duration::from_secs(15);
        while repo.daemon_info().is_some() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        while repo.lock().is_err() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    println!("leither node stopped");
    Ok(())
}

pub(crate) fn lpki_id(repo: &Repo) -> Result<(), CliError> {
    let id = repo.identity(node::start::entropy)?;
    // The 27-character id, and beside it the same key as the IPFS network names it.
    println!("{} {}", id.node_id(), proto_core::peer_id::to_text(&id.public_key()));
    Ok(())
}
