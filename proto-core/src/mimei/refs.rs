//! A MiMei's references (the original's `MMAddRef`, `MMDelRef`, `MMGetRef`): ids of what a
//! version depends on — IPFS CIDs, mac files, other MiMeis — each with a count. They are added
//! to the working copy and a new version takes a copy; numbered versions' refs are in the head.

use super::{Mimei, MimeiError};
use std::collections::BTreeMap;

/// The id of a mac file (the original's immutable content files, `MFTemp2MacFile`): a 27-char
/// id from the content's multihash, so any node holding the MiMei's references finds the file's
/// CID from its mac id, and a CIDv0 and CIDv1 of the same bytes have one id.
pub fn mac_id(cid: &crate::cid::Cid) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"leither-mac-id\0");
    h.update(cid.hash().to_bytes());
    let d = h.finalize();
    let mut id = [0u8; 20];
    id.copy_from_slice(&d[..20]);
    crate::id::NodeId(id).to_string()
}

/// Id → how many times it was added.
pub type Refs = BTreeMap<String, u64>;

/// Most distinct ids one version may reference.
pub const MAX_REFS: usize = 10_000;

/// Longest id (a CID in text is well under it).
pub const MAX_REF_LEN: usize = 256;

impl Mimei {
    /// Adds one to each id's count in the working copy's references; returns how many ids
    /// were given. Empty or overlong ids, and more than [`MAX_REFS`] ids, are refused whole.
    pub fn add_refs(&mut self, ids: &[String]) -> Result<usize, MimeiError> {
        if let Some(bad) = ids.iter().find(|i| i.is_empty() || i.len() > MAX_REF_LEN) {
            return Err(MimeiError::BadRef(bad.chars().take(40).collect()));
        }
        let refs = self.cur_refs.get_or_insert_with(BTreeMap::new);
        let new = ids.iter().filter(|i| !refs.contains_key(*i)).collect::<std::collections::BTreeSet<_>>().len();
        if refs.len() + new > MAX_REFS {
            return Err(MimeiError::TooManyRefs);
        }
        for id in ids {
            *refs.entry(id.clone()).or_insert(0) += 1;
        }
        Ok(ids.len())
    }

    /// Takes one from each id's count (an id at zero goes); returns how many ids were found.
    pub fn del_refs(&mut self, ids: &[String]) -> usize {
        let Some(refs) = self.cur_refs.as_mut() else { return 0 };
        let mut found = 0;
        for id in ids {
            if let Some(n) = refs.get_mut(id) {
                found += 1;
                *n -= 1;
                if *n == 0 {
                    refs.remove(id);
                }
            }
        }
        found
    }

    /// The references of a version by name (`cur` = the working copy's).
    pub fn refs_of(&self, name: &str) -> Result<Refs, MimeiError> {
        if matches!(name, "" | "cur") {
            return Ok(self.cur_refs.clone().unwrap_or_default());
        }
        let v = self.resolve(name)?;
        Ok(self.head.refs.as_ref().and_then(|r| r.get(&v)).cloned().unwrap_or_default())
    }

    /// The CID of the mac file `id` among the references (a mac file is referenced by its CID).
    pub fn mac_file(&self, id: &str) -> Option<crate::cid::Cid> {
        self.all_refs().filter_map(|r| crate::cid::Cid::parse(r).ok()).find(|c| mac_id(c) == id)
    }

    /// Every id any kept version (and the working copy) references.
    pub fn all_refs(&self) -> impl Iterator<Item = &String> {
        let kept = self.head.refs.iter().flat_map(|r| r.values()).flat_map(|r| r.keys());
        kept.chain(self.cur_refs.iter().flat_map(|r| r.keys()))
    }
}

#[cfg(test)]
mod tests {
    use crate::cid::Cid;
    use crate::mimei::{Info, Kind, Mimei, MimeiError};

    fn file_mimei() -> Mimei {
        let info = Info { kind: Kind::File, appid: String::new(), ext: String::new(), mark: "m".into() };
        Mimei::new([7; 32], info, 0, 0x07276705)
    }

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn refs_count_travel_into_versions_and_go_with_them() {
        let mut m = file_mimei();
        let cid = Cid::parse("QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn").unwrap();
        assert_eq!(m.add_refs(&ids(&["a", "b", "a"])).unwrap(), 3);
        assert_eq!(m.refs_of("cur").unwrap(), [("a".to_string(), 2), ("b".to_string(), 1)].into());
        let v1 = m.set_cid(&cid).unwrap();
        assert_eq!(m.del_refs(&ids(&["a", "b", "zz"])), 2);
        assert_eq!(m.refs_of("cur").unwrap(), [("a".to_string(), 1)].into());
        // The version kept what cur had when it was made.
        assert_eq!(m.refs_of(&v1.to_string()).unwrap().len(), 2);
        assert_eq!(m.refs_of("last").unwrap().get("b"), Some(&1));
        let v2 = m.set_cid(&cid).unwrap();
        assert_eq!(m.all_refs().filter(|r| *r == "a").count(), 3, "v1, v2 and cur");
        m.delete(&[v1.to_string()]).unwrap();
        assert!(m.head.refs.as_ref().unwrap().get(&v1).is_none());
        assert_eq!(m.refs_of(&v2.to_string()).unwrap(), [("a".to_string(), 1)].into());
        // The head (what other nodes get) carries the versions' refs.
        let bytes = minicbor::to_vec(&m.head).unwrap();
        let back: crate::mimei::Head = minicbor::decode(&bytes).unwrap();
        assert_eq!(back.refs, m.head.refs);
    }

    #[test]
    fn a_mac_file_is_found_by_its_id_among_the_cid_references() {
        let mut m = file_mimei();
        let v0 = Cid::parse("QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn").unwrap();
        let id = super::mac_id(&v0);
        assert_eq!(id.len(), 27);
        assert_eq!(super::mac_id(&v0.to_v1()), id, "one id for both CID versions");
        assert_eq!(m.mac_file(&id), None);
        m.add_refs(&[v0.to_string()]).unwrap();
        assert_eq!(m.mac_file(&id), Some(v0));
        assert_eq!(m.mac_file("AAAAAAAAAAAAAAAAAAAAAAAAAAA"), None);
    }

    #[test]
    fn bad_refs_are_refused_whole() {
        let mut m = file_mimei();
        assert!(matches!(m.add_refs(&ids(&["ok", ""])), Err(MimeiError::BadRef(_))));
        assert!(matches!(m.add_refs(&["x".repeat(300)]), Err(MimeiError::BadRef(_))));
        assert!(m.refs_of("cur").unwrap().is_empty());
        let many: Vec<String> = (0..super::MAX_REFS + 1).map(|i| i.to_string()).collect();
        assert_eq!(m.add_refs(&many).unwrap_err(), MimeiError::TooManyRefs);
    }
}
