//! Following a MiMei's heads, sans-IO: what a provider does with each head record it hears of —
//! from a publish notice, a DHT read or a replayed message. Only heads signed by the MiMei's
//! author for this mid are taken; the newest publication wins; two heads that give one version
//! different contents are a conflict, kept and reported, never silently dropped.

use super::{conflicts, read_head, Head, Mid};
use crate::dht::Record;
use std::collections::BTreeSet;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seen {
    /// A newer publication: the provider now holds (and fetches) its versions.
    Newer,
    /// Valid, but not newer than what is held (a replay or a late copy).
    Stale,
    /// Not a head of this MiMei by its author (forged, wrong key, expired, undecodable).
    Rejected,
}

#[derive(Clone, Debug)]
pub struct HeadFollower {
    pub mid: Mid,
    /// The record version (publication count) of the head held.
    pub record_version: u64,
    pub head: Option<Head>,
    /// Versions two valid heads disagree about.
    pub conflicts: BTreeSet<u64>,
    pub rejected: u64,
}

impl HeadFollower {
    pub fn new(mid: Mid) -> Self {
        HeadFollower { mid, record_version: 0, head: None, conflicts: BTreeSet::new(), rejected: 0 }
    }

    pub fn on_record(&mut self, r: &Record, now_ms: u64) -> Seen {
        let Some(head) = read_head(r, &self.mid, now_ms) else {
            self.rejected += 1;
            return Seen::Rejected;
        };
        if let Some(cur) = &self.head {
            self.conflicts.extend(conflicts(cur, &head));
        }
        if self.head.is_none() || r.version > self.record_version {
            self.head = Some(head);
            self.record_version = r.version;
            Seen::Newer
        } else {
            Seen::Stale
        }
    }

    /// The newest version number the held head lists.
    pub fn newest(&self) -> Option<u64> {
        self.head.as_ref().and_then(|h| h.versions.keys().next_back().copied())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Identity;
    use crate::mimei::{CidBytes, HeadSigner, Info, Kind, Mimei};

    #[test]
    fn newest_wins_forgeries_are_rejected_conflicts_are_kept() {
        let author = Identity::from_seed([1; 32]);
        let info = Info { kind: Kind::File, appid: String::new(), ext: String::new(), mark: "m".into() };
        let mut m = Mimei::new(author.public_key(), info, 0, 0);
        let mid = m.mid();
        let mut f = HeadFollower::new(mid);
        m.head.versions.insert(1, CidBytes(vec![1]));
        let r1 = m.head_record(HeadSigner::Author(&author), 0);
        m.head.versions.insert(2, CidBytes(vec![2]));
        let r2 = m.head_record(HeadSigner::Author(&author), 0);
        assert_eq!(f.on_record(&r2, 1), Seen::Newer);
        assert_eq!(f.on_record(&r1, 1), Seen::Stale, "an older publication does not roll back");
        assert_eq!(f.newest(), Some(2));
        // Someone else signs a head for this mid: refused.
        let forger = Identity::from_seed([2; 32]);
        let mut fake = crate::dht::Record::sign(&forger, &r2.salt, r2.value.clone(), 99, r2.eol);
        assert_eq!(f.on_record(&fake, 1), Seen::Rejected);
        fake.key = mid.0;
        fake.author = author.public_key();
        assert_eq!(f.on_record(&fake, 1), Seen::Rejected);
        // The author's other device publishes a different version 2: a conflict, kept.
        let mut other = m.clone();
        other.head.versions.insert(2, CidBytes(vec![9]));
        let r3 = other.head_record(HeadSigner::Author(&author), 0);
        assert_eq!(f.on_record(&r3, 1), Seen::Newer);
        assert_eq!(f.conflicts.iter().copied().collect::<Vec<_>>(), vec![2]);
    }
}
