//! Tar archives of app directories: a reader for untrusted archives (ustar, GNU long names, pax
//! `path`/`linkpath`) that refuses anything that could leave the tree — absolute paths, `..`,
//! links whose target is outside, devices — and a small ustar/pax writer for the CLI.
//!
//! The reader works on bytes in memory and returns the tree as entries with normalised relative
//! paths; hard links become copies of the file they name, in-tree symlinks stay symlinks.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

const BLOCK: usize = 512;
/// More entries than an app needs; bounds the work an archive can ask for.
pub const MAX_ENTRIES: usize = 100_000;
pub const MAX_PATH: usize = 4096;
pub const MAX_DEPTH: usize = 64;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The file's bytes: a range of the archive.
    File(Range<usize>),
    Dir,
    /// A symlink whose target stays inside the tree (as written in the archive).
    Symlink(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Normalised: components joined by `/`, no `.`/`..`, no leading or trailing `/`.
    pub path: String,
    pub kind: Kind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TarError(pub String);

impl fmt::Display for TarError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad tar archive: {}", self.0)
    }
}

fn err<T>(m: impl Into<String>) -> Result<T, TarError> {
    Err(TarError(m.into()))
}

/// A NUL-terminated field.
fn field(b: &[u8]) -> &[u8] {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    &b[..end]
}

/// An octal number (spaces and NULs around it), or GNU base-256 when the top bit is set.
fn number(b: &[u8]) -> Result<u64, TarError> {
    if b.first().is_some_and(|&c| c & 0x80 != 0) {
        let mut n: u64 = u64::from(b[0] & 0x7f);
        for &c in &b[1..] {
            n = n
                .checked_mul(256)
                .and_then(|n| n.checked_add(u64::from(c)))
                .ok_or_else(|| TarError("number too large".into()))?;
        }
        return Ok(n);
    }
    let mut n: u64 = 0;
    let mut seen = false;
    for &c in b {
        match c {
            b'0'..=b'7' => {
                n = n
                    .checked_mul(8)
                    .and_then(|n| n.checked_add(u64::from(c - b'0')))
                    .ok_or_else(|| TarError("number too large".into()))?;
                seen = true;
            }
            b' ' | 0 if !seen => {}
            b' ' | 0 => break,
            _ => return err(format!("\"{}\" is not an octal number", String::from_utf8_lossy(field(b)))),
        }
    }
    Ok(n)
}

fn utf8(b: &[u8], what: &str) -> Result<String, TarError> {
    String::from_utf8(b.to_vec()).map_err(|_| TarError(format!("{what} is not UTF-8")))
}

/// Normalises an archive path; refuses what could name something outside the tree.
pub fn clean_path(raw: &str) -> Result<String, TarError> {
    if raw.len() > MAX_PATH {
        return err(format!("a path is longer than {MAX_PATH} bytes"));
    }
    if raw.starts_with('/') {
        return err(format!("\"{raw}\" is an absolute path"));
    }
    if raw.contains('\0') || raw.contains('\\') {
        return err(format!("\"{}\" holds a NUL or backslash", raw.escape_debug()));
    }
    let mut parts = Vec::new();
    for c in raw.split('/') {
        match c {
            "" | "." => {}
            ".." => return err(format!("\"{raw}\" climbs out of the tree (..)")),
            c => parts.push(c),
        }
    }
    if parts.len() > MAX_DEPTH {
        return err(format!("\"{raw}\" is nested deeper than {MAX_DEPTH}"));
    }
    Ok(parts.join("/"))
}

/// Where a symlink at `at` pointing to `target` leads, if it stays in the tree.
fn link_inside(at: &str, target: &str) -> Result<String, TarError> {
    if target.is_empty() || target.starts_with('/') || target.contains('\0') {
        return err(format!("the symlink \"{at}\" points outside the tree (\"{target}\")"));
    }
    let mut parts: Vec<&str> = at.split('/').collect();
    parts.pop();
    for c in target.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return err(format!("the symlink \"{at}\" points outside the tree (\"{target}\")"));
                }
            }
            c => parts.push(c),
        }
    }
    Ok(parts.join("/"))
}

