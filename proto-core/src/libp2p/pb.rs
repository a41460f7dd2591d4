//! The protobuf wire format, as far as libp2p's messages need it: reading the fields of a
//! message (varints, length-delimited bytes, skipping fixed-width and unknown fields) and writing
//! them, plus the length-prefixed framing (`uvarint(len) ‖ message`) every libp2p protocol uses
//! on a stream. Every message type decodes with [`Fields`] and encodes with [`Writer`]; none
//! trusts a length before checking it against the bytes there are and the caller's limit.

use crate::varint;
use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PbError {
    /// A varint or length that runs past the end, or a non-minimal varint.
    Truncated,
    /// A wire type protobuf does not have (groups are refused too).
    WireType(u8),
    /// Field number 0.
    FieldZero,
    /// A length-prefixed message longer than the reader's limit.
    TooLong { len: u64, max: usize },
    /// A field with the wrong wire type or an impossible value for its message.
    Field(&'static str),
}

impl fmt::Display for PbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PbError::Truncated => f.write_str("protobuf: truncated or non-minimal varint or length"),
            PbError::WireType(t) => write!(f, "protobuf: wire type {t} is not supported"),
            PbError::FieldZero => f.write_str("protobuf: field number 0"),
            PbError::TooLong { len, max } => write!(f, "a {len}-byte message (at most {max})"),
            PbError::Field(what) => write!(f, "protobuf: bad field {what}"),
        }
    }
}

impl std::error::Error for PbError {}

/// One field's value as it is on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Value<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Fixed64(u64),
    Fixed32(u32),
}

impl<'a> Value<'a> {
    /// The varint of a scalar field (`what` names it in the error).
    pub fn varint(self, what: &'static str) -> Result<u64, PbError> {
        match self {
            Value::Varint(v) => Ok(v),
            _ => Err(PbError::Field(what)),
        }
    }

