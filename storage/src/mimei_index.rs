//! The MiMeis each author made on this node, by author: `ma/<author's id><mid>` (empty value)
//! beside every home MiMei, written in the MiMei's own transaction. A user's count (the quota)
//! and `GetUserMids` read that user's entries only. Stores made before the index get it built
//! once when they open (marker `ma-built`).

use crate::blocks::{mimei_key, LmdbError, Store};
use proto_core::mimei::{Mid, Mimei};

const PREFIX: &[u8] = b"ma/";
const BUILT: &[u8] = b"ma-built";

/// The index entry of `m`, when this node made it.
pub(crate) fn entry(m: &Mimei) -> Option<Vec<u8>> {
    (m.home == Some(true)).then(|| [PREFIX, &m.author_id().0, &m.mid().0 .0].concat())
}

impl Store {
    /// Builds the index from every stored MiMei, once.
    pub(crate) fn build_author_index(&self) -> Result<(), LmdbError> {
        let mut txn = self.env.write_txn()?;
        if self.state.get(&txn, BUILT)?.is_some() {
            return Ok(());
        }
        let mut entries = Vec::new();
        for item in self.state.prefix_iter(&txn, b"mm/")? {
            let (_, v) = item?;
            if let Some(k) = minicbor::decode::<Mimei>(v).ok().as_ref().and_then(entry) {
                entries.push(k);
            }
        }
        for k in entries {
            self.state.put(&mut txn, &k, &[])?;
        }
        self.state.put(&mut txn, BUILT, &[])?;
        txn.commit()?;
        Ok(())
    }

    /// `author`'s home MiMeis, oldest first.
    pub(crate) fn authored(&self, author: &proto_core::id::NodeId) -> Result<Vec<Mimei>, LmdbError> {
        let txn = self.env.read_txn()?;
        let prefix = [PREFIX, author.0.as_slice()].concat();
        let mut out = Vec::new();
        for item in self.state.prefix_iter(&txn, &prefix)? {
            let (k, _) = item?;
            let Some(mid) = k.get(prefix.len()..).and_then(|b| <[u8; 20]>::try_from(b).ok()) else { continue };
            let mid = Mid(proto_core::dht::Key(mid));
            if let Some(m) = self.state.get(&txn, &mimei_key(&mid))?.and_then(|b| minicbor::decode::<Mimei>(b).ok()) {
                out.push(m);
            }
        }
        out.sort_by_key(|m| m.head.created);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto_core::mimei::{Info, Kind};
    use proto_core::store::MimeiStore;

    fn mimei(author: u8, mark: &str, created: u64, home: Option<bool>) -> Mimei {
        let info = Info { kind: Kind::File, appid: String::new(), ext: String::new(), mark: mark.into() };
        let mut m = Mimei::new([author; 32], info, created, 0);
        m.home = home;
        m
    }

    #[test]
    fn an_authors_mimeis_come_from_the_index_oldest_first_and_old_stores_get_it_built() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store.put_mimei(&mimei(1, "b", 20, Some(true))).unwrap();
        store.put_mimei(&mimei(1, "a", 10, Some(true))).unwrap();
        store.put_mimei(&mimei(2, "c", 5, Some(true))).unwrap();
        // A replica of author 1's is not theirs here.
        store.put_mimei(&mimei(1, "replica", 1, None)).unwrap();
        let marks = |s: &Store, a: u8| -> Vec<String> {
            s.authored_mimeis(&proto_core::identity::node_id_of(&[a; 32]))
                .unwrap()
                .into_iter()
                .map(|m| m.head.info.mark)
                .collect()
        };
        assert_eq!(marks(&store, 1), ["a", "b"]);
        assert_eq!(marks(&store, 2), ["c"]);
        assert!(marks(&store, 3).is_empty());
        // Putting a MiMei again (a new version) keeps one entry.
        store.put_mimei(&mimei(1, "a", 10, Some(true))).unwrap();
        assert_eq!(marks(&store, 1), ["a", "b"]);
        // A store written before the index: drop its entries and marker, reopen.
        let stale: Vec<Vec<u8>> = store.load_prefix(b"ma").unwrap().into_iter().map(|(k, _)| k).collect();
        assert_eq!(stale.len(), 4, "three entries and the marker");
        store.persist(&stale.into_iter().map(|k| (k, None)).collect::<Vec<_>>()).unwrap();
        assert!(marks(&store, 1).is_empty());
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(marks(&store, 1), ["a", "b"]);
        assert_eq!(marks(&store, 2), ["c"]);
    }
}
