//! The 12-byte yamux frame header: `version u8 (0) | type u8 | flags u16 | stream id u32 |
//! length u32`, big-endian. What `length` means depends on the type (payload bytes, credit
//! delta, ping value, GoAway code).

use super::{StreamId, YamuxError, HEADER_LEN};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Data = 0,
    WindowUpdate = 1,
    Ping = 2,
    GoAway = 3,
}

pub(crate) const SYN: u16 = 1;
pub(crate) const ACK: u16 = 2;
pub(crate) const FIN: u16 = 4;
pub(crate) const RST: u16 = 8;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) kind: Kind,
    pub(crate) flags: u16,
    pub(crate) stream: StreamId,
    pub(crate) length: u32,
}

impl Header {
    pub(crate) fn decode(b: &[u8; HEADER_LEN]) -> Result<Header, YamuxError> {
        if b[0] != 0 {
            return Err(YamuxError::BadVersion(b[0]));
        }
        let kind = match b[1] {
            0 => Kind::Data,
            1 => Kind::WindowUpdate,
            2 => Kind::Ping,
            3 => Kind::GoAway,
            t => return Err(YamuxError::UnknownType(t)),
        };
        Ok(Header {
            kind,
            flags: u16::from_be_bytes([b[2], b[3]]),
            stream: StreamId(u32::from_be_bytes([b[4], b[5], b[6], b[7]])),
            length: u32::from_be_bytes([b[8], b[9], b[10], b[11]]),
        })
    }

    pub(crate) fn has(&self, flag: u16) -> bool {
        self.flags & flag != 0
    }
}

/// Appends one header to `out`.
pub(crate) fn put(out: &mut Vec<u8>, kind: Kind, flags: u16, stream: StreamId, length: u32) {
    let mut h = [0u8; HEADER_LEN];
    h[1] = kind as u8;
    h[2..4].copy_from_slice(&flags.to_be_bytes());
    h[4..8].copy_from_slice(&stream.0.to_be_bytes());
    h[8..12].copy_from_slice(&length.to_be_bytes());
    out.extend_from_slice(&h);
}
