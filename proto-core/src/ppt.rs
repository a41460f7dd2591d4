//! Keys, certificates and passports (the original's `.ppt`): signed `key=value;` data. A
//! passport's `Data` is its pairs sorted by key, each ended by `;`, and ed25519 signs that
//! string. Its `SignerInfo` carries the signer's certificate in our own documented JSON encoding
//! (the original's is Go-specific): docs/passports.md. Verification takes the time as an input.

use crate::id::NodeId;
use crate::identity::{self, node_id_of, Identity};
use crate::multibase::{base64url_decode, base64url_encode};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fmt;

/// Largest passport or certificate text accepted.
pub const MAX_TEXT: usize = 16 * 1024;
/// Keys the signer sets; a user's `-m` pairs may not.
pub const RESERVED: &[&str] = &["SignTime", "EndTime", "CertPK", "CertPKID", "SignerID"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PptError {
    TooLarge,
    NotJson(String),
    Missing(&'static str),
    BadField(&'static str),
    BadData(String),
    Tampered,
    WrongSigner { expected: String, got: String },
    NotYetValid,
    Expired(String),
}

impl fmt::Display for PptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PptError::TooLarge => write!(f, "the document is larger than {MAX_TEXT} bytes"),
            PptError::NotJson(e) => write!(f, "not a passport or certificate: {e}"),
            PptError::Missing(k) => write!(f, "the field {k} is missing"),
            PptError::BadField(k) => write!(f, "the field {k} is malformed"),
            PptError::BadData(e) => write!(f, "the data is malformed: {e}"),
            PptError::Tampered => {
                write!(f, "the signature does not verify: the data was changed or signed by another key")
            }
            PptError::WrongSigner { expected, got } => {
                write!(f, "signed by {got}, not by the certificate's key {expected}")
            }
            PptError::NotYetValid => write!(f, "the passport is not valid yet (SignTime is in the future)"),
            PptError::Expired(t) => write!(f, "the passport expired at {t}"),
        }
    }
}

impl std::error::Error for PptError {}

/// `k=v;` pairs sorted by key. Keys and values may not contain `=` or `;`.
pub fn data_string(pairs: &BTreeMap<String, String>) -> Result<String, PptError> {
    let mut s = String::new();
    for (k, v) in pairs {
        if k.is_empty() || k.contains(['=', ';']) || v.contains(['=', ';']) {
            return Err(PptError::BadData(format!("\"{k}\" or its value holds '=' or ';'")));
        }
        s.push_str(&format!("{k}={v};"));
    }
    Ok(s)
}

/// Parses `k=v;…` (rejects duplicates and stray text).
pub fn parse_data(data: &str) -> Result<BTreeMap<String, String>, PptError> {
    let mut m = BTreeMap::new();
    for part in data.split(';').filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').ok_or_else(|| PptError::BadData(format!("\"{part}\" is not key=value")))?;
        if m.insert(k.to_string(), v.to_string()).is_some() {
            return Err(PptError::BadData(format!("the key {k} appears twice")));
        }
    }
    Ok(m)
}

/// Parses the CLI's `-m "k=v,k2=v2"`.
pub fn parse_pairs(text: &str) -> Result<BTreeMap<String, String>, PptError> {
    let mut m = BTreeMap::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').ok_or_else(|| PptError::BadData(format!("\"{part}\" is not key=value")))?;
        if m.insert(k.trim().to_string(), v.trim().to_string()).is_some() {
            return Err(PptError::BadData(format!("the key {k} appears twice")));
        }
    }
    Ok(m)
}

fn field<'a>(v: &'a Value, k: &'static str) -> Result<&'a str, PptError> {
    v.get(k).and_then(Value::as_str).ok_or(PptError::Missing(k))
}

fn pk_of(text: &str) -> Result<[u8; 32], PptError> {
    base64url_decode(text).and_then(|b| b.try_into().ok()).ok_or(PptError::BadField("CertPK"))
}

fn sig_of(text: &str) -> Result<[u8; 64], PptError> {
    base64url_decode(text).and_then(|b| b.try_into().ok()).ok_or(PptError::BadField("Signature"))
}

/// A key file: `{"KeyType":"ed25519","pk":…,"sk":…}` (base64url; sk is the 32-byte seed).
pub fn key_file(id: &Identity) -> Value {
    json!({"KeyType": "ed25519", "id": id.node_id().to_string(), "pk": base64url_encode(&id.public_key()), "sk": base64url_encode(&id.seed())})
}

