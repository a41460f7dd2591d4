//! Identify (`/ipfs/id/1.0.0`) and identify push (`/ipfs/id/push/1.0.0`): the message a peer
//! sends about itself (key, listen addresses, protocols, the address it sees us at, versions,
//! signed peer record).
//!
//! Answering: open nothing; on an inbound identify stream write
//! `pb::length_prefixed(&msg.encode())` and close. Asking (or receiving a push): feed every
//! byte of the stream to an [`IdentifyReader`], and at the stream's end call
//! [`IdentifyReader::finish`] for the merged message. Addresses stay raw bytes here (parse
//! them with `crate::maddr::Multiaddr::from_bytes` and skip the ones that fail, as go does).

use crate::libp2p::pb::{Fields, LpReader, PbError, Writer};

pub const PROTOCOL: &str = "/ipfs/id/1.0.0";
pub const PUSH_PROTOCOL: &str = "/ipfs/id/push/1.0.0";
/// Largest identify message read (go-libp2p `signedIDSize`).
pub const MAX_MESSAGE: usize = 8192;
/// Most messages one identify stream may carry (go-libp2p `maxMessages`).
pub const MAX_MESSAGES: usize = 10;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Identify {
    /// A `PublicKey` protobuf (`keys::PublicKey::decode`).
    pub public_key: Option<Vec<u8>>,
    /// Binary multiaddrs.
    pub listen_addrs: Vec<Vec<u8>>,
    pub protocols: Vec<String>,
    /// The address the sender sees the receiver at (binary multiaddr).
    pub observed_addr: Option<Vec<u8>>,
    pub protocol_version: Option<String>,
    pub agent_version: Option<String>,
    /// A signed envelope of a peer record.
    pub signed_peer_record: Option<Vec<u8>>,
}

impl Identify {
    /// The protobuf, fields in number order; a set optional field is written even when empty
    /// (proto2, as kubo's `protocolVersion=""`).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        if let Some(k) = &self.public_key {
            w.bytes(1, k);
        }
        for a in &self.listen_addrs {
            w.bytes(2, a);
        }
        for p in &self.protocols {
            w.string(3, p);
        }
        if let Some(a) = &self.observed_addr {
            w.bytes(4, a);
        }
        if let Some(v) = &self.protocol_version {
            w.string(5, v);
        }
        if let Some(v) = &self.agent_version {
            w.string(6, v);
        }
        if let Some(r) = &self.signed_peer_record {
            w.bytes(8, r);
        }
        w.finish()
    }

    /// Decodes one message (any field order; unknown fields skipped; a repeated optional field
    /// keeps its last value).
    pub fn decode(b: &[u8]) -> Result<Self, PbError> {
        let mut m = Identify::default();
        for field in Fields::new(b) {
            match field? {
                (1, v) => m.public_key = Some(v.bytes("publicKey")?.to_vec()),
                (2, v) => m.listen_addrs.push(v.bytes("listenAddrs")?.to_vec()),
                (3, v) => m.protocols.push(v.string("protocols")?.to_owned()),
                (4, v) => m.observed_addr = Some(v.bytes("observedAddr")?.to_vec()),
                (5, v) => m.protocol_version = Some(v.string("protocolVersion")?.to_owned()),
                (6, v) => m.agent_version = Some(v.string("agentVersion")?.to_owned()),
                (8, v) => m.signed_peer_record = Some(v.bytes("signedPeerRecord")?.to_vec()),
                _ => {}
            }
        }
        Ok(m)
    }

    /// Merges a later message of the same stream into this one, as protobuf merging does:
    /// repeated fields are appended, set optional fields replace.
    pub fn merge(&mut self, later: Identify) {
        fn replace<T>(mine: &mut Option<T>, theirs: Option<T>) {
            if theirs.is_some() {
                *mine = theirs;
            }
        }
        replace(&mut self.public_key, later.public_key);
        self.listen_addrs.extend(later.listen_addrs);
        self.protocols.extend(later.protocols);
        replace(&mut self.observed_addr, later.observed_addr);
        replace(&mut self.protocol_version, later.protocol_version);
        replace(&mut self.agent_version, later.agent_version);
        replace(&mut self.signed_peer_record, later.signed_peer_record);
    }
}

/// Reads an identify stream to its end: ≤ MAX_MESSAGES length-prefixed messages of
/// ≤ MAX_MESSAGE bytes, merged. A length over the limit is refused before its bytes arrive.
#[derive(Debug)]
pub struct IdentifyReader {
    reader: LpReader,
    merged: Identify,
    messages: usize,
}

impl Default for IdentifyReader {
    fn default() -> Self {
        IdentifyReader::new()
    }
}

impl IdentifyReader {
    pub fn new() -> Self {
        IdentifyReader { reader: LpReader::new(MAX_MESSAGE), merged: Identify::default(), messages: 0 }
    }

