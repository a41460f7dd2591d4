//! The UnixFS `Data` protobuf message carried in `PBNode.Data`.

use crate::dagpb::{DagPbError, Reader};
use crate::varint;
use std::ops::Range;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataType {
    Raw = 0,
    Directory = 1,
    File = 2,
    Metadata = 3,
    Symlink = 4,
    HamtShard = 5,
}

impl DataType {
    fn from_u64(v: u64) -> Option<Self> {
        Some(match v {
            0 => DataType::Raw,
            1 => DataType::Directory,
            2 => DataType::File,
            3 => DataType::Metadata,
            4 => DataType::Symlink,
            5 => DataType::HamtShard,
            _ => return None,
        })
    }
}

/// The decoded message. Mode and mtime are skipped when reading (we never write them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnixFsData {
    pub kind: DataType,
    pub data: Option<Vec<u8>>,
    pub filesize: Option<u64>,
    pub blocksizes: Vec<u64>,
    pub hash_type: Option<u64>,
    pub fanout: Option<u64>,
}

/// Most blocksizes one node may carry (kubo writes ≤ 174, the v1 profile ≤ 1024).
pub const MAX_BLOCKSIZES: usize = 8192;

impl UnixFsData {
    pub fn new(kind: DataType) -> Self {
        UnixFsData { kind, data: None, filesize: None, blocksizes: Vec::new(), hash_type: None, fanout: None }
    }

    /// Fields in field-number order, blocksizes not packed (as boxo writes them).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 + self.data.as_ref().map_or(0, |d| d.len()) + self.blocksizes.len() * 5);
        out.push(0x08);
        varint::write(&mut out, self.kind as u64);
        if let Some(d) = &self.data {
            out.push(0x12);
            varint::write(&mut out, d.len() as u64);
            out.extend_from_slice(d);
        }
        if let Some(s) = self.filesize {
            out.push(0x18);
            varint::write(&mut out, s);
        }
        for &b in &self.blocksizes {
            out.push(0x20);
            varint::write(&mut out, b);
        }
        if let Some(h) = self.hash_type {
            out.push(0x28);
            varint::write(&mut out, h);
        }
        if let Some(f) = self.fanout {
            out.push(0x30);
            varint::write(&mut out, f);
        }
        out
    }

    pub fn decode(buf: &[u8]) -> Result<Self, DagPbError> {
        let (mut msg, data) = UnixFsData::decode_ranged(buf)?;
        msg.data = data.map(|r| buf[r].to_vec());
        Ok(msg)
    }

    /// Like `decode`, but leaves `data` empty and returns where its bytes are.
    pub fn decode_ranged(buf: &[u8]) -> Result<(Self, Option<Range<usize>>), DagPbError> {
        let mut data = None;
        let mut r = Reader { buf, pos: 0 };
        let mut kind = None;
        let mut msg = UnixFsData::new(DataType::Raw);
        while !r.done() {
            let tag = r.varint()?;
            match tag {
                0x08 => kind = Some(DataType::from_u64(r.varint()?).ok_or(DagPbError::BadTag(tag))?),
                0x12 => data = Some(r.range()?),
                0x18 => msg.filesize = Some(r.varint()?),
                0x20 => {
                    if msg.blocksizes.len() >= MAX_BLOCKSIZES {
                        return Err(DagPbError::BadTag(tag));
                    }
                    msg.blocksizes.push(r.varint()?)
                }
                0x22 => {
                    // Packed blocksizes, which other writers may emit.
                    let mut inner = Reader { buf: r.bytes()?, pos: 0 };
                    while !inner.done() {
                        if msg.blocksizes.len() >= MAX_BLOCKSIZES {
                            return Err(DagPbError::BadTag(tag));
                        }
                        msg.blocksizes.push(inner.varint()?);
                    }
                }
                0x28 => msg.hash_type = Some(r.varint()?),
                0x30 => msg.fanout = Some(r.varint()?),
                0x38 => {
                    r.varint()?; // mode
                }
                0x42 => {
                    r.bytes()?; // mtime
                }
                t => return Err(DagPbError::BadTag(t)),
            }
        }
        msg.kind = kind.ok_or(DagPbError::BadTag(0))?;
        Ok((msg, data))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_and_dir_bytes() {
        let mut f = UnixFsData::new(DataType::File);
        f.filesize = Some(0);
        assert_eq!(f.encode(), [0x08, 0x02, 0x18, 0x00]);
        assert_eq!(UnixFsData::new(DataType::Directory).encode(), [0x08, 0x01]);
        assert_eq!(UnixFsData::decode(&f.encode()).unwrap(), f);
        assert!(UnixFsData::decode(&[0x18, 0x00]).is_err(), "no type");
        assert!(UnixFsData::decode(&[0x08, 0x09]).is_err(), "unknown type");
    }
}
