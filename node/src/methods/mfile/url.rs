//! The path schemes of `MMOpenUrl` and the CLI's copies (leither-facts §6.9): the node's file
//! system (`files://dir/f`, `files/dir/f`, `/dir/f`), IPFS (`ipfs://cid/p`, `ipfs//cid/p`,
//! `/ipfs/cid/p`, `cid/p`) and MiMeis (`mm://mid:ver/p`, `mimei://mid:ver/p`, `mid:ver/p`).

use proto_core::cid::Cid;
use proto_core::mfs::MfsPath;
use proto_core::mimei::Mid;

#[derive(Debug, PartialEq, Eq)]
pub(super) enum Target {
    Files(MfsPath),
    Ipfs(Cid, String),
    /// A MiMei, its version name ("cur" when none is given) and a path inside it.
    Mimei(Mid, String, String),
}

pub(super) fn parse(text: &str) -> Result<Target, String> {
    for p in ["files://", "files/"] {
        if text.starts_with(p) {
            return MfsPath::parse(text).map(Target::Files).map_err(|e| e.to_string());
        }
    }
    if let Some(rest) = ["ipfs://", "ipfs//", "/ipfs/"].iter().find_map(|p| text.strip_prefix(p)) {
        return ipfs(rest);
    }
    if let Some(rest) = ["mm://", "mimei://"].iter().find_map(|p| text.strip_prefix(p)) {
        return mimei(rest);
    }
    if text.starts_with('/') {
        return MfsPath::parse(text).map(Target::Files).map_err(|e| e.to_string());
    }
    let first = text.split('/').next().unwrap_or("");
    if first.contains(':') || Mid::parse(first).is_ok() {
        return mimei(text);
    }
    ipfs(text)
}

fn ipfs(rest: &str) -> Result<Target, String> {
    let (cid, sub) = rest.split_once('/').unwrap_or((rest, ""));
    let cid = Cid::parse(cid).map_err(|e| format!("invalid cid \"{cid}\": {e}"))?;
    Ok(Target::Ipfs(cid, sub.trim_matches('/').to_string()))
}

fn mimei(rest: &str) -> Result<Target, String> {
    let (head, sub) = rest.split_once('/').unwrap_or((rest, ""));
    let (mid, ver) = head.split_once(':').unwrap_or((head, "cur"));
    let mid = Mid::parse(mid).map_err(|e| format!("invalid mid \"{mid}\": {e}"))?;
    let ver = if ver.is_empty() { "cur" } else { ver };
    Ok(Target::Mimei(mid, ver.to_string(), sub.trim_matches('/').to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_of_the_original() {
        let cid = "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn";
        let files = Target::Files(MfsPath::parse("/dir/f").unwrap());
        for t in ["files://dir/f", "files/dir/f", "/dir/f"] {
            assert_eq!(parse(t).unwrap(), files, "{t}");
        }
        let want = Target::Ipfs(Cid::parse(cid).unwrap(), "p/q".into());
        for t in
            [format!("ipfs://{cid}/p/q"), format!("ipfs//{cid}/p/q"), format!("/ipfs/{cid}/p/q"), format!("{cid}/p/q")]
        {
            assert_eq!(parse(&t).unwrap(), want, "{t}");
        }
        let mid = "P9WTWfUFO8uT0zRXJlt16QmvNj8";
        let want = Target::Mimei(Mid::parse(mid).unwrap(), "last".into(), "index.html".into());
        for t in [
            format!("mm://{mid}:last/index.html"),
            format!("mimei://{mid}:last/index.html"),
            format!("{mid}:last/index.html"),
        ] {
            assert_eq!(parse(&t).unwrap(), want, "{t}");
        }
        assert_eq!(parse(mid).unwrap(), Target::Mimei(Mid::parse(mid).unwrap(), "cur".into(), String::new()));
        assert!(parse("nonsense/x").unwrap_err().starts_with("invalid cid \"nonsense\""));
        assert!(parse("mm://short:1").unwrap_err().starts_with("invalid mid \"short\""));
    }
}
