//! The HTTP server's limits (`"http": {…}` in config.json, which the repo keeps as it is and the
//! node reads here when it starts; absent fields keep their defaults).
//! Each bounds what one client can make the node hold: bytes, connections, threads or time.

use serde_json::{json, Map, Value};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpLimits {
    /// Threads that run requests (routing, methods, responses).
    pub workers: usize,
    /// Open HTTP and WebSocket connections, and those from one address.
    pub max_conns: usize,
    pub max_conns_per_ip: usize,
    /// Requests of one address being run at once (the rest wait their turn).
    pub max_inflight_per_ip: usize,
    /// The request line (414 above), the whole head and its field count (431 above).
    pub max_request_line: usize,
    pub max_head_bytes: usize,
    pub max_headers: usize,
    /// A request body read before its method runs (413 above), and all such bodies at once (503).
    pub max_body_bytes: usize,
    pub max_buffered_bytes: usize,
    /// Time for a request head to arrive, for a body to arrive, between requests of a
    /// keep-alive connection, and for a response write to make progress.
    pub head_timeout_ms: u64,
    pub body_timeout_ms: u64,
    pub idle_timeout_ms: u64,
    pub write_timeout_ms: u64,
    /// A WebSocket message (after reassembly), the calls of one connection run at once, replies
    /// waiting to be read by a client, and how long a silent WebSocket stays open.
    pub ws_max_message: usize,
    pub ws_max_inflight: usize,
    pub ws_max_outbox: usize,
    pub ws_idle_timeout_ms: u64,
    /// Long polls (`PullMsg`) parked at once.
    pub max_parked: usize,
    /// Anonymous requests waiting on the network at once (503 above): gateway reads of a root
    /// this node lacks, DHT and provider lookups, template pages.
    pub max_fetches: usize,
    /// A response still going out after this long (a slow reader, a big file) moves from its
    /// worker to a drain thread, of which there are at most `max_draining` (and
    /// `max_draining_per_ip` for one address); a drained response slower than `min_send_rate`
    /// bytes/s once `write_timeout_ms` has passed is cut off.
    pub handoff_ms: u64,
    pub max_draining: usize,
    pub max_draining_per_ip: usize,
    pub min_send_rate: u64,
    /// The decoded size of one request's arguments (hprose references count their copies).
    pub max_decoded_bytes: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            workers: 8,
            max_conns: 1024,
            max_conns_per_ip: 128,
            max_inflight_per_ip: 4,
            max_request_line: 8 << 10,
            max_head_bytes: 64 << 10,
            max_headers: 100,
            max_body_bytes: 16 << 20,
            max_buffered_bytes: 64 << 20,
            head_timeout_ms: 10_000,
            body_timeout_ms: 30_000,
            idle_timeout_ms: 30_000,
            write_timeout_ms: 30_000,
            ws_max_message: 16 << 20,
            ws_max_inflight: 4,
            ws_max_outbox: 32 << 20,
            ws_idle_timeout_ms: 600_000,
            max_parked: 4096,
            max_fetches: 4,
            handoff_ms: 200,
            max_draining: 256,
            max_draining_per_ip: 16,
            min_send_rate: 1024,
            max_decoded_bytes: 32 << 20,
        }
    }
}

macro_rules! fields {
    ($m:ident, $($f:ident),*) => {
        $m!($($f),*)
    };
}

macro_rules! each_field {
    ($mac:ident) => {
        fields!(
            $mac,
            workers,
            max_conns,
            max_conns_per_ip,
            max_inflight_per_ip,
            max_request_line,
            max_head_bytes,
            max_headers,
            max_body_bytes,
            max_buffered_bytes,
            head_timeout_ms,
            body_timeout_ms,
            idle_timeout_ms,
            write_timeout_ms,
            ws_max_message,
            ws_max_inflight,
            ws_max_outbox,
            ws_idle_timeout_ms,
            max_parked,
            max_fetches,
            handoff_ms,
            max_draining,
            max_draining_per_ip,
            min_send_rate,
            max_decoded_bytes
        )
    };
}

impl HttpLimits {
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        macro_rules! put {
            ($($f:ident),*) => { $( m.insert(stringify!($f).into(), json!(self.$f)); )* };
        }
        each_field!(put);
        Value::Object(m)
    }

    /// Reads `"http": {…}`; every field is a positive whole number, an unknown one is an error.
    pub fn from_json(v: Option<&Value>) -> Result<Self, String> {
        let mut l = HttpLimits::default();
        let Some(v) = v else { return Ok(l) };
        let obj = v.as_object().ok_or("http must be an object of limits")?;
        let mut known = Vec::new();
        macro_rules! get {
            ($($f:ident),*) => { $(
                known.push(stringify!($f));
                if let Some(x) = obj.get(stringify!($f)) {
                    let n = x.as_u64().filter(|n| *n > 0)
                        .ok_or(format!("http.{} must be a positive number", stringify!($f)))?;
                    l.$f = n.try_into().map_err(|_| format!("http.{} is too large", stringify!($f)))?;
                }
            )* };
        }
        each_field!(get);
        if let Some(k) = obj.keys().find(|k| !known.contains(&k.as_str())) {
            return Err(format!("http.{k} is not a known limit (known: {})", known.join(", ")));
        }
        Ok(l)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_round_trip_and_refuse_junk() {
        let l = HttpLimits { max_conns_per_ip: 3, head_timeout_ms: 250, ..Default::default() };
        assert_eq!(HttpLimits::from_json(Some(&l.to_json())).unwrap(), l);
        let partial = json!({"workers": 2});
        assert_eq!(HttpLimits::from_json(Some(&partial)).unwrap().workers, 2);
        assert_eq!(HttpLimits::from_json(Some(&partial)).unwrap().max_headers, 100);
        assert!(HttpLimits::from_json(Some(&json!({"workers": 0}))).unwrap_err().contains("http.workers"));
        assert!(HttpLimits::from_json(Some(&json!({"wokers": 2}))).unwrap_err().contains("not a known limit"));
        assert!(HttpLimits::from_json(Some(&json!([1]))).is_err());
    }
}
