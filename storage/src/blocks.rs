use heed::types::Bytes;
use heed::{Database, Env, EnvOpenOptions};
use proto_core::cid::Cid;
use proto_core::store::StoreError as Fault;
use proto_core::store::{BlockWrite, PinStore};
use proto_core::unixfs::read::BlockRead;
use proto_core::unixfs::Block;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Virtual sizes tried for the LMDB map, largest first: the map bounds the store's size but
/// costs only address space. Not every host can reserve 1 TiB (Raspberry Pi kernels with 39-bit
/// addresses, qemu user emulation), and 32-bit hosts (armv7 routers) about 1 GiB at most.
#[cfg(target_pointer_width = "64")]
pub(crate) const MAP_SIZES: &[usize] = &[1 << 40, 1 << 38, 1 << 36, 1 << 34, 1 << 32, 1 << 30];
#[cfg(not(target_pointer_width = "64"))]
pub(crate) const MAP_SIZES: &[usize] = &[1 << 30, 3 << 28, 1 << 29, 1 << 28];

#[derive(Debug)]
pub enum LmdbError {
    Open(PathBuf, String),
    Lmdb(heed::Error),
    /// A write that failed, named (a full disk says so).
    Write(String),
}

impl fmt::Display for LmdbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LmdbError::Open(p, e) => write!(f, "cannot open the store at {}: {e}", p.display()),
            LmdbError::Lmdb(e) => write!(f, "store error: {e}"),
            LmdbError::Write(e) => f.write_str(e),
        }
    }
}

impl std::error::Error for LmdbError {}

impl From<LmdbError> for Fault {
    fn from(e: LmdbError) -> Fault {
        match e {
            LmdbError::Write(text) => crate::space::fault(text),
            other => Fault::failed(other),
        }
    }
}

impl From<heed::Error> for LmdbError {
    fn from(e: heed::Error) -> Self {
        LmdbError::Lmdb(e)
    }
}

/// Opens (creating if needed) an LMDB environment in `dir` with the largest map this host can
/// reserve.
pub(crate) fn open_env(dir: &Path, max_dbs: u32, flags: heed::EnvFlags) -> Result<Env, LmdbError> {
    std::fs::create_dir_all(dir).map_err(|e| LmdbError::Open(dir.to_path_buf(), e.to_string()))?;
    let mut last = None;
    let mut env = None;
    for &size in MAP_SIZES {
        // SAFETY: heed requires that one process does not open the same env twice and that
        // the files are not modified by other means. The runtime holds an exclusive lock on
        // the repo directory before calling this, so only this process opens it.
        #[allow(unsafe_code)]
        match unsafe {
            {
                let mut o = EnvOpenOptions::new();
                o.map_size(size).max_dbs(max_dbs).flags(flags);
                o.open(dir)
            }
        } {
            Ok(e) => {
                env = Some(e);
                break;
            }
            // Out of address space: try a smaller map. Anything else is final.
            Err(heed::Error::Io(e)) if e.raw_os_error() == Some(12) => last = Some(e.to_string()),
            Err(e) => return Err(LmdbError::Open(dir.to_path_buf(), e.to_string())),
        }
    }
    let env = env.ok_or_else(|| LmdbError::Open(dir.to_path_buf(), last.unwrap_or_default()))?;
    Ok(env)
}

/// A persisted key and value.
pub(crate) type Entry = (Vec<u8>, Vec<u8>);

pub struct Store {
    pub(crate) env: Env,
    pub(crate) blocks: Database<Bytes, Bytes>,
    pub(crate) pins: Database<Bytes, Bytes>,
    /// The core's durable state (`dht/…` keys): what `Output::Persist` writes.
    pub(crate) state: Database<Bytes, Bytes>,
    /// Where the environment lives (its filesystem's room is what a full disk reports).
    dir: PathBuf,
    /// The blocks that running adds hold (`adds`).
    pub(crate) adding: Mutex<crate::adds::Holds>,
    /// Access times and a running collection's notes (`gc`).
    pub(crate) gc: crate::gc::GcState,
}

/// How much the store holds and how much room is left for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Usage {
    pub blocks: u64,
    /// Bytes of the pages the databases use (free pages inside the file left out).
    pub used_bytes: u64,
    /// The size of the environment's data file.
    pub file_bytes: u64,
    /// The map size: the most the store can ever hold on this host.
    pub map_bytes: u64,
    /// The room on the repo's filesystem (`None` where it cannot be read).
    pub disk: Option<crate::space::FsSpace>,
    /// The limit the automatic collection keeps `used_bytes` under, when set (`gc`).
    pub storage_max: Option<u64>,
}

