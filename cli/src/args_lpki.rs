//! The `lpki` command set's arguments: keys, certificates, passports, and a user with a node.

use argh::FromArgs;

#[derive(FromArgs)]
/// keys and identities
#[argh(subcommand, name = "lpki")]
pub(crate) struct Lpki {
    #[argh(subcommand)]
    pub cmd: LpkiCmd,
}

#[derive(FromArgs)]
#[argh(subcommand)]
pub(crate) enum LpkiCmd {
    Id(LpkiId),
    Genkey(LpkiGenkey),
    Gencert(LpkiGencert),
    Signppt(LpkiSignppt),
    Verifyppt(LpkiVerifyppt),
    Show(LpkiShow),
    Reqservice(LpkiReqservice),
    Addkey(LpkiAddkey),
    Delegate(LpkiDelegate),
}

#[derive(FromArgs)]
/// ask the node (-n URL) for a service as a certificate's holder (default: mimei)
#[argh(subcommand, name = "reqservice")]
pub(crate) struct LpkiReqservice {
    /// the holder's certificate file
    #[argh(option, short = 'c')]
    pub cert: String,
    /// pairs, "RequestService=mimei"
    #[argh(option, short = 'm', default = "String::new()")]
    pub message: String,
}

#[derive(FromArgs)]
/// hand a user's key to the node on this machine (loopback only): it then signs for the user
#[argh(subcommand, name = "addkey")]
pub(crate) struct LpkiAddkey {
    /// the key (or certificate) file
    #[argh(positional)]
    pub key: String,
    /// keep it in this machine's keyring (for commands run with -p PPT), not on the node
    #[argh(switch)]
    pub local: bool,
}

#[derive(FromArgs)]
/// let the node (-n URL) sign the key holder's MiMei heads for a while
#[argh(subcommand, name = "delegate")]
pub(crate) struct LpkiDelegate {
    /// the holder's key (or certificate) file
    #[argh(option, short = 'k')]
    pub key: String,
    /// minutes (default 43200 = 30 days; at most a year)
    #[argh(option, short = 'p', default = "43200")]
    pub period: u64,
}

#[derive(FromArgs)]
/// print this node's id, or the id of a key, certificate or passport file
#[argh(subcommand, name = "id")]
pub(crate) struct LpkiId {
    /// a key, certificate or passport file
    #[argh(positional)]
    pub file: Option<String>,
}

#[derive(FromArgs)]
/// make an ed25519 key pair
#[argh(subcommand, name = "genkey")]
pub(crate) struct LpkiGenkey {
    /// where to write the key (mode 0600)
    #[argh(option, short = 'o')]
    pub output: String,
}

#[derive(FromArgs)]
/// make a certificate for a key, self-signed or signed by a CA certificate
#[argh(subcommand, name = "gencert")]
pub(crate) struct LpkiGencert {
    /// the key the certificate is for
    #[argh(option, short = 'k')]
    pub key: String,
    /// the issuing CA's certificate file (default: self-signed)
    #[argh(option, short = 'c')]
    pub ca: Option<String>,
    /// pairs to certify, "k=v,k2=v2"
    #[argh(option, short = 'm', default = "String::new()")]
    pub message: String,
    /// where to write the certificate (mode 0600: it holds the key)
    #[argh(option, short = 'o')]
    pub output: String,
}

#[derive(FromArgs)]
/// sign a passport with a certificate's key
#[argh(subcommand, name = "signppt")]
pub(crate) struct LpkiSignppt {
    /// the signer's certificate file
    #[argh(option, short = 'c')]
    pub cert: String,
    /// validity in minutes (default 4320 = 72 h)
    #[argh(option, short = 'p', default = "4320")]
    pub period: u64,
    /// pairs, "CertFor=Self,k=v"
    #[argh(option, short = 'm', default = "String::new()")]
    pub message: String,
    /// where to write the passport
    #[argh(option, short = 'o')]
    pub output: String,
}

#[derive(FromArgs)]
/// check a passport against a certificate
#[argh(subcommand, name = "verifyppt")]
pub(crate) struct LpkiVerifyppt {
    /// the certificate the passport must be signed with
    #[argh(option, short = 'c')]
    pub cert: String,
    /// the passport file
    #[argh(option, short = 'i')]
    pub input: String,
}

#[derive(FromArgs)]
/// print the fields of a key, certificate or passport file
#[argh(subcommand, name = "show")]
pub(crate) struct LpkiShow {
    /// the file
    #[argh(option, short = 'i')]
    pub input: String,
}
