//! The command line, as argh types. Command sets mirror the original (`lpki`, `ipfs`, …).

pub(crate) use crate::args_files::*;
pub(crate) use crate::args_ipfs::*;
pub(crate) use crate::args_lpki::*;
pub(crate) use crate::args_mimei::*;
use argh::FromArgs;

#[derive(FromArgs)]
/// leither: a tiny decentralized cloud OS node.
pub(crate) struct Top {
    /// repo directory (default: $LEITHER_PATH, else ~/.leither)
    #[argh(option)]
    pub repo: Option<String>,
    /// the node to talk to, as http://HOST:PORT (default: the node running on the repo)
    #[argh(option, short = 'n')]
    pub node: Option<String>,
    /// act as the holder of this passport (mimei, lapp: `-p FILE.ppt`), not with the repo's token
    #[argh(option)]
    pub ppt: Option<String>,
    /// with --ppt: the holder's key or certificate, to delegate signing to the node first
    #[argh(option)]
    pub key: Option<String>,
    #[argh(subcommand)]
    pub cmd: Cmd,
}

#[derive(FromArgs)]
#[argh(subcommand)]
pub(crate) enum Cmd {
    Init(Init),
    Run(Run),
    Stop(Stop),
    Lpki(Lpki),
    Ipfs(Ipfs),
    Files(FilesArgs),
    Sim(SimArgs),
    Swarm(Swarm),
    Dht(DhtArgs),
    Mimei(MimeiArgs),
    Lapp(LappArgs),
}

#[derive(FromArgs)]
/// web apps: upload, show, release, delete versions
#[argh(subcommand, name = "lapp")]
pub(crate) struct LappArgs {
    #[argh(subcommand)]
    pub cmd: LappCmd,
}

#[derive(FromArgs)]
#[argh(subcommand)]
pub(crate) enum LappCmd {
    Upload(LappUpload),
    Show(LappShow),
    Backup(LappBackup),
    Release(LappRelease),
    Restore(LappRestore),
    Delvers(LappDelvers),
    Setdomain(LappSetdomain),
}

#[derive(FromArgs)]
/// serve an app's template page for a host name on this node ("-a ''" removes the mapping)
#[argh(subcommand, name = "setdomain")]
pub(crate) struct LappSetdomain {
    /// the app id (or <mid>,<appid>)
    #[argh(option, short = 'a')]
    pub app: String,
    /// the host name
    #[argh(option, short = 'd')]
    pub domain: String,
}

#[derive(FromArgs)]
/// upload a directory of web files as the working copy of an app (-p DEV.ppt: the developer's)
#[argh(subcommand, name = "uploadapp")]
pub(crate) struct LappUpload {
    /// the directory (its index.html is the app's entry page; its name is the app's name)
    #[argh(option, short = 'i')]
    pub input: String,
    /// the app's name (default: the directory's name, or the passport's AppName), or its id
    #[argh(option, short = 'a')]
    pub app: Option<String>,
}

#[derive(FromArgs)]
/// make the app's working copy (cur) its next numbered version
#[argh(subcommand, name = "backup")]
pub(crate) struct LappBackup {
    /// the app: its name (the developer's, with -p) or its id
    #[argh(option, short = 'a')]
    pub app: String,
}

#[derive(FromArgs)]
/// copy a version of the app into its working copy (cur)
#[argh(subcommand, name = "restore")]
pub(crate) struct LappRestore {
    /// the app: its name (the developer's, with -p) or its id
    #[argh(option, short = 'a')]
    pub app: String,
    /// the version (a number, last or release)
    #[argh(option, short = 'v')]
    pub ver: String,
}

#[derive(FromArgs)]
/// the apps this node holds, one app's versions, or one version's files
#[argh(subcommand, name = "showapp")]
pub(crate) struct LappShow {
    /// the app: its name (the developer's, with -p) or its id (none: every app held here)
    #[argh(option, short = 'a')]
    pub app: Option<String>,
    /// a version (a number, cur, last or release): its CID and files
    #[argh(option, short = 'v')]
    pub ver: Option<String>,
}

#[derive(FromArgs)]
/// mark an app version as the release
#[argh(subcommand, name = "release")]
pub(crate) struct LappRelease {
    /// the app: its name (the developer's, with -p) or its id
    #[argh(option, short = 'a')]
    pub app: String,
    /// the version
    #[argh(option, short = 'v')]
    pub ver: String,
}