/// Reads a key file (ours), or a repo's `identity.key` (hex seed).
pub fn read_key(text: &str) -> Result<Identity, PptError> {
    let t = text.trim();
    if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
        let seed: Vec<u8> = (0..32).map(|i| u8::from_str_radix(&t[2 * i..2 * i + 2], 16).unwrap_or(0)).collect();
        return Ok(Identity::from_seed(seed.try_into().map_err(|_| PptError::BadField("sk"))?));
    }
    let v: Value = serde_json::from_str(t).map_err(|e| PptError::NotJson(e.to_string()))?;
    let sk = v
        .get("sk")
        .or_else(|| v.get("Key").and_then(|k| k.get("sk")))
        .and_then(Value::as_str)
        .ok_or(PptError::Missing("sk"))?;
    let seed: [u8; 32] = base64url_decode(sk).and_then(|b| b.try_into().ok()).ok_or(PptError::BadField("sk"))?;
    Ok(Identity::from_seed(seed))
}

/// A certificate: the holder's public key and pairs, signed by the issuer (itself when
/// self-signed). The private certificate file also carries the holder's key under `Key`.
pub fn make_cert(holder: &Identity, issuer: &Identity, pairs: &BTreeMap<String, String>) -> Result<Value, PptError> {
    let mut m = pairs.clone();
    for r in RESERVED {
        m.remove(*r);
    }
    m.insert("CertPK".into(), base64url_encode(&holder.public_key()));
    m.insert("CertPKID".into(), holder.node_id().to_string());
    let data = data_string(&m)?;
    Ok(json!({
        "Data": data,
        "Signature": base64url_encode(&issuer.sign(data.as_bytes())),
        "SignerID": issuer.node_id().to_string(),
        "SignerPK": base64url_encode(&issuer.public_key()),
        "KeyType": "ed25519",
        "Version": 1,
        "Key": key_file(holder),
    }))
}

/// The public part of a certificate (what goes into a passport's `SignerInfo`).
pub fn public_cert(cert: &Value) -> Value {
    let mut c = cert.clone();
    if let Some(o) = c.as_object_mut() {
        o.remove("Key");
    }
    c
}

/// A checked certificate: whose key it certifies and who signed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cert {
    pub holder: NodeId,
    pub holder_pk: [u8; 32],
    pub issuer: NodeId,
    pub pairs: BTreeMap<String, String>,
}

pub fn verify_cert(cert: &Value) -> Result<Cert, PptError> {
    let data = field(cert, "Data")?;
    let signer_pk = pk_of(field(cert, "SignerPK")?)?;
    let sig = sig_of(field(cert, "Signature")?)?;
    if field(cert, "SignerID")? != node_id_of(&signer_pk).to_string() {
        return Err(PptError::BadField("SignerID"));
    }
    if !identity::verify(&signer_pk, data.as_bytes(), &sig) {
        return Err(PptError::Tampered);
    }
    let pairs = parse_data(data)?;
    let holder_pk = pk_of(pairs.get("CertPK").ok_or(PptError::Missing("CertPK"))?)?;
    Ok(Cert { holder: node_id_of(&holder_pk), holder_pk, issuer: node_id_of(&signer_pk), pairs })
}

