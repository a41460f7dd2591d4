//! The `leither` binary: argument parsing, output and exit codes. Every command that needs the
//! node is an API call to it (`-n URL` for another node); errors are one line on stderr, exit 1.
#![forbid(unsafe_code)]

mod args;
mod args_files;
mod args_ipfs;
mod args_lpki;
mod args_mimei;
mod client;
mod cmd_daemon;
mod cmd_dag;
mod cmd_files;
mod cmd_ipfs;
mod cmd_lapp;
mod cmd_lpki;
mod cmd_mimei;
mod cmd_net;
mod cmd_sim;
mod http;
mod keyring;
mod progress;
mod tar_dir;

use args::{Cmd, IpfsCmd, LpkiCmd, Top};
use client::{CliError, Client};
use storage::repo::Repo;

/// Moves the global options (`--repo`, `-n`) to the front so they work after the subcommand
/// too, as in `leither ipfs add f -n http://host:4800`. Under `mimei` and `lapp`, `-p FILE` is
/// the passport to act as and `-k FILE` its key (`--ppt`, `--key`), as in the original's
/// `lapp backup -a dav -p dev.ppt -n URL`.
fn hoist_globals(args: Vec<String>) -> Vec<String> {
    let (mut globals, mut rest) = (Vec::new(), Vec::new());
    let as_user = args.iter().find(|a| !a.starts_with('-')).is_some_and(|c| c == "mimei" || c == "lapp");
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--repo" | "-n" | "--node" | "--ppt" | "--key" => {
                globals.push(a);
                if let Some(v) = it.next() {
                    globals.push(v);
                }
            }
            "-p" | "-k" if as_user => {
                globals.push(if a == "-p" { "--ppt".into() } else { "--key".into() });
                if let Some(v) = it.next() {
                    globals.push(v);
                }
            }
            _ if a.starts_with("--repo=") || a.starts_with("--node=") => globals.push(a),
            _ => rest.push(a),
        }
    }
    globals.extend(protect_ids(rest));
    globals
}

/// Node ids and mids are base64url, so one in 64 starts with `-`, which argh would take for an
/// option. An argument shaped like an id (27 base64url characters) that starts with `-` gets a
/// `--` before it, which makes it (and what follows) positional.
/// `mimei db <mid> LRANGE l 0 -1`: the command's words are data, never options, so an end of
/// options goes before the mid (after `-v VER`, the only option of `db`).
fn protect_db_words(mut args: Vec<String>) -> Vec<String> {
    let Some(db) = args.windows(2).position(|w| w[0] == "mimei" && w[1] == "db").map(|i| i + 2) else { return args };
    if args.iter().any(|a| a == "--") {
        return args;
    }
    let mut i = db;
    while i < args.len() && args[i].starts_with('-') && args[i].len() > 1 {
        i += if matches!(args[i].as_str(), "-v" | "--ver") { 2 } else { 1 };
    }
    args.insert(i.min(args.len()), "--".into());
    args
}

/// The options that take no value (`#[argh(switch)]` in args.rs; a test keeps the two in step).
/// Every other option's value is the next argument, which argh takes as it is, `-` and all.
fn is_switch(a: &str) -> bool {
    matches!(
        a,
        "-r" | "--recursive"
            | "-H"
            | "--hidden"
            | "--only-hash"
            | "--partition"
            | "--db"
            | "-l"
            | "--long"
            | "--hash"
            | "-p"
            | "--parents"
            | "--force"
            | "-e"
            | "--create"
            | "-t"
            | "--truncate"
            | "-u"
            | "--unique"
    )
}

