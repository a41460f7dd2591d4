//! The kad-dht wire message (`pb/dht.proto`, proto3) and its record (`go-libp2p-record`): one
//! [`Message`] per length-prefixed frame, both ways. Decoding skips unknown fields, takes fields
//! in any order, drops peers whose id is not a peer id (not fatal) and addresses that are empty or
//! too long; an unknown message type, a bad field shape or a message over [`super::MAX_MESSAGE`]
//! is an error. Encoding is proto3: defaults left out, `connection` never written.

use crate::libp2p::pb::{Fields, PbError, Writer};
use crate::libp2p::PeerId;

/// Longest address accepted in a peer entry (kubo's are well under 200 bytes).
pub const MAX_ADDR_LEN: usize = 512;

/// The RPC a message belongs to (`Message.MessageType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MessageType {
    PutValue,
    GetValue,
    AddProvider,
    GetProviders,
    FindNode,
    Ping,
}

impl MessageType {
    pub fn code(self) -> u64 {
        match self {
            MessageType::PutValue => 0,
            MessageType::GetValue => 1,
            MessageType::AddProvider => 2,
            MessageType::GetProviders => 3,
            MessageType::FindNode => 4,
            MessageType::Ping => 5,
        }
    }

    pub fn from_code(code: u64) -> Option<Self> {
        Some(match code {
            0 => MessageType::PutValue,
            1 => MessageType::GetValue,
            2 => MessageType::AddProvider,
            3 => MessageType::GetProviders,
            4 => MessageType::FindNode,
            5 => MessageType::Ping,
            _ => return None,
        })
    }
}

/// A peer entry (`Message.Peer`): its id and binary multiaddrs (kept opaque: any protocol).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KadPeer {
    pub id: PeerId,
    pub addrs: Vec<Vec<u8>>,
}

/// A value record (`Record`): `/pk/…` or `/ipns/…` key, opaque value, the receiver's RFC 3339
/// time stamp (kept as given).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Record {
    pub key: Vec<u8>,
    pub value: Vec<u8>,
    pub time_received: String,
}

/// One kad message, request or response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub typ: MessageType,
    pub key: Vec<u8>,
    pub record: Option<Record>,
    pub closer: Vec<KadPeer>,
    pub providers: Vec<KadPeer>,
    /// `clusterLevelRaw` as on the wire (kubo sends 1 = level 0 + 1).
    pub cluster_level: i32,
}

impl Message {
    /// A message of type `typ` with `key` and nothing else.
    pub fn new(typ: MessageType, key: Vec<u8>) -> Self {
        Message { typ, key, record: None, closer: Vec::new(), providers: Vec::new(), cluster_level: 0 }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.varint_nonzero(1, self.typ.code());
        w.bytes_nonempty(2, &self.key);
        if let Some(r) = &self.record {
            w.message(3, |m| {
                m.bytes_nonempty(1, &r.key);
                m.bytes_nonempty(2, &r.value);
                if !r.time_received.is_empty() {
                    m.string(5, &r.time_received);
                }
            });
        }
        for (number, peers) in [(8, &self.closer), (9, &self.providers)] {
            for p in peers {
                w.message(number, |m| {
                    m.bytes(1, p.id.as_bytes());
                    for a in &p.addrs {
                        m.bytes(2, a);
                    }
                });
            }
        }
        w.int32_nonzero(10, self.cluster_level);
        w.finish()
    }

    /// Decodes a message, keeping every valid peer entry (bounded by the message size).
    pub fn decode(b: &[u8]) -> Result<Self, PbError> {
        Message::decode_limited(b, usize::MAX)
    }

