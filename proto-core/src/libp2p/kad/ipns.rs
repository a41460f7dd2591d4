//! IPNS records (ipfs/specs `ipns/IPNS.md`) as a DHT server checks them before storing one
//! under `/ipns/<peer id>`: the protobuf `IpnsEntry`, its `signatureV2` over
//! `"ipns-signature:" ‖ data` made by the name's key (inlined in an ed25519 peer id, else the
//! record's `pubKey`, which must hash to the peer id), and its DAG-CBOR `data` (`Value`,
//! `Validity`, `ValidityType`, `Sequence`, `TTL`), with which the protobuf's own copies must
//! agree. V1-only records (no `signatureV2`) are refused, as kubo ≥ 0.19 does. The validity
//! time is not compared with a clock here: the machine has none; the record's age limit
//! (`Config::max_record_age_ms`) bounds how long it is served.

use crate::libp2p::keys::{PublicKey, RsaVerifier};
use crate::libp2p::pb::Fields;
use crate::libp2p::PeerId;

const SIGNATURE_PREFIX: &[u8] = b"ipns-signature:";

/// What a valid record says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpnsEntry {
    pub value: Vec<u8>,
    pub validity: Vec<u8>,
    pub sequence: u64,
    pub ttl: Option<u64>,
}

#[derive(Default)]
struct Proto<'a> {
    value: Option<&'a [u8]>,
    validity_type: Option<u64>,
    validity: Option<&'a [u8]>,
    sequence: Option<u64>,
    ttl: Option<u64>,
    pub_key: Option<&'a [u8]>,
    signature_v2: Option<&'a [u8]>,
    data: Option<&'a [u8]>,
}

fn proto(b: &[u8]) -> Result<Proto<'_>, &'static str> {
    let mut p = Proto::default();
    for f in Fields::new(b) {
        let (n, v) = f.map_err(|_| "the IPNS record is not a protobuf")?;
        let bad = |_| "an IPNS record field has the wrong type";
        match n {
            1 => p.value = Some(v.bytes("value").map_err(bad)?),
            4 => p.validity_type = Some(v.varint("validityType").map_err(bad)?),
            5 => p.validity = Some(v.bytes("validity").map_err(bad)?),
            6 => p.sequence = Some(v.varint("sequence").map_err(bad)?),
            7 => p.ttl = Some(v.varint("ttl").map_err(bad)?),
            8 => p.pub_key = Some(v.bytes("pubKey").map_err(bad)?),
            9 => p.signature_v2 = Some(v.bytes("signatureV2").map_err(bad)?),
            10 => p.data = Some(v.bytes("data").map_err(bad)?),
            _ => {}
        }
    }
    Ok(p)
}

/// The DAG-CBOR `data` map.
fn data(b: &[u8]) -> Result<IpnsEntry, &'static str> {
    const BAD: &str = "the IPNS record's data is not the CBOR map it must be";
    let mut d = minicbor::Decoder::new(b);
    let n = d.map().map_err(|_| BAD)?.ok_or(BAD)?;
    let (mut value, mut validity, mut vtype, mut sequence, mut ttl) = (None, None, None, None, None);
    for _ in 0..n {
        match d.str().map_err(|_| BAD)? {
            "Value" => value = Some(d.bytes().map_err(|_| BAD)?.to_vec()),
            "Validity" => validity = Some(d.bytes().map_err(|_| BAD)?.to_vec()),
            "ValidityType" => vtype = Some(d.u64().map_err(|_| BAD)?),
            "Sequence" => sequence = Some(d.u64().map_err(|_| BAD)?),
            "TTL" => ttl = Some(d.u64().map_err(|_| BAD)?),
            _ => d.skip().map_err(|_| BAD)?,
        }
    }
    if d.position() != b.len() {
        return Err(BAD);
    }
    if vtype != Some(0) {
        return Err("the IPNS record's validity type is not EOL (0)");
    }
    Ok(IpnsEntry {
        value: value.ok_or("the IPNS record's data has no Value")?,
        validity: validity.ok_or("the IPNS record's data has no Validity")?,
        sequence: sequence.ok_or("the IPNS record's data has no Sequence")?,
        ttl,
    })
}

/// The sequence of a record this server stored (so one that validated): read from its signed
/// data, without checking the signature again.
pub fn sequence(record: &[u8]) -> u64 {
    proto(record).ok().and_then(|p| p.data).and_then(|d| data(d).ok()).map_or(0, |e| e.sequence)
}

