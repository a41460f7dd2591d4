//! MiMei: a signed, versioned container of a file (each numbered version points at a CID) or a
//! database, owned by its author (DESIGN.md §1, §7).
//!
//! The id is the DHT record key of the author's public key and the creation fields:
//! `mid = record_key(author_pk, cbor(type, appid, ext, mark))`. So the same inputs give the same
//! mid, nobody else can publish a head under it (the record signature and key check in
//! `dht::Record::verify` prove authorship), and any node can check a head it receives.

use crate::cid::Cid;
use crate::dht::record::{record_key, Record};
use crate::dht::Key;
use crate::id::NodeId;
use crate::identity::Identity;
pub mod follow;
pub mod refs;
pub mod rights;

use minicbor::{Decode, Encode};
use std::collections::BTreeMap;
use std::fmt;

/// Default end of life of a published head: 168 hours.
pub const HEAD_EOL_MS: u64 = 168 * 3600 * 1000;
/// Versions one MiMei keeps at most (each is a few dozen bytes in the head).
pub const MAX_VERSIONS: usize = 100;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
#[cbor(index_only)]
pub enum Kind {
    #[n(1)]
    File,
    #[n(2)]
    Db,
}

/// The creation fields; they fix the mid.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Info {
    #[n(0)]
    pub kind: Kind,
    #[n(1)]
    pub appid: String,
    #[n(2)]
    pub ext: String,
    #[n(3)]
    pub mark: String,
}

impl Info {
    pub fn salt(&self) -> Vec<u8> {
        let mut s = b"mimei:".to_vec();
        s.extend(minicbor::to_vec(self).expect("encoding to a Vec cannot fail"));
        s
    }

    pub fn mid(&self, author_pk: &[u8; 32]) -> Mid {
        Mid(record_key(author_pk, &self.salt()))
    }
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Mid(pub Key);

impl Mid {
    pub fn parse(text: &str) -> Result<Mid, crate::id::IdError> {
        NodeId::parse(text).map(|n| Mid(Key::from(n)))
    }
}

impl fmt::Display for Mid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        NodeId::from(self.0).fmt(f)
    }
}

impl fmt::Debug for Mid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Mid({self})")
    }
}

/// What a head says: the versions (number → content CID), `release`, and when it was made.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Head {
    #[n(0)]
    pub info: Info,
    #[n(1)]
    pub versions: BTreeMap<u64, CidBytes>,
    #[n(2)]
    pub release: Option<u64>,
    /// Wall-clock creation time of the MiMei (ms).
    #[n(3)]
    pub created: u64,
    #[n(4)]
    pub right: u64,
    /// The node that writes the MiMei, when it is not the author (a user's MiMei): replicas of
    /// a database ask it for entries. Set at publication; absent in heads the author's own key
    /// node writes.
    #[cbor(n(5), with = "minicbor::bytes")]
    pub writer: Option<[u8; 32]>,
    /// What each version depends on (`MMAddRef`): CIDs, mac files and other MiMeis by id, with
    /// counts. They travel with the head, so a sync copies them and GC keeps them.
    #[n(6)]
    pub refs: Option<BTreeMap<u64, refs::Refs>>,
}

/// A CID as its binary form inside CBOR.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
#[cbor(transparent)]
pub struct CidBytes(#[cbor(n(0), with = "minicbor::bytes")] pub Vec<u8>);

impl CidBytes {
    pub fn of(c: &Cid) -> Self {
        CidBytes(c.to_bytes())
    }
    pub fn cid(&self) -> Option<Cid> {
        Cid::from_bytes(&self.0).ok()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MimeiError {
    NoVersion(String),
    BadVersionName(String),
    Released(u64),
    TooManyVersions,
    NotAFile,
    NotADb,
    NoWorkingCopy,
    /// An empty or overlong reference id (its start).
    BadRef(String),
    TooManyRefs,
}

impl fmt::Display for MimeiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MimeiError::NoVersion(v) => write!(f, "there is no version {v}"),
            MimeiError::BadVersionName(v) => write!(f, "\"{v}\" is not a version (use a number, cur, last or release)"),
            MimeiError::Released(v) => write!(f, "version {v} is released and cannot be deleted"),
            MimeiError::TooManyVersions => {
                write!(f, "the MiMei already has {MAX_VERSIONS} versions; delete some first")
            }
            MimeiError::NotAFile => write!(f, "this MiMei holds a database, not a file"),
            MimeiError::NoWorkingCopy => {
                write!(f, "there is nothing in cur to back up (upload an app, or restore a version, first)")
            }
            MimeiError::NotADb => write!(f, "this MiMei holds a file, not a database (create one with --db)"),
            MimeiError::BadRef(r) => {
                write!(f, "\"{r}\" is not a reference: give ids of 1 to {} bytes", refs::MAX_REF_LEN)
            }
            MimeiError::TooManyRefs => write!(f, "a version references at most {} ids", refs::MAX_REFS),
        }
    }
}