impl Store {
    /// Opens (creating if needed) the store in `dir`. A store that exists is opened without a
    /// write, so a node starts on a full disk.
    pub fn open(dir: &Path) -> Result<Self, LmdbError> {
        let env = open_env(dir, 8, heed::EnvFlags::empty())?;
        let existing = {
            let txn = env.read_txn()?;
            let open = |name| env.open_database::<Bytes, Bytes>(&txn, Some(name));
            let dbs = match (open("blocks")?, open("pins")?, open("state")?) {
                (Some(b), Some(p), Some(s)) => Some((b, p, s)),
                _ => None,
            };
            // Committing keeps the handles open (an aborted transaction closes them).
            txn.commit()?;
            dbs
        };
        let (blocks, pins, state) = match existing {
            Some(dbs) => dbs,
            None => {
                let mut txn = env.write_txn()?;
                let blocks = env.create_database(&mut txn, Some("blocks"))?;
                let pins = env.create_database(&mut txn, Some("pins"))?;
                let state = env.create_database(&mut txn, Some("state"))?;
                txn.commit()?;
                (blocks, pins, state)
            }
        };
        let store = Store {
            env,
            blocks,
            pins,
            state,
            dir: dir.to_path_buf(),
            adding: Mutex::default(),
            gc: Default::default(),
        };
        store.build_author_index()?;
        Ok(store)
    }

    /// The environment's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Names a failed write: a full disk says so, with the room left.
    pub(crate) fn write_err(&self, e: &heed::Error, attempted: u64) -> String {
        crate::space::write_error(e, &self.dir, attempted)
    }

    /// `write_err` as the store traits answer it: a full disk is `Full`.
    pub(crate) fn write_fault(&self, e: &heed::Error, attempted: u64) -> Fault {
        crate::space::fault(self.write_err(e, attempted))
    }

    /// Applies the core's writes in one durable transaction (`None` deletes).
    pub fn persist(&self, writes: &[(Vec<u8>, Option<Vec<u8>>)]) -> Result<(), LmdbError> {
        let attempted: u64 = writes.iter().map(|(k, v)| (k.len() + v.as_ref().map_or(0, Vec::len)) as u64).sum();
        let full = |e: heed::Error| LmdbError::Write(self.write_err(&e, attempted));
        let mut txn = self.env.write_txn().map_err(full)?;
        for (k, v) in writes {
            match v {
                Some(v) => self.state.put(&mut txn, k, v).map_err(full)?,
                None => {
                    self.state.delete(&mut txn, k).map_err(full)?;
                }
            }
        }
        txn.commit().map_err(full)?;
        Ok(())
    }

    /// What the store holds and the room left on its disk (`repo stat`).
    pub fn usage(&self) -> Result<Usage, LmdbError> {
        Ok(Usage {
            blocks: self.block_count()?,
            used_bytes: self.env.non_free_pages_size()?,
            file_bytes: self.env.real_disk_size()?,
            map_bytes: self.env.info().map_size as u64,
            disk: crate::space::fs_space(&self.dir).ok(),
            storage_max: self.storage_max(),
        })
    }

    /// Every persisted entry whose key starts with `prefix` (the restore image).
    pub fn load_prefix(&self, prefix: &[u8]) -> Result<Vec<Entry>, LmdbError> {
        let txn = self.env.read_txn()?;
        let mut out = Vec::new();
        for item in self.state.prefix_iter(&txn, prefix)? {
            let (k, v) = item?;
            out.push((k.to_vec(), v.to_vec()));
        }
        Ok(out)
    }

    pub fn block_count(&self) -> Result<u64, LmdbError> {
        let txn = self.env.read_txn()?;
        Ok(self.blocks.len(&txn)?)
    }

    /// Checks every stored block against its hash; returns the keys that do not verify.
    pub fn verify_all(&self) -> Result<(u64, Vec<Vec<u8>>), LmdbError> {
        let txn = self.env.read_txn()?;
        let (mut n, mut bad) = (0, Vec::new());
        for item in self.blocks.iter(&txn)? {
            let (key, value) = item?;
            n += 1;
            let ok = proto_core::cid::Multihash::read(key)
                .map(|(mh, used)| used == key.len() && mh.verifies(value))
                .unwrap_or(false);
            if !ok {
                bad.push(key.to_vec());
            }
        }
        Ok((n, bad))
    }
}

