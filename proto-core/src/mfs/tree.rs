//! The MFS operations: every change walks the path from the root, changes one entry and rebuilds
//! the directories above it.

use super::{profile_for, FileWriter, MfsError, MfsPath, Source};
use crate::cid::{Cid, Version};
use crate::store::{BlockRead, BlockWrite};
use crate::unixfs::dir::DirBuilder;
use crate::unixfs::read::{self, Entry, Kind, Node, ReadError};

/// What `files stat` shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatInfo {
    pub hash: Cid,
    /// A file's size in bytes (0 for a directory).
    pub size: u64,
    /// Bytes of every block of the DAG (the node's own and its links' `Tsize`).
    pub cumulative_size: u64,
    /// Links of the node itself.
    pub blocks: u64,
    pub kind: Kind,
}

/// One entry of `files ls`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LsEntry {
    pub name: String,
    pub hash: Cid,
    pub size: u64,
    pub kind: Kind,
}

/// What a change does to the entry at the end of a path.
enum Change {
    Keep,
    Remove,
    Set(Cid, u64),
}

/// Decides the change at the end of a path, from the entry there and its directory's CID version.
type Changer<'f> = dyn FnMut(Option<&Entry>, Version) -> Result<Change, MfsError> + 'f;

/// The file system over `store`, at `root`. Operations change `root`; the caller keeps it.
pub struct Mfs<'a, S: ?Sized> {
    store: &'a S,
    root: Cid,
}

impl<'a, S: BlockRead + BlockWrite + ?Sized> Mfs<'a, S> {
    /// The file system at `root`, or an empty one (its root block is stored).
    pub fn open(store: &'a S, root: Option<Cid>) -> Result<Self, MfsError> {
        let root = match root {
            Some(r) => r,
            None => empty_dir(store, Version::V0)?,
        };
        Ok(Mfs { store, root })
    }

    pub fn root(&self) -> &Cid {
        &self.root
    }

    /// The CID at `p`.
    pub fn resolve(&self, p: &MfsPath) -> Result<Cid, MfsError> {
        let mut cur = self.root.clone();
        for (i, seg) in p.segs.iter().enumerate() {
            cur = read::lookup(self.store, &cur, seg.as_bytes()).map_err(|e| at(e, p, i))?;
        }
        Ok(cur)
    }

    pub fn stat(&self, p: &MfsPath) -> Result<StatInfo, MfsError> {
        stat_cid(self.store, &self.resolve(p)?)
    }

    /// A directory's entries (sorted by name), or the one entry of a file.
    pub fn ls(&self, p: &MfsPath) -> Result<Vec<LsEntry>, MfsError> {
        let cid = self.resolve(p)?;
        let st = stat_cid(self.store, &cid)?;
        if st.kind != Kind::Directory {
            return Ok(vec![LsEntry { name: p.name().to_string(), hash: cid, size: st.size, kind: st.kind }]);
        }
        let mut out = Vec::new();
        for e in read::list(self.store, &cid)? {
            let st = stat_cid(self.store, &e.cid)?;
            out.push(LsEntry {
                name: String::from_utf8_lossy(&e.name).into_owned(),
                hash: e.cid,
                size: st.size,
                kind: st.kind,
            });
        }
        Ok(out)
    }

    /// `files mkdir [-p]`: a new empty directory; its CID version is `version`, else its parent's.
    pub fn mkdir(&mut self, p: &MfsPath, parents: bool, version: Option<Version>) -> Result<(), MfsError> {
        if p.is_root() {
            return if parents { Ok(()) } else { Err(MfsError::Exists(p.display())) };
        }
        let store = self.store;
        self.change(p, parents, &mut |old, parent_version| match old {
            Some(e) if parents && stat_cid(store, &e.cid)?.kind == Kind::Directory => Ok(Change::Keep),
            Some(_) => Err(MfsError::Exists(p.display())),
            None => {
                let cid = empty_dir(store, version.unwrap_or(parent_version))?;
                let tsize = stat_cid(store, &cid)?.cumulative_size;
                Ok(Change::Set(cid, tsize))
            }
        })
    }

    /// Puts `cid` (of `tsize` bytes in all) at `p`; an existing entry is replaced only when
    /// `overwrite` is set.
    pub fn put(&mut self, p: &MfsPath, cid: &Cid, tsize: u64, parents: bool, overwrite: bool) -> Result<(), MfsError> {
        if p.is_root() {
            return Err(MfsError::Refused("cannot replace the root directory".into()));
        }
        self.change(p, parents, &mut |old, _| match old {
            Some(_) if !overwrite => Err(MfsError::Exists(p.display())),
            _ => Ok(Change::Set(cid.clone(), tsize)),
        })
    }

