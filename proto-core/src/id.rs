//! 160-bit ids (node ids, user ids, MiMei ids): 20 bytes written as 27 characters of unpadded
//! base64url, e.g. `Ngacq50-IRX_DfcndFwZ0c9S0Nh`.

use crate::multibase;
use std::fmt;

/// A node's id: the first 20 bytes of SHA-256 of its ed25519 public key.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub [u8; 20]);

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdError {
    Length(usize),
    Encoding,
}

impl fmt::Display for IdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdError::Length(n) => write!(f, "an id has 27 characters, this one has {n}"),
            IdError::Encoding => write!(f, "an id is unpadded base64url (A-Z a-z 0-9 - _)"),
        }
    }
}

impl std::error::Error for IdError {}

impl NodeId {
    pub fn parse(text: &str) -> Result<Self, IdError> {
        if text.len() != 27 {
            return Err(IdError::Length(text.chars().count()));
        }
        if !text.is_ascii() {
            return Err(IdError::Encoding);
        }
        // The last character carries 4 id bits and 2 spare bits. The original system stores a
        // type tag in the spare bits, so they are ignored here; we always write them as zero.
        let (head, last) = text.split_at(26);
        let last = multibase::base64url_decode_symbol(last.as_bytes()[0]).ok_or(IdError::Encoding)?;
        let mut canonical = head.to_string();
        canonical.push(multibase::base64url_symbol(last & !0b11));
        let bytes = multibase::base64url_decode(&canonical).ok_or(IdError::Encoding)?;
        let arr: [u8; 20] = bytes.try_into().map_err(|_| IdError::Encoding)?;
        Ok(NodeId(arr))
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&multibase::base64url_encode(&self.0))
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeId({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_readme_id_round_trips() {
        let id = NodeId::parse("Ngacq50-IRX_DfcndFwZ0c9S0Nh").unwrap();
        // The seed README's id has a type tag in its spare bits; ours are written as zero.
        assert_eq!(id.to_string(), "Ngacq50-IRX_DfcndFwZ0c9S0Ng");
        assert_eq!(NodeId::parse(&id.to_string()).unwrap(), id);
        assert_eq!(NodeId::parse("short"), Err(IdError::Length(5)));
        // Found by the cid fuzz target: 27 bytes whose 26th is inside a multi-byte character.
        assert_eq!(NodeId::parse("z4dz4tt\u{17}\0\0\0\0\0RR\0\08zzt\0\0\0\0ʱ"), Err(IdError::Encoding));
        assert_eq!(NodeId::parse("Ngacq50-IRX_DfcndFwZ0c9S0N!"), Err(IdError::Encoding));
    }
}
