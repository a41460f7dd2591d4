//! dag-pb (`PBNode`/`PBLink`) in kubo's canonical byte layout: links first, then data; every link
//! carries Hash, Name (even when empty) and Tsize (unixfs-dagpb.md §1).

use crate::cid::{Cid, CidError};
use crate::varint;
use std::fmt;
use std::ops::Range;

/// Largest block we decode; bitswap's limit is 2 MiB and kubo's chunks are far smaller.
pub const MAX_BLOCK: usize = 2 * 1024 * 1024;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PbLink {
    pub cid: Cid,
    pub name: Vec<u8>,
    pub tsize: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct PbNode {
    pub links: Vec<PbLink>,
    pub data: Option<Vec<u8>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DagPbError {
    TooLarge(usize),
    Truncated,
    BadTag(u64),
    MissingHash,
    DuplicateField(&'static str),
    Cid(CidError),
}

impl fmt::Display for DagPbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DagPbError::TooLarge(n) => write!(f, "dag-pb block of {n} bytes is over the {MAX_BLOCK}-byte limit"),
            DagPbError::Truncated => write!(f, "dag-pb block is truncated"),
            DagPbError::BadTag(t) => write!(f, "dag-pb has unexpected field tag 0x{t:x}"),
            DagPbError::MissingHash => write!(f, "dag-pb link has no hash"),
            DagPbError::DuplicateField(n) => write!(f, "dag-pb has a duplicate {n} field"),
            DagPbError::Cid(e) => write!(f, "dag-pb link hash: {e}"),
        }
    }
}

impl std::error::Error for DagPbError {}

