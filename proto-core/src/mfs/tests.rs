//! Trees made with MFS operations against the root CIDs real kubo 0.22 gives when it adds the
//! same trees from disk (`ipfs add -r`, default options).

use super::*;
use crate::cid::{Cid, Version};
use crate::store::{BlockWrite, MemStore};
use crate::unixfs::dir::DirBuilder;
use crate::unixfs::file::import_bytes;
use crate::unixfs::read::{read_all, Kind};

/// kubo: a.txt = "hello\n", sub/b.txt = "world\n".
const SMALL_TREE: &str = "QmUKpBKnu8nKiSJM45JTicuDhqwR7XuXZ6dn1HdHZdrgVa";
/// kubo: big/data.bin, 600,000 bytes of (i·7 + 3) mod 251.
const BIG_FILE_DIR: &str = "Qmf5CvndJwEQk3eghBEfF3VFS2XwvcGeApssjXswYx19rK";
/// kubo: entry-number-00000.txt … entry-number-04680.txt, each holding "i\n": a basic directory.
const DIR_4681: &str = "QmePkkjpyPeoZ2Fo4aJADrkCNFx8TkGDa2VvkCtpqfE2cq";
/// The same with one more entry: past the links-bytes threshold, a HAMT shard.
const DIR_4682: &str = "QmQ2Nt8cM2YZf2xdzftdGWqtxH9dyjjU28s2DwU657XyWV";
const EMPTY_DIR: &str = "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn";

fn p(text: &str) -> MfsPath {
    MfsPath::parse(text).unwrap()
}

fn write(m: &mut Mfs<MemStore>, store: &MemStore, path: &str, offset: u64, data: &[u8], create: bool) {
    write_with(m, store, path, offset, data, create, false)
}

fn write_with(
    m: &mut Mfs<MemStore>,
    store: &MemStore,
    path: &str,
    offset: u64,
    data: &[u8],
    create: bool,
    truncate: bool,
) {
    let mut w = m.write_begin(&p(path), offset, create, truncate, false).unwrap();
    w.push(store, data).unwrap();
    m.write_finish(&p(path), w, false).unwrap();
}

fn entry_name(i: usize) -> String {
    format!("entry-number-{i:05}.txt")
}

/// A directory of `n` entries imported into the store (setup for the shard tests).
fn imported_dir(store: &MemStore, n: usize) -> Cid {
    let mut d = DirBuilder::new(Profile::UNIXFS_V0_2015);
    for i in 0..n {
        let (info, blocks) = import_bytes(Profile::UNIXFS_V0_2015, format!("{i}\n").as_bytes());
        store.put_blocks(&blocks).unwrap();
        d.insert(entry_name(i).as_bytes(), info.cid, info.tsize);
    }
    let mut out = Vec::new();
    let root = d.build(&mut out);
    store.put_blocks(&out).unwrap();
    root.cid
}

#[test]
fn an_empty_mfs_is_the_empty_directory() {
    let store = MemStore::default();
    let m = Mfs::open(&store, None).unwrap();
    assert_eq!(m.root().to_string(), EMPTY_DIR);
    assert!(m.ls(&p("/")).unwrap().is_empty());
    let st = m.stat(&p("/")).unwrap();
    assert_eq!((st.kind, st.size, st.cumulative_size, st.blocks), (Kind::Directory, 0, 4, 0));
}

#[test]
fn a_small_tree_equals_kubos_add_whatever_the_order_of_operations() {
    let store = MemStore::default();
    let mut m = Mfs::open(&store, None).unwrap();
    m.mkdir(&p("/sub"), false, None).unwrap();
    write(&mut m, &store, "/a.txt", 0, b"hello\n", true);
    write(&mut m, &store, "/sub/b.txt", 0, b"world\n", true);
    assert_eq!(m.root().to_string(), SMALL_TREE);

    // Another way to the same tree: parents made by write, a detour through mv, cp and rm.
    let mut m = Mfs::open(&store, None).unwrap();
    write(&mut m, &store, "/tmp.txt", 0, b"world\n", true);
    m.mkdir(&p("/x/y"), true, None).unwrap();
    m.mv(&p("/tmp.txt"), &p("/x/y/")).unwrap();
    m.mv(&p("/x/y"), &p("/sub")).unwrap();
    m.mv(&p("/sub/tmp.txt"), &p("/sub/b.txt")).unwrap();
    m.cp(&Source::parse("/sub/b.txt").unwrap(), &p("/a.txt"), false).unwrap();
    write(&mut m, &store, "/a.txt", 0, b"hello\n", false);
    m.rm(&p("/x"), true, false).unwrap();
    assert_eq!(m.root().to_string(), SMALL_TREE);
    assert_eq!(m.ls(&p("/")).unwrap().iter().map(|e| e.name.as_str()).collect::<Vec<_>>(), ["a.txt", "sub"]);
    let b = m.resolve(&p("/sub/b.txt")).unwrap();
    assert_eq!(read_all(&store, &b, u64::MAX).unwrap(), b"world\n");
}

