//! The text encodings we need: base58btc (CIDv0, `z` CIDv1), RFC 4648 base32 lower case without
//! padding (`b` CIDv1) and base64url without padding (node ids, MiMei ids).

const B58: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
const B32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Longest input we agree to decode; CIDs and ids are far shorter. Bounds the quadratic base58.
pub const MAX_TEXT: usize = 256;

pub fn base58btc_encode(bytes: &[u8]) -> String {
    let zeros = bytes.iter().take_while(|&&b| b == 0).count();
    // Digits in base 58, little-endian.
    let mut digits: Vec<u8> = Vec::with_capacity(bytes.len() * 138 / 100 + 1);
    for &b in &bytes[zeros..] {
        let mut carry = u32::from(b);
        for d in digits.iter_mut() {
            carry += u32::from(*d) << 8;
            *d = (carry % 58) as u8;
            carry /= 58;
        }
        while carry > 0 {
            digits.push((carry % 58) as u8);
            carry /= 58;
        }
    }
    let mut s = String::with_capacity(zeros + digits.len());
    s.extend(std::iter::repeat_n('1', zeros));
    s.extend(digits.iter().rev().map(|&d| B58[d as usize] as char));
    s
}

pub fn base58btc_decode(text: &str) -> Option<Vec<u8>> {
    if text.len() > MAX_TEXT {
        return None;
    }
    let zeros = text.bytes().take_while(|&c| c == b'1').count();
    let mut bytes: Vec<u8> = Vec::with_capacity(text.len());
    for c in text.bytes().skip(zeros) {
        let mut carry = B58.iter().position(|&a| a == c)? as u32;
        for b in bytes.iter_mut() {
            carry += u32::from(*b) * 58;
            *b = carry as u8;
            carry >>= 8;
        }
        while carry > 0 {
            bytes.push(carry as u8);
            carry >>= 8;
        }
    }
    let mut out = vec![0u8; zeros];
    out.extend(bytes.iter().rev());
    Some(out)
}

fn encode_bits(bytes: &[u8], bits: u32, alphabet: &[u8]) -> String {
    let mut s = String::with_capacity((bytes.len() * 8).div_ceil(bits as usize));
    let (mut acc, mut n) = (0u32, 0u32);
    let mask = (1u32 << bits) - 1;
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        n += 8;
        while n >= bits {
            n -= bits;
            s.push(alphabet[((acc >> n) & mask) as usize] as char);
        }
        acc &= (1 << n) - 1;
    }
    if n > 0 {
        s.push(alphabet[((acc << (bits - n)) & mask) as usize] as char);
    }
    s
}

fn decode_bits(text: &str, bits: u32, alphabet: &[u8]) -> Option<Vec<u8>> {
    if text.len() > MAX_TEXT {
        return None;
    }
    decode_bits_any(text, bits, alphabet)
}

fn decode_bits_any(text: &str, bits: u32, alphabet: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * bits as usize / 8);
    let (mut acc, mut n) = (0u32, 0u32);
    for c in text.bytes() {
        let v = alphabet.iter().position(|&a| a == c)? as u32;
        acc = (acc << bits) | v;
        n += bits;
        if n >= 8 {
            n -= 8;
            out.push((acc >> n) as u8);
        }
        acc &= (1 << n) - 1;
    }
    // Leftover bits must be padding zeros, and fewer than one symbol's worth.
    if n >= bits || acc != 0 {
        return None;
    }
    Some(out)
}

pub fn base32_encode(bytes: &[u8]) -> String {
    encode_bits(bytes, 5, B32)
}

/// Decodes lower-case base32; upper case is accepted too (multibase `B` is the same alphabet).
pub fn base32_decode(text: &str) -> Option<Vec<u8>> {
    decode_bits(&text.to_ascii_lowercase(), 5, B32)
}

/// Standard base64 without padding (how dag-json writes bytes).
pub fn base64_encode(bytes: &[u8]) -> String {
    encode_bits(bytes, 6, B64)
}

pub fn base64url_encode(bytes: &[u8]) -> String {
    encode_bits(bytes, 6, B64URL)
}

/// The value of one base64url symbol.
pub fn base64url_decode_symbol(c: u8) -> Option<u8> {
    B64URL.iter().position(|&a| a == c).map(|v| v as u8)
}

/// The base64url symbol for a 6-bit value.
pub fn base64url_symbol(v: u8) -> char {
    B64URL[usize::from(v & 63)] as char
}

/// base64url of any length up to `max` characters (passports and certificates).
pub fn base64url_decode_upto(text: &str, max: usize) -> Option<Vec<u8>> {
    if text.len() > max {
        return None;
    }
    decode_bits_any(text, 6, B64URL)
}

pub fn base64url_decode(text: &str) -> Option<Vec<u8>> {
    decode_bits(text, 6, B64URL)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4648_base32_vectors() {
        // RFC 4648 §10, lower-cased and unpadded.
        for (i, o) in [("", ""), ("f", "my"), ("fo", "mzxq"), ("foo", "mzxw6"), ("foobar", "mzxw6ytboi")] {
            assert_eq!(base32_encode(i.as_bytes()), o);
            assert_eq!(base32_decode(o).unwrap(), i.as_bytes());
        }
    }

    #[test]
    fn rfc4648_base64url_vectors() {
        for (i, o) in [("", ""), ("f", "Zg"), ("fo", "Zm8"), ("foo", "Zm9v"), ("foob", "Zm9vYg")] {
            assert_eq!(base64url_encode(i.as_bytes()), o);
            assert_eq!(base64url_decode(o).unwrap(), i.as_bytes());
        }
        assert_eq!(base64url_encode(&[0xfb, 0xff]), "-_8");
        assert!(base64url_decode("Zh").is_none(), "non-zero padding bits");
    }

    #[test]
    fn base58_vectors() {
        // From the base58 draft (draft-msporny-base58).
        assert_eq!(base58btc_encode(b"Hello World!"), "2NEpo7TZRRrLZSi2U");
        assert_eq!(base58btc_encode(&[0, 0, 0x28, 0x7f, 0xb4, 0xcd]), "11233QC4");
        assert_eq!(base58btc_decode("11233QC4").unwrap(), vec![0, 0, 0x28, 0x7f, 0xb4, 0xcd]);
        assert!(base58btc_decode("0OIl").is_none());
    }
}