fn s(e: heed::Error) -> Fault {
    Fault::failed(e)
}

impl BlockRead for Store {
    fn get_block(&self, cid: &Cid) -> Result<Option<Vec<u8>>, Fault> {
        let key = cid.hash().to_bytes();
        // Noted before the read: a collection then keeps it or it is already gone.
        self.note_read(&key);
        let txn = self.env.read_txn().map_err(s)?;
        Ok(self.blocks.get(&txn, &key).map_err(s)?.map(<[u8]>::to_vec))
    }
}

impl BlockWrite for Store {
    fn put_blocks(&self, blocks: &[Block]) -> Result<(), Fault> {
        let refs: Vec<(&Cid, &[u8])> = blocks.iter().map(|b| (&b.cid, b.bytes.as_slice())).collect();
        self.put_block_refs(&refs)
    }

    fn put_block_refs(&self, blocks: &[(&Cid, &[u8])]) -> Result<(), Fault> {
        let attempted: u64 = blocks.iter().map(|(_, b)| b.len() as u64).sum();
        let keys: Vec<Vec<u8>> = blocks.iter().map(|(cid, _)| cid.hash().to_bytes()).collect();
        // Held across the commit, so a failed add's removal never takes a block stored here.
        let mut holds = self.holds();
        self.note_touch(keys.iter().map(Vec::as_slice));
        self.note_atime(keys.iter().map(Vec::as_slice));
        let mut txn = self.env.write_txn().map_err(|e| self.write_fault(&e, attempted))?;
        for (key, (_, bytes)) in keys.iter().zip(blocks) {
            self.blocks.put(&mut txn, key, bytes).map_err(|e| self.write_fault(&e, attempted))?;
        }
        txn.commit().map_err(|e| self.write_fault(&e, attempted))?;
        crate::adds::claim(&mut holds, &keys);
        Ok(())
    }

    fn has_block(&self, cid: &Cid) -> Result<bool, Fault> {
        let key = cid.hash().to_bytes();
        self.note_touch(std::iter::once(key.as_slice()));
        let txn = self.env.read_txn().map_err(s)?;
        Ok(self.blocks.get(&txn, &key).map_err(s)?.is_some())
    }
}

pub(crate) fn mimei_key(mid: &proto_core::mimei::Mid) -> Vec<u8> {
    let mut k = b"mm/".to_vec();
    k.extend_from_slice(&mid.0 .0);
    k
}

impl proto_core::store::MimeiStore for Store {
    fn get_mimei(&self, mid: &proto_core::mimei::Mid) -> Result<Option<proto_core::mimei::Mimei>, Fault> {
        let txn = self.env.read_txn().map_err(s)?;
        match self.state.get(&txn, &mimei_key(mid)).map_err(s)? {
            Some(b) => minicbor::decode(b)
                .map(Some)
                .map_err(|e| Fault::Corrupt(format!("stored MiMei {mid} does not decode: {e}"))),
            None => Ok(None),
        }
    }

    fn put_mimei(&self, m: &proto_core::mimei::Mimei) -> Result<(), Fault> {
        let bytes = minicbor::to_vec(m).map_err(Fault::failed)?;
        let mut writes = vec![(mimei_key(&m.mid()), Some(bytes))];
        // The author's index, in the same transaction.
        writes.extend(crate::mimei_index::entry(m).map(|k| (k, Some(Vec::new()))));
        self.persist(&writes).map_err(Fault::from)
    }

    fn list_mimeis(&self) -> Result<Vec<proto_core::mimei::Mimei>, Fault> {
        let entries = self.load_prefix(b"mm/").map_err(Fault::from)?;
        // One that does not decode is skipped, not fatal: the rest stay usable.
        Ok(entries.into_iter().filter_map(|(_, v)| minicbor::decode(&v).ok()).collect())
    }

    fn authored_mimeis(&self, author: &proto_core::id::NodeId) -> Result<Vec<proto_core::mimei::Mimei>, Fault> {
        self.authored(author).map_err(Fault::from)
    }
}

impl proto_core::store::KvStore for Store {
    fn kv_get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, Fault> {
        let mut k = b"kv/".to_vec();
        k.extend_from_slice(key);
        let txn = self.env.read_txn().map_err(s)?;
        Ok(self.state.get(&txn, &k).map_err(s)?.map(<[u8]>::to_vec))
    }