#[derive(FromArgs)]
/// delete app versions (not the released one)
#[argh(subcommand, name = "delvers")]
pub(crate) struct LappDelvers {
    /// the app: its name (the developer's, with -p) or its id
    #[argh(option, short = 'a')]
    pub app: String,
    /// versions, comma-separated
    #[argh(option, short = 'v')]
    pub vers: String,
}

#[derive(FromArgs)]
/// write the node's config file (and make its key) in the repo
#[argh(subcommand, name = "init")]
pub(crate) struct Init {
    /// HTTP port of the API and gateway (default 4800)
    #[argh(option, short = 'p')]
    pub port: Option<u16>,
    /// bootstrap node multiaddr (repeatable)
    #[argh(option, short = 'b')]
    pub bootstrap: Vec<String>,
    /// address to listen on (default 0.0.0.0)
    #[argh(option)]
    pub listen: Option<String>,
    /// TCP port for peers (default 4801; 0 = any free port)
    #[argh(option)]
    pub peer_port: Option<u16>,
    /// address for Redis clients (default 127.0.0.1:6379; "off" = no RESP endpoint)
    #[argh(option)]
    pub resp_addr: Option<String>,
}

#[derive(FromArgs)]
/// run the node in the foreground until `leither stop`
#[argh(subcommand, name = "run")]
pub(crate) struct Run {
    /// HTTP port for this run (overrides the config)
    #[argh(option, short = 'p')]
    pub port: Option<u16>,
    /// address to listen on for this run (overrides the config)
    #[argh(option)]
    pub listen: Option<String>,
    /// TCP port for peers for this run (overrides the config)
    #[argh(option)]
    pub peer_port: Option<u16>,
    /// bootstrap node multiaddr for this run (repeatable)
    #[argh(option, short = 'b')]
    pub bootstrap: Vec<String>,
    /// address for Redis clients for this run ("off" = none)
    #[argh(option)]
    pub resp_addr: Option<String>,
}

#[derive(FromArgs)]
/// stop the running node
#[argh(subcommand, name = "stop")]
pub(crate) struct Stop {}

#[derive(FromArgs)]
/// IPFS-compatible content
#[argh(subcommand, name = "ipfs")]
pub(crate) struct Ipfs {
    #[argh(subcommand)]
    pub cmd: IpfsCmd,
}

#[derive(FromArgs)]
#[argh(subcommand)]
pub(crate) enum IpfsCmd {
    Add(IpfsAdd),
    Cat(IpfsCat),
    Get(IpfsGet),
    Ls(IpfsLs),
    Pin(IpfsPin),
    Repo(IpfsRepo),
    Refs(IpfsRefs),
    Block(IpfsBlock),
    Dag(IpfsDag),
}

#[derive(FromArgs)]
/// the node's repo
#[argh(subcommand, name = "repo")]
pub(crate) struct IpfsRepo {
    #[argh(subcommand)]
    pub cmd: RepoCmd,
}

#[derive(FromArgs)]
#[argh(subcommand)]
pub(crate) enum RepoCmd {
    Stat(RepoStat),
    Gc(RepoGc),
    Ls(RepoLs),
}

#[derive(FromArgs)]
/// what the store holds and the free space on its disk, in bytes
#[argh(subcommand, name = "stat")]
pub(crate) struct RepoStat {}

#[derive(FromArgs)]
/// remove every block that no pin, MFS, MiMei version or app keeps
#[argh(subcommand, name = "gc")]
pub(crate) struct RepoGc {}

#[derive(FromArgs)]
/// list the roots the store keeps and what keeps each
#[argh(subcommand, name = "ls")]
pub(crate) struct RepoLs {}

#[derive(FromArgs)]
/// add a file (or a directory with -r); prints its CID
#[argh(subcommand, name = "add")]
pub(crate) struct IpfsAdd {
    /// the file or directory
    #[argh(positional)]
    pub path: String,
    /// add a directory tree
    #[argh(switch, short = 'r')]
    pub recursive: bool,
    /// include files whose names start with a dot
    #[argh(switch, short = 'H')]
    pub hidden: bool,
    /// CID version: 0 (kubo's unixfs-v0-2015, default) or 1 (unixfs-v1-2025)
    #[argh(option, default = "0")]
    pub cid_version: u8,
    /// compute the CID without storing anything
    #[argh(switch)]
    pub only_hash: bool,
    /// also put the added file or tree at this path of the node's file system (`files`)
    #[argh(option, short = 'o')]
    pub to_files: Option<String>,
}

