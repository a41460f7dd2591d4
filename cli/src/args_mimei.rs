//! `leither mimei addref | delref | getref` (what a MiMei's versions depend on) and
//! `mimei unpublish | unprovide`.

use argh::FromArgs;

#[derive(FromArgs)]
/// add references (CIDs, mac ids, MiMei ids) to a MiMei's working copy; a backup keeps them
#[argh(subcommand, name = "addref")]
pub(crate) struct MmAddref {
    /// the MiMei
    #[argh(positional)]
    pub mid: String,
    /// the ids
    #[argh(positional)]
    pub ids: Vec<String>,
}

#[derive(FromArgs)]
/// take references off a MiMei's working copy
#[argh(subcommand, name = "delref")]
pub(crate) struct MmDelref {
    /// the MiMei
    #[argh(positional)]
    pub mid: String,
    /// the ids
    #[argh(positional)]
    pub ids: Vec<String>,
}

#[derive(FromArgs)]
/// list the references of a version (default cur) and their counts
#[argh(subcommand, name = "getref")]
pub(crate) struct MmGetref {
    /// the MiMei
    #[argh(positional)]
    pub mid: String,
    /// the version: cur, last, release or a number
    #[argh(option, short = 'v', default = "String::from(\"cur\")")]
    pub ver: String,
}

#[derive(FromArgs)]
/// withdraw a published MiMei: a newer record without a head replaces it on the network
#[argh(subcommand, name = "unpublish")]
pub(crate) struct MmUnpublish {
    /// the MiMei
    #[argh(positional)]
    pub mid: String,
}

#[derive(FromArgs)]
/// stop announcing this node as a provider of a MiMei
#[argh(subcommand, name = "unprovide")]
pub(crate) struct MmUnprovide {
    /// the MiMei
    #[argh(positional)]
    pub mid: String,
}