    /// Decodes a message, keeping at most `max_peers` entries of each peer list (the rest are
    /// still checked for shape, then dropped).
    pub fn decode_limited(b: &[u8], max_peers: usize) -> Result<Self, PbError> {
        if b.len() > super::MAX_MESSAGE {
            return Err(PbError::TooLong { len: b.len() as u64, max: super::MAX_MESSAGE });
        }
        let mut m = Message::new(MessageType::PutValue, Vec::new());
        for field in Fields::new(b) {
            let (number, value) = field?;
            match number {
                1 => {
                    m.typ = MessageType::from_code(value.varint("type")?).ok_or(PbError::Field("type"))?;
                }
                2 => m.key = value.bytes("key")?.to_vec(),
                3 => m.record = Some(decode_record(value.bytes("record")?)?),
                8 | 9 => {
                    let peer = decode_peer(value.bytes("peer")?)?;
                    let list = if number == 8 { &mut m.closer } else { &mut m.providers };
                    if let Some(p) = peer {
                        if list.len() < max_peers {
                            list.push(p);
                        }
                    }
                }
                10 => m.cluster_level = value.int32("clusterLevelRaw")?,
                _ => {}
            }
        }
        Ok(m)
    }
}

fn decode_record(b: &[u8]) -> Result<Record, PbError> {
    let mut r = Record::default();
    for field in Fields::new(b) {
        let (number, value) = field?;
        match number {
            1 => r.key = value.bytes("record key")?.to_vec(),
            2 => r.value = value.bytes("record value")?.to_vec(),
            5 => r.time_received = value.string("timeReceived")?.to_string(),
            _ => {}
        }
    }
    Ok(r)
}