/// pax records: `<len> <key>=<value>\n`.
fn pax(mut b: &[u8], out: &mut BTreeMap<String, Vec<u8>>) -> Result<(), TarError> {
    while !b.is_empty() {
        let sp = b.iter().position(|&c| c == b' ').ok_or_else(|| TarError("a pax record has no length".into()))?;
        let len: usize = std::str::from_utf8(&b[..sp])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| TarError("a pax record's length is not a number".into()))?;
        if len <= sp + 1 || len > b.len() || b[len - 1] != b'\n' {
            return err("a pax record's length is wrong");
        }
        let rec = &b[sp + 1..len - 1];
        let eq = rec.iter().position(|&c| c == b'=').ok_or_else(|| TarError("a pax record has no '='".into()))?;
        out.insert(utf8(&rec[..eq], "a pax key")?, rec[eq + 1..].to_vec());
        b = &b[len..];
    }
    Ok(())
}

/// Reads an archive; every entry's path is clean, and links stay in the tree.
pub fn read(bytes: &[u8]) -> Result<Vec<Entry>, TarError> {
    let mut out: Vec<Entry> = Vec::new();
    // Index of each path's latest entry (a later entry replaces an earlier one, as tar does).
    let mut at: BTreeMap<String, usize> = BTreeMap::new();
    let mut long_name: Option<Vec<u8>> = None;
    let mut long_link: Option<Vec<u8>> = None;
    let mut ext: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut pos = 0;
    let mut headers = 0usize;
    loop {
        if pos + BLOCK > bytes.len() {
            if pos == bytes.len() && headers > 0 {
                break; // no end marker: accepted, as GNU tar does
            }
            return err("the archive ends inside a header");
        }
        let h = &bytes[pos..pos + BLOCK];
        if h.iter().all(|&c| c == 0) {
            break;
        }
        headers += 1;
        if headers > 4 * MAX_ENTRIES {
            return err(format!("more than {MAX_ENTRIES} entries"));
        }
        let want = number(&h[148..156])?;
        let sum: u64 =
            h.iter().enumerate().map(|(i, &c)| if (148..156).contains(&i) { 32 } else { u64::from(c) }).sum();
        if want != sum {
            return err(format!("header at byte {pos} has a wrong checksum (not a tar archive?)"));
        }
        let size = number(&h[124..136])?;
        let size = usize::try_from(size)
            .ok()
            .filter(|s| *s <= bytes.len())
            .ok_or_else(|| TarError("an entry is larger than the archive".into()))?;
        let data = pos + BLOCK;
        let end = data
            .checked_add(size)
            .filter(|e| *e <= bytes.len())
            .ok_or_else(|| TarError("the archive ends inside an entry".into()))?;
        let next = data + size.div_ceil(BLOCK) * BLOCK;
        let flag = h[156];
        match flag {
            b'L' => {
                long_name = Some(field(&bytes[data..end]).to_vec());
                pos = next;
                continue;
            }
            b'K' => {
                long_link = Some(field(&bytes[data..end]).to_vec());
                pos = next;
                continue;
            }
            b'x' => {
                pax(&bytes[data..end], &mut ext)?;
                pos = next;
                continue;
            }
            b'g' => {
                pos = next; // global defaults: nothing an app tree needs
                continue;
            }
            _ => {}
        }
        let ustar = &h[257..262] == b"ustar";
        let raw_name = match (ext.remove("path"), long_name.take()) {
            (Some(p), _) | (None, Some(p)) => p,
            (None, None) if ustar && h[345] != 0 => [field(&h[345..500]), b"/", field(&h[..100])].concat(),
            (None, None) => field(&h[..100]).to_vec(),
        };
        let raw_link = match (ext.remove("linkpath"), long_link.take()) {
            (Some(p), _) | (None, Some(p)) => p,
            (None, None) => field(&h[157..257]).to_vec(),
        };
        ext.clear();
        let name = utf8(&raw_name, "a path")?;
        let path = clean_path(&name)?;
        let kind = match flag {
            b'0' | 0 | b'7' if name.ends_with('/') => Kind::Dir,
            b'0' | 0 | b'7' => Kind::File(data..end),
            b'5' => Kind::Dir,
            b'2' => {
                let target = utf8(&raw_link, "a symlink target")?;
                link_inside(&path, &target)?;
                Kind::Symlink(target)
            }
            b'1' => {
                let target = clean_path(&utf8(&raw_link, "a hard link target")?)?;
                match at.get(&target).map(|&i| &out[i].kind) {
                    Some(Kind::File(r)) => Kind::File(r.clone()),
                    _ => {
                        return err(format!(
                            "the hard link \"{path}\" names \"{target}\", which is not a file in the archive"
                        ))
                    }
                }
            }
            b'3' | b'4' | b'6' => {
                return err(format!("\"{path}\" is a device or FIFO; an app holds files, directories and links"))
            }
            other => return err(format!("\"{path}\" has an unknown entry type '{}'", other.escape_ascii())),
        };
        pos = next;
        if path.is_empty() {
            if kind == Kind::Dir {
                continue; // "./" itself
            }
            return err("an entry has an empty name");
        }
        if out.len() >= MAX_ENTRIES {
            return err(format!("more than {MAX_ENTRIES} entries"));
        }
        match at.get(&path) {
            Some(&i) => out[i].kind = kind,
            None => {
                at.insert(path.clone(), out.len());
                out.push(Entry { path, kind });
            }
        }
    }
    check_tree(&out)?;
    Ok(out)
}

