//! `leither ipfs refs | block | dag`: blocks and DAGs as kubo shows them; `leither dht put|get`.

use argh::FromArgs;

#[derive(FromArgs)]
/// list the links below a CID (all of them with -r)
#[argh(subcommand, name = "refs")]
pub(crate) struct IpfsRefs {
    /// CID or CID/path
    #[argh(positional)]
    pub cid: String,
    /// every link below, not only the first level
    #[argh(switch, short = 'r')]
    pub recursive: bool,
    /// each CID once
    #[argh(switch, short = 'u')]
    pub unique: bool,
}

#[derive(FromArgs)]
/// single blocks: get, put, stat
#[argh(subcommand, name = "block")]
pub(crate) struct IpfsBlock {
    #[argh(subcommand)]
    pub cmd: BlockCmd,
}

#[derive(FromArgs)]
#[argh(subcommand)]
pub(crate) enum BlockCmd {
    Get(BlockGet),
    Put(BlockPut),
    Stat(BlockStat),
}

#[derive(FromArgs)]
/// write a block's bytes to stdout
#[argh(subcommand, name = "get")]
pub(crate) struct BlockGet {
    /// the CID
    #[argh(positional)]
    pub cid: String,
}

#[derive(FromArgs)]
/// store a file's bytes as one block; prints its CID (v1)
#[argh(subcommand, name = "put")]
pub(crate) struct BlockPut {
    /// the file
    #[argh(positional)]
    pub file: String,
    /// raw (default) or dag-pb
    #[argh(option, default = "String::from(\"raw\")")]
    pub format: String,
}

#[derive(FromArgs)]
/// a block's CID and size
#[argh(subcommand, name = "stat")]
pub(crate) struct BlockStat {
    /// the CID
    #[argh(positional)]
    pub cid: String,
}

#[derive(FromArgs)]
/// DAG nodes: get (as dag-json), stat
#[argh(subcommand, name = "dag")]
pub(crate) struct IpfsDag {
    #[argh(subcommand)]
    pub cmd: DagCmd,
}

#[derive(FromArgs)]
#[argh(subcommand)]
pub(crate) enum DagCmd {
    Get(DagGet),
    Stat(DagStat),
}

#[derive(FromArgs)]
/// print a node as dag-json
#[argh(subcommand, name = "get")]
pub(crate) struct DagGet {
    /// CID or CID/path
    #[argh(positional)]
    pub cid: String,
}

#[derive(FromArgs)]
/// blocks and bytes of the whole DAG
#[argh(subcommand, name = "stat")]
pub(crate) struct DagStat {
    /// CID or CID/path
    #[argh(positional)]
    pub cid: String,
}

#[derive(FromArgs)]
/// store a value on the DHT under KEY, signed by this node; prints the record key
#[argh(subcommand, name = "put")]
pub(crate) struct DhtPut {
    /// the key
    #[argh(positional)]
    pub key: String,
    /// the value
    #[argh(positional)]
    pub value: String,
}

#[derive(FromArgs)]
/// read a value from the DHT: a record key from dht put, or this node's KEY
#[argh(subcommand, name = "get")]
pub(crate) struct DhtGet {
    /// the key
    #[argh(positional)]
    pub key: String,
}