    fn kv_put(&self, key: &[u8], value: Option<&[u8]>) -> Result<(), Fault> {
        let mut k = b"kv/".to_vec();
        k.extend_from_slice(key);
        self.persist(&[(k, value.map(<[u8]>::to_vec))]).map_err(Fault::from)
    }
}

impl proto_core::store::StateStore for Store {
    fn persist_state(&self, writes: &[(Vec<u8>, Option<Vec<u8>>)]) -> Result<(), Fault> {
        self.persist(writes).map_err(Fault::from)
    }
}

impl PinStore for Store {
    fn pin_add(&self, cid: &Cid) -> Result<(), Fault> {
        let w = |e: heed::Error| self.write_fault(&e, 64);
        let mut txn = self.env.write_txn().map_err(w)?;
        self.pins.put(&mut txn, &cid.to_bytes(), b"r").map_err(w)?;
        txn.commit().map_err(w)
    }

    fn pin_rm(&self, cid: &Cid) -> Result<bool, Fault> {
        let w = |e: heed::Error| self.write_fault(&e, 64);
        let mut txn = self.env.write_txn().map_err(w)?;
        let existed = self.pins.delete(&mut txn, &cid.to_bytes()).map_err(w)?;
        txn.commit().map_err(w)?;
        Ok(existed)
    }

    fn pin_ls(&self) -> Result<Vec<Cid>, Fault> {
        let txn = self.env.read_txn().map_err(s)?;
        let mut out = Vec::new();
        for item in self.pins.iter(&txn).map_err(s)? {
            let (k, _) = item.map_err(s)?;
            // A key that does not parse was not written by us; skip it rather than fail the list.
            if let Ok(cid) = Cid::from_bytes(k) {
                out.push(cid);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto_core::unixfs::file::import_bytes;
    use proto_core::unixfs::read::{BlockRead, FileCursor};
    use proto_core::unixfs::Profile;

    #[test]
    fn blocks_survive_reopen_and_verify() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..600_000u32).map(|i| (i % 251) as u8).collect();
        let (root, blocks) = import_bytes(Profile::UNIXFS_V0_2015, &data);
        {
            let store = Store::open(dir.path()).unwrap();
            store.put_blocks(&blocks).unwrap();
            store.pin_add(&root.cid).unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.block_count().unwrap(), blocks.len() as u64);
        assert_eq!(store.verify_all().unwrap(), (blocks.len() as u64, vec![]));
        assert_eq!(store.pin_ls().unwrap(), vec![root.cid.clone()]);
        // v1 of the same multihash finds the same block.
        assert!(store.get_block(&root.cid.to_v1()).unwrap().is_some());
        let mut cur = FileCursor::new(root.cid.clone(), 262_000, 300_000);
        let mut got = Vec::new();
        while let Some(p) = cur.next_piece(&store).unwrap() {
            got.extend(p);
        }
        assert_eq!(got, data[262_000..300_000]);
        assert!(store.pin_rm(&root.cid).unwrap());
        store
            .persist(&[
                (b"dht/a".to_vec(), Some(b"1".to_vec())),
                (b"dht/b".to_vec(), Some(b"2".to_vec())),
                (b"x".to_vec(), Some(vec![])),
            ])
            .unwrap();
        store.persist(&[(b"dht/a".to_vec(), None)]).unwrap();
        assert_eq!(store.load_prefix(b"dht/").unwrap(), vec![(b"dht/b".to_vec(), b"2".to_vec())]);
        assert!(!store.pin_rm(&root.cid).unwrap());
    }

    #[test]
    fn usage_counts_blocks_pages_and_the_disk() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let empty = store.usage().unwrap();
        assert_eq!(empty.blocks, 0);
        let data: Vec<u8> = (0..1_000_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        let (_, blocks) = import_bytes(Profile::UNIXFS_V0_2015, &data);
        store.put_blocks(&blocks).unwrap();
        let full = store.usage().unwrap();
        assert_eq!(full.blocks, blocks.len() as u64);
        // A million bytes of blocks take at least that many bytes of pages, in a file as large.
        assert!(full.used_bytes >= empty.used_bytes + 1_000_000, "{empty:?} {full:?}");
        assert!(full.file_bytes >= full.used_bytes && full.map_bytes >= full.file_bytes, "{full:?}");
        let disk = full.disk.expect("statvfs works here");
        assert!(disk.total > 0 && disk.avail <= disk.total);
        assert_eq!(store.dir(), dir.path());
    }
}
