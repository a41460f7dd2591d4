//! The RESP endpoint: a TCP listener with a thread per client (blocking I/O, like the HTTP
//! server), bounded in number, serving the node's DB MiMeis.

use super::conn::Conn;
use super::engine::{prefix, Engine};
use proto_core::mimei::Mid;
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

/// Redis's default `maxclients`.
pub const MAX_CLIENTS: usize = 10_000;

/// Tells whether a mid names a DB MiMei this node holds.
pub type IsDb = Box<dyn Fn(&Mid) -> Result<bool, String> + Send + Sync>;

pub struct Shared {
    pub engine: Arc<Engine>,
    pub default_prefix: Vec<u8>,
    pub default_mid: Mid,
    token: String,
    is_db: IsDb,
    clients: AtomicUsize,
    stopping: AtomicBool,
}

impl Shared {
    pub fn check_token(&self, given: &[u8]) -> bool {
        let t = self.token.as_bytes();
        // Length-independent comparison time is not needed for a local token, but equality must
        // not stop at the first differing byte.
        t.len() == given.len() && t.iter().zip(given).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    }

    /// `SELECT 0` is the node's default DB MiMei; `SELECT <mid>` any DB MiMei held here.
    pub fn select(&self, arg: &[u8]) -> Result<Vec<u8>, String> {
        if arg == b"0" {
            return Ok(self.default_prefix.clone());
        }
        let text = String::from_utf8_lossy(arg);
        if proto_core::db::num::parse_i64(arg).is_some() {
            return Err("ERR DB index is out of range".into());
        }
        let mid = Mid::parse(&text).map_err(|e| format!("ERR invalid DB MiMei id '{text}': {e}"))?;
        match (self.is_db)(&mid) {
            Ok(true) => Ok(prefix(&mid, 0)),
            Ok(false) => {
                Err(format!("ERR no database MiMei {text} on this node (create one with `mimei create --db`)"))
            }
            Err(e) => Err(format!("ERR {e}")),
        }
    }

    pub fn info(&self) -> String {
        format!(
            "# Server\r\nredis_version:7.0.0\r\nleither_version:{}\r\nredis_mode:standalone\r\n\r\n# Clients\r\nconnected_clients:{}\r\n\r\n# Persistence\r\ndurability:{}\r\n\r\n# Keyspace\r\ndefault_db:{}\r\n",
            env!("CARGO_PKG_VERSION"),
            self.clients.load(Ordering::Relaxed),
            self.engine.store.durability.name(),
            self.default_mid,
        )
    }
}

pub struct RespServer {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
}

impl RespServer {
    pub fn start(
        addr: &str,
        engine: Arc<Engine>,
        default_mid: Mid,
        token: String,
        is_db: IsDb,
    ) -> std::io::Result<RespServer> {
        let listener = TcpListener::bind(addr)
            .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen for Redis clients on {addr}: {e}")))?;
        let local = listener.local_addr()?;
        let shared = Arc::new(Shared {
            engine,
            default_prefix: prefix(&default_mid, 0),
            default_mid,
            token,
            is_db,
            clients: AtomicUsize::new(0),
            stopping: AtomicBool::new(false),
        });
        let s = shared.clone();
        std::thread::Builder::new().name("resp-accept".into()).spawn(move || {
            for stream in listener.incoming() {
                if s.stopping.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(mut stream) = stream else { continue };
                if s.clients.fetch_add(1, Ordering::Relaxed) >= MAX_CLIENTS {
                    s.clients.fetch_sub(1, Ordering::Relaxed);
                    use std::io::Write;
                    let _ = stream.write_all(b"-ERR max number of clients reached\r\n");
                    continue;
                }
                let s2 = s.clone();
                let spawned =
                    std::thread::Builder::new().name("resp-conn".into()).stack_size(256 * 1024).spawn(move || {
                        Conn::new(s2.clone()).serve(stream);
                        s2.clients.fetch_sub(1, Ordering::Relaxed);
                    });
                if spawned.is_err() {
                    s.clients.fetch_sub(1, Ordering::Relaxed);
                }
            }
        })?;
        Ok(RespServer { addr: local, shared })
    }

    pub fn stop(&self) {
        self.shared.stopping.store(true, Ordering::Relaxed);
        // Wake the accept loop.
        let _ = std::net::TcpStream::connect(self.addr);
        self.shared.engine.stop();
    }
}