#[derive(FromArgs)]
/// write a file's bytes to stdout
#[argh(subcommand, name = "cat")]
pub(crate) struct IpfsCat {
    /// CID or CID/path
    #[argh(positional)]
    pub cid: String,
}

#[derive(FromArgs)]
/// save a file or directory tree
#[argh(subcommand, name = "get")]
pub(crate) struct IpfsGet {
    /// CID or CID/path
    #[argh(positional)]
    pub cid: String,
    /// where to write it (default: ./<cid>)
    #[argh(option, short = 'o')]
    pub output: Option<String>,
}

#[derive(FromArgs)]
/// list a directory
#[argh(subcommand, name = "ls")]
pub(crate) struct IpfsLs {
    /// CID or CID/path
    #[argh(positional)]
    pub cid: String,
}

#[derive(FromArgs)]
/// pins: roots this node keeps
#[argh(subcommand, name = "pin")]
pub(crate) struct IpfsPin {
    #[argh(subcommand)]
    pub cmd: PinCmd,
}

#[derive(FromArgs)]
#[argh(subcommand)]
pub(crate) enum PinCmd {
    Add(PinAdd),
    Rm(PinRm),
    Ls(PinLs),
}

#[derive(FromArgs)]
/// pin a CID whose blocks are all on this node
#[argh(subcommand, name = "add")]
pub(crate) struct PinAdd {
    #[argh(positional)]
    /// the CID
    pub cid: String,
}

#[derive(FromArgs)]
/// remove a pin
#[argh(subcommand, name = "rm")]
pub(crate) struct PinRm {
    #[argh(positional)]
    /// the CID
    pub cid: String,
}

#[derive(FromArgs)]
/// list pins
#[argh(subcommand, name = "ls")]
pub(crate) struct PinLs {}

#[derive(FromArgs)]
/// run the deterministic network simulator and print a report
#[argh(subcommand, name = "sim")]
pub(crate) struct SimArgs {
    /// number of nodes (default 1000)
    #[argh(option, default = "1000")]
    pub nodes: usize,
    /// run seed (default: $SIM_SEED, else 1)
    #[argh(option)]
    pub seed: Option<u64>,
    /// run this many seeds from --seed on (default: $SIM_SEEDS, else 1)
    #[argh(option)]
    pub seeds: Option<u64>,
    /// message loss, 0.0 – 1.0
    #[argh(option, default = "0.0")]
    pub loss: f64,
    /// message duplication, 0.0 – 1.0
    #[argh(option, default = "0.0")]
    pub duplicate: f64,
    /// fraction of nodes that crash and restart during the run
    #[argh(option, default = "0.0")]
    pub churn: f64,
    /// fraction of nodes that crash for good a third into the run
    #[argh(option, default = "0.0")]
    pub crash: f64,
    /// findpeer lookups spread over the run (default 1000)
    #[argh(option, default = "1000")]
    pub lookups: usize,
    /// simulated duration, e.g. 600s, 10m, 24h (default 10m)
    #[argh(option, default = "String::from(\"10m\")")]
    pub duration: String,
    /// keys provided at the start and looked for at the end
    #[argh(option, default = "0")]
    pub providers: usize,
    /// signed records put at the start and read at the end
    #[argh(option, default = "0")]
    pub records: usize,
    /// split the network in two for the middle third of the run
    #[argh(switch)]
    pub partition: bool,
    /// bucket refresh interval, e.g. 15m (default 15m)
    #[argh(option, default = "String::from(\"15m\")")]
    pub refresh: String,
    /// files added on random nodes over the run, each fetched by another node through block
    /// exchange and compared byte for byte (runs on whole nodes)
    #[argh(option, default = "0")]
    pub files: usize,
    /// what each node runs: dht (the DHT core alone, fast), node (the whole node: sessions over
    /// simulated TCP, DHT, block exchange) or kad (the IPFS Kademlia DHT, /ipfs/kad/1.0.0: uses
    /// --nodes, --seed(s), --loss, --churn, --lookups, --providers, --duration); default dht, node
    /// with --files
    #[argh(option)]
    pub machine: Option<String>,
}

#[derive(FromArgs)]
/// peers of this node
#[argh(subcommand, name = "swarm")]
pub(crate) struct Swarm {
    #[argh(subcommand)]
    pub cmd: SwarmCmd,
}

#[derive(FromArgs)]
#[argh(subcommand)]
pub(crate) enum SwarmCmd {
    Local(SwarmLocal),
    Addrs(SwarmAddrs),
    Peers(SwarmPeers),
    Connect(SwarmConnect),
    Disconnect(SwarmDisconnect),
    Ping(SwarmPing),
}