/// No entry may sit below a file or symlink; symlinks may not lead through other symlinks (which
/// could chain their way out).
fn check_tree(entries: &[Entry]) -> Result<(), TarError> {
    let kinds: BTreeMap<&str, &Kind> = entries.iter().map(|e| (e.path.as_str(), &e.kind)).collect();
    for e in entries {
        let mut p = e.path.as_str();
        while let Some((parent, _)) = p.rsplit_once('/') {
            if let Some(k) = kinds.get(parent) {
                if *k != &Kind::Dir {
                    return err(format!("\"{}\" sits below \"{parent}\", which is not a directory", e.path));
                }
            }
            p = parent;
        }
        if let Kind::Symlink(t) = &e.kind {
            let dest = link_inside(&e.path, t)?;
            let mut q = dest.as_str();
            loop {
                if let Some(Kind::Symlink(_)) = kinds.get(q) {
                    return err(format!("the symlink \"{}\" leads through another symlink", e.path));
                }
                match q.rsplit_once('/') {
                    Some((parent, _)) => q = parent,
                    None => break,
                }
            }
        }
    }
    Ok(())
}

/// Writes ustar archives, with a pax header for names that do not fit.
#[derive(Default)]
pub struct Writer {
    pub out: Vec<u8>,
}

impl Writer {
    fn header(&mut self, name: &str, flag: u8, size: usize, link: &str) {
        if name.len() > 100 || link.len() > 100 {
            let mut recs = Vec::new();
            for (k, v) in [("path", name), ("linkpath", link)] {
                if v.len() > 100 {
                    let body = format!(" {k}={v}\n");
                    // The length counts its own digits.
                    let mut len = body.len() + 1;
                    while format!("{len}").len() + body.len() != len {
                        len += 1;
                    }
                    recs.extend_from_slice(format!("{len}{body}").as_bytes());
                }
            }
            self.raw_header("././@PaxHeader", b'x', recs.len(), "");
            self.out.extend_from_slice(&recs);
            self.pad();
        }
        let cut = |s: &str| s.get(..100).unwrap_or(s).to_string();
        self.raw_header(&cut(name), flag, size, &cut(link));
    }

