//! `leither files …`: the node's mutable file system, as kubo's `ipfs files` (paths start with
//! `/`; the original's `files://dir/f` and `files/dir/f` forms work too).

use argh::FromArgs;

#[derive(FromArgs)]
/// the node's file system (kubo's MFS): ls, stat, mkdir, cp, mv, rm, write, read, flush, chcid
#[argh(subcommand, name = "files")]
pub(crate) struct FilesArgs {
    #[argh(subcommand)]
    pub cmd: FilesCmd,
}

#[derive(FromArgs)]
#[argh(subcommand)]
pub(crate) enum FilesCmd {
    Ls(FilesLs),
    Stat(FilesStat),
    Mkdir(FilesMkdir),
    Cp(FilesCp),
    Mv(FilesMv),
    Rm(FilesRm),
    Write(FilesWrite),
    Read(FilesRead),
    Flush(FilesFlush),
    Chcid(FilesChcid),
}

#[derive(FromArgs)]
/// list a directory (default /)
#[argh(subcommand, name = "ls")]
pub(crate) struct FilesLs {
    /// the directory or file
    #[argh(positional, default = "String::from(\"/\")")]
    pub path: String,
    /// also print each entry's hash and size
    #[argh(switch, short = 'l')]
    pub long: bool,
}

#[derive(FromArgs)]
/// show a file's or directory's hash, sizes, blocks and type
#[argh(subcommand, name = "stat")]
pub(crate) struct FilesStat {
    /// the path
    #[argh(positional)]
    pub path: String,
    /// print only the hash
    #[argh(switch)]
    pub hash: bool,
}

#[derive(FromArgs)]
/// make a directory
#[argh(subcommand, name = "mkdir")]
pub(crate) struct FilesMkdir {
    /// the path
    #[argh(positional)]
    pub path: String,
    /// make the parents too; no error if it exists
    #[argh(switch, short = 'p')]
    pub parents: bool,
    /// CID version of the new directory (default: its parent's)
    #[argh(option)]
    pub cid_version: Option<u8>,
}

#[derive(FromArgs)]
/// copy /ipfs/CID[/path] or a file system path to a path (ending in / = into that directory)
#[argh(subcommand, name = "cp")]
pub(crate) struct FilesCp {
    /// what to copy
    #[argh(positional)]
    pub src: String,
    /// where to
    #[argh(positional)]
    pub dst: String,
    /// make the destination's parents
    #[argh(switch, short = 'p')]
    pub parents: bool,
}

#[derive(FromArgs)]
/// move or rename (into DST when it is a directory)
#[argh(subcommand, name = "mv")]
pub(crate) struct FilesMv {
    /// what to move
    #[argh(positional)]
    pub src: String,
    /// where to
    #[argh(positional)]
    pub dst: String,
}

#[derive(FromArgs)]
/// remove a file (a directory with -r)
#[argh(subcommand, name = "rm")]
pub(crate) struct FilesRm {
    /// the path
    #[argh(positional)]
    pub path: String,
    /// remove directories and what they hold
    #[argh(switch, short = 'r')]
    pub recursive: bool,
    /// no error when the path does not exist
    #[argh(switch)]
    pub force: bool,
}

#[derive(FromArgs)]
/// write a local file's bytes (or stdin's) to a file, from an offset
#[argh(subcommand, name = "write")]
pub(crate) struct FilesWrite {
    /// the file to write
    #[argh(positional)]
    pub path: String,
    /// the data: a local file (default: stdin)
    #[argh(positional)]
    pub input: Option<String>,
    /// make the file if it does not exist
    #[argh(switch, short = 'e')]
    pub create: bool,
    /// empty the file before writing
    #[argh(switch, short = 't')]
    pub truncate: bool,
    /// make the parent directories
    #[argh(switch, short = 'p')]
    pub parents: bool,
    /// where to start writing (default 0)
    #[argh(option, short = 'o', default = "0")]
    pub offset: u64,
    /// write at most this many bytes of the input
    #[argh(option)]
    pub count: Option<u64>,
}

#[derive(FromArgs)]
/// write a file's bytes to stdout
#[argh(subcommand, name = "read")]
pub(crate) struct FilesRead {
    /// the file
    #[argh(positional)]
    pub path: String,
    /// the first byte to read (default 0)
    #[argh(option, short = 'o', default = "0")]
    pub offset: u64,
    /// how many bytes (default: to the end)
    #[argh(option)]
    pub count: Option<u64>,
}

#[derive(FromArgs)]
/// print a path's CID (every change is already stored)
#[argh(subcommand, name = "flush")]
pub(crate) struct FilesFlush {
    /// the path (default /)
    #[argh(positional, default = "String::from(\"/\")")]
    pub path: String,
}

#[derive(FromArgs)]
/// change a directory's CID version
#[argh(subcommand, name = "chcid")]
pub(crate) struct FilesChcid {
    /// the directory (default /)
    #[argh(positional, default = "String::from(\"/\")")]
    pub path: String,
    /// the version: 0 or 1
    #[argh(option)]
    pub cid_version: u8,
}