fn write_bytes_field(out: &mut Vec<u8>, tag: u8, bytes: &[u8]) {
    out.push(tag);
    varint::write(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

impl PbLink {
    fn encoded_body_len(&self, cid_bytes: &[u8]) -> usize {
        1 + varint::len(cid_bytes.len() as u64)
            + cid_bytes.len()
            + 1
            + varint::len(self.name.len() as u64)
            + self.name.len()
            + 1
            + varint::len(self.tsize)
    }
}

impl PbNode {
    /// Canonical encoding. Links are written in the order given; callers sort directory links.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.links.len() * 48 + self.data.as_ref().map_or(0, |d| d.len() + 8));
        for link in &self.links {
            let cid = link.cid.to_bytes();
            out.push(0x12);
            varint::write(&mut out, link.encoded_body_len(&cid) as u64);
            write_bytes_field(&mut out, 0x0a, &cid);
            write_bytes_field(&mut out, 0x12, &link.name);
            out.push(0x18);
            varint::write(&mut out, link.tsize);
        }
        if let Some(data) = &self.data {
            write_bytes_field(&mut out, 0x0a, data);
        }
        out
    }

    /// Decodes a block. Accepts the legacy order (Data before Links); rejects unknown fields.
    pub fn decode(buf: &[u8]) -> Result<Self, DagPbError> {
        let (links, data) = PbNode::decode_links(buf)?;
        Ok(PbNode { links, data: data.map(|r| buf[r].to_vec()) })
    }

    /// Decodes the links and says where the Data field's bytes are, without copying them (the
    /// gateway's read path, where Data is a 256 KiB chunk).
    pub fn decode_links(buf: &[u8]) -> Result<(Vec<PbLink>, Option<Range<usize>>), DagPbError> {
        if buf.len() > MAX_BLOCK {
            return Err(DagPbError::TooLarge(buf.len()));
        }
        let (mut links, mut data) = (Vec::new(), None);
        let mut r = Reader { buf, pos: 0 };
        while !r.done() {
            match r.varint()? {
                0x12 => links.push(decode_link(r.bytes()?)?),
                0x0a => {
                    if data.is_some() {
                        return Err(DagPbError::DuplicateField("Data"));
                    }
                    data = Some(r.range()?);
                }
                t => return Err(DagPbError::BadTag(t)),
            }
        }
        Ok((links, data))
    }
}

fn decode_link(buf: &[u8]) -> Result<PbLink, DagPbError> {
    let mut r = Reader { buf, pos: 0 };
    let (mut cid, mut name, mut tsize) = (None, None, None);
    while !r.done() {
        match r.varint()? {
            0x0a if cid.is_none() => cid = Some(Cid::from_bytes(r.bytes()?).map_err(DagPbError::Cid)?),
            0x12 if name.is_none() => name = Some(r.bytes()?.to_vec()),
            0x18 if tsize.is_none() => tsize = Some(r.varint()?),
            0x0a => return Err(DagPbError::DuplicateField("Hash")),
            0x12 => return Err(DagPbError::DuplicateField("Name")),
            0x18 => return Err(DagPbError::DuplicateField("Tsize")),
            t => return Err(DagPbError::BadTag(t)),
        }
    }
    Ok(PbLink { cid: cid.ok_or(DagPbError::MissingHash)?, name: name.unwrap_or_default(), tsize: tsize.unwrap_or(0) })
}

/// A tiny protobuf reader over a byte slice.
pub(crate) struct Reader<'a> {
    pub buf: &'a [u8],
    pub pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn done(&self) -> bool {
        self.pos >= self.buf.len()
    }

    pub(crate) fn varint(&mut self) -> Result<u64, DagPbError> {
        let (v, n) = varint::read(&self.buf[self.pos..]).ok_or(DagPbError::Truncated)?;
        self.pos += n;
        Ok(v)
    }

    pub(crate) fn bytes(&mut self) -> Result<&'a [u8], DagPbError> {
        let r = self.range()?;
        Ok(&self.buf[r])
    }

    /// A length-delimited field's position in the buffer.
    pub(crate) fn range(&mut self) -> Result<Range<usize>, DagPbError> {
        let len = usize::try_from(self.varint()?).map_err(|_| DagPbError::Truncated)?;
        let end = self.pos.checked_add(len).ok_or(DagPbError::Truncated)?;
        if end > self.buf.len() {
            return Err(DagPbError::Truncated);
        }
        let r = self.pos..end;
        self.pos = end;
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cid::{Multihash, Version, CODEC_DAG_PB};

    #[test]
    fn one_entry_directory_matches_kubo_help_text() {
        let empty_file = [0x0a, 0x04, 0x08, 0x02, 0x18, 0x00];
        let child = Cid::of_block(Version::V0, CODEC_DAG_PB, &empty_file);
        let dir = PbNode {
            links: vec![PbLink { cid: child, name: b"example.jpg".to_vec(), tsize: 6 }],
            data: Some(vec![0x08, 0x01]),
        };
        let bytes = dir.encode();
        assert_eq!(bytes.len() + 6, 63, "block plus the child's 6 bytes is the 63 kubo reports");
        assert_eq!(
            Cid::of_block(Version::V0, CODEC_DAG_PB, &bytes).to_string(),
            "QmaG4FuMqEBnQNn3C8XJ5bpW8kLs7zq2ZXgHptJHbKDDVx"
        );
        assert_eq!(PbNode::decode(&bytes).unwrap(), dir);
    }

    #[test]
    fn decodes_legacy_data_first_and_rejects_junk() {
        let cid = Cid::new_v0(Multihash::sha2_256(b"x")).unwrap();
        let node = PbNode { links: vec![PbLink { cid, name: vec![], tsize: 1 }], data: Some(vec![1, 2]) };
        let canonical = node.encode();
        let split = canonical.len() - 4;
        let mut legacy = canonical[split..].to_vec();
        legacy.extend_from_slice(&canonical[..split]);
        assert_eq!(PbNode::decode(&legacy).unwrap(), node);
        assert!(PbNode::decode(&[0x0a, 0x05, 1]).is_err());
        assert!(PbNode::decode(&[0x1a, 0x00]).is_err());
        assert_eq!(PbNode::decode(&[]).unwrap(), PbNode::default());
    }
}