    /// `files cp SRC DST`: a destination ending in `/` is a directory that gets SRC's name.
    pub fn cp(&mut self, src: &Source, dst: &MfsPath, parents: bool) -> Result<(), MfsError> {
        let cid = match src {
            Source::Ipfs(cid, sub) => read::resolve(self.store, cid, sub)?,
            Source::Mfs(p) => self.resolve(p)?,
        };
        let tsize = stat_cid(self.store, &cid)?.cumulative_size;
        let dst = if dst.trailing_slash { dst.join(&src.name()) } else { dst.clone() };
        self.put(&dst, &cid, tsize, parents, false)
    }

    /// `files mv SRC DST`: into DST when it is a directory, else to DST, which must not exist.
    pub fn mv(&mut self, src: &MfsPath, dst: &MfsPath) -> Result<(), MfsError> {
        if src.is_root() {
            return Err(MfsError::Refused("cannot move the root directory".into()));
        }
        let cid = self.resolve(src)?;
        let mut dst = dst.clone();
        match self.resolve(&dst) {
            Ok(d) if dst.trailing_slash || stat_cid(self.store, &d)?.kind == Kind::Directory => {
                dst = dst.join(src.name())
            }
            Ok(_) => return Err(MfsError::Exists(dst.display())),
            Err(MfsError::NotFound(_)) if !dst.trailing_slash => {}
            Err(e) => return Err(e),
        }
        if dst == *src {
            return Ok(());
        }
        if src.contains(&dst) {
            return Err(MfsError::Refused(format!("cannot move {} into itself", src.display())));
        }
        let tsize = stat_cid(self.store, &cid)?.cumulative_size;
        self.put(&dst, &cid, tsize, false, false)?;
        self.rm(src, true, false)
    }

    /// `files rm [-r] [--force]`.
    pub fn rm(&mut self, p: &MfsPath, recursive: bool, force: bool) -> Result<(), MfsError> {
        if p.is_root() {
            return Err(MfsError::Refused("cannot delete root".into()));
        }
        let store = self.store;
        let r = self.change(p, false, &mut |old, _| match old {
            None if force => Ok(Change::Keep),
            None => Err(MfsError::NotFound(p.display())),
            Some(e) if !recursive && stat_cid(store, &e.cid)?.kind == Kind::Directory => {
                Err(MfsError::Refused(format!("{} is a directory, use -r to remove directories", p.display())))
            }
            Some(_) => Ok(Change::Remove),
        });
        match r {
            Err(MfsError::NotFound(_)) if force => Ok(()),
            r => r,
        }
    }

    /// `files chcid --cid-version V`: the directory at `p` rebuilt with CIDs of version `v`.
    pub fn chcid(&mut self, p: &MfsPath, v: Version) -> Result<(), MfsError> {
        let cid = self.resolve(p)?;
        let entries = read::list(self.store, &cid).map_err(|e| match e {
            ReadError::NotADirectory(_) => MfsError::NotADirectory(p.display()),
            e => e.into(),
        })?;
        let (new, tsize) = build_dir(self.store, v, entries)?;
        if p.is_root() {
            self.root = new;
            return Ok(());
        }
        self.put(p, &new, tsize, false, true)
    }

    /// Starts `files write` at `p`: the file there (or a new one with `create`), its bytes from
    /// `offset` on replaced by what is pushed; `truncate` empties it first.
    pub fn write_begin(
        &self,
        p: &MfsPath,
        offset: u64,
        create: bool,
        truncate: bool,
        parents: bool,
    ) -> Result<FileWriter, MfsError> {
        if p.is_root() {
            return Err(MfsError::IsADirectory(p.display()));
        }
        let parent = MfsPath { segs: p.segs[..p.segs.len() - 1].to_vec(), trailing_slash: false };
        let version = match self.resolve(&parent) {
            Ok(c) => c.version(),
            Err(MfsError::NotFound(_)) if parents && create => self.root.version(),
            Err(e) => return Err(e),
        };
        let old = match self.resolve(p) {
            Ok(c) if stat_cid(self.store, &c)?.kind == Kind::Directory => {
                return Err(MfsError::IsADirectory(p.display()))
            }
            Ok(c) => Some(c),
            Err(MfsError::NotFound(_)) if create => None,
            Err(e) => return Err(e),
        };
        FileWriter::begin(self.store, old, offset, truncate, profile_for(version))
    }