#[derive(FromArgs)]
/// this node's peer addresses, as multiaddrs
#[argh(subcommand, name = "local")]
pub(crate) struct SwarmLocal {}

#[derive(FromArgs)]
/// known peers and their addresses
#[argh(subcommand, name = "addrs")]
pub(crate) struct SwarmAddrs {}

#[derive(FromArgs)]
/// peers with an open connection
#[argh(subcommand, name = "peers")]
pub(crate) struct SwarmPeers {}

#[derive(FromArgs)]
/// connect to a node by multiaddr (and join the DHT through it)
#[argh(subcommand, name = "connect")]
pub(crate) struct SwarmConnect {
    /// e.g. /ip4/192.168.1.5/tcp/4801
    #[argh(positional)]
    pub addr: String,
}

#[derive(FromArgs)]
/// ping a connected IPFS peer (libp2p ping)
#[argh(subcommand, name = "ping")]
pub(crate) struct SwarmPing {
    /// the peer's id (12D3KooW…, Qm…)
    #[argh(positional)]
    pub id: String,
}

#[derive(FromArgs)]
/// close the connection to a peer
#[argh(subcommand, name = "disconnect")]
pub(crate) struct SwarmDisconnect {
    /// the peer's node id
    #[argh(positional)]
    pub id: String,
}

#[derive(FromArgs)]
/// the distributed hash table
#[argh(subcommand, name = "dht")]
pub(crate) struct DhtArgs {
    #[argh(subcommand)]
    pub cmd: DhtCmd,
}

#[derive(FromArgs)]
#[argh(subcommand)]
pub(crate) enum DhtCmd {
    Findpeer(DhtFindpeer),
    Provide(DhtProvide),
    Findprovs(DhtFindprovs),
    Put(DhtPut),
    Get(DhtGet),
}

#[derive(FromArgs)]
/// the addresses of a node
#[argh(subcommand, name = "findpeer")]
pub(crate) struct DhtFindpeer {
    /// the node id
    #[argh(positional)]
    pub id: String,
}

#[derive(FromArgs)]
/// announce this node as a provider of a CID
#[argh(subcommand, name = "provide")]
pub(crate) struct DhtProvide {
    /// the CID
    #[argh(positional)]
    pub cid: String,
}

#[derive(FromArgs)]
/// nodes that provide a CID
#[argh(subcommand, name = "findprovs")]
pub(crate) struct DhtFindprovs {
    /// the CID
    #[argh(positional)]
    pub cid: String,
}

#[derive(FromArgs)]
/// MiMei: signed, versioned containers of files and databases
#[argh(subcommand, name = "mimei")]
pub(crate) struct MimeiArgs {
    #[argh(subcommand)]
    pub cmd: MimeiCmd,
}

#[derive(FromArgs)]
#[argh(subcommand)]
pub(crate) enum MimeiCmd {
    Create(MmCreate),
    Setcid(MmSetcid),
    Add(MmAdd),
    Get(MmGet),
    Release(MmRelease),
    Delvers(MmDelvers),
    Publish(MmPublish),
    Show(MmShow),
    Sync(MmSync),
    Provide(MmProvide),
    Findprovs(MmFindprovs),
    Db(MmDb),
    Backup(MmBackup),
    Restore(MmRestore),
    Sum(MmSum),
    Grep(MmGrep),
    Addref(MmAddref),
    Delref(MmDelref),
    Getref(MmGetref),
    Unpublish(MmUnpublish),
    Unprovide(MmUnprovide),
}

#[derive(FromArgs)]
/// run a Redis command on a DB MiMei: mimei db <mid> SET k v
#[argh(subcommand, name = "db")]
pub(crate) struct MmDb {
    /// version to read (default cur; numbered versions are read-only)
    #[argh(option, short = 'v', default = "String::from(\"cur\")")]
    pub ver: String,
    #[argh(positional)]
    /// the DB MiMei
    pub mid: String,
    #[argh(positional, greedy)]
    /// the command and its arguments
    pub words: Vec<String>,
}

#[derive(FromArgs)]
/// snapshot a DB MiMei's current data into a new numbered version
#[argh(subcommand, name = "backup")]
pub(crate) struct MmBackup {
    #[argh(positional)]
    /// the DB MiMei
    pub mid: String,
    /// a note kept with the version
    #[argh(option, short = 'm', default = "String::new()")]
    pub memo: String,
}