    /// Bytes of the stream, in any pieces.
    pub fn handle_input(&mut self, bytes: &[u8]) -> Result<(), PbError> {
        self.reader.push(bytes)?;
        while let Some(msg) = self.reader.next_message()? {
            self.messages += 1;
            if self.messages > MAX_MESSAGES {
                return Err(PbError::Field("identify: more than 10 messages"));
            }
            self.merged.merge(Identify::decode(&msg)?);
        }
        Ok(())
    }

    /// At the stream's end: the merged message (empty if the stream was), or an error if it
    /// ended inside a message.
    pub fn finish(self) -> Result<Identify, PbError> {
        if self.reader.buffered() > 0 {
            return Err(PbError::Truncated);
        }
        Ok(self.merged)
    }

    /// Messages read so far.
    pub fn messages(&self) -> usize {
        self.messages
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::libp2p::pb::length_prefixed;

    fn unhex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    /// Hand-assembled from the wire reference's field table and kubo's observed values:
    /// publicKey (ed25519 `08 01 12 20 …`), listenAddrs `/ip4/127.0.0.1/tcp/44101`,
    /// protocols `/ipfs/id/1.0.0` and `/ipfs/ping/1.0.0`, observedAddr `/ip4/127.0.0.1/tcp/4001`,
    /// protocolVersion "" (`2a 00`), agentVersion "kubo/0.22.0/", signedPeerRecord `01 02`.
    const KUBO_LIKE: &str = "
        0a 24 08011220 1ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e
        12 08 047f00000106ac45
        1a 0e 2f697066732f69642f312e302e30
        1a 10 2f697066732f70696e672f312e302e30
        22 08 047f000001060fa1
        2a 00
        32 0c 6b75626f2f302e32322e302f
        42 02 0102";

    fn kubo_like() -> Identify {
        Identify {
            public_key: Some(unhex("08011220 1ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e")),
            listen_addrs: vec![unhex("047f00000106ac45")],
            protocols: vec!["/ipfs/id/1.0.0".into(), "/ipfs/ping/1.0.0".into()],
            observed_addr: Some(unhex("047f000001060fa1")),
            protocol_version: Some(String::new()),
            agent_version: Some("kubo/0.22.0/".into()),
            signed_peer_record: Some(vec![1, 2]),
        }
    }

    #[test]
    fn decodes_and_encodes_the_known_bytes() {
        let bytes = unhex(KUBO_LIKE);
        assert_eq!(Identify::decode(&bytes).unwrap(), kubo_like());
        assert_eq!(kubo_like().encode(), bytes);
        assert_eq!(Identify::default().encode(), b"");
        // Unknown fields (7, 9) are skipped; a protocol that is not UTF-8 is refused.
        assert_eq!(Identify::decode(&unhex("3a 01 00 48 05 2a 00")).unwrap().protocol_version, Some(String::new()));
        assert!(Identify::decode(&unhex("1a 01 ff")).is_err());
        assert!(Identify::decode(&unhex("12 05 00")).is_err());
    }

    #[test]
    fn reader_merges_messages_in_any_pieces() {
        let first = Identify { protocols: vec!["/a".into()], agent_version: Some("x".into()), ..kubo_like() };
        let second = Identify {
            protocols: vec!["/b".into()],
            listen_addrs: vec![vec![9]],
            signed_peer_record: Some(vec![7]),
            ..Default::default()
        };
        let mut stream = length_prefixed(&first.encode());
        stream.extend(length_prefixed(&second.encode()));
        for cut in [1, 5, 1000] {
            let mut r = IdentifyReader::new();
            for piece in stream.chunks(cut) {
                r.handle_input(piece).unwrap();
            }
            assert_eq!(r.messages(), 2);
            let m = r.finish().unwrap();
            assert_eq!(m.protocols, ["/a", "/b"]);
            assert_eq!(m.listen_addrs, [unhex("047f00000106ac45"), vec![9]]);
            assert_eq!(m.agent_version.as_deref(), Some("x"));
            assert_eq!(m.signed_peer_record, Some(vec![7]));
            assert_eq!(m.public_key, kubo_like().public_key);
        }
        assert_eq!(IdentifyReader::new().finish().unwrap(), Identify::default());
    }

    #[test]
    fn reader_limits() {
        // 8192 bytes is allowed, 8193 announced is refused before the body.
        let mut r = IdentifyReader::new();
        r.handle_input(&[0x80, 0x40]).unwrap();
        let mut r = IdentifyReader::new();
        assert_eq!(r.handle_input(&[0x81, 0x40]), Err(PbError::TooLong { len: 8193, max: 8192 }));
        // Ten messages are fine, the eleventh is refused.
        let one = length_prefixed(&Identify { protocols: vec!["/p".into()], ..Default::default() }.encode());
        let mut r = IdentifyReader::new();
        for _ in 0..10 {
            r.handle_input(&one).unwrap();
        }
        assert!(r.handle_input(&one).is_err());
        // A stream that ends inside a message.
        let mut r = IdentifyReader::new();
        r.handle_input(&one[..one.len() - 1]).unwrap();
        assert_eq!(r.finish(), Err(PbError::Truncated));
    }
}
