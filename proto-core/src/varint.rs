//! Unsigned LEB128 varints, as used by protobuf, multiformats and CAR.

/// Appends `v` as an unsigned varint.
pub fn write(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Number of bytes `write` would use for `v`.
pub fn len(v: u64) -> usize {
    let bits = 64 - (v | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

/// Reads one varint from the front of `buf`: the value and the bytes used.
/// Rejects truncated input, values over 64 bits and non-minimal encodings.
pub fn read(buf: &[u8]) -> Option<(u64, usize)> {
    let mut v: u64 = 0;
    for (i, &b) in buf.iter().enumerate().take(10) {
        let part = u64::from(b & 0x7f);
        if i == 9 && b > 1 {
            return None;
        }
        v |= part << (7 * i);
        if b & 0x80 == 0 {
            if i > 0 && b == 0 {
                return None; // non-minimal
            }
            return Some((v, i + 1));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_edges() {
        for v in [0u64, 1, 127, 128, 255, 300, 16383, 16384, u32::MAX as u64, u64::MAX] {
            let mut b = Vec::new();
            write(&mut b, v);
            assert_eq!(b.len(), len(v), "len of {v}");
            assert_eq!(read(&b), Some((v, b.len())));
        }
    }

    #[test]
    fn rejects_bad() {
        assert_eq!(read(&[0x80]), None);
        assert_eq!(read(&[0x80, 0x00]), None);
        assert_eq!(read(&[0xff; 11]), None);
        assert_eq!(read(&[0xac, 0x02]), Some((300, 2)));
    }
}