#[derive(FromArgs)]
/// copy a numbered version back into cur (a database's data, or a file MiMei's working copy)
#[argh(subcommand, name = "restore")]
pub(crate) struct MmRestore {
    #[argh(positional)]
    /// the MiMei
    pub mid: String,
    #[argh(positional)]
    /// the version (a number, last or release)
    pub ver: String,
}

#[derive(FromArgs)]
/// digest of a DB MiMei version (SHA-256 of its snapshot)
#[argh(subcommand, name = "sum")]
pub(crate) struct MmSum {
    #[argh(positional)]
    /// the DB MiMei
    pub mid: String,
    #[argh(positional, default = "String::from(\"cur\")")]
    /// the version (default cur)
    pub ver: String,
}

#[derive(FromArgs)]
/// dump a DB MiMei version's data by type
#[argh(subcommand, name = "grep")]
pub(crate) struct MmGrep {
    #[argh(positional)]
    /// the DB MiMei
    pub mid: String,
    #[argh(positional, default = "String::from(\"cur\")")]
    /// the version (default cur)
    pub ver: String,
    /// only keys matching this glob pattern
    #[argh(option, short = 'm', default = "String::from(\"*\")")]
    pub r#match: String,
}

#[derive(FromArgs)]
/// create a MiMei (the same inputs give the same mid)
#[argh(subcommand, name = "create")]
pub(crate) struct MmCreate {
    /// its default app id
    #[argh(option, short = 'a', default = "String::new()")]
    pub appid: String,
    /// a mark; none makes a fresh unique one
    #[argh(option, short = 'm', default = "String::new()")]
    pub mark: String,
    /// an extension (the content's kind)
    #[argh(option, short = 'e', default = "String::new()")]
    pub ext: String,
    /// a database MiMei instead of a file
    #[argh(switch)]
    pub db: bool,
}

#[derive(FromArgs)]
/// point a new version at a CID
#[argh(subcommand, name = "setcid")]
pub(crate) struct MmSetcid {
    #[argh(positional)]
    /// the MiMei
    pub mid: String,
    #[argh(positional)]
    /// the CID
    pub cid: String,
}

#[derive(FromArgs)]
/// add a file to IPFS and make it a new version
#[argh(subcommand, name = "add")]
pub(crate) struct MmAdd {
    #[argh(positional)]
    /// the MiMei
    pub mid: String,
    #[argh(positional)]
    /// the file
    pub file: String,
}

#[derive(FromArgs)]
/// print the content of a version (default: the newest)
#[argh(subcommand, name = "get")]
pub(crate) struct MmGet {
    #[argh(positional)]
    /// the MiMei
    pub mid: String,
    #[argh(positional)]
    /// a number, cur, last or release
    pub ver: Option<String>,
}

#[derive(FromArgs)]
/// mark a version as the release
#[argh(subcommand, name = "release")]
pub(crate) struct MmRelease {
    #[argh(positional)]
    /// the MiMei
    pub mid: String,
    #[argh(positional)]
    /// the version
    pub ver: String,
}

#[derive(FromArgs)]
/// delete versions (not the released one)
#[argh(subcommand, name = "delvers")]
pub(crate) struct MmDelvers {
    #[argh(positional)]
    /// the MiMei
    pub mid: String,
    #[argh(positional)]
    /// the versions
    pub vers: Vec<String>,
}

#[derive(FromArgs)]
/// publish the signed head on the DHT (EOL 168 h)
#[argh(subcommand, name = "publish")]
pub(crate) struct MmPublish {
    #[argh(positional)]
    /// the MiMei
    pub mid: String,
}

#[derive(FromArgs)]
/// show the MiMei here and on the network, and conflicts
#[argh(subcommand, name = "show")]
pub(crate) struct MmShow {
    #[argh(positional)]
    /// the MiMei
    pub mid: String,
}

#[derive(FromArgs)]
/// copy a published MiMei (head, versions, content) to this node
#[argh(subcommand, name = "sync")]
pub(crate) struct MmSync {
    #[argh(positional)]
    /// the MiMei
    pub mid: String,
}

#[derive(FromArgs)]
/// hold all of a MiMei's data and announce it
#[argh(subcommand, name = "provide")]
pub(crate) struct MmProvide {
    #[argh(positional)]
    /// the MiMei
    pub mid: String,
}

#[derive(FromArgs)]
/// nodes that provide a MiMei
#[argh(subcommand, name = "findprovs")]
pub(crate) struct MmFindprovs {
    #[argh(positional)]
    /// the MiMei
    pub mid: String,
}
