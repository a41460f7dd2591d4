//! MFS paths: the forms the original accepts (leither-facts §6.9: `files://dir/f`, `files/dir/f`,
//! `/dir/f`), cleaned as kubo's `path.Clean` does, and the `/ipfs/CID/...` sources of `cp`.

use super::MfsError;
use crate::cid::Cid;

/// A cleaned absolute path: its segments, none empty, `.` or `..`. The root has none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MfsPath {
    pub segs: Vec<String>,
    /// The text ended with `/` (for `cp`/`mv`: "into this directory, keeping the name").
    pub trailing_slash: bool,
}

impl MfsPath {
    pub fn parse(text: &str) -> Result<MfsPath, MfsError> {
        let rest = if let Some(r) = text.strip_prefix("files://") {
            r
        } else if let Some(r) = text.strip_prefix("files/") {
            r
        } else if let Some(r) = text.strip_prefix('/') {
            r
        } else {
            return Err(MfsError::BadPath(format!("paths must start with a leading slash: \"{text}\"")));
        };
        let mut segs: Vec<String> = Vec::new();
        for seg in rest.split('/') {
            match seg {
                "" | "." => {}
                ".." => {
                    segs.pop();
                }
                s => segs.push(s.to_string()),
            }
        }
        Ok(MfsPath { segs, trailing_slash: text.len() > 1 && text.ends_with('/') })
    }

    pub fn is_root(&self) -> bool {
        self.segs.is_empty()
    }

    /// The last segment ("" for the root).
    pub fn name(&self) -> &str {
        self.segs.last().map_or("", String::as_str)
    }

    /// This path with `name` appended.
    pub fn join(&self, name: &str) -> MfsPath {
        let mut segs = self.segs.clone();
        segs.push(name.to_string());
        MfsPath { segs, trailing_slash: false }
    }

    /// The path as kubo prints it.
    pub fn display(&self) -> String {
        format!("/{}", self.segs.join("/"))
    }

    /// True when `other` is this path or lies inside it.
    pub fn contains(&self, other: &MfsPath) -> bool {
        other.segs.len() >= self.segs.len() && other.segs[..self.segs.len()] == self.segs[..]
    }
}

/// Where a `cp` takes its content from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// `/ipfs/CID/sub/path`, `ipfs://CID/p` or `ipfs//CID/p`.
    Ipfs(Cid, String),
    Mfs(MfsPath),
}

impl Source {
    pub fn parse(text: &str) -> Result<Source, MfsError> {
        let ipfs = ["/ipfs/", "ipfs://", "ipfs//"].iter().find_map(|p| text.strip_prefix(p));
        let Some(rest) = ipfs else {
            return Ok(Source::Mfs(MfsPath::parse(text)?));
        };
        let (cid, sub) = rest.split_once('/').unwrap_or((rest, ""));
        let cid = Cid::parse(cid).map_err(|e| MfsError::BadPath(format!("invalid cid \"{cid}\": {e}")))?;
        Ok(Source::Ipfs(cid, sub.trim_matches('/').to_string()))
    }

    /// The name a copy gets when the destination is a directory given with a trailing `/`.
    pub fn name(&self) -> String {
        match self {
            Source::Ipfs(cid, sub) => {
                sub.rsplit('/').find(|s| !s.is_empty()).map_or_else(|| cid.to_string(), str::to_string)
            }
            Source::Mfs(p) => p.name().to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_of_the_original_and_cleaning() {
        let want = vec!["dir".to_string(), "f".to_string()];
        for text in ["/dir/f", "files://dir/f", "files/dir/f", "//dir/./f", "/dir/x/../f"] {
            assert_eq!(MfsPath::parse(text).unwrap().segs, want, "{text}");
        }
        assert!(MfsPath::parse("/").unwrap().is_root());
        assert!(MfsPath::parse("/..").unwrap().is_root());
        assert!(MfsPath::parse("/d/").unwrap().trailing_slash);
        assert!(!MfsPath::parse("/").unwrap().trailing_slash);
        let e = MfsPath::parse("dir/f").unwrap_err();
        assert_eq!(e.to_string(), "paths must start with a leading slash: \"dir/f\"");
    }

    #[test]
    fn sources() {
        let cid = "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn";
        for text in [format!("/ipfs/{cid}/a/b"), format!("ipfs://{cid}/a/b"), format!("ipfs//{cid}/a/b/")] {
            let s = Source::parse(&text).unwrap();
            assert_eq!(s, Source::Ipfs(Cid::parse(cid).unwrap(), "a/b".into()), "{text}");
            assert_eq!(s.name(), "b");
        }
        assert_eq!(Source::parse(&format!("/ipfs/{cid}")).unwrap().name(), cid);
        assert!(matches!(Source::parse("/x/y").unwrap(), Source::Mfs(_)));
        assert!(Source::parse("/ipfs/notacid").unwrap_err().to_string().starts_with("invalid cid \"notacid\""));
    }
}