    fn raw_header(&mut self, name: &str, flag: u8, size: usize, link: &str) {
        let mut h = [0u8; BLOCK];
        let n = name.len().min(100);
        h[..n].copy_from_slice(&name.as_bytes()[..n]);
        let mode = if flag == b'5' { "0000755" } else { "0000644" };
        h[100..107].copy_from_slice(mode.as_bytes());
        h[108..115].copy_from_slice(b"0000000");
        h[116..123].copy_from_slice(b"0000000");
        h[124..135].copy_from_slice(format!("{size:011o}").as_bytes());
        h[136..147].copy_from_slice(b"00000000000");
        h[156] = flag;
        let l = link.len().min(100);
        h[157..157 + l].copy_from_slice(&link.as_bytes()[..l]);
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|&c| u32::from(c)).sum();
        h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
        self.out.extend_from_slice(&h);
    }

    fn pad(&mut self) {
        let r = self.out.len() % BLOCK;
        if r != 0 {
            self.out.resize(self.out.len() + BLOCK - r, 0);
        }
    }

    pub fn file(&mut self, path: &str, data: &[u8]) {
        self.header(path, b'0', data.len(), "");
        self.out.extend_from_slice(data);
        self.pad();
    }

    pub fn dir(&mut self, path: &str) {
        self.header(&format!("{path}/"), b'5', 0, "");
    }

    pub fn symlink(&mut self, path: &str, target: &str) {
        self.header(path, b'2', 0, target);
    }

    pub fn finish(mut self) -> Vec<u8> {
        self.out.resize(self.out.len() + 2 * BLOCK, 0);
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(path: &str, flag: u8, link: &str) -> Vec<u8> {
        let mut w = Writer::default();
        w.header(path, flag, 0, link);
        w.finish()
    }

    #[test]
    fn round_trip_with_long_names_and_links() {
        let long = format!("{}/{}.js", "d".repeat(90), "f".repeat(120));
        let mut w = Writer::default();
        w.dir("js");
        w.file("index.html", b"<h1>hi</h1>");
        w.file("js/app.js", &[7u8; 1000]);
        w.file(&long, b"long");
        w.symlink("js/alias.js", "app.js");
        let bytes = w.finish();
        let e = read(&bytes).unwrap();
        let names: Vec<&str> = e.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(names, ["js", "index.html", "js/app.js", long.as_str(), "js/alias.js"]);
        match &e[2].kind {
            Kind::File(r) => assert_eq!(&bytes[r.clone()], &[7u8; 1000][..]),
            k => panic!("{k:?}"),
        }
        match &e[3].kind {
            Kind::File(r) => assert_eq!(&bytes[r.clone()], b"long"),
            k => panic!("{k:?}"),
        }
        assert_eq!(e[4].kind, Kind::Symlink("app.js".into()));
    }

    #[test]
    fn escapes_are_refused() {
        for (path, flag, link, why) in [
            ("../x", b'0', "", "climbs out"),
            ("a/../../x", b'0', "", "climbs out"),
            ("/etc/passwd", b'0', "", "absolute"),
            ("s", b'2', "/etc/passwd", "outside"),
            ("d/s", b'2', "../../x", "outside"),
            ("h", b'1', "../x", "climbs out"),
            ("h", b'1', "missing", "not a file"),
            ("dev", b'3', "", "device"),
        ] {
            let e = read(&one(path, flag, link)).unwrap_err();
            assert!(e.0.contains(why), "{path} {link}: {e}");
        }
        // A symlinked directory cannot be used to step outside.
        let mut w = Writer::default();
        w.symlink("up", ".");
        w.symlink("d", "up/up");
        assert!(read(&w.finish()).unwrap_err().0.contains("through another symlink"));
        let mut w = Writer::default();
        w.file("f", b"x");
        w.file("f/g", b"y");
        assert!(read(&w.finish()).unwrap_err().0.contains("not a directory"));
        // A broken checksum is a clear error, not garbage.
        let mut b = one("a", b'0', "");
        b[0] = b'b';
        assert!(read(&b).unwrap_err().0.contains("checksum"));
        assert!(read(&b[..100]).is_err());
    }

    #[test]
    fn numbers_and_pax_records() {
        assert_eq!(number(b"0000644 \0").unwrap(), 0o644);
        assert_eq!(number(&[0x80, 0, 0, 0, 0, 0, 0, 1, 0]).unwrap(), 256);
        assert!(number(b"12a").is_err());
        let mut m = BTreeMap::new();
        pax(b"16 path=abc/def\n", &mut m).unwrap();
        assert_eq!(m["path"], b"abc/def");
        assert!(pax(b"99 path=x\n", &mut m).is_err());
        assert!(pax(b"3 x\n", &mut m).is_err());
    }
}