    /// Ends `files write`: the written file goes to `p`.
    pub fn write_finish(&mut self, p: &MfsPath, w: FileWriter, parents: bool) -> Result<(), MfsError> {
        let info = w.finish(self.store)?;
        self.put(p, &info.cid, info.tsize, parents, true)
    }

    /// Applies `f` to the entry at `p` and rebuilds the directories above it.
    fn change(&mut self, p: &MfsPath, parents: bool, f: &mut Changer<'_>) -> Result<(), MfsError> {
        let root = self.root.clone();
        if let Some((cid, _)) = self.change_in(&root, p, 0, parents, f)? {
            self.root = cid;
        }
        Ok(())
    }

    fn change_in(
        &self,
        dir: &Cid,
        p: &MfsPath,
        depth: usize,
        parents: bool,
        f: &mut Changer<'_>,
    ) -> Result<Option<(Cid, u64)>, MfsError> {
        let mut entries = read::list(self.store, dir).map_err(|e| match e {
            ReadError::NotADirectory(_) => MfsError::NotADirectory(prefix(p, depth)),
            e => e.into(),
        })?;
        let name = p.segs[depth].as_bytes();
        let pos = entries.binary_search_by(|e| e.name.as_slice().cmp(name));
        let change = if depth + 1 == p.segs.len() {
            f(pos.ok().map(|i| &entries[i]), dir.version())?
        } else {
            let child = match pos {
                Ok(i) => entries[i].cid.clone(),
                Err(_) if parents => empty_dir(self.store, dir.version())?,
                Err(_) => return Err(MfsError::NotFound(prefix(p, depth + 1))),
            };
            match self.change_in(&child, p, depth + 1, parents, f)? {
                None => Change::Keep,
                Some((cid, tsize)) => Change::Set(cid, tsize),
            }
        };
        match (change, pos) {
            (Change::Keep, _) | (Change::Remove, Err(_)) => return Ok(None),
            (Change::Remove, Ok(i)) => {
                entries.remove(i);
            }
            (Change::Set(cid, tsize), Ok(i)) => entries[i] = Entry { name: name.to_vec(), cid, tsize },
            (Change::Set(cid, tsize), Err(i)) => entries.insert(i, Entry { name: name.to_vec(), cid, tsize }),
        }
        Ok(Some(build_dir(self.store, dir.version(), entries)?))
    }
}

/// The path's first `n` segments, for errors.
fn prefix(p: &MfsPath, n: usize) -> String {
    MfsPath { segs: p.segs[..n].to_vec(), trailing_slash: false }.display()
}

/// A lookup error at segment `i` of `p`, named by the path.
fn at(e: ReadError, p: &MfsPath, i: usize) -> MfsError {
    match e {
        ReadError::NotFound(_) => MfsError::NotFound(prefix(p, i + 1)),
        ReadError::NotADirectory(_) => MfsError::NotADirectory(prefix(p, i)),
        e => e.into(),
    }
}

/// Encodes a directory of `entries` and stores its blocks: its CID and cumulative size.
fn build_dir<S: BlockWrite + ?Sized>(store: &S, v: Version, entries: Vec<Entry>) -> Result<(Cid, u64), MfsError> {
    let mut b = DirBuilder::new(profile_for(v));
    for e in entries {
        b.insert(&e.name, e.cid, e.tsize);
    }
    let mut out = Vec::new();
    let root = b.build(&mut out);
    store.put_blocks(&out)?;
    Ok((root.cid, root.tsize))
}

fn empty_dir<S: BlockWrite + ?Sized>(store: &S, v: Version) -> Result<Cid, MfsError> {
    Ok(build_dir(store, v, Vec::new())?.0)
}

/// What `files stat` shows of any CID in the store.
pub(super) fn stat_cid<S: BlockRead + ?Sized>(store: &S, cid: &Cid) -> Result<StatInfo, MfsError> {
    let bytes = read::load(store, cid)?;
    let len = bytes.len() as u64;
    let node = read::decode(cid, bytes)?;
    let st = read::stat_node(cid, &node)?;
    let (links, linked) = match &node {
        Node::Raw(_) => (0, 0),
        Node::Pb(pb, _) => (pb.links.len() as u64, pb.links.iter().map(|l| l.tsize).sum()),
    };
    let size = if st.kind == Kind::Directory { 0 } else { st.size };
    Ok(StatInfo { hash: cid.clone(), size, cumulative_size: len + linked, blocks: links, kind: st.kind })
}