/// A peer entry; `None` when its id is not a peer id (the entry is skipped, the message kept).
fn decode_peer(b: &[u8]) -> Result<Option<KadPeer>, PbError> {
    let mut id = None;
    let mut addrs = Vec::new();
    for field in Fields::new(b) {
        let (number, value) = field?;
        match number {
            1 => id = Some(value.bytes("peer id")?),
            2 => {
                let a = value.bytes("peer addr")?;
                if !a.is_empty() && a.len() <= MAX_ADDR_LEN {
                    addrs.push(a.to_vec());
                }
            }
            3 => {
                value.varint("connection")?;
            }
            _ => {}
        }
    }
    Ok(id.and_then(|id| PeerId::from_bytes(id).ok()).map(|id| KadPeer { id, addrs }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    /// An RSA-style (sha2-256) peer id: `12 20` and 32 bytes.
    fn rsa_id(fill: u8) -> Vec<u8> {
        let mut v = vec![0x12, 0x20];
        v.extend([fill; 32]);
        v
    }

    #[test]
    fn ping_is_08_05() {
        // kubo's PING reply observed on the wire.
        let m = Message::decode(&[0x08, 0x05]).unwrap();
        assert_eq!(m, Message::new(MessageType::Ping, Vec::new()));
        assert_eq!(m.encode(), [0x08, 0x05]);
        // type 0 (PUT_VALUE) is proto3's default: absent on the wire.
        assert_eq!(Message::decode(&[]).unwrap().typ, MessageType::PutValue);
    }

    #[test]
    fn kubo_find_node_reply_shape() {
        // `08 04 42 2e 0a 22 1220… 12 08 <ip4 tcp> … 50 01`: FIND_NODE, one closer RSA peer with
        // an address, clusterLevelRaw 1 — the shape kubo 0.22 answered.
        let ip4_tcp = "04 7f000001 06 0fa1"; // /ip4/127.0.0.1/tcp/4001
        let body = format!("0a 22 1220 {} 12 08 {}", "ab".repeat(32), ip4_tcp);
        let bytes = hex(&format!("08 04 42 2e {body} 50 01"));
        let m = Message::decode(&bytes).unwrap();
        assert_eq!(m.typ, MessageType::FindNode);
        assert!(m.key.is_empty());
        assert_eq!(m.cluster_level, 1);
        assert_eq!(m.closer.len(), 1);
        assert_eq!(m.closer[0].id.as_bytes(), rsa_id(0xab));
        assert_eq!(m.closer[0].addrs, vec![hex(ip4_tcp)]);
        assert_eq!(m.encode(), bytes, "re-encodes byte for byte");
    }

    #[test]
    fn hand_written_get_providers_and_record() {
        // GET_PROVIDERS reply: type 3, key = sha2-256 multihash (12 20 …), one provider with no
        // addrs, clusterLevelRaw 1.
        let key = format!("1220{}", "01".repeat(32));
        let bytes = hex(&format!("08 03 12 22 {key} 4a 24 0a 22 1220{} 50 01", "cd".repeat(32)));
        let m = Message::decode(&bytes).unwrap();
        assert_eq!(m.typ, MessageType::GetProviders);
        assert_eq!(m.key, hex(&key));
        assert_eq!(m.providers, vec![KadPeer { id: PeerId::from_bytes(&rsa_id(0xcd)).unwrap(), addrs: vec![] }]);
        assert_eq!(m.encode(), bytes);
        // PUT_VALUE with a record: key "/pk/x", value 01 02, timeReceived "t"; type 0 omitted.
        let bytes = hex("12 05 2f706b2f78 1a 0e 0a 05 2f706b2f78 12 02 0102 2a 01 74");
        let m = Message::decode(&bytes).unwrap();
        assert_eq!(m.typ, MessageType::PutValue);
        let r = m.record.clone().unwrap();
        assert_eq!((r.key.as_slice(), r.value.as_slice(), r.time_received.as_str()), (&b"/pk/x"[..], &[1, 2][..], "t"));
        assert_eq!(m.encode(), bytes);
    }

    #[test]
    fn tolerant_where_kubo_is() {
        // Unknown fields (7 varint, 11 bytes), connection = 1, fields out of order.
        let bytes = hex(&format!("50 01 38 07 5a 01 00 42 26 18 01 0a 22 1220{} 08 04", "ee".repeat(32)));
        let m = Message::decode(&bytes).unwrap();
        assert_eq!(m.typ, MessageType::FindNode);
        assert_eq!(m.closer.len(), 1);
        // A peer with a bad id is skipped; the good one after it kept; an empty address dropped.
        let bytes = hex(&format!("08 04 42 05 0a 03 010203 42 26 0a 22 1220{} 12 00", "11".repeat(32)));
        let m = Message::decode(&bytes).unwrap();
        assert_eq!(m.closer.len(), 1);
        assert!(m.closer[0].addrs.is_empty());
    }

    #[test]
    fn hostile_messages() {
        assert!(Message::decode(&[0x08, 0x06]).is_err(), "no message type 6");
        assert!(Message::decode(&[0x08]).is_err(), "truncated");
        assert!(Message::decode(&[0x12, 0x05, 1]).is_err(), "key runs past the end");
        assert!(Message::decode(&[0x42, 0x02, 0x0a, 0x05]).is_err(), "peer runs past its end");
        assert!(Message::decode(&[0x0a, 0x00]).is_err(), "type as bytes");
        let big = vec![0u8; super::super::MAX_MESSAGE + 1];
        assert!(matches!(Message::decode(&big), Err(PbError::TooLong { .. })));
        // 10 000 closer peers: all decoded by `decode`, capped by `decode_limited`.
        let mut m = Message::new(MessageType::FindNode, Vec::new());
        m.closer =
            (0..10_000u32).map(|_| KadPeer { id: PeerId::from_bytes(&rsa_id(7)).unwrap(), addrs: vec![] }).collect();
        let bytes = m.encode();
        assert_eq!(Message::decode(&bytes).unwrap().closer.len(), 10_000);
        assert_eq!(Message::decode_limited(&bytes, 40).unwrap().closer.len(), 40);
        // A negative cluster level survives (ten-byte varint).
        let mut m = Message::new(MessageType::Ping, Vec::new());
        m.cluster_level = -1;
        assert_eq!(Message::decode(&m.encode()).unwrap().cluster_level, -1);
    }
}