/// Milliseconds since 1970 as RFC 3339 UTC (`2026-11-25T17:00:00Z`).
pub fn rfc3339(ms: u64) -> String {
    let secs = ms / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (h, mi, s) = (rem / 3600, rem % 3600 / 60, rem % 60);
    // Civil date from days since 1970 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// Parses RFC 3339 UTC (`…Z`) into milliseconds since 1970.
pub fn parse_rfc3339(t: &str) -> Option<u64> {
    let b = t.as_bytes();
    if b.len() != 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' || b[19] != b'Z'
    {
        return None;
    }
    let n = |r: std::ops::Range<usize>| t.get(r)?.parse::<i64>().ok();
    let (y, m, d, h, mi, s) = (n(0..4)?, n(5..7)?, n(8..10)?, n(11..13)?, n(14..16)?, n(17..19)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let (y2, m2) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let doy = (153 * m2 + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days * 86_400 + h * 3600 + mi * 60 + s).ok().map(|v| v * 1000)
}

/// A passport signed by the holder of `cert` (its private file), valid `period_min` minutes.
pub fn sign_ppt(
    cert: &Value,
    pairs: &BTreeMap<String, String>,
    period_min: u64,
    now_ms: u64,
) -> Result<Value, PptError> {
    let holder = read_key(&cert.get("Key").ok_or(PptError::Missing("Key"))?.to_string())?;
    let mut m = pairs.clone();
    for r in RESERVED {
        m.remove(*r);
    }
    m.insert("SignTime".into(), rfc3339(now_ms));
    m.insert("EndTime".into(), rfc3339(now_ms + period_min * 60_000));
    m.entry("Userid".into()).or_insert_with(|| holder.node_id().to_string());
    let data = data_string(&m)?;
    let info = public_cert(cert).to_string();
    Ok(json!({
        "Signature": base64url_encode(&holder.sign(data.as_bytes())),
        "SignerID": holder.node_id().to_string(),
        "SignerInfo": base64url_encode(info.as_bytes()),
        "KeyType": "ed25519",
        "Version": 1,
        "Data": data,
    }))
}

/// A verified passport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ppt {
    pub signer: NodeId,
    pub pairs: BTreeMap<String, String>,
    pub cert: Cert,
}

/// Checks a passport: its certificate, that the certificate's key signed it, and its window.
/// With `trusted`, the certificate must also be that key's (the caller's own cert).
pub fn verify_ppt(text: &str, trusted: Option<&Cert>, now_ms: u64) -> Result<Ppt, PptError> {
    if text.len() > MAX_TEXT {
        return Err(PptError::TooLarge);
    }
    let v: Value = serde_json::from_str(text).map_err(|e| PptError::NotJson(e.to_string()))?;
    let data = field(&v, "Data")?;
    let sig = sig_of(field(&v, "Signature")?)?;
    let info = crate::multibase::base64url_decode_upto(field(&v, "SignerInfo")?, MAX_TEXT)
        .ok_or(PptError::BadField("SignerInfo"))?;
    let info: Value = serde_json::from_slice(&info).map_err(|_| PptError::BadField("SignerInfo"))?;
    let cert = verify_cert(&info)?;
    if let Some(t) = trusted {
        if t.holder_pk != cert.holder_pk {
            return Err(PptError::WrongSigner { expected: t.holder.to_string(), got: cert.holder.to_string() });
        }
    }
    if field(&v, "SignerID")? != cert.holder.to_string() {
        return Err(PptError::WrongSigner {
            expected: cert.holder.to_string(),
            got: field(&v, "SignerID")?.to_string(),
        });
    }
    if !identity::verify(&cert.holder_pk, data.as_bytes(), &sig) {
        return Err(PptError::Tampered);
    }
    let pairs = parse_data(data)?;
    let start = pairs.get("SignTime").and_then(|t| parse_rfc3339(t)).ok_or(PptError::BadField("SignTime"))?;
    let end_text = pairs.get("EndTime").ok_or(PptError::Missing("EndTime"))?;
    let end = parse_rfc3339(end_text).ok_or(PptError::BadField("EndTime"))?;
    // Five minutes of clock skew are forgiven at the start.
    if start > now_ms + 300_000 {
        return Err(PptError::NotYetValid);
    }
    if end <= now_ms {
        return Err(PptError::Expired(end_text.clone()));
    }
    Ok(Ppt { signer: cert.holder, pairs, cert })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_764_090_000_000;

    #[test]
    fn dates_round_trip() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00Z");
        for t in [0, 951_782_400_000, NOW / 1000 * 1000, 4_102_444_800_000] {
            assert_eq!(parse_rfc3339(&rfc3339(t)), Some(t));
        }
        assert_eq!(parse_rfc3339("2026-13-01T00:00:00Z"), None);
    }

    #[test]
    fn sign_verify_and_every_refusal() {
        let key = Identity::from_seed([5; 32]);
        let pairs = parse_pairs("name=alice, role=dev").unwrap();
        let cert = make_cert(&key, &key, &pairs).unwrap();
        let c = verify_cert(&public_cert(&cert)).unwrap();
        assert_eq!(c.holder, key.node_id());
        let ppt = sign_ppt(&cert, &parse_pairs("CertFor=Self").unwrap(), 60, NOW).unwrap();
        let text = ppt.to_string();
        let p = verify_ppt(&text, Some(&c), NOW + 1000).unwrap();
        assert_eq!(p.signer, key.node_id());
        assert_eq!(p.pairs["CertFor"], "Self");
        assert_eq!(p.pairs["Userid"], key.node_id().to_string());
        assert!(matches!(verify_ppt(&text, Some(&c), NOW + 3_600_001), Err(PptError::Expired(_))));
        assert_eq!(verify_ppt(&text, Some(&c), NOW - 3_600_000), Err(PptError::NotYetValid));
        let tampered = text.replace("CertFor=Self", "CertFor=Gift");
        assert_eq!(verify_ppt(&tampered, Some(&c), NOW), Err(PptError::Tampered));
        let other = Identity::from_seed([6; 32]);
        let other_cert = verify_cert(&public_cert(&make_cert(&other, &other, &pairs).unwrap())).unwrap();
        assert!(matches!(verify_ppt(&text, Some(&other_cert), NOW), Err(PptError::WrongSigner { .. })));
        assert!(verify_ppt("{}", None, NOW).is_err());
        assert!(data_string(&parse_pairs("a=b;c").unwrap()).is_err());
        assert!(parse_data("a=1;a=2;").is_err());
    }
}