    /// The bytes of a length-delimited field (bytes, string, embedded message).
    pub fn bytes(self, what: &'static str) -> Result<&'a [u8], PbError> {
        match self {
            Value::Bytes(b) => Ok(b),
            _ => Err(PbError::Field(what)),
        }
    }

    /// A string field, which must be UTF-8.
    pub fn string(self, what: &'static str) -> Result<&'a str, PbError> {
        std::str::from_utf8(self.bytes(what)?).map_err(|_| PbError::Field(what))
    }

    /// A bool field.
    pub fn bool(self, what: &'static str) -> Result<bool, PbError> {
        Ok(self.varint(what)? != 0)
    }

    /// An int32 field (negative values are sign-extended to ten bytes on the wire).
    pub fn int32(self, what: &'static str) -> Result<i32, PbError> {
        Ok(self.varint(what)? as i64 as i32)
    }
}

/// The fields of one message, in wire order: `(number, value)`.
pub struct Fields<'a> {
    buf: &'a [u8],
    failed: bool,
}

impl<'a> Fields<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Fields { buf, failed: false }
    }

    fn read_varint(&mut self) -> Result<u64, PbError> {
        let (v, used) = varint::read(self.buf).ok_or(PbError::Truncated)?;
        self.buf = &self.buf[used..];
        Ok(v)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], PbError> {
        if self.buf.len() < n {
            return Err(PbError::Truncated);
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    fn field(&mut self) -> Result<(u32, Value<'a>), PbError> {
        let key = self.read_varint()?;
        let number = u32::try_from(key >> 3).map_err(|_| PbError::Field("number"))?;
        if number == 0 {
            return Err(PbError::FieldZero);
        }
        let value = match (key & 7) as u8 {
            0 => Value::Varint(self.read_varint()?),
            1 => {
                let b = self.take(8)?;
                Value::Fixed64(u64::from_le_bytes(b.try_into().map_err(|_| PbError::Truncated)?))
            }
            2 => {
                let len = self.read_varint()?;
                let len = usize::try_from(len).map_err(|_| PbError::Truncated)?;
                Value::Bytes(self.take(len)?)
            }
            5 => {
                let b = self.take(4)?;
                Value::Fixed32(u32::from_le_bytes(b.try_into().map_err(|_| PbError::Truncated)?))
            }
            t => return Err(PbError::WireType(t)),
        };
        Ok((number, value))
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<(u32, Value<'a>), PbError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.buf.is_empty() {
            return None;
        }
        let r = self.field();
        self.failed = r.is_err();
        Some(r)
    }
}

/// Writes a message's fields in the order they are called.
#[derive(Default)]
pub struct Writer {
    out: Vec<u8>,
}

impl Writer {
    pub fn new() -> Self {
        Writer::default()
    }

    fn key(&mut self, number: u32, wire: u8) {
        varint::write(&mut self.out, (u64::from(number) << 3) | u64::from(wire));
    }

    /// A varint field, written even when zero (proto2 `optional` set to its default).
    pub fn varint(&mut self, number: u32, v: u64) -> &mut Self {
        self.key(number, 0);
        varint::write(&mut self.out, v);
        self
    }

    /// A varint field, left out when zero (proto3's default).
    pub fn varint_nonzero(&mut self, number: u32, v: u64) -> &mut Self {
        if v != 0 {
            self.varint(number, v);
        }
        self
    }

    /// An int32 field (negative values take ten bytes, as protobuf writes them); left out when
    /// zero.
    pub fn int32_nonzero(&mut self, number: u32, v: i32) -> &mut Self {
        self.varint_nonzero(number, v as i64 as u64)
    }

    /// A length-delimited field, written even when empty.
    pub fn bytes(&mut self, number: u32, b: &[u8]) -> &mut Self {
        self.key(number, 2);
        varint::write(&mut self.out, b.len() as u64);
        self.out.extend_from_slice(b);
        self
    }

    /// A length-delimited field, left out when empty (proto3's default).
    pub fn bytes_nonempty(&mut self, number: u32, b: &[u8]) -> &mut Self {
        if !b.is_empty() {
            self.bytes(number, b);
        }
        self
    }

    pub fn string(&mut self, number: u32, s: &str) -> &mut Self {
        self.bytes(number, s.as_bytes())
    }

    /// An embedded message, written by `f` into its own writer.
    pub fn message(&mut self, number: u32, f: impl FnOnce(&mut Writer)) -> &mut Self {
        let mut inner = Writer::new();
        f(&mut inner);
        self.bytes(number, &inner.out)
    }

    pub fn len(&self) -> usize {
        self.out.len()
    }

    pub fn is_empty(&self) -> bool {
        self.out.is_empty()
    }

    pub fn finish(self) -> Vec<u8> {
        self.out
    }
}

/// `uvarint(len) ‖ msg`, how a protobuf goes on a stream.
pub fn length_prefixed(msg: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(msg.len() + varint::len(msg.len() as u64));
    varint::write(&mut out, msg.len() as u64);
    out.extend_from_slice(msg);
    out
}

/// Splits a stream's bytes into length-prefixed messages, refusing a length over `max`
/// before buffering the message.
#[derive(Debug)]
pub struct LpReader {
    buf: Vec<u8>,
    max: usize,
}

impl LpReader {
    pub fn new(max: usize) -> Self {
        LpReader { buf: Vec::new(), max }
    }

    /// Adds received bytes; an error once a length over the limit (or a bad varint) arrived.
    pub fn push(&mut self, bytes: &[u8]) -> Result<(), PbError> {
        self.buf.extend_from_slice(bytes);
        self.check_head()
    }

    fn check_head(&self) -> Result<(), PbError> {
        match varint::read(&self.buf) {
            Some((len, _)) if len > self.max as u64 => Err(PbError::TooLong { len, max: self.max }),
            Some(_) => Ok(()),
            // An unfinished varint is fine up to its longest form; more is garbage.
            None if self.buf.len() >= 10 || (self.buf.len() > 1 && self.buf.last() == Some(&0)) => {
                Err(PbError::Truncated)
            }
            None if self.buf.len() > varint::len(self.max as u64) => {
                Err(PbError::TooLong { len: u64::MAX, max: self.max })
            }
            None => Ok(()),
        }
    }

    /// The next whole message, if one has arrived.
    pub fn next_message(&mut self) -> Result<Option<Vec<u8>>, PbError> {
        let Some((len, used)) = varint::read(&self.buf) else {
            return self.check_head().map(|()| None);
        };
        if len > self.max as u64 {
            return Err(PbError::TooLong { len, max: self.max });
        }
        let end = used + len as usize;
        if self.buf.len() < end {
            return Ok(None);
        }
        let msg = self.buf[used..end].to_vec();
        self.buf.drain(..end);
        self.check_head()?;
        Ok(Some(msg))
    }

    /// Bytes received but not yet part of a whole message.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_it_writes() {
        let mut w = Writer::new();
        w.varint(1, 4).bytes(2, b"key").message(8, |p| {
            p.bytes(1, &[1, 2, 3]);
        });
        w.int32_nonzero(10, -1);
        let buf = w.finish();
        let fields: Vec<_> = Fields::new(&buf).collect::<Result<_, _>>().unwrap();
        assert_eq!(fields[0], (1, Value::Varint(4)));
        assert_eq!(fields[1], (2, Value::Bytes(b"key")));
        assert_eq!(fields[2], (8, Value::Bytes(&[0x0a, 3, 1, 2, 3])));
        assert_eq!(fields[3].1.int32("level").unwrap(), -1);
    }

    #[test]
    fn known_bytes() {
        // kubo's empty proto2 string: field 5, length 0.
        let mut w = Writer::new();
        w.string(5, "");
        assert_eq!(w.finish(), [0x2a, 0x00]);
        // The ed25519 PublicKey protobuf header.
        let mut w = Writer::new();
        w.varint(1, 1).bytes(2, &[0u8; 32]);
        assert_eq!(&w.finish()[..4], [0x08, 0x01, 0x12, 0x20]);
    }

    #[test]
    fn refuses_bad_input() {
        assert_eq!(Fields::new(&[0x0a, 0x05, 1]).next(), Some(Err(PbError::Truncated)));
        assert_eq!(Fields::new(&[0x0b]).next(), Some(Err(PbError::WireType(3))));
        assert_eq!(Fields::new(&[0x00, 0x00]).next(), Some(Err(PbError::FieldZero)));
        // After an error the iterator ends.
        let mut f = Fields::new(&[0x0b, 0x08, 0x01]);
        assert!(f.next().unwrap().is_err());
        assert!(f.next().is_none());
    }

    #[test]
    fn length_prefixed_messages_split_and_capped() {
        let mut r = LpReader::new(100);
        let mut bytes = length_prefixed(b"hello");
        bytes.extend(length_prefixed(b""));
        bytes.extend(length_prefixed(b"world"));
        r.push(&bytes[..3]).unwrap();
        assert_eq!(r.next_message().unwrap(), None);
        r.push(&bytes[3..]).unwrap();
        assert_eq!(r.next_message().unwrap().as_deref(), Some(&b"hello"[..]));
        assert_eq!(r.next_message().unwrap().as_deref(), Some(&b""[..]));
        assert_eq!(r.next_message().unwrap().as_deref(), Some(&b"world"[..]));
        assert_eq!(r.next_message().unwrap(), None);
        // 4 MiB announced to a 100-byte reader: refused before any body arrives.
        let mut r = LpReader::new(100);
        assert_eq!(r.push(&[0x80, 0x80, 0x80, 0x02]), Err(PbError::TooLong { len: 4 << 20, max: 100 }));
        // An endless varint is refused too.
        let mut r = LpReader::new(100);
        assert!(r.push(&[0xff, 0xff]).is_err());
    }
}