#[test]
fn writes_at_offsets_give_the_file_an_add_of_its_bytes_gives() {
    let data: Vec<u8> = (0..600_000u64).map(|i| ((i * 7 + 3) % 251) as u8).collect();
    let store = MemStore::default();
    let mut m = Mfs::open(&store, None).unwrap();
    m.mkdir(&p("/big"), false, None).unwrap();
    write(&mut m, &store, "/big/data.bin", 0, &data[..300_000], true);
    write(&mut m, &store, "/big/data.bin", 300_000, &data[300_000..], false);
    // Overwrite the middle, then put the right bytes back.
    write(&mut m, &store, "/big/data.bin", 100_000, &[0xee; 1000], false);
    assert_ne!(m.resolve(&p("/big")).unwrap().to_string(), BIG_FILE_DIR);
    write(&mut m, &store, "/big/data.bin", 100_000, &data[100_000..101_000], false);
    assert_eq!(m.resolve(&p("/big")).unwrap().to_string(), BIG_FILE_DIR);
    let st = m.stat(&p("/big/data.bin")).unwrap();
    assert_eq!((st.kind, st.size, st.blocks), (Kind::File, 600_000, 3));
    // A write past the end leaves zeros between; truncate empties the file first.
    write(&mut m, &store, "/gap", 3, b"x", true);
    assert_eq!(read_all(&store, &m.resolve(&p("/gap")).unwrap(), 10).unwrap(), b"\0\0\0x");
    write_with(&mut m, &store, "/big/data.bin", 0, b"short", false, true);
    assert_eq!(m.stat(&p("/big/data.bin")).unwrap().size, 5);
}

#[test]
fn a_directory_shards_past_the_threshold_and_unshards_below_it() {
    let store = MemStore::default();
    assert_eq!(imported_dir(&store, 4682).to_string(), DIR_4682);
    let base = imported_dir(&store, 4681);
    assert_eq!(base.to_string(), DIR_4681);
    let mut m = Mfs::open(&store, None).unwrap();
    m.cp(&Source::Ipfs(base, String::new()), &p("/d"), false).unwrap();
    let last = format!("/d/{}", entry_name(4681));
    write(&mut m, &store, &last, 0, b"4681\n", true);
    assert_eq!(m.resolve(&p("/d")).unwrap().to_string(), DIR_4682);
    assert_eq!(m.ls(&p("/d")).unwrap().len(), 4682);
    // Changes inside the shard keep it equal to kubo's; removing the entry makes it basic again.
    write(&mut m, &store, &format!("/d/{}", entry_name(7)), 0, b"changed\n", false);
    write_with(&mut m, &store, &format!("/d/{}", entry_name(7)), 0, b"7\n", false, true);
    assert_eq!(m.resolve(&p("/d")).unwrap().to_string(), DIR_4682);
    let st = m.stat(&p(&last)).unwrap();
    assert_eq!((st.kind, st.size), (Kind::File, 5));
    m.rm(&p(&last), false, false).unwrap();
    assert_eq!(m.resolve(&p("/d")).unwrap().to_string(), DIR_4681);
}

#[test]
fn errors_name_the_path() {
    let store = MemStore::default();
    let mut m = Mfs::open(&store, None).unwrap();
    write(&mut m, &store, "/f", 0, b"1", true);
    let err = |r: Result<(), MfsError>| r.unwrap_err().to_string();
    assert_eq!(err(m.mkdir(&p("/a/b"), false, None)), "/a: file does not exist");
    assert_eq!(err(m.mkdir(&p("/f"), false, None)), "/f: file already exists");
    assert_eq!(err(m.mkdir(&p("/f/x"), true, None)), "/f is not a directory");
    assert_eq!(err(m.rm(&p("/nope"), false, false)), "/nope: file does not exist");
    m.rm(&p("/nope/deeper"), false, true).unwrap();
    m.mkdir(&p("/d"), false, None).unwrap();
    assert_eq!(err(m.rm(&p("/d"), false, false)), "/d is a directory, use -r to remove directories");
    assert_eq!(err(m.rm(&p("/"), true, false)), "cannot delete root");
    assert_eq!(err(m.cp(&Source::parse("/f").unwrap(), &p("/d"), false)), "/d: file already exists");
    assert_eq!(err(m.mv(&p("/d"), &p("/d/inner"))), "cannot move /d into itself");
    m.mkdir(&p("/d/inner"), false, None).unwrap();
    assert_eq!(err(m.mv(&p("/d"), &p("/d/inner"))), "cannot move /d into itself");
    assert_eq!(err(m.mv(&p("/d"), &p("/f"))), "/f: file already exists");
    assert!(matches!(m.write_begin(&p("/d"), 0, true, false, false), Err(MfsError::IsADirectory(_))));
    assert!(matches!(m.write_begin(&p("/new"), 0, false, false, false), Err(MfsError::NotFound(_))));
    let missing = Cid::parse("QmWvY6FaqFMS89YAQ9NAPjVP4WZKA1qbHbicc9HeSKQTgt").unwrap();
    let e = err(m.cp(&Source::Ipfs(missing, String::new()), &p("/m"), false));
    assert_eq!(e, "block QmWvY6FaqFMS89YAQ9NAPjVP4WZKA1qbHbicc9HeSKQTgt is not available on this node");
}

#[test]
fn chcid_rebuilds_a_directory_with_cidv1_and_new_directories_inherit_it() {
    let store = MemStore::default();
    let mut m = Mfs::open(&store, None).unwrap();
    m.mkdir(&p("/d"), false, None).unwrap();
    m.chcid(&p("/d"), Version::V1).unwrap();
    let d = m.resolve(&p("/d")).unwrap();
    assert_eq!(d.to_string(), "bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354");
    m.mkdir(&p("/d/e"), false, None).unwrap();
    assert_eq!(m.resolve(&p("/d/e")).unwrap().version(), Version::V1);
    assert_eq!(m.root().version(), Version::V0);
    m.chcid(&p("/"), Version::V1).unwrap();
    assert_eq!(m.root().version(), Version::V1);
}