/// Checks `record` as the IPNS record of the peer id `name` (its bytes): the entry, or why not.
pub fn validate(name: &[u8], record: &[u8], rsa: &dyn RsaVerifier) -> Result<IpnsEntry, &'static str> {
    let name = PeerId::from_bytes(name).map_err(|_| "the IPNS name is not a peer id")?;
    let p = proto(record)?;
    let sig = p.signature_v2.ok_or("the IPNS record has no signatureV2")?;
    let data_bytes = p.data.ok_or("the IPNS record has no data")?;
    let key = match name.ed25519_key() {
        Some(k) => PublicKey::Ed25519(k),
        None => {
            let pb = p.pub_key.ok_or("the IPNS record carries no public key for its name")?;
            let key = PublicKey::decode(pb).map_err(|_| "the IPNS record's public key does not decode")?;
            if key.peer_id() != name {
                return Err("the IPNS record's public key is not its name's");
            }
            key
        }
    };
    let signed = [SIGNATURE_PREFIX, data_bytes].concat();
    if !key.verify(&signed, sig, rsa) {
        return Err("the IPNS record's signature does not verify");
    }
    let e = data(data_bytes)?;
    let agrees = p.value.is_none_or(|v| v == e.value)
        && p.validity.is_none_or(|v| v == e.validity)
        && p.validity_type.is_none_or(|t| t == 0)
        && p.sequence.is_none_or(|s| s == e.sequence)
        && p.ttl.is_none_or(|t| Some(t) == e.ttl);
    if !agrees {
        return Err("the IPNS record's fields differ from its signed data");
    }
    Ok(e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Identity;
    use crate::libp2p::keys::NoRsa;
    use crate::libp2p::pb::Writer;

    /// DAG-CBOR of the data map, keys in DAG-CBOR order (length first, then bytes).
    fn cbor(value: &[u8], validity: &[u8], seq: u64, ttl: u64) -> Vec<u8> {
        let mut e = minicbor::Encoder::new(Vec::new());
        e.map(5).unwrap();
        e.str("TTL").unwrap().u64(ttl).unwrap();
        e.str("Value").unwrap().bytes(value).unwrap();
        e.str("Sequence").unwrap().u64(seq).unwrap();
        e.str("Validity").unwrap().bytes(validity).unwrap();
        e.str("ValidityType").unwrap().u64(0).unwrap();
        e.into_writer()
    }

    fn record(id: &Identity, seq: u64, value: &[u8]) -> Vec<u8> {
        let validity = b"2030-01-01T00:00:00.000000000Z";
        let data = cbor(value, validity, seq, 3_600_000_000_000);
        let sig = id.sign(&[SIGNATURE_PREFIX, &data].concat());
        let mut w = Writer::new();
        w.bytes(1, value).varint(4, 0).bytes(5, validity).varint(6, seq).varint(7, 3_600_000_000_000);
        w.bytes(9, &sig).bytes(10, &data);
        w.finish()
    }

    #[test]
    fn a_signed_record_validates_and_tampering_is_refused() {
        let id = Identity::from_seed([5; 32]);
        let name = PeerId::from_ed25519(&id.public_key());
        let r = record(&id, 7, b"/ipfs/QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o");
        let e = validate(name.as_bytes(), &r, &NoRsa).unwrap();
        assert_eq!((e.sequence, &e.value[..6]), (7, &b"/ipfs/"[..]));
        // Another name, the same record: the signature is not that key's.
        let other = PeerId::from_ed25519(&Identity::from_seed([6; 32]).public_key());
        assert_eq!(validate(other.as_bytes(), &r, &NoRsa), Err("the IPNS record's signature does not verify"));
        // A protobuf value that differs from the signed data.
        let mut w = Writer::new();
        w.bytes(1, b"/ipfs/other");
        let forged = [r.clone(), w.finish()].concat();
        assert_eq!(
            validate(name.as_bytes(), &forged, &NoRsa),
            Err("the IPNS record's fields differ from its signed data")
        );
        // A flipped byte in the signed data.
        let mut bad = r.clone();
        let n = bad.len();
        bad[n - 3] ^= 1;
        assert!(validate(name.as_bytes(), &bad, &NoRsa).is_err());
        // No signatureV2 (a V1-only record).
        let mut w = Writer::new();
        w.bytes(1, b"/ipfs/x").varint(6, 1);
        assert_eq!(validate(name.as_bytes(), &w.finish(), &NoRsa), Err("the IPNS record has no signatureV2"));
        assert!(validate(name.as_bytes(), b"\xff\xff", &NoRsa).is_err());
    }

    #[test]
    fn a_server_keeps_the_highest_sequence() {
        use super::super::msg::Record;
        use super::super::records::{validate as check, Records};
        let id = Identity::from_seed([5; 32]);
        let name = PeerId::from_ed25519(&id.public_key());
        let key = [&b"/ipns/"[..], name.as_bytes()].concat();
        let rec = |seq| Record { key: key.clone(), value: record(&id, seq, b"/ipfs/x"), ..Record::default() };
        let mut store = Records::new(8);
        for seq in [3, 5] {
            assert_eq!(check(&rec(seq), 16 << 10, &NoRsa), Ok(()));
            assert!(store.put(rec(seq), 1000));
        }
        assert!(!store.put(rec(4), 1000), "an older record is refused");
        assert_eq!(sequence(&store.get(&key, 0).unwrap().value), 5);
    }
}