fn protect_ids(args: Vec<String>) -> Vec<String> {
    let is_id = |a: &str| {
        a.len() == 27 && a.starts_with('-') && a.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if args.iter().any(|a| a == "--") {
        return args;
    }
    let mut out: Vec<String> = Vec::with_capacity(args.len() + 1);
    let mut protected = false;
    for a in args {
        let option_value = out.last().is_some_and(|p| p.starts_with('-') && p.len() > 1 && !is_id(p) && !is_switch(p));
        if !protected && is_id(&a) && !option_value {
            out.push("--".to_string());
            protected = true;
        }
        out.push(a);
    }
    out
}

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    let name =
        argv.first().map(String::as_str).unwrap_or("leither").rsplit('/').next().unwrap_or("leither").to_string();
    let rest = protect_db_words(hoist_globals(argv.into_iter().skip(1).collect()));
    let refs: Vec<&str> = rest.iter().map(String::as_str).collect();
    let top = match <Top as argh::FromArgs>::from_args(&[&name], &refs) {
        Ok(t) => t,
        Err(early) => {
            // --help prints to stdout with success; a usage error to stderr with exit 1.
            if early.status.is_ok() {
                println!("{}", early.output);
                return;
            }
            eprintln!("{}", early.output.trim_end());
            std::process::exit(1);
        }
    };
    if let Err(CliError(msg)) = dispatch(top) {
        eprintln!("error: {msg}");
        std::process::exit(1);
    }
}

/// A client of the node; with a passport, logged in as its holder (and, with the holder's key,
/// after delegating head signing to the node).
fn user_client(
    repo: &Repo,
    node: Option<&str>,
    ppt: &Option<String>,
    key: &Option<String>,
) -> Result<Client, CliError> {
    let mut c = Client::new(repo, node)?;
    if let Some(p) = ppt {
        let holder = c.login_ppt(p)?;
        if let Some(k) = key {
            cmd_lpki::delegate_with(&c, k, cmd_lpki::DEFAULT_DELEGATION_MINUTES)?;
        }
        c.user_key = key.clone().or_else(|| keyring::find(repo, &holder).map(|p| p.display().to_string()));
    }
    Ok(c)
}

