//! The bitswap message (`bitswap/message/pb`, proto3): a wantlist, blocks (1.0.0's bare `blocks`
//! or 1.1+'s `payload` with a CID prefix), block presences (HAVE / DONT_HAVE, 1.2.0) and
//! `pendingBytes`. [`Message::decode`] takes one length-prefixed body; entries and presences
//! whose CID does not parse or is longer than [`MAX_CID`] are skipped (kubo ignores them too), a
//! message that is not protobuf is an error. [`Message::encode`] always writes the wantlist, even
//! empty, as kubo does (`0a 00`).

use crate::cid::{Cid, CidError, Multihash, Version as CidVersion, CODEC_DAG_PB, HASH_SHA2_256};
use crate::libp2p::pb::{Fields, PbError, Writer};
use crate::varint;

/// Longest binary CID taken from a peer (boxo's `MaximumAllowedCid`).
pub const MAX_CID: usize = 168;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WantType {
    Block,
    Have,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub cid: Cid,
    pub priority: i32,
    pub cancel: bool,
    pub want: WantType,
    pub send_dont_have: bool,
}

impl Entry {
    /// A want (not a cancel).
    pub fn want(cid: Cid, priority: i32, want: WantType, send_dont_have: bool) -> Self {
        Entry { cid, priority, cancel: false, want, send_dont_have }
    }

    /// A cancel of an earlier want.
    pub fn cancel(cid: Cid) -> Self {
        Entry { cid, priority: 0, cancel: true, want: WantType::Block, send_dont_have: false }
    }

    fn encode_into(&self, w: &mut Writer) {
        w.bytes(1, &self.cid.to_bytes());
        w.int32_nonzero(2, self.priority);
        w.varint_nonzero(3, u64::from(self.cancel));
        w.varint_nonzero(4, u64::from(self.want == WantType::Have));
        w.varint_nonzero(5, u64::from(self.send_dont_have));
    }

    /// Bytes this entry adds to a message's wantlist (its field key and length included).
    pub fn wire_len(&self) -> usize {
        let cid = self.cid.to_bytes().len();
        let priority = if self.priority == 0 { 0 } else { 1 + varint::len(self.priority as i64 as u64) };
        let flags = 2
            * (usize::from(self.cancel) + usize::from(self.want == WantType::Have) + usize::from(self.send_dont_have));
        let inner = field_len(cid) + priority + flags;
        field_len(inner)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Wantlist {
    pub entries: Vec<Entry>,
    pub full: bool,
}

/// A block of 1.1.0+: the CID prefix (version, codec, hash code, digest length) and the data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    pub prefix: Vec<u8>,
    pub data: Vec<u8>,
}

impl Block {
    /// `data` sent as the block of `cid`.
    pub fn new(cid: &Cid, data: Vec<u8>) -> Self {
        Block { prefix: prefix_of(cid), data }
    }

    /// The CID the prefix and the hash of the data make. The data always verify against it; a
    /// block is what was asked for only when this CID's multihash is the wanted one.
    pub fn cid(&self) -> Result<Cid, CidError> {
        let mut rest = &self.prefix[..];
        let mut next = || -> Result<u64, CidError> {
            let (v, n) = varint::read(rest).ok_or(CidError::Truncated)?;
            rest = &rest[n..];
            Ok(v)
        };
        let (version, codec, code, len) = (next()?, next()?, next()?, next()?);
        if !rest.is_empty() {
            return Err(CidError::TrailingBytes);
        }
        if code != HASH_SHA2_256 {
            return Err(CidError::UnsupportedHash(code));
        }
        if len != 32 {
            return Err(CidError::BadDigestLength);
        }
        let hash = Multihash::sha2_256(&self.data);
        match version {
            0 if codec == CODEC_DAG_PB => Cid::new_v0(hash),
            0 => Err(CidError::V0NotDagPb),
            1 => Ok(Cid::new_v1(codec, hash)),
            v => Err(CidError::UnsupportedVersion(v)),
        }
    }

