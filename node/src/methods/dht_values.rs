//! `DhtPutValue(sid, dhts, key, value)` and `DhtGetValue(sid, dhts, key)`: small values on the
//! node network's DHT, signed by the node and checked by every reader. A value is stored under
//! the record key of (this node, `key`); `DhtPutValue` answers that record key, and
//! `DhtGetValue` takes it — or a plain key, for this node's own value.

use crate::methods::files::{bytes_arg, bytes_value};
use crate::net::NetHandle;
use gateway::api::{ApiError, Registry};
use proto_core::dht::record::record_key;
use proto_core::dht::{self, Key, Record};
use proto_core::id::NodeId;
use proto_core::identity::Identity;
use proto_core::node::{Command, Reply};
use serde_json::json;
use std::sync::Arc;

/// How long a value lives on the DHT (as a MiMei publication: 168 h).
pub const VALUE_EOL_MS: u64 = 168 * 3600 * 1000;

/// Longest key, in bytes.
pub const MAX_KEY_BYTES: usize = 256;

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

fn key_text(call: &gateway::api::Call<'_>) -> Result<String, ApiError> {
    let k = call.str("key")?;
    if k.is_empty() || k.len() > MAX_KEY_BYTES {
        return Err(ApiError::bad_request(format!("a key has 1 to {MAX_KEY_BYTES} bytes")));
    }
    Ok(k.to_string())
}

pub fn register(reg: &mut Registry, net: Arc<dyn NetHandle>, seed: [u8; 32]) {
    let me = Arc::new(Identity::from_seed(seed));
    let (h, node) = (net.clone(), me.clone());
    reg.register("DhtPutValue", true, move |call| {
        let key = key_text(&call)?;
        let value = bytes_arg(call.arg("value"))?;
        let now = now_ms();
        // The version is the time: a later put replaces an earlier one everywhere.
        let rec = Record::sign(&node, key.as_bytes(), value, now, now + VALUE_EOL_MS);
        rec.verify(now).map_err(|e| ApiError::bad_request(e.to_string()))?;
        let stored = rec.key;
        match h.call(Command::Dht(dht::Command::PutRecord(rec))) {
            Ok(Reply::Dht(dht::Reply::Stored { peers })) => Ok(json!({"Key": stored.to_string(), "peers": peers})),
            Ok(other) => Err(ApiError::internal(format!("unexpected reply {other:?}"))),
            Err(e) => Err(ApiError { status: 502, message: e }),
        }
    });
    let h = net;
    reg.register("DhtGetValue", false, move |call| {
        let key = key_text(&call)?;
        let k = match NodeId::parse(&key) {
            Ok(id) => Key::from(id),
            Err(_) => record_key(&me.public_key(), key.as_bytes()),
        };
        let rec = match h.call(Command::Dht(dht::Command::GetRecord(k))) {
            Ok(Reply::Dht(dht::Reply::Record(Some(r)))) => r,
            Ok(Reply::Dht(dht::Reply::Record(None))) => {
                return Err(ApiError::not_found(format!("no value under {key} on the network")))
            }
            Ok(other) => return Err(ApiError::internal(format!("unexpected reply {other:?}"))),
            Err(e) => return Err(ApiError { status: 502, message: e }),
        };
        rec.verify(now_ms()).map_err(|e| ApiError { status: 502, message: format!("a forged value: {e}") })?;
        Ok(json!({
            "Key": rec.key.to_string(),
            "Value": bytes_value(rec.value),
            "Author": proto_core::identity::node_id_of(&rec.author).to_string(),
            "Version": rec.version,
            "EOL": rec.eol,
        }))
    });
}