/// A local MiMei: its author, head and the version being written.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Mimei {
    #[cbor(n(0), with = "minicbor::bytes")]
    pub author: [u8; 32],
    #[n(1)]
    pub head: Head,
    /// Publications so far (the head record's version number on the DHT).
    #[n(2)]
    pub published: u64,
    /// Members' own right words (user id → word); everyone else has `head.right`.
    #[n(3)]
    pub members: Option<BTreeMap<String, u64>>,
    /// Other contents seen for a version (conflicting heads): kept, shown, never dropped.
    #[n(4)]
    pub conflicts: Option<BTreeMap<u64, Vec<CidBytes>>>,
    /// A file MiMei's working copy (`cur`), written by app uploads and restores and turned into
    /// a numbered version by a backup. It stays on this node; without it `cur` means `last`.
    #[n(5)]
    pub cur: Option<CidBytes>,
    /// Made on this node, which writes it (`Some(true)`); a copy synced from elsewhere is a
    /// replica (`None`). MiMeis stored before users existed are the node's own (`is_home`).
    #[n(6)]
    pub home: Option<bool>,
    /// The working copy's references; a new version takes a copy of them.
    #[n(7)]
    pub cur_refs: Option<refs::Refs>,
}

/// Who signs a head: the author's own key, or a node with the author's delegation.
pub enum HeadSigner<'a> {
    Author(&'a Identity),
    Delegate(&'a Identity, crate::dht::delegation::Delegation),
}

impl Mimei {
    /// A new MiMei of the author with public key `author`, written on this node.
    pub fn new(author: [u8; 32], info: Info, created: u64, right: u64) -> Mimei {
        Mimei {
            author,
            head: Head { info, versions: BTreeMap::new(), release: None, created, right, writer: None, refs: None },
            published: 0,
            members: None,
            conflicts: None,
            cur: None,
            home: Some(true),
            cur_refs: None,
        }
    }

    /// The public key of the node that writes the MiMei: the head's `writer`, else the author.
    pub fn writer(&self) -> [u8; 32] {
        self.head.writer.unwrap_or(self.author)
    }

    /// Whether this node writes the MiMei (rather than holding a replica): it was made here,
    /// or its author is the node itself (`node_pk`).
    pub fn is_home(&self, node_pk: &[u8; 32]) -> bool {
        self.home == Some(true) || self.author == *node_pk
    }

    pub fn mid(&self) -> Mid {
        self.head.info.mid(&self.author)
    }

    pub fn author_id(&self) -> NodeId {
        crate::identity::node_id_of(&self.author)
    }

    pub fn last(&self) -> Option<u64> {
        self.head.versions.keys().next_back().copied()
    }

    /// A new numbered version pointing at `cid`; returns its number.
    pub fn set_cid(&mut self, cid: &Cid) -> Result<u64, MimeiError> {
        if self.head.info.kind != Kind::File {
            return Err(MimeiError::NotAFile);
        }
        if self.head.versions.len() >= MAX_VERSIONS {
            return Err(MimeiError::TooManyVersions);
        }
        Ok(self.new_version(cid))
    }

    /// A new numbered version holding `cid`, with a copy of the working copy's references.
    fn new_version(&mut self, cid: &Cid) -> u64 {
        let v = self.last().unwrap_or(0) + 1;
        self.head.versions.insert(v, CidBytes::of(cid));
        if let Some(r) = self.cur_refs.clone().filter(|r| !r.is_empty()) {
            self.head.refs.get_or_insert_with(BTreeMap::new).insert(v, r);
        }
        v
    }

    /// The right word that applies to `uid` ("" = the default word), and whether `uid` is a member.
    pub fn right_of(&self, uid: &str) -> (u64, bool) {
        match self.members.as_ref().and_then(|m| m.get(uid)) {
            Some(w) if !uid.is_empty() => (*w, true),
            _ => (self.head.right, false),
        }
    }

    /// Sets a member's word, or the default word when `uid` is "".
    pub fn set_right(&mut self, uid: &str, word: u64) {
        if uid.is_empty() {
            self.head.right = word;
        } else {
            self.members.get_or_insert_with(BTreeMap::new).insert(uid.to_string(), word);
        }
    }

    /// Takes over the heads this one replaces or disagrees with: every version `other` gives a
    /// different content than this head keeps that content as a conflict.
    pub fn keep_conflicts_with(&mut self, other: &Head, earlier: Option<&BTreeMap<u64, Vec<CidBytes>>>) {
        let mut kept = earlier.cloned().unwrap_or_default();
        for v in conflicts(other, &self.head) {
            let alt = other.versions[&v].clone();
            let list = kept.entry(v).or_default();
            if !list.contains(&alt) {
                list.push(alt);
            }
        }
        if !kept.is_empty() {
            self.conflicts = Some(kept);
        }
    }

    /// Sets a file MiMei's working copy (`cur`) without making a version.
    pub fn set_cur(&mut self, cid: &Cid) -> Result<(), MimeiError> {
        if self.head.info.kind != Kind::File {
            return Err(MimeiError::NotAFile);
        }
        self.cur = Some(CidBytes::of(cid));
        Ok(())
    }

    /// A file MiMei's backup: its working copy becomes a new numbered version (`last`).
    pub fn backup_cur(&mut self) -> Result<u64, MimeiError> {
        if self.head.info.kind != Kind::File {
            return Err(MimeiError::NotAFile);
        }
        let cid = self.cur.as_ref().and_then(CidBytes::cid).ok_or(MimeiError::NoWorkingCopy)?;
        self.set_cid(&cid)
    }

    /// A file MiMei's restore: version `name`'s content becomes the working copy.
    pub fn restore(&mut self, name: &str) -> Result<u64, MimeiError> {
        if self.head.info.kind != Kind::File {
            return Err(MimeiError::NotAFile);
        }
        let v = self.resolve(name)?;
        self.cur = self.head.versions.get(&v).cloned();
        Ok(v)
    }

    /// A database backup: a new numbered version holding the snapshot `cid`.
    pub fn add_snapshot(&mut self, cid: &Cid) -> Result<u64, MimeiError> {
        if self.head.info.kind != Kind::Db {
            return Err(MimeiError::NotADb);
        }
        if self.head.versions.len() >= MAX_VERSIONS {
            return Err(MimeiError::TooManyVersions);
        }
        Ok(self.new_version(cid))
    }

    /// `cur`, `last`, `release` or a number, as a version number.
    pub fn resolve(&self, name: &str) -> Result<u64, MimeiError> {
        let v = match name {
            "" | "cur" | "last" => self.last(),
            "release" => self.head.release,
            n => Some(n.parse::<u64>().map_err(|_| MimeiError::BadVersionName(n.to_string()))?),
        };
        v.filter(|v| self.head.versions.contains_key(v)).ok_or_else(|| MimeiError::NoVersion(name.to_string()))
    }

    pub fn cid_of(&self, name: &str) -> Result<Cid, MimeiError> {
        if matches!(name, "" | "cur") {
            if let Some(c) = self.cur.as_ref().and_then(CidBytes::cid) {
                return Ok(c);
            }
        }
        let v = self.resolve(name)?;
        self.head.versions.get(&v).and_then(CidBytes::cid).ok_or_else(|| MimeiError::NoVersion(name.to_string()))
    }

    pub fn release(&mut self, name: &str) -> Result<u64, MimeiError> {
        let v = self.resolve(name)?;
        self.head.release = Some(v);
        Ok(v)
    }

    /// Deletes versions; a released one is refused (and nothing is deleted). `cur` drops a file
    /// MiMei's working copy (a database's is emptied by its owner, not here).
    pub fn delete(&mut self, names: &[String]) -> Result<Vec<u64>, MimeiError> {
        let drop_cur = names.iter().any(|n| n == "cur");
        let vs: Vec<u64> = names.iter().filter(|n| *n != "cur").map(|n| self.resolve(n)).collect::<Result<_, _>>()?;
        if let Some(r) = vs.iter().find(|v| Some(**v) == self.head.release) {
            return Err(MimeiError::Released(*r));
        }
        for v in &vs {
            self.head.versions.remove(v);
            if let Some(r) = self.head.refs.as_mut() {
                r.remove(v);
            }
        }
        if drop_cur {
            self.cur = None;
            self.cur_refs = None;
        }
        Ok(vs)
    }

    /// The signed head record for the DHT; its record version grows with every publication.
    pub fn head_record(&mut self, signer: HeadSigner<'_>, now_ms: u64) -> Record {
        let value = minicbor::to_vec(&self.head).expect("encoding to a Vec cannot fail");
        self.record_of(signer, value, now_ms)
    }

    /// `MiMeiUnpublish`: a newer record with no head, which replaces the published one on every
    /// node that stores it; readers find nothing published.
    pub fn withdrawal_record(&mut self, signer: HeadSigner<'_>, now_ms: u64) -> Record {
        self.record_of(signer, Vec::new(), now_ms)
    }

    fn record_of(&mut self, signer: HeadSigner<'_>, value: Vec<u8>, now_ms: u64) -> Record {
        self.published += 1;
        let (salt, eol) = (self.head.info.salt(), now_ms + HEAD_EOL_MS);
        match signer {
            HeadSigner::Author(a) => Record::sign(a, &salt, value, self.published, eol),
            HeadSigner::Delegate(node, d) => Record::sign_delegated(node, d, &salt, value, self.published, eol),
        }
    }
}

/// A head read from the network: its record checked (`Record::verify`) and its value decoded.
pub fn read_head(r: &Record, mid: &Mid, now_ms: u64) -> Option<Head> {
    if r.key != mid.0 || r.verify(now_ms).is_err() {
        return None;
    }
    let head: Head = minicbor::decode(&r.value).ok()?;
    // The record's salt must be the head's own creation fields.
    (head.info.salt() == r.salt).then_some(head)
}

/// Versions that two heads of one MiMei give different content: a conflict.
pub fn conflicts(a: &Head, b: &Head) -> Vec<u64> {
    a.versions.iter().filter(|(v, c)| b.versions.get(v).is_some_and(|d| d != *c)).map(|(v, _)| *v).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cid::Multihash;

    fn cid(n: u8) -> Cid {
        Cid::new_v0(Multihash::sha2_256(&[n])).unwrap()
    }

    #[test]
    fn ids_versions_heads() {
        let a = Identity::from_seed([1; 32]);
        let info = Info { kind: Kind::File, appid: String::new(), ext: String::new(), mark: "m1".into() };
        let mut m = Mimei::new(a.public_key(), info.clone(), 1_000, 0x07276704);
        assert_eq!(m.mid(), Mimei::new(a.public_key(), info.clone(), 9, 0).mid(), "same inputs, same mid");
        let other = Info { mark: "m2".into(), ..info.clone() };
        assert_ne!(m.mid(), Mimei::new(a.public_key(), other, 1_000, 0).mid());
        assert_eq!(Mid::parse(&m.mid().to_string()).unwrap(), m.mid());
        assert_eq!(m.set_cid(&cid(1)).unwrap(), 1);
        assert_eq!(m.set_cid(&cid(2)).unwrap(), 2);
        assert_eq!(m.cid_of("last").unwrap(), cid(2));
        assert_eq!(m.cid_of("1").unwrap(), cid(1));
        assert!(m.cid_of("release").is_err());
        assert_eq!(m.release("1").unwrap(), 1);
        assert_eq!(m.delete(&["1".into()]), Err(MimeiError::Released(1)));
        assert!(matches!(m.resolve("x"), Err(MimeiError::BadVersionName(_))));

        // The working copy: set, backed up into a version, restored from one, dropped.
        assert_eq!(m.backup_cur(), Err(MimeiError::NoWorkingCopy));
        assert_eq!(m.cid_of("cur").unwrap(), cid(2), "without a working copy cur is last");
        m.set_cur(&cid(3)).unwrap();
        assert_eq!((m.cid_of("cur").unwrap(), m.cid_of("last").unwrap()), (cid(3), cid(2)));
        assert_eq!(m.backup_cur().unwrap(), 3);
        assert_eq!(m.cid_of("last").unwrap(), cid(3));
        assert_eq!(m.restore("1").unwrap(), 1);
        assert_eq!(m.cid_of("cur").unwrap(), cid(1));
        assert_eq!(m.delete(&["cur".into(), "3".into()]).unwrap(), vec![3]);
        assert_eq!(m.cid_of("cur").unwrap(), cid(2));
        assert!(m.head.versions.len() == 2 && m.cur.is_none());

        let rec = m.head_record(HeadSigner::Author(&a), 5_000);
        assert_eq!(rec.key, m.mid().0);
        let head = read_head(&rec, &m.mid(), 6_000).unwrap();
        assert_eq!(head, m.head);
        // Someone else cannot publish under this mid.
        let b = Identity::from_seed([2; 32]);
        let mut forged = Mimei { author: b.public_key(), ..m.clone() };
        let fake = forged.head_record(HeadSigner::Author(&b), 5_000);
        assert!(read_head(&fake, &m.mid(), 6_000).is_none());
        // Two contents claiming one version are a conflict.
        let mut theirs = m.head.clone();
        theirs.versions.insert(2, CidBytes::of(&cid(9)));
        assert_eq!(conflicts(&m.head, &theirs), vec![2]);
    }
}