fn dispatch(top: Top) -> Result<(), CliError> {
    let repo = Repo::new(client::repo_dir(top.repo.as_deref())?);
    let node = top.node.as_deref();
    match top.cmd {
        Cmd::Init(a) => cmd_daemon::init(&repo, a),
        Cmd::Run(a) => cmd_daemon::run(&repo, a),
        Cmd::Stop(_) => cmd_daemon::stop(&repo, node),
        Cmd::Sim(a) => cmd_sim::sim(a),
        Cmd::Mimei(m) => cmd_mimei::run(&user_client(&repo, node, &top.ppt, &top.key)?, m.cmd),
        Cmd::Lapp(l) => {
            let c = user_client(&repo, node, &top.ppt, &top.key)?;
            cmd_lapp::lapp(&c, top.ppt.as_deref(), l.cmd)
        }
        Cmd::Files(f) => cmd_files::files(&Client::new(&repo, node)?, f.cmd),
        Cmd::Swarm(s) => cmd_net::swarm(&Client::new(&repo, node)?, s.cmd),
        Cmd::Dht(d) => cmd_net::dht(&Client::new(&repo, node)?, d.cmd),
        Cmd::Lpki(l) => match l.cmd {
            LpkiCmd::Id(a) => match a.file {
                None => cmd_daemon::lpki_id(&repo),
                Some(f) => cmd_lpki::id(&f),
            },
            LpkiCmd::Genkey(a) => cmd_lpki::genkey(&repo, a),
            LpkiCmd::Gencert(a) => cmd_lpki::gencert(a),
            LpkiCmd::Signppt(a) => cmd_lpki::signppt(a),
            LpkiCmd::Verifyppt(a) => cmd_lpki::verifyppt(a),
            LpkiCmd::Show(a) => cmd_lpki::show(a),
            LpkiCmd::Reqservice(a) => cmd_lpki::reqservice(&Client::new(&repo, node)?, a),
            LpkiCmd::Addkey(a) => cmd_lpki::addkey(&repo, &Client::new(&repo, node)?, a),
            LpkiCmd::Delegate(a) => cmd_lpki::delegate(&Client::new(&repo, node)?, a),
        },
        Cmd::Ipfs(i) => {
            let c = Client::new(&repo, node)?;
            match i.cmd {
                IpfsCmd::Add(a) => cmd_ipfs::add(&c, a, node.is_some()),
                IpfsCmd::Cat(a) => cmd_ipfs::cat(&c, &a.cid),
                IpfsCmd::Get(a) => cmd_ipfs::get(&c, &a.cid, a.output),
                IpfsCmd::Ls(a) => cmd_ipfs::ls(&c, &a.cid),
                IpfsCmd::Pin(p) => cmd_ipfs::pin(&c, p.cmd),
                IpfsCmd::Refs(a) => cmd_dag::refs(&c, a),
                IpfsCmd::Block(b) => cmd_dag::block(&c, b.cmd),
                IpfsCmd::Dag(d) => cmd_dag::dag(&c, d.cmd),
                IpfsCmd::Repo(r) => match r.cmd {
                    args::RepoCmd::Stat(_) => cmd_ipfs::repo_stat(&c),
                    args::RepoCmd::Gc(_) => cmd_ipfs::repo_gc(&c),
                    args::RepoCmd::Ls(_) => cmd_ipfs::repo_ls(&c),
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{is_switch, protect_ids};

    /// Every `#[argh(switch)]` in args.rs, by its long and short names.
    #[test]
    fn every_switch_is_known() {
        let src = [
            include_str!("args.rs"),
            include_str!("args_files.rs"),
            include_str!("args_ipfs.rs"),
            include_str!("args_mimei.rs"),
        ]
        .concat();
        let lines: Vec<&str> = src.lines().map(str::trim).collect();
        let mut seen = 0;
        for (i, l) in lines.iter().enumerate().filter(|(_, l)| l.starts_with("#[argh(switch")) {
            let field = lines[i + 1..].iter().find(|f| f.starts_with("pub ")).expect("a field after the attribute");
            let name = field.trim_start_matches("pub ").split(':').next().unwrap().trim().replace('_', "-");
            assert!(is_switch(&format!("--{name}")), "switch --{name} is missing from is_switch");
            if let Some(short) = l.split("short = '").nth(1).and_then(|r| r.chars().next()) {
                assert!(is_switch(&format!("-{short}")), "switch -{short} is missing from is_switch");
            }
            seen += 1;
        }
        assert!(seen >= 5, "found only {seen} switches in args.rs");
        assert!(!is_switch("-a") && !is_switch("--mid"));
    }

    fn run(args: &[&str]) -> Vec<String> {
        protect_ids(args.iter().map(|a| a.to_string()).collect())
    }

    #[test]
    fn ids_starting_with_a_dash_stay_ids() {
        let id = "-atocNbRtFcz797gEZ-AYH4pLmQ";
        // A positional id: everything from it on is positional.
        assert_eq!(run(&["dht", "findpeer", id]), ["dht", "findpeer", "--", id]);
        // An option's value: argh takes the next argument as it is.
        assert_eq!(run(&["lapp", "backup", "-a", id]), ["lapp", "backup", "-a", id]);
        assert_eq!(run(&["mimei", "get", "--mid", id, "-v", "2"]), ["mimei", "get", "--mid", id, "-v", "2"]);
        // After a switch it is positional again.
        assert_eq!(run(&["ipfs", "add", "-r", id]), ["ipfs", "add", "-r", "--", id]);
        // An id after an id-valued option, positional.
        assert_eq!(run(&["x", "-a", id, id]), ["x", "-a", id, "--", id]);
        // Not id-shaped: left to argh.
        assert_eq!(run(&["ipfs", "add", "-x"]), ["ipfs", "add", "-x"]);
    }
}
