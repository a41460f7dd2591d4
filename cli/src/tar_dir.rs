//! Packs a directory into a tar archive for `lapp uploadapp` (names starting with `.` are left
//! out, as `ipfs add -r` leaves them out).

use crate::client::CliError;
use proto_core::tar::Writer;
use std::path::Path;

pub(crate) fn tar_dir(dir: &Path) -> Result<Vec<u8>, CliError> {
    let mut w = Writer::default();
    walk(dir, "", &mut w)?;
    Ok(w.finish())
}

fn walk(dir: &Path, rel: &str, w: &mut Writer) -> Result<(), CliError> {
    let read_err = |p: &Path, e: std::io::Error| CliError(format!("cannot read {}: {e}", p.display()));
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| read_err(dir, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| read_err(dir, e))?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name();
        let Some(name) = name.to_str() else {
            return Err(CliError(format!("{} has a name that is not UTF-8", e.path().display())));
        };
        if name.starts_with('.') {
            continue;
        }
        let path = if rel.is_empty() { name.to_string() } else { format!("{rel}/{name}") };
        let ft = e.file_type().map_err(|err| read_err(&e.path(), err))?;
        if ft.is_symlink() {
            let target = std::fs::read_link(e.path()).map_err(|err| read_err(&e.path(), err))?;
            w.symlink(&path, &target.to_string_lossy());
        } else if ft.is_dir() {
            w.dir(&path);
            walk(&e.path(), &path, w)?;
        } else if ft.is_file() {
            let data = std::fs::read(e.path()).map_err(|err| read_err(&e.path(), err))?;
            w.file(&path, &data);
        } else {
            return Err(CliError(format!("{} is not a file, directory or symlink", e.path().display())));
        }
    }
    Ok(())
}
