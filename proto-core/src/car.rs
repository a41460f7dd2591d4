//! CARv1 framing for `?format=car` (unixfs-dagpb.md §6): a dag-cbor header naming the roots, then
//! `varint(len) cid block` sections.

use crate::cid::Cid;
use crate::varint;

/// The header section (with its length prefix) for one root.
pub fn header(root: &Cid) -> Vec<u8> {
    let cid = root.to_bytes();
    let mut h = Vec::with_capacity(64);
    h.push(0xa2); // map(2)
    h.push(0x65); // text(5)
    h.extend_from_slice(b"roots");
    h.push(0x81); // array(1)
    h.extend_from_slice(&[0xd8, 0x2a]); // tag 42
                                        // bytes(len + 1): multibase identity prefix 00 then the binary CID
    let n = cid.len() + 1;
    if n < 24 {
        h.push(0x40 | n as u8);
    } else {
        h.push(0x58);
        h.push(n as u8);
    }
    h.push(0x00);
    h.extend_from_slice(&cid);
    h.push(0x67); // text(7)
    h.extend_from_slice(b"version");
    h.push(0x01);
    let mut out = Vec::with_capacity(h.len() + 2);
    varint::write(&mut out, h.len() as u64);
    out.extend_from_slice(&h);
    out
}

/// One block section.
pub fn section(cid: &Cid, block: &[u8]) -> Vec<u8> {
    let c = cid.to_bytes();
    let mut out = Vec::with_capacity(c.len() + block.len() + 5);
    varint::write(&mut out, (c.len() + block.len()) as u64);
    out.extend_from_slice(&c);
    out.extend_from_slice(block);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unixfs::{file::import_bytes, Profile};

    #[test]
    fn hello_world_car_is_112_bytes() {
        let (root, blocks) = import_bytes(Profile::UNIXFS_V0_2015, b"hello world\n");
        let mut car = header(&root.cid);
        car.extend(section(&root.cid, &blocks[0].bytes));
        assert_eq!(car.len(), 112);
        assert_eq!(car[0], 0x38);
        assert_eq!(&car[1..4], &[0xa2, 0x65, b'r']);
    }
}