    /// Bytes this block adds to a message (its field key and length included).
    pub fn wire_len(&self) -> usize {
        let inner = field_len(self.prefix.len()) + if self.data.is_empty() { 0 } else { field_len(self.data.len()) };
        field_len(inner)
    }
}

/// `uv(version) ‖ uv(codec) ‖ uv(hash code) ‖ uv(digest length)`: `00 70 12 20` for a CIDv0.
pub fn prefix_of(cid: &Cid) -> Vec<u8> {
    let mut out = Vec::with_capacity(4);
    varint::write(&mut out, u64::from(cid.version() == CidVersion::V1));
    varint::write(&mut out, cid.codec());
    varint::write(&mut out, cid.hash().code());
    varint::write(&mut out, cid.hash().digest().len() as u64);
    out
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Presence {
    pub cid: Cid,
    /// HAVE (true) or DONT_HAVE (false).
    pub have: bool,
}

impl Presence {
    /// Bytes this presence adds to a message (its field key and length included).
    pub fn wire_len(&self) -> usize {
        let cid = self.cid.to_bytes().len();
        field_len(field_len(cid) + if self.have { 0 } else { 2 })
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Message {
    pub wantlist: Wantlist,
    /// Bitswap 1.0.0's blocks: the data alone, the CID is the CIDv0 of it.
    pub blocks: Vec<Vec<u8>>,
    pub payload: Vec<Block>,
    pub presences: Vec<Presence>,
    pub pending_bytes: i32,
}

/// Bytes of a length-delimited field of `len` bytes with a one-byte key.
pub(crate) fn field_len(len: usize) -> usize {
    1 + varint::len(len as u64) + len
}

impl Message {
    pub fn is_empty(&self) -> bool {
        self.wantlist.entries.is_empty()
            && !self.wantlist.full
            && self.blocks.is_empty()
            && self.payload.is_empty()
            && self.presences.is_empty()
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.message(1, |wl| {
            for e in &self.wantlist.entries {
                wl.message(1, |m| e.encode_into(m));
            }
            wl.varint_nonzero(2, u64::from(self.wantlist.full));
        });
        for b in &self.blocks {
            w.bytes(2, b);
        }
        let mut out = w.finish();
        // Blocks are written in place (not through a nested writer) so their data is copied once.
        for b in &self.payload {
            out.reserve(b.wire_len());
            out.push(0x1a);
            let inner = field_len(b.prefix.len()) + if b.data.is_empty() { 0 } else { field_len(b.data.len()) };
            varint::write(&mut out, inner as u64);
            out.push(0x0a);
            varint::write(&mut out, b.prefix.len() as u64);
            out.extend_from_slice(&b.prefix);
            if !b.data.is_empty() {
                out.push(0x12);
                varint::write(&mut out, b.data.len() as u64);
                out.extend_from_slice(&b.data);
            }
        }
        let mut w = Writer::new();
        for p in &self.presences {
            w.message(4, |m| {
                m.bytes(1, &p.cid.to_bytes()).varint_nonzero(2, u64::from(!p.have));
            });
        }
        w.int32_nonzero(5, self.pending_bytes);
        out.extend_from_slice(&w.finish());
        out
    }

    /// One message body (without its length prefix; the caller caps that at [`super::MAX_MESSAGE`]).
    pub fn decode(buf: &[u8]) -> Result<Message, PbError> {
        let mut msg = Message::default();
        for field in Fields::new(buf) {
            match field? {
                (1, v) => decode_wantlist(v.bytes("wantlist")?, &mut msg.wantlist)?,
                (2, v) => msg.blocks.push(v.bytes("blocks")?.to_vec()),
                (3, v) => msg.payload.push(decode_block(v.bytes("payload")?)?),
                (4, v) => {
                    if let Some(p) = decode_presence(v.bytes("blockPresences")?)? {
                        msg.presences.push(p);
                    }
                }
                (5, v) => msg.pending_bytes = v.int32("pendingBytes")?,
                _ => {}
            }
        }
        Ok(msg)
    }
}

/// A CID from a peer, or `None` when it is too long or does not parse.
fn peer_cid(bytes: &[u8]) -> Option<Cid> {
    if bytes.len() > MAX_CID {
        return None;
    }
    Cid::from_bytes(bytes).ok()
}

fn decode_wantlist(buf: &[u8], wl: &mut Wantlist) -> Result<(), PbError> {
    for field in Fields::new(buf) {
        match field? {
            (1, v) => {
                if let Some(e) = decode_entry(v.bytes("wantlist.entries")?)? {
                    wl.entries.push(e);
                }
            }
            (2, v) => wl.full = v.bool("wantlist.full")?,
            _ => {}
        }
    }
    Ok(())
}

fn decode_entry(buf: &[u8]) -> Result<Option<Entry>, PbError> {
    let mut cid = None;
    let (mut priority, mut cancel, mut send_dont_have) = (0, false, false);
    let mut want = Some(WantType::Block);
    for field in Fields::new(buf) {
        match field? {
            (1, v) => cid = peer_cid(v.bytes("entry.block")?),
            (2, v) => priority = v.int32("entry.priority")?,
            (3, v) => cancel = v.bool("entry.cancel")?,
            (4, v) => {
                want = match v.varint("entry.wantType")? {
                    0 => Some(WantType::Block),
                    1 => Some(WantType::Have),
                    _ => None,
                }
            }
            (5, v) => send_dont_have = v.bool("entry.sendDontHave")?,
            _ => {}
        }
    }
    Ok(match (cid, want) {
        (Some(cid), Some(want)) => Some(Entry { cid, priority, cancel, want, send_dont_have }),
        _ => None,
    })
}

fn decode_block(buf: &[u8]) -> Result<Block, PbError> {
    let mut b = Block { prefix: Vec::new(), data: Vec::new() };
    for field in Fields::new(buf) {
        match field? {
            (1, v) => b.prefix = v.bytes("block.prefix")?.to_vec(),
            (2, v) => b.data = v.bytes("block.data")?.to_vec(),
            _ => {}
        }
    }
    Ok(b)
}

fn decode_presence(buf: &[u8]) -> Result<Option<Presence>, PbError> {
    let mut cid = None;
    let mut have = Some(true);
    for field in Fields::new(buf) {
        match field? {
            (1, v) => cid = peer_cid(v.bytes("presence.cid")?),
            (2, v) => {
                have = match v.varint("presence.type")? {
                    0 => Some(true),
                    1 => Some(false),
                    _ => None,
                }
            }
            _ => {}
        }
    }
    Ok(match (cid, have) {
        (Some(cid), Some(have)) => Some(Presence { cid, have }),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cid::CODEC_RAW;

    fn v0(data: &[u8]) -> Cid {
        Cid::of_block(CidVersion::V0, CODEC_DAG_PB, data)
    }

    #[test]
    fn prefixes_of_observed_cids() {
        assert_eq!(prefix_of(&v0(b"x")), [0x00, 0x70, 0x12, 0x20]);
        assert_eq!(prefix_of(&Cid::of_block(CidVersion::V1, CODEC_RAW, b"x")), [0x01, 0x55, 0x12, 0x20]);
        assert_eq!(prefix_of(&Cid::of_block(CidVersion::V1, 0x71, b"x")), [0x01, 0x71, 0x12, 0x20]);
    }

    #[test]
    fn block_cid_rebuilt_from_prefix_and_data() {
        let b = Block { prefix: vec![0x01, 0x55, 0x12, 0x20], data: Vec::new() };
        // The raw CID of the empty block (a well-known CID).
        assert_eq!(b.cid().unwrap().to_string(), "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku");
        let b = Block { prefix: vec![0x00, 0x70, 0x12, 0x20], data: b"x".to_vec() };
        assert_eq!(b.cid().unwrap(), v0(b"x"));
        for bad in [
            &[0x00, 0x55, 0x12, 0x20][..],
            &[0x01, 0x55, 0x13, 0x20],
            &[0x01, 0x55, 0x12, 0x10],
            &[0x01],
            &[0x01, 0x55, 0x12, 0x20, 0x00],
        ] {
            assert!(Block { prefix: bad.to_vec(), data: vec![] }.cid().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn empty_message_is_kubos_empty_wantlist() {
        assert_eq!(Message::default().encode(), [0x0a, 0x00]);
        let m = Message::decode(&[0x0a, 0x00]).unwrap();
        assert!(m.is_empty());
    }

    #[test]
    fn decodes_hand_built_reply() {
        // The observed reply to want-have+sendDontHave for (unknown, 27-B, 200 KB) blocks:
        // wantlist {}, payload {00701220, 27 B}, DontHave(unknown), Have(big).
        let small = b"hello bitswap, 27 bytes....".to_vec();
        assert_eq!(small.len(), 27);
        let unknown = v0(b"unknown");
        let big = v0(b"big");
        let mut bytes = vec![0x0a, 0x00];
        bytes.extend([0x1a, 2 + 4 + 2 + 27, 0x0a, 0x04, 0x00, 0x70, 0x12, 0x20, 0x12, 27]);
        bytes.extend(&small);
        bytes.extend([0x22, 2 + 34 + 2, 0x0a, 34]);
        bytes.extend(unknown.to_bytes());
        bytes.extend([0x10, 0x01]);
        bytes.extend([0x22, 2 + 34, 0x0a, 34]);
        bytes.extend(big.to_bytes());
        let m = Message::decode(&bytes).unwrap();
        assert_eq!(m.payload, vec![Block { prefix: vec![0, 0x70, 0x12, 0x20], data: small.clone() }]);
        assert_eq!(m.payload[0].cid().unwrap(), v0(&small));
        assert_eq!(
            m.presences,
            vec![Presence { cid: unknown.clone(), have: false }, Presence { cid: big.clone(), have: true }]
        );
        assert_eq!(m.encode(), bytes, "re-encodes to the same bytes");
        let sizes: usize = 2 + m.payload[0].wire_len() + m.presences.iter().map(Presence::wire_len).sum::<usize>();
        assert_eq!(sizes, bytes.len());
    }

    #[test]
    fn decodes_hand_built_wantlist() {
        let a = v0(b"a");
        let raw = Cid::of_block(CidVersion::V1, CODEC_RAW, b"b");
        // Entry a: want-have, priority 2^31-1, sendDontHave; entry raw: cancel; full.
        let mut ea = vec![0x0a, 34];
        ea.extend(a.to_bytes());
        ea.extend([0x10, 0xff, 0xff, 0xff, 0xff, 0x07, 0x20, 0x01, 0x28, 0x01]);
        let mut eb = vec![0x0a, 36];
        eb.extend(raw.to_bytes());
        eb.extend([0x18, 0x01]);
        // An entry with a 200-byte "CID" and one that is not a CID: skipped.
        let mut long = vec![0x0a, 0xc8, 0x01, 0x01, 0x55, 0x12, 0x20];
        long.extend([7u8; 196]);
        let junk = vec![0x0a, 0x03, 0x01, 0x02, 0x03];
        let mut wl = Vec::new();
        for e in [&ea, &long, &junk, &eb] {
            wl.push(0x0a);
            varint::write(&mut wl, e.len() as u64);
            wl.extend(e);
        }
        wl.extend([0x10, 0x01]);
        let mut bytes = vec![0x0a];
        varint::write(&mut bytes, wl.len() as u64);
        bytes.extend(&wl);
        // pendingBytes = -1 (ten bytes) and an unknown field 9.
        bytes.extend([0x28, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x48, 0x05]);
        let m = Message::decode(&bytes).unwrap();
        assert!(m.wantlist.full);
        assert_eq!(m.pending_bytes, -1);
        assert_eq!(m.wantlist.entries, vec![Entry::want(a, i32::MAX, WantType::Have, true), Entry::cancel(raw)]);
        let e = &m.wantlist.entries[0];
        assert_eq!(e.wire_len(), 2 + ea.len());
    }

    #[test]
    fn bitswap_1_0_blocks_field() {
        let bytes = [0x0a, 0x00, 0x12, 0x03, b'a', b'b', b'c'];
        let m = Message::decode(&bytes).unwrap();
        assert_eq!(m.blocks, vec![b"abc".to_vec()]);
        assert_eq!(m.encode(), bytes);
    }

    #[test]
    fn refuses_broken_protobuf() {
        assert!(Message::decode(&[0x0a, 0x05, 0x00]).is_err());
        assert!(Message::decode(&[0x08, 0x01]).is_err(), "wantlist as a varint");
        assert!(Message::decode(&[0x1a, 0x02, 0x08, 0x01]).is_err(), "prefix as a varint");
        assert!(Message::decode(&[]).unwrap().is_empty());
    }
}
