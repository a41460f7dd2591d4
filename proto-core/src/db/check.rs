//! Consistency of a keyspace: every structure's counters match its elements, the score order
//! matches the scores, the scan index matches the keys, and nothing is orphaned. Used by the
//! stateful fuzz target and by tests after every command.

use super::keyspace::{family_prefix, prefix_end, Meta, Type};
use super::txn::{Fault, Read};
use std::collections::BTreeMap;

fn all(txn: &dyn Read) -> Result<BTreeMap<Vec<u8>, Vec<u8>>, Fault> {
    let mut m = BTreeMap::new();
    txn.scan(b"", &prefix_end(b"\xfe"), &mut |k, v| {
        m.insert(k.to_vec(), v.to_vec());
        true
    })?;
    Ok(m)
}

fn under<'a>(m: &'a BTreeMap<Vec<u8>, Vec<u8>>, prefix: &[u8]) -> impl Iterator<Item = (&'a [u8], &'a [u8])> + 'a {
    let end = prefix_end(prefix);
    let n = prefix.len();
    m.range(prefix.to_vec()..end).map(move |(k, v)| (&k[n..], v.as_slice()))
}

/// Checks the whole keyspace; the error names the first inconsistency.
pub fn check(txn: &dyn Read) -> Result<(), String> {
    let m = all(txn).map_err(|f| f.0)?;
    let mut accounted = 0usize;
    for (k, v) in under(&m, b"k") {
        let meta = Meta::decode(v).map_err(|f| format!("key {k:?}: {}", f.0))?;
        let key = k.to_vec();
        accounted += 1;
        if !m.contains_key(&super::keyspace::scan_key(&key)) {
            return Err(format!("key {key:?} is missing from the scan index"));
        }
        accounted += 1;
        let count = |fam: u8| under(&m, &family_prefix(fam, &key)).count();
        match meta.ty {
            Type::String => {}
            Type::Hash | Type::Set => {
                let fam = if meta.ty == Type::Hash { b'h' } else { b's' };
                let n = count(fam);
                if n as u64 != meta.count() || n == 0 {
                    return Err(format!("{} {key:?}: meta says {}, {n} elements", meta.ty.name(), meta.count()));
                }
                accounted += n;
            }
            Type::List => {
                let (h, t) = meta.list_bounds();
                let seqs: Vec<u64> = under(&m, &family_prefix(b'l', &key))
                    .map(|(s, _)| u64::from_be_bytes(s.try_into().unwrap_or([0; 8])))
                    .collect();
                if seqs != (h..t).collect::<Vec<_>>() || seqs.is_empty() {
                    return Err(format!("list {key:?}: bounds {h}..{t}, elements at {seqs:?}"));
                }
                accounted += seqs.len();
            }
            Type::ZSet => {
                let scores: Vec<(Vec<u8>, f64)> = under(&m, &family_prefix(b'z', &key))
                    .map(|(mem, s)| (mem.to_vec(), f64::from_bits(u64::from_be_bytes(s.try_into().unwrap_or([0; 8])))))
                    .collect();
                let order: Vec<Vec<u8>> = under(&m, &family_prefix(b'Z', &key)).map(|(s, _)| s.to_vec()).collect();
                if scores.len() as u64 != meta.count() || order.len() != scores.len() || scores.is_empty() {
                    return Err(format!(
                        "zset {key:?}: meta {}, {} scores, {} ordered",
                        meta.count(),
                        scores.len(),
                        order.len()
                    ));
                }
                for (mem, s) in &scores {
                    let mut o = super::keyspace::score_bytes(*s).to_vec();
                    o.extend_from_slice(mem);
                    if !order.contains(&o) || s.is_nan() {
                        return Err(format!("zset {key:?}: member {mem:?} with score {s} is not in score order"));
                    }
                }
                accounted += 2 * scores.len();
            }
        }
    }
    if accounted != m.len() {
        return Err(format!("{} entries belong to no key", m.len() - accounted));
    }
    Ok(())
}
